"""ELN milestones, any-time judgements, standing status and guideline recommendations.

``assess_eln`` judges a history against one ELN edition's table (``rules/data/eln20xx.yaml``,
validated on load). The conventions are those of clinical-rules section 14:

- Landmarks count from the start of the current line of TKI therapy (a switch to another TKI
  restarts them; a dose change does not). A landmark uses, per measure, the result nearest to
  it within its window (ties: the later result). The status is the worst cell met; ``optimal``
  needs every measure its cell names; a missing measure gives ``not_evaluable`` (``pending``
  while the window is still open at ``as_of``).
- "Any time" cells: BCR::ABL1 levels (and loss of MMR, rise of transcripts) apply to PCR results
  after the result used for the last landmark; mutations, ACA, loss of CHR/CCyR and progression
  apply at any time.
- Standing status: the worst of the most recent landmark, the any-time judgements of the most
  recent result of each kind since the last change of therapy, and every failure established
  since that change. A failure's recommendations stand until therapy changes.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cmltrack.domain.enums import (
    STATUS_SEVERITY,
    TKIS,
    Action,
    CytogeneticResponse,
    EventKind,
    Guideline,
    HematologicResponse,
    MilestoneStatus,
    Phase,
)
from cmltrack.domain.guidelines.choice import CHOICE_SOURCE, TkiOptions, next_tki_options
from cmltrack.domain.guidelines.events import (
    MMR_PCT,
    PHASE_RANK,
    LossRule,
    PcrValue,
    bcr_value,
    derive_events,
    describe_bcr,
    fmt_pct,
    pcr_values,
    ph_value,
    presenting_phase,
    select_nearest,
)
from cmltrack.domain.guidelines.label import disease_phase
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.phase import aca_at_diagnosis, norm_aca
from cmltrack.domain.records import Mutation, ObservationIndex, PatientRecord, TherapyLine
from cmltrack.domain.results import (
    ClinicalEvent,
    LazyLines,
    Milestone,
    Recommendation,
    RiskScore,
    Timepoint,
    timepoints_up_to,
)
from cmltrack.domain.risk import assess_risk
from cmltrack.domain.timeline import DAYS_PER_MONTH, months_between
from cmltrack.rules.guideline_tables import (
    AFTER_LANDMARK_FACTS,
    MEASURE_LABEL,
    NUMERIC_MEASURES,
    Condition,
    GuidelineTable,
    Landmark,
    Row,
    load_guideline_table,
    load_mutation_table,
)

S = MilestoneStatus
_FAILED_REASONS = frozenset({"resistance", "failure", "progression"})
_ESCALATION = (
    "Glivec SmPC dose escalation (clinical-rules section 9); Kantarjian H, et al. Blood 2003, "
    "doi:10.1182/blood-2002-05-1451 (seed 004)"
)


@dataclass(frozen=True, slots=True)
class GuidelineResult:
    milestones: tuple[Milestone, ...]
    events: tuple[ClinicalEvent, ...]
    recommendations: tuple[Recommendation, ...]
    #: ``current.status``: the standing status (clinical-rules section 14).
    status: MilestoneStatus | None
    #: Plain-language explanation lines in date order (for ``cmltrack explain``), written when
    #: first read.
    trail: Sequence[str] = ()
    #: Every treatment failure on record, in date order, each with a function wording it: a
    #: landmark or any-time failure under the edition, or a TKI line ended for resistance,
    #: failure or progression. ELN 2020 TFR needs "no prior treatment failure", which a later
    #: change of dose or drug does not undo.
    failures: tuple[tuple[dt.date, Callable[[], str]], ...] = ()


class Judgement(NamedTuple):
    """One status met on one date, by one row (or a landmark), with its basis.

    A named tuple (immutable, and built four times faster than a frozen dataclass): a ten-year
    history makes dozens, one per PCR that meets an any-time band.
    """

    date: dt.date
    kind: str  # landmark | pcr | cytogenetics | blood | mutation | phase
    status: MilestoneStatus
    rule: str
    #: The basis, or a function that writes it: of the dozens of any-time PCR judgements only
    #: the decisive one is read, unless the trail is, so their numbers are worded on demand.
    written: str | Callable[[], str]
    #: The state judged still holds on the latest result of its kind (a loss of MMR not yet
    #: regained), so the judgement applies to it although dated earlier.
    persists: bool = False

    @property
    def basis(self) -> str:
        w = self.written
        return w if isinstance(w, str) else w()


@dataclass(frozen=True, slots=True)
class Line:
    """A line of TKI therapy: one drug from its first start (dose changes stay in the line)."""

    drug: str
    start: dt.date
    rows: tuple[TherapyLine, ...]

    @property
    def reason_end(self) -> str | None:
        return self.rows[-1].reason_end


# --------------------------------------------------------------------------- therapy


def tki_lines(record: PatientRecord, as_of: dt.date) -> list[Line]:
    """Lines of TKI therapy started by ``as_of``: a new line at each switch to another TKI."""
    rows = sorted((t for t in record.therapy if t.drug in TKIS and t.start <= as_of),
                  key=lambda t: t.start)
    lines: list[Line] = []
    for row in rows:
        if lines and lines[-1].drug == row.drug:
            last = lines[-1]
            lines[-1] = Line(last.drug, last.start, (*last.rows, row))
        else:
            lines.append(Line(row.drug, row.start, (row,)))
    return lines


def last_therapy_change(lines: Sequence[Line]) -> dt.date | None:
    """Start of the latest new drug or new dose (section 14: what ends a standing failure)."""
    change: dt.date | None = None
    prev: TherapyLine | None = None
    for line in lines:
        for row in line.rows:
            if prev is None or row.drug != prev.drug or row.dose_mg_per_day != prev.dose_mg_per_day:
                change = row.start
            prev = row
    return change


def _current_row(lines: Sequence[Line], as_of: dt.date) -> TherapyLine | None:
    rows = [r for line in lines for r in line.rows]
    active = [r for r in rows if r.end is None or r.end > as_of]
    pool = active or rows
    return max(pool, key=lambda r: r.start) if pool else None


# --------------------------------------------------------------------------- conditions

Value = float | str


def _measure(tp: Timepoint, measure: str) -> Value | None:
    if measure == "bcr_abl1_is":
        return bcr_value(tp)
    if measure == "ph_pct":
        return ph_value(tp)
    return None if tp.hematologic is None else str(tp.hematologic)


def _has(measure: str) -> Callable[[Timepoint], bool]:
    return lambda tp: _measure(tp, measure) is not None


Used = tuple[Condition, Value | None, dt.date | None]


def _atom(cond: Condition, value: Value | None) -> bool | None:
    """Whether a measure condition holds for ``value`` (None: not measured)."""
    if value is None:
        return None
    if cond.interval is not None and isinstance(value, float):
        return cond.interval.contains(value)
    return cond.categories is not None and str(value) in cond.categories


def _atom_text(cond: Condition, value: Value | None) -> str:
    """Why a condition held (or could not be judged), with the value, e.g. 'Ph+ 40% > 35%'."""
    if value is None:
        return f"no {MEASURE_LABEL[cond.measure or '']} result"
    if cond.interval is not None and isinstance(value, float):
        bounds = cond.interval.describe("%", NUMERIC_MEASURES[cond.measure or ""][1])
        shown = describe_bcr(value) if cond.measure == "bcr_abl1_is" else f"Ph+ {value:g}%"
        return f"{shown} {bounds}"
    return "CHR" if value == "CHR" else f"hematologic response {value} (no CHR)"


def _texts(used: Sequence[Used]) -> tuple[list[str], list[dt.date]]:
    return [_atom_text(c, v) for c, v, _ in used], [d for _, _, d in used if d is not None]


def _row_holds(
    row: Row, values: Mapping[str, tuple[Value, Timepoint] | None]
) -> tuple[bool | None, list[Used]]:
    """Tri-state (True, False, or None when a needed measure is missing), and the conditions
    that decided it: those met when True, the missing ones when None."""
    results: list[tuple[bool | None, Used, bool]] = []
    for cond in row.conditions:
        got = values.get(cond.measure or "")
        value = got[0] if got else None
        results.append((_atom(cond, value), (cond, value, got[1].date if got else None),
                        cond.required))
    if row.combine == "any":
        hits = [r[1] for r in results if r[0] is True]
        if hits:
            return True, hits
        missing = [r[1] for r in results if r[0] is None]
        return (None, missing) if missing else (False, [])
    if any(r[0] is False for r in results):
        return False, []
    missing = [r[1] for r in results if r[0] is None and r[2]]
    if missing:
        return None, missing
    return True, [r[1] for r in results if r[0] is True]


# --------------------------------------------------------------------------- landmarks


_RESULT_KIND = {"bcr_abl1_is": "BCR::ABL1", "ph_pct": "cytogenetic", "hematologic": "blood count"}


def _judge_landmark(
    table: GuidelineTable,
    lm: Landmark,
    tps: Sequence[Timepoint],
    start: dt.date,
    as_of_months: float,
) -> tuple[Milestone, Timepoint | None]:
    """One landmark of the current line, and the PCR result it used (for 'any time')."""
    rows = table.rows_at(lm.month)
    measures = {c.measure for r in rows for c in r.conditions if c.measure}
    used: dict[str, tuple[Value, Timepoint] | None] = {}
    for m in measures:
        tp = select_nearest(tps, start, lm.month, lm.start, lm.end, _has(m))
        value = _measure(tp, m) if tp else None
        used[m] = None if tp is None or value is None else (value, tp)
    pcr = used.get("bcr_abl1_is")
    pcr_tp = pcr[1] if pcr else None
    window_open = as_of_months <= lm.end
    window = f"{lm.start:g}-{lm.end:g} months"
    if not any(used.values()):
        status = S.PENDING if window_open else S.NOT_EVALUABLE
        kinds = " or ".join(_RESULT_KIND[m] for m in sorted(measures))
        return Milestone(lm.month, status, None,
                         f"no {kinds} result{' yet' if window_open else ''} in the {window} window",
                         f"{table.edition.value}.{lm.month}mo.{status}"), None

    met: list[tuple[Row, list[Used]]] = []
    missing: list[str] = []
    for row in rows:
        if row.confirm_within_months is not None:
            continue
        held, decided = _row_holds(row, used)
        if held:
            met.append((row, decided))
        elif held is None and row.status is S.OPTIMAL:
            missing += _texts(decided)[0]
    worst = max((m for m in met if m[0].status is not S.OPTIMAL),
                key=lambda m: STATUS_SEVERITY[m[0].status], default=None)
    choice = worst or next((m for m in met if m[0].status is S.OPTIMAL), None)
    if choice is None:
        status = S.PENDING if window_open else S.NOT_EVALUABLE
        needed = "; ".join(dict.fromkeys(missing)) or "no cell met"
        return Milestone(lm.month, status, None,
                         f"cannot judge: {needed} in the {window} window",
                         f"{table.edition.value}.{lm.month}mo.{status}"), pcr_tp
    row, decided = choice
    texts, dates = _texts(decided)
    basis = "; ".join(texts) + f" ({row.wording})"
    day = max(dates) if dates else None
    confirm = next((r for r in rows if r.confirm_within_months is not None), None)
    if confirm is not None and row.status is S.WARNING and pcr is not None:
        confirmed = _confirmation(confirm, pcr, tps)
        if confirmed is not None:
            return Milestone(lm.month, confirm.status, confirmed.date,
                             f"{basis}, confirmed by {describe_bcr(bcr_value(confirmed) or 0.0)} "
                             f"on {confirmed.date} ({confirm.wording})", confirm.id), pcr_tp
    return Milestone(lm.month, row.status, day, basis, row.id), pcr_tp


def _confirmation(
    row: Row, first: tuple[Value, Timepoint], tps: Sequence[Timepoint]
) -> Timepoint | None:
    """A later PCR within the row's time limit that meets the row's conditions too."""
    held, _ = _row_holds(row, {"bcr_abl1_is": first})
    if not held or row.confirm_within_months is None:
        return None
    limit = row.confirm_within_months
    for tp in tps:
        value = bcr_value(tp)
        if tp.date <= first[1].date or value is None:
            continue
        if months_between(first[1].date, tp.date) > limit:
            break
        if _row_holds(row, {"bcr_abl1_is": (value, tp)})[0]:
            return tp
    return None


# --------------------------------------------------------------------------- any time

_FACT_KIND = {
    EventKind.LOSS_OF_CHR: ("loss_of_chr", "blood"),
    EventKind.LOSS_OF_CCYR: ("loss_of_ccyr", "cytogenetics"),
    EventKind.LOSS_OF_MMR: ("loss_of_mmr", "pcr"),
    EventKind.PROGRESSION: ("progression", "phase"),
}
_FACT_LABEL = {
    EventKind.LOSS_OF_CHR: "loss of CHR",
    EventKind.LOSS_OF_CCYR: "loss of CCyR",
    EventKind.LOSS_OF_MMR: "loss of MMR",
    EventKind.PROGRESSION: "progression",
}
#: The response whose loss each event is (for attributing a loss to the line it began on).
_HELD: dict[EventKind, Callable[[Timepoint], bool]] = {
    EventKind.LOSS_OF_CHR: lambda t: t.hematologic is HematologicResponse.CHR,
    EventKind.LOSS_OF_CCYR: lambda t: t.cytogenetic is CytogeneticResponse.CCYR,
}
#: TKIs active against T315I (clinical-rules section 14: "T315I: ponatinib or asciminib").


def _drug_on(record: PatientRecord, day: dt.date) -> str | None:
    """The TKI most recently started on or before ``day`` (None before any TKI)."""
    rows = [t for t in record.therapy if t.drug in TKIS and t.start <= day]
    return max(rows, key=lambda t: t.start).drug if rows else None


@dataclass(frozen=True, slots=True)
class _Fact:
    date: dt.date
    fact: str
    kind: str
    items: tuple[str, ...]
    basis: str
    persists: bool = False  # see Judgement.persists


def _facts(
    record: PatientRecord,
    events: Sequence[ClinicalEvent],
    tps: Sequence[Timepoint],
    pcrs: Sequence[PcrValue],
    index: ObservationIndex,
    any_time_from: dt.date | None,
    as_of: dt.date,
    first_start: dt.date,
    wanted: frozenset[str],
    at_diagnosis: tuple[str, ...],
    line_start: dt.date | None = None,
) -> list[_Fact]:
    """The facts the table's rows ask about (``wanted``), in no particular order (each fact's
    own kind in date order)."""
    out: list[_Fact] = []
    for ev in events:
        if ev.kind in _FACT_KIND:
            held = _HELD.get(ev.kind)
            if held is not None and line_start is not None:
                # A response last seen before the current TKI started was lost on the previous
                # one: its confirmation on the new drug is not a failure of the new drug.
                last = max((t.date for t in tps if t.date < ev.date and held(t)), default=None)
                if last is not None and last < line_start:
                    continue
            fact, kind = _FACT_KIND[ev.kind]
            # A loss of MMR holds until a later PCR shows MMR again; while it holds it is the
            # standing of the latest PCR too (ELN 2006/2009 have no any-time band for it).
            persists = ev.kind is EventKind.LOSS_OF_MMR and not any(
                value <= MMR_PCT for tp, value in pcrs if tp.date > ev.date
            )
            out.append(_Fact(ev.date, fact, kind, (), f"{_FACT_LABEL[ev.kind]}: {ev.basis}",
                             persists))
    # An advanced phase that persists is still progression (failure) on each later result.
    presenting, origin = presenting_phase(record, tps, first_start)
    progressed = {e.date for e in events if e.kind is EventKind.PROGRESSION}
    for tp in tps:
        if (tp.phase is not None and origin is not None and tp.date > origin
                and PHASE_RANK[tp.phase] > presenting and tp.date not in progressed):
            out.append(_Fact(tp.date, "progression", "phase", (),
                             f"{tp.phase} phase persists on {tp.date}"))
    # A mutation or an ACA is a finding when first detected: the same finding on a later test
    # (e.g. the karyotype or mutation test after a switch) is not a new failure of the new drug.
    seen_mut: set[str] = set()
    for mut in index.mutation:
        if mut.date > as_of:
            break
        if mut.mutations:
            found = tuple(m for m in mut.mutations if m not in seen_mut)
            seen_mut.update(found)
            # "Resistance mutations": those the TKI taken when the result came is insensitive to
            # (eln_mutations.yaml, U); a T315I on ponatinib is that drug's target.
            drug = _drug_on(record, mut.date)
            resist = tuple(m for m in found if load_mutation_table().resists(m, drug))
            if resist:
                out.append(_Fact(mut.date, "mutation", "mutation", resist,
                                 f"BCR::ABL1 mutation {', '.join(resist)}"
                                 + (f" on {drug}" if drug else "")))
    # ACA of the diagnosis or a pre-therapy karyotype (``at_diagnosis``) are not new
    seen_aca = set(map(norm_aca, at_diagnosis))
    for obs in index.cytogenetics:
        if obs.date > as_of:
            break
        new = tuple(a for a in obs.aca if norm_aca(a) not in seen_aca)
        seen_aca.update(norm_aca(a) for a in new)
        if new:
            out.append(_Fact(obs.date, "new_aca_ph_pos", "cytogenetics", new,
                             f"ACA in Ph+ cells not present at diagnosis: {', '.join(new)}"))
        if obs.aca_ph_neg:
            out.append(_Fact(obs.date, "aca_ph_neg", "cytogenetics", obs.aca_ph_neg,
                             f"ACA in Ph- cells: {', '.join(obs.aca_ph_neg)}"))
    if "less_than_ccyr" in wanted:
        # ELN 2013: "less than CCyR from 12 months onward" is failure (after the last landmark:
        # AFTER_LANDMARK_FACTS) for a response never reached on this line; once CCyR was
        # reached, a Ph+ result is a possible loss of CCyR, which needs its confirmation.
        # An inadequate karyotype shows nothing.
        reached = False
        for tp in tps:
            if tp.cytogenetic is not None and (line_start is None or tp.date >= line_start):
                if tp.cytogenetic is CytogeneticResponse.CCYR:
                    reached = True
                    continue
                ph = ph_value(tp)
                if not reached and ph is not None and ph > 0:
                    how = "FISH " if tp.fish_based else ""
                    out.append(_Fact(tp.date, "less_than_ccyr", "cytogenetics", (),
                                     f"{how}Ph+ {ph:g}% on {tp.date}: less than CCyR"))
    if not wanted & {"transcript_rise", "mmr_stable"}:
        return out
    # A rise is judged between quantified levels: an undetected result has no level (it is below
    # the assay's sensitivity), so undetected -> 0.002% is not a rise; the last detected value is.
    previous: tuple[float, dt.date] | None = None
    for tp, value in pcrs:
        detected = tp.bcr_abl1_is is not None
        if any_time_from is not None and tp.date > any_time_from:
            if previous is not None and detected and value > previous[0]:
                out.append(_Fact(tp.date, "transcript_rise", "pcr", (),
                                 f"{describe_bcr(value)}, up from {fmt_pct(previous[0])}% IS "
                                 f"on {previous[1]}"))
            elif value <= MMR_PCT:
                out.append(_Fact(tp.date, "mmr_stable", "pcr", (),
                                 f"{describe_bcr(value)}, MMR stable or improving"))
        if detected:
            previous = (value, tp.date)
    return out


def _fact_matches(
    cond: Condition, fact: _Fact, lists: Mapping[str, tuple[str, ...]]
) -> tuple[str, ...] | None:
    """The items of a fact that meet a condition's lists (empty tuple: met without items)."""
    items = fact.items
    params = cond.params or {}
    if "list" in params:
        wanted = {norm_aca(x) for x in lists[params["list"][0]]}
        items = tuple(i for i in items if norm_aca(i) in wanted)
        return items or None
    if "exclude_list" in params:
        unwanted = {norm_aca(x) for x in lists[params["exclude_list"][0]]}
        items = tuple(i for i in items if norm_aca(i) not in unwanted)
        return items or None
    return items


