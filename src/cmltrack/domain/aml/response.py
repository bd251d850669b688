"""AML response per marrow date (ELN 2022, or ELN 2017 as an option), MRD status and events.

Implements the aml spec's section 3. A marrow dated after therapy start with ``blasts_bm`` is
classified against the blood count nearest to it within 7 days, the MRD result nearest within
7 days and the extramedullary status, in the order of ``rules/data/aml_response.yaml``.
Missing or inadequate data makes the date not evaluable (null), with the reason in the basis.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from cmltrack.domain.records import (
    BloodCount,
    Diagnosis,
    Extramedullary,
    Marrow,
    Mrd,
    PatientRecord,
)
from cmltrack.rules.loader import load_table

AmlCriteria = Literal["ELN2022", "ELN2017"]
#: CR-class categories: a relapse needs one of these (or relapse_molecular) first.
CR_CLASS = frozenset({"CR_MRD_neg", "CR", "CRh", "CRi"})
#: Best-response order (clag-im endpoint `best_response`).
RESPONSE_ORDER = ("CR_MRD_neg", "CR", "CRh", "CRi", "MLFS", "PR", "SD", "PD")
RELAPSES = frozenset({"relapse_hematologic", "relapse_molecular"})

_O = TypeVar("_O", BloodCount, Mrd)


@functools.cache
def response_table() -> Mapping[str, Any]:
    """The category table: thresholds, and per category its rule id, wording and source."""
    table: Mapping[str, Any] = load_table("aml_response")
    return table


def _t(name: str) -> float:
    value: float = response_table()["thresholds"][name]
    return value


def _rule(category: str, criteria: AmlCriteria) -> str:
    for row in response_table()["categories"]:
        if row["id"] == category:
            rule: str = row["rule"]
            return rule.replace("ELN2022.", "ELN2017.") if criteria == "ELN2017" else rule
    raise KeyError(category)


@dataclass(frozen=True, slots=True)
class AmlDay:
    """One marrow date's response (``aml_response``, ``aml_mrd``, ``aml_basis``)."""

    date: dt.date
    response: str | None
    mrd: str | None
    basis: str
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class AmlEvent:
    """A derived AML event: ``aml_relapse``, ``mrd_progression`` or ``progression``."""

    kind: str
    date: dt.date
    basis: str
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "date": self.date.isoformat(), "basis": self.basis,
                "rule": self.rule}


@dataclass(frozen=True, slots=True)
class Baseline:
    """What PR and PD compare with: pretreatment (or relapse) marrow and blood values."""

    date: dt.date | None
    blasts_bm: float | None
    wbc: float | None
    blasts_pb: float | None
    extramedullary: bool
    origin: str

    @property
    def blood_blasts(self) -> float | None:
        if self.wbc is None or self.blasts_pb is None:
            return None
        return self.wbc * self.blasts_pb / 100.0


@dataclass(frozen=True, slots=True)
class AmlCourse:
    """Every marrow date's response and the derived events, in date order."""

    therapy_start: dt.date | None
    days: tuple[AmlDay, ...]
    events: tuple[AmlEvent, ...]
    baselines: tuple[Baseline, ...] = field(default=())

    def day(self, date: dt.date) -> AmlDay | None:
        return next((d for d in self.days if d.date == date), None)


def _nearest(obs: Sequence[_O], day: dt.date, window: int) -> _O | None:
    """The observation nearest to ``day`` within ``window`` days either side (tie: later)."""
    best: _O | None = None
    best_key: tuple[int, int] | None = None
    for o in obs:
        gap = abs((o.date - day).days)
        if gap > window:
            continue
        key = (gap, -o.date.toordinal())
        if best_key is None or key <= best_key:  # later rows of one day win, as elsewhere
            best, best_key = o, key
    return best


def _emd_at(emds: Sequence[Extramedullary], day: dt.date) -> bool | None:
    """Extramedullary status: the latest observation on or before ``day`` (None: none)."""
    latest = None
    for e in emds:
        if e.date <= day:
            latest = e
    return None if latest is None else latest.present


