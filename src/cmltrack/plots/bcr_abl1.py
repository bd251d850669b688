"""The per-patient BCR::ABL1 chart: % IS on a log scale over months on therapy.

What it shows, and why:
- MMR (0.1%), MR4 (0.01%) and MR4.5 (0.0032%) as labelled horizontal lines, read from the
  molecular bands of :mod:`cmltrack.domain.response` (CROSS15), so the picture and the
  classification share one definition.
- The chosen guideline's BCR::ABL1 milestone cells as shaded zones over each landmark window
  (:mod:`cmltrack.plots.zones`), told apart by hatching as well as colour for grey print.
- Undetected results drawn at the sample's own sensitivity, as an open downward triangle. One
  BCR::ABL1 copy among ``c`` control-gene copies is ``100/c`` % for ABL1: the CROSS15 bins are
  built on exactly this ratio (MR4 = 10,000 ABL1 copies = 0.01%, MR4.5 = 32,000 = 0.0031%,
  MR5 = 100,000 = 0.001%). GUSB is scaled by the same bins (24,000 GUSB copies = MR4), i.e.
  240/c %. The IS conversion factor of the lab is taken as 1, as those bins do. Without control
  copies the sensitivity is unknown: the triangle sits on the bottom of the axis, grey.
- Drug and dose along the time axis in a strip below the chart (gaps are holds), and reported
  events (progression, death, TKI stop, transplant) as dotted vertical lines.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from cmltrack.domain.assess import Assessment
from cmltrack.domain.enums import (
    TKIS,
    EventKind,
    FollowUpStatus,
    MilestoneStatus,
    MolecularResponse,
)
from cmltrack.domain.guidelines.eln import Line, tki_lines
from cmltrack.domain.records import PatientRecord, Pcr
from cmltrack.domain.response import MOLECULAR_BANDS, UNDETECTED_MIN_COPIES
from cmltrack.domain.timeline import months_between
from cmltrack.plots._mpl import figure_of
from cmltrack.plots.zones import zones_for

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

#: Reference lines drawn on the chart, deepest last.
MR_LINES: tuple[MolecularResponse, ...] = (
    MolecularResponse.MMR,
    MolecularResponse.MR4,
    MolecularResponse.MR4_5,
)

#: Zone fill and hatch per status: colour for the screen, hatch density for grey print.
ZONE_STYLE: dict[MilestoneStatus, tuple[str, str]] = {
    MilestoneStatus.OPTIMAL: ("#d9f0d3", ""),
    MilestoneStatus.WARNING: ("#fee8a0", ".."),
    MilestoneStatus.SUBOPTIMAL: ("#fdd0a2", "\\\\"),
    MilestoneStatus.FAILURE: ("#fcbba1", "////"),
}

#: Short drug names for the dose strip (as clinicians abbreviate them).
DRUG_ABBREV = {
    "imatinib": "IM",
    "dasatinib": "DAS",
    "nilotinib": "NIL",
    "bosutinib": "BOS",
    "ponatinib": "PON",
    "asciminib": "ASC",
    "hydroxyurea": "HU",
    "cytarabine": "AraC",
    "interferon": "IFN",
}


def mr_threshold(level: MolecularResponse) -> float:
    """The upper bound (% IS, inclusive) of a molecular level, from the classification bands."""
    for band in MOLECULAR_BANDS:
        if band.category == level:
            upper: float = band.upper
            return upper
    raise KeyError(level)


def pcr_sensitivity(pcr: Pcr) -> float | None:
    """% IS of one BCR::ABL1 copy in this sample (None when control copies are not given).

    Scaled on the MR4 row of the CROSS15 bins: that many control copies make 0.01%.
    """
    if pcr.control_gene is None or pcr.control_copies is None or pcr.control_copies <= 0:
        return None
    mr4_copies = dict(UNDETECTED_MIN_COPIES[pcr.control_gene])[MolecularResponse.MR4]
    return mr_threshold(MolecularResponse.MR4) * mr4_copies / pcr.control_copies


@dataclass(frozen=True, slots=True)
class PcrPoint:
    """One PCR as drawn: months on therapy, % IS (or sensitivity), and how it was placed."""

    date: dt.date
    months: float
    value: float | None
    detected: bool


def pcr_points(record: PatientRecord, origin: dt.date) -> list[PcrPoint]:
    """Every PCR of the record in date order; undetected ones carry their sensitivity."""
    out: list[PcrPoint] = []
    for obs in sorted(
        (o for o in record.observations if isinstance(o, Pcr)), key=lambda o: o.date
    ):
        value = obs.bcr_abl1_is
        detected = obs.is_detected and value is not None and value > 0
        out.append(
            PcrPoint(
                date=obs.date,
                months=months_between(origin, obs.date),
                value=value if detected else pcr_sensitivity(obs),
                detected=detected,
            )
        )
    return out


def chart_origin(record: PatientRecord, assessment: Assessment) -> tuple[dt.date, str]:
    """Time zero and the x-axis label: the first TKI start, else the first PCR or diagnosis."""
    if assessment.therapy_start is not None:
        return assessment.therapy_start, "months since start of TKI therapy"
    days = [o.date for o in record.observations if isinstance(o, Pcr)]
    if record.diagnosis is not None and record.diagnosis.date is not None:
        days.append(record.diagnosis.date)
    first = min(days) if days else assessment.as_of
    return first, "months since first result (no TKI start recorded)"


@dataclass(frozen=True, slots=True)
class Frame:
    """What a chart shares with other patients' charts: scales, zones, labels.

    Limits are rounded (x to whole years, y to a few ranges) so that many patients share a
    frame; :class:`ChartRenderer` draws each frame once and only the course on top of it.
    """

    guideline: str
    x_min: float
    x_max: float
    y_low: float
    y_high: float
    shift: float  # start of the current TKI line, months: the landmarks count from it
    xlabel: str
    strip: bool
    #: Where the milestone zones stop, months: the death or loss to follow-up, else x_max.
    zone_end: float | None = None


def _nice(value: float, up: bool) -> float:
    """The 1-2-5 step at or below (``up`` False) or at or above ``value``."""
    exp = math.floor(math.log10(value))
    steps = [m * 10.0**e for e in (exp - 1, exp, exp + 1) for m in (1, 2, 5)]
    return min(s for s in steps if s >= value) if up else max(s for s in steps if s <= value)


def chart_frame(
    record: PatientRecord, assessment: Assessment, *, dose_strip: bool = True
) -> tuple[Frame, dt.date, list[PcrPoint], list[Line]]:
    """The frame of one patient's chart, its time origin, PCR points and TKI lines."""
    origin, xlabel = chart_origin(record, assessment)
    points = pcr_points(record, origin)
    end = months_between(origin, assessment.as_of)
    last = max([end, 12.0] + [p.months for p in points])
    first = min([0.0] + [p.months for p in points])
    values = [p.value for p in points if p.value is not None]
    lines = tki_lines(record, assessment.as_of)
    low = min([mr_threshold(MolecularResponse.MR5) / 2] + [v / 2 for v in values])
    high = max(values, default=1.0)
    frame = Frame(
        guideline=assessment.guideline,
        # Coarse steps, so that most patients of a cohort share a handful of frames: three
        # months before therapy, whole years after it, and few vertical ranges.
        x_min=-3.0 * math.ceil((0.5 - first) / 3.0),
        x_max=12.0 * math.ceil((last + 1.0) / 12.0),
        y_low=min(0.0002, _nice(low, up=False)),
        y_high=200.0 if high <= 100 else 1000.0 if high <= 500 else _nice(2 * high, up=True),
        shift=round(months_between(origin, lines[-1].start), 4) if lines else 0.0,
        xlabel=xlabel,
        strip=dose_strip and bool(record.therapy),
        zone_end=_follow_up_end(assessment, origin),
    )
    return frame, origin, points, lines


