"""When a mutation test is due (clinical-rules-2 section 4): on a warning with a rise of
BCR::ABL1 of at least 1 log (latest >= 10 x the lowest value on the drug) and loss of MMR (latest
> 0.1% IS after a result <= 0.1%). Worked by hand from the rule's wording."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cmltrack.domain.assess import assess
from cmltrack.domain.enums import Action, Guideline
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord

RULE = "MUTATION.testing.rise_with_loss_of_mmr"


def _record(values: list[tuple[str, float | None]], extra: list[dict[str, Any]] | None = None,
            transcript: str = "e14a2") -> PatientRecord:
    obs: list[dict[str, Any]] = [
        {"date": d, "kind": "pcr", "bcr_abl1_is": v} if v is not None
        else {"date": d, "kind": "pcr", "detected": False, "control_gene": "ABL1",
              "control_copies": 50000}
        for d, v in values]
    return PatientRecord.model_validate({
        "id": "M", "diagnosis": {"date": "2019-12-15", "phase": "chronic",
                                 "transcript": transcript},
        "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-01"}],
        "observations": obs + (extra or [])})


BASE = [("2020-04-01", 5.0), ("2020-07-01", 0.5), ("2021-01-01", 0.05)]


def _mutation_recs(record: PatientRecord, guideline: Guideline = Guideline.ELN2020) -> list[Any]:
    a = assess(record, options=AssessOptions(guideline=guideline))
    assert a.current.status is not None
    return [r for r in a.recommendations if r.action == Action.MUTATION_ANALYSIS]


@pytest.mark.parametrize(("latest", "due"), [
    (0.5, True),  # 0.5 = 10 x 0.05: a rise of 1 log; > 0.1 after 0.05 <= 0.1: loss of MMR
    (0.6, True),
    (0.49, False),  # < 10 x 0.05: a warning, but no 1-log rise
])
def test_rise_of_one_log_with_loss_of_mmr(latest: float, due: bool) -> None:
    rec = _record([*BASE, ("2021-07-01", latest)])
    a = assess(rec)
    assert str(a.current.status) == "warning"
    recs = _mutation_recs(rec)
    assert [r.rule for r in recs] == ([RULE] if due else [])
    if due:
        assert f"{latest:g}% IS" in recs[0].because and "0.05%" in recs[0].because


def test_undetected_counts_as_mmr_not_as_the_lowest_value() -> None:
    # lowest detected 0.08 -> 1 log is 0.8; 0.7 is a warning but no rise; 0.8 is
    rows = [("2020-04-01", 5.0), ("2020-07-01", 0.08), ("2021-01-01", None)]
    assert _mutation_recs(_record([*rows, ("2021-07-01", 0.7)])) == []
    assert [r.rule for r in _mutation_recs(_record([*rows, ("2021-07-01", 0.8)]))] == [RULE]


def test_a_mutation_test_after_the_rise_answers_it() -> None:
    done = {"date": "2021-07-20", "kind": "mutation", "mutations": []}
    rec = _record([*BASE, ("2021-07-01", 0.6)], extra=[done])
    assert _mutation_recs(rec) == []


def test_eln2013_warning_already_asks_for_it_once() -> None:
    rec = _record([*BASE, ("2021-07-01", 0.6)])
    recs = _mutation_recs(rec, Guideline.ELN2013)
    assert len(recs) == 1 and recs[0].rule != RULE


def test_atypical_transcript_is_not_judged() -> None:
    rec = _record([*BASE, ("2021-07-01", 0.6)], transcript="e1a2")
    assert all(r.rule != RULE for r in assess(rec).recommendations)


def test_as_of_restricts_the_values() -> None:
    rec = _record([*BASE, ("2021-07-01", 0.6)])
    early = assess(rec, as_of=dt.date(2021, 6, 30))
    assert all(r.rule != RULE for r in early.recommendations)


def test_p11_after_blast_phase_stands_as_failure_not_the_baseline_warning() -> None:
    # Bundled P11: blast phase on nilotinib on 2018-06-18 (blasts 42% blood, 55% marrow), then
    # ponatinib from 2018-06-22. On 2018-07-30 blood blasts are 12% (below every BP threshold):
    # the phase persists and progression is failure at any time, so the standing is failure
    # (ELN 2020), not the new line's baseline ELTS warning; the switch already happened, so only
    # the transplant evaluation (blast phase) and the label's hold stand.
    from importlib import resources

    from cmltrack.io import load_records

    path = resources.files("cmltrack.examples") / "patients.jsonl"
    with resources.as_file(path) as p:
        p11 = next(r for r in load_records(p) if r.id == "P11")
    for day in (dt.date(2018, 7, 18), dt.date(2018, 7, 30)):
        a = assess(p11, as_of=day)
        assert str(a.current.status) == "failure" and str(a.current.phase) == "blast"
        actions = [str(r.action) for r in a.recommendations]
        assert "increase_monitoring" not in actions and "switch_tki" not in actions
        assert "hsct_evaluation" in actions
        assert any("progression on therapy (2018-06-18)" in line for line in a.trail)
