"""Current cumulative incidence (CCI) and current leukaemia-free survival (CLFS).

Pavlik T, Janousova E, Pospisil Z, et al. Estimation of current cumulative incidence of
leukaemia-free patients and current leukaemia-free survival in chronic myeloid leukaemia in the
era of modern pharmacotherapy. BMC Med Res Methodol 2011;11:140 (R package currentSurvival).

On TKIs a patient may reach a complete cytogenetic remission, lose it and regain it. The CCI is
the probability of being alive and in remission at time t after therapy start; the CLFS is the
same measured from the first remission, among the patients who reached it. Both are sums and
differences of ordinary estimates (the project's reference text "current-remission.md"):

    CCI(t)  = sum_i A_i(t) - sum_i B_i(t) - sum_i C_i(t)    (Aalen-Johansen incidences)
    CLFS(t) = S*_1(t) + sum_{i>=2} S*_i(t) - sum_{i>=2} S_i(t)   (Kaplan-Meier curves)

with comCI = A_1 (the common cumulative incidence of the first remission) and LFS = S*_1.
A_i: reaching the i-th remission; B_i: losing it; C_i: dying in it (competing: its loss, or
death before it); S*_i: losing the i-th remission (death counts as the event); S_i: reaching the
i-th remission (death counts as the event). A missing time is the follow-up, with death (cause
2 / event) if the patient died, else censored. Where the last remission has no loss column, its
B is 0 and S* is the survival curve.

Times are whole days; each estimate is a right-continuous step function read at day t. Past the
largest follow-up (from therapy start for CCI, from the first remission for CLFS) there is no
estimate (NaN, null in JSON): cmltrack's choice where the reference is silent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cmltrack.errors import InputError
from cmltrack.stats._checks import FloatArray, IntArray, as_codes
from cmltrack.stats._result import fmt, json_safe
from cmltrack.stats.competing import _cinc
from cmltrack.stats.survival import product_limit

if TYPE_CHECKING:
    from matplotlib.axes import Axes

RULE = "PAVLIK2011.CCI"


@dataclass(frozen=True, slots=True)
class CurrentResult:
    """CCI with comCI at ``cci_times`` (from therapy start) and CLFS with LFS at
    ``clfs_times`` (from the first remission).

    Two patients followed 100 days, neither dies: one reaches remission on day 10 and keeps
    it, the other never does. By hand: CCI(5) = 0; CCI(50) = comCI(50) = 1/2 (one of two in
    remission); from the first remission nobody loses it, so CLFS = LFS = 1.

    Examples:
        >>> from cmltrack.stats import current_cumulative_incidence
        >>> nan = float("nan")
        >>> cci = current_cumulative_incidence([[10, nan]], [[nan, nan]], [100, 100], [0, 0],
        ...                                    at=[5, 50])
        >>> cci.to_frame()
           time  cci  comci  clfs  lfs
        0   5.0  0.0    0.0   1.0  1.0
        1  50.0  0.5    0.5   1.0  1.0
        >>> cci.plot(xlabel="days")  # doctest: +ELLIPSIS
        <Axes: ...>
    """

    n: int
    remissions: int
    cci_times: FloatArray
    cci: FloatArray
    comci: FloatArray
    clfs_times: FloatArray
    clfs: FloatArray
    lfs: FloatArray

    @property
    def summary(self) -> pd.DataFrame:
        a = pd.DataFrame({"time": self.cci_times, "cci": self.cci, "comci": self.comci})
        b = pd.DataFrame({"time": self.clfs_times, "clfs": self.clfs, "lfs": self.lfs})
        return a.merge(b, on="time", how="outer")

    def to_frame(self) -> pd.DataFrame:
        """CCI and comCI, CLFS and LFS at each time asked for (NaN where not asked)."""
        return self.summary

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """CCI and comCI (and CLFS, LFS where asked) against time, as points joined by steps;
        ``kwargs`` go to :func:`cmltrack.plots.results.plot_current_result`."""
        from cmltrack.plots.results import plot_current_result

        return plot_current_result(self, ax=ax, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe(
            {
                "n": self.n,
                "remissions": self.remissions,
                "cci": [
                    {"time": t, "cci": c, "comci": m}
                    for t, c, m in zip(self.cci_times, self.cci, self.comci, strict=True)
                ],
                "clfs": [
                    {"time": t, "clfs": c, "lfs": m}
                    for t, c, m in zip(self.clfs_times, self.clfs, self.lfs, strict=True)
                ],
            }
        )
        return out

    def __repr__(self) -> str:
        pairs = ", ".join(
            f"CCI({t:g})={fmt(c, 3)}" for t, c in zip(self.cci_times, self.cci, strict=True)
        )
        return f"<CurrentResult n={self.n} remissions={self.remissions} {pairs}>"


def _step(times: FloatArray, values: FloatArray, at: FloatArray, start: float) -> FloatArray:
    """Right-continuous step function (``start`` before the first jump) read at ``at``."""
    if times.size == 0:
        return np.full(at.size, start)
    k = np.searchsorted(times, at, side="right") - 1
    return np.where(k >= 0, values[np.maximum(k, 0)], start)


def _cif_at(time: FloatArray, status: IntArray, at: FloatArray) -> FloatArray:
    jt, f, _ = _cinc(time, status, 1)
    return _step(jt, f, at, 0.0)


def _km_at(time: FloatArray, event: FloatArray, at: FloatArray) -> FloatArray:
    ut, _, _, _, surv = product_limit(time, event)
    return _step(ut, surv, at, 1.0)


def _observed_or_end(
    t: FloatArray, follow_up: FloatArray, death: IntArray
) -> tuple[FloatArray, IntArray]:
    """Time and cause: an observed time is cause 1; a missing one is the follow-up, with
    cause 2 (death) if the patient died, else 0 (censored)."""
    seen = ~np.isnan(t)
    return np.where(seen, t, follow_up), np.where(seen, 1, np.where(death == 1, 2, 0))


def check_histories(
    remissions: Sequence[FloatArray], losses: Sequence[FloatArray], follow_up: FloatArray
) -> None:
    """Each history must run forwards: R_1 <= L_1 <= R_2 <= ... <= follow-up, no gaps."""
    seq: list[tuple[str, FloatArray]] = []
    for i, r in enumerate(remissions):
        seq.append((f"remission_{i + 1}", r))
        if i < len(losses):
            seq.append((f"loss_{i + 1}", losses[i]))
    prev = np.zeros_like(follow_up)
    prev_seen = np.ones(follow_up.size, dtype=bool)
    for name, v in seq:
        seen = ~np.isnan(v)
        for bad, what in (
            (seen & (v < 0), "is negative"),
            (seen & ~prev_seen, "is given although the event before it is missing"),
            (seen & (v < prev), "is earlier than the event before it"),
            (seen & (v > follow_up), "is later than the follow-up"),
        ):
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(f"{v[i]:g} {what}", code="inconsistent", row=i + 1, field=name)
        prev = np.where(seen, v, prev)
        prev_seen = seen


def current_cumulative_incidence(
    remissions: Sequence[Any],
    losses: Sequence[Any],
    follow_up: Any,
    death: Any,
    at: Any,
    clfs_at: Any = None,
) -> CurrentResult:
    """CCI/comCI at days ``at`` from therapy start and CLFS/LFS at days ``clfs_at`` (default
    ``at``) from the first remission.

    ``remissions[i]`` and ``losses[i]`` are the days of the (i+1)-th remission and its loss
    (NaN where it did not happen); there may be one loss column fewer than remissions.
    """
    fu = np.asarray(follow_up, dtype=np.float64).ravel()
    n = fu.size
    if n == 0:
        raise InputError("no patients", code="empty", field="follow_up")
    if (~np.isfinite(fu) | (fu < 0)).any():
        i = int(np.flatnonzero(~np.isfinite(fu) | (fu < 0))[0])
        raise InputError(
            "follow-up must be a number >= 0", code="impossible_value", row=i + 1, field="follow_up"
        )
    dead = as_codes(death, (0, 1), n, "death")
    rem = [np.asarray(r, dtype=np.float64).ravel() for r in remissions]
    los = [np.asarray(x, dtype=np.float64).ravel() for x in losses]
    if not rem:
        raise InputError("no remission column", code="missing_field", field="remission_1")
    if not len(rem) - 1 <= len(los) <= len(rem):
        raise InputError(
            f"{len(rem)} remission and {len(los)} loss columns", code="inconsistent", field="loss"
        )
    if any(v.size != n for v in rem + los):
        raise InputError("columns of unequal length", code="inconsistent", field="remission")
    check_histories(rem, los, fu)
    t_cci = np.asarray(at, dtype=np.float64).ravel()
    t_clfs = t_cci if clfs_at is None else np.asarray(clfs_at, dtype=np.float64).ravel()
    if (t_cci < 0).any() or (t_clfs < 0).any():
        raise InputError("times must be >= 0", code="bad_argument", field="at")
    nan_loss = np.full(n, np.nan)

    # CCI from therapy start.
    cci = np.zeros(t_cci.size)
    comci = np.zeros(t_cci.size)
    for i, r in enumerate(rem):
        loss = los[i] if i < len(los) else nan_loss
        a = _cif_at(*_observed_or_end(r, fu, dead), t_cci)
        cci += a
        if i == 0:
            comci = a
        if i < len(los):
            cci -= _cif_at(*_observed_or_end(loss, fu, dead), t_cci)
        reached = ~np.isnan(r)
        if reached.any():
            # C_i: death while in the i-th remission; competing: its loss, or death before it.
            lost = ~np.isnan(loss)
            t_c = np.where(lost, loss, fu)
            cause = np.where(
                reached & ~lost & (dead == 1), 1, np.where(lost | (~reached & (dead == 1)), 2, 0)
            )
            cci -= _cif_at(t_c, cause, t_cci)
    beyond = t_cci > fu.max()
    cci[beyond] = np.nan
    comci = np.where(beyond, np.nan, comci)

    # CLFS from the first remission, among those who reached it.
    first = rem[0]
    who = ~np.isnan(first)
    clfs = np.full(t_clfs.size, np.nan)
    lfs = np.full(t_clfs.size, np.nan)
    if who.any():
        r1, fu1, d1 = first[who], fu[who] - first[who], dead[who]

        def km(t: FloatArray) -> FloatArray:
            # Event: the observed time, or death at follow-up; else censored at follow-up.
            seen = ~np.isnan(t)
            return _km_at(
                np.where(seen, t - r1, fu1), (seen | (d1 == 1)).astype(np.float64), t_clfs
            )

        lfs = km(los[0][who] if los else nan_loss[who])
        clfs = lfs.copy()
        for i in range(1, len(rem)):
            loss = los[i][who] if i < len(los) else nan_loss[who]
            clfs += km(loss) - km(rem[i][who])
        gone = t_clfs > fu1.max()
        clfs[gone] = np.nan
        lfs = np.where(gone, np.nan, lfs)
    return CurrentResult(n, int(who.sum()), t_cci, cci, comci, t_clfs, clfs, lfs)


__all__ = ["RULE", "CurrentResult", "check_histories", "current_cumulative_incidence"]