def _follow_up_end(assessment: Assessment, origin: dt.date) -> float | None:
    """Months from ``origin`` to the death or loss to follow-up that ended follow-up: no
    milestone zone is drawn after it (a landmark the patient could not reach)."""
    status = assessment.current.status
    kind = {FollowUpStatus.DECEASED: EventKind.DEATH,
            FollowUpStatus.LOST_TO_FOLLOW_UP: EventKind.LOST_TO_FOLLOW_UP}.get(
                status) if isinstance(status, FollowUpStatus) else None
    day = next((e.date for e in assessment.events if e.kind is kind), None)
    return None if day is None else round(months_between(origin, day), 4)


def plot_bcr_abl1(
    record: PatientRecord,
    assessment: Assessment,
    ax: Axes | None = None,
    *,
    dose_strip: bool = True,
    legend: bool = True,
) -> Axes:
    """Draw the patient's BCR::ABL1 course on one Axes (the dose strip sits under its x axis).

    ``legend=False`` leaves the key out (a report prints it as a caption) and makes the figure
    shorter.
    """
    own_figure = ax is None
    if ax is None:
        ax = new_chart_axes(legend)
    frame, origin, points, lines = chart_frame(record, assessment, dose_strip=dose_strip)
    shown = draw_frame(ax, frame)
    draw_course(ax, record, assessment, frame, origin, points, lines)
    if legend:
        from matplotlib.patches import Rectangle

        for status in ZONE_STYLE:  # proxies so the legend explains the hatching
            if status in shown:
                face, hatch = ZONE_STYLE[status]
                ax.add_patch(
                    Rectangle((0, 0), 0, 0, facecolor=face, hatch=hatch, edgecolor="0.6",
                              linewidth=0.0, label=f"zone: {status}")
                )
        if points or shown:
            if own_figure:  # the legend goes under the figure, clear of the data
                figure_of(ax).legend(loc="lower center", fontsize=7, ncols=3, frameon=False,
                                     bbox_to_anchor=(0.5, 0.0))
            else:
                ax.legend(loc="lower left", fontsize=7, framealpha=0.9, ncols=3)
    return ax


