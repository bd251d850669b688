"""The patient-level assessment: a record in, every judgement of the contract out.

``assess(record, options=..., as_of=...)`` restricts the record to what was known on ``as_of``,
classifies each dated result (responses, phase, toxicity), computes baseline risk, judges the
chosen guideline's milestones and events, and gathers the recommendations of the guideline, the
imatinib label, treatment-free remission and (optionally) the Kantarjian 2003 protocol.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from cmltrack.domain.aml.assess import AmlAssessment, aml_timepoints, assess_aml
from cmltrack.domain.aml.protocols import ProtocolResult, assess_actim, assess_clag_im
from cmltrack.domain.aml.response import therapy_start as aml_therapy_start
from cmltrack.domain.enums import (
    CYTOGENETIC_DEPTH,
    HEMATOLOGIC_DEPTH,
    MOLECULAR_DEPTH,
    TKIS,
    Action,
    EventKind,
    FollowUpStatus,
    MilestoneStatus,
    Phase,
    PhaseCriteria,
)
from cmltrack.domain.followup import close_milestones, echoed_events, follow_up
from cmltrack.domain.guidelines import assess_eln
from cmltrack.domain.guidelines.advanced import recommend_advanced
from cmltrack.domain.guidelines.choice import label_dose
from cmltrack.domain.guidelines.interactions import recommend_interactions
from cmltrack.domain.guidelines.label import disease_phase, recommend_label_dose
from cmltrack.domain.guidelines.ponatinib import recommend_ponatinib
from cmltrack.domain.guidelines.protocol import recommend_kantarjian2003
from cmltrack.domain.guidelines.tfr import assess_tfr
from cmltrack.domain.guidelines.tki_label import recommend_tki_label
from cmltrack.domain.monitoring import mutation_test_due, next_due, nothing_due
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.phase import (
    aca_at_diagnosis,
    blast_lineage,
    classify_phase,
    norm_aca,
    phase_of_day,
    who2016_persistent,
)
from cmltrack.domain.records import (
    TYPICAL_TRANSCRIPTS,
    Diagnosis,
    ObservationIndex,
    PatientRecord,
    TherapyLine,
)
from cmltrack.domain.response import (
    classify_cytogenetic,
    classify_hematologic,
    classify_molecular,
    hematologic_response,
    molecular_response,
)
from cmltrack.domain.results import (
    Classified,
    ClinicalEvent,
    Current,
    LazyEvidence,
    LazyLines,
    Milestone,
    NextDue,
    Recommendation,
    RiskScore,
    Timepoint,
)
from cmltrack.domain.risk import assess_risk
from cmltrack.domain.timeline import first_tki_start, months_since_each
from cmltrack.domain.toxicity import ToxicityGrader, derive_toxicity_baseline

SCHEMA = "cmltrack.assessment/1"
_CHANGES_THERAPY = frozenset(
    {Action.HOLD, Action.REDUCE_DOSE, Action.ESCALATE_DOSE, Action.SWITCH_TKI, Action.RESUME,
     Action.RESTART_TKI, Action.DISCONTINUE}
)
_TIMEPOINT_KINDS = ("blood", "marrow", "cytogenetics", "fish", "pcr", "chemistry")
_KIND_SLOT = {kind: i for i, kind in enumerate(_TIMEPOINT_KINDS)}


@dataclass(frozen=True, slots=True)
class Assessment:
    """One patient's assessment (contract ``cmltrack.assessment/1``)."""

    patient_id: str
    as_of: dt.date
    guideline: str
    therapy_start: dt.date | None
    risk: dict[str, RiskScore]
    timepoints: tuple[Timepoint, ...]
    milestones: tuple[Milestone, ...]
    events: tuple[ClinicalEvent, ...]
    recommendations: tuple[Recommendation, ...]
    current: Current
    #: When each test is next due (clinical-rules-2 section 9).
    next_due: NextDue = field(default_factory=lambda: nothing_due(""))
    #: The date of every failure judged, on any line (the demo's time-to-action reads them).
    failure_dates: tuple[dt.date, ...] = ()
    #: ``explain``'s lines, written when first read (see ``LazyLines``).
    trail: Sequence[str] = field(default=())
    #: An AML record's risk, responses and events (aml spec); None for CML.
    aml: AmlAssessment | None = None
    #: ``--protocol clag-im|actim``: eligibility and endpoints (aml spec section 5).
    protocol: ProtocolResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object."""
        if self.aml is not None:
            return self._aml_dict(self.aml)
        out = self._cml_dict()
        if self.protocol is not None:
            out["protocol"] = self.protocol.to_dict()
        return out

    def _aml_dict(self, aml: AmlAssessment) -> dict[str, Any]:
        # The CML risk, milestones and CML-specific timepoint fields are null (aml spec 3).
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "patient_id": self.patient_id,
            "as_of": self.as_of.isoformat(),
            "guideline": None,
            "disease": "AML",
            "aml_criteria": aml.criteria,
            "therapy_start": self.therapy_start.isoformat() if self.therapy_start else None,
            "risk": None,
            **aml.risk_dict(),
            "timepoints": [aml.timepoint_dict(t) for t in self.timepoints],
            "milestones": None,
            "events": [e.to_dict() for e in aml.course.events],
            "recommendations": [r.to_dict() for r in self.recommendations],
            "current": {**self.current.to_dict(), "aml_response": aml.latest_response,
                        "best_aml_response": aml.best_response},
        }
        if self.protocol is not None:
            out["protocol"] = self.protocol.to_dict()
        return out

    def _cml_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "patient_id": self.patient_id,
            "as_of": self.as_of.isoformat(),
            "guideline": self.guideline,
            "therapy_start": self.therapy_start.isoformat() if self.therapy_start else None,
            "risk": {k: v.to_dict() for k, v in self.risk.items()},
            "timepoints": [t.to_dict() for t in self.timepoints],
            "milestones": [m.to_dict() for m in self.milestones],
            "events": [e.to_dict() for e in self.events],
            "recommendations": [r.to_dict() for r in self.recommendations],
            "current": self.current.to_dict(),
            "next_due": self.next_due.to_dict(),
        }


def latest_date(record: PatientRecord) -> dt.date | None:
    """The latest date the record mentions: the default ``as_of``."""
    dates: list[dt.date] = [o.date for o in record.observations]
    dates += [e.date for e in record.events]
    for t in record.therapy:
        dates.append(t.start)
        if t.end is not None:
            dates.append(t.end)
    if record.diagnosis is not None and record.diagnosis.date is not None:
        dates.append(record.diagnosis.date)
    return max(dates) if dates else None


def restrict_record(record: PatientRecord, as_of: dt.date) -> PatientRecord:
    """The record as known on ``as_of``: nothing later is used."""
    therapy: list[TherapyLine] = []
    for t in record.therapy:
        if t.start > as_of:
            continue
        if t.end is not None and t.end > as_of:
            t = t.model_copy(update={"end": None, "reason_end": None})
        therapy.append(t)
    return record.model_copy(
        update={
            "therapy": tuple(therapy),
            "observations": tuple(o for o in record.observations if o.date <= as_of),
            "events": tuple(e for e in record.events if e.date <= as_of),
        }
    )


def build_timepoints(record: PatientRecord, options: AssessOptions) -> tuple[Timepoint, ...]:
    """Classify every date holding a blood, marrow, cytogenetic, FISH, PCR or chemistry result.

    Only the categories are worked out here; each timepoint's ``evidence`` (the same
    classifiers' rule and basis) is made when first read (``LazyEvidence``).
    """
    start = first_tki_start(record)
    # One slot per kind and day (positions of _TIMEPOINT_KINDS); two results of one kind on
    # one day: the later row in the record wins.
    by_date: dict[dt.date, list[Any]] = {}
    slot_of = _KIND_SLOT
    for obs in record.observations:
        slot = slot_of.get(obs.kind)
        if slot is not None:
            day_obs = by_date.get(obs.date)
            if day_obs is None:
                day_obs = by_date[obs.date] = [None] * 6
            day_obs[slot] = obs
    dx = record.diagnosis
    grade = ToxicityGrader(
        baseline=derive_toxicity_baseline(record),
        limits=options.limits,
        sex=record.sex,
        version=options.ctcae_version,
    )
    chr_definition = options.chr_definition
    thrombocytosis_basis = options.thrombocytosis_basis
    scheme = options.cytogenetic_scheme
    criteria = options.phase_criteria
    known_aca = frozenset(map(norm_aca, aca_at_diagnosis(record, start)))
    treated = min((t.start for t in record.therapy), default=None)
    # An atypical transcript's BCR::ABL1 is not on the International Scale: no MR level.
    atypical = _atypical_transcript(record)
    days = sorted(by_date)
    # WHO 2016 criteria that must persist or appear on therapy, by the day that confirms them
    # (a mutation analysis's date is carried to the next day with a phase-bearing result).
    series: dict[dt.date, tuple[str, ...]] = {}
    if criteria == PhaseCriteria.WHO2016:
        pending: list[tuple[dt.date, tuple[str, ...]]] = sorted(
            who2016_persistent(record, start).items())
        for day in days:
            blood, marrow, cyto = by_date[day][0], by_date[day][1], by_date[day][2]
            if blood is None and marrow is None and cyto is None:
                continue
            due = [f for d, found in pending if d <= day for f in found]
            if due:
                series[day] = tuple(due)
                pending = [(d, found) for d, found in pending if d > day]
    evidence = partial(_day_evidence, dx, options, known_aca, atypical=atypical, series=series)
    out: list[Timepoint] = []
    for day, months in zip(days, months_since_each(start, days), strict=True):
        day_obs = by_date[day]
        blood, marrow, cyto, fish, pcr, chem = day_obs
        # "On therapy" for the phase criteria means once any therapy row has started (a TKI,
        # or hydroxyurea before it: "platelets < 100 unrelated to therapy" cannot be judged
        # on either); a cytopenia during a hold, or after a stop, is still related to therapy.
        on_therapy = treated is not None and treated <= day
        # The value-only classifiers, positional: ~100 timepoints a patient make this hot.
        hem = (
            None if blood is None
            else hematologic_response(blood, dx, chr_definition, thrombocytosis_basis)
        )
        cyt = None
        ph_pct: float | None = None
        fish_based = False
        if cyto is not None or fish is not None:
            cyt = classify_cytogenetic(cyto, fish, scheme=scheme).value
            if cyto is not None:
                ph_pct = cyto.ph_percent
            elif fish is not None:
                ph_pct = fish.positive_percent
                fish_based = True
        mol = None
        bcr: float | None = None
        if pcr is not None and atypical is None:
            mol = molecular_response(pcr)
            bcr = pcr.bcr_abl1_is if pcr.is_detected else None
        phase = None
        if blood is not None or marrow is not None or cyto is not None:
            phase = phase_of_day(blood, marrow, cyto, criteria, on_therapy, known_aca,
                                 series.get(day, ()))
        if blood is not None:
            tox = grade(blood)
            if chem is not None:
                tox.update(grade(chem))
        else:
            tox = grade(chem) if chem is not None else {}
        # Positional, in the field order of Timepoint (keywords cost a third more per call):
        # date, months, hematologic, cytogenetic, molecular, phase, toxicity, bcr_abl1_is,
        # ph_pct, fish_based, evidence.
        out.append(Timepoint(
            day,
            months, hem, cyt, mol, phase, tox, bcr, ph_pct, fish_based,
            LazyEvidence(evidence, day_obs, on_therapy),
        ))
    return tuple(out)


def _day_evidence(
    dx: Diagnosis | None,
    options: AssessOptions,
    known_aca: frozenset[str],
    day_obs: Sequence[Any],
    on_therapy: bool,
    *,
    atypical: str | None = None,
    series: Mapping[dt.date, tuple[str, ...]] | None = None,
) -> tuple[Classified[Any], ...]:
    """The classifications of one day's results, with rule and basis, in the order hematologic,
    cytogenetic, molecular, phase (``Timepoint.evidence``)."""
    blood, marrow, cyto, fish, pcr, _ = day_obs
    out: list[Classified[Any]] = []
    if blood is not None:
        out.append(classify_hematologic(
            blood,
            baseline=dx,
            definition=options.chr_definition,
            thrombocytosis_basis=options.thrombocytosis_basis,
        ))
    if cyto is not None or fish is not None:
        out.append(classify_cytogenetic(cyto, fish, scheme=options.cytogenetic_scheme))
    if pcr is not None and atypical is not None:
        value = f"{pcr.bcr_abl1_is:g}%" if pcr.is_detected else "undetected"
        out.append(Classified(
            None, ATYPICAL_RULE,
            f"BCR::ABL1 {value} with transcript {atypical}: not on the International Scale, "
            "so no molecular response level (MR1, MR2, MMR, MR4...) is assigned",
        ))
    elif pcr is not None:
        out.append(classify_molecular(pcr))
    if blood is not None or marrow is not None or cyto is not None:
        day = next(o.date for o in (blood, marrow, cyto) if o is not None)
        out.append(classify_phase(
            blood=blood,
            marrow=marrow,
            cyto=cyto,
            criteria=options.phase_criteria,
            on_therapy=on_therapy,
            known_aca=known_aca,
            persistent=(series or {}).get(day, ()),
        ))
    return tuple(out)


def _best(values: Iterable[Any], order: Sequence[Any]) -> Any:
    rank = _RANKS.get(id(order))
    if rank is None:
        rank = _RANKS[id(order)] = {v: i for i, v in enumerate(order)}
    best, best_rank = None, len(order)
    for v in set(values):  # the few distinct categories; each has its own rank
        r = rank.get(v)  # `inadequate` and None are no depth
        if r is not None and r < best_rank:
            best, best_rank = v, r
    return best


_RANKS: dict[int, dict[Any, int]] = {}
_PHASE = operator.attrgetter("phase")
_HEMATOLOGIC = operator.attrgetter("hematologic")
_CYTOGENETIC = operator.attrgetter("cytogenetic")
_MOLECULAR = operator.attrgetter("molecular")


def derive_toxicity_events(timepoints: Sequence[Timepoint]) -> tuple[ClinicalEvent, ...]:
    """A grade 3-4 toxicity, dated by the first result of each episode (onset)."""
    events: list[ClinicalEvent] = []
    previous: dict[str, int] = {}
    high = 0  # terms whose previous grade is 3 or more
    for tp in timepoints:
        tox = tp.toxicity
        if not high and (not tox or max(tox.values()) < 3):
            continue  # no onset that day, and every previous grade stays below 3
        for term, grade in tox.items():
            if grade >= 3 and previous.get(term, 0) < 3:
                events.append(
                    ClinicalEvent(
                        kind=EventKind.TOXICITY,
                        date=tp.date,
                        basis=f"CTCAE grade {grade} {term}",
                        rule="CTCAE.grade3plus",
                    )
                )
            high += (grade >= 3) - (previous.get(term, 0) >= 3)
            previous[term] = grade
    return tuple(events)


def _current_therapy(record: PatientRecord, as_of: dt.date) -> TherapyLine | None:
    active = [t for t in record.therapy if t.start <= as_of and (t.end is None or as_of < t.end)]
    if not active:
        return None
    tkis = [t for t in active if t.drug in TKIS]
    return max(tkis or active, key=lambda t: t.start)


def assess(
    record: PatientRecord,
    *,
    options: AssessOptions | None = None,
    as_of: dt.date | None = None,
) -> Assessment:
    """Assess one patient as of ``as_of`` (default: the latest date in the record)."""
    options = options or AssessOptions()
    if as_of is None:
        as_of = latest_date(record) or (
            record.diagnosis.date if record.diagnosis and record.diagnosis.date else dt.date.min
        )
    rec = restrict_record(record, as_of)
    if rec.diagnosis is not None and rec.diagnosis.is_aml:
        return _assess_aml_record(rec, options, as_of)
    timepoints = build_timepoints(rec, options)
    risk = assess_risk(rec)
    atypical = _atypical_transcript(rec)
    # BCR::ABL1 of an atypical transcript is not on the International Scale: the timepoints
    # carry no MR level nor IS value, so the IS-based milestones do not apply and response is
    # followed by cytogenetics.
    eln_timepoints = timepoints
    index = ObservationIndex.of(rec)  # observations by kind, for the rules that read them
    state = follow_up(rec, as_of)
    # After a death or a loss to follow-up the guideline is judged on that day: a landmark
    # whose window was still open then can no longer be reached.
    judged_on = as_of if state.date is None else min(as_of, state.date)
    eln = assess_eln(rec, eln_timepoints, options=options, as_of=judged_on, index=index,
                     risk=risk)
    events = list(eln.events) + list(derive_toxicity_events(timepoints))
    events += echoed_events(rec, as_of)
    events.sort(key=lambda e: e.date)

    recs: list[Recommendation] = list(eln.recommendations)
    if atypical is not None:
        recs = [r for r in recs if r.rule != "ELN2020.monitoring.no_pcr"]
        recs.append(
            Recommendation(
                Action.MARROW_CYTOGENETICS,
                ATYPICAL_RULE,
                ATYPICAL_SOURCE,
                f"transcript {atypical} is atypical: BCR::ABL1 cannot be read on the "
                "International Scale, so response is monitored by marrow cytogenetics",
            )
        )
    if options.protocol == "kantarjian2003":
        recs += recommend_kantarjian2003(rec, timepoints, eln.events, as_of=as_of)
    # The dose rules treat the most advanced phase the record shows (as the protocol and TFR
    # do): an accelerated day on therapy is not undone by a later chronic-looking count.
    dose_phase = disease_phase(rec, as_of, map(_PHASE, timepoints))
    recs += recommend_label_dose(rec, as_of=as_of, phase=dose_phase, limits=options.limits,
                                 index=index)
    recs += recommend_tki_label(rec, as_of=as_of, phase=dose_phase, limits=options.limits,
                                index=index)
    tfr = assess_tfr(rec, timepoints, as_of=as_of, prior_failure=eln.failures)
    recs += tfr.recommendations
    lineage = blast_lineage(rec)
    advanced = recommend_advanced(rec, timepoints, as_of=as_of, phase=dose_phase,
                                  lineage=lineage)
    recs += advanced.recommendations
    events += advanced.events
    events.sort(key=lambda e: e.date)
    line = _current_therapy(rec, as_of)
    label = _label_dose(rec, line, dose_phase, index, as_of)
    if line is not None and line.drug in TKIS:
        comed = recommend_interactions(rec, as_of=as_of, line=line, label_dose=label)
        recs += comed.recommendations
        if comed.adjusted_dose is not None:
            label = comed.adjusted_dose
    recs += recommend_ponatinib(rec, timepoints, as_of=as_of, line=line, phase=dose_phase)
    mutation_test = mutation_test_due(rec, as_of=as_of, status=eln.status, recommendations=recs,
                                      on_is=atypical is None)
    if mutation_test is not None:
        recs.append(mutation_test)
    recs = _dedupe(recs)
    if any(r.action in _CHANGES_THERAPY for r in recs):
        # "continue" (the guideline's optimal) cannot stand beside a hold, a dose change or a
        # switch that another rule calls for on the same day.
        recs = [r for r in recs if r.action != Action.CONTINUE]
    notes: list[str] = []
    if atypical is not None:
        notes.append(
            f"transcript {atypical}: BCR::ABL1 values are not on the IS; the guideline's "
            f"BCR::ABL1 milestones are not judged on them [{ATYPICAL_RULE}]"
        )
    milestones = eln.milestones
    status: MilestoneStatus | FollowUpStatus | None = eln.status
    if state.status is None:
        due = next_due(rec, as_of=as_of, phase=dose_phase, recommendations=recs,
                       on_is=atypical is None)
    else:
        milestones = close_milestones(milestones, state)
        status = state.status
        due = nothing_due(state.reason)
        if state.status is FollowUpStatus.DECEASED:
            # Nothing is due for a patient who has died; the judgements above still stand.
            recs = []
            cause = f" (cause: {state.cause})" if state.cause else ""
            notes.append(
                f"{state.date}: the patient died{cause}. Status: deceased; milestones not "
                "reached by then are not evaluable; no actions are recommended and no tests "
                f"are due [{state.rule}]"
            )
        else:
            notes.append(
                f"{state.date}: the patient was lost to follow-up and no result has been "
                "recorded since. Status: lost to follow-up; milestones not reached by then are "
                f"not evaluable; the monitoring schedule stops [{state.rule}]"
            )

    current = Current(
        status=status,
        # AP and BP persist: the most advanced phase reached (clinical-rules-2 sections 5, 7).
        phase=dose_phase,
        drug=line.drug if line else None,
        dose_mg_per_day=line.dose_mg_per_day if line else None,
        best_hematologic=_best(map(_HEMATOLOGIC, timepoints), HEMATOLOGIC_DEPTH),
        best_cytogenetic=_best(map(_CYTOGENETIC, timepoints), CYTOGENETIC_DEPTH),
        best_molecular=_best(map(_MOLECULAR, timepoints), MOLECULAR_DEPTH),
        label_dose_mg_per_day=label,
        blast_lineage=lineage,
    )
    protocol = None
    if options.protocol == "actim":
        protocol = assess_actim(rec, ((t.date, t.phase) for t in timepoints), as_of)
    elif options.protocol == "clag-im":
        protocol = assess_clag_im(rec, assess_aml(rec, options.aml_criteria).course, as_of)
    return Assessment(
        patient_id=rec.id,
        as_of=as_of,
        guideline=str(options.guideline),
        therapy_start=first_tki_start(rec),
        risk=risk,
        timepoints=timepoints,
        milestones=milestones,
        events=tuple(events),
        recommendations=tuple(recs),
        current=current,
        next_due=due,
        failure_dates=tuple(d for d, _ in eln.failures),
        trail=LazyLines.join(eln.trail, tfr.basis, notes),
        protocol=protocol,
    )


def _assess_aml_record(rec: PatientRecord, options: AssessOptions,
                       as_of: dt.date) -> Assessment:
    """An AML record: ELN genetic risk, response per marrow, MRD, AML events (aml spec)."""
    aml = assess_aml(rec, options.aml_criteria)
    start = aml_therapy_start(rec)
    protocol = None
    if options.protocol == "clag-im":
        protocol = assess_clag_im(rec, aml.course, as_of)
    elif options.protocol == "actim":
        protocol = assess_actim(rec, (), as_of)
    line = _current_therapy(rec, as_of)
    current = Current(status=None, phase=None, drug=line.drug if line else None,
                      dose_mg_per_day=line.dose_mg_per_day if line else None,
                      best_hematologic=None, best_cytogenetic=None, best_molecular=None)
    trail = [f"{d.date}: {d.response or 'not evaluable'} [{d.rule or '-'}]: {d.basis}"
             for d in aml.course.days]
    trail += [f"{e.date}: event {e.kind} [{e.rule}]: {e.basis}" for e in aml.course.events]
    risk = aml.eln2022_risk
    trail.insert(0, f"ELN 2022 genetic risk: {risk.group or 'not evaluable'} "
                    f"[{risk.rule or '-'}]: {risk.basis}")
    if protocol is not None:
        trail += [f"protocol {protocol.id} [{c.id}]: "
                  f"{'met' if c.met else 'not met' if c.met is False else 'not evaluable'}: "
                  f"{c.basis}" for c in protocol.criteria]
    death = next((e for e in rec.events if e.kind == "death"), None)
    if death is not None:
        trail.append(f"{death.date}: the patient died.")
    return Assessment(
        patient_id=rec.id,
        as_of=as_of,
        guideline=f"{options.aml_criteria} (AML)",
        therapy_start=start,
        risk={},
        timepoints=aml_timepoints(rec, start),
        milestones=(),
        events=(),
        recommendations=(),
        current=current,
        trail=tuple(trail),
        aml=aml,
        protocol=protocol,
    )


def _label_dose(
    record: PatientRecord,
    line: TherapyLine | None,
    phase: Phase | None,
    index: ObservationIndex,
    as_of: dt.date,
) -> float | None:
    """The label dose of the running TKI for the phase and line (clinical-rules-2 section 1;
    T315I found on or before ``as_of``): None for a drug or phase outside the table."""
    if line is None or line.drug not in TKIS:
        return None
    later = any(t.drug in TKIS and t.drug != line.drug and t.start < line.start
                for t in record.therapy)
    t315i = any("T315I" in o.mutations for o in index.mutation if o.date <= as_of)
    found = label_dose(line.drug, phase, later_line=later, t315i=t315i)
    return None if found is None else found[0]


ATYPICAL_RULE = "ELN2020.monitoring.atypical_transcript"
ATYPICAL_SOURCE = (
    "Hochhaus A, et al. Leukemia 2020;34(4):966-984 (monitoring of atypical transcripts by "
    "cytogenetics; clinical-rules section 12, unverified)"
)


def _atypical_transcript(record: PatientRecord) -> str | None:
    """The transcript when it is known and atypical (not e13a2/e14a2), else None."""
    dx = record.diagnosis
    if dx is None or dx.transcript in (None, "unknown") or dx.transcript in TYPICAL_TRANSCRIPTS:
        return None
    return dx.transcript


def _dedupe(recs: Sequence[Recommendation]) -> list[Recommendation]:
    seen: set[tuple[str, str, str | None]] = set()
    out: list[Recommendation] = []
    for r in recs:
        key = (str(r.action), r.rule, r.drug)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
