"""Calibration measures: hand-checked on tiny records, then on a small generated cohort."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.domain import risk
from cmltrack.synth.baseline import sokal_group
from cmltrack.synth.calibration import (
    TARGETS,
    _km,
    calibration_profile,
    format_table,
    measure,
)
from cmltrack.synth.cohort import generate_cohort_dicts

AS_OF = dt.date(2025, 12, 31)


def _record(pcr: list[tuple[str, float | None]], events: list[dict[str, Any]] | None = None
            ) -> dict[str, Any]:
    obs = [
        {"date": d, "kind": "pcr", "bcr_abl1_is": v, "control_gene": "ABL1",
         "control_copies": 50000} if v is not None else
        {"date": d, "kind": "pcr", "detected": False, "control_gene": "ABL1",
         "control_copies": 50000}
        for d, v in pcr
    ]
    return {
        "id": "P", "diagnosis": {"date": "2009-12-20", "age": 45.0, "spleen_cm": 0,
                                 "platelets": 350, "blasts_pb": 1, "basophils_pb": 1,
                                 "eosinophils_pb": 2},
        "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2010-01-01"}],
        "observations": obs, "events": events or [],
    }


def _value(rows: list[Any], key: str) -> float | None:
    return next(r.value for r in rows if r.target.key == key)


def test_km_by_hand() -> None:
    # times 1, 2+, 3, 4+: S = 3/4 after t=1; at t=3 two at risk, one event -> 3/4 * 1/2
    t = np.array([1.0, 2.0, 3.0, 4.0])
    e = np.array([1, 0, 1, 0])
    assert _km(t, e, 0.5) == pytest.approx(100.0)
    assert _km(t, e, 2.5) == pytest.approx(75.0)
    assert _km(t, e, 3.0) == pytest.approx(37.5)
    assert _km(t[:0], e[:0], 1.0) is None


def test_landmark_and_by_month_counting_by_hand() -> None:
    # E1 of clinical-rules.md 7 (45 y, spleen 0, plt 350, blasts 1, baso 1): all low risk.
    # 3-month PCR 9.9% (<= 10%), MMR 0.1% on 2010-12-15 (11.4 months: by 12 months);
    # undetected with 50,000 ABL1 copies (MR4.5) on 2012-06-01 (29 months: not by 24).
    rec = _record([("2010-04-01", 9.9), ("2010-12-15", 0.1), ("2012-06-01", None)])
    rows = measure([rec], AS_OF)
    assert _value(rows, "sokal_low") == 100.0
    assert _value(rows, "elts_low") == 100.0
    assert _value(rows, "eutos_high") == 0.0
    assert _value(rows, "le10_3m") == 100.0
    assert _value(rows, "mmr_12m") == 100.0
    assert _value(rows, "mr45_24m") == 0.0
    assert _value(rows, "mr45_60m") == 100.0
    # one step above the thresholds: 10.01% at 3 months, 0.11% at 12 months
    rec = _record([("2010-04-01", 10.01), ("2010-12-15", 0.11)])
    rows = measure([rec], AS_OF)
    assert _value(rows, "le10_3m") == 0.0
    assert _value(rows, "mmr_12m") == 0.0
    assert _value(rows, "le1_12m") == 100.0


def test_tfr_relapse_is_the_first_pcr_above_mmr() -> None:
    stop = [{"date": "2016-01-01", "kind": "tki_stop"}]
    relapse = _record([("2016-02-01", 0.05), ("2016-04-01", 0.2)], stop)  # 3.0 months
    durable = _record([("2016-02-01", 0.05), ("2018-06-01", 0.1)], stop)  # 0.1 is MMR
    rows = measure([relapse, durable], AS_OF)
    assert _value(rows, "tfr_6m") == pytest.approx(50.0)
    assert _value(rows, "tfr_24m") == pytest.approx(50.0)


@settings(max_examples=200, deadline=None)
@given(st.floats(18, 90), st.integers(0, 35), st.floats(50, 3000), st.integers(0, 14))
def test_generator_sokal_groups_match_the_project_rule(age: float, spleen: int, plt: float,
                                                       blasts: int) -> None:
    got = sokal_group(np.array([age]), np.array([float(spleen)]), np.array([plt]),
                      np.array([float(blasts)]))[0]
    score = risk.compute_sokal_score(age=age, spleen_cm=spleen, platelets=plt, blasts_pb=blasts)
    expected = risk.sokal_group(score)
    if not math.isclose(score, 0.8, abs_tol=1e-9) and not math.isclose(score, 1.2, abs_tol=1e-9):
        assert ("low", "intermediate", "high")[got] == expected


def test_small_cohort_lands_near_the_published_figures() -> None:
    """3,000 patients: the table's tolerances widened by half their width (sampling noise)."""
    rows = measure(generate_cohort_dicts(3000, 99, calibration_profile()), AS_OF)
    assert len(rows) == len(TARGETS)
    checked = 0
    for r in rows:
        t = r.target
        if r.n < 500 or r.value is None:
            continue
        slack = (t.high - t.low) / 2
        assert t.low - slack <= r.value <= t.high + slack, (t.label, r.value)
        checked += 1
    assert checked >= 20
    table = format_table(rows)
    assert "MMR by 12 mo" in table and "targets within tolerance" in table