def _suboptimal(m: Marrow) -> str | None:
    """Why the aspirate is technically suboptimal, or None when it is adequate."""
    if m.spicules is False:
        return "no spicules"
    given = []
    if m.cells_counted is not None:
        given.append((m.cells_counted < _t("adequate_cells_counted_ge"),
                      f"{m.cells_counted} cells counted < {_t('adequate_cells_counted_ge'):g}"))
    if m.cellularity_pct is not None:
        given.append((m.cellularity_pct < _t("adequate_cellularity_pct_ge"),
                      f"cellularity {m.cellularity_pct:g}% < "
                      f"{_t('adequate_cellularity_pct_ge'):g}%"))
    if given and all(low for low, _ in given):
        return " and ".join(text for _, text in given)
    return None


def therapy_start(record: PatientRecord) -> dt.date | None:
    """The earliest therapy row of an AML record: the origin of its responses."""
    return min((t.start for t in record.therapy), default=None)


def initial_baseline(record: PatientRecord, start: dt.date | None,
                     marrows: Sequence[Marrow], bloods: Sequence[BloodCount],
                     emds: Sequence[Extramedullary]) -> Baseline:
    """The last marrow and blood count on or before therapy start, else the diagnosis."""
    dx: Diagnosis | None = record.diagnosis
    before_m = [m for m in marrows if start is None or m.date <= start]
    before_b = [b for b in bloods if start is None or b.date <= start]
    marrow = before_m[-1] if before_m else None
    blood = before_b[-1] if before_b else None
    bm = marrow.blasts_bm if marrow is not None else (dx.blasts_bm if dx else None)
    wbc = blood.wbc if blood is not None else (dx.wbc if dx else None)
    pb = blood.blasts_pb if blood is not None else (dx.blasts_pb if dx else None)
    emd = _emd_at(emds, start) if start is not None else None
    if emd is None:
        emd = bool(dx.extramedullary) if dx is not None else False
    origin = (f"marrow of {marrow.date}" if marrow is not None else "diagnosis marrow") + (
        f", blood of {blood.date}" if blood is not None else ", diagnosis blood")
    return Baseline(marrow.date if marrow else (dx.date if dx else None), bm, wbc, pb, emd,
                    origin)


@dataclass
class _Period:
    """State since the last baseline."""

    baseline: Baseline
    cr_dates: list[dt.date] = field(default_factory=list)
    mrd_negative_cr: dt.date | None = None
    relapse: dt.date | None = None
    progression: dt.date | None = None
    mrd_progression: dt.date | None = None


def classify_aml(record: PatientRecord, criteria: AmlCriteria = "ELN2022") -> AmlCourse:
    """Response on every marrow date after therapy start, and the AML events (spec 3)."""
    start = therapy_start(record)
    obs = record.observations
    marrows = sorted((o for o in obs if isinstance(o, Marrow)), key=lambda o: o.date)
    bloods = sorted((o for o in obs if isinstance(o, BloodCount)), key=lambda o: o.date)
    mrds = sorted((o for o in obs if isinstance(o, Mrd)), key=lambda o: o.date)
    emds = sorted((o for o in obs if isinstance(o, Extramedullary)), key=lambda o: o.date)
    window = int(_t("window_days"))
    period = _Period(initial_baseline(record, start, marrows, bloods, emds))
    baselines = [period.baseline]
    days: list[AmlDay] = []
    events: list[AmlEvent] = []
    relapse_values: Baseline | None = None
    starts = sorted(t.start for t in record.therapy)
    # One marrow per date (the later row wins, as timepoints take it).
    by_date = {m.date: m for m in marrows}
    for day in sorted(by_date):
        marrow = by_date[day]
        if start is None or day <= start or marrow.blasts_bm is None:
            continue
        if relapse_values is not None and period.relapse is not None and any(
                period.relapse <= s < day for s in starts):
            # A relapse followed by a new therapy row: the relapse marrow is the new baseline.
            period = _Period(relapse_values)
            baselines.append(relapse_values)
            relapse_values = None
        blood = _nearest(bloods, day, window)
        mrd = _nearest(mrds, day, window)
        mrd_result = mrd.result if mrd is not None else None
        emd_now = bool(_emd_at(emds, day + dt.timedelta(days=window)))
        category, basis = _classify(marrow, blood, mrd, emd_now, bloods, mrds, period,
                                    criteria, window)
        rule = _rule(category, criteria) if category is not None else None
        days.append(AmlDay(day, category, mrd_result, basis, rule))
        if category is None:
            continue
        if category in CR_CLASS or category == "relapse_molecular":
            period.cr_dates.append(day)
        if category in CR_CLASS and mrd_result == "negative" and period.mrd_negative_cr is None:
            period.mrd_negative_cr = day
        if category in RELAPSES and period.relapse is None:
            period.relapse = day
            events.append(AmlEvent("aml_relapse", day, f"{category} on {day}: {basis}",
                                   _rule(category, criteria)))
            relapse_values = Baseline(
                day, marrow.blasts_bm, blood.wbc if blood else None,
                blood.blasts_pb if blood else None, emd_now, f"relapse marrow of {day}")
        if category == "PD" and period.progression is None:
            period.progression = day
            events.append(AmlEvent("progression", day, f"PD on {day}: {basis}",
                                   _rule("PD", criteria)))
    events += _mrd_progressions(mrds, start, baselines)
    events.sort(key=lambda e: e.date)
    return AmlCourse(start, tuple(days), tuple(events), tuple(baselines))