def _band_text(cond: Condition, value: Value, wording: str) -> str:
    return f"{_atom_text(cond, value)} ({wording})"


def _any_time_judgements(
    table: GuidelineTable,
    lists: Mapping[str, tuple[str, ...]],
    facts: Sequence[_Fact],
    pcrs: Sequence[PcrValue],
    any_time_from: dt.date | None,
) -> list[Judgement]:
    rows = table.rows_at("any")
    by_name: dict[str, list[_Fact]] = {}
    for fact in facts:
        by_name.setdefault(fact.fact, []).append(fact)
    out: list[Judgement] = []
    later = ([] if any_time_from is None
             else [(tp, v) for tp, v in pcrs if tp.date > any_time_from])
    for row in rows:
        cond = row.conditions[0]
        if row.is_fact:
            for fact in by_name.get(cond.fact or "", ()):
                if cond.fact in AFTER_LANDMARK_FACTS and (
                    any_time_from is None or fact.date <= any_time_from
                ):
                    continue
                if _fact_matches(cond, fact, lists) is None:
                    continue
                out.append(Judgement(fact.date, fact.kind, row.status, row.id,
                                     f"{fact.basis} ({row.wording})", fact.persists))
            continue
        band = cond.interval
        if band is None or len(row.conditions) != 1:
            continue  # any-time BCR::ABL1 rows are single bands
        for tp, value in later:
            # Test the band, word it only if met.
            if band.contains(value):
                out.append(Judgement(tp.date, "pcr", row.status, row.id,
                                     functools.partial(_band_text, cond, value, row.wording)))
    return out


