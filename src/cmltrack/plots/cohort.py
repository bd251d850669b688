"""Cohort pictures: a swimmer plot of each patient's course and a waterfall of Ph+ reduction.

The swimmer plot follows the high-dose seed's Table 3 (seed 004: one row per patient, the
responses reached and when): one bar per patient, as long as the follow-up on TKI therapy, with
the first date of CHR, CCyR, MMR and MR4.5 and of progression or death marked on it. Response
dates and follow-up come from :func:`cmltrack.domain.endpoints.derive_endpoints`, so the picture
shows the same dates as the endpoint table. The bar itself is the therapy: each TKI in its own
colour (and named where it fits), a dose hold (a gap between two periods of the same drug) as a
hatched white stretch, and time off TKI (after a stop for treatment-free remission, between two
drugs, or after the last one) as a thin dashed line.

The waterfall shows each patient's best Ph+ change among classifiable results; a patient whose
results after baseline are all inadequate (fewer than 20 metaphases, clinical-rules section 14)
is drawn as a labelled hatched marker on the zero line, never as a bar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cmltrack.domain.assess import Assessment
from cmltrack.domain.endpoints import derive_endpoints
from cmltrack.domain.enums import TKIS, CytogeneticResponse
from cmltrack.domain.records import PatientRecord
from cmltrack.domain.timeline import months_between
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


#: Colour per TKI (Okabe-Ito, colour-blind safe); each segment is also named where it fits.
TKI_COLORS: dict[str, str] = {
    "imatinib": "#E69F00",
    "dasatinib": "#56B4E9",
    "nilotinib": "#009E73",
    "bosutinib": "#F0E442",
    "ponatinib": "#CC79A7",
    "asciminib": "#0072B2",
}
OTHER_TKI_COLOR = "0.6"


@dataclass(frozen=True, slots=True)
class SwimmerSegment:
    """A stretch of a patient's bar in months since the first TKI start: a TKI (``drug`` and
    ``dose``), a dose ``hold`` or ``off`` TKI."""

    start: float
    end: float
    kind: str  # "tki", "hold" or "off"
    drug: str | None = None
    dose: float | None = None


@dataclass(frozen=True, slots=True)
class SwimmerRow:
    """One patient's bar: follow-up months and the months of each first response or event."""

    patient_id: str
    follow_up: float
    ongoing: bool
    marks: dict[str, float] = field(default_factory=dict)
    segments: tuple[SwimmerSegment, ...] = ()


