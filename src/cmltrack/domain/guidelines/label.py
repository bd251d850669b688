"""Imatinib label dose rules: holds, resumptions and reductions for cytopenia and liver toxicity.

Source: Gleevec USPI / Glivec SmPC dose adjustments (clinical-rules.md section 9, status V2),
kept as rows in ``rules/data/imatinib_label.yaml``. The rules always apply while imatinib is
the patient's most recent TKI (a switch to another TKI, or a treatment-free remission attempt,
ends them).

How the record is read. An *episode* starts with the first count (or chemistry) that meets a
rule's trigger on a day imatinib was being taken; it lasts until the restart condition is met,
whatever the therapy rows say in between. The recommendation reflects the state at ``as_of``:
- episode still open: ``hold`` (or, in AP/BP, the ``reduce_dose`` step the persistence reached);
- episode closed by recovery and the therapy rows show no restart since the hold: ``resume`` at
  the label's dose (the previous dose for a first chronic-phase cytopenia, 300 mg on recurrence,
  the reduced dose after liver toxicity, 300 mg after an AP/BP hold). Where the rows show the
  drug running without a gap at a dose other than the label's restart dose, ``resume`` names the
  label's dose; where they show it running at that dose, nothing is left to do.
The label's step "check whether an AP/BP cytopenia is related to leukemia (marrow)" is not an
action of its own: it is stated in ``because`` of the AP/BP reduction.

This module also holds the small helpers the other dose modules share: the validated loading
of a packaged rule table and the lookup of the imatinib/TKI therapy line on a date.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cmltrack.domain.enums import TKIS, Action, Phase
from cmltrack.domain.options import LabLimits
from cmltrack.domain.records import (
    BloodCount,
    Chemistry,
    ObservationIndex,
    PatientRecord,
    TherapyLine,
)
from cmltrack.domain.results import Recommendation
from cmltrack.errors import RuleTableError
from cmltrack.rules.loader import load_table

IMATINIB = "imatinib"


# --- rule tables -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleRow:
    """One row of a packaged rule table: stable id, the source's wording, condition, citation."""

    id: str
    wording: str
    condition: Mapping[str, Any]
    source: str
    action: str | None = None
    dose: Any = None


