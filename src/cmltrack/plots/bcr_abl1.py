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
- Zones per line of TKI therapy: each line (a switch to another TKI starts one; clinical-rules
  section 14) gets its own landmarks from its own start, up to the next line. Windows follow
  each other without gaps: a window is drawn until the next one opens (the 6-month cells of
  ELN 2013/2020 until the 12-month window opens at 10 months), the picture ELN's tables give
  between landmarks; the verdicts themselves are the assessment's.
- A treatment-free remission (a ``tki_stop`` event, until a TKI is restarted) is its own band,
  with no milestone zones in it: the landmarks judge response on therapy.
- Kinase-domain mutations found (T315I, E255K, ...) as labelled diamonds on the course at the
  date of the analysis, and each loss of MMR the assessment derived as a ringed result.
- Calendar years on a second axis above the chart, so months on therapy and dates read
  together.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
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
from cmltrack.domain.records import Mutation, PatientRecord, Pcr
from cmltrack.domain.response import MOLECULAR_BANDS, UNDETECTED_MIN_COPIES
from cmltrack.domain.timeline import DAYS_PER_MONTH, months_between
from cmltrack.plots._mpl import figure_of
from cmltrack.plots.zones import Zone, zones_for

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.axes._secondary_axes import SecondaryAxis

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

#: Fill and hatch of a treatment-free remission band (off TKI after a stop).
TFR_STYLE = ("#deebf7", "--")

#: Mutation and loss-of-MMR marks: Okabe-Ito vermillion and blue, told apart by shape too.
MUTATION_COLOR = "#d55e00"
LOSS_COLOR = "#0072b2"

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
    #: Each line of TKI therapy as (start, end) in months; the last runs to the chart's end.
    lines: tuple[tuple[float, float | None], ...] = ()
    #: Each treatment-free remission (TKI stop to restart, or open) as (start, end) in months.
    tfr: tuple[tuple[float, float | None], ...] = ()


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
        lines=tuple(
            (round(months_between(origin, line.start), 4),
             round(months_between(origin, lines[i + 1].start), 4) if i + 1 < len(lines) else None)
            for i, line in enumerate(lines)
        ),
        tfr=tuple(
            (round(months_between(origin, a), 4),
             None if b is None else round(months_between(origin, b), 4))
            for a, b in tfr_periods(record, assessment.as_of)
        ),
    )
    return frame, origin, points, lines


def tfr_periods(record: PatientRecord, as_of: dt.date) -> list[tuple[dt.date, dt.date | None]]:
    """Treatment-free remissions: from each ``tki_stop`` event to the first TKI started after
    it (None: still off TKI at ``as_of``), as :mod:`cmltrack.domain.guidelines.tfr` reads them."""
    out: list[tuple[dt.date, dt.date | None]] = []
    for day in sorted({e.date for e in record.events if e.kind == "tki_stop" and e.date <= as_of}):
        later = [t.start for t in record.therapy if t.drug in TKIS and day < t.start <= as_of]
        out.append((day, min(later, default=None)))
    return out


def zone_spans(frame: Frame) -> list[tuple[Zone, float, float]]:
    """(zone, start, end) in months of every milestone zone drawn on ``frame``.

    Each line of TKI therapy gets the guideline's zones from its own start up to the next
    line; a window is drawn until the next window opens (no gaps between landmarks); nothing
    is shaded in a treatment-free remission or after the follow-up ended.
    """
    zones = zones_for(frame.guideline)
    stop = frame.x_max if frame.zone_end is None else min(frame.zone_end, frame.x_max)
    holes = sorted((a, frame.x_max if b is None else b) for a, b in frame.tfr)
    spans: list[tuple[Zone, float, float]] = []
    for line_start, line_end in frame.lines or ((frame.shift, None),):
        until = stop if line_end is None else min(line_end, stop)
        for i, zone in enumerate(zones):
            following = zones[i + 1].start if i + 1 < len(zones) else None
            end = zone.end if following is None else max(following, zone.end or following)
            a = line_start + zone.start
            b = until if end is None else min(line_start + end, until)
            for piece in _minus(a, b, holes):
                spans.append((zone, *piece))
    return spans


