"""Cohort pictures: a swimmer plot of each patient's course and a waterfall of Ph+ reduction.

The swimmer plot follows the high-dose seed's Table 3 (seed 004: one row per patient, the
responses reached and when): one bar per patient, as long as the follow-up on TKI therapy, with
the first date of CHR, CCyR, MMR and MR4.5 and of progression or death marked on it. Response
dates and follow-up come from :func:`cmltrack.domain.endpoints.derive_endpoints`, so the picture
shows the same dates as the endpoint table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cmltrack.domain.assess import Assessment
from cmltrack.domain.endpoints import derive_endpoints
from cmltrack.domain.enums import CytogeneticResponse
from cmltrack.domain.records import PatientRecord
from cmltrack.plots._mpl import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Case = tuple[PatientRecord, Assessment]

#: Marker per swimmer mark: shape and fill tell them apart in grey print. Keys are the labels.
SWIMMER_MARKS: dict[str, tuple[str, str, str]] = {
    # label: (endpoint PARAMCD, marker, face colour)
    "CHR": ("TTCHR", "o", "white"),
    "CCyR": ("TTCCYR", "s", "white"),
    "MMR": ("TTMMR", "^", "0.45"),
    "MR4.5": ("TTMR45", "D", "black"),
    "progression": ("PFS", "X", "black"),
    "death": ("OS", "$\u2020$", "black"),
}


@dataclass(frozen=True, slots=True)
class SwimmerRow:
    """One patient's bar: follow-up months and the months of each first response or event."""

    patient_id: str
    follow_up: float
    ongoing: bool
    marks: dict[str, float] = field(default_factory=dict)


def swimmer_rows(cases: Sequence[Case]) -> list[SwimmerRow]:
    """A row per patient with a TKI start (others have no time axis), in input order."""
    rows: list[SwimmerRow] = []
    for record, assessment in cases:
        endpoints = {r.PARAMCD: r for r in derive_endpoints(record, assessment)}
        if "OS" not in endpoints:
            continue
        marks: dict[str, float] = {}
        for label, (code, _m, _f) in SWIMMER_MARKS.items():
            row = endpoints.get(code)
            if row is None or row.CNSR != 0:
                continue
            if label == "progression" and row.EVNTDESC.startswith("death"):
                continue  # a PFS event that is a death is drawn as the death
            marks[label] = row.AVAL
        died = "death" in marks
        ongoing = not died and assessment.current.drug is not None
        rows.append(SwimmerRow(record.id, endpoints["OS"].AVAL, ongoing, marks))
    return rows


def plot_swimmer(
    rows: Sequence[SwimmerRow],
    ax: Axes | None = None,
    *,
    max_patients: int | None = 60,
) -> Axes:
    """One horizontal bar per patient (longest follow-up on top), response markers on it.

    With more than ``max_patients`` rows only the first ``max_patients`` (input order) are
    drawn and the title says so: a swimmer plot of a thousand bars is unreadable.
    """
    shown = list(rows) if max_patients is None else list(rows)[:max_patients]
    shown.sort(key=lambda r: r.follow_up)
    if ax is None:
        height = min(2.0 + 0.22 * len(shown), 16.0)
        ax = new_axes((7.5, height))
    y = list(range(len(shown)))
    ax.barh(y, [r.follow_up for r in shown], height=0.55, color="0.85", edgecolor="0.3",
            linewidth=0.6, zorder=1)
    for label, (_code, marker, face) in SWIMMER_MARKS.items():
        pts = [(r.marks[label], i) for i, r in enumerate(shown) if label in r.marks]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=marker, s=36 if
                   label != "death" else 70, facecolors=face, edgecolors="black",
                   linewidths=0.8, zorder=3, label=label)
    going = [(r.follow_up, i) for i, r in enumerate(shown) if r.ongoing]
    if going:
        ax.scatter([g[0] for g in going], [g[1] for g in going], marker=">", s=22,
                   color="0.3", zorder=2, label="on TKI at last follow-up")
    ax.set_yticks(y, [r.patient_id for r in shown], fontsize=7 if len(shown) > 30 else 8)
    ax.set_ylim(-0.7, max(len(shown) - 0.3, 0.7))
    ax.set_xlim(0, max([r.follow_up for r in shown] + [1.0]) * 1.05)
    ax.set_xlabel("months since start of TKI therapy")
    title = "Course per patient: first response and events"
    if len(shown) < len(rows):
        title += f" (first {len(shown)} of {len(rows)} patients)"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.95)
    ax.grid(True, axis="x", color="0.9", linewidth=0.6)
    return ax


