"""Baseline characteristics by group ("Table 1"), as trial reports print it.

A continuous variable (a number with more than five distinct values) is shown as median (IQR)
and range, compared across groups by the Kruskal-Wallis test (the Wilcoxon rank-sum test for
two groups); a categorical one as n (%) of the patients with a value, compared by Pearson's
chi-square test, or Fisher's exact test for a 2x2 table with an expected count below 5.
Missing values are counted on their own row and left out of percentages and tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cmltrack.display import DASH, display_name, format_p, natural_order
from cmltrack.errors import InputError
from cmltrack.stats._result import json_safe

_MAX_LEVELS_AS_CATEGORY = 5


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell: a count and percentage, or a median with its IQR and range."""

    n: int
    count: int | None = None
    percent: float | None = None
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    min: float | None = None
    max: float | None = None

    def text(self) -> str:
        if self.count is not None:
            pct = "" if self.percent is None else f" ({self.percent:.1f}%)"
            return f"{self.count}{pct}"
        if self.median is None:
            return "-"
        return (f"{self.median:.1f} ({self.q1:.1f}{DASH}{self.q3:.1f}); "
                f"{self.min:.1f}{DASH}{self.max:.1f}")

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__slots__}
        return {k: json_safe(v) for k, v in d.items() if v is not None}


@dataclass(frozen=True, slots=True)
class Table1Row:
    """A variable's header row (continuous: its statistics; categorical: its test) or one of
    its levels."""

    variable: str
    level: str | None
    kind: str  # "continuous", "categorical", "level", "missing"
    overall: Cell | None
    groups: tuple[Cell | None, ...]
    p: float | None = None
    test: str | None = None

    def to_dict(self, labels: Sequence[object]) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "label": display_name(self.variable),
            "level": self.level,
            "kind": self.kind,
            "overall": None if self.overall is None else self.overall.to_dict(),
            "groups": {str(g): (None if c is None else c.to_dict())
                       for g, c in zip(labels, self.groups, strict=True)},
            "p": json_safe(self.p),
            "test": self.test,
        }


@dataclass(frozen=True, slots=True)
class Table1Result:
    """Table 1: one entry per group (``n``), rows per variable and level."""

    by: str | None
    labels: tuple[object, ...]
    sizes: tuple[int, ...]
    n: int
    rows: tuple[Table1Row, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "n": self.n,
            "groups": [{"group": json_safe(g), "n": k}
                       for g, k in zip(self.labels, self.sizes, strict=True)],
            "rows": [r.to_dict(self.labels) for r in self.rows],
        }

    def to_frame(self) -> pd.DataFrame:
        """The table as printed: one row per variable or level, one column per group."""
        cols = [f"Overall (n={self.n})"] + [
            f"{g} (n={k})" for g, k in zip(self.labels, self.sizes, strict=True)
        ]
        records = []
        for r in self.rows:
            label = display_name(r.variable) if r.level is None else f"  {r.level}"
            if r.kind == "continuous":
                label += ", median (IQR); range"
            elif r.kind == "categorical":
                label += ", n (%)"
            cells = [r.overall, *r.groups] if self.by is not None else [r.overall]
            row = {"characteristic": label}
            row.update({c: ("" if x is None else x.text())
                        for c, x in zip(cols, cells, strict=False)})
            if self.by is not None:
                row["p"] = "" if r.p is None else format_p(r.p)
            records.append(row)
        frame = pd.DataFrame(records)
        return frame.set_index("characteristic")

    summary = property(to_frame)

    def __repr__(self) -> str:
        return str(self.to_frame().to_string())


def _numeric(values: pd.Series) -> pd.Series | None:
    nums = pd.to_numeric(values, errors="coerce")
    given = values.notna() & (values.astype(str).str.strip() != "")
    if (nums.notna() == given).all() and given.any():
        return nums
    return None


def _continuous(x: np.ndarray) -> Cell:
    if x.size == 0:
        return Cell(n=0)
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return Cell(n=int(x.size), median=float(med), q1=float(q1), q3=float(q3),
                min=float(x.min()), max=float(x.max()))


