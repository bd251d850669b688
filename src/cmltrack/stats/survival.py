"""Kaplan-Meier curves, their confidence bands and median, and the log-rank test.

The numbers follow R's ``survival`` package (checked against golden files made with survival
3.5): ``survfit`` (Greenwood variance; ``conf.type`` "log-log", "log" or "plain"), ``summary(fit,
times, extend = TRUE)``, ``quantile(fit, 0.5)`` and ``survdiff``. Everything is vectorised with
numpy so that a million subjects take seconds.

Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457-81. Greenwood M. Rep Public Health Med Subj
1926;33. Kalbfleisch JD, Prentice RL, The Statistical Analysis of Failure Time Data (log-log
interval). Brookmeyer R, Crowley J. Biometrics 1982;38:29-41 (median interval). Mantel N.
Cancer Chemother Rep 1966;50:163-70 (log-rank).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from cmltrack.errors import InputError
from cmltrack.stats._checks import FloatArray, as_codes, as_times, group_labels, z_value
from cmltrack.stats._result import fmt, json_safe, step_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ConfType = Literal["loglog", "log", "plain"]
CONF_TYPES: tuple[str, ...] = ("loglog", "log", "plain")

#: R's quantile.survfit tolerance, sqrt(.Machine$double.eps).
_TOL = float(np.sqrt(np.finfo(np.float64).eps))


def survival_ci(
    surv: FloatArray, std_err: FloatArray, conf_type: str, z: float
) -> tuple[FloatArray, FloatArray]:
    """Pointwise limits from S and the standard error of log S (R ``survfit_confint``).

    NaN marks a limit R reports as NA: log-log where S is 0 or 1, log where S is 0, and plain
    where S is 0 (the Greenwood variance is infinite there).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            half = std_err * surv * z
            lower = np.maximum(surv - half, 0.0)
            upper = np.minimum(surv + half, 1.0)
            bad = ~np.isfinite(half)
            lower[bad] = np.nan
            upper[bad] = np.nan
        elif conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            lower = np.exp(np.log(xx) - z * std_err)
            upper = np.minimum(np.exp(np.log(xx) + z * std_err), 1.0)
            upper[np.isnan(xx)] = np.nan
        elif conf_type == "loglog":
            xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
            se2 = z * std_err / np.log(xx)
            lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
        else:
            raise InputError(
                f"unknown interval type {conf_type!r} (loglog, log, plain)",
                code="unknown_value",
                field="ci",
            )
    return lower, upper


def find_quantile(x: FloatArray, y: FloatArray, p: float, tol: float = _TOL) -> float:
    """The time at which the cumulative curve ``y`` (1 - S, with NaN gaps) reaches ``p``.

    A port of R survival's ``findq``: the first time y >= p; where y equals p (within ``tol``)
    over an interval, the midpoint of that interval; where the curve ends exactly at p, the
    midpoint between that time and the last time. NaN where the curve never reaches p.
    """
    finite = ~np.isnan(y)
    if not finite.any() or np.max(y[finite]) < p:
        return float("nan")
    xmax = float(x[-1])
    # R's duplicated() keeps the first of equal values (all NaN count as one value).
    key = np.where(np.isnan(y), np.inf, y)
    _, first = np.unique(key, return_index=True)
    keep = np.sort(first)
    x, y = x[keep], y[keep]
    n = y.size
    ok = ~np.isnan(y)
    idx = np.flatnonzero(ok)

    def step_index(knots: FloatArray) -> int:
        # approx(knots, 1:n, p, method = "constant", f = 1): the first knot >= p, none outside.
        if p < knots[0] or p > knots[-1]:
            return -1
        return int(idx[np.searchsorted(knots, p, side="left")])

    i1 = step_index(y[ok] + tol)
    i2 = step_index(y[ok] - tol)
    quant = (x[i1] + x[i2]) / 2.0 if i1 >= 0 and i2 >= 0 else float("nan")
    if p == 0:
        quant = float(x[0])
    if not np.isnan(y[n - 1]) and abs(p - y[n - 1]) < tol:
        quant = (x[i1] + xmax) / 2.0 if i1 >= 0 else float("nan")
    return float(quant)


@dataclass(frozen=True, slots=True)
class SurvivalAt:
    """The curve read at one time, as R's ``summary(fit, times, extend = TRUE)``."""

    time: float
    survival: float
    lower: float
    upper: float
    at_risk: int

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe(
            {
                "time": self.time,
                "survival": self.survival,
                "ci": [self.lower, self.upper],
                "at_risk": self.at_risk,
            }
        )
        return out


