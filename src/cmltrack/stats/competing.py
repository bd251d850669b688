"""Cumulative incidence with competing risks and Gray's test, as R ``cmprsk``.

The estimate is the Aalen-Johansen cumulative incidence of cause 1 and its variance is the one
of Gray's Fortran routine ``cinc`` in cmprsk (Gray RJ, Ann Stat 1988;16:1141-54); the test is
Gray's K-sample test (routine ``crstm``, rho = 0 by default). Both are ports of cmprsk 2.2 made
loop-free with numpy over the distinct failure times, so that 200,000 subjects take a second.
Readings at chosen times follow ``cmprsk::timepoints``: past a group's last follow-up there is
no estimate (NaN here, null in JSON).

Aalen OO, Johansen S. Scand J Stat 1978;5:141-50. Gray RJ. Ann Stat 1988;16:1141-54.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cmltrack.errors import InputError
from cmltrack.stats._checks import FloatArray, IntArray, as_codes, as_times, group_labels, z_value
from cmltrack.stats._result import fmt, json_safe, step_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass(frozen=True, slots=True)
class IncidenceAt:
    """The cumulative incidence read at one time, with its variance and log(-log) interval."""

    time: float
    cif: float
    var: float
    lower: float
    upper: float

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe(
            {"time": self.time, "cif": self.cif, "var": self.var, "ci": [self.lower, self.upper]}
        )
        return out


@dataclass(frozen=True, slots=True)
class IncidenceCurve:
    """One group's cumulative incidence of the cause of interest at each of its failure times."""

    group: Any
    n: int
    events: int
    competing: int
    time: FloatArray
    cif: FloatArray
    var: FloatArray
    last_follow_up: float
    at: tuple[IncidenceAt, ...]

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "cif": self.cif, "var": self.var})

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """The estimate at each failure time with its variance and log(-log) interval."""
        z = z_value(level)
        limits = [_cif_ci(float(f), float(v), z) for f, v in zip(self.cif, self.var, strict=True)]
        out = self.summary
        out["lower"] = [a for a, _b in limits]
        out["upper"] = [b for _a, b in limits]
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe(
            {"group": self.group, "n": self.n, "at": [a.to_dict() for a in self.at]}
        )
        return out

    def __repr__(self) -> str:
        last = fmt(float(self.cif[-1])) if self.cif.size else "0"
        return (
            f"<IncidenceCurve group={self.group!r} n={self.n} events={self.events} "
            f"competing={self.competing} final={last}>"
        )


@dataclass(frozen=True, slots=True)
class GrayTest:
    """Gray's K-sample test of equal cumulative incidence of the cause of interest."""

    score: FloatArray
    variance: FloatArray
    stat: float
    df: int
    p: float

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe({"stat": self.stat, "df": self.df, "p": self.p})
        return out

    def __repr__(self) -> str:
        return f"<GrayTest stat={fmt(self.stat)} df={self.df} p={fmt(self.p)}>"


