"""AML pictures: one patient's course (marrow and blood blasts, counts, responses, regimen
days) and a trial's swimmer plot (response, transplant, relapse or progression, death)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cmltrack.domain.assess import Assessment
from cmltrack.domain.records import BloodCount, Marrow, PatientRecord
from cmltrack.plots._mpl import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _days(origin: dt.date, day: dt.date) -> int:
    return (day - origin).days


def plot_aml_course(record: PatientRecord, a: Assessment) -> Figure:
    """Three stacked panels on a common day axis (day 0 = therapy start): marrow and blood
    blasts (%) with each marrow's response; ANC and platelets (log scale); therapy bars."""
    import matplotlib.pyplot as plt

    assert a.aml is not None
    origin = a.therapy_start or (record.diagnosis.date if record.diagnosis
                                 and record.diagnosis.date else a.as_of)
    obs = [o for o in record.observations if o.date <= a.as_of]
    marrows = sorted((o for o in obs if isinstance(o, Marrow) and o.blasts_bm is not None),
                     key=lambda o: o.date)
    bloods = sorted((o for o in obs if isinstance(o, BloodCount)), key=lambda o: o.date)
    therapy = sorted((t for t in record.therapy if t.start <= a.as_of), key=lambda t: t.start)
    fig, (ax1, ax2, ax3) = plt.subplots(
        3, 1, figsize=(7.5, 6.8), sharex=True, gridspec_kw={"height_ratios": [3, 2, 1.3]})
    ax1.plot([_days(origin, m.date) for m in marrows], [m.blasts_bm for m in marrows], "o-",
             color="black", markerfacecolor="white", label="marrow blasts %")
    pb = [b for b in bloods if b.blasts_pb is not None]
    ax1.plot([_days(origin, b.date) for b in pb], [b.blasts_pb for b in pb], "s--",
             color="0.45", markersize=4, label="blood blasts %")
    ax1.axhline(5, color="0.3", linestyle=":", linewidth=0.8)
    ax1.text(0.995, 5, " 5%", transform=ax1.get_yaxis_transform(), fontsize=7, va="bottom",
             ha="right")
    for d in a.aml.course.days:
        ax1.annotate(d.response or "n.e.", (_days(origin, d.date), 100), fontsize=7,
                     rotation=90, ha="center", va="top", color="black")
    ax1.set_ylim(-2, 102)
    ax1.set_ylabel("blasts (%)")
    ax1.legend(fontsize=7, loc="center right")
    ax1.set_title(f"AML course of {record.id} (day 0 = {origin})", fontsize=10)
    anc = [b for b in bloods if b.anc is not None]
    plt_ = [b for b in bloods if b.platelets is not None]
    ax2.semilogy([_days(origin, b.date) for b in anc], [max(b.anc or 0, 0.01) for b in anc],
                 "o-", color="black", markersize=3, label="ANC x10^9/L")
    ax2.semilogy([_days(origin, b.date) for b in plt_],
                 [max(b.platelets or 0, 0.1) for b in plt_], "^--", color="0.45",
                 markersize=3, label="platelets x10^9/L")
    for level, text in ((1.0, "ANC 1.0"), (100.0, "platelets 100")):
        ax2.axhline(level, color="0.6", linestyle=":", linewidth=0.8)
        ax2.text(0.995, level, text, transform=ax2.get_yaxis_transform(), fontsize=6,
                 ha="right", va="bottom")
    ax2.set_ylabel("count")
    ax2.legend(fontsize=7, loc="lower right")
    names = list(dict.fromkeys(t.drug for t in therapy))
    for t in therapy:
        y = names.index(t.drug)
        end = t.end or a.as_of
        ax3.barh(y, max(_days(t.start, end), 1), left=_days(origin, t.start), height=0.6,
                 color="0.75", edgecolor="black", linewidth=0.5)
    ax3.set_yticks(range(len(names)), names, fontsize=7)
    ax3.set_ylim(-0.7, max(len(names) - 0.3, 0.7))
    ax3.set_xlabel("days from therapy start")
    for ev in record.events:
        for ax in (ax1, ax2, ax3):
            ax.axvline(_days(origin, ev.date), color="0.2", linestyle="-.", linewidth=0.6)
        ax1.annotate(ev.kind, (_days(origin, ev.date), 50), fontsize=7, rotation=90,
                     ha="right", va="center")
    for ax in (ax1, ax2, ax3):
        ax.grid(True, color="0.92", linewidth=0.5)
    fig.tight_layout()
    return fig


@dataclass(frozen=True, slots=True)
class TrialSwimmerRow:
    """A trial patient's bar in months from inclusion, with their marks."""

    patient_id: str
    follow_up: float
    alive: bool
    marks: dict[str, float] = field(default_factory=dict)


#: label: (marker, face colour), told apart in grey print.
TRIAL_MARKS: dict[str, tuple[str, str]] = {
    "response": ("o", "white"),
    "allo-HCT": ("s", "0.5"),
    "relapse or progression": ("X", "black"),
    "death": ("$\u2020$", "black"),
}


def plot_trial_swimmer(rows: Sequence[TrialSwimmerRow], ax: Axes | None = None) -> Axes:
    """One bar per patient (longest on top): response, transplant, relapse/PD, death."""
    shown = sorted(rows, key=lambda r: r.follow_up)
    if ax is None:
        ax = new_axes((7.5, min(2.0 + 0.2 * len(shown), 14.0)))
    y = list(range(len(shown)))
    ax.barh(y, [r.follow_up for r in shown], height=0.55, color="0.85", edgecolor="0.3",
            linewidth=0.6, zorder=1)
    for label, (marker, face) in TRIAL_MARKS.items():
        pts = [(r.marks[label], i) for i, r in enumerate(shown) if label in r.marks]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=marker,
                       s=70 if label == "death" else 34, facecolors=face, edgecolors="black",
                       linewidths=0.8, zorder=3, label=label)
    alive = [(r.follow_up, i) for i, r in enumerate(shown) if r.alive]
    if alive:
        ax.scatter([a[0] for a in alive], [a[1] for a in alive], marker=">", s=22, color="0.3",
                   zorder=2, label="alive at last follow-up")
    ax.set_yticks(y, [r.patient_id for r in shown], fontsize=6 if len(shown) > 30 else 8)
    ax.set_ylim(-0.7, max(len(shown) - 0.3, 0.7))
    ax.set_xlim(0, max([r.follow_up for r in shown] + [1.0]) * 1.05)
    ax.set_xlabel("months from inclusion")
    ax.set_title("Course per patient from inclusion", fontsize=10)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.95)
    ax.grid(True, axis="x", color="0.9", linewidth=0.6)
    return ax