@dataclass(frozen=True, slots=True)
class KMCurve:
    """One group's Kaplan-Meier curve at each distinct time (events and censorings)."""

    group: Any
    n: int
    events: int
    time: FloatArray
    n_risk: FloatArray
    n_event: FloatArray
    n_censor: FloatArray
    survival: FloatArray
    std_err: FloatArray  # of log S (Greenwood), as survfit's std.err
    lower: FloatArray
    upper: FloatArray
    median: float
    median_lower: float
    median_upper: float
    at: tuple[SurvivalAt, ...]

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "time": self.time,
                "n_risk": self.n_risk.astype(np.int64),
                "n_event": self.n_event.astype(np.int64),
                "n_censor": self.n_censor.astype(np.int64),
                "survival": self.survival,
                "std_err": self.std_err,
                "lower": self.lower,
                "upper": self.upper,
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """The curve at each distinct time, one row per time (as :attr:`summary`)."""
        return self.summary

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe(
            {
                "group": self.group,
                "n": self.n,
                "events": self.events,
                "median": self.median,
                "median_ci": [self.median_lower, self.median_upper],
                "at": [a.to_dict() for a in self.at],
            }
        )
        return out

    def __repr__(self) -> str:
        return (
            f"<KMCurve group={self.group!r} n={self.n} events={self.events} "
            f"median={fmt(self.median)} ({fmt(self.median_lower)}-{fmt(self.median_upper)})>"
        )


@dataclass(frozen=True, slots=True)
class LogRankResult:
    """R ``survdiff`` (rho = 0): observed and expected events per group and the chi-square.

    Two groups of three, one event at each of the times 1, 2, 3, 4. By hand, group "a" has
    3, 2, 1, 1 of the 6, 5, 4, 3 at risk: E = 3/6 + 2/5 + 1/4 + 1/3 = 1.4833 for O = 2; the
    variance is 0.25 + 0.24 + 0.1875 + 0.2222 = 0.8997 (sum of n_a n_b d (n - d) / (n^2 (n -
    1))), so chi-square = (2 - 1.4833)^2 / 0.8997 = 0.2967 on 1 df:

    Examples:
        >>> from cmltrack.stats import logrank_test
        >>> lr = logrank_test([1, 2, 5, 3, 4, 6], [1, 1, 0, 1, 1, 0],
        ...                   ["a", "a", "a", "b", "b", "b"])
        >>> lr.to_frame()
          group  observed  expected  observed/expected
        0     a       2.0  1.483333           1.348315
        1     b       2.0  2.516667           0.794702
        >>> round(lr.test_statistic, 4), round(lr.p_value, 3)
        (0.2967, 0.586)
        >>> lr.plot()  # doctest: +ELLIPSIS
        <Axes: ...>
    """

    groups: tuple[Any, ...]
    observed: FloatArray
    expected: FloatArray
    variance: FloatArray
    chi2: float
    df: int
    p: float

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"group": list(self.groups), "observed": self.observed, "expected": self.expected}
        )

    def to_frame(self) -> pd.DataFrame:
        """Observed and expected events per group, and their ratio."""
        out = self.summary
        out["observed/expected"] = out["observed"] / out["expected"]
        return out

    @property
    def test_statistic(self) -> float:
        """The chi-square (lifelines' name)."""
        return self.chi2

    @property
    def p_value(self) -> float:
        """The p-value (lifelines' name)."""
        return self.p

    def plot(self, ax: Axes | None = None) -> Axes:
        """Observed and expected events per group as paired bars, with the p-value."""
        from cmltrack.plots.results import plot_logrank_result

        return plot_logrank_result(self, ax=ax)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe({"chi2": self.chi2, "df": self.df, "p": self.p})
        return out

    def __repr__(self) -> str:
        return f"<LogRankResult chi2={fmt(self.chi2)} df={self.df} p={fmt(self.p)}>"