def therapy_segments(record: PatientRecord, start: dt.date, follow_up: float
                     ) -> tuple[SwimmerSegment, ...]:
    """The TKI periods, dose holds and times off TKI from ``start`` to ``follow_up`` months.

    A gap between two periods of the same drug with no ``tki_stop`` event in it is a hold; a
    gap after a stop, between two drugs, or after the last period is off TKI.
    """
    rows = sorted((t for t in record.therapy if t.drug in TKIS), key=lambda t: t.start)
    stops = [e.date for e in record.events if e.kind == "tki_stop"]
    out: list[SwimmerSegment] = []

    def add(a: float, b: float, kind: str, drug: str | None = None,
            dose: float | None = None) -> None:
        a, b = max(a, 0.0), min(b, follow_up)
        if b > a:
            out.append(SwimmerSegment(round(a, 4), round(b, 4), kind, drug, dose))

    for i, row in enumerate(rows):
        end = follow_up if row.end is None else months_between(start, row.end)
        add(months_between(start, row.start), end, "tki", row.drug, row.dose_mg_per_day)
        if row.end is None:
            continue
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        if nxt is not None and nxt.start <= row.end:
            continue
        until = follow_up if nxt is None else months_between(start, nxt.start)
        stopped = any(row.end <= d and (nxt is None or d < nxt.start) for d in stops)
        same = nxt is not None and nxt.drug == row.drug
        add(end, until, "hold" if same and not stopped else "off")
    return tuple(out)


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
        follow_up = endpoints["OS"].AVAL
        segments = (() if assessment.therapy_start is None
                    else therapy_segments(record, assessment.therapy_start, follow_up))
        rows.append(SwimmerRow(record.id, follow_up, ongoing, marks, segments))
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
    from matplotlib.patches import Patch

    from cmltrack.plots.bcr_abl1 import DRUG_ABBREV

    shown = list(rows) if max_patients is None else list(rows)[:max_patients]
    shown.sort(key=lambda r: r.follow_up)
    if ax is None:
        height = min(2.4 + 0.22 * len(shown), 16.0)
        ax = new_axes((9.0, height))
    x_max = max([r.follow_up for r in shown] + [1.0]) * 1.05
    drugs: list[str] = []
    kinds: set[str] = set()
    for i, r in enumerate(shown):
        segments = r.segments or (SwimmerSegment(0.0, r.follow_up, "tki"),)
        for seg in segments:
            kinds.add(seg.kind)
            width = seg.end - seg.start
            if seg.kind == "tki":
                color = TKI_COLORS.get(seg.drug or "", OTHER_TKI_COLOR)
                if seg.drug is not None and seg.drug not in drugs:
                    drugs.append(seg.drug)
                ax.barh(i, width, left=seg.start, height=0.6, color=color, edgecolor="0.25",
                        linewidth=0.5, zorder=1, gid="tki")
                name = DRUG_ABBREV.get(seg.drug or "", "")
                if name and width > 0.07 * x_max:
                    ax.text(seg.start + 0.01 * x_max, i, name, va="center", ha="left",
                            fontsize=6, color="black", zorder=2)
            elif seg.kind == "hold":
                ax.barh(i, width, left=seg.start, height=0.6, color="white", hatch="////",
                        edgecolor="0.35", linewidth=0.5, zorder=1, gid="hold")
            else:
                ax.barh(i, width, left=seg.start, height=0.16, color="0.85", edgecolor="0.35",
                        linewidth=0.6, linestyle="--", zorder=1, gid="off")
    for label, (_code, marker, face) in SWIMMER_MARKS.items():
        pts = [(r.marks[label], i) for i, r in enumerate(shown) if label in r.marks]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=marker, s=36 if
                   label != "death" else 70, facecolors=face, edgecolors="black",
                   linewidths=0.8, zorder=3, label=label)
    going = [(r.follow_up, i) for i, r in enumerate(shown) if r.ongoing]
    if going:
        ax.scatter([g[0] + 0.012 * x_max for g in going], [g[1] for g in going], marker=">",
                   s=22, color="0.3", zorder=2, label="on TKI at last follow-up")
    y = list(range(len(shown)))
    ax.set_yticks(y, [r.patient_id for r in shown], fontsize=7 if len(shown) > 30 else 8)
    ax.set_ylim(-0.7, max(len(shown) - 0.3, 0.7))
    ax.set_xlim(0, x_max)
    ax.set_xlabel("months since start of TKI therapy")
    title = "Course per patient: TKI lines, holds, first response and events"
    if len(shown) < len(rows):
        title += f" (first {len(shown)} of {len(rows)} patients)"
    ax.set_title(title, fontsize=10)
    handles, _labels = ax.get_legend_handles_labels()
    handles += [Patch(facecolor=TKI_COLORS.get(d, OTHER_TKI_COLOR), edgecolor="0.25",
                      label=d) for d in sorted(drugs)]
    if "hold" in kinds:
        handles.append(Patch(facecolor="white", hatch="////", edgecolor="0.35",
                             label="dose hold"))
    if "off" in kinds:
        handles.append(Patch(facecolor="0.85", edgecolor="0.35", linestyle="--",
                             label="off TKI"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)
    ax.grid(True, axis="x", color="0.9", linewidth=0.6)
    return ax


@dataclass(frozen=True, slots=True)
class WaterfallBar:
    """Best relative change of Ph+ % from baseline (-100 = no Ph+ metaphases left).

    ``change_pct`` and ``best_pct`` are None where no result after baseline is classifiable
    (every one inadequate): the patient is shown as not classifiable, not as a change.
    """

    patient_id: str
    baseline_pct: float
    best_pct: float | None
    change_pct: float | None
    best_cytogenetic: CytogeneticResponse | None

    @property
    def classifiable(self) -> bool:
        return self.change_pct is not None


def ph_change(assessment: Assessment) -> WaterfallBar | None:
    """Best Ph+ change from baseline, or None without a baseline or a later result.

    Baseline: the last Ph+ result (banding, or FISH where only FISH was done) on or before the
    start of TKI therapy; best: the lowest Ph+ among the classifiable results after it (an
    inadequate one, fewer than 20 metaphases, says nothing about the response; where every
    later result is inadequate the bar is not classifiable). The change is relative to baseline
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
    assert base is not None
    usable = [t for t in after if t.cytogenetic not in (None, CytogeneticResponse.INADEQUATE)]
    if not usable:
        return WaterfallBar(assessment.patient_id, base, None, None,
                            CytogeneticResponse.INADEQUATE)
    best_tp = min(usable, key=lambda t: (t.ph_pct, t.date))
    assert best_tp.ph_pct is not None
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
}
#: A patient without a classifiable result: a hatched marker on the zero line, labelled.
NOT_CLASSIFIABLE = "not classifiable"


def plot_waterfall(bars: Sequence[WaterfallBar], ax: Axes | None = None) -> Axes:
    """Bars of best Ph+ change per patient, sorted from least to most reduction; patients
    without a classifiable result after baseline at the right end, as hatched squares on the
    zero line labelled "n.c." (never as a bar)."""
    ordered = sorted((b for b in bars if b.change_pct is not None),
                     key=lambda b: (-(b.change_pct or 0.0), b.patient_id))
    unclassified = sorted((b for b in bars if b.change_pct is None), key=lambda b: b.patient_id)
    if ax is None:
        ax = new_axes((7.5, 3.8))
    used: set[str] = set()
    for i, b in enumerate(ordered):
        key = str(b.best_cytogenetic)
        face, hatch = WATERFALL_STYLE.get(key, ("white", ""))
        label = None if key in used else key
        used.add(key)
        ax.bar(i, b.change_pct or 0.0, width=0.8, color=face, hatch=hatch, edgecolor="black",
               linewidth=0.5, label=label)
    if unclassified:
        xs = list(range(len(ordered), len(ordered) + len(unclassified)))
        ax.scatter(xs, [0.0] * len(xs), marker="s", s=70, facecolors="white", hatch="xxxx",
                   edgecolors="black", linewidths=0.8, zorder=3,
                   label=f"{NOT_CLASSIFIABLE} (every result inadequate)", gid="nc")
        for x in xs:
            ax.text(x, 6.0, "n.c.", ha="center", va="bottom", fontsize=7, rotation=90)
    ordered_all = [*ordered, *unclassified]
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylim(-105, max([30.0] + [(b.change_pct or 0.0) + 30 for b in ordered]))
    ax.set_xlim(-0.8, max(len(ordered_all), 1) - 0.2)
    if len(ordered_all) <= 40:
        ax.set_xticks(range(len(ordered_all)), [b.patient_id for b in ordered_all],
                      rotation=90, fontsize=7)
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{len(ordered_all)} patients, sorted by best change")
    ax.set_ylabel("best change in Ph+ metaphases\nfrom baseline (%)")
    ax.set_title("Best reduction of Ph+ from baseline (best cytogenetic response)", fontsize=10)
    if ordered_all:
        ax.legend(fontsize=7, loc="upper right", ncols=3)
    return ax
