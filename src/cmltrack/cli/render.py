"""Plain-text renderings of an assessment for the terminal."""

from __future__ import annotations

from collections.abc import Mapping

from cmltrack import DISCLAIMER
from cmltrack.display import clinical_text, display_name, format_dose, source_text, unverified
from cmltrack.domain.assess import Assessment
from cmltrack.domain.enums import FollowUpStatus


def _fmt(v: object) -> str:
    return "-" if v is None else str(v)


def _num(v: float | None, digits: int = 4) -> str:
    return "-" if v is None else f"{v:.{digits}f}".rstrip("0").rstrip(".")


def render_aml(a: Assessment) -> str:
    """A readable table for one AML patient: genetic risk, response per marrow, events."""
    aml = a.aml
    assert aml is not None
    lines = [f"Patient {a.patient_id} (AML)  as of {a.as_of}  criteria {aml.criteria}  "
             f"therapy start {_fmt(a.therapy_start)}"]
    for name, r in aml.risk_dict().items():
        label = "ELN 2022 risk" if name == "eln2022_risk" else "ELN 2017 risk"
        if r["group"] is None:
            lines.append(f"{label}: not evaluable (missing {', '.join(r['missing'])})")
        else:
            lines.append(f"{label}: {r['group']} [{r['rule']}] {r['basis']}")
    header = f"{'date':<10}  {'months':>6}  {'response':<19}  {'MRD':<8}  basis"
    lines += [header, "-" * 72]
    for t in a.timepoints:
        d = aml.timepoint_dict(t)
        if d["aml_basis"] is None:
            continue
        lines.append(f"{d['date']:<10}  {_num(t.months, 2):>6}  "
                     f"{_fmt(d['aml_response']):<19}  {_fmt(d['aml_mrd']):<8}  {d['aml_basis']}")
    if aml.course.events:
        lines.append("Events:")
        lines += [f"  {e.date}  {e.kind} [{e.rule}]: {e.basis}" for e in aml.course.events]
    if a.protocol is not None:
        lines += _render_protocol(a)
    lines.append(f"Current: latest response {_fmt(aml.latest_response)}, best "
                 f"{_fmt(aml.best_response)}")
    return "\n".join(lines)


def _render_protocol(a: Assessment) -> list[str]:
    p = a.protocol
    assert p is not None
    word = {True: "met", False: "NOT met", None: "not evaluable"}
    eligible = {True: "eligible", False: "not eligible", None: "eligibility not evaluable"}
    lines = [f"Protocol {p.id}: {eligible[p.eligible]} (inclusion {_fmt(p.inclusion)})"]
    lines += [f"  {word[c.met]:<13}  {c.id}: {c.basis}" for c in p.criteria]
    if p.endpoints:
        lines.append("  endpoints: " + ", ".join(f"{k} {_fmt(v)}" for k, v in p.endpoints.items()))
    return lines



def _grades(grades: Mapping[str, int]) -> str:
    return ", ".join(f"{display_name(k)} {v}" for k, v in grades.items() if v > 0)


def render_assessment(a: Assessment) -> str:
    """A readable table for one patient (the decision-support notice is printed once per
    output by the caller, not after every patient)."""
    if a.aml is not None:
        return render_aml(a)
    lines = [
        f"Patient {a.patient_id}  as of {a.as_of}  guideline {a.guideline}  "
        f"therapy start {_fmt(a.therapy_start)}",
    ]
    risk = []
    for name, score in a.risk.items():
        if score.score is None:
            risk.append(f"{name} n/a (missing {', '.join(score.missing)})")
        else:
            risk.append(f"{name} {_num(score.score)} {score.group}")
    lines.append("Risk: " + "; ".join(risk))
    header = (
        f"{'date':<10}  {'months':>6}  {'hematologic':<11}  {'cytogenetic':<11}  "
        f"{'molecular':<10}  {'phase':<11}  CTCAE grades (before therapy: baseline findings)"
    )
    lines += [header, "-" * len(header)]
    for t in a.timepoints:
        # A grade before the first TKI is the disease at diagnosis, not a toxicity.
        tox = _grades(t.toxicity)
        if tox and t.months is not None and t.months < 0:
            tox = f"baseline: {tox}"
        tox = tox or "-"
        lines.append(
            f"{t.date.isoformat():<10}  {_num(t.months, 2):>6}  {_fmt(t.hematologic):<11}  "
            f"{_fmt(t.cytogenetic):<11}  {_fmt(t.molecular):<10}  {_fmt(t.phase):<11}  {tox}"
        )
    if a.milestones:
        lines.append("Milestones:")
        for m in a.milestones:
            lines.append(f"  {m.month:>2} mo  {m.status:<13} {_fmt(m.date):<10}  "
                         f"{clinical_text(m.basis)}")
    if a.events:
        lines.append("Events:")
        for e in a.events:
            lines.append(f"  {e.date}  {display_name(str(e.kind))}: {clinical_text(e.basis)}")
    if a.recommendations:
        lines.append("Recommendations:")
        for r in a.recommendations:
            what = display_name(str(r.action))
            if r.drug:
                what += f" {r.drug}"
            if r.dose_mg_per_day is not None:
                what += f" {format_dose(r.dose_mg_per_day)}/day"
            flag = "  [rule not yet verified against its publication]" if unverified(
                r.source) else ""
            lines.append(f"  {what}  because {clinical_text(r.because)}  "
                         f"(source: {clinical_text(r.source)}; rule {r.rule}){flag}")
    lines.append(render_next_due(a))
    c = a.current
    therapy = f"{c.drug} {format_dose(c.dose_mg_per_day)}/day" if c.drug else "no therapy"
    lines.append(
        f"Current: status {_fmt(c.status)}, phase {_fmt(c.phase)}, {therapy}; best "
        f"{_fmt(c.best_hematologic)} / {_fmt(c.best_cytogenetic)} / {_fmt(c.best_molecular)}"
    )
    if a.protocol is not None:
        lines += _render_protocol(a)
    return "\n".join(lines)