@dataclass(frozen=True, slots=True)
class KMResult:
    """Kaplan-Meier curves per group (sorted group values; "all" without groups).

    Five patients; by hand: 5 at risk at month 5, one event (S = 4/5 = 0.8); one censored at
    8; 3 at risk at 12 with two events (S = 0.8 x 1/3 = 0.2667); the median is 12 months:

    Examples:
        >>> from cmltrack.stats import kaplan_meier
        >>> km = kaplan_meier([5, 8, 12, 12, 20], [1, 0, 1, 1, 0])
        >>> km.to_frame()[["group", "time", "n_risk", "n_event", "survival"]]
          group  time  n_risk  n_event  survival
        0   all   5.0       5        1  0.800000
        1   all   8.0       4        0  0.800000
        2   all  12.0       3        2  0.266667
        3   all  20.0       1        0  0.266667
        >>> km.median_survival_time_
        all    12.0
        Name: median, dtype: float64
        >>> km.survival_function_["all"].round(4).to_dict()
        {0.0: 1.0, 5.0: 0.8, 8.0: 0.8, 12.0: 0.2667, 20.0: 0.2667}
        >>> km.plot(xlabel="months")  # doctest: +ELLIPSIS
        <Axes: ...>
    """

    ci: str
    level: float
    groups: tuple[KMCurve, ...]
    logrank: LogRankResult | None

    @property
    def summary(self) -> pd.DataFrame:
        rows = [
            [g.group, g.n, g.events, g.median, g.median_lower, g.median_upper] for g in self.groups
        ]
        return pd.DataFrame(
            rows, columns=["group", "n", "events", "median", "median_lower", "median_upper"]
        )

    def to_frame(self) -> pd.DataFrame:
        """Every group's curve in one long table: ``group`` then the columns of
        :meth:`KMCurve.to_frame` (time, n_risk, n_event, n_censor, survival, std_err, lower,
        upper)."""
        frames = [c.to_frame().assign(group=c.group) for c in self.groups]
        out = pd.concat(frames, ignore_index=True)
        return out[["group", *[col for col in out.columns if col != "group"]]]

    @property
    def survival_function_(self) -> pd.DataFrame:
        """Survival per group (columns) on every time of any group (index ``timeline``, from 0),
        carried forward between a group's own times, as lifelines' attribute."""
        return step_table([(c.group, c.time, c.survival) for c in self.groups], 1.0)

    @property
    def median_survival_time_(self) -> pd.Series:
        """The median per group (NaN: not reached)."""
        return pd.Series({c.group: c.median for c in self.groups}, name="median")

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """The curves as :func:`cmltrack.plots.plot_km` draws them (bands, censoring ticks,
        log-rank p, numbers at risk); ``kwargs`` go to
        :func:`cmltrack.plots.survival.plot_km_result` (times, xlabel, ylabel, title,
        confidence, greyscale)."""
        from cmltrack.plots.survival import plot_km_result

        return plot_km_result(self, ax=ax, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ci": self.ci,
            "level": self.level,
            "groups": [g.to_dict() for g in self.groups],
            "logrank": None if self.logrank is None else self.logrank.to_dict(),
        }

    def __repr__(self) -> str:
        lr = "" if self.logrank is None else f" logrank p={fmt(self.logrank.p)}"
        return f"<KMResult {len(self.groups)} group(s), ci={self.ci}{lr}>"