# --------------------------------------------------------------------------- baseline


def _risk_groups(
    record: PatientRecord, risk: Mapping[str, RiskScore] | None
) -> dict[str, str | None]:
    """Risk group by score name (``sokal``, ``elts``, ...); None where not evaluable."""
    scores = assess_risk(record) if risk is None else risk
    return {name: score.group for name, score in scores.items()}


def _baseline(
    table: GuidelineTable,
    lists: Mapping[str, tuple[str, ...]],
    record: PatientRecord,
    trail: list[str],
    risk: Mapping[str, RiskScore] | None = None,
    at_diagnosis: tuple[str, ...] = (),
) -> Milestone | None:
    """Month 0: the baseline warnings met (none met, or none evaluable: no milestone)."""
    groups = _risk_groups(record, risk)
    dx = record.diagnosis
    texts: list[tuple[Row, str]] = []
    for row in table.rows_at(0):
        cond = row.conditions[0]
        params = cond.params or {}
        if cond.fact == "high_risk_score":
            for name in params.get("scores", ()):
                group = groups.get(name)
                if group == "high":
                    texts.append((row, f"high-risk {name.upper()} score"))
                elif group is None:
                    trail.append(f"baseline: {name.upper()} risk group not evaluable")
        elif cond.fact == "diagnosis_aca" and at_diagnosis:
            day = dx.date if dx is not None and dx.date is not None else dt.date.min
            fact = _Fact(day, "diagnosis_aca", "baseline", at_diagnosis, "")
            hits = _fact_matches(cond, fact, lists)
            if hits:
                texts.append((row, f"ACA at diagnosis: {', '.join(hits)}"))
    if not texts:
        return None
    basis = "; ".join(t if t.lower() == r.wording.lower() else f"{t} ({r.wording})"
                      for r, t in texts)
    return Milestone(0, S.WARNING, dx.date if dx else None, basis, texts[0][0].id)


