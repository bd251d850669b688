"""Pictures of the statistics results, drawn by their ``.plot()`` methods (lifelines' manner):
cumulative incidence curves, a Cox forest plot, the log-rank table's observed and expected
events, and current cumulative incidence. Kaplan-Meier results are drawn by
:func:`cmltrack.plots.survival.plot_km_result`, the same code as :func:`plot_km`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cmltrack.plots._mpl import new_axes
from cmltrack.plots.survival import ALL, _curve_axes, _finish, _order, _stair, _style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from cmltrack.stats.competing import CumIncResult
    from cmltrack.stats.cox import CoxResult
    from cmltrack.stats.current import CurrentResult
    from cmltrack.stats.survival import LogRankResult


def plot_cif_result(
    result: CumIncResult,
    *,
    ax: Axes | None = None,
    xlabel: str = "time",
    ylabel: str = "cumulative incidence",
    title: str | None = None,
    confidence: bool = True,
    greyscale: bool = False,
) -> Axes:
    """Each group's cumulative incidence of the result's cause, its log(-log) band and
    Gray's p (no at-risk table: the result does not carry the follow-up)."""
    from cmltrack.display import format_p

    labels = [ALL if c.group == "all" and len(result.groups) == 1 else str(c.group)
              for c in result.groups]
    by_label = dict(zip(labels, result.groups, strict=True))
    order = _order(np.asarray(labels, dtype=object))
    if ax is None:
        ax = _curve_axes(0)
    colors: dict[str, str] = {}
    for i, label in enumerate(order):
        curve = by_label[label]
        style = _style(i, greyscale)
        colors[label] = str(style["color"])
        top = curve.last_follow_up
        xs, ys = _stair(np.concatenate([[0.0], curve.time]), np.concatenate([[0.0], curve.cif]),
                        top)
        ax.step(xs, ys, where="post", label=f"{label} (n={curve.n})",
                **style)  # type: ignore[arg-type]
        if confidence and curve.time.size:
            frame = curve.to_frame(result.level)
            lo = np.concatenate([[0.0], np.nan_to_num(frame["lower"].to_numpy(), nan=0.0)])
            hi = np.concatenate([[0.0], np.nan_to_num(frame["upper"].to_numpy(), nan=0.0)])
            ax.fill_between(xs, np.append(lo, lo[-1]), np.append(hi, hi[-1]), step="post",
                            color=colors[label], alpha=0.12, linewidth=0)
    if result.gray is not None:
        ax.text(0.97, 0.05, f"Gray's test p = {format_p(result.gray.p)}",
                transform=ax.transAxes, fontsize=9, ha="right", va="bottom")
    top = max([c.last_follow_up for c in result.groups] + [0.0])
    from cmltrack.plots.survival import default_times

    at = default_times(np.asarray([top]))
    return _finish(ax, top, at, None, xlabel, ylabel, title, colors)


def plot_cox_result(result: CoxResult, *, ax: Axes | None = None,
                    title: str | None = None) -> Axes:
    """Forest plot: hazard ratio (square) and interval (line) per covariate on a log axis,
    the first covariate on top, a dashed line at 1, the estimates written at the right."""
    from cmltrack.display import format_estimate, format_p

    coefs = list(result.coefficients)
    if ax is None:
        ax = new_axes((7.0, 1.2 + 0.45 * max(len(coefs), 1)))
    ys = list(range(len(coefs)))[::-1]
    for y, c in zip(ys, coefs, strict=True):
        ax.plot([c.lower, c.upper], [y, y], color="black", linewidth=1.2)
        ax.plot([c.hr], [y], "s", color="black", markersize=6)
        ax.text(1.02, y, f"{format_estimate(c.hr, c.lower, c.upper)}  p {format_p(c.p)}",
                transform=ax.get_yaxis_transform(), va="center", fontsize=8)
    ax.axvline(1.0, color="0.4", linestyle="--", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(ys, [c.name for c in coefs])
    ax.set_ylim(-0.7, len(coefs) - 0.3)
    ax.set_xlabel(f"hazard ratio ({result.level:.0%} CI, log scale)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title or f"Cox model: n = {result.n}, {result.events} events", fontsize=10,
                 loc="left")
    return ax


def plot_logrank_result(result: LogRankResult, *, ax: Axes | None = None) -> Axes:
    """Observed (filled) and expected (open) events per group, the log-rank p in the title."""
    from cmltrack.display import format_p

    if ax is None:
        ax = new_axes((6.0, 3.5))
    x = np.arange(len(result.groups))
    ax.bar(x - 0.2, result.observed, width=0.4, color="0.3", label="observed")
    ax.bar(x + 0.2, result.expected, width=0.4, color="white", edgecolor="black",
           hatch="//", label="expected")
    ax.set_xticks(x, [str(g) for g in result.groups])
    ax.set_ylabel("events")
    ax.set_title(f"Log-rank: chi-square {result.chi2:.2f}, df {result.df}, "
                 f"p = {format_p(result.p)}", fontsize=10, loc="left")
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def plot_current_result(result: CurrentResult, *, ax: Axes | None = None,
                        xlabel: str = "time") -> Axes:
    """CCI (solid) and comCI (dashed) from therapy start; CLFS and LFS where they were asked."""
    if ax is None:
        ax = new_axes((7.0, 4.0))
    series = (("CCI", result.cci_times, result.cci, "-", "o"),
              ("comCI", result.cci_times, result.comci, "--", "s"),
              ("CLFS", result.clfs_times, result.clfs, "-.", "^"),
              ("LFS", result.clfs_times, result.lfs, ":", "D"))
    for i, (name, t, v, dash, marker) in enumerate(series):
        if len(t):
            style = _style(i, greyscale=False)
            ax.plot(t, v, linestyle=dash, marker=marker, color=str(style["color"]),
                    label=name, markersize=4)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("probability")
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return ax
