"""WHO 2016 accelerated-phase criteria that must persist or appear on therapy (clinical-rules-2
section 7): two consecutive counts >= 4 weeks apart on a TKI for more than 3 months. Imatinib
starts 2020-01-01; 3 months are 91.3 days, so 2020-04-02 (day 92) is the first day past them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cmltrack.domain.assess import assess
from cmltrack.domain.enums import PhaseCriteria
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord

WHO = AssessOptions(phase_criteria=PhaseCriteria.WHO2016)


def _count(date: str, **values: Any) -> dict[str, Any]:
    base = {"wbc": 6.0, "platelets": 250.0, "blasts_pb": 0.0, "basophils_pb": 1.0}
    return {"date": date, "kind": "blood", **base, **values}


def _phase_on(obs: list[dict[str, Any]], day: str, options: AssessOptions = WHO) -> str:
    rec = PatientRecord.model_validate({
        "id": "W", "diagnosis": {"date": "2019-12-15", "phase": "chronic"},
        "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-01"}],
        "observations": obs})
    a = assess(rec, options=options, as_of=dt.date(2021, 1, 1))
    (tp,) = [t for t in a.timepoints if t.date == dt.date.fromisoformat(day)]
    return str(tp.phase)


@pytest.mark.parametrize(("first", "second", "wbc", "phase"), [
    ("2020-05-01", "2020-05-29", 12.0, "accelerated"),  # 28 days apart, both > 3 months
    ("2020-05-01", "2020-05-28", 12.0, "chronic"),  # 27 days
    ("2020-05-01", "2020-05-29", 10.0, "chronic"),  # 10 is not > 10
    ("2020-04-01", "2020-05-01", 12.0, "chronic"),  # day 91: not > 3 months on the TKI
    ("2020-04-02", "2020-05-01", 12.0, "accelerated"),  # day 92
])
def test_wbc_persistent_on_therapy(first: str, second: str, wbc: float, phase: str) -> None:
    obs = [_count(first, wbc=wbc), _count(second, wbc=wbc + 1)]
    assert _phase_on(obs, second) == phase


def test_wbc_rule_is_who2016_only() -> None:
    obs = [_count("2020-05-01", wbc=12.0), _count("2020-05-29", wbc=13.0)]
    assert _phase_on(obs, "2020-05-29", AssessOptions()) == "chronic"


@pytest.mark.parametrize(("values", "phase"), [
    ([1200.0, 1100.0], "accelerated"), ([1200.0, 1000.0], "chronic"), ([1200.0], "chronic")])
def test_thrombocytosis_must_persist(values: list[float], phase: str) -> None:
    days = ["2020-05-01", "2020-06-01"]
    obs = [_count(d, platelets=v) for d, v in zip(days, values, strict=False)]
    assert _phase_on(obs, days[len(values) - 1]) == phase


@pytest.mark.parametrize(("related", "phase"), [
    ((False, False), "accelerated"), ((False, True), "chronic"), ((False, None), "chronic")])
def test_low_platelets_only_when_marked_unrelated(related: tuple[bool | None, ...],
                                                  phase: str) -> None:
    days = ["2020-02-01", "2020-03-01"]  # on therapy; the TKI-duration rule is not theirs
    obs = [_count(d, platelets=80.0, related_to_therapy=r) for d, r in zip(days, related,
                                                                         strict=True)]
    assert _phase_on(obs, "2020-03-01") == phase


@pytest.mark.parametrize(("sizes", "phase"), [((3.0, 3.0), "accelerated"), ((3.0, 2.0), "chronic"),
                                              ((0.0, 4.0), "chronic")])
def test_spleen_persistent_or_increasing(sizes: tuple[float, float], phase: str) -> None:
    obs = [_count("2020-05-01", spleen_cm=sizes[0]), _count("2020-06-01", spleen_cm=sizes[1])]
    assert _phase_on(obs, "2020-06-01") == phase


def test_two_mutations_during_therapy_on_the_next_count() -> None:
    obs = [{"date": "2020-06-01", "kind": "mutation", "mutations": ["E255K"]},
           _count("2020-06-10"),
           {"date": "2020-07-01", "kind": "mutation", "mutations": ["E255K", "T315I"]},
           _count("2020-07-05")]
    assert _phase_on(obs, "2020-06-10") == "chronic"  # one mutation
    assert _phase_on(obs, "2020-07-05") == "accelerated"  # E255K, T315I: two


def test_the_basis_names_the_series() -> None:
    rec = PatientRecord.model_validate({
        "id": "W", "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400,
                                "start": "2020-01-01"}],
        "observations": [_count("2020-05-01", wbc=12.0), _count("2020-05-29", wbc=13.0)]})
    a = assess(rec, options=WHO)
    phase = next(e for e in a.timepoints[-1].evidence if e.rule == "WHO2016.phase")
    assert "WBC 12 on 2020-05-01 and 13 on 2020-05-29 > 10" in str(phase.basis)