@dataclass(frozen=True, slots=True)
class RuleTable:
    name: str
    source: str
    rows: Mapping[str, RuleRow]
    extra: Mapping[str, Any]

    def row(self, rule_id: str) -> RuleRow:
        try:
            return self.rows[rule_id]
        except KeyError:
            raise RuleTableError(f"rule table {self.name!r} has no row {rule_id!r}") from None

    def number(self, rule_id: str, *keys: str) -> float:
        """A number inside a row's condition, e.g. ``number(id, "any", "anc_lt")``."""
        value: Any = self.row(rule_id).condition
        for key in keys:
            if not isinstance(value, Mapping) or key not in value:
                raise RuleTableError(f"{self.name}: row {rule_id} lacks {'.'.join(keys)}")
            value = value[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RuleTableError(f"{self.name}: {rule_id} {'.'.join(keys)} is not a number")
        return float(value)


@functools.cache
def load_rule_table(name: str) -> RuleTable:
    """Load ``rules/data/<name>.yaml`` and check it (see :func:`parse_rule_table`)."""
    return parse_rule_table(name, load_table(name))


def parse_rule_table(name: str, raw: Any) -> RuleTable:
    """Check a parsed table: unique ids, every row worded, cited and with a structured condition."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("rules"), list):
        raise RuleTableError(f"rule table {name!r} needs a list 'rules'")
    rows: dict[str, RuleRow] = {}
    for i, item in enumerate(raw["rules"]):
        if not isinstance(item, Mapping):
            raise RuleTableError(f"{name}: rules[{i}] is not a mapping")
        rid = item.get("id")
        if not isinstance(rid, str) or not rid:
            raise RuleTableError(f"{name}: rules[{i}] has no id")
        if rid in rows:
            raise RuleTableError(f"{name}: duplicate rule id {rid!r}")
        for key in ("wording", "source"):
            val = item.get(key)
            if not isinstance(val, str) or not val.strip():
                raise RuleTableError(f"{name}: rule {rid} has no {key}")
        if not isinstance(item.get("condition"), Mapping):
            raise RuleTableError(f"{name}: rule {rid} has no structured condition")
        rows[rid] = RuleRow(
            id=rid,
            wording=item["wording"],
            condition=item["condition"],
            source=item["source"],
            action=item.get("action"),
            dose=item.get("dose"),
        )
    extra = {k: v for k, v in raw.items() if k != "rules"}
    return RuleTable(name=name, source=str(raw.get("source", "")), rows=rows, extra=extra)


# --- therapy lines -----------------------------------------------------------------------------


def line_on(
    record: PatientRecord, day: dt.date, *, drugs: frozenset[str] = TKIS
) -> TherapyLine | None:
    """The line of one of ``drugs`` taken on ``day`` (end day included); the latest start wins."""
    taken = [
        t for t in record.therapy
        if t.drug in drugs and t.start <= day and (t.end is None or day <= t.end)
    ]
    return max(taken, key=lambda t: t.start) if taken else None


def current_line(record: PatientRecord, as_of: dt.date) -> TherapyLine | None:
    """The TKI line running at ``as_of`` (a line that ended on ``as_of`` is no longer running)."""
    running = [
        t for t in record.therapy
        if t.drug in TKIS and t.start <= as_of and (t.end is None or t.end > as_of)
    ]
    return max(running, key=lambda t: t.start) if running else None


def last_tki_line(record: PatientRecord, as_of: dt.date) -> TherapyLine | None:
    """The most recently started TKI line on or before ``as_of``, running or not."""
    started = [t for t in record.therapy if t.drug in TKIS and t.start <= as_of]
    return max(started, key=lambda t: t.start) if started else None


def fmt_value(x: float | None) -> str:
    """A number as written (``0.9``, ``150``), or ``missing``."""
    return "missing" if x is None else f"{x:g}"


def _dose(x: float | None) -> str:
    return "unknown dose" if x is None else f"{x:g} mg/day"


# --- the label's thresholds, read once from the table -------------------------------------------


@dataclass(frozen=True, slots=True)
class _Label:
    table: RuleTable
    cp_anc_lt: float
    cp_plt_lt: float
    cp_anc_ge: float
    cp_plt_ge: float
    cp_recurrence_dose: float
    ap_anc_lt: float
    ap_plt_lt: float
    ap_first_dose: float
    ap_2w_days: float
    ap_2w_dose: float
    ap_4w_days: float
    ap_anc_ge: float
    ap_plt_ge: float
    ap_resume_dose: float
    bili_hold_x: float
    trans_hold_x: float
    bili_resume_x: float
    trans_resume_x: float
    reductions: Mapping[float, float]


@functools.cache
def _label() -> _Label:
    t = load_rule_table("imatinib_label")
    red = t.extra.get("reductions")
    if not isinstance(red, Mapping) or not red:
        raise RuleTableError("imatinib_label: 'reductions' must map a dose to the reduced dose")

    def dose(rule_id: str) -> float:
        d = t.row(rule_id).dose
        if isinstance(d, bool) or not isinstance(d, int | float):
            raise RuleTableError(f"imatinib_label: {rule_id} dose is not a number")
        return float(d)

    # The recurrence row repeats the restart counts of the first resume (the label's step 3
    # repeats step 1): one value is read, so the copy must agree with it.
    for key in ("anc_ge", "platelets_ge"):
        first = t.number("LABEL.cp.cytopenia.resume", "all", key)
        if t.number("LABEL.cp.cytopenia.resume_recurrence", "all", key) != first:
            raise RuleTableError(
                f"imatinib_label: resume_recurrence {key} differs from resume's {first:g}")
    return _Label(
        table=t,
        cp_anc_lt=t.number("LABEL.cp.cytopenia.hold", "any", "anc_lt"),
        cp_plt_lt=t.number("LABEL.cp.cytopenia.hold", "any", "platelets_lt"),
        cp_anc_ge=t.number("LABEL.cp.cytopenia.resume", "all", "anc_ge"),
        cp_plt_ge=t.number("LABEL.cp.cytopenia.resume", "all", "platelets_ge"),
        cp_recurrence_dose=dose("LABEL.cp.cytopenia.resume_recurrence"),
        ap_anc_lt=t.number("LABEL.apbp.cytopenia.reduce", "any", "anc_lt"),
        ap_plt_lt=t.number("LABEL.apbp.cytopenia.reduce", "any", "platelets_lt"),
        ap_first_dose=dose("LABEL.apbp.cytopenia.reduce"),
        ap_2w_days=t.number("LABEL.apbp.cytopenia.persist_2w", "persists_days_gt"),
        ap_2w_dose=dose("LABEL.apbp.cytopenia.persist_2w"),
        ap_4w_days=t.number("LABEL.apbp.cytopenia.persist_4w", "persists_days_gt"),
        ap_anc_ge=t.number("LABEL.apbp.cytopenia.resume", "all", "anc_ge"),
        ap_plt_ge=t.number("LABEL.apbp.cytopenia.resume", "all", "platelets_ge"),
        ap_resume_dose=dose("LABEL.apbp.cytopenia.resume"),
        bili_hold_x=t.number("LABEL.hepatotoxicity.hold", "any", "bilirubin_gt_uln_x"),
        trans_hold_x=t.number("LABEL.hepatotoxicity.hold", "any", "transaminase_gt_uln_x"),
        bili_resume_x=t.number("LABEL.hepatotoxicity.resume", "all", "bilirubin_lt_uln_x"),
        trans_resume_x=t.number("LABEL.hepatotoxicity.resume", "all", "transaminase_lt_uln_x"),
        reductions={float(k): float(v) for k, v in red.items()},
    )


def reduced_dose(dose_mg_per_day: float | None) -> float | None:
    """The label's next lower imatinib dose (400->300, 600->400, 800->600); None if none."""
    if dose_mg_per_day is None:
        return None
    return _label().reductions.get(float(dose_mg_per_day))


# --- episodes ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Episode:
    number: int
    start: dt.date
    start_basis: str
    dose: float | None  # imatinib dose taken when the episode began
    hold_from: dt.date | None  # first day the label stops the drug (None: never stopped)
    last_trigger: dt.date
    end: dt.date | None = None
    end_basis: str = ""


#: One dated result: its date, the observation (worded by the rule's ``describe`` only when an
#: episode needs it), whether it meets the rule's trigger and whether it meets the restart
#: condition.
_Result = tuple[dt.date, Any, bool, bool]


def _find_episodes(
    results: Sequence[_Result],
    record: PatientRecord,
    *,
    describe: Callable[[Any], str],
    holds_at_once: bool,
    hold_after_days: float | None = None,
    drug: str = IMATINIB,
) -> list[_Episode]:
    """Episodes from dated results ``(date, observation, meets_trigger, meets_restart)``;
    ``describe`` words an observation for the episode's start and end.

    ``holds_at_once``: the trigger stops the drug (chronic-phase cytopenia, liver toxicity). The
    AP/BP rule instead reduces first and stops only when the cytopenia persists more than
    ``hold_after_days``; before that, a result that no longer meets the trigger ends it.
    """
    episodes: list[_Episode] = []
    open_: _Episode | None = None
    for day, obs, trig, restart in results:
        if open_ is None:
            if trig:
                line = line_on(record, day, drugs=frozenset({drug}))
                if line is None:
                    continue  # not on the drug: not the drug's toxicity
                open_ = _Episode(
                    number=len(episodes) + 1, start=day, start_basis=describe(obs),
                    dose=line.dose_mg_per_day, hold_from=day if holds_at_once else None,
                    last_trigger=day,
                )
            continue
        held = open_.hold_from is not None
        if trig and not (held and restart):
            hold_from = open_.hold_from
            if hold_from is None and hold_after_days is not None and (
                (day - open_.start).days > hold_after_days
            ):
                hold_from = day
            open_ = replace(open_, last_trigger=day, hold_from=hold_from)
        elif (held and restart) or (not held and not trig):
            episodes.append(replace(open_, end=day, end_basis=describe(obs)))
            open_ = None
    if open_ is not None:
        episodes.append(open_)
    return episodes


def _restarted_after(
    record: PatientRecord, day: dt.date, as_of: dt.date, drug: str = IMATINIB
) -> TherapyLine | None:
    """A row of ``drug`` started after ``day`` (the record shows the drug was restarted)."""
    later = [t for t in record.therapy if t.drug == drug and day < t.start <= as_of]
    return min(later, key=lambda t: t.start) if later else None


def _hold(row: RuleRow, because: str, drug: str = IMATINIB) -> tuple[Recommendation, ...]:
    return (
        Recommendation(
            action=Action.HOLD, rule=row.id, source=row.source, drug=drug, because=because
        ),
    )


def _resume_or_nothing(
    record: PatientRecord,
    episode: _Episode,
    *,
    as_of: dt.date,
    dose: float | None,
    rule: RuleRow,
    why: str,
    latest: dt.date | None = None,
    drug: str = IMATINIB,
    recheck: str = "the count",
) -> tuple[Recommendation, ...]:
    assert episode.hold_from is not None
    if _restarted_after(record, episode.hold_from, as_of, drug) is not None:
        return ()
    running = current_line(record, as_of)
    if running is not None and running.drug == drug:
        unheld = (
            f"; the therapy rows show {drug} {_dose(running.dose_mg_per_day)} running since "
            f"{running.start} without a recorded hold"
        )
        if dose is None or running.dose_mg_per_day == dose:
            if dose is None or episode.end != latest:
                return ()  # no dose to advise, or a later count has been seen since
            # The trigger was met and has recovered with no hold in the rows: say what the
            # label asks, and ask for the record to be confirmed and the count rechecked.
            why += (unheld + f": confirm whether {drug} was withheld, continue at the label's "
                    f"restart dose {_dose(dose)}, and recheck {recheck}")
        else:
            why += unheld
    return (
        Recommendation(
            action=Action.RESUME, rule=rule.id, source=rule.source, because=why,
            drug=drug, dose_mg_per_day=dose,
        ),
    )


# --- the rules ---------------------------------------------------------------------------------


def _counts(index: ObservationIndex, as_of: dt.date) -> list[BloodCount]:
    """Blood counts up to ``as_of`` with ANC or platelets, in date order."""
    return [o for o in index.blood
            if o.date <= as_of and (o.anc is not None or o.platelets is not None)]


def _count_text(c: BloodCount) -> str:
    return f"{c.date}: ANC {fmt_value(c.anc)}, platelets {fmt_value(c.platelets)}"


def _cytopenia_results(
    index: ObservationIndex,
    as_of: dt.date,
    anc_lt: float,
    plt_lt: float,
    anc_ge: float,
    plt_ge: float,
) -> list[_Result]:
    """Each count up to ``as_of``: whether ANC < ``anc_lt`` or platelets < ``plt_lt`` (the
    trigger), and whether ANC >= ``anc_ge`` and platelets >= ``plt_ge`` (the restart; both
    must be measured). A value not given meets neither."""
    out: list[_Result] = []
    for c in _counts(index, as_of):
        anc, plt = c.anc, c.platelets
        trig = (anc is not None and anc < anc_lt) or (plt is not None and plt < plt_lt)
        restart = anc is not None and plt is not None and anc >= anc_ge and plt >= plt_ge
        out.append((c.date, c, trig, restart))
    return out


def _chronic_cytopenia(
    record: PatientRecord, as_of: dt.date, index: ObservationIndex
) -> tuple[Recommendation, ...]:
    lab = _label()
    t = lab.table
    results = _cytopenia_results(
        index, as_of, lab.cp_anc_lt, lab.cp_plt_lt, lab.cp_anc_ge, lab.cp_plt_ge
    )
    episodes = _find_episodes(results, record, describe=_count_text, holds_at_once=True)
    if not episodes:
        return ()
    last = episodes[-1]
    trigger = (
        f"chronic phase, ANC < {lab.cp_anc_lt:g} and/or platelets < {lab.cp_plt_lt:g} x10^9/L "
        f"on imatinib {_dose(last.dose)} ({last.start_basis})"
    )
    if last.number > 1:
        trigger = f"recurrence (episode {last.number}, first on {episodes[0].start}): " + trigger
    if last.end is None:
        hold = t.row("LABEL.cp.cytopenia.hold")
        latest = _count_text(results[-1][1])
        return _hold(
            hold,
            f"{trigger}; latest count {latest} has not reached ANC >= {lab.cp_anc_ge:g} and "
            f"platelets >= {lab.cp_plt_ge:g}: withhold imatinib",
        )
    if last.number == 1:
        row, dose = t.row("LABEL.cp.cytopenia.resume"), last.dose
        how = f"resume at the previous dose, {_dose(dose)}"
    else:
        row, dose = t.row("LABEL.cp.cytopenia.resume_recurrence"), lab.cp_recurrence_dose
        how = f"resume at the reduced dose, {_dose(dose)}"
    why = (
        f"{trigger}; recovered on {last.end_basis} (ANC >= {lab.cp_anc_ge:g} and platelets >= "
        f"{lab.cp_plt_ge:g}): {how}"
    )
    return _resume_or_nothing(record, last, as_of=as_of, dose=dose, rule=row, why=why,
                              latest=results[-1][0])


def _advanced_cytopenia(
    record: PatientRecord, as_of: dt.date, phase: Phase, index: ObservationIndex
) -> tuple[Recommendation, ...]:
    lab = _label()
    t = lab.table
    results = _cytopenia_results(
        index, as_of, lab.ap_anc_lt, lab.ap_plt_lt, lab.ap_anc_ge, lab.ap_plt_ge
    )
    episodes = _find_episodes(
        results, record, describe=_count_text, holds_at_once=False,
        hold_after_days=lab.ap_4w_days,
    )
    if not episodes:
        return ()
    last = episodes[-1]
    trigger = (
        f"{phase} phase, ANC < {lab.ap_anc_lt:g} and/or platelets < {lab.ap_plt_lt:g} x10^9/L "
        f"on imatinib {_dose(last.dose)} since {last.start_basis}"
    )
    marrow = "check first whether the cytopenia is related to leukemia (marrow aspirate or biopsy)"
    if last.end is None:
        persisted = (last.last_trigger - last.start).days
        if last.hold_from is not None:
            row = t.row("LABEL.apbp.cytopenia.persist_4w")
            return _hold(
                row,
                f"{trigger}; persisting {persisted} days (> {lab.ap_4w_days:g}), latest "
                f"{_count_text(results[-1][1])}: withhold imatinib until ANC >= "
                f"{lab.ap_anc_ge:g} and platelets >= {lab.ap_plt_ge:g} if the cytopenia is still "
                "unrelated to leukemia",
            )
        if persisted > lab.ap_2w_days:
            row, target = t.row("LABEL.apbp.cytopenia.persist_2w"), lab.ap_2w_dose
            step = f"persisting {persisted} days (> {lab.ap_2w_days:g})"
        else:
            row, target = t.row("LABEL.apbp.cytopenia.reduce"), lab.ap_first_dose
            step = f"{marrow}; if unrelated"
        running = current_line(record, as_of)
        if running is not None and running.drug == IMATINIB and (
            running.dose_mg_per_day is not None and running.dose_mg_per_day <= target
        ):
            return ()  # the step has been taken
        return (
            Recommendation(
                action=Action.REDUCE_DOSE, rule=row.id, source=row.source, drug=IMATINIB,
                dose_mg_per_day=target,
                because=f"{trigger}; {step}: reduce imatinib to {_dose(target)}",
            ),
        )
    if last.hold_from is None:
        return ()  # resolved before the label stops the drug: continue at the reduced dose
    row = t.row("LABEL.apbp.cytopenia.resume")
    why = (
        f"{trigger}; withheld after persisting > {lab.ap_4w_days:g} days; recovered on "
        f"{last.end_basis} (ANC >= {lab.ap_anc_ge:g} and platelets >= {lab.ap_plt_ge:g}): "
        f"resume at {_dose(lab.ap_resume_dose)}"
    )
    return _resume_or_nothing(
        record, last, as_of=as_of, dose=lab.ap_resume_dose, rule=row, why=why,
        latest=results[-1][0],
    )


def _liver_ratios(
    c: Chemistry, limits: LabLimits
) -> tuple[float | None, float | None, float | None]:
    """Bilirubin, ALT and AST as multiples of their ULN (the panel's own, else the site's)."""
    return (
        _ratio(c.bilirubin, c.bilirubin_uln, limits.bilirubin_uln),
        _ratio(c.alt, c.alt_uln, limits.alt_uln),
        _ratio(c.ast, c.ast_uln, limits.ast_uln),
    )


def _liver_text(c: Chemistry, limits: LabLimits) -> str:
    bili, alt, ast = _liver_ratios(c, limits)
    parts = [f"bilirubin {bili:.2f} x ULN" if bili is not None else "bilirubin missing"]
    parts += [f"{n} {r:.2f} x ULN" for n, r in (("ALT", alt), ("AST", ast)) if r is not None]
    return f"{c.date}: " + ", ".join(parts)


def _ratio(value: float | None, uln: float | None, default_uln: float) -> float | None:
    if value is None:
        return None
    limit = uln if uln is not None and uln > 0 else default_uln
    # Rounded so that a value exactly on k x ULN is not pushed across by binary fractions.
    return round(value / limit, 9)


def _hepatotoxicity(
    record: PatientRecord, as_of: dt.date, limits: LabLimits, index: ObservationIndex
) -> tuple[Recommendation, ...]:
    lab = _label()
    t = lab.table
    bili_hold, trans_hold = lab.bili_hold_x, lab.trans_hold_x
    bili_resume, trans_resume = lab.bili_resume_x, lab.trans_resume_x
    results: list[_Result] = []
    for c in index.chemistry:
        if c.date > as_of:
            break  # in date order
        bili, alt, ast = _liver_ratios(c, limits)
        if alt is None and ast is None:
            if bili is None:
                continue
            trig = bili > bili_hold
            restart = False  # restart needs a transaminase measured
        else:
            trig = (
                (bili is not None and bili > bili_hold)
                or (alt is not None and alt > trans_hold)
                or (ast is not None and ast > trans_hold)
            )
            # Restart needs bilirubin and every transaminase measured below its limit.
            restart = (
                bili is not None and bili < bili_resume
                and (alt is None or alt < trans_resume) and (ast is None or ast < trans_resume)
            )
        results.append((c.date, c, trig, restart))
    describe = functools.partial(_liver_text, limits=limits)
    episodes = _find_episodes(results, record, describe=describe, holds_at_once=True)
    if not episodes:
        return ()
    last = episodes[-1]
    trigger = (
        f"bilirubin > {lab.bili_hold_x:g} x ULN or transaminases > {lab.trans_hold_x:g} x ULN "
        f"on imatinib {_dose(last.dose)} ({last.start_basis})"
    )
    if last.end is None:
        row = t.row("LABEL.hepatotoxicity.hold")
        return _hold(
            row,
            f"{trigger}; latest {describe(results[-1][1])} has not returned to bilirubin < "
            f"{lab.bili_resume_x:g} x ULN and transaminases < {lab.trans_resume_x:g} x ULN: "
            "withhold imatinib",
        )
    row = t.row("LABEL.hepatotoxicity.resume")
    dose = reduced_dose(last.dose)
    how = (
        f"resume at the reduced dose {_dose(dose)}" if dose is not None
        else f"the label gives no reduced dose below {_dose(last.dose)}: choose the dose"
    )
    why = f"{trigger}; recovered on {last.end_basis}: {how}"
    return _resume_or_nothing(record, last, as_of=as_of, dose=dose, rule=row, why=why,
                              latest=results[-1][0])


def label_applies(record: PatientRecord, as_of: dt.date, drug: str = IMATINIB) -> bool:
    """``drug`` is the most recent TKI and no treatment-free remission attempt has begun since."""
    last = last_tki_line(record, as_of)
    if last is None or last.drug != drug:
        return False
    stops = [e.date for e in record.events if e.kind == "tki_stop" and e.date <= as_of]
    return not any(d >= last.start for d in stops)


_RANK = {Phase.CHRONIC: 0, Phase.ACCELERATED: 1, Phase.BLAST: 2}


def disease_phase(
    record: PatientRecord, as_of: dt.date, classified: Iterable[Phase | None] = ()
) -> Phase | None:
    """The disease phase the dose rules treat: the most advanced of the phase at diagnosis,
    reported progression events up to ``as_of`` and the ``classified`` day phases.

    A day classified accelerated on therapy is taken: the phase criteria already leave out
    "platelets < 100 unrelated to therapy" on a TKI (a count cannot tell it from the drug's
    myelosuppression) and ACA present before therapy, so what remains (blasts, basophils, a new
    ACA) is accelerated phase, as the events' progression says.
    """
    dx = record.diagnosis.phase if record.diagnosis is not None else None
    known: list[Phase] = [Phase(dx)] if dx is not None else []
    known += [
        Phase(e.phase) for e in record.events
        if e.kind == "progression" and e.phase is not None and e.date <= as_of
    ]
    # a phase per classified day: the few distinct ones are enough
    known += [p for p in set(classified) if p is not None]
    return max(known, key=_RANK.__getitem__) if known else None


def recommend_label_dose(
    record: PatientRecord,
    *,
    as_of: dt.date,
    phase: Phase | None,
    limits: LabLimits = LabLimits(),  # noqa: B008 - frozen dataclass, safe as a default
    index: ObservationIndex | None = None,
) -> tuple[Recommendation, ...]:
    """The imatinib label's hold / resume / reduce_dose recommendations standing at ``as_of``.

    The cytopenia rule (chronic vs accelerated/blast) follows :func:`disease_phase` of the
    record and ``phase`` (the day's classified phase). With no phase known at all the cytopenia
    rules are not evaluable and give nothing; the liver rule does not depend on phase.
    ``index`` (of ``record``) may be passed where the caller has it.
    """
    if not label_applies(record, as_of):
        return ()
    index = index or ObservationIndex.of(record)
    treated = disease_phase(record, as_of, (phase,))
    recs: list[Recommendation] = []
    if treated == Phase.CHRONIC:
        recs += _chronic_cytopenia(record, as_of, index)
    elif treated in (Phase.ACCELERATED, Phase.BLAST):
        recs += _advanced_cytopenia(record, as_of, treated, index)
    recs += _hepatotoxicity(record, as_of, limits, index)
    return tuple(recs)
