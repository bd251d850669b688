"""What each page shows, built from records and their assessments (no web framework here).

Every clinical judgement on a page (status, milestone verdicts, events, recommendations, CTCAE
grades, response categories) is read from the :class:`~cmltrack.domain.assess.Assessment` that
``assess`` made, the same one the CLI prints and the REST API returns; this module only selects,
orders and formats. The chart's geometry (time origin, scales, undetected results at their
sensitivity, therapy segments, milestone zones) comes from :mod:`cmltrack.plots.bcr_abl1` and
:mod:`cmltrack.plots.zones`, so the browser chart and the report's PNG share one definition.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cmltrack.display import clinical_text, display_name
from cmltrack.domain.assess import Assessment
from cmltrack.domain.records import BloodCount, PatientRecord, Pcr
from cmltrack.domain.timeline import months_between
from cmltrack.plots.bcr_abl1 import MR_LINES, chart_frame, mr_threshold, therapy_segments
from cmltrack.plots.zones import zones_for

#: Worklist urgency, as the service's worklist numbers it (service.md), plus two ranks for the
#: patients the API's worklist leaves out: 6 nothing listed (no TKI running, or nothing due),
#: 7 no longer followed (a death reported in the record, or lost to follow-up).
URGENCY_LABEL: dict[int, str] = {
    1: "failure or progression",
    2: "hold for toxicity",
    3: "warning or suboptimal",
    4: "test overdue",
    5: "test due within 14 days",
    6: "nothing listed",
    7: "not followed (died or lost)",
}
#: Statuses that end follow-up (clinical-rules-2 section 10 extends ``current.status``).
NOT_FOLLOWED = frozenset({"deceased", "lost_to_follow_up"})

#: Blood-count series drawn and tabulated on the patient page: field, label, unit.
COUNT_SERIES: tuple[tuple[str, str, str], ...] = (
    ("wbc", "WBC", "x10^9/L"),
    ("anc", "ANC", "x10^9/L"),
    ("platelets", "Platelets", "x10^9/L"),
    ("hemoglobin", "Hemoglobin", "g/dL"),
)


def _iso(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


def _num(v: float | None, digits: int = 4) -> str:
    if v is None:
        return "-"
    return f"{v:.{digits}f}".rstrip("0").rstrip(".")


# --------------------------------------------------------------------------- worklist


@dataclass(frozen=True, slots=True)
class Due:
    """One test of the monitoring schedule: when it is due and how many days overdue."""

    test: str
    due: str
    days_overdue: int | None
    basis: str = ""


def schedule(a: Mapping[str, Any]) -> list[Due] | None:
    """The assessment's ``next_due`` per test (clinical-rules-2 section 10), soonest first.

    None when the assessment does not carry a monitoring schedule: the pages then say so rather
    than guess one. A test is overdue when its date is before ``as_of`` (the contract's rule).
    """
    raw = a.get("next_due")
    if not isinstance(raw, Mapping):
        return None
    as_of = dt.date.fromisoformat(str(a["as_of"]))
    found = raw.get("basis")
    basis: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    out: list[Due] = []
    for test, value in raw.items():
        if test in ("overdue", "basis") or not isinstance(value, str):
            continue
        late = (as_of - dt.date.fromisoformat(value)).days
        out.append(Due(test, value, late if late > 0 else None, str(basis.get(test) or "")))
    out.sort(key=lambda d: d.due)
    return out


@dataclass(frozen=True, slots=True)
class WorklistRow:
    """One patient on the worklist."""

    patient_id: str
    urgency: int
    status: str
    reasons: tuple[str, ...]
    phase: str | None
    months_on_therapy: float | None
    drug: str | None
    dose_mg_per_day: float | None
    last_pcr_date: str | None
    last_pcr_text: str
    died: str | None
    due: tuple[Due, ...] | None
    top_action: str | None
    top_rule: str | None
    top_source: str | None

    @property
    def urgency_label(self) -> str:
        return URGENCY_LABEL[self.urgency]

    @property
    def next_test(self) -> Due | None:
        return self.due[0] if self.due else None

    @property
    def days_overdue(self) -> int:
        """The most days any test is overdue (0: none)."""
        return max((d.days_overdue or 0 for d in self.due or ()), default=0)

    def sort_key(self) -> tuple[int, int, str]:
        """Urgent first, then most days overdue, then patient id (service.md worklist)."""
        return (self.urgency, -self.days_overdue, self.patient_id)


def last_pcr(record: Mapping[str, Any]) -> tuple[str | None, str]:
    """The latest BCR::ABL1 result's date and how a clinician reads it ("0.12% IS",
    "undetected, 85,000 ABL1 copies"), from the record as stored (the later row of a day wins,
    as in the assessment)."""
    latest: Mapping[str, Any] | None = None
    for o in record.get("observations") or ():
        if isinstance(o, Mapping) and o.get("kind") == "pcr" and (
                latest is None or str(o.get("date")) >= str(latest.get("date"))):
            latest = o
    if latest is None:
        return None, "no PCR"
    value = latest.get("bcr_abl1_is")
    if isinstance(value, Mapping):  # a value given with its unit
        value = value.get("value")
    if latest.get("detected") is not False and isinstance(value, int | float) and value > 0:
        return str(latest["date"]), f"{_num(float(value))}% IS"
    copies = latest.get("control_copies")
    gene = latest.get("control_gene") or ""
    extra = f", {copies:,.0f} {gene} copies" if isinstance(copies, int | float) and copies else ""
    return str(latest["date"]), f"undetected{extra}"


def worklist_row(
    record: Mapping[str, Any], a: Mapping[str, Any], item: Mapping[str, Any] | None
) -> WorklistRow:
    """One row from the stored record, its assessment (the contract's JSON object, as the API
    serves it) and the service's worklist item (None: the patient needs nothing today).

    Urgency, reasons and the top recommendation are the service worklist's
    (:func:`cmltrack.service.worklist.worklist_item`), so the page and ``GET /worklist`` agree;
    a patient it leaves out is ranked 6 (nothing listed) or 7 (a death reported in the record,
    or the assessment's status ``deceased`` / ``lost_to_follow_up``).
    """
    current = a.get("current") or {}
    status = str(current.get("status") or "none")
    recs = a.get("recommendations") or []
    died = next((str(e.get("date")) for e in record.get("events") or ()
                 if isinstance(e, Mapping) and e.get("kind") == "death"
                 and str(e.get("date")) <= str(a["as_of"])), None)
    if item is not None:
        urgency = int(item["urgency"])
        reasons = tuple(str(r) for r in item.get("reasons") or ())
        top = item.get("top_recommendation")
    else:
        urgency = 7 if status in NOT_FOLLOWED or died else 6
        reasons = ()
        top = next((r for r in recs if r.get("action") != "continue"), recs[0] if recs else None)
    start = a.get("therapy_start")
    months = None
    if start and current.get("drug"):  # months on TKI only while a TKI runs
        months = round(months_between(dt.date.fromisoformat(start),
                                      dt.date.fromisoformat(a["as_of"])), 1)
    pcr_date, pcr_text = last_pcr(record)
    due = schedule(a)
    return WorklistRow(
        patient_id=str(a["patient_id"]),
        urgency=urgency,
        status=status,
        reasons=reasons,
        phase=current.get("phase"),
        months_on_therapy=months,
        drug=current.get("drug"),
        dose_mg_per_day=current.get("dose_mg_per_day"),
        last_pcr_date=pcr_date,
        last_pcr_text=pcr_text,
        died=died,
        due=None if due is None else tuple(due),
        top_action=None if top is None else top.get("action"),
        top_rule=None if top is None else top.get("rule"),
        top_source=None if top is None else top.get("source"),
    )


def sort_worklist(rows: Iterable[WorklistRow]) -> list[WorklistRow]:
    return sorted(rows, key=WorklistRow.sort_key)


# --------------------------------------------------------------------------- patient chart


def chart_data(record: PatientRecord, a: Assessment) -> dict[str, Any]:
    """The BCR::ABL1 chart as JSON for the page's script: points, lines, zones, therapy bands.

    Undetected results sit at the sample's sensitivity from its control-gene copies
    (:func:`cmltrack.plots.bcr_abl1.pcr_sensitivity`); without copies ``value`` is null and the
    script draws the point on the floor of the axis, marked "sensitivity not given".
    """
    frame, origin, points, lines = chart_frame(record, a)
    molecular = {tp.date: tp.molecular for tp in a.timepoints if tp.molecular is not None}
    pcrs = sorted((o for o in record.observations if isinstance(o, Pcr)), key=lambda o: o.date)
    out_points = []
    for p, obs in zip(points, pcrs, strict=True):  # pcr_points sorts the same way (stable)
        mol = molecular.get(p.date)
        out_points.append({
            "date": p.date.isoformat(),
            "months": round(p.months, 3),
            "value": p.value,
            "detected": p.detected,
            "control_gene": obs.control_gene,
            "control_copies": obs.control_copies,
            "molecular": None if mol is None else str(mol),
        })
    zones = []
    # No zone after a death or loss to follow-up (``Frame.zone_end``), as in the report's chart.
    stop = frame.x_max if frame.zone_end is None else min(frame.zone_end, frame.x_max)
    for zone in zones_for(frame.guideline):
        start = zone.start + frame.shift
        if start >= stop:
            continue  # a landmark beyond the follow-up: nothing to shade
        end = stop if zone.end is None else min(zone.end + frame.shift, stop)
        zones.append({
            "label": zone.label,
            "start": round(start, 4),
            "end": round(end, 4),
            "bands": [
                {
                    "low": max(b.low, frame.y_low),
                    "high": min(b.high, frame.y_high),
                    "status": str(b.status),
                    "text": b.text,
                }
                for b in zone.bands
            ],
        })
    therapy = [
        {"start": round(s, 3), "end": round(e, 3), "label": label, "tki": tki}
        for s, e, label, tki in therapy_segments(record, origin, frame.x_max)
    ]
    events = [
        {
            "months": round(months_between(origin, ev.date), 3),
            "date": ev.date.isoformat(),
            "label": (f"progression ({ev.phase})" if ev.kind == "progression" and ev.phase
                      else ev.kind.replace("_", " ")),
        }
        for ev in sorted(record.events, key=lambda e: e.date)
    ]
    return {
        "patient_id": record.id,
        "guideline": frame.guideline,
        "origin": origin.isoformat(),
        "xlabel": frame.xlabel,
        "x": [frame.x_min, frame.x_max],
        "y": [frame.y_low, frame.y_high],
        "line_start": frame.shift,
        "lines": [{"label": str(level), "value": mr_threshold(level)} for level in MR_LINES],
        "zones": zones,
        "points": out_points,
        "therapy": therapy,
        "tki_lines": len(lines),
        "events": events,
    }


# --------------------------------------------------------------------------- patient page


@dataclass(frozen=True, slots=True)
class CountRow:
    """One day's blood counts and CTCAE grades (the assessment's grades for that date)."""

    date: str
    months: float | None
    values: tuple[str, ...]
    grades: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class ExplainItem:
    date: str
    text: str
    rule: str


@dataclass(frozen=True, slots=True)
class PatientPage:
    row: WorklistRow
    assessment: Assessment
    chart: dict[str, Any]
    counts: tuple[CountRow, ...]
    count_series: dict[str, list[tuple[str, float]]]
    grade_terms: tuple[str, ...]
    explain: tuple[ExplainItem, ...]
    trail: tuple[str, ...]
    reported_events: tuple[dict[str, str], ...]
    risk: tuple[tuple[str, str], ...] = field(default=())
    #: CTCAE term -> [(date, grade)] for every grade > 0 (the toxicity chart's data).
    grade_series: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def count_rows(record: PatientRecord, a: Assessment) -> tuple[list[CountRow], tuple[str, ...]]:
    """Blood counts by date with the CTCAE grades the assessment gave that day (grades > 0)."""
    grades = {tp.date: tp.toxicity for tp in a.timepoints}
    months = {tp.date: tp.months for tp in a.timepoints}
    terms: set[str] = set()
    rows: list[CountRow] = []
    days = sorted({o.date for o in record.observations if isinstance(o, BloodCount)}
                  | {d for d, g in grades.items() if g})
    blood = {o.date: o for o in record.observations if isinstance(o, BloodCount)}
    for day in days:
        b = blood.get(day)
        values = tuple("-" if b is None else _num(getattr(b, f), 2) for f, _, _ in COUNT_SERIES)
        g = tuple(sorted((t, n) for t, n in grades.get(day, {}).items() if n > 0))
        terms.update(t for t, _ in g)
        rows.append(CountRow(day.isoformat(), months.get(day), values, g))
    return rows, tuple(sorted(terms))


def explain_items(a: Assessment) -> list[ExplainItem]:
    """What was judged, from which result, by which rule: ``cmltrack explain``'s items."""
    items: list[ExplainItem] = []
    for t in a.timepoints:
        for ev in t.evidence:
            what = "not classified" if ev.value is None else str(ev.value)
            items.append(ExplainItem(t.date.isoformat(), f"{what}: {clinical_text(ev.basis)}",
                                     ev.rule))
    for m in a.milestones:
        verdict = str(m.status).replace("_", " ")
        items.append(ExplainItem(_iso(m.date) or "-", f"{m.month}-month milestone {verdict}: "
                                 f"{clinical_text(m.basis)}", m.rule))
    for e in a.events:
        items.append(ExplainItem(e.date.isoformat(), f"event: {display_name(str(e.kind))}: "
                                 f"{clinical_text(e.basis)}", e.rule))
    items.sort(key=lambda x: x.date)
    return items


