"""Invariants of phase classification, checked on generated results (hypothesis)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cmltrack.domain.enums import Phase, PhaseCriteria
from cmltrack.domain.phase import PHASE_RULES, classify_phase
from cmltrack.domain.records import BloodCount, Marrow

DAY = dt.date(2021, 6, 1)
ORDER = (None, Phase.CHRONIC, Phase.ACCELERATED, Phase.BLAST)
pct = st.floats(min_value=0, max_value=33, allow_nan=False)  # three of them stay <= 100%
maybe_pct = st.one_of(st.none(), pct)


def _phase(criteria: PhaseCriteria, on_therapy: bool, blood: dict[str, Any],
           marrow: dict[str, Any]) -> Phase | None:
    return classify_phase(
        blood=BloodCount(date=DAY, **blood),
        marrow=Marrow(date=DAY, **marrow),
        cyto=None,
        criteria=criteria,
        on_therapy=on_therapy,
    ).value


blood_values = st.fixed_dictionaries(
    {
        "promyelocytes_pb": maybe_pct,
        "basophils_pb": maybe_pct,
        "platelets": st.one_of(st.none(), st.floats(min_value=0, max_value=3000)),
    }
)
marrow_values = st.fixed_dictionaries({"blasts_bm": maybe_pct, "promyelocytes_bm": maybe_pct})


@given(st.sampled_from(list(PhaseCriteria)), st.booleans(), blood_values, marrow_values, pct, pct)
def test_more_blood_blasts_never_give_an_earlier_phase(
    criteria: PhaseCriteria, on_therapy: bool, blood: dict[str, Any], marrow: dict[str, Any],
    a: float, b: float,
) -> None:
    lo, hi = sorted((a, b))
    low = _phase(criteria, on_therapy, {**blood, "blasts_pb": lo}, marrow)
    high = _phase(criteria, on_therapy, {**blood, "blasts_pb": hi}, marrow)
    assert ORDER.index(low) <= ORDER.index(high)
    assert low is not None  # a blood blast count always bears on phase


@given(st.sampled_from(list(PhaseCriteria)), pct)
def test_each_blast_value_in_exactly_one_phase_band(criteria: PhaseCriteria, blasts: float) -> None:
    r = PHASE_RULES[criteria]
    bands = [
        (Phase.CHRONIC, blasts < r.ap_blasts_min),
        (Phase.ACCELERATED, r.ap_blasts_min <= blasts < r.bp_blasts_min),
        (Phase.BLAST, blasts >= r.bp_blasts_min),
    ]
    (expected,) = [p for p, inside in bands if inside]
    assert _phase(criteria, True, {"blasts_pb": blasts}, {}) is expected
