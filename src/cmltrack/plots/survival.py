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

    from cmltrack.stats.survival import ConfType, KMCurve, KMResult

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


#: Okabe & Ito's colour-blind-safe palette (also distinct in luminance for grey print),
#: as survminer's and ggplot2's colour-blind options use it.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _order(g: np.ndarray) -> list[str]:
    """Group labels in the natural clinical order (low, intermediate, high)."""
    from cmltrack.display import natural_order

    labels = list(dict.fromkeys(g.tolist()))

    def key(label: str) -> str:
        # "ELTS low" sorts like "low"
        return label.split()[-1] if label.split() else label

    ranked = natural_order([key(lab) for lab in labels])
    return sorted(labels, key=lambda lab: (ranked.index(key(lab)), lab))


def _style(i: int, greyscale: bool) -> dict[str, object]:
    if greyscale:
        return {"color": GREYS[i % len(GREYS)], "linestyle": LINESTYLES[i % len(LINESTYLES)],
                "linewidth": 1.6}
    return {"color": PALETTE[i % len(PALETTE)], "linestyle": "-", "linewidth": 1.6}


def _at_risk_table(ax: Axes, table: pd.DataFrame, colors: dict[str, str]) -> None:
    """Write the numbers-at-risk rows under the x axis, each number under its time tick."""
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax.transData, ax.transAxes)
    ax.text(-0.05, -0.2, "Number at risk", transform=ax.transAxes, fontsize=8, weight="bold",
            ha="right", va="top")
    for i, (label, row) in enumerate(table.iterrows()):
        y = -0.27 - 0.07 * i
        color = colors.get(str(label), "black")
        ax.text(-0.05, y, str(label), transform=ax.transAxes, fontsize=7.5, ha="right",
                va="top", color=color, weight="bold")
        for x, n in row.items():
            ax.text(float(str(x)), y, str(int(n)), transform=trans, fontsize=7.5, ha="center",
                    va="top", color=color)


def _curve_axes(groups: int) -> Axes:
    """Axes with a fixed margin below for the at-risk rows and on the left for their labels
    (a layout engine does not see text drawn outside the Axes)."""
    from matplotlib.figure import Figure

    height = 3.9 + 0.2 * groups
    fig = Figure(figsize=(7.2, height), dpi=100)
    bottom = (0.95 + 0.2 * groups) / height
    return fig.add_axes((0.22, bottom, 0.74, 0.92 - bottom))


def _stair(x: np.ndarray, y: np.ndarray, top: float) -> tuple[np.ndarray, np.ndarray]:
    return np.append(x, top), np.append(y, y[-1])


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
    confidence: bool = True,
    greyscale: bool = False,
    ci: ConfType = "log",
) -> Axes:
    """Kaplan-Meier curves by group (events: 1 event, 0 censored), drawn as survminer does:
    95% confidence bands (``ci``: R's default "log", or "loglog", "plain"), censoring ticks,
    the log-rank p on the plot, the numbers at risk under the axis, groups in clinical order in
    a colour-blind-safe palette (``greyscale=True`` for print). The same picture as
    ``cmltrack.stats.kaplan_meier(...).plot()``."""
    from cmltrack.stats import kaplan_meier

    t, e, g = _arrays(durations, events, groups)
    return plot_km_result(kaplan_meier(t, e, g, ci=ci), ax=ax, times=times, xlabel=xlabel,
                          ylabel=ylabel, title=title, confidence=confidence,
                          greyscale=greyscale)


def at_risk_from_curves(curves: Sequence[KMCurve], labels: Sequence[str],
                        at: Sequence[float]) -> pd.DataFrame:
    """Numbers at risk (follow-up >= t) per group and time, read off the curves: at ``t``
    it is the number at risk at the first curve time >= t (nobody leaves in between), 0 past
    the last time: the same table as :func:`numbers_at_risk` on the raw durations."""
    counts: dict[str, list[int]] = {}
    for label, curve in zip(labels, curves, strict=True):
        idx = np.searchsorted(curve.time, np.asarray(at, dtype=float), side="left")
        counts[label] = [int(curve.n_risk[i]) if i < curve.time.size else 0 for i in idx]
    return pd.DataFrame.from_dict(counts, orient="index", columns=list(at))


