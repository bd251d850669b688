"""The code systems, codes and units of the FHIR R4 mapping (contract: spec/fhir.md).

One table per part of the mapping, used by both the reader and the writer, so that what
cmltrack writes is exactly what it reads. Unit conversions are the record contract's
(:mod:`cmltrack.units`), keyed here by UCUM code (compared case-sensitively, as UCUM does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

LN: Final = "http://loinc.org"
SCT: Final = "http://snomed.info/sct"
UCUM: Final = "http://unitsofmeasure.org"
RX: Final = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD: Final = "http://hl7.org/fhir/sid/icd-10-cm"
HGNC: Final = "http://www.genenames.org"
HGVS: Final = "http://varnomen.hgvs.org"
OI: Final = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CML: Final = "https://cmltrack.org/fhir/CodeSystem/cmltrack"
OBS_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL: Final = "http://terminology.hl7.org/CodeSystem/condition-clinical"
RISK_PROBABILITY: Final = "http://terminology.hl7.org/CodeSystem/risk-probability"
DATA_ABSENT: Final = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
PATIENT_ID_SYSTEM: Final = "https://cmltrack.org/fhir/sid/patient-id"
RISK_SCORE_EXT: Final = "https://cmltrack.org/fhir/StructureDefinition/risk-score"

Conv = Callable[[float], float]


def _same(x: float) -> float:
    return x


# The record contract's conversions, written as units.py writes them (x / 1000.0, not
# x * 0.001: the two differ in the last bit, and every form must read the same number).
_COUNT: dict[str, Conv] = {
    "10*9/L": _same, "10*3/uL": _same, "/nL": _same, "10*3/mm3": _same,
    "/uL": lambda x: x / 1000.0, "/mm3": lambda x: x / 1000.0, "10*6/L": lambda x: x / 1000.0,
}
_HGB: dict[str, Conv] = {"g/dL": _same, "g/L": lambda x: x / 10.0,
                         "mmol/L": lambda x: x * 1.6113}
_PCT: dict[str, Conv] = {"%": _same}
_CM: dict[str, Conv] = {"cm": _same, "mm": lambda x: x / 10.0}
_ENZ: dict[str, Conv] = {"U/L": _same, "[IU]/L": _same, "ukat/L": lambda x: x * 60.0}
_BILI: dict[str, Conv] = {"mg/dL": _same, "umol/L": lambda x: x / 17.104}
_CREA: dict[str, Conv] = {"mg/dL": _same, "umol/L": lambda x: x / 88.42}
_COPIES: dict[str, Conv] = {"{copies}": _same, "1": _same}
_AGE: dict[str, Conv] = {"a": _same, "mo": lambda x: x / 12.0}
_DOSE: dict[str, Conv] = {"mg": _same, "g": lambda x: x * 1000.0, "ug": lambda x: x / 1000.0}

#: The writer's UCUM code and the accepted UCUM codes of each record field that has a unit.
UNITS: dict[str, tuple[str, dict[str, Conv]]] = {}
for _f in ("wbc", "anc", "platelets", "lymphocytes"):
    UNITS[_f] = ("10*9/L", _COUNT)
UNITS["hemoglobin"] = ("g/dL", _HGB)
for _f in ("blasts_pb", "promyelocytes_pb", "myelocytes_pb", "metamyelocytes_pb",
           "basophils_pb", "eosinophils_pb", "blasts_bm", "promyelocytes_bm", "basophils_bm",
           "bcr_abl1_is", "ph_pct", "fish_pct"):
    UNITS[_f] = ("%", _PCT)
UNITS["spleen_cm"] = ("cm", _CM)
UNITS["alt"] = UNITS["ast"] = ("U/L", _ENZ)
UNITS["bilirubin"] = ("mg/dL", _BILI)
UNITS["creatinine"] = ("mg/dL", _CREA)
UNITS["control_copies"] = ("{copies}", _COPIES)
UNITS["age"] = ("a", _AGE)
UNITS["dose"] = ("mg", _DOSE)
UNITS["cellularity_pct"] = UNITS["mrd_value"] = UNITS["vaf"] = ("%", _PCT)
UNITS["cells_counted"] = ("{cells}", {"{cells}": _same, "1": _same})
UNITS["allelic_ratio"] = ("1", {"1": _same})

#: Human-readable units, as the UCUM ``unit`` text the writer puts beside the code.
UNIT_TEXT: dict[str, str] = {
    "10*9/L": "10^9/L", "g/dL": "g/dL", "%": "%", "cm": "cm", "U/L": "U/L", "mg/dL": "mg/dL",
    "{copies}": "copies", "a": "years", "mg": "mg", "mo": "months", "1": "1", "{cells}": "cells",
}

#: Lab value codes: (system, code) -> (observation kind, field). The first code of each field
#: is the one the writer uses; the others are read (spec/fhir.md, observation table).
VALUE_CODES: dict[tuple[str, str], tuple[str, str]] = {}
_VALUE_TABLE: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("blood", "wbc", ((LN, "6690-2"), (LN, "26464-8"))),
    ("blood", "anc", ((LN, "751-8"), (LN, "26499-4"))),
    ("blood", "platelets", ((LN, "777-3"), (LN, "26515-7"))),
    ("blood", "lymphocytes", ((LN, "26474-7"),)),
    ("blood", "hemoglobin", ((LN, "718-7"),)),
    ("blood", "blasts_pb", ((LN, "709-6"), (LN, "26446-5"))),
    ("blood", "promyelocytes_pb", ((LN, "26524-9"),)),
    ("blood", "myelocytes_pb", ((LN, "26498-6"),)),
    ("blood", "metamyelocytes_pb", ((LN, "28541-1"), (LN, "740-1"))),
    ("blood", "basophils_pb", ((LN, "706-2"), (LN, "30180-4"))),
    ("blood", "eosinophils_pb", ((LN, "713-8"), (LN, "26450-7"))),
    ("blood", "spleen_cm", ((LN, "32489-7"),)),
    ("blood", "extramedullary_blasts", ((CML, "extramedullary-blasts"),)),
    ("blood", "rbc_transfused_7d", ((CML, "rbc-transfused-7d"),)),
    ("blood", "platelets_transfused_7d", ((CML, "platelets-transfused-7d"),)),
    ("marrow", "blasts_bm", ((LN, "11150-0"),)),
    ("marrow", "promyelocytes_bm", ((CML, "promyelocytes-bm"),)),
    ("marrow", "basophils_bm", ((CML, "basophils-bm"),)),
    ("marrow", "auer_rods", ((CML, "auer-rods"),)),
    ("marrow", "cells_counted", ((CML, "marrow-cells-counted"),)),
    ("marrow", "cellularity_pct", ((CML, "marrow-cellularity"),)),
    ("marrow", "spicules", ((CML, "marrow-spicules"),)),
    ("chemistry", "alt", ((LN, "1742-6"),)),
    ("chemistry", "ast", ((LN, "1920-8"),)),
    ("chemistry", "bilirubin", ((LN, "1975-2"),)),
    ("chemistry", "creatinine", ((LN, "2160-0"),)),
)
#: field -> the writer's (system, code, display).
FIELD_CODE: dict[str, tuple[str, str]] = {}
for _kind, _field, _codes in _VALUE_TABLE:
    FIELD_CODE[_field] = _codes[0]
    for _c in _codes:
        VALUE_CODES[_c] = (_kind, _field)

#: Lab fields written as valueBoolean / valueInteger (every other one: valueQuantity).
BOOLEAN_FIELDS = frozenset({"extramedullary_blasts", "rbc_transfused_7d",
                            "platelets_transfused_7d", "auer_rods", "spicules"})
INTEGER_FIELDS = frozenset({"cells_counted"})

#: Fields whose Observation carries reference limits: field -> (lln, uln) read and written.
LIMITS: dict[str, tuple[bool, bool]] = {
    "wbc": (True, True), "anc": (True, True), "platelets": (True, True),
    "hemoglobin": (True, True), "lymphocytes": (True, True),
    "alt": (False, True), "ast": (False, True), "bilirubin": (False, True),
    "creatinine": (False, True),
}

#: Diagnosis fields written as Observations with the codes of the same follow-up values
#: (``anc`` and ``blasts_bm``: the AML record's counts at diagnosis).
DIAGNOSIS_VALUES = ("spleen_cm", "wbc", "platelets", "hemoglobin", "blasts_pb", "basophils_pb",
                    "eosinophils_pb", "anc", "blasts_bm")

#: The record fields each part's FHIR form holds (spec/fhir.md). A record with a value in any
#: other field (the AML extension's genetics, MRD, ... have no mapping in contract v1) is
#: refused by the writer rather than written without it.
MAPPED: dict[str, frozenset[str]] = {
    "diagnosis": frozenset({"date", "disease", "phase", "transcript", "age", "aca",
                            "aml_type", "status", "ecog", "extramedullary", "genetics",
                            *DIAGNOSIS_VALUES}),
    "therapy": frozenset({"drug", "dose_mg_per_day", "start", "end", "reason_end"}),
    "blood": frozenset({"date", "kind", *(f for _, (k, f) in VALUE_CODES.items() if k == "blood"),
                        *(f + s for f in ("wbc", "anc", "platelets", "hemoglobin", "lymphocytes")
                          for s in ("_lln", "_uln"))}),
    "marrow": frozenset({"date", "kind", *(f for _, (k, f) in VALUE_CODES.items()
                                           if k == "marrow")}),
    "chemistry": frozenset({"date", "kind", "alt", "ast", "bilirubin", "creatinine", "alt_uln",
                            "ast_uln", "bilirubin_uln", "creatinine_uln"}),
    "cytogenetics": frozenset({"date", "kind", "ph_pos", "metaphases", "ph_pct", "aca",
                               "aca_ph_neg"}),
    "fish": frozenset({"date", "kind", "pos_nuclei", "nuclei", "fish_pct"}),
    "pcr": frozenset({"date", "kind", "bcr_abl1_is", "detected", "control_gene",
                      "control_copies"}),
    "mutation": frozenset({"date", "kind", "mutations"}),
    "mrd": frozenset({"date", "kind", "method", "target", "tissue", "result", "value_pct"}),
    "extramedullary": frozenset({"date", "kind", "present", "site"}),
    "event": frozenset({"date", "kind", "phase", "note", "detail"}),
    "death": frozenset({"date", "kind", "cause", "note", "detail"}),
}

# Observations of several values (components) and the other single codes.
PCR: Final = (LN, "69380-4")
CYTOGENETICS: Final = (LN, "29770-5")
FISH: Final = (LN, "21795-0")
MUTATION: Final = (LN, "69548-6")
AGE: Final = (LN, "21612-7")
TRANSCRIPT: Final = (CML, "bcr-abl1-transcript")
PROGRESSION: Final = (LN, "97509-4")
EVENT: Final = (CML, "event")
DEATH_CAUSE: Final = (CML, "death-cause")
TRANSPLANT: Final = (SCT, "234336002")
#: An event's ``detail`` (a transplant's "allogeneic"): an Observation component, a
#: Procedure's category.
EVENT_DETAIL: Final = (CML, "event-detail")

# AML (spec/aml.md): the diagnosis's type, status, performance status, extramedullary disease
# and genetics; MRD and extramedullary observations. Standard codes where one fits (LOINC ECOG,
# LOINC variant allele frequency, SNOMED positive/negative), else the cmltrack code system.
ECOG: Final = (LN, "89247-1")
AML_TYPE: Final = (CML, "aml-type")
AML_STATUS: Final = (CML, "aml-status")
EXTRAMEDULLARY: Final = (CML, "extramedullary-disease")
AML_GENETICS: Final = (CML, "aml-genetics")
AML_MUTATION: Final = (CML, "aml-mutation")
MRD: Final = (CML, "aml-mrd")
POSITIVE: Final = (SCT, "10828004")
NEGATIVE: Final = (SCT, "260385009")
#: aml-genetics components.
KARYOTYPE: Final = (CML, "karyotype")
KARYOTYPE_DONE: Final = (CML, "karyotype-done")
FINDING: Final = (CML, "finding")
MUTATIONS_TESTED: Final = (CML, "mutations-tested")
#: aml-mutation components (the gene is the Observation's valueCodeableConcept text).
VAF: Final = (LN, "81258-6")
ALLELIC_RATIO: Final = (CML, "allelic-ratio")
BZIP_INFRAME: Final = (CML, "bzip-inframe")
BIALLELIC: Final = (CML, "biallelic")
#: aml-mrd components.
MRD_METHOD: Final = (CML, "mrd-method")
MRD_TARGET: Final = (CML, "mrd-target")
MRD_TISSUE: Final = (CML, "mrd-tissue")
MRD_VALUE: Final = (CML, "mrd-value")
EXTRAMEDULLARY_SITE: Final = (CML, "extramedullary-site")

#: (system, code) -> what the reader does with the Observation.
SPECIAL_CODES: dict[tuple[str, str], str] = {
    PCR: "pcr", CYTOGENETICS: "cytogenetics", FISH: "fish", MUTATION: "mutation", AGE: "age",
    TRANSCRIPT: "transcript", PROGRESSION: "progression", EVENT: "event",
    DEATH_CAUSE: "death_cause", ECOG: "ecog", AML_TYPE: "aml_type", AML_STATUS: "aml_status",
    EXTRAMEDULLARY: "extramedullary", AML_GENETICS: "aml_genetics",
    AML_MUTATION: "aml_mutation", MRD: "mrd",
}

DISPLAY: dict[tuple[str, str], str] = {
    (LN, "6690-2"): "Leukocytes [#/volume] in Blood by Automated count",
    (LN, "751-8"): "Neutrophils [#/volume] in Blood by Automated count",
    (LN, "777-3"): "Platelets [#/volume] in Blood by Automated count",
    (LN, "26474-7"): "Lymphocytes [#/volume] in Blood",
    (LN, "718-7"): "Hemoglobin [Mass/volume] in Blood",
    (LN, "709-6"): "Blasts/100 leukocytes in Blood by Manual count",
    (LN, "26524-9"): "Promyelocytes/100 leukocytes in Blood",
    (LN, "26498-6"): "Myelocytes/100 leukocytes in Blood",
    (LN, "28541-1"): "Metamyelocytes/100 leukocytes in Blood",
    (LN, "706-2"): "Basophils/100 leukocytes in Blood by Automated count",
    (LN, "713-8"): "Eosinophils/100 leukocytes in Blood by Automated count",
    (LN, "32489-7"): "Spleen Size",
    (LN, "11150-0"): "Blasts/100 cells in Bone marrow",
    (LN, "1742-6"): "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    (LN, "1920-8"): "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    (LN, "1975-2"): "Bilirubin.total [Mass/volume] in Serum or Plasma",
    (LN, "2160-0"): "Creatinine [Mass/volume] in Serum or Plasma",
    PCR: "BCR-ABL1 p210 fusion transcript/control transcript in Blood by Molecular method (IS)",
    CYTOGENETICS: "Karyotype [Identifier] in Bone marrow by Cytogenetics",
    FISH: "Cells positive for BCR-ABL1 by FISH",
    MUTATION: "ABL1 gene mutations found [Identifier] in Blood or Tissue by Molecular genetics",
    AGE: "Age - Reported",
    PROGRESSION: "Cancer disease progression",
    TRANSPLANT: "Hemopoietic stem cell transplant",
    ECOG: "ECOG Performance Status score",
    VAF: "Sample variant allelic frequency [NFr]",
}

# PCR components and the codes of an undetected result.
CONTROL_GENE: Final = (CML, "control-gene")
CONTROL_COPIES: Final = (CML, "control-gene-copies")
CONTROL_GENES: dict[str, str] = {"ABL1": "HGNC:76", "GUSB": "HGNC:4696"}
NOT_DETECTED: Final = (SCT, "260415000")
UNDETECTED_CODES = frozenset({NOT_DETECTED, (LN, "LA11883-8"), (LN, "LA9634-2")})
UNDETECTED_TEXT = frozenset({"not detected", "undetected", "negative"})
UNDETECTED_INTERPRETATION = frozenset({"ND", "NEG"})

# Cytogenetics and FISH components: code -> record field.
CYTO_COMPONENTS: dict[tuple[str, str], str] = {
    (CML, "ph-pos-metaphases"): "ph_pos", (CML, "metaphases-analysed"): "metaphases",
    (CML, "ph-pct"): "ph_pct", (CML, "aca"): "aca", (CML, "aca-ph-neg"): "aca_ph_neg",
}
FISH_COMPONENTS: dict[tuple[str, str], str] = {
    (CML, "fish-pos-nuclei"): "pos_nuclei", (CML, "fish-nuclei-scored"): "nuclei",
}

# Mutation analysis.
PRESENT: Final = (LN, "LA9633-4")
ABSENT: Final = (LN, "LA9634-2")
GENE_STUDIED: Final = (LN, "48018-6")
VARIANT: Final = (LN, "48005-3")
AMINO_ACIDS: dict[str, str] = {
    "A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "E": "Glu", "Q": "Gln",
    "G": "Gly", "H": "His", "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe",
    "P": "Pro", "S": "Ser", "T": "Thr", "W": "Trp", "Y": "Tyr", "V": "Val",
}
ONE_LETTER: dict[str, str] = {v: k for k, v in AMINO_ACIDS.items()}

# Diagnosis.
PRIMARY_DIAGNOSIS: Final = (CML, "primary-diagnosis")
CML_SCT: Final = (SCT, "92818009")
CML_ICD: Final = (ICD, "C92.10")
AML_SCT: Final = (SCT, "91861009")
PHASE_TYPE: Final = (CML, "cml-phase")
PHASES = ("chronic", "accelerated", "blast")

# Events and death.
WORSENED: Final = (SCT, "271299001")
EVENT_KINDS = ("tki_stop", "lost_to_follow_up", "off_study", "pregnancy")

# Therapy.
RXNORM: dict[str, str] = {
    "imatinib": "282388", "dasatinib": "475342", "nilotinib": "662281", "bosutinib": "1307619",
    "ponatinib": "1364347", "hydroxyurea": "5552", "cytarabine": "3041",
    "pioglitazone": "33738",
}
RX_DRUG: dict[str, str] = {v: k for k, v in RXNORM.items()} | {
    "403878": "imatinib", "403879": "imatinib"}
#: The record contract's drug names, found in free text (longest first: none is a prefix).
DRUG_NAMES = ("imatinib", "dasatinib", "nilotinib", "bosutinib", "ponatinib", "asciminib",
              "interferon", "hydroxyurea", "pioglitazone", "cytarabine")

# Statuses whose resources are skipped (with a warning per kind).
SKIPPED_STATUS: dict[str, frozenset[str]] = {
    "Observation": frozenset({"entered-in-error", "cancelled", "registered"}),
    "MedicationStatement": frozenset(
        {"entered-in-error", "not-taken", "intended", "draft", "cancelled"}),
    "MedicationRequest": frozenset(
        {"entered-in-error", "not-taken", "intended", "draft", "cancelled"}),
    "Procedure": frozenset({"entered-in-error", "not-done", "preparation"}),
}

#: Within one date, record observations come out in this order (then input order).
KIND_RANK: dict[str, int] = {k: i for i, k in enumerate(
    ("blood", "marrow", "cytogenetics", "fish", "pcr", "mutation", "chemistry", "mrd",
     "extramedullary"))}
#: Events of one date come out in the order of the spec's event table.
EVENT_RANK: dict[str, int] = {k: i for i, k in enumerate(
    ("progression", "death", "transplant", "tki_stop", "lost_to_follow_up", "off_study",
     "pregnancy"))}
