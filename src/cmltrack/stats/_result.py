"""Shared plumbing of the statistics results: JSON-safe dictionaries and a readable repr.

Every result is a frozen dataclass (in the manner of lifelines' fitted objects): ``repr`` shows
the headline numbers, ``summary`` is a pandas DataFrame and ``to_dict()`` is what the CLI prints
with ``--json``: plain numbers, NaN and infinity become ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars made plain and NaN/infinity replaced by None, recursively."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, Sequence | np.ndarray):
        return [json_safe(v) for v in value]
    raise TypeError(f"not JSON-safe: {type(value).__name__}")


def opt(value: float) -> float | None:
    """A float, or None where it does not exist (NaN or infinite)."""
    return value if math.isfinite(value) else None


def fmt(value: float | None, digits: int = 4) -> str:
    """A number for a readable table: '-' where it does not exist."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}g}"


def step_table(curves: Sequence[tuple[Any, Any, Any]], start: float) -> pd.DataFrame:
    """Step functions ``(group, times, values)`` read on the union of their times (index
    ``timeline``, from 0), each carried forward from ``start`` before its first time: the
    wide tables lifelines calls ``survival_function_`` and ``cumulative_density_``."""
    timeline = np.unique(np.concatenate([[0.0], *[np.asarray(t) for _g, t, _v in curves]]))
    cols = {}
    for group, times, values in curves:
        idx = np.searchsorted(times, timeline, side="right") - 1
        cols[group] = np.where(idx >= 0, np.asarray(values)[np.clip(idx, 0, None)], start)
    return pd.DataFrame(cols, index=pd.Index(timeline, name="timeline"))
