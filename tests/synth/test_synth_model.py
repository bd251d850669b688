"""Pieces of the disease model: the qPCR report and the blood count's response to the burden."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.synth.model import _report


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**7), st.integers(1000, 300_000), st.floats(0.3, 3.0))
def test_report_rounds_to_four_significant_digits(copies: int, abl: int, cf: float) -> None:
    got = float(_report(np.array([float(copies)]), np.array([float(abl)]), np.array([cf]))[0])
    if copies == 0:
        assert math.isnan(got)  # no copy seen: undetected, never a made-up 0%
        return
    raw = min(copies / abl * 100.0 * cf, 999.0)
    assert abs(got - raw) <= 5e-4 * raw + 1e-12
    assert float(f"{got:.4g}") == got


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 10**6), min_size=2, max_size=20), st.integers(10_000, 100_000))
def test_report_is_monotone_in_copies(copies: list[int], abl: int) -> None:
    c = np.array(sorted(copies), dtype=float)
    got = _report(c, np.full(len(c), float(abl)), np.ones(len(c)))
    assert np.all(np.diff(got) >= 0)


def test_report_by_hand() -> None:
    # 45 BCR::ABL1 copies over 45,000 ABL1 copies, conversion factor 0.8: 0.1% x 0.8 = 0.08% IS
    assert _report(np.array([45.0]), np.array([45_000.0]), np.array([0.8]))[0] == 0.08
    # 1 copy over 123,456: 8.1000e-4 % -> four digits 0.00081
    assert _report(np.array([1.0]), np.array([123_456.0]), np.array([1.0]))[0] == 0.00081
