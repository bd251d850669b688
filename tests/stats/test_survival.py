"""Kaplan-Meier, its intervals and median, and the log-rank test: worked examples by hand.

R's own numbers for awkward data sets are in test_golden.py; here every expected value is
derived by hand from the definitions (product-limit, Greenwood, the interval transforms).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from cmltrack.errors import InputError
from cmltrack.stats import kaplan_meier, logrank_test

Z = 1.959963984540054
T = [1, 2, 2, 3, 4, 5, 5, 6]
E = [1, 1, 0, 1, 0, 1, 1, 1]


def test_product_limit_and_greenwood_by_hand() -> None:
    # S: 7/8, x 6/7 = 0.75, x 4/5 = 0.6, (censored at 4), x 1/3 = 0.2, x 0 = 0.
    # Greenwood sum d/(n(n-d)): 1/56, + 1/42 = 1/24, + 1/20 = 11/120, + 2/3 = 91/120, then inf.
    c = kaplan_meier(T, E).groups[0]
    assert c.time.tolist() == [1, 2, 3, 4, 5, 6]
    assert c.n_risk.tolist() == [8, 7, 5, 4, 3, 1]
    np.testing.assert_allclose(c.survival, [0.875, 0.75, 0.6, 0.6, 0.2, 0.0], atol=1e-15)
    expected_se = np.sqrt([1 / 56, 1 / 24, 11 / 120, 11 / 120, 91 / 120])
    np.testing.assert_allclose(c.std_err[:5], expected_se, rtol=1e-12)
    assert math.isinf(c.std_err[5])
    assert (c.n, c.events) == (8, 6)


@pytest.mark.parametrize("ci", ["loglog", "log", "plain"])
def test_interval_transforms_by_hand(ci: str) -> None:
    # At t = 1: S = 0.875, se(log S) = sqrt(1/56).
    s, se = 0.875, math.sqrt(1 / 56)
    if ci == "loglog":  # S^exp(-+ z se / log S)
        lo, hi = s ** math.exp(-Z * se / math.log(s)), s ** math.exp(Z * se / math.log(s))
    elif ci == "log":  # S exp(-+ z se), upper capped at 1
        lo, hi = s * math.exp(-Z * se), min(1.0, s * math.exp(Z * se))
    else:  # S -+ z se S, clipped to [0, 1]
        lo, hi = max(0.0, s - Z * se * s), min(1.0, s + Z * se * s)
    c = kaplan_meier(T, E, ci=ci).groups[0]  # type: ignore[arg-type]
    assert (c.lower[0], c.upper[0]) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
    # Where S = 0 every transform is undefined (R: NA).
    assert math.isnan(c.lower[-1]) and math.isnan(c.upper[-1])


def test_loglog_example_value() -> None:
    # The value R prints for this curve (survfit(conf.type = "log-log")): 0.3870000 at t = 1.
    c = kaplan_meier(T, E, ci="loglog").groups[0]
    assert c.lower[0] == pytest.approx(0.3870000, abs=1e-7)
    assert kaplan_meier(T, E, ci="log-log").groups[0].lower[0] == c.lower[0]  # R's spelling


def test_default_interval_is_survfits_log() -> None:
    # survfit's default conf.type is "log": at t = 1, S = 0.875, se(log S) = sqrt(1/56):
    # lower = 0.875 exp(-1.959964 x 0.133631) = 0.6734 (the 0.387 above is log-log).
    r = kaplan_meier(T, E)
    assert r.ci == "log"
    lo = 0.875 * math.exp(-Z * math.sqrt(1 / 56))
    assert r.groups[0].lower[0] == pytest.approx(lo, abs=1e-12)
    assert lo == pytest.approx(0.6734, abs=1e-4)


def test_readings_at_times_follow_summary_extend() -> None:
    r = kaplan_meier(T, E, at=[7, 0, 2.5, 1], ci="loglog")
    at = {a.time: a for a in r.groups[0].at}
    # Before the first time: S = 1 with limits 1 (survfit0's row at time 0), all at risk.
    assert (at[0].survival, at[0].lower, at[0].upper, at[0].at_risk) == (1.0, 1.0, 1.0, 8)
    # Right-continuous: the event at 1 counts at 1; at risk = time >= t.
    assert (at[1].survival, at[1].at_risk) == (0.875, 8)
    assert (at[2.5].survival, at[2.5].at_risk) == (0.75, 5)
    # Past the last follow-up: S carries forward, nobody at risk; S = 0 has no interval.
    assert (at[7].survival, at[7].at_risk) == (0.0, 0)
    assert at[7].to_dict()["ci"] == [None, None]
    assert [a.time for a in r.groups[0].at] == [0, 1, 2.5, 7]


def test_loglog_is_undefined_where_s_is_one_on_the_curve() -> None:
    # A censoring at 0.5 puts S = 1 on the curve: log-log limits are NA there (R), but the
    # time-0 row before it has limits 1.
    r = kaplan_meier([0.5, 1, 2, 3], [0, 1, 1, 0], at=[0, 0.5], ci="loglog")
    a0, a1 = r.groups[0].at
    assert (a0.lower, a0.upper) == (1.0, 1.0)
    assert math.isnan(a1.lower) and math.isnan(a1.upper)
    log = kaplan_meier([0.5, 1, 2, 3], [0, 1, 1, 0], at=[0.5], ci="log").groups[0].at[0]
    assert (log.lower, log.upper) == (1.0, 1.0)


def test_median_and_limits_by_hand() -> None:
    # S falls from 0.6 to 0.2 at 5: median 5. The log-log lower curve is 0.387 <= 0.5 at t = 1;
    # the upper curve never reaches 0.5 before S = 0 (undefined there): no upper limit.
    c = kaplan_meier(T, E, ci="loglog").groups[0]
    assert (c.median, c.median_lower) == (5.0, 1.0)
    assert math.isnan(c.median_upper)
    assert c.to_dict()["median_ci"] == [1.0, None]


@pytest.mark.parametrize(
    ("time", "event", "median"),
    [
        # 8 subjects, events at 1-4: S = 4/8 = 0.5 exactly from 4 until the next event at 6:
        # the median is the midpoint (4 + 6) / 2 = 5.
        ([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 1, 1, 0, 1, 0, 1], 5.0),
        # 9 subjects: S(4) = 5/9 > 0.5, S(5) = 4/9 < 0.5: median 5 (just above the threshold).
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 1, 1, 1, 0, 0, 0, 0], 5.0),
        # 7 subjects: S(3) = 4/7 > 0.5, S(4) = 3/7 < 0.5: median 4 (just below).
        ([1, 2, 3, 4, 5, 6, 7], [1, 1, 1, 1, 0, 0, 0], 4.0),
        # S = 0.5 after 2 and the curve ends there (last follow-up 4): (2 + 4) / 2 = 3.
        ([1, 2, 3, 4], [1, 1, 0, 0], 3.0),
    ],
)
def test_median_on_both_sides_of_one_half(time: list[int], event: list[int], median: float) -> None:
    assert kaplan_meier(time, event).groups[0].median == median


def test_median_never_reached_is_null() -> None:
    c = kaplan_meier([1, 2, 3, 4, 5], [1, 0, 0, 0, 0]).groups[0]
    assert math.isnan(c.median)
    assert c.to_dict()["median"] is None


def test_groups_sorted_and_logrank_by_hand() -> None:
    # A: events at 1, 2; B: events at 3, 4. O_A = 2, E_A = 2/4 + 1/3 = 5/6;
    # V = 1*3/3 * 1/2 * 1/2 + 1*2/2 * 1/3 * 2/3 = 17/36; chi2 = (7/6)^2 / (17/36) = 49/17.
    r = kaplan_meier([3, 4, 1, 2], [1, 1, 1, 1], group=["B", "B", "A", "A"])
    assert [g.group for g in r.groups] == ["A", "B"]
    assert r.logrank is not None
    assert r.logrank.chi2 == pytest.approx(49 / 17, rel=1e-12)
    assert r.logrank.df == 1
    assert r.logrank.p == pytest.approx(chi2.sf(49 / 17, 1), rel=1e-12)
    np.testing.assert_allclose(r.logrank.expected, [5 / 6, 4 - 5 / 6])  # 4 deaths in all


def test_logrank_identical_groups_is_zero() -> None:
    lr = logrank_test([1, 2, 3, 1, 2, 3], [1, 0, 1, 1, 0, 1], [0, 0, 0, 1, 1, 1])
    assert lr.chi2 == pytest.approx(0.0, abs=1e-12)
    assert lr.p == pytest.approx(1.0)


def test_single_group_has_no_logrank_and_json_is_safe() -> None:
    import json

    r = kaplan_meier(T, E, at=[6])
    assert r.logrank is None
    text = json.dumps(r.to_dict(), allow_nan=False)
    assert '"group": "all"' in text


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"time": [1, -2], "event": [1, 0]}, "impossible_value"),
        ({"time": [1, 2], "event": [1, 2]}, "unknown_value"),
        ({"time": [], "event": []}, "empty"),
        ({"time": [1, 2], "event": [1, 0], "ci": "logit"}, "unknown_value"),
        ({"time": [1, 2], "event": [1, 0], "at": [-1]}, "bad_argument"),
        ({"time": [1, 2], "event": [1, 0], "level": 2}, "bad_argument"),
    ],
)
def test_bad_input(kw: dict[str, object], code: str) -> None:
    with pytest.raises(InputError) as exc:
        kaplan_meier(**kw)  # type: ignore[arg-type]
    assert exc.value.code == code


samples = st.lists(
    st.tuples(st.integers(0, 30), st.integers(0, 1), st.integers(0, 2)), min_size=1, max_size=60
)


@settings(max_examples=60, deadline=None)
@given(samples, st.sampled_from(["loglog", "log", "plain"]))
def test_curves_lie_in_unit_interval_never_rise_and_bracket(
    rows: list[tuple[int, int, int]], ci: str
) -> None:
    t, e, g = (list(x) for x in zip(*rows, strict=True))
    at = list(range(0, 32, 3))
    r = kaplan_meier(t, e, g, at=at, ci=ci)  # type: ignore[arg-type]
    for c in r.groups:
        s = c.survival
        assert ((s >= 0) & (s <= 1)).all()
        assert (np.diff(s) <= 0).all()
        ok = ~np.isnan(c.lower)
        assert (c.lower[ok] <= s[ok] + 1e-12).all() and (c.upper[ok] >= s[ok] - 1e-12).all()
        risks = [a.at_risk for a in c.at]
        assert risks == sorted(risks, reverse=True)
        if not math.isnan(c.median):
            # S at or below one half at the median, at or above it before.
            below = s[c.time <= c.median]
            assert below.size and below[-1] <= 0.5 + 1e-9
            assert (s[c.time < c.median][:-1] >= 0.5 - 1e-9).all()
    if r.logrank is not None and not math.isnan(r.logrank.p):
        assert 0.0 <= r.logrank.p <= 1.0 and r.logrank.chi2 >= -1e-9