def _minus(a: float, b: float, holes: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of [a, b] outside every hole (holes sorted by start)."""
    out: list[tuple[float, float]] = []
    for lo, hi in holes:
        if hi <= a or lo >= b:
            continue
        if lo > a:
            out.append((a, lo))
        a = max(a, hi)
    if b > a:
        out.append((a, b))
    return out


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
        if frame_has_tfr(ax):
            ax.add_patch(Rectangle((0, 0), 0, 0, facecolor=TFR_STYLE[0], hatch=TFR_STYLE[1],
                                   edgecolor="0.55", linewidth=0.0,
                                   label="treatment-free remission (off TKI)"))
        if points or shown:
            if own_figure:  # the legend goes under the figure, clear of the data
                figure_of(ax).legend(loc="lower center", fontsize=7, ncols=3, frameon=False,
                                     bbox_to_anchor=(0.5, 0.0))
            else:
                ax.legend(loc="lower left", fontsize=7, framealpha=0.9, ncols=3)
    return ax


def frame_has_tfr(ax: Axes) -> bool:
    return any(p.get_gid() == "tfr" for p in ax.patches)


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

    # Landmarks count from the start of each line of TKI therapy: after a switch to another
    # TKI they restart (clinical-rules section 14), and so do the zones.
    shown: set[MilestoneStatus] = set()
    labelled: set[tuple[float, str]] = set()
    for zone, z_start, z_end in zone_spans(frame):
        for band in zone.bands:
            face, hatch = ZONE_STYLE[band.status]
            shown.add(band.status)
            lo, hi = max(band.low, y_low), min(band.high, y_high)
            ax.add_patch(
                Rectangle(
                    (z_start, lo), z_end - z_start, hi - lo,
                    facecolor=face, hatch=hatch, edgecolor="0.6", linewidth=0.0, zorder=0,
                )
            )
        # The landmark's name on top of its zone (once per line); upright where it is narrow.
        key = (round(z_start - zone.start, 3), zone.label)
        if key in labelled or z_end - z_start < 0.8 * (x_max - x_min) / 100:
            continue
        labelled.add(key)
        wide = z_end - z_start > (len(zone.label) + 1) * (x_max - x_min) / 100
        ax.text(
            (z_start + z_end) / 2, y_high / 1.5, zone.label, ha="center", va="top",
            fontsize=7, color="0.15", rotation=0 if wide else 90,
        )
    for start, end in frame.tfr:
        stop = x_max if end is None else min(end, x_max)
        ax.add_patch(
            Rectangle((start, y_low), stop - start, y_high - y_low, facecolor=TFR_STYLE[0],
                      hatch=TFR_STYLE[1], edgecolor="0.55", linewidth=0.0, zorder=0.5,
                      gid="tfr")
        )
        ax.text((start + stop) / 2, y_high / 1.5, "TFR", ha="center", va="top", fontsize=7.5,
                color="#08306b", fontweight="bold", gid="tfr")
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
    calendar: SecondaryAxis | None = None,
) -> list[Artist]:
    """The patient's own marks on a frame; returns the artists added (title included).

    ``calendar``: a calendar axis to reuse (its dates are set to this patient's); without it
    one is added.
    """
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
    _draw_mutations(ax, record, assessment, origin, points, frame)
    _draw_losses(ax, assessment, origin, points, frame)
    verdicts = _draw_milestone_marks(ax, assessment, origin, frame.y_low, frame.y_high)
    if frame.strip:
        _dose_strip(ax, record, origin, frame.x_min, frame.x_max)
    title = f"Patient {record.id}: BCR::ABL1 with {assessment.guideline} milestone zones"
    if len(lines) > 1:
        verdicts = verdicts.replace(
            "milestones:",
            f"line {len(lines)} ({lines[-1].drug} from month {frame.shift:.1f}) milestones:",
        )
    # An explicit y spares matplotlib the costly automatic placement of the title; it sits
    # above the calendar axis.
    import textwrap

    ax.set_title("\n".join([title, *textwrap.wrap(verdicts, 92)]), fontsize=9, y=1.08)
    added = [a for a in ax.get_children() if id(a) not in before]
    if calendar is None:
        calendar = calendar_axis(ax, origin)
        added = [a for a in added if a is not calendar]
    else:
        calendar.set_functions(_calendar_functions(origin))
    return [*sorted(added, key=lambda a: a.get_zorder()), calendar, ax.title]


def _calendar_functions(origin: dt.date) -> tuple[Any, Any]:
    """Months since ``origin`` to matplotlib date numbers (days) and back."""
    from matplotlib.dates import date2num

    base = float(date2num(origin))  # type: ignore[no-untyped-call]
    return (lambda m: base + m * DAYS_PER_MONTH, lambda d: (d - base) / DAYS_PER_MONTH)


def calendar_axis(ax: Axes, origin: dt.date) -> SecondaryAxis:
    """A second x axis above the chart in calendar dates (months since ``origin`` at 30.4375
    days), ticked in years, or in months over a short follow-up."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    cal = ax.secondary_xaxis("top", functions=_calendar_functions(origin))
    locator = AutoDateLocator(minticks=3, maxticks=9)  # type: ignore[no-untyped-call]
    cal.xaxis.set_major_locator(locator)
    cal.xaxis.set_major_formatter(
        ConciseDateFormatter(locator, show_offset=False)  # type: ignore[no-untyped-call]
    )
    cal.tick_params(axis="x", labelsize=7.5, pad=1.5, length=3)
    return cal


def course_value(points: Sequence[PcrPoint], months: float, floor: float) -> float:
    """Where the course line passes at ``months`` (log-linear between results; the nearest
    result outside them): where a mark for that day sits on the course."""
    xy = [(p.months, p.value if p.value is not None else floor) for p in points]
    if not xy:
        return floor
    before = [q for q in xy if q[0] <= months]
    after = [q for q in xy if q[0] >= months]
    if not before:
        return after[0][1]
    if not after:
        return before[-1][1]
    (x0, y0), (x1, y1) = before[-1], after[0]
    if x1 == x0:
        return y0
    t = (months - x0) / (x1 - x0)
    return float(10 ** (math.log10(y0) + t * (math.log10(y1) - math.log10(y0))))


def _draw_mutations(
    ax: Axes, record: PatientRecord, assessment: Assessment, origin: dt.date,
    points: Sequence[PcrPoint], frame: Frame,
) -> None:
    """Each mutation analysis that found BCR::ABL1 kinase-domain mutations: a diamond on the
    course at its date, labelled with the mutations (T315I, E255K)."""
    found: dict[dt.date, list[str]] = {}
    for obs in record.observations:
        if isinstance(obs, Mutation) and obs.mutations and obs.date <= assessment.as_of:
            names = found.setdefault(obs.date, [])
            names += [m for m in obs.mutations if m not in names]
    if not found:
        return
    days = sorted(found)
    xs = [months_between(origin, d) for d in days]
    ys = [course_value(points, x, frame.y_low * 1.4) for x in xs]
    ax.plot(xs, ys, "D", markerfacecolor=MUTATION_COLOR, markeredgecolor="black",
            markersize=8, zorder=5, label="BCR::ABL1 mutation found")
    for x, y, day in zip(xs, ys, days, strict=True):
        ax.annotate(", ".join(found[day]), (x, y), xytext=(5, 6), textcoords="offset points",
                    fontsize=7.5, fontweight="bold", color=MUTATION_COLOR, zorder=6,
                    annotation_clip=False)


def _draw_losses(
    ax: Axes, assessment: Assessment, origin: dt.date, points: Sequence[PcrPoint],
    frame: Frame,
) -> None:
    """Each loss of MMR the assessment derived: the result that lost it, ringed."""
    days = sorted(e.date for e in assessment.events if e.kind is EventKind.LOSS_OF_MMR)
    if not days:
        return
    xs = [months_between(origin, d) for d in days]
    ys = [course_value(points, x, frame.y_low * 1.4) for x in xs]
    ax.plot(xs, ys, "o", markerfacecolor="none", markeredgecolor=LOSS_COLOR, markersize=13,
            markeredgewidth=1.8, zorder=5, label="loss of MMR")
    for x, y in zip(xs, ys, strict=True):
        ax.annotate("loss of MMR", (x, y), xytext=(9, -2), textcoords="offset points",
                    va="top", fontsize=7.5, color=LOSS_COLOR, zorder=6, annotation_clip=False)


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
        self._calendar = calendar_axis(self.ax, dt.date(2000, 1, 1))  # dated per patient

    def render(self, record: PatientRecord, assessment: Assessment) -> Any:
        """The chart as an RGBA array (height x width x 4, uint8)."""
        import numpy as np

        from cmltrack.plots._mpl import reset_axes

        ax = self.ax
        for artist in self._course:
            if artist is not ax.title and artist is not self._calendar:
                artist.remove()
        frame, origin, points, lines = chart_frame(record, assessment)
        background = self._backgrounds.pop(frame, None)
        if background is None:
            reset_axes(ax)
            draw_frame(ax, frame)
            self._calendar.set_visible(False)  # the patient's own dates are not background
            self.canvas.draw()  # type: ignore[no-untyped-call]
            self._calendar.set_visible(True)
            background = self.canvas.copy_from_bbox(self.fig.bbox)  # type: ignore[no-untyped-call]
            if len(self._backgrounds) >= self._cache:
                self._backgrounds.pop(next(iter(self._backgrounds)))
        else:
            ax.set_xlim(frame.x_min, frame.x_max)  # transforms of the course need the limits
            ax.set_ylim(frame.y_low, frame.y_high)
            self.canvas.restore_region(background)  # type: ignore[no-untyped-call]
        self._backgrounds[frame] = background  # most recently used last
        self._course = draw_course(ax, record, assessment, frame, origin, points, lines,
                                   calendar=self._calendar)
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
        fig = Figure(figsize=(7.5, 4.9), dpi=100)
        return fig.add_axes((0.12, 0.26, 0.74, 0.565))
    fig = Figure(figsize=(7.5, 4.3), dpi=100)
    return fig.add_axes((0.12, 0.195, 0.74, 0.62))


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
        if ev.kind == "tki_stop":
            continue  # the treatment-free remission band is labelled instead
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
