"""The Kantarjian 2003 high-dose imatinib protocol (seed 004), ``--protocol kantarjian2003``.

Kantarjian H et al., Blood 2003 (doi 10.1182/blood-2002-05-1451): on imatinib 400 mg/day in
chronic phase, hematologic resistance (no CHR after 3 months), cytogenetic resistance (no MCyR,
Ph+ < 35%, after 12 months), hematologic relapse or cytogenetic relapse lead to escalation to
400 mg twice daily (800 mg/day), or to 600 mg/day where the dose had been reduced to 300 mg.
Rows in ``rules/data/kantarjian2003.yaml``; the four triggers arrive as derived
:class:`~cmltrack.domain.results.ClinicalEvent` objects (clinical-rules.md sections 6 and 14).

Choices where the paper is silent (documented in the table and here):
- A trigger counts when it is dated within the current dose period: the run of imatinib rows
  at today's dose (rows split by a hold at the same dose are one period). A trigger from before
  the last dose change was answered by that change, unless the resistance is still there: a
  hematologic resistance or relapse with a count in the current period still without CHR (and
  no CHR since), or a cytogenetic resistance with a karyotype in the period still without MCyR
  (Ph+ >= 35%, and no MCyR since), carries over (section 14: "the blood count used for the
  3-month landmark or any later one"; a dose reduced for toxicity does not answer resistance).
  It does not carry over where imatinib has been taken at the target dose since the trigger
  (that escalation was tried).
- Escalation is blocked by a CTCAE grade 3-4 count (ANC < 1.0 or platelets < 50 x10^9/L) in the
  4 weeks up to ``as_of`` (the SmPC's "absence of severe neutropenia or thrombocytopenia").
  Blocked, already at 800 mg/day, or on another dose: *no* recommendation is emitted (a
  ``continue`` would contradict the label's ``hold`` that such a count itself calls for, or a
  guideline's ``switch_tki``); the reason is in :attr:`ProtocolAssessment.basis`.
- The protocol covers chronic phase only: an accelerated/blast phase at diagnosis, a reported
  progression, or a day classified accelerated or blast phase ends it (``label.disease_phase``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cmltrack.domain.enums import TKIS, Action, EventKind, HematologicResponse, Phase
from cmltrack.domain.guidelines.events import MDACC_MCYR_BELOW, ph_value
from cmltrack.domain.guidelines.label import (
    IMATINIB,
    RuleRow,
    RuleTable,
    current_line,
    disease_phase,
    fmt_value,
    load_rule_table,
)
from cmltrack.domain.records import BloodCount, PatientRecord
from cmltrack.domain.results import ClinicalEvent, Recommendation, Timepoint
from cmltrack.errors import RuleTableError

TABLE = "kantarjian2003"


@dataclass(frozen=True, slots=True)
class ProtocolAssessment:
    """The protocol's recommendations and, line by line, why (including why not)."""

    recommendations: tuple[Recommendation, ...]
    basis: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Rules:
    table: RuleTable
    triggers: Mapping[EventKind, RuleRow]
    steps: Mapping[float, float]
    anc_lt: float
    platelets_lt: float
    window_days: int
    maximum: float


@functools.cache
def _rules() -> _Rules:
    t = load_rule_table(TABLE)
    triggers: dict[EventKind, RuleRow] = {}
    steps: dict[float, float] = {}
    for row in t.rows.values():
        cond = row.condition
        if "event" in cond:
            try:
                triggers[EventKind(cond["event"])] = row
            except ValueError:
                raise RuleTableError(f"{TABLE}: {row.id} names unknown event kind") from None
        elif "to_mg_per_day" in cond:
            steps[float(cond["dose_mg_per_day"])] = float(cond["to_mg_per_day"])
    if len(triggers) != 4 or not steps:
        raise RuleTableError(f"{TABLE}: needs the 4 trigger rows and the dose steps")
    block = "KANTARJIAN2003.block.cytopenia"
    return _Rules(
        table=t,
        triggers=triggers,
        steps=steps,
        anc_lt=t.number(block, "anc_lt"),
        platelets_lt=t.number(block, "platelets_lt"),
        window_days=int(t.number(block, "window_days")),
        maximum=max(steps.values()),
    )


def _advanced_phase(record: PatientRecord, timepoints: Sequence[Timepoint], as_of: dt.date) -> str:
    """Why the record is outside chronic phase ('' when it is not), by :func:`disease_phase`."""
    phase = disease_phase(record, as_of, (tp.phase for tp in timepoints if tp.date <= as_of))
    if phase is None or phase is Phase.CHRONIC:
        return ""
    return f"{phase} phase (diagnosis, reported progression or classified results)"


def dose_period_start(record: PatientRecord, as_of: dt.date) -> dt.date | None:
    """Start of the run of TKI rows of the current drug at the current dose, up to ``as_of``."""
    line = current_line(record, as_of)
    if line is None:
        return None
    rows = sorted((t for t in record.therapy if t.drug in TKIS and t.start <= line.start),
                  key=lambda t: t.start)
    start = line.start
    for row in reversed(rows):
        if row.drug != line.drug or row.dose_mg_per_day != line.dose_mg_per_day:
            break
        start = row.start
    return start


def _recent_cytopenia(record: PatientRecord, as_of: dt.date, r: _Rules) -> BloodCount | None:
    since = as_of - dt.timedelta(days=r.window_days)
    for obs in sorted(record.observations, key=lambda o: o.date, reverse=True):
        if isinstance(obs, BloodCount) and since <= obs.date <= as_of and (
            (obs.anc is not None and obs.anc < r.anc_lt)
            or (obs.platelets is not None and obs.platelets < r.platelets_lt)
        ):
            return obs
    return None