def draw_frame(ax: Axes, frame: Frame) -> set[MilestoneStatus]:
    """Scales, milestone zones, response lines and axis labels; returns the statuses shaded."""
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FuncFormatter, NullLocator

    x_min, x_max, y_low, y_high = frame.x_min, frame.x_max, frame.y_low, frame.y_high
    # Limits first and autoscaling off: every artist added later skips the limit update.
    ax.set_yscale("log")
    ax.set_ylim(y_low, y_high)
    ax.set_xlim(x_min, x_max)
    ax.set_autoscale_on(False)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}%"))
    ax.yaxis.set_minor_locator(NullLocator())  # decades suffice; minor log ticks are costly
    ax.set_ylabel("BCR::ABL1 % IS (log scale)")
    ax.set_xlabel(frame.xlabel)
    ax.xaxis.labelpad = 22 if frame.strip else 4  # the label goes under the dose strip
    ax.set_title("")

    # Landmarks count from the start of the current line of TKI therapy: after a switch to
    # another TKI they restart (clinical-rules section 14), and so do the zones.
    shown: set[MilestoneStatus] = set()
    zones_stop = x_max if frame.zone_end is None else min(frame.zone_end, x_max)
    for zone in zones_for(frame.guideline):
        zone = replace(zone, start=zone.start + frame.shift,
                       end=None if zone.end is None else zone.end + frame.shift)
        z_end = zones_stop if zone.end is None else min(zone.end, zones_stop)
        if zone.start >= zones_stop:
            continue  # a landmark beyond the follow-up: nothing to shade yet
        for band in zone.bands:
            face, hatch = ZONE_STYLE[band.status]
            shown.add(band.status)
            lo, hi = max(band.low, y_low), min(band.high, y_high)
            ax.add_patch(
                Rectangle(
                    (zone.start, lo), z_end - zone.start, hi - lo,
                    facecolor=face, hatch=hatch, edgecolor="0.6", linewidth=0.0, zorder=0,
                )
            )
        # The landmark's name on top of its zone; upright where the window is too narrow.
        wide = z_end - zone.start > (len(zone.label) + 1) * (x_max - x_min) / 100
        ax.text(
            (zone.start + z_end) / 2, y_high / 1.5, zone.label, ha="center", va="top",
            fontsize=7, color="0.15", rotation=0 if wide else 90,
        )
    for i, level in enumerate(MR_LINES):
        y = mr_threshold(level)
        ax.axhline(y, color="0.15", linestyle=("-", "--", ":")[i], linewidth=0.9, zorder=2)
        ax.text(
            x_max, y, f" {level} {y:g}%", va="center", ha="left", fontsize=8,
            clip_on=False,
        )
    return shown