def patient_page(record: PatientRecord, a: Assessment, row: WorklistRow) -> PatientPage:
    counts, terms = count_rows(record, a)
    series: dict[str, list[tuple[str, float]]] = {f: [] for f, _, _ in COUNT_SERIES}
    for o in sorted((o for o in record.observations if isinstance(o, BloodCount)),
                    key=lambda o: o.date):
        for f, _, _ in COUNT_SERIES:
            v = getattr(o, f)
            if v is not None:
                series[f].append((o.date.isoformat(), v))
    risk = tuple(
        (name, f"{_num(s.score, 3)} ({s.group})" if s.score is not None
         else "not computable: missing " + ", ".join(s.missing))
        for name, s in a.risk.items()
    )
    reported = tuple(
        {"date": e.date.isoformat(), "kind": e.kind.replace("_", " "),
         "detail": " ".join(x for x in (e.phase, e.cause, e.note) if x)}
        for e in sorted(record.events, key=lambda e: e.date)
    )
    return PatientPage(
        row=row, assessment=a, chart=chart_data(record, a), counts=tuple(counts),
        count_series=series, grade_terms=terms, explain=tuple(explain_items(a)),
        trail=tuple(a.trail), reported_events=reported, risk=risk,
        grade_series={t: [(c.date, g) for c in counts for term, g in c.grades if term == t]
                      for t in terms},
    )