def product_limit(
    time: FloatArray, event: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Distinct times, at risk, events, censorings and the Kaplan-Meier estimate after each."""
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order]
    ut, first, counts = np.unique(t, return_index=True, return_counts=True)
    d = np.add.reduceat(e, first).astype(np.float64)
    n_risk = (t.size - np.concatenate(([0], np.cumsum(counts)[:-1]))).astype(np.float64)
    surv = np.asarray(np.cumprod(1.0 - d / n_risk), dtype=np.float64)
    return ut, n_risk, d, counts - d, surv


def _km_curve(
    group: Any, time: FloatArray, event: FloatArray, at: FloatArray, conf_type: str, z: float
) -> KMCurve:
    ut, n_risk, d, n_censor, surv = product_limit(time, event)
    t = np.sort(time)
    n = t.size
    with np.errstate(divide="ignore"):
        # Greenwood: d / (n (n - d)); infinite once the curve reaches 0, as in R.
        inc = np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0)
    std_err = np.sqrt(np.cumsum(inc))
    lower, upper = survival_ci(surv, std_err, conf_type, z)

    # Median and its limits: R quantile.survfit reads the same quantile off each curve.
    x = np.concatenate(([0.0], ut))
    median = find_quantile(x, np.concatenate(([0.0], 1.0 - surv)), 0.5)
    med_lo = find_quantile(x, np.concatenate(([0.0], 1.0 - lower)), 0.5)
    med_hi = find_quantile(x, np.concatenate(([0.0], 1.0 - upper)), 0.5)

    # summary(fit, times, extend = TRUE) works on survfit0(fit): a row at time 0 with S = 1 and
    # limits 1 is put in front unless the curve already starts at 0.
    if ut[0] != 0.0:
        t0 = np.concatenate(([0.0], ut))
        s0 = np.concatenate(([1.0], surv))
        lo0 = np.concatenate(([1.0], lower))
        hi0 = np.concatenate(([1.0], upper))
    else:
        t0, s0, lo0, hi0 = ut, surv, lower, upper
    row = np.maximum(np.searchsorted(t0, at, side="right") - 1, 0)
    at_risk = n - np.searchsorted(t, at, side="left")
    reads = tuple(
        SurvivalAt(float(a), float(s0[r]), float(lo0[r]), float(hi0[r]), int(k))
        for a, r, k in zip(at, row, at_risk, strict=True)
    )
    return KMCurve(
        group=group,
        n=n,
        events=int(d.sum()),
        time=ut,
        n_risk=n_risk,
        n_event=d,
        n_censor=n_censor,
        survival=surv,
        std_err=std_err,
        lower=lower,
        upper=upper,
        median=median,
        median_lower=med_lo,
        median_upper=med_hi,
        at=reads,
    )


def _check_at(at: Any) -> FloatArray:
    arr = np.sort(np.asarray([] if at is None else at, dtype=np.float64).ravel())
    if (~np.isfinite(arr) | (arr < 0)).any():
        raise InputError("times must be finite and >= 0", code="bad_argument", field="at")
    return arr


def logrank_test(time: Any, event: Any, group: Any) -> LogRankResult:
    """The log-rank test of equal survival across groups, as R ``survdiff(rho = 0)``."""
    t = as_times(time)
    e = as_codes(event, (0, 1), t.size, "event").astype(np.float64)
    labels, codes = group_labels(group, t.size)
    return _logrank(t, e, codes, labels)


def _logrank(t: FloatArray, e: FloatArray, codes: Any, labels: list[Any]) -> LogRankResult:
    from scipy.special import chdtrc  # chi-square upper tail

    g = len(labels)
    ut, tidx = np.unique(t, return_inverse=True)
    nt = ut.size
    # Deaths and subjects per (time, group); at risk = those with time >= t, by reverse cumsum.
    deaths = np.bincount(tidx * g + codes, weights=e, minlength=nt * g).reshape(nt, g)
    counts = np.bincount(tidx * g + codes, minlength=nt * g).reshape(nt, g).astype(np.float64)
    risk = np.cumsum(counts[::-1], axis=0)[::-1]
    d = deaths.sum(axis=1)
    nr = risk.sum(axis=1)
    keep = d > 0
    d, nr, risk, deaths = d[keep], nr[keep], risk[keep], deaths[keep]
    observed = deaths.sum(axis=0)
    expected = (d[:, None] * risk / nr[:, None]).sum(axis=0)
    # Hypergeometric variance; a single subject at risk contributes none (R survdiff2.c).
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(nr > 1, d * (nr - d) / (nr * nr * (nr - 1)), 0.0)
    var = np.diag((w[:, None] * risk * nr[:, None]).sum(axis=0)) - (w[:, None] * risk).T @ risk
    use = expected > 0
    df = int(use.sum()) - 1
    chi2 = float("nan")
    p = float("nan")
    if df >= 1:
        diff = (observed - expected)[use][1:]
        vv = var[np.ix_(use, use)][1:, 1:]
        try:
            chi2 = float(diff @ np.linalg.solve(vv, diff))
            p = float(chdtrc(df, chi2))
        except np.linalg.LinAlgError:
            pass
    return LogRankResult(tuple(labels), observed, expected, var, chi2, max(df, 0), p)


def kaplan_meier(
    time: Any,
    event: Any,
    group: Any = None,
    at: Any = None,
    ci: ConfType = "log",
    level: float = 0.95,
) -> KMResult:
    """Kaplan-Meier curves with Greenwood limits, medians, readings ``at`` times, log-rank.

    ``event`` is 1 for an event and 0 for a censored time. ``ci`` is the transform of the
    pointwise interval (R's ``conf.type``): "log", R's default and so cmltrack's (the project
    promises R's numbers), "loglog" (also spelt "log-log", SAS's default) or "plain".
    """
    if str(ci) == "log-log":  # R's spelling
        ci = "loglog"
    t = as_times(time)
    e = as_codes(event, (0, 1), t.size, "event").astype(np.float64)
    if ci not in CONF_TYPES:
        raise InputError(
            f"unknown interval type {ci!r} (loglog, log, plain)", code="unknown_value", field="ci"
        )
    z = z_value(level)
    at_arr = _check_at(at)
    if group is None:
        curves: tuple[KMCurve, ...] = (_km_curve("all", t, e, at_arr, ci, z),)
        return KMResult(ci, level, curves, None)
    labels, codes = group_labels(group, t.size)
    curves = tuple(
        _km_curve(lab, t[codes == i], e[codes == i], at_arr, ci, z) for i, lab in enumerate(labels)
    )
    lr = _logrank(t, e, codes, labels) if len(labels) >= 2 else None
    return KMResult(ci, level, curves, lr)


__all__ = [
    "KMCurve",
    "KMResult",
    "LogRankResult",
    "SurvivalAt",
    "find_quantile",
    "kaplan_meier",
    "logrank_test",
    "product_limit",
    "survival_ci",
]