def _mrd_progressions(mrds: Sequence[Mrd], start: dt.date | None,
                      baselines: Sequence[Baseline]) -> list[AmlEvent]:
    """A rise of >= 1 log10 between two positive qPCR results of one target (ELN 2022 MRD
    progression), once per baseline period."""
    if start is None:
        return []
    bounds = [start] + [b.date for b in baselines[1:] if b.date is not None]
    out: list[AmlEvent] = []
    for i, lo in enumerate(bounds):
        hi = bounds[i + 1] if i + 1 < len(bounds) else None
        lowest: dict[str, Mrd] = {}
        for m in mrds:
            if m.date <= lo or (hi is not None and m.date > hi):
                continue
            if m.method != "qpcr" or m.result != "positive" or m.value_pct is None:
                continue
            key = m.target or ""
            low = lowest.get(key)
            if low is not None and low.value_pct and m.value_pct >= 10 * low.value_pct:
                out.append(AmlEvent(
                    "mrd_progression", m.date,
                    f"qPCR {key or 'target'} {m.value_pct:g}% on {m.date} >= 10 x "
                    f"{low.value_pct:g}% on {low.date} (rise of >= 1 log10)",
                    "ELN2022.mrd.progression"))
                break
            if low is None or (low.value_pct is not None and m.value_pct < low.value_pct):
                lowest[key] = m
    return out


def _blood_relapse(bloods: Sequence[BloodCount], since: dt.date, day: dt.date,
                   window: int) -> str | None:
    """Blasts in the blood in 2 counts >= 7 days apart, the later within this date's window."""
    apart = int(_t("blood_relapse_apart_days"))
    positive = [b for b in bloods if b.date > since and b.blasts_pb is not None and b.blasts_pb > 0]
    for later in positive:
        if abs((later.date - day).days) > window:
            continue
        for earlier in positive:
            if (later.date - earlier.date).days >= apart:
                return (f"blood blasts {earlier.blasts_pb:g}% on {earlier.date} and "
                        f"{later.blasts_pb:g}% on {later.date} (>= {apart} days apart)")
    return None


def _molecular_relapse(mrds: Sequence[Mrd], negative_on: dt.date, until: dt.date) -> str | None:
    """>= 2 consecutive positive MRD results after the negative one (conversion, confirmed)."""
    after = [m for m in mrds if negative_on < m.date <= until]
    run: list[Mrd] = []
    for m in after:
        run = [*run, m] if m.result == "positive" else []
        if len(run) >= 2:
            return (f"MRD negative in CR on {negative_on}; positive on {run[0].date} and "
                    f"{run[1].date} (confirmed conversion)")
    return None


