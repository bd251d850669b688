"""ELN 2022 / 2017 genetic risk: each rule and each boundary, worked by hand from AML22 Table 6,
AML17 Table 5 and the aml spec's section 2 (order, evaluability, 'missing')."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cmltrack.domain.aml.risk import eln_risk, risk_rules
from cmltrack.domain.records import PatientRecord

ALL = ["ELN2022"]


def rec(findings: list[str] | None = None, mutations: list[dict[str, Any]] | None = None,
        *, karyotype_done: bool | None = True, tested: list[str] | None = None) -> PatientRecord:
    genetics: dict[str, Any] = {"findings": findings or [], "mutations": mutations or [],
                                "mutations_tested": ALL if tested is None else tested}
    if karyotype_done is not None:
        genetics["karyotype_done"] = karyotype_done
    return PatientRecord.model_validate(
        {"id": "X", "diagnosis": {"disease": "AML", "genetics": genetics}},
        context={"today": dt.date(2026, 1, 1)})


def m(gene: str, **attrs: Any) -> dict[str, Any]:
    return {"gene": gene, **attrs}


CASES_2022 = [
    # rule 1: CBF beats everything, even -7 and TP53 (U precedence)
    (rec(["RUNX1::RUNX1T1"]), "favorable", "ELN2022.favorable.cbf"),
    (rec(["CBFB::MYH11", "-7"], [m("TP53", vaf=40), m("KIT")]), "favorable",
     "ELN2022.favorable.cbf"),
    # rule 2: MLLT3::KMT2A beats adverse gene mutations, not an adverse lesion
    (rec(["MLLT3::KMT2A"], [m("ASXL1"), m("TP53", vaf=30)]), "intermediate",
     "ELN2022.intermediate.mllt3_kmt2a"),
    (rec(["MLLT3::KMT2A", "complex"]), "adverse", "ELN2022.adverse.genetic_lesion"),
    # rule 3: every adverse lesion; beside mutated NPM1 too
    *[(rec([f], [m("NPM1")]), "adverse", "ELN2022.adverse.genetic_lesion")
      for f in ("DEK::NUP214", "KMT2A-r", "BCR::ABL1", "KAT6A::CREBBP", "GATA2::MECOM",
                "MECOM-r", "-5", "del(5q)", "-7", "-17", "abn(17p)", "complex", "monosomal")],
    # rule 4: TP53 VAF >= 10 (10 meets it, 9.9 does not); VAF not given counts as >= 10 (U)
    (rec([], [m("TP53", vaf=10)]), "adverse", "ELN2022.adverse.tp53"),
    (rec([], [m("TP53", vaf=9.9)]), "intermediate", "ELN2022.intermediate.other"),
    (rec([], [m("TP53")]), "adverse", "ELN2022.adverse.tp53"),
    (rec([], [m("TP53", vaf=25), m("NPM1")]), "adverse", "ELN2022.adverse.tp53"),
    (rec([], [m("TP53", vaf=9.9), m("NPM1")]), "favorable", "ELN2022.favorable.npm1"),
    # rule 5: NPM1 without FLT3-ITD, MR genes do not alter
    (rec([], [m("NPM1")]), "favorable", "ELN2022.favorable.npm1"),
    (rec([], [m("NPM1"), m("ASXL1"), m("SRSF2")]), "favorable", "ELN2022.favorable.npm1"),
    (rec([], [m("NPM1"), m("FLT3-TKD")]), "favorable", "ELN2022.favorable.npm1"),
    # rule 6: NPM1 with FLT3-ITD at any allelic ratio, with an MR gene too (U)
    (rec([], [m("NPM1"), m("FLT3-ITD", allelic_ratio=0.1)]), "intermediate",
     "ELN2022.intermediate.npm1_flt3_itd"),
    (rec([], [m("NPM1"), m("FLT3-ITD", allelic_ratio=0.9), m("RUNX1")]), "intermediate",
     "ELN2022.intermediate.npm1_flt3_itd"),
    # rule 7: CEBPA bZIP in-frame favorable (beats an MR gene); not in-frame is no subtype
    (rec([], [m("CEBPA", bzip_inframe=True), m("ASXL1")]), "favorable",
     "ELN2022.favorable.cebpa_bzip"),
    (rec([], [m("CEBPA", bzip_inframe=False)]), "intermediate", "ELN2022.intermediate.other"),
    (rec([], [m("CEBPA", bzip_inframe=False), m("BCOR")]), "adverse",
     "ELN2022.adverse.mr_gene"),
    # rule 8: each of the nine MR genes
    *[(rec([], [m(g)]), "adverse", "ELN2022.adverse.mr_gene")
      for g in ("ASXL1", "BCOR", "EZH2", "RUNX1", "SF3B1", "SRSF2", "STAG2", "U2AF1", "ZRSR2")],
    (rec([], [m("FLT3-ITD"), m("EZH2")]), "adverse", "ELN2022.adverse.mr_gene"),
    # rule 9: FLT3-ITD with wild-type NPM1
    (rec([], [m("FLT3-ITD", allelic_ratio=0.8)]), "intermediate",
     "ELN2022.intermediate.flt3_itd"),
    # rule 10: none of the above (IDH1, KIT are not in the table)
    (rec([], [m("IDH1"), m("KIT")]), "intermediate", "ELN2022.intermediate.other"),
    (rec([]), "intermediate", "ELN2022.intermediate.other"),
    # a present rule-1 or rule-3 finding decides without a karyotype or any mutation data
    (rec(["-7"], karyotype_done=None, tested=[]), "adverse", "ELN2022.adverse.genetic_lesion"),
    (rec(["RUNX1::RUNX1T1"], karyotype_done=False, tested=[]), "favorable",
     "ELN2022.favorable.cbf"),
]


@pytest.mark.parametrize(("record", "group", "rule"), CASES_2022)
def test_eln2022(record: PatientRecord, group: str, rule: str) -> None:
    risk = eln_risk(record)
    assert (risk.group, risk.rule, risk.missing) == (group, rule, ())


@pytest.mark.parametrize(
    ("record", "missing"),
    [
        # mutated NPM1 without a karyotype: an adverse lesion could still be there
        (rec([], [m("NPM1")], karyotype_done=None), ["diagnosis.genetics.karyotype_done"]),
        (rec([], [m("NPM1")], karyotype_done=False), ["diagnosis.genetics.karyotype_done"]),
        # MLLT3::KMT2A needs the karyotype to exclude an adverse lesion
        (rec(["MLLT3::KMT2A"], karyotype_done=None), ["diagnosis.genetics.karyotype_done"]),
        # TP53 not tested: NPM1 cannot decide (rule 4 comes first)
        (rec([], [m("NPM1")], tested=["NPM1", "FLT3-ITD"]),
         ["diagnosis.genetics.mutations_tested:TP53"]),
        # NPM1 mutated, FLT3-ITD not tested: rules 5 and 6 both unknown
        (rec([], [m("NPM1")], tested=["NPM1", "TP53"]),
         ["diagnosis.genetics.mutations_tested:FLT3-ITD"]),
        # CEBPA mutated without bzip_inframe, nothing else decides before it
        (rec([], [m("CEBPA")]), ["diagnosis.genetics.mutations:CEBPA.bzip_inframe"]),
        # nothing tested, karyotype normal
        (rec([], [], tested=[]), ["diagnosis.genetics.mutations_tested:TP53",
                                  "diagnosis.genetics.mutations_tested:NPM1",
                                  "diagnosis.genetics.mutations_tested:FLT3-ITD",
                                  "diagnosis.genetics.mutations_tested:CEBPA"]),
    ],
)
def test_eln2022_not_evaluable_names_what_is_missing(record: PatientRecord,
                                                     missing: list[str]) -> None:
    risk = eln_risk(record)
    assert risk.group is None and risk.rule is None
    assert list(risk.missing)[:len(missing)] == missing
    assert risk.to_dict()["missing"] == list(risk.missing)


def test_nothing_tested_names_all_the_genes_up_to_the_last_rule() -> None:
    risk = eln_risk(rec([], [], tested=[]))
    assert set(risk.missing) == {f"diagnosis.genetics.mutations_tested:{g}" for g in (
        "TP53", "NPM1", "FLT3-ITD", "CEBPA", "ASXL1", "BCOR", "EZH2", "RUNX1", "SF3B1", "SRSF2",
        "STAG2", "U2AF1", "ZRSR2")}


def test_a_gene_tested_by_name_counts_as_wild_type() -> None:
    # NPM1 mutated; TP53 and FLT3-ITD tested and not found: favorable without the panel.
    risk = eln_risk(rec([], [m("NPM1")], tested=["TP53", "FLT3-ITD"]))
    assert (risk.group, risk.rule) == ("favorable", "ELN2022.favorable.npm1")
    assert "NPM1 mutated" in risk.basis and "FLT3-ITD wild-type" in risk.basis


CASES_2017 = [
    (rec(["CBFB::MYH11"]), "favorable", "ELN2017.favorable.cbf"),
    (rec(["MLLT3::KMT2A"], [m("TP53")]), "intermediate", "ELN2017.intermediate.mllt3_kmt2a"),
    (rec(["-5"]), "adverse", "ELN2017.adverse.genetic_lesion"),
    # new in 2022: not adverse under 2017 (cytogenetic abnormality not classified)
    (rec(["KAT6A::CREBBP"]), "intermediate", "ELN2017.intermediate.other"),
    (rec(["MECOM-r"]), "intermediate", "ELN2017.intermediate.other"),
    # TP53 adverse at any VAF
    (rec([], [m("TP53", vaf=2)]), "adverse", "ELN2017.adverse.tp53"),
    # FLT3-ITD allelic ratio: < 0.5 low, >= 0.5 high (0.5 is high)
    (rec([], [m("NPM1")]), "favorable", "ELN2017.favorable.npm1"),
    (rec([], [m("NPM1"), m("FLT3-ITD", allelic_ratio=0.49)]), "favorable",
     "ELN2017.favorable.npm1"),
    (rec([], [m("NPM1"), m("FLT3-ITD", allelic_ratio=0.5)]), "intermediate",
     "ELN2017.intermediate.npm1_flt3_itd_high"),
    (rec([], [m("FLT3-ITD", allelic_ratio=0.5)]), "adverse", "ELN2017.adverse.flt3_itd_high"),
    (rec([], [m("FLT3-ITD", allelic_ratio=0.49)]), "intermediate",
     "ELN2017.intermediate.other"),
    # biallelic CEBPA favorable; a bZIP in-frame single mutation is not (2017)
    (rec([], [m("CEBPA", biallelic=True)]), "favorable", "ELN2017.favorable.cebpa_biallelic"),
    (rec([], [m("CEBPA", biallelic=False, bzip_inframe=True)]), "intermediate",
     "ELN2017.intermediate.other"),
    # only RUNX1 and ASXL1 are adverse genes (BCOR is not); not beside favorable NPM1
    (rec([], [m("RUNX1")]), "adverse", "ELN2017.adverse.runx1_asxl1"),
    (rec([], [m("ASXL1")]), "adverse", "ELN2017.adverse.runx1_asxl1"),
    (rec([], [m("BCOR")]), "intermediate", "ELN2017.intermediate.other"),
    (rec([], [m("NPM1"), m("ASXL1")]), "favorable", "ELN2017.favorable.npm1"),
    (rec([], [m("NPM1"), m("FLT3-ITD", allelic_ratio=0.7), m("RUNX1")]), "adverse",
     "ELN2017.adverse.runx1_asxl1"),
]


@pytest.mark.parametrize(("record", "group", "rule"), CASES_2017)
def test_eln2017(record: PatientRecord, group: str, rule: str) -> None:
    risk = eln_risk(record, "ELN2017")
    assert (risk.group, risk.rule) == (group, rule)


def test_eln2017_needs_the_allelic_ratio_beside_npm1() -> None:
    risk = eln_risk(rec([], [m("NPM1"), m("FLT3-ITD")]), "ELN2017")
    assert risk.group is None
    assert risk.missing == ("diagnosis.genetics.mutations:FLT3-ITD.allelic_ratio",)


def test_the_tables_are_in_the_spec_order_with_sources() -> None:
    ids = [r.id for r in risk_rules("ELN2022")]
    assert ids == [
        "ELN2022.favorable.cbf", "ELN2022.intermediate.mllt3_kmt2a",
        "ELN2022.adverse.genetic_lesion", "ELN2022.adverse.tp53", "ELN2022.favorable.npm1",
        "ELN2022.intermediate.npm1_flt3_itd", "ELN2022.favorable.cebpa_bzip",
        "ELN2022.adverse.mr_gene", "ELN2022.intermediate.flt3_itd",
        "ELN2022.intermediate.other"]
    for rule in risk_rules("ELN2022") + risk_rules("ELN2017"):
        assert rule.source.startswith("Döhner H et al. Blood") and rule.status
