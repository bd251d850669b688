"""Typed results: ``.to_frame()`` tables and ``.plot()`` pictures (lifelines' manner), checked
against numbers worked by hand and against the artists drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cmltrack.stats import (
    cox_ph,
    cumulative_incidence,
    current_cumulative_incidence,
    kaplan_meier,
    logrank_test,
)

T = [5, 8, 12, 12, 20, 3, 9, 9, 15, 30]
E = [1, 0, 1, 1, 0, 1, 1, 0, 0, 1]
G = ["high"] * 5 + ["low"] * 5


def test_km_frame_is_every_curve_long() -> None:
    km = kaplan_meier(T, E, G)
    frame = km.to_frame()
    assert list(frame.columns[:3]) == ["group", "time", "n_risk"]
    high = frame[frame.group == "high"]
    # By hand (group "high"): S = 4/5 at 5, 4/5 at 8 (censored), 4/5 x 1/3 at 12.
    assert high.survival.tolist() == pytest.approx([0.8, 0.8, 0.8 / 3, 0.8 / 3])
    assert len(frame) == sum(c.time.size for c in km.groups)
    # survival_function_: both groups on the union of times, carried forward, 1 at 0.
    sf = km.survival_function_
    assert sf.index[0] == 0.0 and (sf.iloc[0] == 1.0).all()
    assert sf.loc[9.0, "high"] == pytest.approx(0.8)  # "high" has no time 9: carried
    # "low": 3 (5 at risk, event) 0.8; 9 (4 at risk, one event one censored) 0.6.
    assert sf.loc[9.0, "low"] == pytest.approx(0.6)
    assert km.median_survival_time_["high"] == 12.0


def test_km_plot_draws_what_plot_km_draws() -> None:
    from cmltrack.plots import plot_km

    km = kaplan_meier(T, E, G)
    ax_result = km.plot(xlabel="months")
    ax_data = plot_km(T, E, G, xlabel="months")

    def curves(ax: object) -> list[tuple[str, list[float], list[float]]]:
        return [(ln.get_label(), list(ln.get_xdata()), list(ln.get_ydata()))
                for ln in ax.get_lines()]  # type: ignore[attr-defined]

    assert curves(ax_result) == curves(ax_data)
    assert sorted(t.get_text() for t in ax_result.texts) == sorted(
        t.get_text() for t in ax_data.texts)  # at-risk numbers and the log-rank p
    assert any(t.get_text().startswith("Log-rank p") for t in ax_result.texts)


def test_at_risk_from_curves_equals_the_raw_count() -> None:
    from cmltrack.plots.survival import at_risk_from_curves, numbers_at_risk

    km = kaplan_meier(T, E, G)
    at = [0.0, 5.0, 6.0, 12.0, 25.0, 40.0]
    got = at_risk_from_curves(km.groups, ["high", "low"], at)
    pd.testing.assert_frame_equal(got, numbers_at_risk(T, G, at))


def test_logrank_frame_and_bars() -> None:
    lr = logrank_test(T, E, G)
    frame = lr.to_frame()
    assert frame["observed"].tolist() == [3.0, 3.0]
    assert frame["expected"].sum() == pytest.approx(6.0)  # E sums to the events
    assert lr.test_statistic == lr.chi2 and lr.p_value == lr.p
    ax = lr.plot()
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([*lr.observed, *lr.expected])
    assert "p = " in ax.get_title(loc="left")


def test_cif_frame_and_plot() -> None:
    # MMR (1) at 2 and 6, death (2) at 4, censored at 8; by hand F(2) = 1/4, F(6) = 1/2.
    res = cumulative_incidence([2, 4, 6, 8], [1, 2, 1, 0])
    frame = res.to_frame()
    assert frame.cif.tolist() == pytest.approx([0.25, 0.5])
    assert (frame.lower < frame.cif).all() and (frame.cif < frame.upper).all()
    ax = res.plot()
    (line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("all patients")]
    assert list(line.get_ydata()) == pytest.approx([0.0, 0.25, 0.5, 0.5])
    assert list(line.get_xdata()) == pytest.approx([0.0, 2.0, 6.0, 8.0])  # to the last time


def test_cox_frame_names_and_forest() -> None:
    df = pd.DataFrame({"months": T, "event": E, "low": [g == "low" for g in G],
                       "age": [50, 61, 44, 70, 58, 39, 66, 52, 47, 73]}).astype(float)
    fit = cox_ph(df.months, df.event, df[["low", "age"]])
    frame = fit.to_frame()
    assert list(frame.index) == ["low", "age"]
    assert fit.hazard_ratios_.to_dict() == pytest.approx(np.exp(fit.params_).to_dict())
    ax = fit.plot()
    squares = [ln for ln in ax.get_lines() if ln.get_marker() == "s"]
    assert [ln.get_xdata()[0] for ln in squares] == pytest.approx(frame["exp(coef)"].tolist())
    assert ax.get_xscale() == "log"
    at = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)}
    assert at["low"] > at["age"]  # the first covariate on top


def test_current_frame_and_plot() -> None:
    nan = float("nan")
    res = current_cumulative_incidence([[10, nan]], [[nan, nan]], [100, 100], [0, 0],
                                       at=[5, 50])
    assert res.to_frame().cci.tolist() == [0.0, 0.5]
    ax = res.plot()
    assert {ln.get_label() for ln in ax.get_lines()} == {"CCI", "comCI", "CLFS", "LFS"}
