"""The Kaplan-Meier and log-rank result objects as a caller reads them (issue 18: the mutation
run of stats/survival.py found their JSON keys, tables and reprs unchecked).

Worked by hand. Five patients, months 5, 8, 12, 12, 20, events 1, 0, 1, 1, 0:
S(5) = 4/5 = 0.8; S(12) = 0.8 x 1/3 = 0.2667. Greenwood var(log S): at 5, 1/(5 x 4) = 0.05;
at 12, 0.05 + 2/(3 x 1) = 0.7167. R's default "log" interval at 5 (and so at 10):
0.8 x exp(-1.96 x sqrt(0.05)) = 0.8 x 0.64515 = 0.5161, the upper limit capped at 1. The median
is 12; its lower limit is the first time the lower curve is <= 0.5 (12, since 0.5161 > 0.5 at
5), its upper limit never reached (the upper curve stays at 1).

Log-rank, two groups of three with one event at each of 1, 2, 3, 4 (as the class docstring):
O_a = 2, E_a = 3/6 + 2/5 + 1/4 + 1/3 = 1.4833, O_b = 2, E_b = 4 - 1.4833 = 2.5167;
chi-square 0.2967 on 1 df, p = 0.586.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pytest

from cmltrack.errors import InputError
from cmltrack.stats import kaplan_meier, logrank_test

TIMES = [5, 8, 12, 12, 20]
EVENTS = [1, 0, 1, 1, 0]


def test_km_to_dict_is_the_json_the_cli_prints() -> None:
    d = kaplan_meier(TIMES, EVENTS, at=[10]).to_dict()
    assert list(d) == ["ci", "level", "groups", "logrank"]
    assert (d["ci"], d["level"], d["logrank"]) == ("log", 0.95, None)
    (g,) = d["groups"]
    assert list(g) == ["group", "n", "events", "median", "median_ci", "at"]
    assert (g["group"], g["n"], g["events"], g["median"]) == ("all", 5, 3, 12.0)
    assert g["median_ci"] == [12.0, None]  # upper limit not reached: JSON null
    (at,) = g["at"]
    assert list(at) == ["time", "survival", "ci", "at_risk"]
    assert (at["time"], at["survival"], at["at_risk"]) == (10.0, pytest.approx(0.8), 3)
    assert at["ci"] == [pytest.approx(0.5161, abs=1e-4), 1.0]


def test_km_to_dict_carries_the_logrank_of_groups() -> None:
    d = kaplan_meier([1, 2, 5, 3, 4, 6], [1, 1, 0, 1, 1, 0], group=list("aaabbb")).to_dict()
    assert [g["group"] for g in d["groups"]] == ["a", "b"]
    assert d["logrank"] == {"chi2": pytest.approx(0.2967, abs=1e-4), "df": 1,
                            "p": pytest.approx(0.586, abs=1e-3)}


def test_km_to_frame_numbers_rows_across_groups() -> None:
    km = kaplan_meier([1, 2, 5, 3, 4, 6], [1, 1, 0, 1, 1, 0], group=list("aaabbb"))
    frame = km.to_frame()
    assert list(frame.index) == list(range(6))  # one running index, not 0-2 twice
    assert list(frame["group"]) == ["a"] * 3 + ["b"] * 3


def test_reprs_say_what_a_result_holds() -> None:
    km = kaplan_meier(TIMES, EVENTS)
    assert repr(km) == "<KMResult 1 group(s), ci=log>"
    assert repr(km.groups[0]) == "<KMCurve group='all' n=5 events=3 median=12 (12--)>"
    two = kaplan_meier([1, 2, 5, 3, 4, 6], [1, 1, 0, 1, 1, 0], group=list("aaabbb"))
    assert repr(two) == "<KMResult 2 group(s), ci=log logrank p=0.586>"
    assert repr(two.logrank) == "<LogRankResult chi2=0.2967 df=1 p=0.586>"


def test_logrank_frame_gives_observed_over_expected() -> None:
    lr = logrank_test([1, 2, 5, 3, 4, 6], [1, 1, 0, 1, 1, 0], list("aaabbb"))
    frame = lr.to_frame()
    assert list(frame.columns) == ["group", "observed", "expected", "observed/expected"]
    assert frame["observed/expected"].tolist() == pytest.approx([2 / 1.483333, 2 / 2.516667],
                                                               rel=1e-5)


def test_logrank_plot_draws_on_the_axes_given() -> None:
    lr = logrank_test([1, 2, 5, 3, 4, 6], [1, 1, 0, 1, 1, 0], list("aaabbb"))
    fig, ax = plt.subplots()
    try:
        assert lr.plot(ax=ax) is ax
    finally:
        plt.close(fig)


def test_a_bad_event_code_names_the_event_field() -> None:
    with pytest.raises(InputError) as err:
        logrank_test([1, 2, 3], [1, 2, 0], ["a", "a", "b"])
    assert err.value.field == "event"
    assert "code 2 at index 1 is not one of [0, 1]" in err.value.message


def test_median_ci_nan_is_not_a_number_in_the_curve() -> None:
    curve = kaplan_meier(TIMES, EVENTS).groups[0]
    assert curve.median_lower == 12.0 and math.isnan(curve.median_upper)
