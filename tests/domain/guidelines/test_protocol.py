"""Kantarjian 2003 protocol: the reviewable case table and the protocol's invariants."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.domain.enums import Action, EventKind, Phase
from cmltrack.domain.guidelines.protocol import (
    assess_kantarjian2003,
    dose_period_start,
    recommend_kantarjian2003,
)
from cmltrack.domain.records import PatientRecord
from cmltrack.domain.results import ClinicalEvent, Timepoint

CASES = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "cases" / "protocol_kantarjian2003.yaml").read_text(
        encoding="utf-8"
    )
)["cases"]
TRIGGERS = (
    EventKind.HEMATOLOGIC_RESISTANCE,
    EventKind.CYTOGENETIC_RESISTANCE,
    EventKind.HEMATOLOGIC_RELAPSE,
    EventKind.CYTOGENETIC_RELAPSE,
)


def _record(data: dict[str, Any]) -> PatientRecord:
    return PatientRecord.model_validate({"id": "K", **data})


def _events(items: list[dict[str, Any]]) -> list[ClinicalEvent]:
    return [ClinicalEvent(EventKind(e["kind"]), e["date"], e["basis"]) for e in items]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_protocol_case(case: dict[str, Any]) -> None:
    out = assess_kantarjian2003(
        _record(case["record"]), (), _events(case["events"]), as_of=case["as_of"]
    )
    if case["expect"] == "none":
        assert out.recommendations == ()
    else:
        (rec,) = out.recommendations
        d = rec.to_dict()
        assert {k: d[k] for k in case["expect"]} == case["expect"]
        assert d["drug"] == "imatinib"
        assert "10.1182/blood-2002-05-1451" in rec.source
        # because names the trigger's date and the dose change
        assert str(case["events"][0]["date"]) in rec.because and "->" in rec.because
    if "basis_contains" in case:
        assert any(case["basis_contains"] in line for line in out.basis), out.basis


def test_several_triggers_make_one_recommendation_led_by_the_earliest() -> None:
    record = _record({"therapy": [{"drug": "imatinib", "dose_mg_per_day": 400,
                                   "start": "2021-01-04"}]})
    events = [
        ClinicalEvent(EventKind.CYTOGENETIC_RESISTANCE, dt.date(2022, 1, 10), "Ph+ 60%"),
        ClinicalEvent(EventKind.HEMATOLOGIC_RESISTANCE, dt.date(2021, 4, 5), "WBC 12"),
    ]
    (rec,) = recommend_kantarjian2003(record, (), events, as_of=dt.date(2022, 2, 1))
    assert rec.rule == "KANTARJIAN2003.escalation.hematologic_resistance"
    assert "2021-04-05" in rec.because and "2022-01-10" in rec.because
    assert rec.because.endswith("800 mg/day (400 mg twice daily)")


@pytest.mark.parametrize(
    ("phase", "escalates"), [("chronic", True), ("accelerated", False), ("blast", False)]
)
def test_a_classified_advanced_phase_ends_the_cp_protocol(phase: str, escalates: bool) -> None:
    # CP at diagnosis; a day classified AP or BP on imatinib (blasts, basophils or a new ACA:
    # low platelets are not judged on therapy) is out of the chronic-phase protocol
    record = _record({"diagnosis": {"phase": "chronic"},
                      "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400,
                                   "start": "2021-01-04"}]})
    tps = [Timepoint(dt.date(2021, 11, 1), 10.0, phase=Phase(phase))]
    events = [ClinicalEvent(EventKind.CYTOGENETIC_RESISTANCE, dt.date(2022, 1, 10), "Ph+ 50%")]
    recs = recommend_kantarjian2003(record, tps, events, as_of=dt.date(2022, 1, 20))
    assert bool(recs) is escalates


def test_dose_period_start_merges_same_dose_rows_only() -> None:
    record = _record(
        {
            "therapy": [
                {"drug": "imatinib", "dose_mg_per_day": 300, "start": "2020-01-06",
                 "end": "2020-05-01", "reason_end": "dose_change"},
                {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-05-01",
                 "end": "2020-08-01", "reason_end": "toxicity"},
                {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-08-20"},
            ]
        }
    )
    assert dose_period_start(record, dt.date(2021, 1, 1)) == dt.date(2020, 5, 1)
    assert dose_period_start(record, dt.date(2020, 8, 10)) is None  # held: no TKI running


@settings(max_examples=40, deadline=None)
@given(
    dose=st.sampled_from([100, 200, 300, 400, 500, 600, 700, 800, 1000]),
    kinds=st.lists(st.sampled_from(TRIGGERS), min_size=1, max_size=4),
    offsets=st.lists(st.integers(min_value=0, max_value=300), min_size=4, max_size=4),
)
def test_escalation_only_from_300_or_400_and_never_above_800(
    dose: int, kinds: list[EventKind], offsets: list[int]
) -> None:
    start = dt.date(2021, 1, 4)
    record = _record({"therapy": [{"drug": "imatinib", "dose_mg_per_day": dose,
                                   "start": start.isoformat()}]})
    events = [
        ClinicalEvent(k, start + dt.timedelta(days=o), "x")
        for k, o in zip(kinds, offsets, strict=False)
    ]
    recs = recommend_kantarjian2003(record, (), events, as_of=dt.date(2022, 1, 1))
    # section 6: 400 -> 800, 300 -> 600, nothing else
    assert [(r.action, r.dose_mg_per_day) for r in recs] == (
        [(Action.ESCALATE_DOSE, {400: 800.0, 300: 600.0}[dose])] if dose in (300, 400) else []
    )
    # the order events arrive in does not matter
    assert recommend_kantarjian2003(record, (), events[::-1], as_of=dt.date(2022, 1, 1)) == recs


# --- Resistance carried over a dose reduction (session 2 QA finding) --------------------------
# Section 14: hematologic resistance is "no CHR in the blood count used for the 3-month landmark
# or any later one"; seed 004: "or to 600 mg daily if the dose had been reduced to 300 mg".

_NO_CHR = {"kind": "blood", "wbc": 12.0, "anc": 8.0, "platelets": 300, "blasts_pb": 0,
           "promyelocytes_pb": 0, "myelocytes_pb": 0, "metamyelocytes_pb": 0,
           "basophils_pb": 1, "spleen_cm": 0}
_CHR = {**_NO_CHR, "wbc": 6.0, "anc": 3.5}


def _reduced(later: dict[str, Any], therapy: list[dict[str, Any]] | None = None) -> Any:
    from cmltrack.domain.assess import assess
    from cmltrack.domain.options import AssessOptions

    record = _record({
        "diagnosis": {"date": "2019-12-20", "phase": "chronic", "wbc": 80, "platelets": 400},
        "therapy": therapy or [
            {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-01",
             "end": "2020-05-01", "reason_end": "toxicity"},
            {"drug": "imatinib", "dose_mg_per_day": 300, "start": "2020-05-01"},
        ],
        # 2020-04-01 is 91 days = 2.99 months: the 3-month count; WBC 12 >= 10, no CHR
        "observations": [{**_NO_CHR, "date": "2020-04-01"}, {**later, "date": "2020-06-01"}],
    })
    return assess(record, options=AssessOptions(protocol="kantarjian2003"))


def test_resistance_still_there_after_a_toxicity_reduction_escalates_300_to_600() -> None:
    a = _reduced(_NO_CHR)
    (rec,) = [r for r in a.recommendations if r.action == "escalate_dose"]
    assert rec.dose_mg_per_day == 600
    assert rec.rule == "KANTARJIAN2003.escalation.hematologic_resistance"
    assert "still without CHR on 2020-06-01" in rec.because
    assert "imatinib 300 mg/day since 2020-05-01 -> 600 mg/day" in rec.because


def test_chr_reached_after_the_reduction_carries_nothing_over() -> None:
    a = _reduced(_CHR)  # WBC 6 < 10, platelets 300 < 450, no immature cells, spleen 0: CHR
    assert not [r for r in a.recommendations if r.action == "escalate_dose"]


def test_no_carry_over_once_the_target_dose_was_tried() -> None:
    # 400 -> 800 on 2020-04-15 (after the trigger), back to 400 on 2020-05-15: 800 was tried
    therapy = [
        {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-01", "end": "2020-04-15",
         "reason_end": "resistance"},
        {"drug": "imatinib", "dose_mg_per_day": 800, "start": "2020-04-15", "end": "2020-05-15",
         "reason_end": "toxicity"},
        {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-05-15"},
    ]
    a = _reduced(_NO_CHR, therapy)
    assert not [r for r in a.recommendations if r.action == "escalate_dose"]
