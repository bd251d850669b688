"""Ponatinib's response-based dosing (clinical-rules-2 section 2d), values from the section."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cmltrack.domain.assess import assess
from cmltrack.domain.enums import Action
from cmltrack.domain.records import PatientRecord

D = dt.date
EARLIER = [
    {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2019-01-07", "end": "2020-01-06",
     "reason_end": "resistance"},
    {"drug": "dasatinib", "dose_mg_per_day": 100, "start": "2020-01-06", "end": "2021-01-04",
     "reason_end": "resistance"},
]


def _rec(therapy: list[dict[str, Any]], obs: list[dict[str, Any]], phase: str = "chronic") -> Any:
    return PatientRecord.model_validate({
        "id": "P", "diagnosis": {"date": "2018-12-20", "phase": phase, "transcript": "e14a2"},
        "therapy": [*EARLIER, *therapy], "observations": obs})


def _pcr(day: str, v: float) -> dict[str, Any]:
    return {"date": day, "kind": "pcr", "bcr_abl1_is": v, "control_gene": "ABL1",
            "control_copies": 50000}


def _doses(a: Any) -> list[tuple[str, float | None, str]]:
    return [(str(r.action), r.dose_mg_per_day, r.rule) for r in a.recommendations
            if r.rule.startswith("LABEL.ponatinib")]


@pytest.mark.parametrize(("value", "expected"), [
    (1.0, [("reduce_dose", 15.0, "LABEL.ponatinib.response_reduction")]),  # <= 1%
    (1.01, []),
])
def test_reduce_to_15_at_or_below_1_percent(value: float, expected: list[Any]) -> None:
    rec = _rec([{"drug": "ponatinib", "dose_mg_per_day": 45, "start": "2021-01-04"}],
               [_pcr("2021-07-05", value)])
    assert _doses(assess(rec, as_of=D(2021, 7, 5))) == expected


def test_loss_of_response_on_15_escalates_to_the_dose_before() -> None:
    therapy = [{"drug": "ponatinib", "dose_mg_per_day": 45, "start": "2021-01-04",
                "end": "2021-07-10", "reason_end": "dose_change"},
               {"drug": "ponatinib", "dose_mg_per_day": 15, "start": "2021-07-10"}]
    rec = _rec(therapy, [_pcr("2021-07-05", 0.8), _pcr("2022-01-10", 1.5)])
    assert _doses(assess(rec, as_of=D(2022, 1, 10))) == [
        ("escalate_dose", 45.0, "LABEL.ponatinib.response_loss")]


@pytest.mark.parametrize(("ph", "expected"), [
    (35.0, [("reduce_dose", None, "LABEL.ponatinib.ap_mcyr")]), (36.0, [])])
def test_accelerated_phase_mcyr_consider_reducing(ph: float, expected: list[Any]) -> None:
    rec = _rec([{"drug": "ponatinib", "dose_mg_per_day": 45, "start": "2021-01-04"}],
               [{"date": "2021-07-05", "kind": "cytogenetics", "ph_pct": ph}],
               phase="accelerated")
    assert _doses(assess(rec, as_of=D(2021, 7, 5))) == expected
    if expected:
        assert Action.REDUCE_DOSE in {r.action for r in assess(rec, as_of=D(2021, 7, 5))
                                      .recommendations}