# --------------------------------------------------------------------------- status


def _worst(items: Sequence[Judgement]) -> Judgement | None:
    judged = [j for j in items if j.status in STATUS_SEVERITY]
    # Worst status; among equals, the most recent.
    return max(judged, key=lambda j: (STATUS_SEVERITY[j.status], j.date), default=None)


def _standing(
    milestones: Sequence[Milestone],
    judgements: Sequence[Judgement],
    latest_by_kind: Mapping[str, dt.date],
    since: dt.date | None,
    rule: str = "latest",
    failure_stands: str = "until_change",
) -> tuple[MilestoneStatus | None, Judgement | None]:
    landmark = [Judgement(m.date or dt.date.min, "landmark", m.status, m.rule, m.basis)
                for m in milestones]
    recent = next((j for j in reversed(landmark) if j.status is not S.PENDING), None)
    # A result dated on the day of a change is what prompted it: it belongs before the change.
    after = (lambda d: True) if since is None else (lambda d: d > since)
    # The judgements of the latest result of each kind, and those whose state still holds on it
    # (a loss of MMR not regained). Like a failure, neither outlives a change of therapy: the
    # change answered it, and a new drug's landmarks start afresh.
    latest = [j for j in judgements
              if after(j.date) and (j.persists or latest_by_kind.get(j.kind) == j.date)]
    pool = list(latest)
    if recent is not None and (
        rule == "worst"
        # "latest": the landmark stands until a later any-time judgement replaces it
        # (assessment contract: "the latest milestone or any-time judgement that applies").
        or not any(j.date > recent.date for j in latest)
    ):
        pool.append(recent)
    judged = (*landmark, *judgements)
    pool += [j for j in judged if j.status is S.FAILURE and after(j.date)]
    if failure_stands == "until_optimal":
        # Option: a later result meeting the optimal cell (a landmark, or an any-time result)
        # ends a failure too, even the latest result of its kind (a mutation or karyotype not
        # repeated since): the patient responded on the unchanged therapy.
        pool = [j for j in pool if j.status is not S.FAILURE
                or not any(o.status is S.OPTIMAL and o.date > j.date for o in judged)]
    decisive = _worst(pool)
    if decisive is not None:
        return decisive.status, decisive
    if recent is not None:
        return recent.status, None
    return (S.PENDING, None) if milestones else (None, None)


