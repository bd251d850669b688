"""A response rate with its confidence interval (Clopper-Pearson, Wilson or Wald).

Clopper CJ, Pearson ES. Biometrika 1934;26:404-13. Wilson EB. J Am Stat Assoc 1927;22:209-12.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from cmltrack.errors import InputError
from cmltrack.stats._checks import check_level
from cmltrack.stats._result import fmt, json_safe

RateMethod = Literal["exact", "wilson", "wald"]

#: Our method names -> statsmodels' ``proportion_confint`` names.
_STATSMODELS_METHOD: dict[str, str] = {"exact": "beta", "wilson": "wilson", "wald": "normal"}


@dataclass(frozen=True, slots=True)
class RateResult:
    """k responders of n with a two-sided confidence interval at ``level``.

    7 of 10 with the exact (Clopper-Pearson) interval, 0.3475-0.9333 as R's
    ``binom.test(7, 10)``:

    Examples:
        >>> from cmltrack.stats import rate_ci
        >>> rate_ci(7, 10).to_frame().round(4)
           k   n  estimate   lower   upper
        0  7  10       0.7  0.3475  0.9333
    """

    k: int
    n: int
    estimate: float
    lower: float
    upper: float
    method: str
    level: float

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            [[self.k, self.n, self.estimate, self.lower, self.upper]],
            columns=["k", "n", "estimate", "lower", "upper"],
        )

    def to_frame(self) -> pd.DataFrame:
        """The result as a one-table DataFrame (as :attr:`summary`)."""
        return self.summary

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe(
            {
                "k": self.k,
                "n": self.n,
                "estimate": self.estimate,
                "ci": [self.lower, self.upper],
                "method": self.method,
                "level": self.level,
            }
        )
        return out

    def __repr__(self) -> str:
        return (
            f"<RateResult {self.k}/{self.n} = {fmt(self.estimate)}, "
            f"{self.level:.0%} CI {fmt(self.lower)}-{fmt(self.upper)} ({self.method})>"
        )


def rate_ci(k: int, n: int, method: RateMethod = "exact", level: float = 0.95) -> RateResult:
    """Proportion k/n with its confidence interval.

    ``exact`` is Clopper-Pearson (statsmodels ``beta``), ``wilson`` the Wilson score interval,
    ``wald`` the normal approximation clipped to [0, 1].
    """
    from statsmodels.stats.proportion import proportion_confint

    if method not in _STATSMODELS_METHOD:
        raise InputError(
            f"unknown interval method {method!r} (exact, wilson, wald)",
            code="unknown_value",
            field="method",
        )
    check_level(level)
    if isinstance(k, bool) or isinstance(n, bool) or int(k) != k or int(n) != n:
        raise InputError("k and n must be whole numbers", code="bad_type", field="k")
    if n <= 0:
        raise InputError(f"n = {n} must be at least 1", code="impossible_value", field="n")
    if not 0 <= k <= n:
        raise InputError(f"k = {k} is not between 0 and n = {n}", code="inconsistent", field="k")
    lo, hi = proportion_confint(k, n, alpha=1.0 - level, method=_STATSMODELS_METHOD[method])
    lower, upper = float(lo), float(hi)
    if method == "wald":
        lower, upper = max(lower, 0.0), min(upper, 1.0)
    return RateResult(int(k), int(n), k / n, lower, upper, method, level)
