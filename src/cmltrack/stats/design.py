"""Covariates for regression: numbers as they are, text as dummy (treatment) coding against a
reference level, as R's ``model.matrix`` does with a factor.

The reference is the first level in the natural clinical order (``low`` for a risk group,
``chronic`` for a phase; otherwise the first alphabetically, as R) unless chosen. Each dummy
column is named ``"sokal_group: high vs low"``, so that a hazard ratio says what it compares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cmltrack.display import natural_order
from cmltrack.errors import InputError
from cmltrack.stats._checks import FloatArray


def _as_numbers(values: Sequence[object]) -> FloatArray | None:
    try:
        arr = np.asarray([float(v) for v in values], dtype=np.float64)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return arr


def design_matrix(
    columns: Mapping[str, Sequence[object]], reference: Mapping[str, str] | None = None
) -> tuple[FloatArray, list[str]]:
    """The model matrix and its column names for covariates given as ``{name: values}``.

    Examples:
        >>> x, names = design_matrix({"age": [50, 61, 44],
        ...                           "sokal": ["low", "high", "intermediate"]})
        >>> names
        ['age', 'sokal: intermediate vs low', 'sokal: high vs low']
        >>> x.tolist()
        [[50.0, 0.0, 0.0], [61.0, 0.0, 1.0], [44.0, 1.0, 0.0]]
    """
    reference = dict(reference or {})
    unknown = set(reference) - set(columns)
    if unknown:
        name = sorted(unknown)[0]
        raise InputError(f"{name!r} is not among the covariates", code="bad_argument",
                         field="--reference")
    blocks: list[FloatArray] = []
    names: list[str] = []
    n: int | None = None
    for name, values in columns.items():
        if n is not None and len(values) != n:
            raise InputError(f"{len(values)} values for {n} rows", code="inconsistent",
                             field=name)
        n = len(values)
        nums = None if name in reference else _as_numbers(values)
        if nums is not None:
            blocks.append(nums[:, None])
            names.append(name)
            continue
        texts = [str(v) for v in values]
        if any(t == "" for t in texts):
            raise InputError("empty value in a categorical covariate", code="missing_field",
                             field=name)
        levels = [str(v) for v in natural_order(texts)]
        ref = reference.get(name, levels[0])
        if ref not in levels:
            raise InputError(
                f"reference level {ref!r} does not occur (levels: {', '.join(levels)})",
                code="unknown_value", field=name,
            )
        if len(levels) < 2:
            raise InputError(f"only one level ({levels[0]!r}): nothing to compare",
                             code="inconsistent", field=name)
        arr = np.asarray(texts, dtype=object)
        for level in levels:
            if level == ref:
                continue
            blocks.append((arr == level).astype(np.float64)[:, None])
            names.append(f"{name}: {level} vs {ref}")
    if not blocks:
        raise InputError("no covariates given", code="bad_argument", field="covariates")
    return np.hstack(blocks), names


def parse_reference(text: str | None) -> dict[str, str]:
    """``"sokal_group=low,sex=F"`` -> ``{"sokal_group": "low", "sex": "F"}``."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, level = part.partition("=")
        if not sep or not name.strip() or not level.strip():
            raise InputError(f"{part.strip()!r} is not COLUMN=LEVEL", code="bad_argument",
                             field="--reference")
        out[name.strip()] = level.strip()
    return out