def draw_course(
    ax: Axes,
    record: PatientRecord,
    assessment: Assessment,
    frame: Frame,
    origin: dt.date,
    points: Sequence[PcrPoint],
    lines: Sequence[Line],
) -> list[Artist]:
    """The patient's own marks on a frame; returns the artists added (title included)."""
    before = {id(a) for a in ax.get_children()}
    floor = frame.y_low * 1.4  # where undetected results of unknown sensitivity sit
    # The course: one line through every result, detected values as filled circles.
    if points:
        ax.plot([p.months for p in points],
                [p.value if p.value is not None else floor for p in points],
                color="0.3", linewidth=1.0, zorder=3)
    det = [(p.months, p.value) for p in points if p.detected and p.value is not None]
    if det:
        ax.plot(
            [d[0] for d in det], [d[1] for d in det], "o", color="black", markersize=5,
            zorder=4, label="BCR::ABL1 detected",
        )
    known = [(p.months, p.value) for p in points if not p.detected and p.value is not None]
    if known:
        ax.plot(
            [k[0] for k in known], [k[1] for k in known], "v", markerfacecolor="white",
            markeredgecolor="black", markersize=7, zorder=4,
            label="undetected, at sample sensitivity",
        )
    unknown = [p.months for p in points if not p.detected and p.value is None]
    if unknown:
        ax.plot(
            unknown, [floor] * len(unknown), "v", markerfacecolor="white",
            markeredgecolor="0.5", markersize=7, zorder=4,
            label="undetected, sensitivity not given",
        )
    _draw_events(ax, record, origin, frame.y_low, frame.y_high)
    verdicts = _draw_milestone_marks(ax, assessment, origin, frame.y_low, frame.y_high)
    if frame.strip:
        _dose_strip(ax, record, origin, frame.x_min, frame.x_max)
    title = f"Patient {record.id}: BCR::ABL1 with {assessment.guideline} milestone zones"
    if len(lines) > 1:
        verdicts = verdicts.replace(
            "milestones:",
            f"line {len(lines)} ({lines[-1].drug} from month {frame.shift:.1f}) milestones:",
        )
    # An explicit y spares matplotlib the costly automatic placement of the title.
    ax.set_title(title + (f"\n{verdicts}" if verdicts else ""), fontsize=9.5, y=1.01)
    added = [a for a in ax.get_children() if id(a) not in before]
    return [*sorted(added, key=lambda a: a.get_zorder()), ax.title]


class ChartRenderer:
    """Renders many patients' charts on one figure, drawing each shared frame only once.

    The frame (scales, zones, response lines, tick labels) is drawn the first time it is
    needed and kept as pixels; each patient's course is then drawn over a copy of it
    (matplotlib blitting). The result equals a full drawing of :func:`plot_bcr_abl1` with
    ``legend=False`` (a test compares them pixel by pixel) at a fraction of the cost.
    """

    def __init__(self, dpi: float = 72, cache: int = 64) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.ax = new_chart_axes(legend=False)
        self.fig = figure_of(self.ax)
        self.fig.set_dpi(dpi)
        self.canvas = FigureCanvasAgg(self.fig)
        self._cache = cache
        self._backgrounds: dict[Frame, Any] = {}
        self._course: list[Artist] = []

    def render(self, record: PatientRecord, assessment: Assessment) -> Any:
        """The chart as an RGBA array (height x width x 4, uint8)."""
        import numpy as np

        from cmltrack.plots._mpl import reset_axes

        ax = self.ax
        for artist in self._course:
            if artist is not ax.title:
                artist.remove()
        frame, origin, points, lines = chart_frame(record, assessment)
        background = self._backgrounds.pop(frame, None)
        if background is None:
            reset_axes(ax)
            draw_frame(ax, frame)
            self.canvas.draw()  # type: ignore[no-untyped-call]
            background = self.canvas.copy_from_bbox(self.fig.bbox)  # type: ignore[no-untyped-call]
            if len(self._backgrounds) >= self._cache:
                self._backgrounds.pop(next(iter(self._backgrounds)))
        else:
            ax.set_xlim(frame.x_min, frame.x_max)  # transforms of the course need the limits
            ax.set_ylim(frame.y_low, frame.y_high)
            self.canvas.restore_region(background)  # type: ignore[no-untyped-call]
        self._backgrounds[frame] = background  # most recently used last
        self._course = draw_course(ax, record, assessment, frame, origin, points, lines)
        renderer = self.canvas.get_renderer()  # type: ignore[no-untyped-call]
        for artist in self._course:
            artist.draw(renderer)
        return np.asarray(self.canvas.buffer_rgba()).copy()  # type: ignore[no-untyped-call]


