"""assess_eln: invariants, events and their dating, standing status, recommendations, trail.

Expected values are derived by hand from clinical-rules.md sections 5, 6, 12 and 14; the
per-cell boundary cases live in tests/cases/eln20xx.yaml (test_conformance.py).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.domain.enums import (
    STATUS_SEVERITY,
    Action,
    CytogeneticResponse,
    Guideline,
    MilestoneStatus,
)
from cmltrack.domain.guidelines import GuidelineResult, assess_eln
from cmltrack.domain.options import AssessOptions

# The history builder lives beside the tests (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from eln_history import START, build_history, day_of

S = MilestoneStatus


def run(
    spec: dict[str, Any], edition: Guideline = Guideline.ELN2020, **opts: Any
) -> GuidelineResult:
    record, tps, as_of = build_history(spec)
    return assess_eln(record, tps, options=AssessOptions(guideline=edition, **opts), as_of=as_of)


def milestone(result: GuidelineResult, month: int) -> MilestoneStatus:
    return next(m.status for m in result.milestones if m.month == month)


def events(result: GuidelineResult, kind: str) -> list[dt.date]:
    return [e.date for e in result.events if e.kind == kind]


# ------------------------------------------------------------------ invariants (hypothesis)

_PCR_LANDMARKS = [
    (Guideline.ELN2020, 3), (Guideline.ELN2020, 6), (Guideline.ELN2020, 12),
    (Guideline.ELN2013, 3), (Guideline.ELN2013, 6), (Guideline.ELN2013, 12),
    (Guideline.ELN2006, 18), (Guideline.ELN2009, 18),
]
_PCT = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(case=st.sampled_from(_PCR_LANDMARKS), a=_PCT, b=_PCT)
def test_worse_bcr_abl1_never_gives_a_better_landmark(
    case: tuple[Guideline, int], a: float, b: float
) -> None:
    edition, month = case
    lo, hi = sorted((a, b))
    extra = {"ph": 0} if edition in (Guideline.ELN2006, Guideline.ELN2009) else {}
    got = [milestone(run({"history": [{"month": month, "pcr": v, **extra}]}, edition), month)
           for v in (lo, hi)]
    assert all(s in STATUS_SEVERITY for s in got)  # every value falls in a judged band
    assert STATUS_SEVERITY[got[0]] <= STATUS_SEVERITY[got[1]]


@settings(max_examples=60, deadline=None)
@given(edition=st.sampled_from(list(Guideline)), month=st.sampled_from([3, 6, 12]),
       a=_PCT, b=_PCT)
def test_higher_ph_never_gives_a_better_landmark(
    edition: Guideline, month: int, a: float, b: float
) -> None:
    if edition is Guideline.ELN2020:
        return  # ELN 2020 landmarks judge BCR::ABL1 only
    lo, hi = sorted((a, b))
    extra: dict[str, Any] = {"hem": "CHR"}
    if month == 12:
        extra["pcr"] = 0.05
    got = [milestone(run({"history": [{"month": month, "ph": v, **extra}]}, edition), month)
           for v in (lo, hi)]
    assert all(s in STATUS_SEVERITY for s in got)
    assert STATUS_SEVERITY[got[0]] <= STATUS_SEVERITY[got[1]]


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(min_value=0.0, max_value=50.0, allow_nan=False),
                       min_size=1, max_size=12),
       edition=st.sampled_from(list(Guideline)))
def test_events_and_trail_are_in_date_order(values: list[float], edition: Guideline) -> None:
    history = [{"month": 2 + 2 * i, "pcr": v, "ph": min(v * 5, 100.0),
                "hem": "CHR" if v < 20 else "PHR"} for i, v in enumerate(values)]
    result = run({"history": history}, edition)
    dates = [e.date for e in result.events]
    assert dates == sorted(dates)
    trail_dates = [line[:10] for line in result.trail]
    assert trail_dates == sorted(trail_dates)
    assert result.trail[-1].split(": ")[1].startswith(f"standing {edition.value} status")


# ------------------------------------------------------------------ loss of MMR by edition

_MMR_HISTORY = {"history": [
    {"month": 18, "pcr": 0.05, "ph": 0},
    {"month": 21, "pcr": 0.5},
    {"month": 24, "pcr": 0.3},
    {"month": 27, "pcr": 1.2},
]}


@pytest.mark.parametrize(
    ("edition", "month"),
    [
        # ELN 2020: one PCR > 0.1% after MMR.
        (Guideline.ELN2020, 21),
        # ELN 2013: two consecutive > 0.1%, one >= 1%: 0.3 then 1.2 (0.5 and 0.3 have no 1%).
        (Guideline.ELN2013, 27),
        # ELN 2006/2009 (cmltrack choice): two consecutive > 0.1%: 0.5 then 0.3.
        (Guideline.ELN2009, 24),
        (Guideline.ELN2006, 24),
    ],
)
def test_loss_of_mmr_confirmation_by_edition(edition: Guideline, month: int) -> None:
    result = run(_MMR_HISTORY, edition)
    assert events(result, "loss_of_mmr") == [day_of({"month": month})]


def test_loss_of_mmr_basis_names_the_last_mmr_result() -> None:
    result = run(_MMR_HISTORY)
    ev = next(e for e in result.events if e.kind == "loss_of_mmr")
    assert ev.basis == f"BCR::ABL1 0.50% IS after MMR (0.05% on {day_of({'month': 18})})"


# ------------------------------------------------------------------ Kantarjian 2003 events


def test_hematologic_resistance_dated_by_the_3_month_count() -> None:
    result = run({"history": [{"month": 1, "hem": "none"}, {"month": 3, "hem": "PHR"},
                              {"month": 4, "hem": "CHR"}]})
    assert events(result, "hematologic_resistance") == [day_of({"month": 3})]


def test_no_hematologic_resistance_once_chr_was_reached() -> None:
    result = run({"history": [{"month": 2.5, "hem": "CHR"}, {"month": 3, "hem": "CHR"},
                              {"month": 6, "hem": "PHR"}]})
    assert events(result, "hematologic_resistance") == []


def test_hematologic_resistance_uses_a_later_count_when_the_window_had_none() -> None:
    result = run({"history": [{"month": 1, "hem": "CHR"}, {"month": 5, "hem": "PHR"}]})
    assert events(result, "hematologic_resistance") == []  # CHR reached at 1 month
    result = run({"history": [{"month": 1, "hem": "none"}, {"month": 5, "hem": "PHR"}]})
    assert events(result, "hematologic_resistance") == [day_of({"month": 5})]


@pytest.mark.parametrize(("ph", "resistant"), [(35, True), (34, False)])
def test_cytogenetic_resistance_uses_mdacc_mcyr(ph: float, resistant: bool) -> None:
    # Kantarjian 2003: MCyR = "Ph+ cells, fewer than 35%": Ph+ 35% at 12 months is resistance,
    # although ELN counts 35% as PCyR (section 13 item 1).
    result = run({"history": [{"month": 6, "ph": 80}, {"month": 12, "ph": ph}]})
    assert events(result, "cytogenetic_resistance") == (
        [day_of({"month": 12})] if resistant else []
    )


def test_cytogenetic_relapse_resets_after_a_single_high_result() -> None:
    # Nadir 5%; 40% (one high), 10% (not high: run broken), 40% and 50% -> relapse at 50%.
    result = run({"history": [{"month": m, "ph": p} for m, p in
                              [(6, 5), (9, 40), (12, 10), (15, 40), (18, 50)]]})
    assert events(result, "cytogenetic_relapse") == [day_of({"month": 18})]


def test_loss_of_mcyr_and_ccyr() -> None:
    result = run({"history": [{"month": m, "ph": p} for m, p in
                              [(6, 0), (9, 20), (12, 40), (15, 50)]]})
    # CCyR lost on the second result without it (20% then 40%): month 12;
    # MCyR (<= 35%, ELN) lost on 40% then 50%: month 15.
    assert events(result, "loss_of_ccyr") == [day_of({"month": 12})]
    assert events(result, "loss_of_mcyr") == [day_of({"month": 15})]


def test_progression_from_phase_and_report_counts_once_per_phase() -> None:
    result = run({"history": [{"month": 3, "pcr": 5, "phase": "chronic"},
                              {"month": 6, "pcr": 20, "phase": "accelerated"},
                              {"month": 7, "pcr": 30, "phase": "accelerated"}],
                  "events": [{"month": 8, "phase": "blast"}], "as_of": {"month": 8}})
    assert events(result, "progression") == [day_of({"month": 6}), day_of({"month": 8})]


def test_presenting_phase_is_not_progression() -> None:
    result = run({"history": [{"day": -3, "phase": "accelerated"},
                              {"month": 3, "pcr": 5, "phase": "accelerated"}]})
    assert events(result, "progression") == []


def test_new_mutation_and_aca_only_when_new() -> None:
    result = run({"diagnosis": {"aca": ["+8"]},
                  "history": [{"month": 6, "mutations": ["M351T"]},
                              {"month": 9, "mutations": ["M351T", "T315I"]},
                              {"month": 12, "ph": 5, "aca": ["+8"]},
                              {"month": 15, "ph": 5, "aca": ["+8", "i(17q)"]}]})
    assert events(result, "new_mutation") == [day_of({"month": 6}), day_of({"month": 9})]
    assert events(result, "new_aca") == [day_of({"month": 15})]


# ------------------------------------------------------------------ status and recommendations


def test_no_tki_therapy_means_no_milestones_and_no_status() -> None:
    result = run({"therapy": [{"drug": "hydroxyurea", "dose": 1000, "month": 0}],
                  "history": [{"month": 3, "pcr": 5}]})
    assert result.milestones == () and result.status is None
    assert result.recommendations == ()


def test_every_recommendation_carries_rule_source_and_values() -> None:
    result = run({"history": [{"month": 6, "pcr": 15}]})
    assert {r.action for r in result.recommendations} == {
        Action.SWITCH_TKI, Action.MUTATION_ANALYSIS, Action.MARROW_CYTOGENETICS}
    for rec in result.recommendations:
        assert rec.rule == "ELN2020.6mo.failure"
        assert "Hochhaus" in rec.source
        assert "15.00% IS > 10%" in rec.because


def test_failure_before_a_dose_change_no_longer_recommends_a_switch() -> None:
    # 6-month failure, dose raised at 7 months; as of 8 months the latest landmark is still the
    # 6-month failure (section 14 standing status), but its recommendations no longer stand.
    result = run({"therapy": [{"drug": "imatinib", "dose": 400, "month": 0, "end_month": 7},
                              {"drug": "imatinib", "dose": 600, "month": 7}],
                  "history": [{"month": 6, "pcr": 15}], "as_of": {"month": 8}})
    assert result.status is S.FAILURE
    assert Action.SWITCH_TKI not in {r.action for r in result.recommendations}
    assert any("no longer stand" in line for line in result.trail)


def test_eln2020_without_any_pcr_asks_for_marrow_cytogenetics() -> None:
    result = run({"history": [{"month": 3, "hem": "CHR"}, {"month": 5, "hem": "CHR"}]})
    assert milestone(result, 3) is S.NOT_EVALUABLE
    assert [r.action for r in result.recommendations] == [Action.MARROW_CYTOGENETICS]


def test_timepoints_after_as_of_are_ignored() -> None:
    record, tps, _ = build_history({"history": [{"month": 3, "pcr": 5}, {"month": 6, "pcr": 20}]})
    as_of = day_of({"month": 4})
    result = assess_eln(record, tps, options=AssessOptions(), as_of=as_of)
    assert milestone(result, 3) is S.OPTIMAL
    assert milestone(result, 6) is S.PENDING
    assert result.status is S.OPTIMAL


def test_second_line_milestone_months_count_from_the_new_drug() -> None:
    result = run({"therapy": [{"drug": "imatinib", "dose": 400, "month": 0, "end_month": 6,
                               "reason_end": "intolerance"},
                              {"drug": "nilotinib", "dose": 600, "month": 6}],
                  "history": [{"month": 3, "pcr": 30}, {"month": 12, "pcr": 0.5}]})
    # 12 months of therapy = 6 months of nilotinib: the 6-month landmark (<= 1%: optimal).
    assert milestone(result, 6) is S.OPTIMAL
    assert milestone(result, 3) is S.NOT_EVALUABLE
    assert result.milestones[-1].date > START if result.milestones[-1].date else True


def test_fish_ccyr_counts_as_ph_zero_at_12_months() -> None:
    # FISH 0.5% positive nuclei (< 1% of >= 200) is CCyR (section 14): ELN 2013 12 months
    # "Ph+ >0" failure must not fire; BCR::ABL1 0.05% makes the landmark optimal.
    record, tps, as_of = build_history({"history": [{"month": 12, "pcr": 0.05}]})
    fish = tps[0]._replace(cytogenetic=CytogeneticResponse.CCYR, ph_pct=0.5, fish_based=True)
    result = assess_eln(record, [fish], options=AssessOptions(guideline=Guideline.ELN2013),
                        as_of=as_of)
    assert milestone(result, 12) is S.OPTIMAL
    partial = fish._replace(cytogenetic=CytogeneticResponse.PCYR, ph_pct=3.0)
    result = assess_eln(record, [partial], options=AssessOptions(guideline=Guideline.ELN2013),
                        as_of=as_of)
    assert milestone(result, 12) is S.FAILURE


def test_inadequate_cytogenetics_is_no_result() -> None:
    result = run({"history": [{"month": 6, "ph": 50, "cyto": "inadequate"},
                              {"month": 9, "hem": "CHR"}]}, Guideline.ELN2009)
    assert milestone(result, 6) is S.NOT_EVALUABLE


@pytest.mark.parametrize(("dose", "target"), [(400, 800.0), (300, 600.0), (800, None)])
def test_eln2006_failure_on_imatinib_offers_escalation(dose: int, target: float | None) -> None:
    result = run({"therapy": [{"drug": "imatinib", "dose": dose, "month": 0}],
                  "history": [{"month": 12, "ph": 50}]}, Guideline.ELN2006)
    assert result.status is S.FAILURE
    doses = [r.dose_mg_per_day for r in result.recommendations
             if r.action is Action.ESCALATE_DOSE]
    assert doses == ([] if target is None else [target])


def test_aca_of_a_pretherapy_karyotype_is_the_baseline_warning_not_a_new_aca() -> None:
    from cmltrack.domain.assess import assess
    from cmltrack.domain.records import PatientRecord

    # No ACA in the diagnosis record, but the diagnostic karyotype of 2020-01-05 (before
    # imatinib on 2020-01-10) shows +8, on ELN 2020's high-risk list: a baseline warning
    # ("high-risk ACA" at baseline), not a new ACA on therapy (section 14: "at baseline it is a
    # warning"). 5% at 3 months (<= 10%) is optimal.
    rec = PatientRecord.model_validate({
        "id": "PRE",
        "diagnosis": {"date": "2020-01-02", "phase": "chronic"},
        "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-10"}],
        "observations": [
            {"kind": "cytogenetics", "date": "2020-01-05", "ph_pos": 20, "metaphases": 20,
             "aca": ["+8"]},
            {"kind": "pcr", "date": "2020-04-10", "bcr_abl1_is": 5.0},
        ],
    })
    a = assess(rec)
    base = a.milestones[0]
    assert (base.month, base.status) == (0, S.WARNING)
    assert base.basis == "ACA at diagnosis: +8 (high-risk ACA)"
    assert not [e for e in a.events if e.kind in ("new_aca", "progression")]
    assert next(m.status for m in a.milestones if m.month == 3) is S.OPTIMAL


def test_a_loss_of_mmr_does_not_stand_on_the_next_drug() -> None:
    # ELN 2013: MMR at 12 months (0.05%), then 0.5% and 1.5%: confirmed loss of MMR at 18
    # months (two > 0.1%, one >= 1%), failure on imatinib. Switched to dasatinib at 19 months;
    # 0.8% at 21.2 months is 2.2 months on dasatinib, in the new line's 3-month window (2.0-4.5)
    # and <= 10%: optimal. The loss was the old drug's: it does not stand on dasatinib.
    result = run({
        "therapy": [{"drug": "imatinib", "dose": 400, "month": 0, "end_month": 19,
                     "reason_end": "resistance"},
                    {"drug": "dasatinib", "dose": 100, "month": 19}],
        "history": [{"month": 12, "pcr": 0.05, "ph": 0}, {"month": 15, "pcr": 0.5},
                    {"month": 18, "pcr": 1.5}, {"month": 21.2, "pcr": 0.8}],
    }, Guideline.ELN2013)
    assert milestone(result, 3) is S.OPTIMAL
    assert result.status is S.OPTIMAL