# --------------------------------------------------------------------------- recommendations


def _switch_options(lines: Sequence[Line], mutations: set[str], edition: Guideline,
                    phase: Phase | None) -> TkiOptions:
    """The next TKIs after a failure that stands (clinical-rules-2 section 3, ``choice``).

    ELN 2006/2009 name the drugs of their era, dasatinib or nilotinib (NCI PDQ 2009, seed 001),
    unless T315I calls for a later drug. With nothing left, no switch is recommended and only
    the transplant evaluation remains.
    """
    era = (("dasatinib", "nilotinib")
           if edition in (Guideline.ELN2006, Guideline.ELN2009) and "T315I" not in mutations
           else None)
    return next_tki_options(tried=[(ln.drug, ln.reason_end) for ln in lines],
                            current_failing=True, phase=phase, mutations=mutations, pool=era)


def _recommend(
    table: GuidelineTable,
    status: MilestoneStatus | None,
    decisive: Judgement | None,
    *,
    lines: Sequence[Line],
    since: dt.date | None,
    record: PatientRecord,
    phase: Phase | None,
    as_of: dt.date,
    trail: list[str],
    mutation_tests: Sequence[Mutation],
    progressed_on_therapy: bool = False,
) -> list[Recommendation]:
    ed = table.edition
    rule = decisive.rule if decisive else f"{ed.value}.status"
    because = decisive.basis if decisive else f"status {status}"
    cell = next((r for r in table.rows if r.id == rule), None)
    source = f"{table.citation} ({cell.source})" if cell else table.citation
    recs: list[Recommendation] = []

    def add(action: Action, drug: str | None = None, dose: float | None = None,
            rule_id: str | None = None, why: str | None = None, src: str | None = None) -> None:
        recs.append(Recommendation(action, rule_id or rule, src or source, why or because, drug,
                                   dose))

    # A mutation analysis dated on or after the judgement has answered the call for one (a
    # failure decided by a mutation finding is itself that analysis).
    tested = decisive is not None and any(
        decisive.date <= o.date <= as_of for o in mutation_tests)

    def analyse() -> None:
        if not tested:
            add(Action.MUTATION_ANALYSIS)

    stands = decisive is not None and (since is None or decisive.date > since)
    if status is S.FAILURE and not stands:
        trail.append(f"the failure of {decisive.date if decisive else '?'} predates the "
                     f"therapy change on {since}; its recommendations no longer stand")
    elif status is S.FAILURE:
        mutations = {m for o in mutation_tests if o.date <= as_of for m in o.mutations}
        choice = _switch_options(lines, mutations, ed, phase)
        if choice.options:
            recs.append(Recommendation(
                Action.SWITCH_TKI, rule, f"{source}; {CHOICE_SOURCE}",
                f"{because}; {choice.describe()}", "|".join(choice.options), None,
                options=choice.options, avoid=choice.avoid,
                start_dose_mg_per_day=dict(choice.start_doses)))
        else:
            trail.append(f"{as_of}: no TKI left to switch to ({choice.describe()})")
        analyse()
        if ed is not Guideline.ELN2006:
            add(Action.MARROW_CYTOGENETICS)
        current = _current_row(lines, as_of)
        dose = current.dose_mg_per_day if current else None
        if (ed in (Guideline.ELN2006, Guideline.ELN2009) and current is not None
                and current.drug == "imatinib" and dose is not None and dose < 800
                and "T315I" not in mutations):
            # The imatinib-era option beside a switch: 400 -> 800 mg (400 mg twice daily), or
            # 300 -> 600 mg (seed 004; the SmPC allows 600 or 800 mg in chronic phase).
            target = 600.0 if dose <= 300 else 800.0
            recs.append(Recommendation(
                Action.ESCALATE_DOSE, f"{ed.value}.failure.escalate_imatinib", _ESCALATION,
                f"{because}; imatinib {dose:g} mg/day", "imatinib", target))
    elif status is S.SUBOPTIMAL:
        analyse()
        if ed is Guideline.ELN2009:
            add(Action.MARROW_CYTOGENETICS)
        add(Action.INCREASE_MONITORING)
    elif status is S.WARNING:
        add(Action.INCREASE_MONITORING)
        if ed is Guideline.ELN2013:
            analyse()
    elif status is S.OPTIMAL and any(r.end is None or r.end > as_of
                                     for ln in lines for r in ln.rows):
        # "continue" is said only with a TKI running: not during a hold nor after a TKI stop
        # (treatment-free remission has its own monitoring recommendations).
        add(Action.CONTINUE)
    failed = [ln for ln in lines[:-1] if ln.reason_end in _FAILED_REASONS]
    if status is S.FAILURE and stands and lines:
        failed.append(lines[-1])
    why = _hsct_reason(record, status, stands, failed, phase, progressed_on_therapy)
    if why is not None:
        add(Action.HSCT_EVALUATION, rule_id=f"{ed.value}.hsct", why=why,
            src=f"{table.citation}; cmltrack convention, clinical-rules section 14 'Actions for "
                "statuses' and clinical-rules-2 section 4 (blast phase; accelerated phase on "
                "therapy or at diagnosis without an optimal response; failure of two TKIs that "
                "still stands)")
    return recs