def new_chart_axes(legend: bool = True) -> Axes:
    """A figure with room under the axis for the dose strip (and the legend)."""
    from matplotlib.figure import Figure

    # Fixed positions rather than a layout engine, and a single Axes (the strip is drawn
    # under it): the chart is drawn once per patient in a report, and a layout engine or a
    # second shared Axes would double its cost.
    if legend:
        fig = Figure(figsize=(7.5, 4.6), dpi=100)
        return fig.add_axes((0.12, 0.27, 0.74, 0.62))
    fig = Figure(figsize=(7.5, 4.0), dpi=100)
    return fig.add_axes((0.12, 0.21, 0.74, 0.67))


def _draw_events(
    ax: Axes, record: PatientRecord, origin: dt.date, y_low: float, y_high: float
) -> None:
    """Reported events as dotted verticals (one collection) with their names."""
    events = sorted(record.events, key=lambda e: e.date)
    xs = [months_between(origin, ev.date) for ev in events]
    if xs:
        ax.vlines(xs, y_low, y_high, colors="0.1", linestyles=(0, (1, 2)), linewidth=1.1,
                  zorder=2.6)
    for m, ev in zip(xs, events, strict=True):
        label = ev.kind.replace("_", " ")
        if ev.kind == "progression" and ev.phase:
            label = f"progression ({ev.phase})"
        ax.text(m, y_high / 1.2, f" {label}", rotation=90, va="top", ha="left", fontsize=7,
                zorder=5)


def _draw_milestone_marks(
    ax: Axes, assessment: Assessment, origin: dt.date, y_low: float, y_high: float
) -> str:
    """Mark the result each landmark verdict used; return the verdicts as one line of text."""
    used = [
        months_between(origin, ms.date) for ms in assessment.milestones if ms.date is not None
    ]
    if used:
        ax.vlines(used, y_low, y_high, colors="0.45", linewidth=0.6,
                  linestyles=(0, (4, 3)), zorder=2.6)
    parts = [f"{ms.month} mo {str(ms.status).replace('_', ' ')}" for ms in assessment.milestones]
    return "milestones: " + ", ".join(parts) if parts else ""


def therapy_segments(
    record: PatientRecord, origin: dt.date, until: float
) -> list[tuple[float, float, str, bool]]:
    """(start, end, label, is a TKI) in months per therapy line; open lines run to ``until``."""
    out: list[tuple[float, float, str, bool]] = []
    for line in sorted(record.therapy, key=lambda t: t.start):
        start = months_between(origin, line.start)
        end = until if line.end is None else months_between(origin, line.end)
        name = DRUG_ABBREV.get(line.drug, line.drug)
        dose = "" if line.dose_mg_per_day is None else f" {line.dose_mg_per_day:g}"
        out.append((start, end, f"{name}{dose}", line.drug in TKIS))
    return out


def _dose_strip(
    ax: Axes, record: PatientRecord, origin: dt.date, x_min: float, x_max: float
) -> None:
    """Drug and dose as bars under the tick labels: x in months, y in axes fractions.

    TKIs fill the strip; other drugs given alongside (hydroxyurea, cytarabine) get a thin bar
    under it. A label is written only where it fits inside its bar.
    """
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax.transData, ax.transAxes)
    char = (x_max - x_min) / 100  # months per character of 7 pt text across the axis
    shades = ("0.85", "0.65")
    tki_lines = [t for t in record.therapy if t.drug in TKIS]
    for i, (start, end, label, is_tki) in enumerate(therapy_segments(record, origin, x_max)):
        low, high = (-0.16, -0.09) if is_tki else (-0.19, -0.165)
        a, b = max(start, x_min), min(max(end, start + 0.05), x_max)
        if b <= a:
            continue
        ax.add_patch(
            Rectangle((a, low), b - a, high - low, transform=trans, clip_on=False,
                      facecolor=shades[i % 2] if is_tki else "white",
                      hatch="" if is_tki else "xxx", edgecolor="black", linewidth=0.6)
        )
        if (b - a) > (len(label) + 1) * char:
            y = (low + high) / 2 if is_tki else low - 0.005
            ax.text(a + 0.4 * char, y, label, transform=trans, va="center" if is_tki else "top",
                    ha="left", fontsize=7, clip_on=False)
    ax.text(-0.01, -0.125, "TKI mg/d" if tki_lines else "drug mg/d", transform=ax.transAxes,
            ha="right", va="center", fontsize=7)