def baseline_table(
    frame: pd.DataFrame, by: str | None = None, variables: Sequence[str] | None = None
) -> Table1Result:
    """Table 1 of ``frame`` (one row per patient), by the groups of column ``by``.

    Examples:
        >>> df = pd.DataFrame({"age": [40, 50, 60, 70, 45, 55, 65, 75],
        ...                    "sex": ["F", "M", "F", "M", "F", "F", "M", "M"],
        ...                    "risk": ["low", "low", "high", "high",
        ...                             "low", "high", "low", "high"]})
        >>> t = baseline_table(df, by="risk")
        >>> t.labels, t.sizes
        (('low', 'high'), (4, 4))
        >>> t.to_frame().loc["  F"].tolist()
        ['4 (50.0%)', '2 (50.0%)', '2 (50.0%)', '']
    """
    from scipy import stats

    if by is not None and by not in frame.columns:
        raise InputError(f"column not found (columns: {', '.join(map(str, frame.columns))})",
                         code="missing_field", field=by)
    names = list(variables) if variables else [
        str(c) for c in frame.columns if c not in ("USUBJID", by)
    ]
    for name in names:
        if name not in frame.columns:
            raise InputError("column not found", code="missing_field", field=name)
    if len(frame) == 0:
        raise InputError("no patients", code="empty")
    if by is not None:
        key = frame[by].astype(str).str.strip()
        if (key == "").any() or frame[by].isna().any():
            raise InputError("a patient without a group value", code="missing_field", field=by)
        labels: list[object] = natural_order(key.tolist())
        masks = [(key == g).to_numpy() for g in labels]
    else:
        labels, masks = [], []
    rows: list[Table1Row] = []
    for name in names:
        col = frame[name]
        missing = (col.isna() | (col.astype(str).str.strip() == "")).to_numpy()
        nums = _numeric(col)
        if nums is not None and nums[~missing].nunique() > _MAX_LEVELS_AS_CATEGORY:
            x = nums.to_numpy(dtype=np.float64)
            parts = [x[m & ~missing] for m in masks]
            p = None
            if len([q for q in parts if q.size]) >= 2:
                p = float(stats.kruskal(*[q for q in parts if q.size]).pvalue)
            rows.append(Table1Row(name, None, "continuous", _continuous(x[~missing]),
                                  tuple(_continuous(q) for q in parts), p,
                                  "Kruskal-Wallis" if p is not None else None))
        else:
            text = col.astype(str).str.strip().to_numpy()
            if nums is not None:  # 400.0 -> 400
                text = np.asarray([f"{float(v):g}" if not m else "" for v, m in
                                   zip(text, missing, strict=True)], dtype=object)
            levels = [str(v) for v in natural_order(text[~missing].tolist())]
            counts = np.asarray([[int(((text == lv) & m & ~missing).sum()) for m in masks]
                                 for lv in levels]) if masks else np.zeros((len(levels), 0))
            p, test = None, None
            if masks and len(levels) >= 2 and counts.shape[1] >= 2:
                table = counts[:, counts.sum(axis=0) > 0]
                if table.shape[1] >= 2:
                    expected = stats.contingency.expected_freq(table)
                    if table.shape == (2, 2) and (expected < 5).any():
                        p, test = float(stats.fisher_exact(table).pvalue), "Fisher exact"
                    else:
                        res = stats.chi2_contingency(table, correction=False)
                        p, test = float(res.pvalue), "chi-square"
            rows.append(Table1Row(name, None, "categorical", None,
                                  tuple(None for _ in masks), p, test))
            n_all = int((~missing).sum())
            for i, lv in enumerate(levels):
                k = int(((text == lv) & ~missing).sum())
                cells = []
                for j, m in enumerate(masks):
                    n_g = int((m & ~missing).sum())
                    cells.append(Cell(n=n_g, count=int(counts[i, j]),
                                      percent=100 * counts[i, j] / n_g if n_g else None))
                rows.append(Table1Row(name, lv, "level",
                                      Cell(n=n_all, count=k, percent=100 * k / n_all),
                                      tuple(cells)))
        if missing.any():
            rows.append(Table1Row(name, "missing", "missing",
                                  Cell(n=len(frame), count=int(missing.sum())),
                                  tuple(Cell(n=int(m.sum()), count=int((m & missing).sum()))
                                        for m in masks)))
    return Table1Result(
        by=by, labels=tuple(labels), sizes=tuple(int(m.sum()) for m in masks), n=len(frame),
        rows=tuple(rows),
    )
