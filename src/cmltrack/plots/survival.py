"""Kaplan-Meier and cumulative incidence curves with a numbers-at-risk table under the axis.

Numbers at risk follow R's ``summary(survfit, times)``: at time t, the subjects whose follow-up
time is >= t (still under observation just before t). They are returned as data by
:func:`numbers_at_risk` and drawn by :func:`plot_km` / :func:`plot_cif` from that same table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cmltrack.errors import InputError
from cmltrack.plots._mpl import GREYS, LINESTYLES

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ALL = "all patients"


def _arrays(
    durations: Sequence[float] | np.ndarray,
    events: Sequence[int] | np.ndarray,
    groups: Sequence[str] | np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=int)
    g = np.asarray([ALL] * len(t) if groups is None else [str(x) for x in groups], dtype=object)
    if not (len(t) == len(e) == len(g)):
        raise InputError(
            f"durations ({len(t)}), events ({len(e)}) and groups ({len(g)}) differ in length",
            code="inconsistent",
        )
    if len(t) == 0:
        raise InputError("no subjects to plot", code="empty")
    if np.isnan(t).any() or (t < 0).any():
        raise InputError("durations must be non-negative numbers", code="impossible_value")
    return t, e, g


def default_times(durations: np.ndarray, n: int = 6) -> list[float]:
    """Round, evenly spaced times from 0 to the longest follow-up (12-month steps if long)."""
    top = float(np.max(durations)) if len(durations) else 0.0
    if top <= 0:
        return [0.0]
    for step in (1, 2, 3, 6, 12, 24, 36, 60, 120):
        if top / step <= n:
            break
    return [float(x) for x in np.arange(0, top + 1e-9, step)]


def numbers_at_risk(
    durations: Sequence[float] | np.ndarray,
    groups: Sequence[str] | np.ndarray | None = None,
    times: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Subjects at risk (follow-up >= t) per group (rows) at each time (columns)."""
    t = np.asarray(durations, dtype=float)
    _, _, g = _arrays(t, np.zeros(len(t), dtype=int), groups)
    at = list(default_times(t) if times is None else times)
    labels = list(dict.fromkeys(g.tolist()))
    counts = {
        label: [int(np.sum(t[g == label] >= x)) for x in at] for label in labels
    }
    return pd.DataFrame.from_dict(counts, orient="index", columns=at)


def km_steps(durations: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier estimate (:func:`cmltrack.stats.kaplan_meier`) as steps from (0, 1)."""
    from cmltrack.stats import kaplan_meier

    curve = kaplan_meier(durations, events).groups[0]
    jumps = curve.n_event > 0
    return (
        np.concatenate([[0.0], curve.time[jumps]]),
        np.concatenate([[1.0], curve.survival[jumps]]),
    )


def cif_steps(
    durations: np.ndarray, events: np.ndarray, cause: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Aalen-Johansen cumulative incidence (:func:`cmltrack.stats.cumulative_incidence`) of
    ``cause`` as steps from (0, 0); status 0 is censored, the other code competes."""
    from cmltrack.stats import cumulative_incidence

    curve = cumulative_incidence(durations, events, cause=cause).groups[0]
    return np.concatenate([[0.0], curve.time]), np.concatenate([[0.0], curve.cif])


def _at_risk_table(ax: Axes, table: pd.DataFrame) -> None:
    """Write the numbers-at-risk rows under the x axis, aligned with the time ticks."""
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax.transData, ax.transAxes)
    ax.text(0.0, -0.15, "Number at risk", transform=ax.transAxes, fontsize=8, weight="bold",
            ha="left", va="top")
    for i, (label, row) in enumerate(table.iterrows()):
        y = -0.21 - 0.06 * i
        ax.text(-0.06, y, str(label), transform=ax.transAxes, fontsize=7.5, ha="right",
                va="top")
        for x, n in row.items():
            ax.text(float(str(x)), y, str(int(n)), transform=trans, fontsize=7.5, ha="center",
                    va="top")


def _curve_axes() -> Axes:
    """Axes with a fixed margin below for the at-risk rows and on the left for their labels
    (a layout engine does not see text drawn outside the Axes)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.8), dpi=100)
    return fig.add_axes((0.2, 0.28, 0.76, 0.64))


def _style(i: int) -> dict[str, object]:
    return {
        "color": GREYS[i % len(GREYS)],
        "linestyle": LINESTYLES[i % len(LINESTYLES)],
        "linewidth": 1.6,
    }


def _curves(
    ax: Axes,
    t: np.ndarray,
    e: np.ndarray,
    g: np.ndarray,
    steps: str,
    cause: int,
) -> None:
    for i, label in enumerate(dict.fromkeys(g.tolist())):
        mask = g == label
        if steps == "km":
            x, y = km_steps(t[mask], e[mask])
        else:
            x, y = cif_steps(t[mask], e[mask], cause)
        top = float(np.max(t[mask]))
        x, y = np.append(x, top), np.append(y, y[-1])  # the curve runs to the last follow-up
        style = _style(i)
        ax.step(x, y, where="post", label=f"{label} (n={int(mask.sum())})", **style)  # type: ignore[arg-type]
        if steps == "km":  # censoring ticks, as survival plots usually show them
            cens = np.unique(t[mask][e[mask] == 0])
            idx = np.searchsorted(x, cens, side="right") - 1
            ys = y[np.clip(idx, 0, len(y) - 1)]
            ax.plot(cens, ys, "|", color=str(style["color"]), markersize=7)


def plot_km(
    durations: Sequence[float] | np.ndarray,
    events: Sequence[int] | np.ndarray,
    groups: Sequence[str] | np.ndarray | None = None,
    *,
    ax: Axes | None = None,
    times: Sequence[float] | None = None,
    xlabel: str = "months",
    ylabel: str = "probability",
    title: str | None = None,
) -> Axes:
    """Kaplan-Meier curves by group (events: 1 event, 0 censored) with numbers at risk."""
    t, e, g = _arrays(durations, events, groups)
    if ax is None:
        ax = _curve_axes()
    _curves(ax, t, e, g, "km", 1)
    return _finish(ax, t, g, times, xlabel, ylabel, title)


def plot_cif(
    durations: Sequence[float] | np.ndarray,
    events: Sequence[int] | np.ndarray,
    groups: Sequence[str] | np.ndarray | None = None,
    *,
    cause: int = 1,
    ax: Axes | None = None,
    times: Sequence[float] | None = None,
    xlabel: str = "months",
    ylabel: str = "cumulative incidence",
    title: str | None = None,
) -> Axes:
    """Cumulative incidence of ``cause`` (0 censored, other codes compete), by group."""
    t, e, g = _arrays(durations, events, groups)
    if ax is None:
        ax = _curve_axes()
    _curves(ax, t, e, g, "cif", cause)
    return _finish(ax, t, g, times, xlabel, ylabel, title)


def _finish(
    ax: Axes,
    t: np.ndarray,
    g: np.ndarray,
    times: Sequence[float] | None,
    xlabel: str,
    ylabel: str,
    title: str | None,
) -> Axes:
    at = list(default_times(t) if times is None else times)
    table = numbers_at_risk(t, g, at)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(min(at[0], 0.0), max(max(at), float(np.max(t)), 1.0) * 1.03)  # never empty
    ax.set_xticks(at)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="0.9", linewidth=0.6)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="best")
    _at_risk_table(ax, table)
    return ax
