"""Clinical events derived from a history: losses of response, progression, new findings.

Every event is dated by the result that establishes it (for a confirmed event, the confirming
test). Conventions are those of clinical-rules section 14:

- Loss of CHR, MCyR or CCyR: two consecutive results of that kind that no longer meet the
  response, once it was reached; one suffices once progression to AP/BP is established.
- Loss of MMR: ``consecutive`` PCR results > 0.1% IS after MMR, one of them at least
  ``one_at_least`` where given (ELN 2013: 2 with one >= 1%; ELN 2020: 1; ELN 2006/2009: 2).
- Kantarjian 2003 (seed 004): hematologic resistance (no CHR in the blood count used for the
  3-month landmark or any later one), cytogenetic resistance (no MCyR, Ph+ < 35% M.D. Anderson,
  in the result used for the 12-month landmark or any later one), hematologic relapse (= loss of
  CHR), cytogenetic relapse (Ph+ >= 30 percentage points above the lowest value, on two
  consecutive results).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cmltrack.domain.enums import (
    CytogeneticResponse,
    EventKind,
    HematologicResponse,
    MolecularResponse,
    Phase,
)
from cmltrack.domain.phase import aca_at_diagnosis, norm_aca
from cmltrack.domain.records import ObservationIndex, PatientRecord
from cmltrack.domain.results import ClinicalEvent, Timepoint, timepoints_up_to
from cmltrack.domain.timeline import DAYS_PER_MONTH, months_between

MMR_PCT = 0.1
#: Kantarjian 2003: major cytogenetic response is "Ph+ cells, fewer than 35%" (M.D. Anderson).
MDACC_MCYR_BELOW = 35.0
#: Kantarjian 2003: cytogenetic relapse is a rise of at least 30 (percentage points, section 14).
CYTOGENETIC_RELAPSE_RISE = 30.0
KANTARJIAN = "Kantarjian H, et al. Blood 2003 (doi:10.1182/blood-2002-05-1451), seed 004"
#: Resistance and relapse events are the study's definitions; they are reported whatever the
#: options, while its dose escalation runs only with ``--protocol kantarjian2003``. Their rule
#: ids are ``EVENT.*`` so that an explanation never suggests the protocol ran.
_DEFINED_BY = " (event definition of Kantarjian 2003, seed 004)"

PHASE_RANK = {Phase.CHRONIC: 0, Phase.ACCELERATED: 1, Phase.BLAST: 2}
_DEEP = frozenset(
    {MolecularResponse.MMR, MolecularResponse.MR4, MolecularResponse.MR4_5, MolecularResponse.MR5}
)
_MCYR = frozenset({CytogeneticResponse.CCYR, CytogeneticResponse.PCYR})


def fmt_pct(value: float) -> str:
    """A percentage as a clinician writes it: two decimals unless more digits matter."""
    text = f"{value:.2f}"
    return text if float(text) == value else f"{value:.6g}"


def bcr_value(tp: Timepoint) -> float | None:
    """BCR::ABL1 % IS of a timepoint; an undetected result with adequate sensitivity is 0.

    An undetected result with too few control-gene copies (``inadequate``) supports no level,
    so it counts as no value.
    """
    if tp.bcr_abl1_is is not None:
        return tp.bcr_abl1_is
    if tp.molecular is not None and tp.molecular is not MolecularResponse.INADEQUATE:
        return 0.0
    return None


#: A timepoint holding a BCR::ABL1 value, with that value (:func:`bcr_value`).
PcrValue = tuple[Timepoint, float]


def pcr_values(tps: Sequence[Timepoint]) -> list[PcrValue]:
    """The timepoints that hold a BCR::ABL1 value, with it, in the order given: read once per
    assessment by every rule on PCR levels."""
    out: list[PcrValue] = []
    for tp in tps:
        value = bcr_value(tp)
        if value is not None:
            out.append((tp, value))
    return out


def ph_value(tp: Timepoint) -> float | None:
    """Ph+ % of a timepoint; an inadequate result (< 20 metaphases) counts as no value.

    A result classified CCyR counts as Ph+ 0%: FISH < 1% of >= 200 nuclei shows CCyR (section
    14), even where the FISH % or a small same-day banding count is above 0.
    """
    if tp.cytogenetic is None or tp.cytogenetic is CytogeneticResponse.INADEQUATE:
        return None
    if tp.cytogenetic is CytogeneticResponse.CCYR:
        return 0.0
    return tp.ph_pct


def describe_bcr(value: float) -> str:
    return "BCR::ABL1 undetected" if value == 0 else f"BCR::ABL1 {fmt_pct(value)}% IS"


@dataclass(frozen=True, slots=True)
class LossRule:
    """How loss of MMR is confirmed under the chosen edition."""

    consecutive: int
    one_at_least: float | None
    rule: str


def derive_events(
    record: PatientRecord,
    timepoints: Sequence[Timepoint],
    *,
    first_tki_start: dt.date | None,
    mmr_loss: LossRule,
    as_of: dt.date,
    pcrs: Sequence[PcrValue] | None = None,
    index: ObservationIndex | None = None,
) -> tuple[ClinicalEvent, ...]:
    """All events of the history up to ``as_of``, in date order.

    ``pcrs`` (:func:`pcr_values` of the timepoints up to ``as_of``) and ``index`` (of
    ``record``) may be passed where the caller has them already.
    """
    tps = timepoints_up_to(timepoints, as_of)
    if pcrs is None:
        pcrs = pcr_values(tps)
    events: list[ClinicalEvent] = []
    progression = _progression(record, tps, first_tki_start, as_of)
    events += progression
    prog_dates = [e.date for e in progression]
    events += _losses(tps, prog_dates)
    events += _loss_of_mmr(pcrs, mmr_loss)
    events += _new_findings(record, as_of, index or ObservationIndex.of(record), first_tki_start)
    if first_tki_start is not None:
        events += _kantarjian(tps, first_tki_start)
    order = {k: i for i, k in enumerate(EventKind)}
    events.sort(key=lambda e: (e.date, order[e.kind]))
    return tuple(events)


def presenting_phase(
    record: PatientRecord, tps: Sequence[Timepoint], first_tki_start: dt.date | None
) -> tuple[int, dt.date | None]:
    """Rank of the phase at presentation (diagnosis, or any result before therapy), and the
    date after which a worse phase is progression."""
    dx = record.diagnosis
    rank = PHASE_RANK[Phase(dx.phase)] if dx and dx.phase else 0
    origin = first_tki_start or (dx.date if dx else None)
    for tp in tps:
        if tp.phase is not None and (origin is None or tp.date <= origin):
            rank = max(rank, PHASE_RANK[tp.phase])
    return rank, origin


def _progression(
    record: PatientRecord,
    tps: Sequence[Timepoint],
    first_tki_start: dt.date | None,
    as_of: dt.date,
) -> list[ClinicalEvent]:
    """A phase worse than any before, from the timepoints after therapy began or a report."""
    worst, origin = presenting_phase(record, tps, first_tki_start)
    # (date, phase, reported?): worded only for the few that are progression. Only a phase
    # worse than the presenting one can be (the usual chronic-phase course has none).
    found: list[tuple[dt.date, Phase, bool]] = []
    if origin is not None:
        for tp in tps:
            if tp.phase is not None and tp.date > origin and PHASE_RANK[tp.phase] > worst:
                found.append((tp.date, tp.phase, False))
    for ev in record.events:
        if ev.kind == "progression" and ev.phase and ev.date <= as_of:
            found.append((ev.date, Phase(ev.phase), True))
    found.sort(key=lambda f: f[0])
    out = []
    for day, phase, reported in found:
        if PHASE_RANK[phase] > worst:
            worst = PHASE_RANK[phase]
            basis = (f"reported progression to {phase} phase" if reported
                     else f"{phase} phase by the results of {day}")
            out.append(ClinicalEvent(EventKind.PROGRESSION, day, basis, "PROGRESSION.phase"))
    return out


def _loss_series(
    series: Sequence[tuple[Timepoint, bool]],
    describe: Callable[[Timepoint], str],
    prog_dates: Sequence[dt.date],
    kind: EventKind,
    response: str,
) -> list[ClinicalEvent]:
    """Two consecutive results without the response once it was reached (one with progression).

    ``series``: (result, meets the response); ``describe`` words a result, only for a loss.
    """
    out: list[ClinicalEvent] = []
    reached: Timepoint | None = None
    first_bad: Timepoint | None = None
    for tp, met in series:
        if met:
            reached, first_bad = tp, None
            continue
        if reached is None:
            continue
        day = tp.date
        progressed = any(reached.date < p <= day for p in prog_dates)
        if first_bad is None and not progressed:
            first_bad = tp
            continue
        how = ("with progression" if first_bad is None
               else f"after {describe(first_bad)} on {first_bad.date}")
        seen = describe(reached)
        last = seen if seen != response else ""
        out.append(ClinicalEvent(
            kind, day,
            f"{describe(tp)}, {how}; {response} last on {reached.date}"
            + (f" ({last})" if last else ""),
            f"LOSS.{response}",
        ))
        reached, first_bad = None, None
    return out


def _hem_text(t: Timepoint) -> str:
    if t.hematologic is HematologicResponse.CHR:
        return "CHR"
    return "PHR, not CHR" if t.hematologic is HematologicResponse.PHR else "no hematologic response"


def _cyto_text(t: Timepoint) -> str:
    ph = ph_value(t)
    return f"{t.cytogenetic}" + (f" (Ph+ {ph:g}%)" if ph is not None else "")


def _losses(tps: Sequence[Timepoint], prog_dates: Sequence[dt.date]) -> list[ClinicalEvent]:
    hem = [(t, t.hematologic is HematologicResponse.CHR) for t in tps if t.hematologic is not None]
    # The results with a cytogenetic response (one with a Ph+ value has one).
    cyto = [t for t in tps if t.cytogenetic is not None
            and t.cytogenetic is not CytogeneticResponse.INADEQUATE]
    out = _loss_series(hem, _hem_text, prog_dates, EventKind.LOSS_OF_CHR, "CHR")
    out += [
        ClinicalEvent(EventKind.HEMATOLOGIC_RELAPSE, e.date, e.basis + _DEFINED_BY,
                      "EVENT.hematologic_relapse")
        for e in out
    ]
    out += _loss_series([(t, t.cytogenetic in _MCYR) for t in cyto], _cyto_text,
                        prog_dates, EventKind.LOSS_OF_MCYR, "MCyR")
    out += _loss_series([(t, t.cytogenetic is CytogeneticResponse.CCYR) for t in cyto],
                        _cyto_text, prog_dates, EventKind.LOSS_OF_CCYR, "CCyR")
    return out


def _loss_of_mmr(pcrs: Sequence[PcrValue], rule: LossRule) -> list[ClinicalEvent]:
    out: list[ClinicalEvent] = []
    last_mmr: tuple[dt.date, float] | None = None
    run: list[tuple[dt.date, float]] = []
    for tp, value in pcrs:
        if value <= MMR_PCT:
            last_mmr, run = (tp.date, value), []
            continue
        if last_mmr is None:
            continue
        run.append((tp.date, value))
        window = run[-rule.consecutive:]
        if len(window) < rule.consecutive:
            continue
        if rule.one_at_least is not None and not any(v >= rule.one_at_least for _, v in window):
            continue
        values = " then ".join(f"{fmt_pct(v)}% IS" for _, v in window)
        extra = f", one >= {fmt_pct(rule.one_at_least)}%" if rule.one_at_least is not None else ""
        out.append(ClinicalEvent(
            EventKind.LOSS_OF_MMR, tp.date,
            f"BCR::ABL1 {values} after MMR ({fmt_pct(last_mmr[1])}% on {last_mmr[0]}){extra}",
            rule.rule,
        ))
        last_mmr, run = None, []
    return out


def _new_findings(
    record: PatientRecord, as_of: dt.date, index: ObservationIndex, start: dt.date | None
) -> list[ClinicalEvent]:
    # Mutations and karyotypes are followed apart (their events sort by date and kind later).
    out: list[ClinicalEvent] = []
    seen_mut: set[str] = set()
    # ACA of the diagnosis or a pre-therapy karyotype are the baseline's, not new
    seen_aca = {norm_aca(a) for a in aca_at_diagnosis(record, start)}
    for mut in index.mutation:
        if mut.date > as_of:
            break
        new = [m for m in mut.mutations if m not in seen_mut]
        seen_mut.update(new)
        if new:
            out.append(ClinicalEvent(EventKind.NEW_MUTATION, mut.date,
                                     f"BCR::ABL1 kinase-domain mutation {', '.join(new)}",
                                     "NEW.mutation"))
    for obs in index.cytogenetics:
        if obs.date > as_of:
            break
        new = [a for a in obs.aca if norm_aca(a) not in seen_aca]
        seen_aca.update(norm_aca(a) for a in new)
        if new:
            out.append(ClinicalEvent(EventKind.NEW_ACA, obs.date,
                                     f"new ACA in Ph+ cells: {', '.join(new)}", "NEW.aca"))
    return out


def select_nearest(
    tps: Sequence[Timepoint],
    start: dt.date,
    month: float,
    lo: float,
    hi: float,
    has: Callable[[Timepoint], bool],
) -> Timepoint | None:
    """The timepoint nearest to ``month`` within [lo, hi] months of ``start`` (ties: later).

    ``tps`` are in date order, so the scan stops after the window.
    """
    best: Timepoint | None = None
    best_gap = 0.0
    first_day = start + dt.timedelta(days=int(lo * DAYS_PER_MONTH) - 1)
    for tp in tps:
        if tp.date < first_day:
            continue
        m = months_between(start, tp.date)
        if m > hi:
            break
        if m < lo or not has(tp):
            continue
        gap = abs(m - month)
        if best is None or gap <= best_gap:
            best, best_gap = tp, gap
    return best


def _first_unmet(
    series: Sequence[Timepoint],
    start: dt.date,
    landmark: tuple[float, float, float],
    met: Callable[[Timepoint], bool],
) -> Timepoint | None:
    """The result used for the landmark, or a later one, without a response never reached."""
    month, lo, hi = landmark
    used = select_nearest(series, start, month, lo, hi, lambda t: True)
    reached = False
    for tp in series:
        if met(tp):
            reached = True
            continue
        candidate = tp.date >= used.date if used else months_between(start, tp.date) > hi
        if candidate and not reached:
            return tp
    return None


def _kantarjian(tps: Sequence[Timepoint], start: dt.date) -> list[ClinicalEvent]:
    out: list[ClinicalEvent] = []
    blood = [t for t in tps if t.hematologic is not None and t.date >= start]
    cyto = [t for t in tps if t.cytogenetic is not None and t.date >= start
            and ph_value(t) is not None]
    checks: list[tuple[Sequence[Timepoint], tuple[float, float, float],
                       Callable[[Timepoint], bool], EventKind, Callable[[Timepoint], str], str]] = [
        (blood, (3, 2.0, 4.5), lambda t: t.hematologic is HematologicResponse.CHR,
         EventKind.HEMATOLOGIC_RESISTANCE,
         lambda t: ("no CHR (PHR)" if t.hematologic is HematologicResponse.PHR
                    else "no CHR (no hematologic response)"),
         "EVENT.hematologic_resistance"),
        (cyto, (12, 10.0, 15.0), lambda t: (ph_value(t) or 0.0) < MDACC_MCYR_BELOW,
         EventKind.CYTOGENETIC_RESISTANCE,
         lambda t: f"no MCyR (Ph+ {ph_value(t):g}%, not < 35%)", "EVENT.cytogenetic_resistance"),
    ]
    for series, landmark, met, kind, what, rule in checks:
        tp = _first_unmet(series, start, landmark, met)
        if tp is not None:
            out.append(ClinicalEvent(
                kind, tp.date,
                f"{what(tp)} at {months_between(start, tp.date):.1f} months of therapy"
                + _DEFINED_BY, rule))
    out += _cytogenetic_relapse(cyto)
    return out


def _cytogenetic_relapse(cyto: Sequence[Timepoint]) -> list[ClinicalEvent]:
    out: list[ClinicalEvent] = []
    nadir: float | None = None
    first: tuple[dt.date, float] | None = None
    for tp in cyto:
        ph = ph_value(tp)
        if ph is None:
            continue
        if nadir is not None and ph >= nadir + CYTOGENETIC_RELAPSE_RISE:
            if first is None:
                first = (tp.date, ph)
                continue
            out.append(ClinicalEvent(
                EventKind.CYTOGENETIC_RELAPSE, tp.date,
                f"Ph+ {first[1]:g}% on {first[0]} and {ph:g}% on {tp.date}, "
                f">= 30 points above the lowest value {nadir:g}%" + _DEFINED_BY,
                "EVENT.cytogenetic_relapse"))
            nadir, first = ph, None
            continue
        first = None
        nadir = ph if nadir is None else min(nadir, ph)
    return out
