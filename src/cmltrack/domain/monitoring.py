"""The monitoring schedule: when each test is next due (clinical-rules-2 section 9).

``next_due`` gives, per test (``pcr``, ``blood``, ``marrow``), the date the test is next due,
or None when nothing is scheduled or the date cannot be computed. A due date is the date of the
last test of that kind plus the interval of the patient's state; a date strictly before
``as_of`` is overdue (a test due on ``as_of`` is due, not overdue). The intervals and their
sources are rows of ``rules/data/monitoring.yaml``.

States, judged on the record up to ``as_of`` (the first that applies):
- after an allogeneic transplant (a ``transplant`` event): PCR every 3 months for 2 years from
  the transplant date, then every 6 months;
- treatment-free remission (a ``tki_stop`` after the start of the last TKI and no TKI running):
  PCR monthly while the last PCR is in months 0-6 after the stop, every 2 months in months 6-12,
  every 3 months after;
- a TKI restarted after a TFR attempt that lost MMR: monthly until MMR is regained, then every
  3 months;
- on a TKI (also during a hold: the schedule continues): every 3 months until MMR is confirmed
  on the current drug (its latest two PCRs both <= 0.1% IS), then every 6 months; no PCR yet on
  the drug: 3 months after its start. A switch restarts the schedule (only PCRs after the new
  drug's start count).
Blood counts follow each label's schedule (dasatinib, nilotinib, bosutinib, ponatinib,
asciminib); the imatinib label gives none, so no date is computed for it. Marrow is never
scheduled; it is due at ``as_of`` when marrow cytogenetics is recommended.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from cmltrack.domain.enums import TKIS, Action, MolecularResponse, Phase
from cmltrack.domain.guidelines.label import RuleRow, RuleTable, load_rule_table
from cmltrack.domain.records import PatientRecord, Pcr, TherapyLine
from cmltrack.domain.response import molecular_response
from cmltrack.domain.results import SCHEDULED_TESTS, NextDue, Recommendation
from cmltrack.errors import RuleTableError

_DAYS_PER_MONTH = 30.4375
_MMR_OR_DEEPER = frozenset({MolecularResponse.MMR, MolecularResponse.MR4,
                            MolecularResponse.MR4_5, MolecularResponse.MR5})


@functools.cache
def _table() -> RuleTable:
    return load_rule_table("monitoring")


def _days(row: RuleRow, key: str = "interval_days") -> int:
    value = row.condition.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleTableError(f"monitoring: row {row.id} lacks a whole number {key}")
    return value


def nothing_due(why: str) -> NextDue:
    """Every test null (a death, a loss to follow-up), with the reason as each basis."""
    return NextDue(due=dict.fromkeys(SCHEDULED_TESTS), basis=dict.fromkeys(SCHEDULED_TESTS, why))


class _PcrResult(NamedTuple):
    """One PCR (a named tuple: forty a patient, built four times faster than a frozen
    dataclass)."""

    date: dt.date
    mmr: bool  # <= 0.1% IS, or undetected with adequate sensitivity
    value: float | None


def _pcrs(record: PatientRecord, as_of: dt.date, on_is: bool) -> list[_PcrResult]:
    """The PCRs up to ``as_of`` in date order, each with whether it shows MMR or deeper."""
    out: list[_PcrResult] = []
    for o in record.observations:
        if isinstance(o, Pcr) and o.date <= as_of:
            level = molecular_response(o) if on_is else None
            out.append(_PcrResult(o.date, level in _MMR_OR_DEEPER,
                                  o.bcr_abl1_is if o.is_detected else None))
    out.sort(key=_DATE)
    return out


_DATE = operator.itemgetter(0)


def _tki_rows(record: PatientRecord, as_of: dt.date) -> list[TherapyLine]:
    return sorted((t for t in record.therapy if t.drug in TKIS and t.start <= as_of),
                  key=lambda t: t.start)


def _stops(record: PatientRecord, as_of: dt.date) -> list[dt.date]:
    return [e.date for e in record.events if e.kind == "tki_stop" and e.date <= as_of]


def _line_start(rows: Sequence[TherapyLine], stops: Sequence[dt.date]) -> dt.date | None:
    """The start of the last drug (dose changes and holds of one drug stay in its line; a
    restart after a TFR stop begins a new one)."""
    if not rows:
        return None
    drug = rows[-1].drug
    start = rows[-1].start
    for row in reversed(rows[:-1]):
        if row.drug != drug or any(row.start < d <= start for d in stops):
            break
        start = row.start
    return start


def _due(base: dt.date, row: RuleRow, what: str, days: int | None = None) -> tuple[dt.date, str,
                                                                                     str]:
    n = _days(row) if days is None else days
    return base + dt.timedelta(days=n), f"{row.wording}: {what} + {n} days", row.id


def _pcr_due(
    record: PatientRecord, as_of: dt.date, on_is: bool
) -> tuple[dt.date, str, str] | None:
    t = _table()
    pcrs = _pcrs(record, as_of, on_is)
    rows = _tki_rows(record, as_of)
    transplants = [e.date for e in record.events if e.kind == "transplant" and e.date <= as_of]
    if transplants:
        hsct = max(transplants)
        after = [p for p in pcrs if p.date > hsct]
        base, what = ((after[-1].date, f"last PCR {after[-1].date}") if after
                      else (hsct, f"transplant on {hsct}"))
        two_years = (base - hsct).days / _DAYS_PER_MONTH < 24
        row = t.row("MONITORING.post_hsct.first_2_years" if two_years
                    else "MONITORING.post_hsct.after_2_years")
        return _due(base, row, what)
    if not rows:
        return None
    stops = _stops(record, as_of)
    start = _line_start(rows, stops)
    assert start is not None
    last = rows[-1]
    running = last.end is None or last.end > as_of
    stop = max(stops) if stops else None
    if stop is not None and stop >= last.start and not running:
        after = [p for p in pcrs if p.date > stop]
        if not after:
            return _due(stop, t.row("MONITORING.tfr.first_6_months"), f"TKI stopped on {stop}")
        months = (after[-1].date - stop).days / _DAYS_PER_MONTH
        rid = ("MONITORING.tfr.first_6_months" if months < 6
               else "MONITORING.tfr.months_6_to_12" if months < 12
               else "MONITORING.tfr.after_12_months")
        return _due(after[-1].date, t.row(rid),
                    f"last PCR {after[-1].date} (month {months:.1f} after the stop on {stop})")
    on_line = [p for p in pcrs if p.date > start]
    # A TKI restarted after a TFR attempt in which MMR was lost (a PCR > 0.1% after the stop).
    earlier_stop = max((d for d in stops if d < start), default=None)
    lost = earlier_stop is not None and any(
        earlier_stop < p.date <= start and not p.mmr and p.value is not None for p in pcrs)
    if lost:
        regained = any(p.mmr for p in on_line)
        row = t.row("MONITORING.tfr_restart.mmr" if regained
                    else "MONITORING.tfr_restart.before_mmr")
        base, what = ((on_line[-1].date, f"last PCR {on_line[-1].date}") if on_line
                      else (start, f"{last.drug} restarted on {start}"))
        return _due(base, row, what)
    if not on_line:
        return _due(start, t.row("MONITORING.no_pcr_on_drug"),
                    f"no PCR yet on {last.drug}: its start {start}")
    confirmed = len(on_line) >= 2 and on_line[-1].mmr and on_line[-2].mmr
    row = t.row("MONITORING.on_tki.mmr" if confirmed else "MONITORING.on_tki.before_mmr")
    return _due(on_line[-1].date, row, f"last PCR {on_line[-1].date}")


def _blood_due(
    record: PatientRecord, as_of: dt.date, phase: Phase | None
) -> tuple[dt.date, str, str] | None:
    rows = _tki_rows(record, as_of)
    if not rows:
        return None
    last = rows[-1]
    if last.end is not None and last.end <= as_of:
        return None  # no TKI running: the label's count schedule is the drug's
    row = _blood_row(last.drug, phase)
    if row is None:
        return None
    start = _line_start(rows, _stops(record, as_of))
    assert start is not None
    counts = [o.date for o in record.observations
              if o.kind == "blood" and start < o.date <= as_of]
    base = max(counts) if counts else start
    first = (base - start).days < _days(row, "first_days")
    days = _days(row, "first_interval_days" if first else "then_interval_days")
    what = f"last count {base}" if counts else f"{last.drug} started on {start}"
    return _due(base, row, what, days)


def _blood_row(drug: str, phase: Phase | None) -> RuleRow | None:
    t = _table()
    if drug == "dasatinib":
        if phase is None:
            return None  # the label's schedule depends on the phase
        advanced = phase in (Phase.ACCELERATED, Phase.BLAST)
        return t.row("MONITORING.blood.dasatinib.advanced" if advanced
                     else "MONITORING.blood.dasatinib.chronic")
    rid = f"MONITORING.blood.{drug}"
    return t.rows.get(rid)


def next_due(
    record: PatientRecord,
    *,
    as_of: dt.date,
    phase: Phase | None,
    recommendations: Sequence[Recommendation],
    on_is: bool = True,
) -> NextDue:
    """The schedule at ``as_of`` of a patient alive and in follow-up (``record`` restricted to
    ``as_of``; ``phase`` the phase the dose rules treat; ``on_is`` False for an atypical
    transcript, whose PCR cannot confirm MMR)."""
    due: dict[str, dt.date | None] = dict.fromkeys(SCHEDULED_TESTS)
    basis: dict[str, str] = {}
    rule: dict[str, str] = {}
    found: Mapping[str, Any] = {
        "pcr": _pcr_due(record, as_of, on_is),
        "blood": _blood_due(record, as_of, phase),
    }
    for key, value in found.items():
        if value is not None:
            due[key], basis[key], rule[key] = value
    if any(r.action is Action.MARROW_CYTOGENETICS for r in recommendations):
        row = _table().row("MONITORING.marrow")
        due["marrow"], basis["marrow"], rule["marrow"] = as_of, row.wording, row.id
    overdue = tuple(k for k in SCHEDULED_TESTS if (d := due[k]) is not None and d < as_of)
    return NextDue(due=due, overdue=overdue, basis=basis, rule=rule)


def mutation_test_due(
    record: PatientRecord,
    *,
    as_of: dt.date,
    status: object,
    recommendations: Sequence[Recommendation],
    on_is: bool = True,
) -> Recommendation | None:
    """``mutation_analysis`` on a warning with a rise of BCR::ABL1 of at least 1 log and loss of
    MMR on the current drug (clinical-rules-2 section 4; ``MUTATION.testing...`` row): the
    latest PCR on the drug is >= 10 x the lowest detected value on it, above 0.1% IS, after an
    earlier result on it at or below 0.1% (undetected included). None when a mutation analysis
    is already recommended, one is dated on or after the latest PCR, or the PCR is not on the
    International Scale (``on_is`` false: an atypical transcript)."""
    row = _table().row("MUTATION.testing.rise_with_loss_of_mmr")
    if not on_is or str(status) != row.condition["status"] or any(
            r.action == Action.MUTATION_ANALYSIS for r in recommendations):
        return None
    tkis = [t for t in record.therapy if t.drug in TKIS and t.start <= as_of]
    if not tkis:
        return None
    line = max(tkis, key=lambda t: t.start)
    first = min(t.start for t in tkis if t.drug == line.drug and t.start <= line.start)
    pcrs = sorted((o for o in record.observations
                   if isinstance(o, Pcr) and first < o.date <= as_of), key=lambda o: o.date)
    if len(pcrs) < 2 or not pcrs[-1].is_detected or pcrs[-1].bcr_abl1_is is None:
        return None
    latest = pcrs[-1]
    value = latest.bcr_abl1_is
    mmr = float(row.condition["mmr_le_pct"])
    rise = float(row.condition["rise_x_ge"])
    earlier = pcrs[:-1]
    lowest = min((o.bcr_abl1_is for o in earlier if o.is_detected and o.bcr_abl1_is),
                 default=None)
    had_mmr = [o for o in earlier if not o.is_detected or (o.bcr_abl1_is or 0) <= mmr]
    if value is None or not value > mmr or not had_mmr or lowest is None or value < rise * lowest:
        return None
    if any(o.kind == "mutation" and latest.date <= o.date <= as_of for o in record.observations):
        return None
    return Recommendation(
        Action.MUTATION_ANALYSIS, row.id, row.source,
        f"warning with BCR::ABL1 {value:g}% IS on {latest.date} on {line.drug}: >= "
        f"{rise:g} x the lowest value on it ({lowest:g}%; a rise of at least 1 log) and loss of "
        f"MMR (> {mmr:g}% after {had_mmr[-1].date} at <= {mmr:g}%): test for BCR::ABL1 "
        "kinase-domain mutations")
