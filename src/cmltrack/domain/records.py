"""The patient record (input contract v1): baseline at diagnosis, therapy, observations, events.

Records are frozen pydantic models. They validate what can be checked from the record alone:
types, units (a number may be given as ``{"value": 120, "unit": "g/L"}`` and is converted to the
field's standard unit when a ``PatientRecord`` is validated), physiologically impossible values,
and consistency within the record.
Checks that need the outside world (a date in the future) take ``today`` from the validation
context, so the domain never reads a clock.

Error types raised inside validators are cmltrack error codes (see ``cmltrack.errors``); the
readers turn them into :class:`~cmltrack.errors.InputError` naming file, row or JSON path.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from cmltrack.domain.dates import age_in_years
from cmltrack.domain.enums import TKIS as _TKIS
from cmltrack.textsafe import unsafe_character
from cmltrack.units import UnitError, to_standard

Pct = Annotated[float, Field(strict=True, ge=0, le=100)]
NonNeg = Annotated[float, Field(strict=True, ge=0)]
#: An upper limit of normal: a multiple of it grades liver and kidney toxicity, so 0 is refused.
Uln = Annotated[float, Field(strict=True, gt=0)]
Count = Annotated[int, Field(ge=0)]

#: The lineage of blast-phase blasts (clinical-rules-2 section 5).
BlastLineage = Literal["myeloid", "lymphoid", "mixed"]
TYPICAL_TRANSCRIPTS = frozenset({"e13a2", "e14a2", "e13a2/e14a2"})
TRANSCRIPTS = TYPICAL_TRANSCRIPTS | {"e1a2", "e19a2", "e13a3", "e14a3", "atypical", "unknown"}
REASONS_END = frozenset(
    {"resistance", "failure", "intolerance", "toxicity", "progression", "tfr", "transplant",
     "death", "dose_change", "patient_choice", "completed", "other"}
)
_MUTATION = re.compile(r"^[A-Z]\d{2,3}[A-Z](/[A-Z])*$|^(none|compound:.+)$")


#: A patient id's length: ids end up in file names, report titles and database keys.
MAX_PATIENT_ID = 128
#: A free-text value's length unless the validation context's ``max_text`` says otherwise (the
#: readers pass their limits, cmltrack.io.limits): no clinical value needs more.
MAX_TEXT_CHARS = 10_000


def _err(code: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(code, message)


def _convert_units(data: Any) -> Any:
    """Turn ``{"value": v, "unit": u}`` fields into numbers in the standard unit."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for key, val in data.items():
        if isinstance(val, dict) and set(val) <= {"value", "unit"} and "value" in val:
            v = val["value"]
            if v is None:
                out[key] = None
                continue
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise _err("bad_type", f"{v!r} is not a number")
            try:
                out[key] = to_standard(key, float(v), val.get("unit"))
            except UnitError as exc:
                raise _err("bad_unit", str(exc)) from None
    return out


#: Value types that are never a ``{"value", "unit"}`` pair: a dict holding only these needs no
#: conversion.
_PLAIN = frozenset({str, int, float, bool, type(None), list, tuple})
#: The parts of a record that are lists of models, each converting its own units.
_MODEL_LISTS = ("therapy", "observations", "events")
_OBSERVATION_KINDS = frozenset(
    {"blood", "marrow", "cytogenetics", "fish", "pcr", "mutation", "chemistry", "mrd",
     "extramedullary", "ecg"})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, allow_inf_nan=False)


def _units_hook(cls: type[_Model], data: Any) -> Any:
    """Convert one model's ``{"value", "unit"}`` pairs (the per-model reading of units)."""
    return _convert_units(data)


def _needs_units(item: Any) -> bool:
    return isinstance(item, dict) and not (
        type(item) is dict and _PLAIN.issuperset(map(type, item.values())))


def _observation_needs_units(item: Any) -> bool:
    # An observation reaches its model (and the model's hook) only with a valid kind.
    kind = item.get("kind") if isinstance(item, dict) else None
    return isinstance(kind, str) and kind in _OBSERVATION_KINDS and _needs_units(item)


