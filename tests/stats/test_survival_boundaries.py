"""Survival edge cases the mutation runs found untested (issue 18), each worked by hand.

The arithmetic is in the comments; R's survfit/survdiff give the same numbers by their
definitions (Kaplan-Meier product limit, survdiff's hypergeometric variance, quantile.survfit's
midpoint rule), which tests/golden checks on larger data sets.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cmltrack.stats.survival import find_quantile, kaplan_meier, logrank_test


def test_counts_at_each_time_censored_included() -> None:
    # times 1 2 2 3 4, events 1 0 1 1 0. Distinct times 1 2 3 4: at risk 5 4 2 1; events
    # 1 1 1 0; censored 0 1 0 1; S = 4/5 = 0.8, 0.8 x 3/4 = 0.6, 0.6 x 1/2 = 0.3, 0.3.
    (c,) = kaplan_meier([1, 2, 2, 3, 4], [1, 0, 1, 1, 0]).groups
    assert c.time.tolist() == [1, 2, 3, 4]
    assert c.n_risk.tolist() == [5, 4, 2, 1]
    assert c.n_event.tolist() == [1, 1, 1, 0]
    assert c.n_censor.tolist() == [0, 1, 0, 1]
    assert c.survival.tolist() == pytest.approx([0.8, 0.6, 0.3, 0.3])
    assert c.summary["n_censor"].tolist() == [0, 1, 0, 1]


def test_result_keeps_its_interval_type_and_level() -> None:
    r = kaplan_meier([1, 2, 3], [1, 1, 0], ci="log", level=0.9)
    assert (r.ci, r.level) == ("log", 0.9)
    assert r.to_dict()["ci"] == "log" and r.to_dict()["level"] == 0.9


def test_logrank_variance_counts_a_death_with_two_at_risk() -> None:
    # A: 1 (death), 3 (death); B: 2 (death), 4 (censored). Deaths at 1, 2, 3 with at risk
    # (A, B, all) = (2, 2, 4), (1, 2, 3), (1, 1, 2).
    # Expected A: 2/4 + 1/3 + 1/2 = 4/3; B: 3 - 4/3 = 5/3. Observed A 2, B 1.
    # Var(A) = sum d (n - d) / (n^2 (n - 1)) x nA x (n - nA)
    #        = 3/48 x 4 + 2/18 x 2 + 1/4 x 1 = 1/4 + 2/9 + 1/4 = 13/18 (the last death, with two
    # at risk, gives 1/4). chi2 = (2 - 4/3)^2 / (13/18) = (4/9) (18/13) = 8/13.
    r = logrank_test([1, 3, 2, 4], [1, 1, 1, 0], ["A", "A", "B", "B"])
    assert r.expected.tolist() == pytest.approx([4 / 3, 5 / 3])
    assert r.observed.tolist() == [2, 1]
    assert r.variance.ravel().tolist() == pytest.approx([13 / 18, -13 / 18, -13 / 18, 13 / 18])
    assert r.chi2 == pytest.approx(8 / 13) and r.df == 1


def test_logrank_with_one_usable_group_has_no_test() -> None:
    # B's subjects are censored at 1 and 2, before the first death (5): expected 0 for B, so
    # one group is left: no degrees of freedom, no statistic.
    r = logrank_test([5, 6, 1, 2], [1, 1, 0, 0], ["A", "A", "B", "B"])
    assert r.expected.tolist() == [2, 0]
    assert r.df == 0 and math.isnan(r.chi2) and math.isnan(r.p)


def test_median_where_the_first_knot_is_exactly_one_half() -> None:
    # times 1 1 2 3, events 1 1 0 0: S(1) = 2/4 = 0.5 and stays there to the last time 3:
    # the curve ends exactly at 0.5, median = (1 + 3) / 2 = 2.
    (c,) = kaplan_meier([1, 1, 2, 3], [1, 1, 0, 0]).groups
    assert c.median == 2.0


def test_median_over_a_flat_stretch_at_one_half_is_its_midpoint() -> None:
    # times 1 2 4 6, events 1 1 1 1: S = 0.75, 0.5 (from 2 to 4), 0.25, 0: median (2 + 4) / 2.
    (c,) = kaplan_meier([1, 2, 4, 6], [1, 1, 1, 1]).groups
    assert c.median == 3.0


def test_median_not_reached_is_nan() -> None:
    (c,) = kaplan_meier([1, 2, 3, 4], [1, 0, 0, 0]).groups  # S = 0.75 at the end
    assert math.isnan(c.median)


def test_quantile_at_zero_is_the_first_time() -> None:
    x = np.array([0.0, 1.0, 2.0])
    y = np.array([0.0, 0.5, 1.0])
    assert find_quantile(x, y, 0.0) == 0.0
    assert find_quantile(x[1:], y[1:], 0.0) == 1.0
    assert find_quantile(x, y, 0.25) == 1.0  # the first time y >= 0.25