def _hsct_reason(
    record: PatientRecord,
    status: MilestoneStatus | None,
    stands: bool,
    failed: Sequence[Line],
    phase: Phase | None,
    progressed_on_therapy: bool,
) -> str | None:
    """Why a transplant evaluation is due, or None (clinical-rules-2 section 4).

    The phase is the most advanced one the record shows (it persists: a patient back in a
    chronic-looking blood count after blast crisis is not in first chronic phase again). Two
    failed TKIs call for it only while the current failure stands: a patient in MMR on a third
    TKI is no longer failing.
    """
    if phase is Phase.BLAST:
        return "blast phase"
    if phase is Phase.ACCELERATED:
        if progressed_on_therapy:
            return "progression to accelerated phase on TKI therapy"
        at_dx = record.diagnosis is not None and record.diagnosis.phase == "accelerated"
        if at_dx and status not in (S.OPTIMAL, None):
            return f"accelerated phase at diagnosis without an optimal response (status {status})"
    drugs = dict.fromkeys(ln.drug for ln in failed)
    if status is S.FAILURE and stands and len(drugs) >= 2:
        return "failure of " + " and ".join(drugs) + " (the current failure still stands)"
    return None


# --------------------------------------------------------------------------- entry point


def _table_lists(table: GuidelineTable, options: AssessOptions) -> dict[str, tuple[str, ...]]:
    lists = dict(table.lists)
    if options.high_risk_aca == "cml_study_iv" and "high_risk_aca_cml_study_iv" in lists:
        lists["high_risk_aca"] = lists["high_risk_aca_cml_study_iv"]
    return lists