# --------------------------------------------------------------------------- cohort


def status_counts(statuses: Iterable[str]) -> list[tuple[str, int]]:
    """Patients per ``current.status``, in the order a clinic reads them."""
    order = ("failure", "suboptimal", "warning", "optimal", "pending", "not_evaluable",
             "lost_to_follow_up", "deceased", "none")
    c = Counter(statuses)
    return [(s, c[s]) for s in order if c[s]] + sorted(
        (s, n) for s, n in c.items() if s not in order)


def _finite(v: float) -> float | None:
    return None if math.isnan(v) or math.isinf(v) else float(v)


def survival_curves(endpoints: Any, at: Sequence[float]) -> dict[str, Any]:
    """KM of PFS and OS, cumulative incidence of MMR and MR4.5 (death or progression first
    competing), from the ADTTE endpoint table; numbers at risk at ``at`` months."""
    from cmltrack.stats import kaplan_meier
    from cmltrack.stats.summary import response_incidence

    out: dict[str, Any] = {"at": list(at), "km": [], "cif": []}
    for code, label in (("PFS", "Progression-free survival"), ("OS", "Overall survival")):
        rows = endpoints[endpoints["PARAMCD"] == code]
        if rows.empty:
            continue
        t = rows["AVAL"].to_numpy(dtype=float)
        e = (rows["CNSR"].to_numpy() == 0).astype(int)
        curve = kaplan_meier(t, e, at=list(at)).groups[0]
        out["km"].append({
            "endpoint": code,
            "label": label,
            "n": curve.n,
            "events": curve.events,
            "median": _finite(curve.median),
            "steps": [[0.0, 1.0]] + [
                [float(x), float(s)] for x, s, d in
                zip(curve.time, curve.survival, curve.n_event, strict=True) if d > 0
            ],
            "censored": [float(x) for x, c in zip(curve.time, curve.n_censor, strict=True)
                         if c > 0],
            "end": float(t.max()) if t.size else 0.0,
            "at_risk": [int(x.at_risk) for x in curve.at],
            "at_survival": [_finite(x.survival) for x in curve.at],
        })
    inc = response_incidence(endpoints, responses=("MMR", "MR4.5"), at=tuple(at))
    for resp, res in inc.items():
        c = res.groups[0]
        code = "TTMMR" if resp == "MMR" else "TTMR45"
        rows = endpoints[endpoints["PARAMCD"] == code]
        out["cif"].append({
            "response": resp,
            "n": c.n,
            "events": c.events,
            "competing": c.competing,
            "steps": [[0.0, 0.0]] + [[float(x), float(y)]
                                     for x, y in zip(c.time, c.cif, strict=True)],
            "end": float(rows["AVAL"].max()) if not rows.empty else 0.0,
            "at": [_finite(x.cif) for x in c.at],
        })
    return out
