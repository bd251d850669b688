"""Accelerated and blast phase therapy, and relapse after allogeneic transplant
(clinical-rules-2 sections 5 and 8; rows in ``rules/data/advanced_phase.yaml``).

- AP or BP with no TKI started: ``start_tki`` naming imatinib, dasatinib, nilotinib (AP only) and
  bosutinib at their AP/BP label doses.
- Blast phase (the most advanced phase reached, while no transplant has followed it):
  ``combine_chemotherapy`` with an AML-type regimen for myeloid blasts, ALL-type for lymphoid or
  mixed ones, until a chemotherapy row starts on or after the blast phase; with no lineage
  recorded, ``immunophenotyping``. The transplant evaluation comes from the guideline module.
- After an allogeneic transplant (a ``transplant`` event not marked autologous): relapse is
  molecular (BCR::ABL1 detected on two consecutive PCRs, both > 90 days after the transplant,
  after an undetected one), cytogenetic (any Ph+ metaphase) or hematologic (a count failing
  CHR, or AP/BP). The highest level reached is the event ``post_transplant_relapse``; every
  level calls for donor lymphocyte infusion and a TKI (``start_tki``, when none runs), the
  hematologic level also for a second-transplant evaluation (NCI PDQ seed 001 and section 8).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from cmltrack.domain.enums import TKIS, Action, EventKind, HematologicResponse, Phase
from cmltrack.domain.guidelines.choice import label_dose, next_tki_options
from cmltrack.domain.guidelines.label import RuleRow, RuleTable, load_rule_table
from cmltrack.domain.records import Mutation, PatientRecord, Pcr
from cmltrack.domain.results import ClinicalEvent, Recommendation, Timepoint

_TKI_NAIVE_OPTIONS = ("bosutinib", "dasatinib", "imatinib", "nilotinib")
_LEVELS = ("molecular", "cytogenetic", "hematologic")


@functools.cache
def _table() -> RuleTable:
    return load_rule_table("advanced_phase")


def _chemotherapy() -> frozenset[str]:
    return frozenset(str(d).lower() for d in _table().extra.get("chemotherapy", ()))


@dataclass(frozen=True, slots=True)
class AdvancedResult:
    recommendations: tuple[Recommendation, ...]
    events: tuple[ClinicalEvent, ...]


def _rec(row: RuleRow, action: Action, because: str, **kw: object) -> Recommendation:
    return Recommendation(action, row.id, row.source, because, **kw)  # type: ignore[arg-type]


def _first_day_of(phase: Phase, record: PatientRecord, tps: Sequence[Timepoint]) -> dt.date | None:
    days = [t.date for t in tps if t.phase is phase]
    days += [e.date for e in record.events if e.kind == "progression" and e.phase == str(phase)]
    dx = record.diagnosis
    if dx is not None and dx.phase == str(phase) and dx.date is not None:
        days.append(dx.date)
    return min(days) if days else None


def recommend_advanced(
    record: PatientRecord,
    timepoints: Sequence[Timepoint],
    *,
    as_of: dt.date,
    phase: Phase | None,
    lineage: str | None,
) -> AdvancedResult:
    """Section 5 and 8 recommendations and the post-transplant relapse event at ``as_of``."""
    t = _table()
    recs: list[Recommendation] = []
    tkis = [r for r in record.therapy if r.drug in TKIS and r.start <= as_of]
    transplants = sorted(e.date for e in record.events
                         if e.kind == "transplant" and e.date <= as_of
                         and (e.detail or "").lower() != "autologous")
    if phase in (Phase.ACCELERATED, Phase.BLAST) and not tkis and not transplants:
        row = t.row("ADVANCED.tki_naive")
        doses: dict[str, float] = {}
        for drug in _TKI_NAIVE_OPTIONS:
            found = label_dose(drug, phase, later_line=False)
            if found is not None:
                doses[drug] = found[0]
        opts = tuple(sorted(doses))
        recs.append(_rec(
            row, Action.START_TKI,
            f"{phase} phase and no TKI started: " + ", ".join(
                f"{d} {doses[d]:g} mg/day" for d in opts),
            drug="|".join(opts), options=opts, avoid=(), start_dose_mg_per_day=doses))
    if phase is Phase.BLAST:
        since = _first_day_of(Phase.BLAST, record, timepoints)
        after_hsct = since is not None and any(d >= since for d in transplants)
        chemo = _chemotherapy()
        treated = since is not None and any(
            r.drug.lower() in chemo and r.start >= since and r.start <= as_of
            for r in record.therapy)
        if since is not None and not after_hsct and not treated:
            if lineage is None:
                row = t.row("ADVANCED.blast_phase.lineage_unknown")
                recs.append(_rec(row, Action.IMMUNOPHENOTYPING,
                                 f"blast phase since {since} and no blast lineage recorded"))
            else:
                rid = ("ADVANCED.blast_phase.myeloid" if lineage == "myeloid"
                       else "ADVANCED.blast_phase.lymphoid")
                row = t.row(rid)
                regimen = "AML-type" if lineage == "myeloid" else "ALL-type"
                cns = " with CNS prophylaxis" if regimen == "ALL-type" else ""
                recs.append(_rec(row, Action.COMBINE_CHEMOTHERAPY,
                                 f"blast phase since {since}, {lineage} blasts: {regimen} "
                                 f"chemotherapy{cns} with the TKI", regimen=regimen))
    recs += _t315i_without_response(record, timepoints, as_of=as_of, transplants=transplants)
    events: list[ClinicalEvent] = []
    if transplants:
        relapse = _post_transplant_relapse(record, timepoints, transplants[-1], as_of)
        if relapse is not None:
            events.append(relapse)
            recs += _relapse_actions(record, relapse, as_of=as_of, phase=phase)
    return AdvancedResult(tuple(recs), tuple(events))


def _t315i_without_response(
    record: PatientRecord, tps: Sequence[Timepoint], *, as_of: dt.date,
    transplants: Sequence[dt.date],
) -> list[Recommendation]:
    """``HSCT.t315i_no_response``: T315I found on or before ``as_of``, ponatinib or asciminib the
    running TKI for >= 91 days (3 months), and the latest blood count dated from day 91 on that
    drug not CHR, or the latest karyotype (banding or FISH) from day 91 with Ph+ > 35%. Not
    after a transplant that followed the drug's start."""
    row = _table().row("HSCT.t315i_no_response")
    c = row.condition
    mutation = str(c["mutation"])
    if not any(isinstance(o, Mutation) and o.date <= as_of and mutation in o.mutations
               for o in record.observations):
        return []
    running = [r for r in record.therapy if r.drug in TKIS and r.start <= as_of
               and (r.end is None or r.end > as_of)]
    if not running:
        return []
    line = max(running, key=lambda r: r.start)
    if line.drug not in c["drugs"]:
        return []
    start = min(r.start for r in record.therapy if r.drug == line.drug and r.start <= line.start)
    if any(d >= start for d in transplants):
        return []
    from_day = start + dt.timedelta(days=int(c["after_days_ge"]))
    late = [t for t in tps if from_day <= t.date <= as_of]
    blood = [t for t in late if t.hematologic is not None]
    cyto = [t for t in late if t.ph_pct is not None]
    why: list[str] = []
    if blood and blood[-1].hematologic is not HematologicResponse.CHR:
        why.append(f"no CHR on {blood[-1].date} ({blood[-1].hematologic})")
    limit = float(c["mcyr_ph_pct_le"])
    if cyto and cyto[-1].ph_pct is not None and cyto[-1].ph_pct > limit:
        why.append(f"no MCyR on {cyto[-1].date} (Ph+ {cyto[-1].ph_pct:g}% > {limit:g}%)")
    if not why:
        return []
    return [_rec(row, Action.HSCT_EVALUATION,
                 f"{mutation} and, after 3 months of {line.drug} (from {start}), "
                 + " and ".join(why))]