def _record_units(data: dict[Any, Any]) -> dict[Any, Any] | None:
    """The record with every model's pairs converted, as each model's own hook converts them
    (None when one cannot be: the per-model hooks then decide). The parts are lists."""
    out: dict[Any, Any] = _convert_units(data)  # the record's own fields first, as its hook did
    try:
        if _needs_units(out.get("diagnosis")):
            out["diagnosis"] = _convert_units(out["diagnosis"])
        for name in _MODEL_LISTS:
            items = out.get(name)
            if isinstance(items, list | tuple):
                hooked = _needs_units if name != "observations" else _observation_needs_units
                if any(map(hooked, items)):
                    out[name] = [_convert_units(i) if hooked(i) else i for i in items]
    except PydanticCustomError:
        return None
    return out


def _check_not_future(d: dt.date | None, info: ValidationInfo) -> dt.date | None:
    today = (info.context or {}).get("today") if info.context else None
    if d is not None and today is not None and d > today:
        raise _err("impossible_value", f"date {d.isoformat()} is in the future")
    return d



#: Recurring genetic findings of AML (aml spec section 1; closed vocabulary, exact spelling).
AML_FINDINGS = (
    "RUNX1::RUNX1T1", "CBFB::MYH11", "MLLT3::KMT2A", "KMT2A-r", "DEK::NUP214", "BCR::ABL1",
    "KAT6A::CREBBP", "GATA2::MECOM", "MECOM-r", "-5", "del(5q)", "-7", "-17", "abn(17p)",
    "complex", "monosomal",
)
#: The myelodysplasia-related genes of ELN 2022 (adverse unless beside a favorable subtype).
MR_GENES = ("ASXL1", "BCOR", "EZH2", "RUNX1", "SF3B1", "SRSF2", "STAG2", "U2AF1", "ZRSR2")
#: What ``mutations_tested: ["ELN2022"]`` stands for.
ELN2022_PANEL = ("NPM1", "FLT3-ITD", "CEBPA", "TP53", *MR_GENES)
_GENE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
_AML_DIAGNOSIS_FIELDS = ("aml_type", "status", "anc", "blasts_bm", "extramedullary", "ecog",
                         "genetics")


def _gene_name(v: str) -> str:
    v = v.strip()
    if not _GENE.match(v):
        raise _err("unknown_value", f"gene {v!r} is not an HGNC symbol (e.g. NPM1, FLT3-ITD)")
    return v


def _text_limit(v: Any, info: ValidationInfo) -> Any:
    """Refuse a text (or a list of texts) longer than the limit, before anything echoes it."""
    limit = MAX_TEXT_CHARS
    if info.context:
        limit = info.context.get("max_text", MAX_TEXT_CHARS)
    for text in (v,) if isinstance(v, str) else v if isinstance(v, list | tuple) else ():
        if isinstance(text, str) and len(text) > limit:
            raise _err("impossible_value",
                       f"a text of {len(text)} characters is over the limit of {limit}")
    return v


class AmlMutation(_Model):
    """One pathogenic variant found in AML (gene as the contract spells it)."""

    gene: str
    #: FLT3-ITD allelic ratio: reported (ELN 2017 uses it), never used by ELN 2022.
    allelic_ratio: Annotated[float, Field(strict=True, ge=0, le=1000)] | None = None
    #: Variant allele frequency, %.
    vaf: Pct | None = None
    #: CEBPA: an in-frame mutation of the bZIP domain (ELN 2022 favorable).
    bzip_inframe: bool | None = None
    #: CEBPA: biallelic (ELN 2017 favorable).
    biallelic: bool | None = None

    _gene = field_validator("gene")(_gene_name)

    @model_validator(mode="after")
    def _fields_of_gene(self) -> AmlMutation:
        if self.allelic_ratio is not None and self.gene != "FLT3-ITD":
            raise _err("inconsistent", f"allelic_ratio is only for FLT3-ITD, not {self.gene}")
        if (self.bzip_inframe is not None or self.biallelic is not None) and self.gene != "CEBPA":
            raise _err("inconsistent",
                       f"bzip_inframe/biallelic are only for CEBPA, not {self.gene}")
        return self


