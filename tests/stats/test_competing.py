"""Cumulative incidence with competing risks and Gray's test: hand examples and invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.errors import InputError
from cmltrack.stats import cumulative_incidence, gray_test, kaplan_meier


def test_aalen_johansen_by_hand() -> None:
    # Times 1 (cause 1), 2 (cause 2), 3 (cause 1), 4 (censored). At 1: F1 = 1/4, S = 3/4.
    # At 2: the competing death, S = 3/4 * 2/3 = 1/2. At 3: F1 += S(3-) * 1/2 = 1/4: F1 = 1/2.
    r = cumulative_incidence([1, 2, 3, 4], [1, 2, 1, 0], at=[0, 1, 2, 3, 4, 5])
    c = r.groups[0]
    assert [a.cif for a in c.at[:5]] == [0.0, 0.25, 0.25, 0.5, 0.5]
    # Past the last follow-up (4) there is no estimate (cmprsk::timepoints gives NA).
    assert math.isnan(c.at[5].cif) and c.at[5].to_dict()["cif"] is None
    assert (c.n, c.events, c.competing) == (4, 2, 1)
    # Variance at t = 1 (cinc by hand): fk = 1, rs = 4, nd1 = 1: t6 = 1/16, fkn = 3/4,
    # t4 = 1 + (4/3)(1/4) = 4/3, t3 = 4/3: v1 = 16/9/16 = 1/9, v2 = 16/9/16 = 1/9,
    # v3 = 16/9/16 = 1/9; v = v1 + f^2 v3 - 2 f v2 = (1/9)(1 + 1/16 - 1/2) = 1/16.
    assert c.at[1].var == pytest.approx(1 / 16)


def test_log_log_interval_by_hand() -> None:
    r = cumulative_incidence([1, 2, 3, 4], [1, 2, 1, 0], at=[1], level=0.95).groups[0].at[0]
    f, sd, z = 0.25, 0.25, 1.959963984540054
    w = z * sd / (f * math.log(f))
    assert (r.lower, r.upper) == (pytest.approx(f ** math.exp(-w)), pytest.approx(f ** math.exp(w)))
    # F = 0 has no interval.
    r0 = cumulative_incidence([1, 2], [1, 0], at=[0.5]).groups[0].at[0]
    assert r0.cif == 0.0 and r0.to_dict()["ci"] == [None, None]


def test_gray_identical_groups_is_zero() -> None:
    t = [1, 2, 3, 4, 5, 6] * 2
    s = [1, 2, 0, 1, 1, 2] * 2
    g = [0] * 6 + [1] * 6
    gt = gray_test(t, s, g)
    assert gt.stat == pytest.approx(0.0, abs=1e-12)
    assert gt.df == 1 and gt.p == pytest.approx(1.0)


def test_groups_sorted_and_gray_only_with_groups() -> None:
    r = cumulative_incidence([1, 2, 3, 4], [1, 1, 2, 0], group=["b", "a", "b", "a"])
    assert [c.group for c in r.groups] == ["a", "b"]
    assert r.gray is not None and r.gray.df == 1
    assert cumulative_incidence([1, 2], [1, 0]).gray is None
    assert r.to_dict()["gray"]["df"] == 1


def test_bad_input() -> None:
    with pytest.raises(InputError) as exc:
        cumulative_incidence([1, 2], [1, 3])
    assert exc.value.code == "unknown_value"
    with pytest.raises(InputError):
        cumulative_incidence([1, 2], [1, 0], cause=3)
    with pytest.raises(InputError):
        gray_test([1, 2], [1, 0], [1, 1])


rows = st.lists(st.tuples(st.integers(0, 20), st.integers(0, 2)), min_size=1, max_size=50)


@settings(max_examples=60, deadline=None)
@given(rows)
def test_without_competing_events_cif_is_one_minus_km(data: list[tuple[int, int]]) -> None:
    t = [r[0] for r in data]
    s = [min(r[1], 1) for r in data]
    at = list(range(0, 21))
    cif = cumulative_incidence(t, s, at=at).groups[0].at
    km = kaplan_meier(t, s, at=at).groups[0].at
    for a, b in zip(cif, km, strict=True):
        if not math.isnan(a.cif):
            assert a.cif == pytest.approx(1 - b.survival, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(rows)
def test_incidences_and_survival_add_up_to_one(data: list[tuple[int, int]]) -> None:
    # Aalen-Johansen: F1(t) + F2(t) + S(t) = 1, every value in [0, 1], F never falls.
    t = [r[0] for r in data]
    s = [r[1] for r in data]
    at = list(range(0, 21))
    f1 = cumulative_incidence(t, s, at=at, cause=1).groups[0].at
    f2 = cumulative_incidence(t, s, at=at, cause=2).groups[0].at
    km = kaplan_meier(t, [int(x > 0) for x in s], at=at).groups[0].at
    prev = 0.0
    for a, b, c in zip(f1, f2, km, strict=True):
        if math.isnan(a.cif):
            continue
        assert a.cif + b.cif + c.survival == pytest.approx(1.0, abs=1e-12)
        assert 0.0 <= a.cif <= 1.0 and a.var >= -1e-15 and a.cif >= prev
        prev = a.cif


def test_a_variance_cancelled_to_minus_zero_gives_a_degenerate_interval() -> None:
    from cmltrack.stats.competing import _cif_ci

    # sd 0: F^exp(0) = F at both ends, no NaN and no RuntimeWarning from sqrt(-1e-17).
    assert _cif_ci(0.5, -1e-17, 1.96) == (0.5, 0.5)
    # sd 0.1 at F = 0.5: w = 1.96 x 0.1 / (0.5 ln 0.5) = -0.56554; 0.5^exp(-0.56554) = 0.6745.
    lo, hi = _cif_ci(0.5, 0.01, 1.96)
    assert hi == pytest.approx(0.5 ** math.exp(0.196 / (0.5 * math.log(0.5))), rel=1e-12)
    assert round(hi, 4) == 0.6745 and round(lo, 4) == 0.2952