def _post_transplant_relapse(
    record: PatientRecord, tps: Sequence[Timepoint], hsct: dt.date, as_of: dt.date
) -> ClinicalEvent | None:
    t = _table()
    found: dict[str, tuple[dt.date, str]] = {}
    pcrs = sorted((o for o in record.observations
                   if isinstance(o, Pcr) and hsct < o.date <= as_of), key=lambda o: o.date)
    undetected_seen = False
    previous: Pcr | None = None
    for p in pcrs:
        late = (p.date - hsct).days > 90
        if (p.is_detected and late and previous is not None and previous.is_detected
                and (previous.date - hsct).days > 90 and undetected_seen
                and "molecular" not in found):
            found["molecular"] = (p.date, f"BCR::ABL1 detected on {previous.date} and {p.date}, "
                                          f"both > 90 days after the transplant of {hsct}, after "
                                          "an undetected result")
        if not p.is_detected:
            undetected_seen = True
        previous = p
    for tp in tps:
        if not hsct < tp.date <= as_of:
            continue
        if tp.ph_pct is not None and tp.ph_pct > 0 and "cytogenetic" not in found:
            found["cytogenetic"] = (tp.date, f"Ph+ {tp.ph_pct:g}% on {tp.date} after the "
                                             f"transplant of {hsct}")
        hem_fail = tp.hematologic is not None and tp.hematologic is not HematologicResponse.CHR
        advanced = tp.phase in (Phase.ACCELERATED, Phase.BLAST)
        if (hem_fail or advanced) and "hematologic" not in found:
            what = f"{tp.phase} phase" if advanced else f"no CHR ({tp.hematologic})"
            found["hematologic"] = (tp.date, f"{what} on {tp.date} after the transplant of "
                                             f"{hsct}")
    if not found:
        return None
    level = max(found, key=_LEVELS.index)
    day, basis = found[level]
    row = t.row(f"HSCT.post_transplant.{level}")
    return ClinicalEvent(EventKind.POST_TRANSPLANT_RELAPSE, day, f"{level} relapse: {basis}",
                         row.id, level=level)