def _classify(marrow: Marrow, blood: BloodCount | None, mrd: Mrd | None, emd_now: bool,
              bloods: Sequence[BloodCount], mrds: Sequence[Mrd], period: _Period,
              criteria: AmlCriteria, window: int) -> tuple[str | None, str]:
    day = marrow.date
    if blood is None:
        return None, f"not evaluable: no blood count within {window} days of the marrow"
    why = _suboptimal(marrow)
    if why is not None:
        return None, f"not evaluable: technically suboptimal marrow ({why})"
    anc, plt, pb = blood.anc, blood.platelets, blood.blasts_pb
    lacking = [n for n, v in (("anc", anc), ("platelets", plt), ("blasts_pb", pb)) if v is None]
    if lacking:
        return None, (f"not evaluable: {', '.join(lacking)} missing from the blood count of "
                      f"{blood.date}")
    assert anc is not None and plt is not None and pb is not None
    bm = marrow.blasts_bm
    assert bm is not None
    transfused = blood.platelets_transfused_7d is True
    plt_cr = not transfused and plt >= _t("platelets_recovered_ge")
    plt_crh = not transfused and plt >= _t("crh_platelets_ge")
    anc_cr = anc >= _t("anc_recovered_ge")
    anc_crh = anc >= _t("crh_anc_ge")
    auer = criteria == "ELN2017" and marrow.auer_rods is True
    values = (f"BM blasts {bm:g}%, blood blasts {pb:g}%, ANC {anc:g}, platelets {plt:g}"
              f"{' (transfused within 7 days: no recovery)' if transfused else ''}"
              f"{', extramedullary disease' if emd_now else ''}"
              f"{', Auer rods' if marrow.auer_rods else ''} (blood of {blood.date})")
    rm = bm < _t("remission_blasts_bm_lt") and pb == 0 and not emd_now and not auer
    # Relapse after a CR-class response since the last baseline.
    if period.cr_dates:
        since = period.cr_dates[0]
        blood_relapse = _blood_relapse(bloods, since, day, window)
        if bm >= _t("remission_blasts_bm_lt") or blood_relapse or emd_now:
            what = (f"BM blasts {bm:g}% >= 5%" if bm >= 5 else blood_relapse
                    or "new extramedullary disease")
            return "relapse_hematologic", f"after CR-class response on {since}: {what}; {values}"
    if period.mrd_negative_cr is not None and rm:
        conversion = _molecular_relapse(mrds, period.mrd_negative_cr,
                                        day + dt.timedelta(days=window))
        if conversion:
            return "relapse_molecular", f"{conversion}; {values}"
    if rm:
        if anc_cr and plt_cr:
            if mrd is not None and mrd.result == "negative":
                return "CR_MRD_neg", (f"CR with MRD negative ({mrd.method}"
                                      f"{' ' + mrd.target if mrd.target else ''}, {mrd.date}); "
                                      f"{values}")
            return "CR", f"RM with ANC >= 1.0 and platelets >= 100: {values}"
        if criteria == "ELN2022" and anc_crh and plt_crh:
            return "CRh", f"RM with ANC >= 0.5 and platelets >= 50, not CR: {values}"
        if anc_cr or plt_cr:
            return "CRi", (f"RM with one lineage recovered (ANC >= 1.0 or platelets >= 100): "
                           f"{values}")
        return "MLFS", f"RM without count recovery: {values}"
    base = period.baseline
    if base.blasts_bm is None:
        return None, f"not evaluable: baseline marrow blasts missing ({base.origin}); {values}"
    b0 = base.blasts_bm
    if (anc_cr and plt_cr and pb == 0
            and _t("pr_blasts_bm_min") <= bm <= _t("pr_blasts_bm_max")
            and bm <= _t("pr_decrease_factor") * b0):
        return "PR", f"counts recovered, BM blasts {bm:g}% in 5-25% and <= 50% of {b0:g}%: {values}"
    pd = []
    if bm > _t("pd_increase_factor") * b0 and (
            b0 >= _t("pd_low_baseline_lt") or bm - b0 >= _t("pd_absolute_rise_ge")):
        pd.append(f"BM blasts {bm:g}% > 1.5 x baseline {b0:g}%"
                  + ("" if b0 >= 30 else f" and +{bm - b0:g} points >= 15"))
    if blood.wbc is not None and base.blood_blasts is not None:
        now = blood.wbc * pb / 100.0
        if now > _t("pd_increase_factor") * base.blood_blasts and now > _t("pd_blood_blasts_gt"):
            pd.append(f"blood blasts {now:g} x10^9/L > 1.5 x baseline {base.blood_blasts:g} "
                      "and > 25")
    if emd_now and not base.extramedullary:
        pd.append("new extramedullary disease")
    if pd:
        return "PD", "; ".join(pd) + f" (baseline: {base.origin}); {values}"
    return "SD", f"evaluable, no CR/CRh/CRi/MLFS/PR and no PD (baseline {b0:g}%): {values}"
