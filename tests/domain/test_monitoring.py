"""The monitoring schedule (``next_due``, clinical-rules-2 section 9).

Every expected date was counted BY HAND on the calendar from the section's intervals
(1 month = 30 days, 2 = 61, 3 = 91, 6 = 183), before the code ran; the counting is written
beside each case.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.domain.assess import assess
from cmltrack.domain.records import PatientRecord

D = dt.date


def _rec(**data: Any) -> PatientRecord:
    base: dict[str, Any] = {"id": "M", "diagnosis": {"date": "2020-12-20", "phase": "chronic",
                                                    "transcript": "e14a2"}}
    return PatientRecord.model_validate({**base, **data})


def _pcr(day: str, value: float | None) -> dict[str, Any]:
    if value is None:
        return {"date": day, "kind": "pcr", "detected": False, "control_gene": "ABL1",
                "control_copies": 100000}
    return {"date": day, "kind": "pcr", "bcr_abl1_is": value, "control_gene": "ABL1",
            "control_copies": 50000}


IMATINIB = [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2021-01-04"}]


def test_before_mmr_every_3_months_and_overdue_only_after_the_due_day() -> None:
    # Last PCR 2021-04-05 (1.2%, no MMR): + 91 days = Apr 5 + 25 (Apr 30) + 31 (May 31)
    # + 30 (Jun 30) + 5 = 2021-07-05.
    rec = _rec(therapy=IMATINIB, observations=[_pcr("2021-04-05", 1.2)])
    on_day = assess(rec, as_of=D(2021, 7, 5)).next_due
    assert on_day.due["pcr"] == D(2021, 7, 5) and on_day.overdue == ()
    late = assess(rec, as_of=D(2021, 7, 6)).next_due
    assert late.due["pcr"] == D(2021, 7, 5) and late.overdue == ("pcr",)
    assert late.rule["pcr"] == "MONITORING.on_tki.before_mmr"


@pytest.mark.parametrize(
    ("earlier", "latest", "due", "rule"),
    [
        # both <= 0.1% (0.1 exactly counts): MMR confirmed, 2022-01-10 + 183 = 2022-07-12
        # (Jan 31: 21, Feb 28: 49, Mar 31: 80, Apr 30: 110, May 31: 141, Jun 30: 171, +12)
        (0.05, 0.1, D(2022, 7, 12), "MONITORING.on_tki.mmr"),
        # latest 0.11% > 0.1%: not confirmed, 2022-01-10 + 91 = 2022-04-11
        # (Jan 31: 21, Feb 28: 49, Mar 31: 80, +11)
        (0.05, 0.11, D(2022, 4, 11), "MONITORING.on_tki.before_mmr"),
        # only the latest <= 0.1%: one PCR in MMR is not confirmed MMR
        (0.2, 0.05, D(2022, 4, 11), "MONITORING.on_tki.before_mmr"),
        # undetected with 100,000 ABL1 copies is MR4.5-or-deeper, so MMR
        (0.08, None, D(2022, 7, 12), "MONITORING.on_tki.mmr"),
    ],
)
def test_mmr_confirmed_by_two_pcrs(earlier: float, latest: float | None, due: dt.date,
                                   rule: str) -> None:
    rec = _rec(therapy=IMATINIB,
               observations=[_pcr("2021-10-11", earlier), _pcr("2022-01-10", latest)])
    nd = assess(rec, as_of=D(2022, 1, 10)).next_due
    assert (nd.due["pcr"], nd.rule["pcr"]) == (due, rule)


def test_a_switch_restarts_the_schedule_from_the_new_start() -> None:
    # Dasatinib from 2022-03-01; the PCR of 2022-02-20 was on imatinib. No PCR on dasatinib:
    # 2022-03-01 + 91 = 2022-05-31 (Mar 31: 30, Apr 30: 60, May 31: 91).
    rec = _rec(
        therapy=[{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2021-01-04",
                  "end": "2022-03-01", "reason_end": "intolerance"},
                 {"drug": "dasatinib", "dose_mg_per_day": 100, "start": "2022-03-01"}],
        observations=[_pcr("2021-10-11", 0.05), _pcr("2022-02-20", 0.04)],
    )
    nd = assess(rec, as_of=D(2022, 3, 10)).next_due
    assert nd.due["pcr"] == D(2022, 5, 31) and nd.rule["pcr"] == "MONITORING.no_pcr_on_drug"
    # Dasatinib in chronic phase: counts every 2 weeks for 12 weeks: 2022-03-01 + 14.
    assert nd.due["blood"] == D(2022, 3, 15)


@pytest.mark.parametrize(
    ("last_pcr", "due", "rule"),
    [
        # 2020-04-06 is month 1.1 after the stop on 2020-03-02: monthly, + 30 = 2020-05-06
        ("2020-04-06", D(2020, 5, 6), "MONITORING.tfr.first_6_months"),
        # day 182 after the stop (2020-08-31): 182 / 30.4375 = 5.98 < 6, + 30 = 2020-09-30
        ("2020-08-31", D(2020, 9, 30), "MONITORING.tfr.first_6_months"),
        # day 183 (2020-09-01): 6.01 >= 6, every 2 months, + 61 = 2020-11-01
        ("2020-09-01", D(2020, 11, 1), "MONITORING.tfr.months_6_to_12"),
        # 2021-03-08 is day 371 (12.19 months): every 3 months, + 91 = 2021-06-07
        ("2021-03-08", D(2021, 6, 7), "MONITORING.tfr.after_12_months"),
    ],
)
def test_tfr_schedule_by_month_after_the_stop(last_pcr: str, due: dt.date, rule: str) -> None:
    rec = _rec(
        therapy=[{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2015-02-02",
                  "end": "2020-03-02", "reason_end": "tfr"}],
        observations=[_pcr("2020-02-02", 0.002), _pcr(last_pcr, None)],
        events=[{"date": "2020-03-02", "kind": "tki_stop"}],
    )
    nd = assess(rec, as_of=dt.date.fromisoformat(last_pcr)).next_due
    assert (nd.due["pcr"], nd.rule["pcr"]) == (due, rule)
    assert nd.due["blood"] is None  # no TKI running


def test_after_a_restart_for_loss_of_mmr_monthly_until_mmr_then_3_monthly() -> None:
    # Bundled P09: stop 2020-03-02, 0.18% on 2020-08-10 (loss of MMR), imatinib again from
    # 2020-08-24, 0.09% on 2020-09-21 (MMR regained).
    base = {
        "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2015-02-02",
                     "end": "2020-03-02", "reason_end": "tfr"},
                    {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-08-24"}],
        "events": [{"date": "2020-03-02", "kind": "tki_stop"}],
    }
    before = _rec(**base, observations=[_pcr("2020-08-10", 0.18)])
    nd = assess(before, as_of=D(2020, 8, 25)).next_due
    # no PCR since the restart: 2020-08-24 + 30 = 2020-09-23
    assert (nd.due["pcr"], nd.rule["pcr"]) == (D(2020, 9, 23), "MONITORING.tfr_restart.before_mmr")
    after = _rec(**base, observations=[_pcr("2020-08-10", 0.18), _pcr("2020-09-21", 0.09)])
    nd = assess(after, as_of=D(2020, 9, 21)).next_due
    # 2020-09-21 + 91 = 2020-12-21 (Sep 30: 9, Oct 31: 40, Nov 30: 70, +21)
    assert (nd.due["pcr"], nd.rule["pcr"]) == (D(2020, 12, 21), "MONITORING.tfr_restart.mmr")


@pytest.mark.parametrize(
    ("last_pcr", "due", "rule"),
    [
        # 2021-06-01 is 17.5 months after the transplant of 2020-01-15: + 91 = 2021-08-31
        ("2021-06-01", D(2021, 8, 31), "MONITORING.post_hsct.first_2_years"),
        # 2022-03-01 is 25.5 months after: + 183 = 2022-08-31
        ("2022-03-01", D(2022, 8, 31), "MONITORING.post_hsct.after_2_years"),
    ],
)
def test_after_transplant(last_pcr: str, due: dt.date, rule: str) -> None:
    rec = _rec(
        therapy=[{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2018-01-08",
                  "end": "2019-12-01", "reason_end": "transplant"}],
        observations=[_pcr(last_pcr, None)],
        events=[{"date": "2020-01-15", "kind": "transplant"}],
    )
    nd = assess(rec, as_of=dt.date.fromisoformat(last_pcr)).next_due
    assert (nd.due["pcr"], nd.rule["pcr"]) == (due, rule)


def test_dasatinib_counts_every_2_weeks_for_12_weeks_then_3_monthly() -> None:
    start = [{"drug": "dasatinib", "dose_mg_per_day": 100, "start": "2022-03-01"}]
    early = _rec(therapy=start, observations=[
        {"date": "2022-03-15", "kind": "blood", "anc": 2.0, "platelets": 150}])
    # day 14 < 84: + 14 = 2022-03-29
    assert assess(early, as_of=D(2022, 3, 15)).next_due.due["blood"] == D(2022, 3, 29)
    later = _rec(therapy=start, observations=[
        {"date": "2022-05-24", "kind": "blood", "anc": 2.0, "platelets": 150}])
    # day 84 is not < 84: + 91 = 2022-08-23 (May 31: 7, Jun 30: 37, Jul 31: 68, +23)
    assert assess(later, as_of=D(2022, 5, 24)).next_due.due["blood"] == D(2022, 8, 23)


def test_imatinib_has_no_count_schedule_in_its_label() -> None:
    rec = _rec(therapy=IMATINIB, observations=[_pcr("2021-04-05", 1.2)])
    nd = assess(rec, as_of=D(2021, 4, 5)).next_due
    assert nd.due["blood"] is None and nd.due["marrow"] is None


def test_marrow_due_when_marrow_cytogenetics_is_recommended() -> None:
    rec = _rec(therapy=IMATINIB, diagnosis={"date": "2020-12-20", "phase": "chronic",
                                            "transcript": "e1a2"},
               observations=[_pcr("2021-04-05", 1.2)])
    nd = assess(rec, as_of=D(2021, 6, 1)).next_due
    assert nd.due["marrow"] == D(2021, 6, 1) and "marrow" not in nd.overdue
    assert assess(rec, as_of=D(2021, 6, 1)).to_dict()["next_due"]["marrow"] == "2021-06-01"


@settings(max_examples=40, deadline=None)
@given(days=st.integers(min_value=0, max_value=400))
def test_overdue_exactly_when_the_due_day_is_before_as_of(days: int) -> None:
    rec = _rec(therapy=IMATINIB, observations=[_pcr("2021-04-05", 1.2)])
    as_of = D(2021, 4, 5) + dt.timedelta(days=days)
    nd = assess(rec, as_of=as_of).next_due
    assert nd.due["pcr"] == D(2021, 7, 5)
    assert ("pcr" in nd.overdue) == (days > 91)