#: The triggers whose state a later result can show to persist: (is the response met by a
#: result?, does the result bear on it?, the response's name).
_Persists = tuple[Callable[[Timepoint], bool], Callable[[Timepoint], bool], str]
_NO_CHR: _Persists = (
    lambda t: t.hematologic is HematologicResponse.CHR, lambda t: t.hematologic is not None, "CHR"
)
_PERSISTS: dict[EventKind, _Persists] = {
    EventKind.HEMATOLOGIC_RESISTANCE: _NO_CHR,
    EventKind.HEMATOLOGIC_RELAPSE: _NO_CHR,
    EventKind.CYTOGENETIC_RESISTANCE: (
        lambda t: (ph_value(t) or 0.0) < MDACC_MCYR_BELOW,
        lambda t: ph_value(t) is not None, "MCyR (Ph+ < 35%)"),
}


def _carried_over(
    record: PatientRecord,
    timepoints: Sequence[Timepoint],
    events: Sequence[ClinicalEvent],
    since: dt.date,
    as_of: dt.date,
    target: float,
    r: _Rules,
) -> list[ClinicalEvent]:
    """Triggers from before the dose period whose resistance a result in it still shows."""
    out: list[ClinicalEvent] = []
    for ev in events:
        check = _PERSISTS.get(ev.kind)
        if check is None or ev.kind not in r.triggers or ev.date >= since:
            continue
        if any(t.drug == IMATINIB and (t.dose_mg_per_day or 0.0) >= target
               and t.start <= as_of and (t.end is None or t.end > ev.date)
               for t in record.therapy):
            continue  # the escalation was tried after the trigger
        met, bears, response = check
        still: Timepoint | None = None
        for tp in timepoints:
            if ev.date < tp.date <= as_of and bears(tp):
                if met(tp):
                    still = None
                    break  # the response was reached since: nothing persists
                if tp.date >= since:
                    still = tp
        if still is not None:
            out.append(ClinicalEvent(
                ev.kind, ev.date,
                f"{ev.basis}; still without {response} on {still.date}, on the current dose",
                ev.rule,
            ))
    return out


def assess_kantarjian2003(
    record: PatientRecord,
    timepoints: Sequence[Timepoint],
    events: Sequence[ClinicalEvent],
    *,
    as_of: dt.date,
) -> ProtocolAssessment:
    """Judge the high-dose protocol at ``as_of``: escalate, or say why not."""
    r = _rules()
    line = current_line(record, as_of)
    if line is None or line.drug != IMATINIB:
        return ProtocolAssessment((), ("KANTARJIAN2003: not on imatinib at as_of",))
    outside = _advanced_phase(record, timepoints, as_of)
    if outside:
        return ProtocolAssessment(
            (), (f"KANTARJIAN2003.scope.chronic_phase: {outside}; the protocol is for CP",)
        )
    since = dose_period_start(record, as_of) or line.start
    dose = line.dose_mg_per_day
    target = r.steps.get(float(dose)) if dose is not None else None
    found = [e for e in events if e.kind in r.triggers and since <= e.date <= as_of]
    if target is not None:
        found += _carried_over(record, timepoints, events, since, as_of, target, r)
    found.sort(key=lambda e: (e.date, e.kind, e.basis))  # a total order: any input order
    here = f"imatinib {dose:g} mg/day since {since}" if dose is not None else "imatinib"
    if not found:
        return ProtocolAssessment((), (f"KANTARJIAN2003: no trigger on {here}",))
    what = "; ".join(f"{str(e.kind).replace('_', ' ')} on {e.date} ({e.basis})" for e in found)
    if target is None:
        why = (
            f"already at {dose:g} mg/day, the protocol's maximum is {r.maximum:g}"
            if dose is not None and dose >= r.maximum
            else "the protocol escalates only from "
            + " or ".join(f"{d:g}" for d in sorted(r.steps))
            + " mg/day"
        )
        return ProtocolAssessment((), (f"KANTARJIAN2003: {what}; no escalation: {why}",))
    low = _recent_cytopenia(record, as_of, r)
    if low is not None:
        return ProtocolAssessment(
            (),
            (
                f"KANTARJIAN2003.block.cytopenia: {what}; escalation blocked by a grade 3-4 "
                f"cytopenia within {r.window_days} days (ANC {fmt_value(low.anc)}, platelets "
                f"{fmt_value(low.platelets)} on {low.date}; limits ANC < {r.anc_lt:g}, platelets < "
                f"{r.platelets_lt:g})",
            ),
        )
    first = r.triggers[found[0].kind]
    bid = " (400 mg twice daily)" if target == 800 else ""
    because = f"{what}: {here} -> {target:g} mg/day{bid}"
    rec = Recommendation(
        action=Action.ESCALATE_DOSE,
        rule=first.id,
        source=first.source,
        because=because,
        drug=IMATINIB,
        dose_mg_per_day=target,
    )
    return ProtocolAssessment((rec,), (f"{first.id}: {because}",))


def recommend_kantarjian2003(
    record: PatientRecord,
    timepoints: Sequence[Timepoint],
    events: Sequence[ClinicalEvent],
    *,
    as_of: dt.date,
) -> tuple[Recommendation, ...]:
    """``escalate_dose`` recommendations of the Kantarjian 2003 protocol (see the module doc)."""
    return assess_kantarjian2003(record, timepoints, events, as_of=as_of).recommendations
