"""An assessment as FHIR R4 resources (spec/fhir.md, "Assessment as FHIR").

One Bundle ``collection`` per patient: the record's resources as
:func:`~cmltrack.io.fhir.writer.record_resources` writes them, then response and milestone
Observations, response-event Observations, four RiskAssessments and, for a warning or failure
standing, a DetectedIssue; each linked (``derivedFrom``, ``basis``, ``evidence``) to the input
Observations it rests on. For FHIR input the record's resources carry the input's own ids.
Recommendations stay in the JSON form (contract v1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from cmltrack.io.fhir import codes as C
from cmltrack.io.fhir.writer import bundle_entry, quantity, record_writer

if TYPE_CHECKING:
    from cmltrack.domain.assess import Assessment
    from cmltrack.domain.records import PatientRecord
    from cmltrack.io.fhir.reader import InputIds

#: Which input observation kinds each response rests on.
_RESTS_ON = {
    "hematologic": ("blood",),
    "cytogenetic": ("cytogenetics", "fish"),
    "molecular": ("pcr",),
    "phase": ("blood", "marrow", "cytogenetics"),
}
_RESPONSE_CODE = {"hematologic": "hematologic-response", "cytogenetic": "cytogenetic-response",
                  "molecular": "molecular-response", "phase": "disease-phase"}
#: The results a milestone or an event is judged on.
_RESULT_KINDS = ("pcr", "cytogenetics", "fish", "blood", "marrow", "mutation")
_RISK_GROUP = {"low": "low", "intermediate": "moderate", "high": "high"}
_STANDING = {"warning": ("eln-warning", "moderate"), "suboptimal": ("eln-warning", "moderate"),
             "failure": ("eln-failure", "high")}
_ASSESSMENT_CATEGORY = [{"coding": [{"system": C.CML, "code": "assessment"}]}]


def _cml(code: str) -> dict[str, Any]:
    return {"coding": [{"system": C.CML, "code": code}]}


def _refs(ids: list[str]) -> list[dict[str, str]]:
    return [{"reference": f"Observation/{i}"} for i in ids]


def assessment_resources(record: PatientRecord, assessment: Assessment,
                         input_ids: InputIds | None = None) -> list[dict[str, Any]]:
    """The record's resources followed by the assessment's (see the module docstring).

    ``input_ids``: for FHIR input, the ids of the input resources the record came from (the
    reader's :data:`~cmltrack.io.fhir.reader.InputIds`): the record's resources keep them, so
    ``derivedFrom``, ``basis`` and ``evidence`` name the input's own Observations."""
    w = record_writer(record)
    if input_ids:
        w.use_ids(input_ids)
    out = list(w.out)
    a = assessment.to_dict()
    subject = {"reference": f"Patient/{w.pid}"}
    p = w.p
    # Input Observation ids by (date, kind), from the written record.
    by_day: dict[tuple[str, str], list[str]] = {}
    for n, obs in enumerate(record.observations):
        by_day.setdefault((obs.date.isoformat(), obs.kind), []).extend(w.obs_ids.get(n, []))

    def inputs(date: str | None, kinds: tuple[str, ...]) -> list[str]:
        if date is None:
            return []
        return [i for k in kinds for i in by_day.get((date, k), [])]

    def observation(rid: str, code: str, date: str, value: str, **fields: Any) -> dict[str, Any]:
        res: dict[str, Any] = {
            "resourceType": "Observation", "id": rid, "status": "final",
            "category": _ASSESSMENT_CATEGORY, "code": _cml(code), "subject": subject,
            "effectiveDateTime": date, "valueCodeableConcept": _cml(value)}
        res.update({k: v for k, v in fields.items() if v})
        out.append(res)
        return res

    for t, tp in enumerate(a["timepoints"]):
        for name, code in _RESPONSE_CODE.items():
            value = tp[name]
            if value is not None:
                observation(f"{p}-as-tp{t}-{name}", code, tp["date"], value,
                            derivedFrom=_refs(inputs(tp["date"], _RESTS_ON[name])))
    milestone_ids: list[tuple[dict[str, Any], str, list[str]]] = []
    for m, ms in enumerate(a["milestones"]):
        used = inputs(ms["date"], _RESULT_KINDS)
        rid = f"{p}-as-ms{m}"
        observation(rid, "milestone", ms["date"] or a["as_of"], ms["status"],
                    component=[{"code": _cml("milestone-month"),
                                "valueQuantity": quantity(ms["month"], "mo")}],
                    note=[{"text": ms["basis"]}] if ms["basis"] else None,
                    derivedFrom=_refs(used))
        milestone_ids.append((ms, rid, used))
    event_ids: list[tuple[dict[str, Any], str, list[str]]] = []
    for e, ev in enumerate(a["events"]):
        used = inputs(ev["date"], _RESULT_KINDS)
        rid = f"{p}-as-ev{e}"
        observation(rid, "response-event", ev["date"], ev["kind"],
                    note=[{"text": ev["basis"]}] if ev["basis"] else None,
                    derivedFrom=_refs(used))
        event_ids.append((ev, rid, used))
    dx = record.diagnosis
    for method, score in a["risk"].items():
        risk: dict[str, Any] = {"resourceType": "RiskAssessment", "id": f"{p}-as-risk-{method}",
                                "status": "final", "method": _cml(method), "subject": subject}
        if dx is not None and dx.date is not None:
            risk["occurrenceDateTime"] = dx.date.isoformat()
        if w.dx_ids:
            risk["basis"] = _refs(w.dx_ids)
        if score["group"] is not None:
            risk["extension"] = [{"url": C.RISK_SCORE_EXT, "valueDecimal": score["score"]}]
            risk["prediction"] = [{"qualitativeRisk": {"coding": [{
                "system": C.RISK_PROBABILITY, "code": _RISK_GROUP[score["group"]]}]}}]
        else:
            risk["note"] = [{"text": "missing: " + ", ".join(score["missing"])}]
        out.append(risk)
    status = a["current"]["status"]
    if status in _STANDING:
        code, severity = _STANDING[status]
        # The milestone that set the standing, else the latest event (an any-time judgement).
        setter = next(((x, rid, used) for x, rid, used in reversed(milestone_ids)
                       if x["status"] == status), None)
        if setter is None and event_ids:
            setter = event_ids[-1]
        issue: dict[str, Any] = {
            "resourceType": "DetectedIssue", "id": f"{p}-as-standing", "status": "final",
            "code": _cml(code), "severity": severity, "patient": subject,
            "identifiedDateTime": a["as_of"]}
        if setter is not None:
            x, rid, used = setter
            issue["detail"] = x["basis"]
            issue["evidence"] = [{"detail": _refs([rid, *used])}]
        out.append(issue)
    return out


def assessment_bundle(record: PatientRecord, assessment: Assessment,
                      input_ids: InputIds | None = None) -> dict[str, Any]:
    """The patient's record and assessment as one FHIR Bundle ``collection`` (JSON data)."""
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [bundle_entry(r) for r in assessment_resources(record, assessment,
                                                                    input_ids)]}


def assessment_bundle_json(record: PatientRecord, assessment: Assessment,
                           input_ids: InputIds | None = None) -> str:
    """:func:`assessment_bundle` as one line of JSON (what ``assess --format fhir`` prints)."""
    return orjson.dumps(assessment_bundle(record, assessment, input_ids)).decode()