@dataclass(frozen=True, slots=True)
class CumIncResult:
    """Cumulative incidence curves per group (sorted; "all" without groups) and Gray's test.

    Four patients: MMR (1) at 2 and 6 months, death before MMR (2) at 4, one censored at 8.
    By hand (Aalen-Johansen): at 2, 1 of 4 reaches MMR (F = 1/4); at 4 the death leaves the
    overall survival at 3/4 x 2/3 = 1/2; at 6, 1 of 2 reaches MMR: F = 1/4 + 1/2 x 1/2 = 1/2.

    Examples:
        >>> from cmltrack.stats import cumulative_incidence
        >>> cif = cumulative_incidence([2, 4, 6, 8], [1, 2, 1, 0])
        >>> cif.to_frame()[["group", "time", "cif"]]
          group  time   cif
        0   all   2.0  0.25
        1   all   6.0  0.50
        >>> cif.cumulative_density_["all"].to_dict()
        {0.0: 0.0, 2.0: 0.25, 6.0: 0.5}
        >>> cif.plot(xlabel="months")  # doctest: +ELLIPSIS
        <Axes: ...>
    """

    level: float
    groups: tuple[IncidenceCurve, ...]
    gray: GrayTest | None

    @property
    def summary(self) -> pd.DataFrame:
        rows = [
            [g.group, a.time, a.cif, a.var, a.lower, a.upper] for g in self.groups for a in g.at
        ]
        return pd.DataFrame(rows, columns=["group", "time", "cif", "var", "lower", "upper"])

    def to_frame(self) -> pd.DataFrame:
        """Every group's estimate at its failure times in one long table: group, time, cif,
        var and the log(-log) interval at the result's level."""
        frames = [c.to_frame(self.level).assign(group=c.group) for c in self.groups]
        out = pd.concat(frames, ignore_index=True)
        return out[["group", "time", "cif", "var", "lower", "upper"]]

    @property
    def cumulative_density_(self) -> pd.DataFrame:
        """Cumulative incidence per group (columns) on every failure time of any group (index
        ``timeline``, from 0), carried forward, as lifelines' AalenJohansenFitter names it."""
        return step_table([(c.group, c.time, c.cif) for c in self.groups], 0.0)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Each group's cumulative incidence as a step curve with its log(-log) band and Gray's
        p; ``kwargs`` go to :func:`cmltrack.plots.results.plot_cif_result` (xlabel, ylabel,
        title, confidence, greyscale). For the competing event beside it, use
        :func:`cmltrack.plots.plot_cif` on the data."""
        from cmltrack.plots.results import plot_cif_result

        return plot_cif_result(self, ax=ax, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": [g.to_dict() for g in self.groups],
            "gray": None if self.gray is None else self.gray.to_dict(),
        }

    def __repr__(self) -> str:
        gray = "" if self.gray is None else f" Gray p={fmt(self.gray.p)}"
        return f"<CumIncResult {len(self.groups)} group(s){gray}>"


def _cinc(
    time: FloatArray, status: IntArray, cause: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """cmprsk's ``cinc``: jump times of cause ``cause``, the estimate and variance after each."""
    order = np.argsort(time, kind="stable")
    t, s = time[order], status[order]
    n = t.size
    ut, first, counts = np.unique(t, return_index=True, return_counts=True)
    nd1 = np.add.reduceat((s == cause).astype(np.float64), first)
    nd = np.add.reduceat((s != 0).astype(np.float64), first)
    nd2 = nd - nd1
    rs = (n - np.concatenate(([0], np.cumsum(counts)[:-1]))).astype(np.float64)
    keep = nd > 0
    ut, nd1, nd2, nd, rs = ut[keep], nd1[keep], nd2[keep], nd[keep], rs[keep]
    fkn = np.cumprod((rs - nd) / rs)  # all-cause KM just after each failure time
    fk = np.concatenate(([1.0], fkn[:-1]))  # ... and just before it
    # A probability: summing the increments can overshoot 1 by rounding (1 + 2e-16).
    f = np.minimum(np.cumsum(fk * nd1 / rs), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_fkn = np.where(fkn > 0, 1.0 / fkn, 0.0)
        # Other causes (only while the KM is above 0).
        t5 = np.where(nd2 > 1, 1.0 - (nd2 - 1.0) / (rs - 1.0), 1.0)
        t6 = np.where((nd2 > 0) & (fkn > 0), fk * fk * t5 * nd2 / (rs * rs), 0.0)
        t4 = f * inv_fkn
        dv1 = t4 * t4 * t6
        dv2 = inv_fkn * t4 * t6
        dv3 = inv_fkn * inv_fkn * t6
        # The cause of interest.
        t5 = np.where(nd1 > 1, 1.0 - (nd1 - 1.0) / (rs - 1.0), 1.0)
        t6 = np.where(nd1 > 0, fk * fk * t5 * nd1 / (rs * rs), 0.0)
        t4 = 1.0 + inv_fkn * f
        dv1 = dv1 + t4 * t4 * t6
        dv2 = dv2 + inv_fkn * t4 * t6
        dv3 = dv3 + inv_fkn * inv_fkn * t6
    v1, v2, v3 = np.cumsum(dv1), np.cumsum(dv2), np.cumsum(dv3)
    var = v1 + f * f * v3 - 2.0 * f * v2
    # The variance is only updated where the estimate jumps (as in cinc).
    jump = nd1 > 0
    return ut[jump], f[jump], var[jump]


def _cif_ci(f: float, var: float, z: float) -> tuple[float, float]:
    """The log(-log) interval F^exp(+-z sd / (F log F)); NaN where F is 0 or 1."""
    if not (0.0 < f < 1.0) or not np.isfinite(var):
        return float("nan"), float("nan")
    # v1 + F^2 v3 - 2 F v2 cancels: where the variance is 0 it can come out as -1e-17.
    w = z * np.sqrt(max(var, 0.0)) / (f * np.log(f))
    with np.errstate(over="ignore"):  # a huge variance: the limits go to 0 and 1
        a, b = f ** np.exp(w), f ** np.exp(-w)
    return float(min(a, b)), float(max(a, b))


def _curve(
    label: Any, time: FloatArray, status: IntArray, cause: int, at: FloatArray, z: float
) -> IncidenceCurve:
    jt, f, v = _cinc(time, status, cause)
    last = float(time.max())
    reads = []
    for a in at:
        if a > last:  # cmprsk::timepoints gives NA past the group's last follow-up
            reads.append(
                IncidenceAt(float(a), float("nan"), float("nan"), float("nan"), float("nan"))
            )
            continue
        k = int(np.searchsorted(jt, a, side="right")) - 1
        fa, va = (float(f[k]), float(v[k])) if k >= 0 else (0.0, 0.0)
        lo, hi = _cif_ci(fa, va, z)
        reads.append(IncidenceAt(float(a), fa, va, lo, hi))
    return IncidenceCurve(
        group=label,
        n=int(time.size),
        events=int((status == cause).sum()),
        competing=int(((status != cause) & (status != 0)).sum()),
        time=jt,
        cif=f,
        var=v,
        last_follow_up=last,
        at=tuple(reads),
    )


def gray_test(time: Any, status: Any, group: Any, cause: int = 1, rho: float = 0.0) -> GrayTest:
    """Gray's test that the cumulative incidence of ``cause`` is equal across groups."""
    t = as_times(time)
    s = as_codes(status, (0, 1, 2), t.size, "status")
    labels, codes = group_labels(group, t.size)
    if len(labels) < 2:
        raise InputError("Gray's test needs at least 2 groups", code="bad_argument", field="group")
    return _gray(t, s, codes, len(labels), cause, rho)


def _weighted_gram(t1: FloatArray, w: FloatArray) -> FloatArray:
    """sum over u, k of t1[u, i, k] t1[u, j, k] w[u, k], as one matrix product."""
    ng = t1.shape[1]
    a = t1.transpose(1, 0, 2).reshape(ng, -1)
    b = (t1 * w[:, None, :]).transpose(1, 0, 2).reshape(ng, -1)
    return np.asarray(a @ b.T, dtype=np.float64)


def _gray(
    time: FloatArray, status: IntArray, codes: IntArray, ng: int, cause: int, rho: float
) -> GrayTest:
    """A loop-free port of cmprsk's ``crst`` (one stratum)."""
    from scipy.special import chdtrc  # chi-square upper tail

    m = np.where(status == 0, 0, np.where(status == cause, 1, 2))
    ut, tidx = np.unique(time, return_inverse=True)
    nt = ut.size

    def per_time(mask: Any) -> FloatArray:
        w = np.asarray(mask, dtype=np.float64)
        out = np.bincount(tidx * ng + codes, weights=w, minlength=nt * ng)
        return np.asarray(out, dtype=np.float64).reshape(nt, ng)

    counts = per_time(np.ones(time.size))
    d1 = per_time(m == 1)
    d2 = per_time(m == 2)
    rs = np.cumsum(counts[::-1], axis=0)[::-1]  # at risk in each group at each time
    ev = (d1.sum(axis=1) + d2.sum(axis=1)) > 0
    rs, d1, d2 = rs[ev], d1[ev], d2[ev]
    nd1 = d1.sum(axis=1)
    live = rs > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(live, (rs - d1 - d2) / np.where(live, rs, 1.0), 1.0)
        skm = np.cumprod(factor, axis=0)  # right-continuous KM per group
        skmm = np.vstack((np.ones((1, ng)), skm[:-1]))  # left-continuous
        inc = np.where(live, skmm * d1 / np.where(live, rs, 1.0), 0.0)
        f1m = np.vstack((np.zeros((1, ng)), np.cumsum(inc, axis=0)[:-1]))
        h = np.where(live, rs / skmm, 0.0)  # R_r / S_r(t-) in Gray's notation
        tr = h.sum(axis=1)
        tq = (h * (1.0 - f1m)).sum(axis=1)
        f = np.cumsum(nd1 / tr)
        fm = f - nd1 / tr
        fb = (1.0 - fm) ** rho
        a = fb[:, None, None] * (
            h[:, :, None] * np.eye(ng)[None, :, :]
            - h[:, :, None] * h[:, None, :] / tr[:, None, None]
        )
        c = np.cumsum(a * (nd1 / (tr * (1.0 - fm)))[:, None, None], axis=0)
        score = (fb[:, None] * (d1 - nd1[:, None] * h * (1.0 - f1m) / tq[:, None])).sum(axis=0)

        # Failures from the cause of interest.
        on1 = (nd1 > 0)[:, None] & live
        t4 = np.where(skm > 0, 1.0 - (1.0 - f[:, None]) / skm, 1.0)
        t5 = np.where(
            nd1[:, None] > 1, 1.0 - (nd1[:, None] - 1.0) / (tr[:, None] * skmm - 1.0), 1.0
        )
        t3 = np.where(on1, t5 * skmm * nd1[:, None] / (tr[:, None] * rs), 0.0)
        v3 = (t4 * t4 * t3).sum(axis=0)
        t1 = a - t4[:, None, :] * c  # (time, i, k)
        v2 = (t1 * (t4 * t3)[:, None, :]).sum(axis=0)
        v = _weighted_gram(t1, t3)

        # Failures from the competing causes.
        on2 = (skm > 0) & (d2 > 0)
        t4 = np.where(on2, (1.0 - f[:, None]) / skm, 0.0)
        t5 = np.where(d2 > 1, 1.0 - (d2 - 1.0) / (rs - 1.0), 1.0)
        t3 = np.where(on2, t5 * skmm**2 * d2 / rs**2, 0.0)
        v3 = v3 + (t4 * t4 * t3).sum(axis=0)
        t1 = t4[:, None, :] * c
        v2 = v2 - (t1 * (t4 * t3)[:, None, :]).sum(axis=0)
        v = v + _weighted_gram(t1, t3)

    cf = c[-1]
    v = v + cf @ np.diag(v3) @ cf.T + cf @ v2.T + v2 @ cf.T
    k = ng - 1
    s, vs = score[:k], v[:k, :k]
    stat = float("nan")
    p = float("nan")
    if np.all(np.isfinite(vs)) and np.linalg.matrix_rank(vs) == k:
        stat = float(s @ np.linalg.solve(vs, s))
        p = float(chdtrc(k, stat))
    return GrayTest(s, vs, stat, k, p)


def cumulative_incidence(
    time: Any,
    status: Any,
    group: Any = None,
    at: Any = None,
    cause: int = 1,
    level: float = 0.95,
) -> CumIncResult:
    """Aalen-Johansen cumulative incidence of ``cause`` (status 0 censored, 1 or 2 a failure).

    With ``group``, one curve per sorted group value and Gray's test; readings ``at`` times
    give the estimate, its variance (cmprsk) and the log(-log) interval.
    """
    t = as_times(time)
    s = as_codes(status, (0, 1, 2), t.size, "status")
    if cause not in (1, 2):
        raise InputError(f"cause {cause!r} is not 1 or 2", code="unknown_value", field="cause")
    z = z_value(level)
    at_arr = np.sort(np.asarray([] if at is None else at, dtype=np.float64).ravel())
    if (~np.isfinite(at_arr) | (at_arr < 0)).any():
        raise InputError("times must be finite and >= 0", code="bad_argument", field="at")
    if group is None:
        return CumIncResult(level, (_curve("all", t, s, cause, at_arr, z),), None)
    labels, codes = group_labels(group, t.size)
    curves = tuple(
        _curve(lab, t[codes == i], s[codes == i], cause, at_arr, z) for i, lab in enumerate(labels)
    )
    gray = _gray(t, s, codes, len(labels), cause, 0.0) if len(labels) >= 2 else None
    return CumIncResult(level, curves, gray)


__all__ = [
    "CumIncResult",
    "GrayTest",
    "IncidenceAt",
    "IncidenceCurve",
    "cumulative_incidence",
    "gray_test",
]