def _relapse_actions(
    record: PatientRecord, relapse: ClinicalEvent, *, as_of: dt.date, phase: Phase | None
) -> list[Recommendation]:
    t = _table()
    why = relapse.basis
    out = [_rec(t.row("PDQ.relapse_after_hsct.dli"), Action.DONOR_LYMPHOCYTE_INFUSION, why)]
    running = [r for r in record.therapy if r.drug in TKIS and r.start <= as_of
               and (r.end is None or r.end > as_of)]
    if not running:
        lines: list[tuple[str, str | None]] = []
        for r in sorted((r for r in record.therapy if r.drug in TKIS and r.start <= as_of),
                        key=lambda r: r.start):
            if lines and lines[-1][0] == r.drug:
                lines[-1] = (r.drug, r.reason_end)
            else:
                lines.append((r.drug, r.reason_end))
        muts = {m for o in record.observations if isinstance(o, Mutation) and o.date <= as_of
                for m in o.mutations}
        # A TKI that failed is not offered again; one stopped for the transplant did not fail.
        choice = next_tki_options(tried=lines, current_failing=False,
                                  phase=phase or Phase.CHRONIC, mutations=muts)
        doses = dict(choice.start_doses)
        if "imatinib" not in {d for d, _ in lines}:
            # PDQ: imatinib, in imatinib-naive patients
            found = label_dose("imatinib", phase or Phase.CHRONIC, later_line=False)
            if found is not None:
                doses["imatinib"] = found[0]
        opts = tuple(sorted(doses))
        if opts:
            row = t.row("PDQ.relapse_after_hsct.tki")
            out.append(_rec(row, Action.START_TKI, f"{why}; {choice.describe()}",
                            drug="|".join(opts), options=opts, avoid=choice.avoid,
                            start_dose_mg_per_day=doses))
    if relapse.level == "hematologic":
        out.append(_rec(t.row("PDQ.relapse_after_hsct.second_transplant"),
                        Action.HSCT_EVALUATION, why))
    return out
