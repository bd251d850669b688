"""How a clinic acts on failure, measured from records and their assessments (issue 15).

Figures, each measured the way a user reading the records would:
- failure share: patients whose standing is ``failure`` among those alive and in follow-up at
  the assessment date (the dead and the lost leave the active count);
- failing patients who never left imatinib;
- time to action: from the first failure the guideline judged (any line) to the first change
  of therapy after it (a new drug or dose, or a stop), Kaplan-Meier, censored at death, loss
  to follow-up or the assessment date; median and share acted on within 6 months;
- off imatinib for unsatisfactory effect by 6 years: the first imatinib line ended for
  resistance, failure or progression (Kaplan-Meier 1 - S at 72 months from its start; other
  ends, death and loss censor), to hold against IRIS.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from cmltrack.domain.assess import Assessment
from cmltrack.domain.enums import TKIS, FollowUpStatus, MilestoneStatus
from cmltrack.domain.records import PatientRecord

MONTH = 30.4375
_FAILED = frozenset({"resistance", "failure", "progression"})

#: Published figures the demo clinic is shown beside (with their sources).
PUBLISHED = {
    "off_imatinib_6y": ("about 12% off imatinib for unsatisfactory effect at 6 years",
                        "IRIS 6-year update (Hochhaus A et al. Leukemia 2009;23:1054-61), as "
                        "quoted in issue 15"),
}


@dataclass(frozen=True, slots=True)
class ClinicFigures:
    patients: int
    active: int
    failing: int
    failing_never_left_imatinib: int
    acted_median_months: float | None
    acted_within_6m_pct: float | None
    with_failure: int
    off_imatinib_6y_pct: float | None

    @property
    def failure_share_pct(self) -> float | None:
        return None if not self.active else 100.0 * self.failing / self.active

    def lines(self) -> list[str]:
        def pct(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f}%"

        med = "-" if self.acted_median_months is None else f"{self.acted_median_months:.1f}"
        target, source = PUBLISHED["off_imatinib_6y"]
        return [
            f"  in follow-up (alive, not lost)  {self.active} of {self.patients}",
            f"  in failure                      {self.failing} ({pct(self.failure_share_pct)}"
            f" of those in follow-up); never left imatinib: {self.failing_never_left_imatinib}",
            f"  time from first failure to a change of therapy: median {med} months, "
            f"{pct(self.acted_within_6m_pct)} within 6 months ({self.with_failure} patients "
            "with a failure)",
            f"  off imatinib for unsatisfactory effect by 6 years: "
            f"{pct(self.off_imatinib_6y_pct)} (published: {target}; {source})",
        ]


def _km_at(times: list[float], events: list[bool], at: float) -> float:
    """Kaplan-Meier survival at ``at`` (events at a time before censorings at that time)."""
    s = 1.0
    order = sorted(zip(times, events, strict=True), key=lambda x: (x[0], not x[1]))
    at_risk = len(order)
    for t, e in order:
        if t > at:
            break
        if e:
            s *= 1.0 - 1.0 / at_risk
        at_risk -= 1
    return s


def _km_median(times: list[float], events: list[bool]) -> float | None:
    s = 1.0
    order = sorted(zip(times, events, strict=True), key=lambda x: (x[0], not x[1]))
    at_risk = len(order)
    for t, e in order:
        if e:
            s *= 1.0 - 1.0 / at_risk
            if s <= 0.5:
                return t
        at_risk -= 1
    return None


def _end_of_follow_up(record: PatientRecord, as_of: dt.date) -> dt.date:
    ends = [e.date for e in record.events
            if e.kind in ("death", "lost_to_follow_up") and e.date <= as_of]
    return min([as_of, *ends])


def _first_change_after(record: PatientRecord, day: dt.date, as_of: dt.date) -> dt.date | None:
    rows = sorted(record.therapy, key=lambda t: t.start)
    running = [t for t in rows if t.drug in TKIS and t.start <= day
               and (t.end is None or t.end > day)]
    now = running[-1] if running else None
    for t in rows:
        if t.drug in TKIS and day < t.start <= as_of and (
            now is None or t.drug != now.drug or t.dose_mg_per_day != now.dose_mg_per_day
        ):
            return t.start
    if now is not None and now.end is not None and day < now.end <= as_of:
        return now.end
    return None


def clinic_figures(pairs: Iterable[tuple[PatientRecord, Assessment]]) -> ClinicFigures:
    """The figures above for (record, its assessment) pairs."""
    n = active = failing = never_left = 0
    t_act: list[float] = []
    e_act: list[bool] = []
    t_off: list[float] = []
    e_off: list[bool] = []
    for rec, a in pairs:
        n += 1
        status = a.current.status
        if status not in (FollowUpStatus.DECEASED, FollowUpStatus.LOST_TO_FOLLOW_UP):
            active += 1
            if status is MilestoneStatus.FAILURE:
                failing += 1
                if {t.drug for t in rec.therapy if t.drug in TKIS} <= {"imatinib"}:
                    never_left += 1
        end = _end_of_follow_up(rec, a.as_of)
        if a.failure_dates:
            first = min(a.failure_dates)
            if first <= end:
                acted = _first_change_after(rec, first, a.as_of)
                done = acted is not None and acted <= end
                t_act.append(((acted if done and acted else end) - first).days / MONTH)
                e_act.append(done)
        ima = sorted((t for t in rec.therapy if t.drug == "imatinib"), key=lambda t: t.start)
        if ima:
            start = ima[0].start
            # the first imatinib line ends at a row's end that no imatinib row continues (a
            # dose change is a new row starting that day)
            stop = next((t for t in ima if t.end is not None and not any(
                o is not t and t.end <= o.start <= t.end + dt.timedelta(days=1) for o in ima)),
                None)
            last = stop.end if stop is not None and stop.end is not None else end
            failed = stop is not None and stop.reason_end in _FAILED
            t_off.append((min(last, end) - start).days / MONTH)
            e_off.append(failed and last <= end)
    return ClinicFigures(
        patients=n, active=active, failing=failing, failing_never_left_imatinib=never_left,
        acted_median_months=_km_median(t_act, e_act) if t_act else None,
        acted_within_6m_pct=100.0 * (1.0 - _km_at(t_act, e_act, 6.0)) if t_act else None,
        with_failure=len(t_act),
        off_imatinib_6y_pct=100.0 * (1.0 - _km_at(t_off, e_off, 72.0)) if t_off else None,
    )