def plot_km_result(
    result: KMResult,
    *,
    ax: Axes | None = None,
    times: Sequence[float] | None = None,
    xlabel: str = "time",
    ylabel: str = "survival probability",
    title: str | None = None,
    confidence: bool = True,
    greyscale: bool = False,
) -> Axes:
    """Draw a :class:`cmltrack.stats.KMResult`: each group's curve with its pointwise band (the
    result's own interval type), censoring ticks, the log-rank p and the numbers at risk."""
    from cmltrack.display import format_p

    labels = [ALL if c.group == "all" and result.logrank is None and len(result.groups) == 1
              else str(c.group) for c in result.groups]
    by_label = dict(zip(labels, result.groups, strict=True))
    order = _order(np.asarray(labels, dtype=object))
    if ax is None:
        ax = _curve_axes(len(order))
    colors: dict[str, str] = {}
    for i, label in enumerate(order):
        curve = by_label[label]
        style = _style(i, greyscale)
        colors[label] = str(style["color"])
        x = np.concatenate([[0.0], curve.time])
        y = np.concatenate([[1.0], curve.survival])
        top = float(curve.time[-1]) if curve.time.size else 0.0
        xs, ys = _stair(x, y, top)
        ax.step(xs, ys, where="post", label=f"{label} (n={curve.n})",
                **style)  # type: ignore[arg-type]
        if confidence:
            lo = np.concatenate([[1.0], np.nan_to_num(curve.lower, nan=1.0)])
            hi = np.concatenate([[1.0], np.nan_to_num(curve.upper, nan=1.0)])
            ax.fill_between(xs, np.append(lo, lo[-1]), np.append(hi, hi[-1]), step="post",
                            color=colors[label], alpha=0.12, linewidth=0)
        cens = curve.time[curve.n_censor > 0]
        idx = np.searchsorted(x, cens, side="right") - 1
        ax.plot(cens, y[np.clip(idx, 0, len(y) - 1)], "|", color=colors[label],
                markersize=5, markeredgewidth=0.9)
    if result.logrank is not None:
        ax.text(0.03, 0.05, f"Log-rank p = {format_p(result.logrank.p)}",
                transform=ax.transAxes, fontsize=9, ha="left", va="bottom")
    top = max([float(c.time[-1]) for c in result.groups if c.time.size] + [0.0])
    at = list(default_times(np.asarray([top])) if times is None else times)
    table = at_risk_from_curves(result.groups, labels, at).reindex(order)
    return _finish(ax, top, at, table, xlabel, ylabel, title, colors)


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
    event_label: str = "event",
    competing_label: str = "competing event",
    greyscale: bool = False,
) -> Axes:
    """Cumulative incidence of ``cause`` (solid) and of the competing event (dashed) by group
    (status 0 censored, 1 and 2 the two causes), with Gray's p when there are groups, as R's
    ``cmprsk::plot.cuminc`` / survminer's ``ggcompetingrisks`` show both."""
    from cmltrack.display import format_p
    from cmltrack.stats import cumulative_incidence

    t, e, g = _arrays(durations, events, groups)
    order = _order(g)
    other = 2 if cause == 1 else 1
    if ax is None:
        ax = _curve_axes(len(order))
    colors: dict[str, str] = {}
    for i, label in enumerate(order):
        mask = g == label
        style = _style(i, greyscale)
        colors[label] = str(style["color"])
        top = float(np.max(t[mask]))
        prefix = "" if label == ALL else f"{label}: "
        for which, name, dash in ((cause, event_label, "-"), (other, competing_label, "--")):
            curve = cumulative_incidence(t[mask], e[mask], cause=which).groups[0]
            x, y = _stair(np.concatenate([[0.0], curve.time]),
                          np.concatenate([[0.0], curve.cif]), top)
            ax.step(x, y, where="post", label=f"{prefix}{name}", color=colors[label],
                    linestyle=dash if not greyscale or dash == "--" else style["linestyle"],
                    linewidth=1.6 if dash == "-" else 1.2)
    if len(order) >= 2:
        gray = cumulative_incidence(t, e, g, cause=cause).gray
        if gray is not None:
            ax.text(0.97, 0.05, f"Gray's test p = {format_p(gray.p)}", transform=ax.transAxes,
                    fontsize=9, ha="right", va="bottom")
    at = list(default_times(t) if times is None else times)
    table = numbers_at_risk(t, g, at).reindex(order)
    return _finish(ax, float(np.max(t)), at, table, xlabel, ylabel, title, colors)


def _finish(
    ax: Axes,
    top: float,
    at: list[float],
    table: pd.DataFrame | None,
    xlabel: str,
    ylabel: str,
    title: str | None,
    colors: dict[str, str],
) -> Axes:
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(min(at[0], 0.0), max(max(at), top, 1.0) * 1.03)  # never empty
    ax.set_xticks(at)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, color="0.92", linewidth=0.6)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    ax.legend(fontsize=8, loc="best", frameon=False)
    if table is not None:
        _at_risk_table(ax, table, colors)
    return ax
