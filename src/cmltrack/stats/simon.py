"""Simon's optimal and minimax two-stage phase II designs (Simon R, Control Clin Trials
1989;10:1-10), found by exact binomial search.

Stage 1 treats n1 patients and stops for futility if at most r1 respond; otherwise n - n1 more
are treated and the drug is rejected if at most r respond in all n. A design is admissible when
P(declare active | p0) <= alpha and P(declare active | p1) >= power. The optimal design
minimises the expected sample size under p0 (EN0); the minimax design minimises n, then EN0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cmltrack.errors import InputError
from cmltrack.stats._result import json_safe

#: Guard for comparing computed error rates with the targets (binomial sums carry rounding).
_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class SimonDesign:
    """One two-stage design with its operating characteristics."""

    r1: int
    n1: int
    r: int
    n: int
    en0: float
    pet0: float
    alpha: float  # attained type I error
    power: float  # attained power

    def to_dict(self) -> dict[str, Any]:
        # The contract's keys only; the attained alpha and power are in ``summary``.
        out: dict[str, Any] = json_safe(
            {
                "r1": self.r1,
                "n1": self.n1,
                "r": self.r,
                "n": self.n,
                "en0": self.en0,
                "pet0": self.pet0,
            }
        )
        return out

    def __str__(self) -> str:
        return f"{self.r1}/{self.n1}, {self.r}/{self.n}"


@dataclass(frozen=True, slots=True)
class SimonResult:
    """The optimal and minimax designs for (p0, p1, alpha, power)."""

    p0: float
    p1: float
    alpha: float
    power: float
    optimal: SimonDesign
    minimax: SimonDesign

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                [d.r1, d.n1, d.r, d.n, d.en0, d.pet0, d.alpha, d.power]
                for d in (self.optimal, self.minimax)
            ],
            columns=["r1", "n1", "r", "n", "EN0", "PET0", "alpha", "power"],
            index=["optimal", "minimax"],
        )

    def to_frame(self) -> pd.DataFrame:
        """The result as a one-table DataFrame (as :attr:`summary`)."""
        return self.summary

    def to_dict(self) -> dict[str, Any]:
        return {
            "p0": self.p0,
            "p1": self.p1,
            "alpha": self.alpha,
            "power": self.power,
            "optimal": self.optimal.to_dict(),
            "minimax": self.minimax.to_dict(),
        }

    def __repr__(self) -> str:
        return (
            f"<SimonResult p0={self.p0} p1={self.p1} alpha={self.alpha} power={self.power}: "
            f"optimal {self.optimal} (EN0 {self.optimal.en0:.1f}), "
            f"minimax {self.minimax} (EN0 {self.minimax.en0:.1f})>"
        )


def _check(p0: float, p1: float, alpha: float, power: float, nmax: int) -> None:
    for name, v in (("p0", p0), ("p1", p1), ("alpha", alpha), ("power", power)):
        if not 0.0 < v < 1.0:
            raise InputError(
                f"{name} = {v!r} is not between 0 and 1", code="bad_argument", field=name
            )
    if p1 <= p0:
        raise InputError(f"p1 = {p1} must exceed p0 = {p0}", code="bad_argument", field="p1")
    if not 2 <= nmax <= 1000:
        raise InputError(
            f"nmax = {nmax} is not between 2 and 1000", code="bad_argument", field="nmax"
        )


def simon_two_stage(
    p0: float, p1: float, alpha: float = 0.05, power: float = 0.8, nmax: int = 100
) -> SimonResult:
    """Search every (r1, n1, r, n) with n <= ``nmax`` for the optimal and minimax designs."""
    from scipy.stats import binom

    _check(p0, p1, alpha, power, nmax)
    m = np.arange(nmax + 1)
    # pmf[p][size, x] and sf[p][size, k + 1] = P(X > k), k = -1..nmax, for X ~ Bin(size, p).
    xs = np.arange(nmax + 1)
    pmf = {p: binom.pmf(xs[None, :], m[:, None], p) for p in (p0, p1)}
    sf = {
        p: np.hstack((np.ones((nmax + 1, 1)), binom.sf(xs[None, :], m[:, None], p)))
        for p in (p0, p1)
    }
    cdf0 = binom.cdf(xs[None, :], m[:, None], p0)
    best_opt: tuple[float, int, SimonDesign] | None = None
    best_mm: tuple[int, float, SimonDesign] | None = None
    for n in range(2, nmax + 1):
        for n1 in range(1, n):
            n2 = n - n1
            x1 = np.arange(n1 + 1)
            r = np.arange(n)
            k = np.clip(r[None, :] - x1[:, None], -1, n2) + 1  # index into sf (P(X2 > r - x1))
            rej = {}
            for p in (p0, p1):
                mat = pmf[p][n1, : n1 + 1, None] * sf[p][n2][k]
                # P(declare active) for r1 = row: sum over x1 > r1 of the stage-2 passes.
                rej[p] = np.cumsum(mat[::-1], axis=0)[::-1][1:]  # rows r1 = 0..n1-1
            r1s = np.arange(n1)
            valid_r = r[None, :] >= r1s[:, None]
            ok_alpha = valid_r & (rej[p0] <= alpha + _EPS)
            has = ok_alpha.any(axis=1)
            if not has.any():
                continue
            # The smallest admissible r has the largest power for that (r1, n1, n).
            rstar = np.argmax(ok_alpha, axis=1)
            pw = rej[p1][r1s, rstar]
            feas = has & (pw >= power - _EPS)
            for r1 in np.flatnonzero(feas):
                pet0 = float(cdf0[n1, r1])
                en0 = n1 + (1.0 - pet0) * n2
                design = SimonDesign(
                    int(r1),
                    n1,
                    int(rstar[r1]),
                    n,
                    en0,
                    pet0,
                    float(rej[p0][r1, rstar[r1]]),
                    float(pw[r1]),
                )
                if best_opt is None or en0 < best_opt[0] - 1e-12:
                    best_opt = (en0, n, design)
                if (
                    best_mm is None
                    or n < best_mm[0]
                    or (n == best_mm[0] and en0 < best_mm[1] - 1e-12)
                ):
                    best_mm = (n, en0, design)
    if best_opt is None or best_mm is None:
        raise InputError(
            f"no design with n <= {nmax} meets alpha and power; raise nmax",
            code="bad_argument",
            field="nmax",
        )
    return SimonResult(p0, p1, alpha, power, best_opt[2], best_mm[2])


__all__ = ["SimonDesign", "SimonResult", "simon_two_stage"]