@dataclass(frozen=True, slots=True)
class WaterfallBar:
    """Best relative change of Ph+ % from baseline (-100 = no Ph+ metaphases left)."""

    patient_id: str
    baseline_pct: float
    best_pct: float
    change_pct: float
    best_cytogenetic: CytogeneticResponse | None


def ph_change(assessment: Assessment) -> WaterfallBar | None:
    """Best Ph+ change from baseline, or None without a baseline or a later result.

    Baseline: the last Ph+ result (banding, or FISH where only FISH was done) on or before the
    start of TKI therapy; best: the lowest Ph+ after it. The change is relative to baseline
    (``100 * (best - baseline) / baseline``), the convention of waterfall plots; with the usual
    baseline of 100% it equals the change in percentage points.
    """
    start = assessment.therapy_start
    if start is None:
        return None
    before = [t for t in assessment.timepoints if t.ph_pct is not None and t.date <= start]
    after = [t for t in assessment.timepoints if t.ph_pct is not None and t.date > start]
    if not before or not after or before[-1].ph_pct in (None, 0.0):
        return None
    base = before[-1].ph_pct
    best_tp = min(after, key=lambda t: (t.ph_pct, t.date))
    assert base is not None and best_tp.ph_pct is not None
    return WaterfallBar(
        assessment.patient_id,
        base,
        best_tp.ph_pct,
        100.0 * (best_tp.ph_pct - base) / base,
        best_tp.cytogenetic,
    )


#: Bar fill and hatch per best cytogenetic response (grey print: hatch, not colour alone).
WATERFALL_STYLE: dict[str, tuple[str, str]] = {
    "CCyR": ("0.15", ""),
    "PCyR": ("0.55", ""),
    "minor": ("0.8", "///"),
    "minimal": ("0.92", "..."),
    "none": ("white", ""),
    "other": ("white", "xx"),
}


def plot_waterfall(bars: Sequence[WaterfallBar], ax: Axes | None = None) -> Axes:
    """Bars of best Ph+ change per patient, sorted from least to most reduction."""
    ordered = sorted(bars, key=lambda b: (-b.change_pct, b.patient_id))
    if ax is None:
        ax = new_axes((7.5, 3.8))
    used: set[str] = set()
    for i, b in enumerate(ordered):
        key = str(b.best_cytogenetic) if str(b.best_cytogenetic) in WATERFALL_STYLE else "other"
        face, hatch = WATERFALL_STYLE[key]
        label = None if key in used else ("not classifiable" if key == "other" else key)
        used.add(key)
        ax.bar(i, b.change_pct, width=0.8, color=face, hatch=hatch, edgecolor="black",
               linewidth=0.5, label=label)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylim(-105, max([30.0] + [b.change_pct + 30 for b in ordered]))
    ax.set_xlim(-0.8, max(len(ordered), 1) - 0.2)
    if len(ordered) <= 40:
        ax.set_xticks(range(len(ordered)), [b.patient_id for b in ordered], rotation=90,
                      fontsize=7)
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{len(ordered)} patients, sorted by best change")
    ax.set_ylabel("best change in Ph+ metaphases\nfrom baseline (%)")
    ax.set_title("Best reduction of Ph+ from baseline (best cytogenetic response)", fontsize=10)
    if ordered:
        ax.legend(fontsize=7, loc="upper right", ncols=3)
    return ax
