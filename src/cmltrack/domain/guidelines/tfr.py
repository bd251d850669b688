"""ELN 2020 treatment-free remission: eligibility, the post-stop PCR schedule, restart.

Source: Hochhaus A et al., Leukemia 2020;34:966-984, TFR table (clinical-rules.md section 10,
V2); rows in ``rules/data/eln2020_tfr.yaml``. Every "> N years" is strict (section 14).

Readings where the sources leave a choice (documented in docs and here):
- Durations use calendar anniversaries: "> 2 y" from 2020-03-01 is met on 2022-03-02, not on
  2022-03-01 (a 29 February start has its anniversary on 1 March, the later reading).
- TKI duration runs from the first TKI start to the day judged, less any days without a TKI
  (holds, gaps between rows).
- DMR duration is the documented run: from the first to the last PCR of the unbroken run of
  PCRs at MR4 or deeper that ends with the latest PCR. Any PCR not at MR4 or deeper, including
  an ``inadequate`` one, breaks the run (section 14).
- Chronic phase means CML in first CP: AP/BP at diagnosis, a reported progression or a day
  classified accelerated or blast phase makes the criterion unmet (see
  ``label.disease_phase``); an unrecorded phase at diagnosis makes it unknown.
- A TFR attempt that lost MMR counts as a prior failure for a later attempt.
- Post-stop schedule: the next PCR is due one calendar month after the last post-stop PCR (or
  the stop) while that PCR lies in months 0-6 after the stop, two months while in months 6-12,
  three months after that. A due date falling on a shorter month is clamped to its last day.
- After a restart on loss of MMR (clinical-rules section 10, U): the next PCR is due one month
  after the last PCR dated after the restart day (or after the restart day itself) until a PCR
  after the restart shows MMR (<= 0.1% IS, or undetected with adequate sensitivity); three
  months after the last PCR from then on. A PCR on the restart day counts before the restart
  (section 14: a result on the day of a change is what prompted it). A restart with no loss of
  MMR recorded after the stop gets no schedule (the rule presupposes the loss).
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cmltrack.domain.dates import add_months, add_years
from cmltrack.domain.enums import SECOND_GENERATION_TKIS, TKIS, Action, MolecularResponse, Phase
from cmltrack.domain.guidelines.label import (
    RuleRow,
    RuleTable,
    current_line,
    disease_phase,
    last_tki_line,
    load_rule_table,
)
from cmltrack.domain.records import TYPICAL_TRANSCRIPTS, PatientRecord, TherapyLine
from cmltrack.domain.results import Recommendation, Timepoint, timepoints_up_to
from cmltrack.errors import RuleTableError

TABLE = "eln2020_tfr"
_PHASE = operator.attrgetter("phase")
#: Whether a treatment failure came before, or the failures dated and worded on demand.
PriorFailure = bool | Sequence[tuple[dt.date, Callable[[], str]]]
_MR4_OR_DEEPER = frozenset({MolecularResponse.MR4, MolecularResponse.MR4_5, MolecularResponse.MR5})
_MR45_OR_DEEPER = frozenset({MolecularResponse.MR4_5, MolecularResponse.MR5})
_MMR_OR_DEEPER = frozenset({MolecularResponse.MMR, *_MR4_OR_DEEPER})


@dataclass(frozen=True, slots=True)
class TfrAssessment:
    """ELN 2020 TFR judgement at ``as_of``; None means not evaluable (the reason is in basis)."""

    minimal_met: bool | None
    optimal_met: bool | None
    basis: tuple[str, ...]
    on_tfr: bool  # a tki_stop event with no TKI restarted since
    recommendations: tuple[Recommendation, ...]


# --- wording of durations ------------------------------------------------------------------------


def _years(days: int) -> str:
    return f"{days} days, {days / 365.25:.2f} y"


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rules:
    table: RuleTable
    imatinib_years: int
    second_gen_years: int
    dmr_years: int
    optimal_tki_years: int
    optimal_mr4_years: int
    optimal_mr45_years: int
    schedule: tuple[tuple[int | None, int], ...]
    restart_gt: float
    restart_days: int
    after_restart_every: int  # months between PCRs until MMR is regained
    after_mmr_every: int  # months between PCRs once it is
    switch_reasons: frozenset[str]
    transcripts: frozenset[str]


@functools.cache
def _rules() -> _Rules:
    t = load_rule_table(TABLE)
    try:
        dmr_opt = t.row("ELN2020.TFR.optimal.dmr_duration").condition["any"]
        by_depth = {str(c["depth"]): int(c["years_gt"]) for c in dmr_opt}
        sched = tuple(
            (None if s["before_month"] is None else int(s["before_month"]), int(s["every_months"]))
            for s in t.row("ELN2020.TFR.monitoring").condition["schedule"]
        )
        line = t.row("ELN2020.TFR.minimal.line").condition
        rules = _Rules(
            table=t,
            imatinib_years=int(
                t.number("ELN2020.TFR.minimal.tki_duration", "years_gt", "imatinib")
            ),
            second_gen_years=int(
                t.number("ELN2020.TFR.minimal.tki_duration", "years_gt", "second_generation")
            ),
            dmr_years=int(t.number("ELN2020.TFR.minimal.dmr_duration", "years_gt")),
            optimal_tki_years=int(t.number("ELN2020.TFR.optimal.tki_duration", "years_gt")),
            optimal_mr4_years=by_depth["MR4"],
            optimal_mr45_years=by_depth["MR4.5"],
            schedule=sched,
            restart_gt=t.number("ELN2020.TFR.restart", "bcr_abl1_is_gt"),
            restart_days=int(t.number("ELN2020.TFR.restart", "restart_within_days")),
            after_restart_every=int(
                t.number("ELN2020.TFR.after_restart", "until_mmr_every_months")
            ),
            after_mmr_every=int(t.number("ELN2020.TFR.after_restart", "then_every_months")),
            switch_reasons=frozenset(line["switch_reasons"]),
            transcripts=frozenset(t.row("ELN2020.TFR.minimal.transcript").condition["transcript_in"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RuleTableError(f"{TABLE}: malformed row ({exc})") from None
    if sched[-1][0] is not None:
        raise RuleTableError(f"{TABLE}: the monitoring schedule needs an open last step")
    if not rules.transcripts <= TYPICAL_TRANSCRIPTS:
        raise RuleTableError(f"{TABLE}: transcripts outside the record contract's typical set")
    return rules


# --- criteria ----------------------------------------------------------------------------------


def _and(values: Sequence[bool | None]) -> bool | None:
    """Three-valued AND: False if any is False, else None if any is unknown, else True."""
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def _mark(ok: bool | None) -> str:
    return {True: "met", False: "not met", None: "not evaluable"}[ok]


@dataclass(frozen=True, slots=True)
class _Criterion:
    rule: str
    ok: bool | None
    text: str

    def line(self) -> str:
        return f"{self.rule}: {self.text} ({_mark(self.ok)})"


def _phase(record: PatientRecord, timepoints: Sequence[Timepoint], at: dt.date) -> _Criterion:
    rule = "ELN2020.TFR.minimal.chronic_phase"
    days = timepoints_up_to(timepoints, at)
    phase = disease_phase(record, at, map(_PHASE, days))
    if phase is None:
        return _Criterion(rule, None, "phase at diagnosis not recorded")
    if phase is not Phase.CHRONIC:
        first = next((tp.date for tp in days if tp.phase is phase), None)
        seen = f", first classified on {first}" if first is not None else ""
        return _Criterion(rule, False, f"{phase} phase (diagnosis, reported progression or "
                          f"classified results{seen})")
    return _Criterion(rule, True, "chronic phase, no accelerated or blast phase recorded")


def _tki_rows(record: PatientRecord, at: dt.date) -> list[TherapyLine]:
    return sorted((t for t in record.therapy if t.drug in TKIS and t.start <= at),
                  key=lambda t: t.start)


def _line(record: PatientRecord, at: dt.date, r: _Rules) -> _Criterion:
    rule = "ELN2020.TFR.minimal.line"
    rows = _tki_rows(record, at)
    drugs: list[list[TherapyLine]] = []
    for row in rows:
        if drugs and drugs[-1][0].drug == row.drug:
            drugs[-1].append(row)
        else:
            drugs.append([row])
    if not drugs:
        return _Criterion(rule, None, "no TKI therapy recorded")
    if len(drugs) == 1:
        return _Criterion(rule, True, f"first-line {drugs[0][0].drug}")
    if len(drugs) > 2:
        names = " -> ".join(d[0].drug for d in drugs)
        return _Criterion(rule, False, f"{len(drugs)} TKI lines ({names})")
    first, second = drugs[0][-1], drugs[1][0]
    reason = first.reason_end
    if reason is None:
        return _Criterion(
            rule, None, f"second-line {second.drug}; reason for stopping {first.drug} not recorded"
        )
    ok = reason in r.switch_reasons
    return _Criterion(rule, ok, f"second-line {second.drug} after {first.drug} ({reason})")


def _transcript(record: PatientRecord, r: _Rules) -> _Criterion:
    rule = "ELN2020.TFR.minimal.transcript"
    tx = record.diagnosis.transcript if record.diagnosis is not None else None
    if tx is None or tx == "unknown":
        return _Criterion(rule, None, "transcript type not recorded")
    return _Criterion(rule, tx in r.transcripts, f"transcript {tx}")


def _tki_duration(record: PatientRecord, at: dt.date) -> tuple[dt.date, int] | None:
    """First TKI start and the days without a TKI between it and ``at``."""
    rows = _tki_rows(record, at)
    if not rows:
        return None
    first = rows[0].start
    covered_to = first
    gap = 0
    for row in rows:
        end = at if row.end is None else min(row.end, at)
        if row.start > covered_to:
            gap += (row.start - covered_to).days
        covered_to = max(covered_to, end)
    if covered_to < at:
        gap += (at - covered_to).days
    return first, gap


def _longer_than(start: dt.date, gap_days: int, years: int, at: dt.date) -> bool:
    return add_years(start, years) + dt.timedelta(days=gap_days) < at


def _duration(record: PatientRecord, at: dt.date, r: _Rules) -> tuple[_Criterion, _Criterion]:
    minimal, optimal = "ELN2020.TFR.minimal.tki_duration", "ELN2020.TFR.optimal.tki_duration"
    span = _tki_duration(record, at)
    last = last_tki_line(record, at)
    if span is None or last is None:
        return _Criterion(minimal, None, "no TKI therapy"), _Criterion(optimal, None, "no TKI")
    first, gap = span
    on = (at - first).days - gap
    text = f"TKI for {_years(on)} since {first}" + (f" less {gap} days off TKI" if gap else "")
    if last.drug == "imatinib":
        need = r.imatinib_years
    elif last.drug in SECOND_GENERATION_TKIS:
        need = r.second_gen_years
    else:
        crit = _Criterion(minimal, None, f"{text}; ELN 2020 sets no duration for {last.drug}")
        return crit, _Criterion(optimal, _longer_than(first, gap, r.optimal_tki_years, at), text)
    return (
        _Criterion(
            minimal, _longer_than(first, gap, need, at), f"{text} (> {need} y on {last.drug})"
        ),
        _Criterion(
            optimal, _longer_than(first, gap, r.optimal_tki_years, at),
            f"{text} (> {r.optimal_tki_years} y)",
        ),
    )


def _run(
    pcrs: Sequence[Timepoint], depths: frozenset[MolecularResponse]
) -> tuple[Timepoint, Timepoint] | None:
    """First and last PCR of the unbroken run at ``depths`` that ends with the latest PCR."""
    run: list[Timepoint] = []
    for tp in reversed(pcrs):
        if tp.molecular not in depths:
            break
        run.append(tp)
    return (run[-1], run[0]) if run else None


def _dmr(
    timepoints: Sequence[Timepoint], at: dt.date, r: _Rules
) -> tuple[_Criterion, _Criterion]:
    minimal, optimal = "ELN2020.TFR.minimal.dmr_duration", "ELN2020.TFR.optimal.dmr_duration"
    pcrs = [tp for tp in timepoints if tp.molecular is not None and tp.date <= at]
    if not pcrs:
        return _Criterion(minimal, None, "no PCR result"), _Criterion(optimal, None, "no PCR")
    latest = pcrs[-1]
    mr4 = _run(pcrs, _MR4_OR_DEEPER)
    if mr4 is None:
        text = f"latest PCR on {latest.date} is {latest.molecular}, not MR4 or deeper"
        return _Criterion(minimal, False, text), _Criterion(optimal, False, text)
    a, b = mr4
    text = f"MR4 or deeper from {a.date} to {b.date} ({_years((b.date - a.date).days)})"
    ok4 = add_years(a.date, r.dmr_years) < b.date
    opt4 = add_years(a.date, r.optimal_mr4_years) < b.date
    mr45 = _run(pcrs, _MR45_OR_DEEPER)
    opt45 = mr45 is not None and add_years(mr45[0].date, r.optimal_mr45_years) < mr45[1].date
    opt_text = f"{text}, > {r.optimal_mr4_years} y needed"
    if mr45 is not None:
        c, d = mr45
        opt_text += (
            f"; MR4.5 or deeper from {c.date} to {d.date} ({_years((d.date - c.date).days)}), "
            f"> {r.optimal_mr45_years} y needed"
        )
    return (
        _Criterion(minimal, ok4, f"{text}, > {r.dmr_years} y needed"),
        _Criterion(optimal, opt4 or opt45, opt_text),
    )


@dataclass(frozen=True, slots=True)
class _Stop:
    day: dt.date
    restart: TherapyLine | None  # first TKI row started after the stop
    loss: Timepoint | None  # first post-stop PCR > 0.1% (before any restart)
    pcrs: tuple[Timepoint, ...]  # post-stop PCRs before any restart


def _stops(
    record: PatientRecord, timepoints: Sequence[Timepoint], as_of: dt.date, r: _Rules
) -> list[_Stop]:
    out: list[_Stop] = []
    for day in sorted({e.date for e in record.events if e.kind == "tki_stop" and e.date <= as_of}):
        later = [t for t in record.therapy if t.drug in TKIS and day < t.start <= as_of]
        restart = min(later, key=lambda t: t.start) if later else None
        until = restart.start if restart is not None else as_of
        pcrs = tuple(tp for tp in timepoints if tp.molecular is not None and day < tp.date <= until)
        loss = next(
            (tp for tp in pcrs if tp.bcr_abl1_is is not None and tp.bcr_abl1_is > r.restart_gt),
            None,
        )
        out.append(_Stop(day, restart, loss, pcrs))
    return out


def _criteria(
    record: PatientRecord,
    timepoints: Sequence[Timepoint],
    at: dt.date,
    prior_failure: PriorFailure,
    earlier: Sequence[_Stop],
    r: _Rules,
) -> tuple[bool | None, bool | None, list[_Criterion]]:
    failed_tfr = [s for s in earlier if s.loss is not None and s.day < at]
    if isinstance(prior_failure, bool):
        failed, what = prior_failure, ""
    else:  # dated failures: those up to the day judged are prior
        before = [word for day, word in prior_failure if day <= at]
        failed, what = bool(before), f" ({before[0]()})" if before else ""
    if failed:
        fail = _Criterion("ELN2020.TFR.minimal.no_failure", False,
                          f"prior treatment failure{what}")
    elif failed_tfr:
        s = failed_tfr[-1]
        assert s.loss is not None
        fail = _Criterion(
            "ELN2020.TFR.minimal.no_failure", False,
            f"MMR lost after the TKI stop on {s.day} (BCR::ABL1 {s.loss.bcr_abl1_is:g}% IS on "
            f"{s.loss.date})",
        )
    else:
        fail = _Criterion("ELN2020.TFR.minimal.no_failure", True, "no prior treatment failure")
    dur_min, dur_opt = _duration(record, at, r)
    dmr_min, dmr_opt = _dmr(timepoints, at, r)
    minimal = [
        _phase(record, timepoints, at), _line(record, at, r), _transcript(record, r),
        dur_min, dmr_min, fail,
    ]
    minimal_met = _and([c.ok for c in minimal])
    optimal_met = _and([minimal_met, dur_opt.ok, dmr_opt.ok])
    return minimal_met, optimal_met, [*minimal, dur_opt, dmr_opt]


# --- the assessment ----------------------------------------------------------------------------


def next_pcr_due(stop: dt.date, last_pcr: dt.date | None) -> dt.date:
    """When the next PCR is due after a TKI stop, by the ELN 2020 schedule (module doc)."""
    r = _rules()
    last = last_pcr or stop
    for before, every in r.schedule:
        if before is None or last < add_months(stop, before):
            return add_months(last, every)
    raise AssertionError("unreachable: the schedule ends with an open step")


def _after_stop(record: PatientRecord, stop: _Stop, as_of: dt.date, r: _Rules) -> tuple[
    list[Recommendation], list[str]
]:
    t = r.table
    if stop.loss is not None:
        row = t.row("ELN2020.TFR.restart")
        before = [x for x in record.therapy if x.drug in TKIS and x.start <= stop.day]
        prev = max(before, key=lambda x: x.start) if before else None
        by = stop.loss.date + dt.timedelta(days=r.restart_days)
        late = f", {(as_of - by).days} days overdue" if as_of > by else ""
        because = (
            f"loss of MMR after the TKI stop on {stop.day}: BCR::ABL1 {stop.loss.bcr_abl1_is:g}% "
            f"IS > {r.restart_gt:g}% on {stop.loss.date}; restart "
            + (f"{prev.drug} {prev.dose_mg_per_day:g} mg/day" if prev and prev.dose_mg_per_day
               else (prev.drug if prev else "the previous TKI"))
            + f" within {r.restart_days} days, by {by}{late}"
        )
        rec = Recommendation(
            action=Action.RESTART_TKI, rule=row.id, source=row.source, because=because,
            drug=prev.drug if prev else None,
            dose_mg_per_day=prev.dose_mg_per_day if prev else None,
        )
        return [rec], [f"{row.id}: {because}"]
    row = t.row("ELN2020.TFR.monitoring")
    last = stop.pcrs[-1].date if stop.pcrs else None
    due = next_pcr_due(stop.day, last)
    seen = f"last PCR on {last}" if last else "no PCR since the stop"
    text = (
        f"off TKI since {stop.day}, {seen}, every PCR in MMR; next PCR due {due} "
        "(monthly in months 1-6, every 2 months in months 7-12, every 3 months after)"
    )
    return _pcr_when_due(row, text, due, as_of)


def _pcr_when_due(
    row: RuleRow, text: str, due: dt.date, as_of: dt.date
) -> tuple[list[Recommendation], list[str]]:
    """``repeat_pcr`` from ``due`` on (with the days overdue), else only the trail's line."""
    if as_of < due:
        return [], [f"{row.id}: {text}"]
    late = f", {(as_of - due).days} days overdue" if as_of > due else ""
    rec = Recommendation(
        action=Action.REPEAT_PCR, rule=row.id, source=row.source, because=text + late,
    )
    return [rec], [f"{row.id}: {text}{late}"]


