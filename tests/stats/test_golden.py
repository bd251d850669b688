"""cmltrack's statistics against R's own numbers (survival 3.5, cmprsk 2.2).

The data sets and R's results live in tests/golden/ and are made by tests/golden/make_golden.R;
R is not needed to run these tests. Estimates must agree within 1e-6, intervals and p-values
within 1e-4, and a quantity R reports as NA must be NaN (null) here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cmltrack.stats import cox_ph, cumulative_incidence, kaplan_meier, logrank_test, rate_ci

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
EST, CI = 1e-6, 1e-4


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(GOLDEN / "data" / f"{name}.csv")


def _golden(name: str) -> pd.DataFrame:
    return pd.read_csv(GOLDEN / f"{name}.csv", keep_default_na=True)


def _close(ours: object, theirs: object, tol: float) -> None:
    a = np.asarray(ours, dtype=float)
    b = np.asarray(theirs, dtype=float)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b)), (a, b)
    ok = ~np.isnan(b)
    np.testing.assert_allclose(a[ok], b[ok], rtol=0, atol=tol)


KM_CASES = [(d, c) for d in ("km_ties", "km_flat", "km_edge") for c in ("loglog", "log", "plain")]


@pytest.mark.parametrize(("data", "ci"), KM_CASES)
def test_km_matches_survfit(data: str, ci: str) -> None:
    d = _data(data)
    at_gold = _golden("km_at")
    at_gold = at_gold[(at_gold.data == data) & (at_gold.ci == ci)]
    times = sorted(at_gold.time.unique())
    fit = kaplan_meier(d.time, d.event, d.group, at=times, ci=ci)  # type: ignore[arg-type]
    curves = _golden("km_curves")
    medians = _golden("km_median")
    for curve in fit.groups:
        g = curves[(curves.data == data) & (curves.ci == ci) & (curves.group == curve.group)]
        _close(curve.time, g.time, 0)
        _close(curve.n_risk, g.n_risk, 0)
        _close(curve.n_event, g.n_event, 0)
        _close(curve.n_censor, g.n_censor, 0)
        _close(curve.survival, g.surv, EST)
        _close(curve.std_err, g.std_err, EST)
        _close(curve.lower, g.lower, CI)
        _close(curve.upper, g.upper, CI)
        a = at_gold[at_gold.group == curve.group]
        _close([x.survival for x in curve.at], a.surv, EST)
        _close([x.lower for x in curve.at], a.lower, CI)
        _close([x.upper for x in curve.at], a.upper, CI)
        _close([x.at_risk for x in curve.at], a.n_risk, 0)
        m = medians[(medians.data == data) & (medians.ci == ci) & (medians.group == curve.group)]
        _close([curve.median], m["median"], EST)
        _close([curve.median_lower, curve.median_upper], [m.lower.iloc[0], m.upper.iloc[0]], CI)


@pytest.mark.parametrize("data", ["km_ties", "km_flat", "km_edge"])
def test_logrank_matches_survdiff(data: str) -> None:
    d = _data(data)
    gold = _golden("km_logrank").set_index("data").loc[data]
    lr = logrank_test(d.time, d.event, d.group)
    _close([lr.chi2], [gold.chi2], EST)
    assert lr.df == gold.df
    _close([lr.p], [gold.p], CI)
    # survdiff's observed and expected counts and variance matrix, group by group.
    rows = _golden("km_logrank_var")
    rows = rows[rows.data == data]
    assert [str(g) for g in lr.groups] == [str(g) for g in rows.group]
    _close(lr.observed, rows.observed, 0)
    _close(lr.expected, rows.expected, EST)
    want = [float(v) for text in rows["var"] for v in str(text).split()]
    _close(lr.variance.ravel(), want, EST)
    # The same test comes with the grouped Kaplan-Meier fit.
    fit = kaplan_meier(d.time, d.event, d.group)
    assert fit.logrank is not None and fit.logrank.chi2 == lr.chi2


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("model", ["x1", "x1+x2+x3"])
def test_cox_matches_coxph(ties: str, model: str) -> None:
    d = _data("cox_ties")
    gold = _golden("cox")
    gold = gold[(gold.ties == ties) & (gold.model == model)]
    names = model.split("+")
    fit = cox_ph(d.time, d.event, d[names], names=names, ties=ties)  # type: ignore[arg-type]
    s = fit.summary
    _close(s["coef"], gold.coef, EST)
    _close(s["se(coef)"], gold.se, EST)
    _close(s["exp(coef)"], gold.hr, EST)
    _close(s["p"], gold.p, CI)
    _close(s["lower"], gold.lower, CI)
    _close(s["upper"], gold.upper, CI)
    _close([fit.loglik_null, fit.loglik], [gold.loglik0.iloc[0], gold.loglik.iloc[0]], EST)
    _close([fit.concordance], [gold.concordance.iloc[0]], EST)
    assert (fit.n, fit.events) == (gold.n.iloc[0], gold.events.iloc[0])


@pytest.mark.parametrize("cause", [1, 2])
@pytest.mark.parametrize("by_group", [False, True])
def test_cif_matches_cuminc_timepoints(cause: int, by_group: bool) -> None:
    d = _data("cif_groups")
    gold = _golden("cif")
    gold = gold[(gold.by_group == by_group) & (gold.cause == cause)]
    times = sorted(gold.time.unique())
    fit = cumulative_incidence(d.time, d.status, d.group if by_group else None, times, cause)
    assert [c.group for c in fit.groups] == sorted(gold.group.unique())
    for curve in fit.groups:
        g = gold[gold.group == curve.group]
        _close([a.cif for a in curve.at], g.cif, EST)
        _close([a.var for a in curve.at], g["var"], EST)


@pytest.mark.parametrize("cause", [1, 2])
def test_gray_matches_cuminc_tests(cause: int) -> None:
    d = _data("cif_groups")
    gold = _golden("gray").set_index("cause").loc[cause]
    fit = cumulative_incidence(d.time, d.status, d.group, cause=cause)
    assert fit.gray is not None
    _close([fit.gray.stat], [gold.stat], EST)
    _close([fit.gray.p], [gold.p], CI)
    assert fit.gray.df == gold.df


def test_km_at_90_percent_level() -> None:
    d = _data("km_ties")
    gold = _golden("km_level90")
    times = sorted(gold.time.unique())
    fit = kaplan_meier(d.time, d.event, d.group, at=times, ci="loglog", level=0.90)
    for curve in fit.groups:
        g = gold[gold.group == curve.group]
        _close([a.survival for a in curve.at], g.surv, EST)
        _close([a.lower for a in curve.at], g.lower, CI)
        _close([a.upper for a in curve.at], g.upper, CI)
        _close(
            [curve.median, curve.median_lower, curve.median_upper],
            [g["median"].iloc[0], g.median_lower.iloc[0], g.median_upper.iloc[0]],
            CI,
        )


def test_rates_match_binom_test_and_prop_test() -> None:
    for row in _golden("rates").itertuples():
        k, n = int(row.k), int(row.n)
        exact = rate_ci(k, n, "exact")
        wilson = rate_ci(k, n, "wilson")
        _close([exact.lower, exact.upper], [row.exact_lower, row.exact_upper], CI)
        _close([wilson.lower, wilson.upper], [row.wilson_lower, row.wilson_upper], CI)
