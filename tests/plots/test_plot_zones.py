"""Milestone zones drawn on the BCR::ABL1 chart: the cells of clinical-rules section 5."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmltrack.domain.enums import Guideline, MilestoneStatus
from cmltrack.plots.zones import ZONES, Zone, zone_status, zones_for

OPT, WARN, SUB, FAIL = (
    MilestoneStatus.OPTIMAL,
    MilestoneStatus.WARNING,
    MilestoneStatus.SUBOPTIMAL,
    MilestoneStatus.FAILURE,
)


def _zone(guideline: str, label: str) -> Zone:
    return next(z for z in zones_for(guideline) if z.label == label)


# Expected statuses read by hand from clinical-rules 5c (ELN 2013) and 5d (ELN 2020).
@pytest.mark.parametrize(
    ("guideline", "label", "value", "expected"),
    [
        ("ELN2020", "3 mo", 10.0, OPT),  # "<= 10%"
        ("ELN2020", "3 mo", 10.01, WARN),  # "> 10%" (failure only when confirmed)
        ("ELN2020", "6 mo", 1.0, OPT),  # "<= 1%"
        ("ELN2020", "6 mo", 1.01, WARN),
        ("ELN2020", "6 mo", 10.0, WARN),  # "> 1-10%"
        ("ELN2020", "6 mo", 10.01, FAIL),  # "> 10%"
        ("ELN2020", "12 mo", 0.1, OPT),  # "<= 0.1%"
        ("ELN2020", "12 mo", 0.11, WARN),
        ("ELN2020", "12 mo", 1.0, WARN),  # "> 0.1-1%"
        ("ELN2020", "12 mo", 1.01, FAIL),  # "> 1%"
        ("ELN2020", "any time", 0.0, OPT),
        ("ELN2013", "6 mo", 0.99, OPT),  # "< 1%"
        ("ELN2013", "6 mo", 1.0, WARN),  # "1-10%": 1 itself is warning in ELN 2013
        ("ELN2013", "6 mo", 10.0, WARN),
        ("ELN2013", "6 mo", 10.5, FAIL),
        ("ELN2009", "18 mo", 0.1, OPT),  # MMR
        ("ELN2009", "18 mo", 0.2, SUB),  # less than MMR
        ("ELN2006", "12 mo", 0.2, WARN),  # less than MMR
        ("ELN2006", "12 mo", 0.05, None),  # ELN 2006 names no optimal cell
    ],
)
def test_zone_cells(guideline: str, label: str, value: float, expected: object) -> None:
    assert zone_status(_zone(guideline, label), value) == expected


def test_windows_follow_the_landmark_convention() -> None:
    # clinical-rules section 14: 3 mo 2.0-4.5, 6 mo 4.5-8.0, 12 mo 10.0-15.0, 18 mo 15.0-21.0
    windows = {z.label: (z.start, z.end) for z in zones_for("ELN2020")}
    assert windows == {"3 mo": (2.0, 4.5), "6 mo": (4.5, 8.0), "12 mo": (10.0, 15.0),
                       "any time": (15.0, None)}
    assert {z.label: (z.start, z.end) for z in zones_for("ELN2009")}["18 mo"] == (15.0, 21.0)


def test_unknown_guideline_has_no_zones() -> None:
    assert zones_for("NCCN2024") == ()


_FULL = [z for g in (Guideline.ELN2020, Guideline.ELN2013) for z in ZONES[g]]


@given(st.sampled_from(_FULL), st.floats(min_value=0, max_value=1000, allow_nan=False))
def test_every_value_in_exactly_one_band(zone: Zone, value: float) -> None:
    assert sum(band.contains(value) for band in zone.bands) == 1


@given(
    st.sampled_from(_FULL),
    st.floats(min_value=0, max_value=1000, allow_nan=False),
    st.floats(min_value=0, max_value=1000, allow_nan=False),
)
def test_higher_value_never_better(zone: Zone, a: float, b: float) -> None:
    order = {OPT: 0, WARN: 1, SUB: 2, FAIL: 3}
    lo, hi = sorted((a, b))
    s_lo, s_hi = zone_status(zone, lo), zone_status(zone, hi)
    assert s_lo is not None and s_hi is not None
    assert order[s_lo] <= order[s_hi]