def _latest_by_kind(
    record: PatientRecord,
    tps: Sequence[Timepoint],
    pcrs: Sequence[PcrValue],
    index: ObservationIndex,
    as_of: dt.date,
) -> dict[str, dt.date]:
    """The date of the latest result of each kind up to ``as_of`` (``tps`` in date order)."""
    latest: dict[str, dt.date] = {}

    def seen(kind: str, day: dt.date) -> None:
        if day <= as_of and (kind not in latest or day > latest[kind]):
            latest[kind] = day

    if pcrs:
        seen("pcr", pcrs[-1][0].date)
    for kind, attr in (("cytogenetics", "cytogenetic"), ("blood", "hematologic"),
                       ("phase", "phase")):
        last = next((tp for tp in reversed(tps) if getattr(tp, attr) is not None), None)
        if last is not None:
            seen(kind, last.date)
    for kind, obs in (("mutation", index.mutation), ("cytogenetics", index.cytogenetics)):
        for o in obs:
            seen(kind, o.date)
    for ev in record.events:
        if ev.kind == "progression":
            seen("phase", ev.date)
    return latest


def assess_eln(
    record: PatientRecord,
    timepoints: Sequence[Timepoint],
    *,
    options: AssessOptions,
    as_of: dt.date,
    index: ObservationIndex | None = None,
    risk: Mapping[str, RiskScore] | None = None,
) -> GuidelineResult:
    """Milestones, events, recommendations and standing status under ``options.guideline``.

    ``timepoints`` are the classified results up to ``as_of`` in date order. ``index`` (of
    ``record``) and ``risk`` (its baseline scores) may be passed where the caller has them.
    """
    table = load_guideline_table(options.guideline)
    lists = _table_lists(table, options)
    ed = table.edition.value
    tps = timepoints_up_to(timepoints, as_of)
    # Read by several rules below: the PCR levels and the observations by kind, found once.
    pcrs = pcr_values(tps)
    index = index or ObservationIndex.of(record)
    lines = tki_lines(record, as_of)
    first_start = lines[0].start if lines else None
    mmr_rule = LossRule(table.loss_of_mmr_consecutive, table.loss_of_mmr_one_at_least,
                        f"{ed}.loss_of_mmr")
    events = derive_events(record, tps, first_tki_start=first_start, mmr_loss=mmr_rule,
                           as_of=as_of, pcrs=pcrs, index=index)
    trail: list[str] = []
    if not lines:
        note = f"{as_of}: no TKI therapy recorded; no {ed} milestones apply"
        return GuidelineResult((), events, (), None, (note,))

    line = lines[-1]
    # Dated notes of the trail (the rest is dated as_of): the switches, where they happened.
    dated: list[tuple[dt.date, str]] = [
        (ln.start, f"switch to {ln.drug} (line {i}); {ed} landmarks restart from this date")
        for i, ln in enumerate(lines[1:], start=2)]
    line_tps = [t for t in tps if t.date >= line.start]
    as_of_months = months_between(line.start, as_of)
    milestones: list[Milestone] = []
    # ACA of the diagnosis or a pre-therapy karyotype: the baseline's warning, never new
    at_diagnosis = aca_at_diagnosis(record, first_start)
    baseline = _baseline(table, lists, record, trail, risk, at_diagnosis)
    if baseline is not None:
        milestones.append(baseline)
    landmarks, any_time_from = _judge_landmarks(table, line_tps, line.start, as_of_months)
    milestones += landmarks

    wanted = frozenset(c.fact for r in table.rows for c in r.conditions if c.fact)
    facts = _facts(record, events, tps, pcrs, index, any_time_from, as_of, lines[0].start,
                   wanted, at_diagnosis, line.start)
    judgements = _any_time_judgements(table, lists, facts, pcrs, any_time_from)
    since = last_therapy_change(lines)
    latest = _latest_by_kind(record, tps, pcrs, index, as_of)
    status, decisive = _standing(milestones, judgements, latest, since, options.standing_rule,
                                 options.failure_stands)
    # The most advanced phase reached: AP and BP persist (clinical-rules-2 sections 4-5).
    phase = disease_phase(record, as_of, (t.phase for t in tps))
    progressed = any(e.kind is EventKind.PROGRESSION for e in events)
    if progressed and status is not S.FAILURE and all(
            m.status is S.PENDING for m in landmarks):
        # Progression to AP/BP on therapy is failure at any time (clinical-rules section 14),
        # and the phase persists: until the next drug has a landmark of its own, a
        # chronic-looking count on it, or the diagnosis's baseline warning, does not replace
        # the progression as the standing. Its failure stays; what it called for was answered
        # by the change of therapy (the switch is not asked for again), the transplant
        # evaluation stands.
        found = [j for j in judgements if j.status is S.FAILURE
                 and j.rule == f"{ed}.any_time.failure.progression"]
        if found:
            decisive = max(found, key=lambda j: j.date)
            status = S.FAILURE
            trail.append(f"progression on therapy ({decisive.date}): the phase persists, so the "
                         "standing status stays failure after the change of therapy")
    recs = _recommend(table, status, decisive, lines=lines, since=since, record=record,
                      phase=phase, as_of=as_of, trail=trail, mutation_tests=index.mutation,
                      progressed_on_therapy=progressed)
    # PCR "unavailable": none since the line started and the 3-month window has closed (a PCR
    # simply not yet done at 3 months is due, not unavailable).
    if table.edition is Guideline.ELN2020 and as_of_months > table.landmarks[0].end and not (
        pcrs and pcrs[-1][0].date >= line.start  # pcrs are in date order
    ):
        recs.append(Recommendation(
            Action.MARROW_CYTOGENETICS, "ELN2020.monitoring.no_pcr",
            f"{table.citation} (monitoring; U: clinical-rules section 12)",
            f"no BCR::ABL1 result since {line.drug} started on {line.start}: "
            "cytogenetics when PCR is unavailable"))

    dated += [(as_of, t) for t in trail]
    written = LazyLines(functools.partial(
        _write_trail, tuple(dated), tuple(milestones), tuple(judgements), events, line, as_of,
        f"{as_of}: standing {ed} status: {status}: ", decisive))
    earlier = _earlier_line_failures(table, lines, tps, pcrs)
    return GuidelineResult(tuple(milestones), events, tuple(recs), status, written,
                           _failures([*earlier[0], *milestones], [*earlier[1], *judgements],
                                     lines))