def _months(n: int) -> str:
    return f"{n} month" if n == 1 else f"{n} months"


def _after_restart(
    stop: _Stop, timepoints: Sequence[Timepoint], as_of: dt.date, r: _Rules
) -> tuple[list[Recommendation], list[str]]:
    """The PCR schedule after the TKI was restarted on loss of MMR off therapy."""
    assert stop.restart is not None and stop.loss is not None
    row = r.table.row("ELN2020.TFR.after_restart")
    began = stop.restart.start
    pcrs = [tp for tp in timepoints if tp.molecular is not None and began < tp.date <= as_of]
    regained = next((tp for tp in pcrs if tp.molecular in _MMR_OR_DEEPER), None)
    last = pcrs[-1] if pcrs else None
    every = r.after_mmr_every if regained is not None else r.after_restart_every
    due = add_months(last.date if last is not None else began, every)
    text = (
        f"{stop.restart.drug} restarted on {began} after loss of MMR off TKI (stopped "
        f"{stop.day}; BCR::ABL1 {stop.loss.bcr_abl1_is:g}% IS on {stop.loss.date}); "
    )
    if regained is not None:
        text += f"MMR regained on {regained.date}: qPCR every {_months(every)}"
    else:
        seen = f"last PCR on {last.date} {last.molecular}" if last is not None else "no PCR since"
        text += f"MMR not regained yet ({seen}): qPCR every {_months(every)} until it is"
    text += f"; next PCR due {due}"
    return _pcr_when_due(row, text, due, as_of)