class AmlGenetics(_Model):
    """Karyotype, recurring findings and gene mutations at diagnosis (ELN risk reads them)."""

    karyotype: str | None = None
    karyotype_done: bool | None = None
    findings: tuple[str, ...] = ()
    mutations_tested: tuple[str, ...] = ()
    mutations: tuple[AmlMutation, ...] = ()

    _text = field_validator("karyotype", mode="before")(_text_limit)

    @field_validator("findings")
    @classmethod
    def _findings(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(f.strip() for f in v if f.strip())
        for f in out:
            if f not in AML_FINDINGS:
                raise _err("unknown_value",
                           f"finding {f!r} is not one of {', '.join(AML_FINDINGS)}")
        return out

    @field_validator("mutations_tested")
    @classmethod
    def _tested(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(g if g == "ELN2022" else _gene_name(g) for g in (x.strip() for x in v) if g)

    @property
    def tested_genes(self) -> frozenset[str]:
        """The genes examined (``ELN2022`` expanded); a tested gene not mutated is wild-type."""
        out: set[str] = set()
        for g in self.mutations_tested:
            out.update(ELN2022_PANEL if g == "ELN2022" else (g,))
        out.update(m.gene for m in self.mutations)  # a reported mutation was tested
        return frozenset(out)


class Diagnosis(_Model):
    """Values at diagnosis, before treatment: what the risk scores use."""

    date: dt.date | None = None
    disease: str = "CML"
    phase: Literal["chronic", "accelerated", "blast"] | None = None
    transcript: str | None = None
    age: Annotated[float, Field(strict=True, ge=0, le=120)] | None = None
    spleen_cm: Annotated[float, Field(strict=True, ge=0, le=40)] | None = None
    wbc: Annotated[float, Field(strict=True, ge=0, le=2000)] | None = None
    platelets: Annotated[float, Field(strict=True, ge=0, le=10000)] | None = None
    hemoglobin: Annotated[float, Field(strict=True, ge=0, le=25)] | None = None
    blasts_pb: Pct | None = None
    basophils_pb: Pct | None = None
    eosinophils_pb: Pct | None = None
    aca: tuple[str, ...] = ()
    # AML (``disease`` "AML"; aml spec section 1).
    aml_type: Literal["de_novo", "secondary", "therapy_related"] | None = None
    status: Literal["newly_diagnosed", "refractory", "relapsed"] | None = None
    anc: Annotated[float, Field(strict=True, ge=0, le=2000)] | None = None
    blasts_bm: Pct | None = None
    extramedullary: bool | None = None
    ecog: Annotated[int, Field(ge=0, le=5)] | None = None
    genetics: AmlGenetics | None = None

    _future = field_validator("date")(_check_not_future)
    _text = field_validator("disease", "aca", mode="before")(_text_limit)

    @model_validator(mode="after")
    def _aml_fields(self) -> Diagnosis:
        if self.disease != "AML":
            for name in _AML_DIAGNOSIS_FIELDS:
                if name in ("anc", "blasts_bm", "ecog"):
                    continue  # plain counts and performance status fit any disease
                if getattr(self, name) is not None:
                    raise _err("inconsistent",
                               f"{name} is for AML; disease is {self.disease!r}")
        return self

    @property
    def is_aml(self) -> bool:
        return self.disease == "AML"

    @field_validator("transcript")
    @classmethod
    def _transcript(cls, v: str | None) -> str | None:
        if v is not None and v not in TRANSCRIPTS:
            raise _err("unknown_value", f"transcript {v!r} is not one of {sorted(TRANSCRIPTS)}")
        return v

    @field_validator("aca")
    @classmethod
    def _aca(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(a.strip() for a in v if a.strip())


class TherapyLine(_Model):
    """One drug at one daily dose from ``start`` to ``end`` (open if null)."""

    drug: str
    # 2000 mg/day bounds a TKI; chemotherapy by body surface goes higher (cytarabine 2 g/m^2
    # is ~4000 mg/day), so other drugs are bounded at 100 g/day (_dose_bound).
    dose_mg_per_day: Annotated[float, Field(strict=True, ge=0, le=100000)] | None = None
    start: dt.date
    end: dt.date | None = None
    reason_end: str | None = None

    # An end in the future would be a plan, not a record (and would move the default as_of
    # there): refused like any future date (patient-record contract).
    _future = field_validator("start", "end")(_check_not_future)
    _text = field_validator("drug", mode="before")(_text_limit)

    @field_validator("drug")
    @classmethod
    def _drug(cls, v: str) -> str:
        v = v.strip().lower()
        if not v:
            raise _err("missing_field", "drug name is empty")
        return v

    @field_validator("reason_end")
    @classmethod
    def _reason(cls, v: str | None) -> str | None:
        if v is not None and v not in REASONS_END:
            raise _err("unknown_value", f"reason_end {v!r} is not one of {sorted(REASONS_END)}")
        return v

    @model_validator(mode="after")
    def _dose_bound(self) -> TherapyLine:
        dose = self.dose_mg_per_day
        if dose is not None and dose > 2000 and self.drug in _TKIS:
            raise _err("impossible_value",
                       f"dose_mg_per_day {dose:g} is impossible here for {self.drug} "
                       "(must be <= 2000)")
        return self

    @model_validator(mode="after")
    def _order(self) -> TherapyLine:
        if self.end is not None and self.end < self.start:
            raise _err("inconsistent", f"end {self.end} is before start {self.start}")
        return self


class _Obs(_Model):
    date: dt.date

    _future = field_validator("date")(_check_not_future)


class BloodCount(_Obs):
    """Peripheral blood count, differential (% of leukocytes) and spleen size at that visit."""

    kind: Literal["blood"] = "blood"
    wbc: Annotated[float, Field(strict=True, ge=0, le=2000)] | None = None
    anc: Annotated[float, Field(strict=True, ge=0, le=2000)] | None = None
    platelets: Annotated[float, Field(strict=True, ge=0, le=10000)] | None = None
    hemoglobin: Annotated[float, Field(strict=True, ge=0, le=25)] | None = None
    lymphocytes: Annotated[float, Field(strict=True, ge=0, le=2000)] | None = None
    blasts_pb: Pct | None = None
    promyelocytes_pb: Pct | None = None
    myelocytes_pb: Pct | None = None
    metamyelocytes_pb: Pct | None = None
    basophils_pb: Pct | None = None
    eosinophils_pb: Pct | None = None
    spleen_cm: Annotated[float, Field(strict=True, ge=0, le=40)] | None = None
    extramedullary_blasts: bool | None = None
    #: AML response: a transfusion in the 7 days before this count.
    rbc_transfused_7d: bool | None = None
    platelets_transfused_7d: bool | None = None
    wbc_lln: NonNeg | None = None
    wbc_uln: Uln | None = None
    anc_lln: NonNeg | None = None
    anc_uln: Uln | None = None
    platelets_lln: NonNeg | None = None
    platelets_uln: Uln | None = None
    hemoglobin_lln: NonNeg | None = None
    hemoglobin_uln: Uln | None = None
    lymphocytes_lln: NonNeg | None = None
    lymphocytes_uln: Uln | None = None
    #: Whether the clinician judges a cytopenia of this count related to therapy (false: to the
    #: leukemia or another cause); the WHO 2016 "platelets < 100 unrelated to therapy" reads it
    #: (clinical-rules-2 sections 7 and 10).
    related_to_therapy: bool | None = None

    @model_validator(mode="after")
    def _differential(self) -> BloodCount:
        total = 0.0  # summed left to right, as sum() does
        for p in (self.blasts_pb, self.promyelocytes_pb, self.myelocytes_pb,
                  self.metamyelocytes_pb, self.basophils_pb, self.eosinophils_pb):
            if p is not None:
                total += p
        if total > 100.0 + 1e-9:
            raise _err("inconsistent", f"differential percentages add up to {total:g}% (> 100%)")
        if self.anc is not None and self.wbc is not None and self.anc > self.wbc + 1e-9:
            raise _err("inconsistent", f"anc {self.anc:g} exceeds wbc {self.wbc:g}")
        return self


class Marrow(_Obs):
    """Bone marrow aspirate morphology (% of nucleated cells)."""

    kind: Literal["marrow"] = "marrow"
    blasts_bm: Pct | None = None
    promyelocytes_bm: Pct | None = None
    basophils_bm: Pct | None = None
    #: Lineage of the blasts (immunophenotype), for blast phase therapy (clinical-rules-2 s5).
    blast_lineage: BlastLineage | None = None
    # AML response (aml spec section 1): Auer rods, and what makes the aspirate adequate.
    auer_rods: bool | None = None
    cells_counted: Count | None = None
    cellularity_pct: Pct | None = None
    spicules: bool | None = None


class Cytogenetics(_Obs):
    """Marrow chromosome banding: Ph+ metaphases of those analysed, and ACA in Ph+/Ph- cells."""

    kind: Literal["cytogenetics"] = "cytogenetics"
    ph_pos: Count | None = None
    metaphases: Count | None = None
    ph_pct: Pct | None = None
    aca: tuple[str, ...] = ()
    aca_ph_neg: tuple[str, ...] = ()

    _text = field_validator("aca", "aca_ph_neg", mode="before")(_text_limit)

    @model_validator(mode="after")
    def _counts(self) -> Cytogenetics:
        if (self.ph_pos is None) != (self.metaphases is None):
            missing = "metaphases" if self.metaphases is None else "ph_pos"
            raise _err("missing_field", f"ph_pos and metaphases go together; {missing} is missing")
        if self.ph_pos is not None and self.metaphases is not None:
            if self.metaphases == 0:
                raise _err("impossible_value", "metaphases is 0")
            if self.ph_pos > self.metaphases:
                raise _err(
                    "inconsistent",
                    f"ph_pos {self.ph_pos} exceeds metaphases {self.metaphases}",
                )
            if self.ph_pct is not None:
                pct = 100.0 * self.ph_pos / self.metaphases
                if abs(pct - self.ph_pct) > 0.5:
                    raise _err(
                        "inconsistent",
                        f"ph_pct {self.ph_pct:g} disagrees with {self.ph_pos}/{self.metaphases}",
                    )
        elif self.ph_pct is None:
            raise _err("missing_field", "cytogenetics needs ph_pct or ph_pos and metaphases")
        return self

    @property
    def ph_percent(self) -> float:
        """Ph+ % of metaphases, from the counts where given (unrounded)."""
        if self.ph_pos is not None and self.metaphases:
            return 100.0 * self.ph_pos / self.metaphases
        assert self.ph_pct is not None
        return self.ph_pct


class Fish(_Obs):
    """Interphase FISH for BCR::ABL1: positive nuclei of those scored."""

    kind: Literal["fish"] = "fish"
    pos_nuclei: Count | None = None
    nuclei: Count | None = None
    fish_pct: Pct | None = None

    @model_validator(mode="after")
    def _counts(self) -> Fish:
        if (self.pos_nuclei is None) != (self.nuclei is None):
            missing = "nuclei" if self.nuclei is None else "pos_nuclei"
            raise _err("missing_field", f"pos_nuclei and nuclei go together; {missing} is missing")
        if self.pos_nuclei is not None and self.nuclei is not None:
            if self.nuclei == 0:
                raise _err("impossible_value", "nuclei is 0")
            if self.pos_nuclei > self.nuclei:
                raise _err("inconsistent", f"pos_nuclei {self.pos_nuclei} exceeds {self.nuclei}")
        elif self.fish_pct is None:
            raise _err("missing_field", "fish needs fish_pct or pos_nuclei and nuclei")
        return self

    @property
    def positive_percent(self) -> float:
        if self.pos_nuclei is not None and self.nuclei:
            return 100.0 * self.pos_nuclei / self.nuclei
        assert self.fish_pct is not None
        return self.fish_pct


class Pcr(_Obs):
    """BCR::ABL1 quantitative PCR on the International Scale (percent)."""

    kind: Literal["pcr"] = "pcr"
    bcr_abl1_is: Annotated[float, Field(strict=True, ge=0, le=1000)] | None = None
    detected: bool | None = None
    control_gene: Literal["ABL1", "GUSB"] | None = None
    control_copies: Annotated[float, Field(strict=True, ge=0)] | None = None

    @model_validator(mode="after")
    def _detection(self) -> Pcr:
        if self.detected is False and self.bcr_abl1_is is not None and self.bcr_abl1_is > 0:
            raise _err(
                "inconsistent",
                f"detected is false but bcr_abl1_is is {self.bcr_abl1_is:g}",
            )
        if self.detected is not False and self.bcr_abl1_is is None:
            raise _err(
                "missing_field", "bcr_abl1_is is missing (give detected: false if undetected)"
            )
        if self.control_copies is not None and self.control_gene is None:
            raise _err("missing_field", "control_copies needs control_gene (ABL1 or GUSB)")
        return self

    @property
    def is_detected(self) -> bool:
        return self.detected is not False


class Mutation(_Obs):
    """BCR::ABL1 kinase-domain mutation analysis; an empty list means none found."""

    kind: Literal["mutation"] = "mutation"
    mutations: tuple[str, ...] = ()

    _text = field_validator("mutations", mode="before")(_text_limit)

    @field_validator("mutations")
    @classmethod
    def _names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(m.strip() for m in v if m.strip())
        for m in out:
            if not _MUTATION.match(m):
                raise _err("unknown_value", f"mutation {m!r} is not in the form T315I")
        return tuple(m for m in out if m != "none")


class Chemistry(_Obs):
    """Liver and kidney chemistry with upper limits of normal."""

    kind: Literal["chemistry"] = "chemistry"
    alt: NonNeg | None = None
    alt_uln: Uln | None = None
    ast: NonNeg | None = None
    ast_uln: Uln | None = None
    bilirubin: NonNeg | None = None
    bilirubin_uln: Uln | None = None
    creatinine: NonNeg | None = None
    creatinine_uln: Uln | None = None
    # Pancreas and alkaline phosphatase (clinical-rules-2 section 10): the label rules read them
    # as multiples of the panel's own upper limit of normal, so without it they are not judged.
    lipase: NonNeg | None = None
    lipase_uln: Uln | None = None
    amylase: NonNeg | None = None
    amylase_uln: Uln | None = None
    alp: NonNeg | None = None
    alp_uln: Uln | None = None


class Ecg(_Obs):
    """An electrocardiogram: the QT interval corrected by Fridericia (QTcF), in ms
    (clinical-rules-2 section 10; the nilotinib label's QT rules read it)."""

    kind: Literal["ecg"] = "ecg"
    qtcf_ms: Annotated[float, Field(strict=True, ge=100, le=1000)]


class Mrd(_Obs):
    """AML measurable residual disease: one result by qPCR, flow cytometry or NGS."""

    kind: Literal["mrd"] = "mrd"
    method: Literal["qpcr", "flow", "ngs"]
    target: str | None = None
    tissue: Literal["bm", "pb"] | None = None
    result: Literal["positive", "negative"]
    #: qPCR target/ABL1 copies in %; flow % of leukocytes.
    value_pct: Annotated[float, Field(strict=True, ge=0, le=1000)] | None = None

    _text = field_validator("target", mode="before")(_text_limit)


class Extramedullary(_Obs):
    """Extramedullary disease (e.g. myeloid sarcoma) assessed on this date."""

    kind: Literal["extramedullary"] = "extramedullary"
    present: bool
    site: str | None = None

    _text = field_validator("site", mode="before")(_text_limit)


Observation = Annotated[
    BloodCount | Marrow | Cytogenetics | Fish | Pcr | Mutation | Chemistry | Mrd | Extramedullary
    | Ecg,
    Field(discriminator="kind"),
]

OBSERVATION_MODELS: dict[str, type[_Obs]] = {  # keys: _OBSERVATION_KINDS
    "blood": BloodCount,
    "marrow": Marrow,
    "cytogenetics": Cytogenetics,
    "fish": Fish,
    "pcr": Pcr,
    "mutation": Mutation,
    "chemistry": Chemistry,
    "mrd": Mrd,
    "extramedullary": Extramedullary,
    "ecg": Ecg,
}

#: Which observation kind each lab field belongs to (each field belongs to exactly one).
FIELD_KIND: dict[str, str] = {
    name: kind
    for kind, model in OBSERVATION_MODELS.items()
    for name in model.model_fields
    if name not in ("date", "kind")
}

EVENT_KINDS = ("progression", "death", "transplant", "tki_stop", "lost_to_follow_up", "off_study",
               "pregnancy", "adverse_event")
#: The adverse-event terms the label dose rules read (clinical-rules-2 section 10).
AdverseEventTerm = Literal[
    "arterial_occlusion_cardiac", "arterial_occlusion_peripheral", "pleural_effusion",
    "pancreatitis", "diarrhea"]


class Event(_Model):
    """A dated clinical event reported by the clinic (not derived)."""

    date: dt.date
    kind: Literal[
        "progression", "death", "transplant", "tki_stop", "lost_to_follow_up", "off_study",
        "pregnancy",  # a confirmed pregnancy (TKIs are contraindicated: clinical-rules-2 s6)
        "adverse_event",  # a graded adverse event (clinical-rules-2 section 10)
    ]
    phase: Literal["accelerated", "blast"] | None = None
    cause: str | None = None
    note: str | None = None
    #: What kind of event within its kind (a transplant: "allogeneic" or "autologous").
    detail: str | None = None
    #: A progression's blast lineage (clinical-rules-2 section 5).
    blast_lineage: BlastLineage | None = None
    #: An adverse event's term and CTCAE grade (1-5; 0 records that it has resolved).
    term: AdverseEventTerm | None = None
    grade: Annotated[int, Field(strict=True, ge=0, le=5)] | None = None

    _future = field_validator("date")(_check_not_future)
    _text = field_validator("cause", "note", "detail", mode="before")(_text_limit)

    @model_validator(mode="after")
    def _phase(self) -> Event:
        if self.kind == "progression" and self.phase is None:
            raise _err("missing_field", "a progression event needs phase (accelerated or blast)")
        if self.kind != "progression" and self.phase is not None:
            raise _err("inconsistent", f"phase is only for progression events, not {self.kind}")
        if self.kind != "progression" and self.blast_lineage is not None:
            raise _err("inconsistent",
                       f"blast_lineage is only for progression events, not {self.kind}")
        if self.kind == "adverse_event":
            missing = [name for name in ("term", "grade") if getattr(self, name) is None]
            if missing:
                raise _err("missing_field",
                           f"an adverse_event needs {' and '.join(missing)} (term: "
                           "arterial_occlusion_cardiac, arterial_occlusion_peripheral, "
                           "pleural_effusion, pancreatitis or diarrhea; grade 0-5)")
        elif self.term is not None or self.grade is not None:
            raise _err("inconsistent",
                       f"term and grade are only for adverse_event events, not {self.kind}")
        return self


class PatientRecord(_Model):
    """What a clinic or trial knows about one patient (patient-record contract v1)."""

    id: Annotated[str, Field(min_length=1, max_length=MAX_PATIENT_ID)]
    sex: Literal["F", "M"] | None = None
    birth_date: dt.date | None = None
    diagnosis: Diagnosis | None = None
    therapy: tuple[TherapyLine, ...] = ()
    observations: tuple[Observation, ...] = ()
    events: tuple[Event, ...] = ()

    _future = field_validator("birth_date")(_check_not_future)

    @field_validator("id")
    @classmethod
    def _printable_id(cls, v: str) -> str:
        # An id is printed on terminals, in HTML and in file names: an ESC (ANSI colour codes)
        # or a right-to-left override in it would act instead of being read.
        bad = unsafe_character(v)
        if bad is not None:
            raise _err(
                "bad_type",
                f"the patient id contains {bad}; ids may not contain control characters, "
                "ANSI escapes or bidirectional overrides",
            )
        return v

    @model_validator(mode="wrap")
    @classmethod
    def _units(cls, data: Any, handler: ModelWrapValidatorHandler[PatientRecord],
               info: ValidationInfo) -> PatientRecord:
        # ``{"value", "unit"}`` pairs used to be converted by a hook on each of a record's ~130
        # models: a fifth of validating one. Records rarely hold a pair (the CSV reader converts
        # units itself) and no field accepts one, so the record is first validated as it is;
        # only if that fails are its pairs converted, and where one cannot be, the models with
        # the per-model hooks decide, so that every error keeps its location and order.
        if type(data) is not dict:
            return handler(data)
        if all(isinstance(data.get(name), list | tuple | None) for name in _MODEL_LISTS):
            try:
                return handler(data)
            except ValidationError:
                converted = _record_units(data)
                if converted == data:
                    raise  # no pair in it: its errors are these
            if converted is not None:
                return handler(converted)
        # A conversion failed, or a part is not a list (which may be read only once).
        hooked = _hooked_record().model_validate(data, context=info.context)
        return handler(hooked.model_dump())

    @model_validator(mode="after")
    def _consistent(self) -> PatientRecord:
        birth = self.birth_date
        dx = self.diagnosis
        if birth is not None:
            # Checked in this order, the first date before birth named (the path is written only
            # then: a record has hundreds of dates).
            dated: tuple[tuple[str, str, Sequence[Any]], ...] = (
                ("diagnosis", "date", (dx,) if dx is not None else ()),
                ("therapy", "start", self.therapy),
                ("observations", "date", self.observations),
                ("events", "date", self.events),
            )
            for name, attr, items in dated:
                for i, item in enumerate(items):
                    d = getattr(item, attr)
                    if d is not None and d < birth:
                        where = f"{name}.{attr}" if name == "diagnosis" else f"{name}[{i}].{attr}"
                        raise _err("impossible_value", f"{where} {d} is before birth_date {birth}")
            if dx is not None and dx.age is not None and dx.date is not None:
                computed = age_in_years(birth, dx.date)
                if abs(computed - dx.age) > 1.0:
                    raise _err(
                        "inconsistent",
                        f"diagnosis.age {dx.age:g} disagrees with birth_date {birth} "
                        f"(age {computed:.1f} at diagnosis)",
                    )
        return self

    @property
    def age_at_diagnosis(self) -> float | None:
        """Age in years at diagnosis: the recorded age, else from birth and diagnosis dates."""
        dx = self.diagnosis
        if dx is None:
            return None
        if dx.age is not None:
            return dx.age
        if self.birth_date is not None and dx.date is not None:
            return age_in_years(self.birth_date, dx.date)
        return None


#: An observation's date (a C getter: sorting a record's observations calls it for each).
_date_of: Callable[[_Obs], dt.date] = operator.attrgetter("date")


@dataclass(frozen=True, slots=True)
class ObservationIndex:
    """A record's observations of the kinds several rules read, each kind in date order (ties:
    record order, as a stable sort of the whole record gives). Built once per assessment so
    that each rule does not scan and sort every observation again."""

    blood: tuple[BloodCount, ...] = ()
    cytogenetics: tuple[Cytogenetics, ...] = ()
    mutation: tuple[Mutation, ...] = ()
    chemistry: tuple[Chemistry, ...] = ()
    ecg: tuple[Ecg, ...] = ()

    @classmethod
    def of(cls, record: PatientRecord) -> ObservationIndex:
        groups: dict[str, list[Any]] = {"blood": [], "cytogenetics": [], "mutation": [],
                                        "chemistry": [], "ecg": []}
        for obs in record.observations:
            group = groups.get(obs.kind)
            if group is not None:
                group.append(obs)
        return cls(**{kind: tuple(sorted(g, key=_date_of)) for kind, g in groups.items()})


@functools.cache
def _hooked_record() -> type[PatientRecord]:
    """PatientRecord whose every model converts its own units in a before-hook: the reading of
    units that sets which error a failed conversion gives, where, and in what order."""
    validators: dict[str, Any] = {"_units_hook": model_validator(mode="before")(_units_hook)}

    def hooked(model: type[_Model]) -> Any:
        return create_model(model.__name__, __base__=model, __validators__=validators)

    observation: Any = Union[tuple(hooked(m) for m in OBSERVATION_MODELS.values())]  # noqa: UP007
    parts: dict[str, Any] = {
        "diagnosis": (hooked(Diagnosis) | None, None),
        "therapy": (tuple.__class_getitem__((hooked(TherapyLine), ...)), ()),
        "observations": (
            tuple.__class_getitem__((Annotated[observation, Field(discriminator="kind")], ...)),
            (),
        ),
        "events": (tuple.__class_getitem__((hooked(Event), ...)), ()),
    }
    # The same name as PatientRecord's own wrap validator: replaced by one that only validates.
    record_validators = validators | {"_units": model_validator(mode="wrap")(_validate_only)}
    model: type[PatientRecord] = create_model(
        "PatientRecord", __base__=PatientRecord, __validators__=record_validators, **parts)
    return model


def _validate_only(cls: type[_Model], data: Any, handler: Callable[[Any], Any]) -> Any:
    return handler(data)


assert frozenset(OBSERVATION_MODELS) == _OBSERVATION_KINDS
