"""ELN 2020 TFR: the reviewable case table, calendar arithmetic and invariants."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.domain.dates import add_months, add_years
from cmltrack.domain.enums import Action, MolecularResponse, Phase
from cmltrack.domain.guidelines.tfr import assess_tfr, next_pcr_due
from cmltrack.domain.records import PatientRecord
from cmltrack.domain.results import Timepoint

CASES = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "cases" / "tfr.yaml").read_text(encoding="utf-8")
)["cases"]


def _pcr(day: dt.date, level: str, value: float | None) -> Timepoint:
    return Timepoint(day, None, molecular=MolecularResponse(level), bcr_abl1_is=value)


def _timepoints(case: dict[str, Any]) -> list[Timepoint]:
    tps = [_pcr(d, lv, v) for d, lv, v in case.get("pcr", [])]
    for s in case.get("series", []):
        tps += [
            _pcr(add_months(s["from"], i * s["every_months"]), s["molecular"], s["bcr_abl1_is"])
            for i in range(s["count"])
        ]
    tps += [Timepoint(d, None, phase=Phase(p)) for d, p in case.get("phases", [])]
    return sorted(tps, key=lambda t: t.date)


def _assess(case: dict[str, Any], as_of: dt.date | None = None) -> Any:
    record = PatientRecord.model_validate({"id": "T", **case["record"]})
    tps = [t for t in _timepoints(case) if t.date <= (as_of or case["as_of"])]
    return assess_tfr(
        record, tps, as_of=as_of or case["as_of"], prior_failure=case.get("prior_failure", False)
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_tfr_case(case: dict[str, Any]) -> None:
    out = _assess(case)
    exp = case["expect"]
    for key in ("minimal_met", "optimal_met", "on_tfr"):
        if key in exp:
            assert getattr(out, key) is exp[key], (key, out.basis)
    got = [r.to_dict() for r in out.recommendations]
    assert [{k: g[k] for k in e} for g, e in zip(got, exp["recs"], strict=False)] == exp["recs"]
    assert len(got) == len(exp["recs"]), got
    for text in exp.get("because", []):
        assert any(text in r.because for r in out.recommendations), (text, got)
    for text in exp.get("basis", []):
        assert any(text in line for line in out.basis), (text, out.basis)
    for r in out.recommendations:
        assert r.source and r.rule.startswith("ELN2020.TFR")


def test_every_criterion_is_explained() -> None:
    out = _assess(CASES[0])
    rules = [line.split(":")[0] for line in out.basis]
    assert rules == [
        "ELN2020.TFR.minimal.chronic_phase", "ELN2020.TFR.minimal.line",
        "ELN2020.TFR.minimal.transcript", "ELN2020.TFR.minimal.tki_duration",
        "ELN2020.TFR.minimal.dmr_duration", "ELN2020.TFR.minimal.no_failure",
        "ELN2020.TFR.optimal.tki_duration", "ELN2020.TFR.optimal.dmr_duration",
    ]


def test_missing_phase_or_pcr_is_not_evaluable() -> None:
    record = PatientRecord.model_validate(
        {"id": "T", "diagnosis": {"transcript": "e13a2"},
         "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2012-01-02"}]}
    )
    out = assess_tfr(record, [], as_of=dt.date(2021, 1, 4), prior_failure=False)
    assert out.minimal_met is None and out.recommendations == ()
    assert any("phase at diagnosis not recorded" in b for b in out.basis)
    assert any("no PCR result" in b for b in out.basis)


def test_no_consider_tfr_without_a_running_tki() -> None:
    case = CASES[0]
    data = dict(case["record"])
    data["therapy"] = [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2015-01-05",
                        "end": "2021-04-01", "reason_end": "toxicity"}]
    record = PatientRecord.model_validate({"id": "T", **data})
    out = assess_tfr(record, _timepoints(case), as_of=case["as_of"], prior_failure=False)
    assert out.recommendations == ()


def test_calendar_arithmetic_edges() -> None:
    # by hand: month ends clamp; 29 February's anniversary in a common year is 1 March
    assert add_months(dt.date(2021, 1, 31), 1) == dt.date(2021, 2, 28)
    assert add_months(dt.date(2020, 11, 30), 3) == dt.date(2021, 2, 28)
    assert add_years(dt.date(2020, 2, 29), 1) == dt.date(2021, 3, 1)
    assert add_years(dt.date(2020, 2, 29), 4) == dt.date(2024, 2, 29)


def test_schedule_by_hand() -> None:
    stop = dt.date(2021, 4, 10)
    # months 1-6 monthly, 7-12 every 2 months, then every 3 months
    assert next_pcr_due(stop, None) == dt.date(2021, 5, 10)
    assert next_pcr_due(stop, dt.date(2021, 10, 9)) == dt.date(2021, 11, 9)
    assert next_pcr_due(stop, dt.date(2021, 10, 10)) == dt.date(2021, 12, 10)
    assert next_pcr_due(stop, dt.date(2022, 4, 9)) == dt.date(2022, 6, 9)
    assert next_pcr_due(stop, dt.date(2022, 4, 10)) == dt.date(2022, 7, 10)


@settings(max_examples=60, deadline=None)
@given(
    stop=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 1, 1)),
    days=st.integers(min_value=0, max_value=2000),
)
def test_schedule_intervals_never_shrink(stop: dt.date, days: int) -> None:
    last = stop + dt.timedelta(days=days)
    later = last + dt.timedelta(days=1)
    assert next_pcr_due(stop, last) > last
    # a later PCR never brings the next one forward
    assert next_pcr_due(stop, later) >= next_pcr_due(stop, last)


@settings(max_examples=40, deadline=None)
@given(extra=st.integers(min_value=-400, max_value=400))
def test_dmr_criterion_is_monotone_in_the_runs_length(extra: int) -> None:
    # MR4 from 2019-01-07, quarterly; one more MR4 result `extra` days around the 2-y mark
    start = dt.date(2019, 1, 7)
    last = add_years(start, 2) + dt.timedelta(days=extra)
    record = PatientRecord.model_validate(
        {"id": "T", "diagnosis": {"phase": "chronic", "transcript": "e13a2"},
         "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2012-01-02"}]}
    )
    tps = [_pcr(add_months(start, 3 * i), "MR4", 0.008) for i in range(8)]
    tps = sorted([t for t in tps if t.date < last] + [_pcr(last, "MR4", 0.008)],
                 key=lambda t: t.date)
    out = assess_tfr(record, tps, as_of=last, prior_failure=False)
    assert out.minimal_met is (extra > 0)
    assert (Action.CONSIDER_TFR in [r.action for r in out.recommendations]) is (extra > 0)


def test_no_after_restart_schedule_without_a_recorded_loss() -> None:
    # Stop 2021-04-10, every post-stop PCR in MR4, imatinib restarted 2021-07-01 anyway (no
    # loss of MMR recorded): the after-restart rule presupposes the loss, so it gives nothing.
    case = {
        "as_of": dt.date(2021, 9, 1),
        "record": {
            "diagnosis": {"phase": "chronic", "transcript": "e14a2"},
            "therapy": [
                {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2015-01-05",
                 "end": "2021-04-10", "reason_end": "tfr"},
                {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2021-07-01"},
            ],
            "events": [{"date": "2021-04-10", "kind": "tki_stop"}],
        },
        "pcr": [[dt.date(2021, 5, 10), "MR4", 0.008], [dt.date(2021, 6, 10), "MR4", 0.008]],
    }
    out = _assess(case)
    assert not any(line.startswith("ELN2020.TFR.after_restart") for line in out.basis)
    assert all(r.rule != "ELN2020.TFR.after_restart" for r in out.recommendations)


def _failed_then_escalated() -> PatientRecord:
    # Imatinib 400 from 2015-01-01: 5% at 3 months (<= 10%, optimal), 0.5% at 6 (<= 1%),
    # 0.05% at 12 (<= 0.1%); then 2% on 2016-07-01, after the 12-month landmark: ELN 2020 any
    # time "> 1%" is failure. Escalated to 800 mg on 2016-08-01 (a dose change, same line);
    # MR4 (0.008%) every 3 months from 2017-01-01 to 2022-10-01.
    pcrs = [("2015-04-01", 5), ("2015-07-01", 0.5), ("2016-01-01", 0.05), ("2016-07-01", 2)]
    pcrs += [(add_months(dt.date(2017, 1, 1), 3 * i).isoformat(), 0.008) for i in range(24)]
    return _pcr_record("F1", "2014-12-15", [
        {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2015-01-01",
         "end": "2016-08-01", "reason_end": "resistance"},
        {"drug": "imatinib", "dose_mg_per_day": 800, "start": "2016-08-01"},
    ], pcrs)


def _pcr_record(
    pid: str, diagnosed: str, therapy: list[dict[str, Any]], pcrs: list[tuple[str, float]]
) -> PatientRecord:
    """A chronic-phase e14a2 record with ``therapy`` and PCR results (date, % IS)."""
    return PatientRecord.model_validate({
        "id": pid,
        "diagnosis": {"date": diagnosed, "phase": "chronic", "transcript": "e14a2"},
        "therapy": therapy,
        "observations": [
            {"kind": "pcr", "date": d, "bcr_abl1_is": v, "control_gene": "ABL1",
             "control_copies": 50000} for d, v in pcrs
        ],
    })


def test_a_failure_before_a_dose_change_still_bars_tfr() -> None:
    from cmltrack.domain.assess import assess

    a = assess(_failed_then_escalated())
    # the failure stood until the dose changed; the patient is optimal now ...
    assert a.current.status == "optimal"
    # ... but ELN 2020 TFR needs "no prior treatment failure": no consider_tfr, and the basis
    # names the failure (every other minimal criterion is met: imatinib 7.75 y > 5; MR4 from
    # 2017-01-01 to 2022-10-01, 5.75 y > 2)
    assert all(r.action != "consider_tfr" for r in a.recommendations)
    assert any(
        "ELN2020.TFR.minimal.no_failure: prior treatment failure (failure on 2016-07-01: "
        "BCR::ABL1 2.00% IS > 1%" in line for line in a.trail
    )


def test_only_failures_up_to_the_day_judged_are_prior() -> None:
    case = {
        "as_of": dt.date(2021, 4, 10),
        "record": {"diagnosis": {"phase": "chronic", "transcript": "e14a2"},
                   "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400,
                                "start": "2015-01-05"}]},
        "series": [{"from": dt.date(2019, 1, 7), "every_months": 3, "count": 10,
                    "molecular": "MR4", "bcr_abl1_is": 0.008}],
    }
    record = PatientRecord.model_validate({"id": "T", **case["record"]})
    tps = _timepoints(case)
    later = [(dt.date(2021, 4, 11), lambda: "later")]
    out = assess_tfr(record, tps, as_of=dt.date(2021, 4, 10), prior_failure=later)
    assert out.minimal_met is True  # a failure dated after the day judged is not prior
    on_the_day = [(dt.date(2021, 4, 10), lambda: "12-month failure on 2021-04-10")]
    out = assess_tfr(record, tps, as_of=dt.date(2021, 4, 10), prior_failure=on_the_day)
    assert out.minimal_met is False
    assert any("prior treatment failure (12-month failure on 2021-04-10)" in b for b in out.basis)


def test_a_first_line_failure_before_a_switch_for_intolerance_bars_tfr() -> None:
    from cmltrack.domain.assess import assess

    # ELN 2020 3 months: 15% on 2014-04-07 (> 10%, warning), confirmed by 12% on 2014-05-08
    # (a later PCR > 10% within 3 months: failure). Imatinib stopped for intolerance on
    # 2014-06-07 (nilotinib: the switch itself does not bar TFR), then MR4.5 (0.002%) every 3
    # months from 2015-01-07 to 2019-10-07 (4.75 y > 2; nilotinib 5.33 y > 4): every minimal
    # criterion but "no prior treatment failure" is met.
    pcrs = [("2014-04-07", 15.0), ("2014-05-08", 12.0)]
    pcrs += [(add_months(dt.date(2015, 1, 7), 3 * i).isoformat(), 0.002) for i in range(20)]
    rec = _pcr_record("D1", "2014-01-02", [
        {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2014-01-06",
         "end": "2014-06-07", "reason_end": "intolerance"},
        {"drug": "nilotinib", "dose_mg_per_day": 600, "start": "2014-06-07"},
    ], pcrs)
    a = assess(rec)
    assert all(r.action != "consider_tfr" for r in a.recommendations)
    assert any(line.startswith("ELN2020.TFR.minimal.line") and line.endswith("(met)")
               for line in a.trail)
    assert any(
        "ELN2020.TFR.minimal.no_failure: prior treatment failure (3-month failure on "
        "2014-05-08" in line and "(on imatinib)" in line for line in a.trail
    )