def assess_tfr(
    record: PatientRecord,
    timepoints: Sequence[Timepoint],
    *,
    as_of: dt.date,
    prior_failure: PriorFailure,
) -> TfrAssessment:
    """ELN 2020 TFR at ``as_of``: ``consider_tfr`` when the minimal criteria are met; after a
    ``tki_stop`` event, ``repeat_pcr`` when the next PCR is due and ``restart_tki`` on loss of
    MMR (one PCR > 0.1% IS); after the restart, ``repeat_pcr`` on the after-restart schedule.
    Criteria are judged on ``as_of`` (or on the stop day when off TKI). ``prior_failure``:
    whether there was a treatment failure, or the failures dated, each with a function that
    words it (``GuidelineResult.failures``; those up to the day judged count, the first is
    named in the basis).
    """
    r = _rules()
    tps = timepoints_up_to(timepoints, as_of)
    stops = _stops(record, tps, as_of, r)
    current = stops[-1] if stops and stops[-1].restart is None else None
    if current is not None:
        minimal, optimal, crits = _criteria(record, tps, current.day, prior_failure, stops[:-1], r)
        after, lines = _after_stop(record, current, as_of, r)
        basis = [f"at the TKI stop on {current.day}: " + c.line() for c in crits] + lines
        return TfrAssessment(minimal, optimal, tuple(basis), True, tuple(after))

    minimal, optimal, crits = _criteria(record, tps, as_of, prior_failure, stops, r)
    basis = [c.line() for c in crits]
    running = current_line(record, as_of)
    recs: list[Recommendation] = []
    last_stop = stops[-1] if stops else None
    if running is not None and last_stop is not None and last_stop.loss is not None:
        after, lines = _after_restart(last_stop, tps, as_of, r)
        recs += after
        basis += lines
    if minimal is True and running is not None:
        row = r.table.row("ELN2020.TFR.minimal.dmr_duration")
        opt = "optimal criteria also met" if optimal else "optimal criteria not met"
        because = "; ".join(
            f"{c.text} ({_mark(c.ok)})" for c in crits if ".minimal." in c.rule
        ) + f"; {opt}: " + "; ".join(f"{c.text} ({_mark(c.ok)})" for c in crits[-2:])
        recs.append(
            Recommendation(
                action=Action.CONSIDER_TFR, rule="ELN2020.TFR.minimal", source=row.source,
                because=because + "; patient motivation, adherence and a high-quality IS lab "
                "with rapid results are mandatory and not in the record",
                drug=running.drug,
            )
        )
    elif running is None:
        basis.append("ELN2020.TFR: no TKI running at as_of, no TFR decision to make")
    return TfrAssessment(minimal, optimal, tuple(basis), False, tuple(recs))