def _judge_landmarks(
    table: GuidelineTable, line_tps: Sequence[Timepoint], start: dt.date, as_of_months: float
) -> tuple[list[Milestone], dt.date | None]:
    """One line's landmarks, and the day after which the any-time levels apply (the result
    used for the last landmark, or its window's end once closed without one)."""
    milestones: list[Milestone] = []
    any_time_from: dt.date | None = None
    for lm in table.landmarks:
        ms, pcr_tp = _judge_landmark(table, lm, line_tps, start, as_of_months)
        milestones.append(ms)
        if lm.month == table.any_time_after:
            if pcr_tp is not None:
                any_time_from = pcr_tp.date
            elif as_of_months > lm.end:
                any_time_from = start + dt.timedelta(days=int(lm.end * DAYS_PER_MONTH))
    return milestones, any_time_from


def _earlier_line_failures(
    table: GuidelineTable,
    lines: Sequence[Line],
    tps: Sequence[Timepoint],
    pcrs: Sequence[PcrValue],
) -> tuple[list[Milestone], list[Judgement]]:
    """The landmark failures and any-time BCR::ABL1 failures of each line before the current
    one (a line ended for intolerance may have failed first): judged as on that line, with the
    results up to the next line's start (a result on that day counts before the change).
    Only for ``GuidelineResult.failures``; ``milestones`` stays the current line's."""
    landmarks: list[Milestone] = []
    bands: list[Judgement] = []
    if len(lines) < 2:
        return landmarks, bands  # the usual single line: nothing before it
    failure_bands = [
        r for r in table.rows_at("any") if r.status is S.FAILURE and not r.is_fact
        and len(r.conditions) == 1 and r.conditions[0].interval is not None
    ]
    for ln, nxt in itertools.pairwise(lines):
        ln_tps = [t for t in tps if ln.start <= t.date <= nxt.start]
        judged, any_time_from = _judge_landmarks(
            table, ln_tps, ln.start, months_between(ln.start, nxt.start)
        )
        landmarks += [
            Milestone(m.month, m.status, m.date, f"{m.basis} (on {ln.drug})", m.rule)
            for m in judged if m.status is S.FAILURE
        ]
        if any_time_from is None:
            continue
        for tp, value in pcrs:
            if any_time_from < tp.date <= nxt.start:
                for row in failure_bands:
                    interval = row.conditions[0].interval
                    if interval is not None and interval.contains(value):
                        bands.append(Judgement(tp.date, "pcr", row.status, row.id,
                                               f"{describe_bcr(value)} on {ln.drug} "
                                               f"({row.wording})"))
    return landmarks, bands


def _failures(
    milestones: Sequence[Milestone], judgements: Sequence[Judgement], lines: Sequence[Line]
) -> tuple[tuple[dt.date, Callable[[], str]], ...]:
    """Every failure in date order, worded on demand (see ``GuidelineResult.failures``)."""
    found: list[tuple[dt.date, Callable[[], str]]] = [
        (m.date or dt.date.min,
         functools.partial(_milestone_failure_text, m)) for m in milestones
        if m.status is S.FAILURE
    ]
    found += [(j.date, functools.partial(_judgement_failure_text, j)) for j in judgements
              if j.status is S.FAILURE]
    for ln in lines[:-1]:
        end = ln.rows[-1].end
        if ln.reason_end in _FAILED_REASONS and end is not None:
            found.append((end, functools.partial(_line_failure_text, ln, end)))
    return tuple(sorted(found, key=lambda f: f[0]))


def _milestone_failure_text(m: Milestone) -> str:
    return f"{m.month}-month failure on {m.date}: {m.basis} [{m.rule}]"


def _judgement_failure_text(j: Judgement) -> str:
    return f"failure on {j.date}: {j.basis} [{j.rule}]"


def _line_failure_text(ln: Line, end: dt.date) -> str:
    return f"{ln.drug} stopped on {end} for {ln.reason_end}"


def _write_trail(
    dated: Sequence[tuple[dt.date, str]],
    milestones: Sequence[Milestone],
    judgements: Sequence[Judgement],
    events: Sequence[ClinicalEvent],
    line: Line,
    as_of: dt.date,
    standing: str,
    decisive: Judgement | None,
) -> list[str]:
    """The trail's lines in date order, then the standing status and what decided it."""
    notes = [*dated, *_trail(milestones, judgements, events, line, as_of)]
    notes.sort(key=lambda d: d[0])
    lines_out = [f"{d}: {t}" for d, t in notes]
    last = f"{decisive.basis} [{decisive.rule}]" if decisive else "no judgement yet"
    lines_out.append(standing + last)
    return lines_out


def _trail(
    milestones: Sequence[Milestone],
    judgements: Sequence[Judgement],
    events: Sequence[ClinicalEvent],
    line: Line,
    as_of: dt.date,
) -> list[tuple[dt.date, str]]:
    out = []
    for m in milestones:
        what = "baseline" if m.month == 0 else f"{m.month}-month landmark ({line.drug})"
        out.append((m.date or as_of, f"{what}: {m.status}: {m.basis} [{m.rule}]"))
    for j in judgements:
        out.append((j.date, f"any time: {j.status}: {j.basis} [{j.rule}]"))
    for e in events:
        out.append((e.date, f"event {e.kind}: {e.basis}"))
    return out
