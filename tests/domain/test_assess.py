"""The composed assessment on the bundled examples. Expected values derived by hand from the
records and the clinical rules reference (section 14 time origin and windows), not from code."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from cmltrack.cli.demo import example_path
from cmltrack.domain.assess import assess, restrict_record
from cmltrack.domain.enums import Guideline, MilestoneStatus
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord
from cmltrack.domain.timeline import months_since, months_since_each
from cmltrack.io import load_records


@pytest.fixture(scope="module")
def examples() -> dict[str, PatientRecord]:
    return {r.id: r for r in load_records(example_path("json"))}


def test_months_use_30_4375_day_months() -> None:
    # 2016-03-21 -> 2016-06-20 is 10 + 30 + 31 + 20 = 91 days; 91 / 30.4375 = 2.9897.
    assert months_since(dt.date(2016, 3, 21), dt.date(2016, 6, 20)) == 2.99
    assert months_since(dt.date(2016, 3, 21), dt.date(2016, 3, 10)) == -0.36
    assert months_since(None, dt.date(2016, 3, 10)) is None
    days = [dt.date(2016, 6, 20), dt.date(2016, 3, 10)]
    assert months_since_each(dt.date(2016, 3, 21), days) == [2.99, -0.36]
    assert months_since_each(None, days) == [None, None]


def test_optimal_responder_p01(examples: dict[str, PatientRecord]) -> None:
    a = assess(examples["P01"])
    assert a.therapy_start == dt.date(2016, 3, 21)
    tp = {t.date: t for t in a.timepoints}
    assert tp[dt.date(2016, 6, 20)].months == 2.99
    assert tp[dt.date(2016, 6, 20)].molecular == "MR1"  # 6.2% <= 10
    assert tp[dt.date(2016, 9, 20)].molecular == "MR2"  # 0.8% <= 1
    assert tp[dt.date(2016, 9, 20)].cytogenetic == "CCyR"  # 0/20 metaphases
    assert tp[dt.date(2017, 3, 21)].molecular == "MMR"  # 0.07% <= 0.1
    assert tp[dt.date(2019, 3, 22)].molecular == "MR4.5"  # undetected, ABL1 88,000
    assert tp[dt.date(2019, 9, 20)].molecular == "MR5"  # undetected, ABL1 102,000
    ms = {m.month: m for m in a.milestones}
    # ELN 2020: 3 mo 6.2% <= 10 optimal; 6 mo 0.8% <= 1 optimal; 12 mo 0.07% <= 0.1 optimal.
    assert (ms[3].status, ms[3].date) == (MilestoneStatus.OPTIMAL, dt.date(2016, 6, 20))
    assert (ms[6].status, ms[6].date) == (MilestoneStatus.OPTIMAL, dt.date(2016, 9, 20))
    assert (ms[12].status, ms[12].date) == (MilestoneStatus.OPTIMAL, dt.date(2017, 3, 21))
    assert a.current.best_molecular == "MR5"
    assert a.current.best_cytogenetic == "CCyR"
    # Sokal by hand: age 47.86, spleen 2, platelets 380, blasts 1 -> exp(-0.2864) = 0.751 low.
    assert a.risk["sokal"].group == "low"
    assert a.risk["sokal"].score == pytest.approx(0.751, abs=0.002)


def test_as_of_uses_nothing_later(examples: dict[str, PatientRecord]) -> None:
    rec = examples["P01"]
    a = assess(rec, as_of=dt.date(2016, 7, 1))
    assert all(t.date <= dt.date(2016, 7, 1) for t in a.timepoints)
    ms = {m.month: m for m in a.milestones}
    assert ms[3].status == MilestoneStatus.OPTIMAL
    assert ms[6].status == MilestoneStatus.PENDING  # window 4.5-8 months still open
    day = dt.date(2016, 7, 1)
    assert assess(restrict_record(rec, day), as_of=day).to_dict() == a.to_dict()


def test_a_dead_patient_gets_no_recommendations(examples: dict[str, PatientRecord]) -> None:
    a = assess(examples["P11"])
    assert a.recommendations == ()
    assert any("died" in line for line in a.trail)
    before = assess(examples["P11"], as_of=dt.date(2018, 6, 30))
    assert {str(r.action) for r in before.recommendations} >= {"hsct_evaluation"}


def test_contract_shape_and_spelling(examples: dict[str, PatientRecord]) -> None:
    for rec in examples.values():
        d = assess(rec).to_dict()
        assert d["schema"] == "cmltrack.assessment/1"
        assert list(d["risk"]) == ["sokal", "hasford", "eutos", "elts"]
        for t in d["timepoints"]:
            assert t["hematologic"] in (None, "CHR", "PHR", "none")
            assert t["cytogenetic"] in (
                None, "CCyR", "PCyR", "minor", "minimal", "none", "inadequate"
            )
            assert t["molecular"] in (
                None, "MR5", "MR4.5", "MR4", "MMR", "MR2", "MR1", "none", "inadequate"
            )
            assert t["phase"] in (None, "chronic", "accelerated", "blast")
            assert set(t["toxicity"]) <= {
                "neutrophils", "platelets", "anemia", "wbc", "lymphocytes", "alt", "ast",
                "bilirubin", "creatinine",
            }
        assert [t["date"] for t in d["timepoints"]] == sorted(t["date"] for t in d["timepoints"])
        for m in d["milestones"]:
            assert m["status"] in (
                "optimal", "warning", "suboptimal", "failure", "not_evaluable", "pending"
            )


def test_guideline_option_changes_verdicts_only_where_editions_differ(
    examples: dict[str, PatientRecord],
) -> None:
    # P02: 14% at 3 months is an ELN 2020 warning; ELN 2013 judges 3 months on BCR::ABL1 too
    # (> 10% warning), so both give warning at 3 months.
    rec = examples["P02"]
    for g in (Guideline.ELN2020, Guideline.ELN2013):
        a = assess(rec, options=dataclasses.replace(AssessOptions(), guideline=g))
        assert {m.month: m.status for m in a.milestones}[3] == MilestoneStatus.WARNING


def test_standing_rule_latest_versus_worst(examples: dict[str, PatientRecord]) -> None:
    # P10: ELN 2020 warning at 12 months, MMR (<= 0.1%) at 18 months and after. The contract's
    # "latest milestone or any-time judgement" gives optimal; section 14 read literally ("worst
    # of") keeps the 12-month warning.
    rec = examples["P10"]
    latest = assess(rec)
    worst = assess(rec, options=dataclasses.replace(AssessOptions(), standing_rule="worst"))
    assert {m.month: m.status for m in latest.milestones}[12] == MilestoneStatus.WARNING
    assert latest.current.status == MilestoneStatus.OPTIMAL
    assert worst.current.status == MilestoneStatus.WARNING


def test_no_continue_beside_a_hold(examples: dict[str, PatientRecord]) -> None:
    # P07 on 2019-05-06: ANC 0.7 (< 1.0) in chronic phase: the label says hold; the guideline's
    # "continue" must not be shown beside it.
    a = assess(examples["P07"], as_of=dt.date(2019, 5, 6))
    actions = {str(r.action) for r in a.recommendations}
    assert "hold" in actions and "continue" not in actions


def test_atypical_transcript_is_followed_by_cytogenetics(
    examples: dict[str, PatientRecord],
) -> None:
    # P12 has an e1a2 transcript: its BCR::ABL1 is not on the IS, so ELN 2020's BCR::ABL1-only
    # landmarks cannot be judged and marrow cytogenetics is recommended instead.
    a = assess(examples["P12"])
    ms = {m.month: m.status for m in a.milestones}
    assert ms[3] == ms[6] == ms[12] == MilestoneStatus.NOT_EVALUABLE
    assert [str(r.action) for r in a.recommendations] == ["marrow_cytogenetics"]
    # Not on the IS: no MR level is assigned to any of its PCRs (issue 15), and explain
    # says why for each one.
    assert all(t.molecular is None for t in a.timepoints)
    assert a.current.best_molecular is None
    pcr_notes = [e for t in a.timepoints for e in t.evidence
                 if e.rule == "ELN2020.monitoring.atypical_transcript"]
    assert pcr_notes and all("not on the International Scale" in e.basis for e in pcr_notes)
    # Under ELN 2013 the 6-month karyotype (12 metaphases) is inadequate too: not evaluable.
    a13 = assess(examples["P12"], options=dataclasses.replace(AssessOptions(),
                                                              guideline=Guideline.ELN2013))
    assert {m.month: m.status for m in a13.milestones}[6] == MilestoneStatus.NOT_EVALUABLE
