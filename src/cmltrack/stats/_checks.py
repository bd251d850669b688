"""Checks on the arrays a statistic receives (the CLI names file, row and column itself)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from cmltrack.errors import InputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def as_times(values: Any, field: str = "time") -> FloatArray:
    """Times as a float array: finite, non-negative and at least one."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        raise InputError("no observations", code="empty", field=field)
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"time {arr[i]!r} at index {i} must be a finite number >= 0",
            code="impossible_value",
            field=field,
        )
    return arr


def as_codes(values: Any, allowed: tuple[int, ...], n: int, field: str) -> IntArray:
    """Integer codes (event 0/1, status 0/1/2) of length n, every one in ``allowed``."""
    arr = np.asarray(values).ravel()
    if arr.size != n:
        raise InputError(f"{arr.size} codes for {n} times", code="inconsistent", field=field)
    num = arr.astype(np.float64)
    ok = np.isin(num, np.asarray(allowed, dtype=np.float64))
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        bad = arr[i].item() if isinstance(arr[i], np.generic) else arr[i]  # 2, not np.int64(2)
        raise InputError(
            f"code {bad!r} at index {i} is not one of {list(allowed)}",
            code="unknown_value",
            field=field,
        )
    return num.astype(np.int64)


def check_level(level: float) -> None:
    """A confidence level must lie strictly between 0 and 1."""
    if not 0.0 < level < 1.0:
        raise InputError(
            f"confidence level {level!r} is not between 0 and 1", code="bad_argument", field="level"
        )


def z_value(level: float) -> float:
    """The two-sided normal quantile for a confidence level, as R's qnorm(1 - (1-level)/2)."""
    from scipy.special import ndtri  # scipy.special: much lighter to import than scipy.stats

    check_level(level)
    return float(ndtri(1.0 - (1.0 - level) / 2.0))


def group_labels(groups: Any, n: int) -> tuple[list[Any], IntArray]:
    """Sorted distinct group values and each observation's index into them."""
    arr = np.asarray(groups).ravel()
    if arr.size != n:
        raise InputError(f"{arr.size} groups for {n} times", code="inconsistent", field="group")
    labels, codes = np.unique(arr, return_inverse=True)
    return [v.item() if hasattr(v, "item") else v for v in labels], codes.astype(np.int64)