def render_next_due(a: Assessment) -> str:
    """The monitoring schedule in words: each test's due date, overdue ones marked."""
    nd = a.next_due
    parts = []
    for key, day in nd.due.items():
        if day is None:
            continue
        late = " (OVERDUE)" if key in nd.overdue else ""
        parts.append(f"{display_name(key)} {day}{late}: {clinical_text(nd.basis.get(key, ''))}")
    if not parts:
        return "Next due: nothing scheduled"
    return "Next due:\n" + "\n".join(f"  {p}" for p in parts)


def render_explanation(a: Assessment) -> str:
    """What was judged, from which result, by which rule and source, in date order."""
    items: list[tuple[str, str]] = []
    for t in a.timepoints:
        for ev in t.evidence:
            basis = clinical_text(ev.basis)
            if ev.value is None:
                items.append((t.date.isoformat(), f"not classified [{ev.rule}]: {basis}"))
            else:
                items.append((t.date.isoformat(), f"{ev.value} [{ev.rule}]: {basis}"))
    for m in a.milestones:
        day = m.date.isoformat() if m.date else "-"
        verdict = str(m.status).replace("_", " ")
        items.append((day, f"{m.month}-month milestone {verdict} [{m.rule}]: "
                           f"{clinical_text(m.basis)}"))
    for e in a.events:
        items.append((e.date.isoformat(), f"event: {display_name(str(e.kind))} [{e.rule}]: "
                                          f"{clinical_text(e.basis)}"))
    items.sort(key=lambda x: x[0])
    lines = [f"Patient {a.patient_id}, as of {a.as_of}, judged by {a.guideline}:"]
    lines += [f"  {d}  {text}" for d, text in items]
    if a.trail:
        lines.append("Reasoning:")
        lines += [f"  {clinical_text(t)}" for t in a.trail]
    lines.append("What follows:")
    status = a.current.status
    if status == FollowUpStatus.DECEASED:
        lines.append(f"  nothing: {a.next_due.basis.get('pcr', 'the patient has died')}; "
                     "no actions are recommended and no tests are due")
    elif status == FollowUpStatus.LOST_TO_FOLLOW_UP:
        lines.append(f"  follow-up has stopped ({a.next_due.basis.get('pcr', 'lost')}): no "
                     "tests are scheduled; a new result reopens follow-up")
    elif not a.recommendations:
        lines.append("  no action beyond the scheduled monitoring")
    for r in a.recommendations:
        drug = f" ({r.drug})" if r.drug else ""
        dose = f" at {_num(r.dose_mg_per_day)} mg/day" if r.dose_mg_per_day is not None else ""
        lines.append(f"  {display_name(str(r.action))}{drug}{dose}: because "
                     f"{clinical_text(r.because)}. Rule {r.rule}; {source_text(r.source)}.")
    if status not in (FollowUpStatus.DECEASED, FollowUpStatus.LOST_TO_FOLLOW_UP):
        lines.append(render_next_due(a))
    lines.append(f"Standing: {_fmt(a.current.status)}.  {DISCLAIMER}")
    return "\n".join(lines)
