"""The demo clinic's management figures (issue 15, item 7), on two courses counted by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from cmltrack.domain.assess import assess
from cmltrack.domain.enums import MilestoneStatus
from cmltrack.domain.records import PatientRecord
from cmltrack.synth.clinic import clinic_figures

D = dt.date


def _pair(therapy: list[dict[str, Any]], failure: dt.date, as_of: dt.date) -> Any:
    rec = PatientRecord.model_validate({"id": "C", "therapy": therapy})
    a = dataclasses.replace(assess(rec, as_of=as_of), failure_dates=(failure,))
    a = dataclasses.replace(a, current=dataclasses.replace(a.current,
                                                           status=MilestoneStatus.FAILURE))
    return rec, a


def test_figures_by_hand() -> None:
    switched = _pair([{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2015-01-01",
                       "end": "2016-01-01", "reason_end": "resistance"},
                      {"drug": "dasatinib", "dose_mg_per_day": 100, "start": "2016-01-01"}],
                     D(2015, 7, 1), D(2021, 1, 1))
    waiting = _pair([{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2015-01-01"}],
                    D(2020, 1, 1), D(2021, 1, 1))
    f = clinic_figures([switched, waiting])
    assert (f.patients, f.active, f.failing, f.failing_never_left_imatinib) == (2, 2, 2, 1)
    # time to action: 2015-07-01 -> 2016-01-01 = 184 days = 6.05 months (acted); the other
    # censored at 366 days (12.02 months). KM: S = 1/2 after 6.05: median 6.05; by 6.0 none.
    assert f.acted_median_months == pytest.approx(184 / 30.4375)
    assert f.acted_within_6m_pct == pytest.approx(0.0)
    # off imatinib for resistance at 12.0 months; the other censored at 72.02 months (> 72):
    # 1 - S(72) = 50%.
    assert f.off_imatinib_6y_pct == pytest.approx(50.0)
    assert f.failure_share_pct == pytest.approx(100.0)
