"""CDS Hooks cards from an assessment (patient-view) and dose checks of draft TKI orders
(order-sign). Every judgement comes from :func:`cmltrack.domain.assess.assess`; this module
only words it as cards. Cards say that they are decision support.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from cmltrack import DISCLAIMER
from cmltrack.domain.enums import TKIS
from cmltrack.domain.records import PatientRecord, TherapyLine
from cmltrack.service.worklist import progressed

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
RXNORM_TKI = {"282388": "imatinib", "403878": "imatinib", "403879": "imatinib",
              "475342": "dasatinib", "662281": "nilotinib", "1307619": "bosutinib",
              "1364347": "ponatinib"}
TKI_RXNORM = {"imatinib": "282388", "dasatinib": "475342", "nilotinib": "662281",
              "bosutinib": "1307619", "ponatinib": "1364347"}
# Imatinib label dose levels and starting doses (clinical-rules section 9; Gleevec USPI).
IMATINIB_LEVELS = frozenset({300.0, 400.0, 600.0, 800.0})
IMATINIB_START = {"chronic": 400.0, "accelerated": 600.0, "blast": 600.0}

_GUIDELINE_SOURCES = {
    "ELN2020": ("ELN 2020 (Hochhaus et al., Leukemia 2020)",
                "https://doi.org/10.1038/s41375-020-0776-2"),
    "ELN2013": ("ELN 2013 (Baccarani et al., Blood 2013)",
                "https://doi.org/10.1182/blood-2013-05-501569"),
    "ELN2009": ("ELN 2009 (Baccarani et al., J Clin Oncol 2009)",
                "https://doi.org/10.1200/JCO.2009.25.0779"),
    "ELN2006": ("ELN 2006 (Baccarani et al., Blood 2006)",
                "https://doi.org/10.1182/blood-2006-02-005686"),
    "LABEL": ("Imatinib label (Gleevec USPI / Glivec SmPC)",
              "https://www.ema.europa.eu/en/medicines/human/EPAR/glivec"),
    "KANTARJIAN2003": ("Kantarjian et al., Blood 2003 (high-dose imatinib)",
                       "https://doi.org/10.1182/blood-2002-09-2896"),
}
_ACTION_WORDS = {
    "switch_tki": "switch TKI", "mutation_analysis": "test for mutations",
    "hold": "hold the TKI", "resume": "resume the TKI", "reduce_dose": "reduce the dose",
    "escalate_dose": "escalate the dose", "repeat_pcr": "repeat BCR::ABL1 PCR",
    "marrow_cytogenetics": "marrow cytogenetics", "hsct_evaluation": "evaluate for HSCT",
    "consider_tfr": "consider TFR", "restart_tki": "restart the TKI",
    "increase_monitoring": "monitor more often", "continue": "continue",
    "discontinue": "stop the TKI for good", "avoid_comedication": "change the co-medication",
}
OVERRIDE_REASONS = [
    {"code": "benefit-outweighs-risk", "system": "https://cmltrack.org/fhir/CodeSystem/override",
     "display": "Benefit outweighs risk"},
    {"code": "counts-recovered", "system": "https://cmltrack.org/fhir/CodeSystem/override",
     "display": "Counts already recovered (result not yet in the record)"},
    {"code": "clinical-judgement", "system": "https://cmltrack.org/fhir/CodeSystem/override",
     "display": "Clinical judgement: the rule does not fit this patient"},
]
_DOI = re.compile(r"doi[: ]\s*(10\.\d{4,9}/[^\s;,)]+)", re.I)


def _uuid() -> str:
    return str(uuid.uuid4())


def source_of(rec: dict[str, Any] | None, guideline: str) -> dict[str, str]:
    """The card's source: the top recommendation's guideline or label, with a URL."""
    rule = str((rec or {}).get("rule") or guideline)
    prefix = rule.split(".")[0].upper()
    label, url = _GUIDELINE_SOURCES.get(prefix, _GUIDELINE_SOURCES.get(guideline,
                                                                        _GUIDELINE_SOURCES["ELN2020"]))
    m = _DOI.search(str((rec or {}).get("source") or ""))
    if m:
        url = "https://doi.org/" + m.group(1).rstrip(".")
    return {"label": label, "url": url}


def _latest_milestone(a: dict[str, Any]) -> dict[str, Any] | None:
    judged = [m for m in a.get("milestones") or []
              if m.get("status") not in ("pending", "not_evaluable") and m.get("date")]
    return judged[-1] if judged else None


def _latest_pcr(record: PatientRecord) -> tuple[str, str] | None:
    pcrs = [o for o in record.observations if o.kind == "pcr"]
    if not pcrs:
        return None
    p = max(pcrs, key=lambda o: o.date)
    value = getattr(p, "bcr_abl1_is", None)
    detected = getattr(p, "detected", None)
    text = "not detected" if detected is False and value is None else (
        f"{value:g}% IS" if value is not None else "no value")
    return text, p.date.isoformat()


def indicator(a: dict[str, Any]) -> str:
    current = a.get("current") or {}
    recs = a.get("recommendations") or []
    status = current.get("status")
    if status == "failure" or progressed(a) or any(
            r.get("action") in ("hold", "discontinue") for r in recs):
        return "critical"
    overdue = (a.get("next_due") or {}).get("overdue") or []
    if status in ("warning", "suboptimal") or overdue or any(
            r.get("action") != "continue" for r in recs):
        return "warning"
    return "info"


def summary(a: dict[str, Any]) -> str:
    current = a.get("current") or {}
    status = current.get("status") or "no standing"
    words = f"CML: {str(status).replace('_', ' ')}"
    m = _latest_milestone(a)
    if m is not None:
        words += f" at {m['month']} months ({m.get('basis') or m['status']})"
    actions = [_ACTION_WORDS.get(str(r.get("action")), str(r.get("action")))
               for r in a.get("recommendations") or [] if r.get("action") != "continue"]
    if actions:
        words += " - " + " and ".join(dict.fromkeys(actions))
    elif current.get("drug") is None:
        words += " - no TKI therapy recorded"
    return words if len(words) < 140 else words[:136].rstrip() + "..."


def detail(a: dict[str, Any], record: PatientRecord) -> str:
    lines = [f"**{a.get('guideline')} assessment as of {a.get('as_of')}** "
             f"(standing: {(a.get('current') or {}).get('status') or 'none'})", ""]
    milestones = a.get("milestones") or []
    if milestones:
        lines += ["| Month | Status | Date | Basis |", "|---|---|---|---|"]
        lines += [f"| {m['month']} | {m['status']} | {m.get('date') or ''} | "
                  f"{str(m.get('basis') or '').replace('|', '/')} |" for m in milestones]
        lines.append("")
    pcr = _latest_pcr(record)
    lines.append(f"Latest BCR::ABL1: {pcr[0]} on {pcr[1]}." if pcr else
                 "Latest BCR::ABL1: none in the record.")
    due = a.get("next_due") or {}
    tests = [f"{k} {v}" + (" (overdue)" if k in (due.get("overdue") or []) else "")
             for k, v in due.items() if k not in ("overdue", "basis") and v]
    lines.append("Tests due: " + (", ".join(tests) if tests else "none scheduled") + ".")
    lines.append("")
    for r in a.get("recommendations") or []:
        lines.append(f"- **{r.get('action')}**"
                     + (f" {r['drug']}" if r.get("drug") else "")
                     + (f" {r['dose_mg_per_day']:g} mg/day" if r.get("dose_mg_per_day") else "")
                     + f": {r.get('because')} (rule `{r.get('rule')}`; {r.get('source')})")
    lines += ["", f"_{DISCLAIMER}_"]
    return "\n".join(lines)


def _service_request(code: str, display: str, patient_ref: str) -> dict[str, Any]:
    return {"resourceType": "ServiceRequest", "status": "draft", "intent": "proposal",
            "code": {"coding": [{"system": LOINC, "code": code, "display": display}],
                     "text": display},
            "subject": {"reference": patient_ref}}


def _medication_request(drug: str, dose: float | None, patient_ref: str,
                        base: dict[str, Any] | None = None) -> dict[str, Any]:
    res: dict[str, Any] = dict(base) if base else {
        "resourceType": "MedicationRequest", "status": "draft", "intent": "proposal",
        "subject": {"reference": patient_ref}}
    coding = [{"system": RXNORM, "code": TKI_RXNORM[drug], "display": drug}] \
        if drug in TKI_RXNORM else []
    res["medicationCodeableConcept"] = {"coding": coding, "text": drug}
    if dose is not None:
        res["dosageInstruction"] = [{
            "text": f"{dose:g} mg once daily",
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": dose, "unit": "mg",
                                              "system": "http://unitsofmeasure.org",
                                              "code": "mg"}}]}]
    return res


def suggestions(a: dict[str, Any], patient_ref: str,
                active_request: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Orders the recommendations map to: dose changes, holds, PCR, mutation tests, switches."""
    out: list[dict[str, Any]] = []
    current = a.get("current") or {}
    for r in a.get("recommendations") or []:
        action, drug = r.get("action"), r.get("drug") or current.get("drug")
        dose = r.get("dose_mg_per_day")
        acts: list[dict[str, Any]] = []
        label = ""
        if action in ("reduce_dose", "escalate_dose", "resume") and drug and dose:
            label = f"{_ACTION_WORDS[action].capitalize()}: {drug} {dose:g} mg/day"
            if active_request is not None:
                acts.append({"type": "update", "description": label,
                             "resource": _medication_request(drug, dose, patient_ref,
                                                             active_request)})
            else:
                acts.append({"type": "create", "description": label,
                             "resource": _medication_request(drug, dose, patient_ref)})
        elif action == "hold" and active_request is not None:
            label = f"Hold {drug}"
            held = dict(active_request, status="on-hold")
            acts.append({"type": "update", "description": label, "resource": held})
        elif action in ("repeat_pcr", "increase_monitoring"):
            label = "Order BCR::ABL1 PCR (IS)"
            acts.append({"type": "create", "description": label, "resource":
                         _service_request("69380-4", "BCR::ABL1 transcript/ABL1 (IS)",
                                          patient_ref)})
        elif action == "mutation_analysis":
            label = "Order ABL1 kinase domain mutation analysis"
            acts.append({"type": "create", "description": label, "resource":
                         _service_request("69548-6", "ABL1 gene mutation analysis",
                                          patient_ref)})
        elif action == "switch_tki" and r.get("drug"):
            for option in str(r["drug"]).split("|"):
                out.append({"label": f"Switch to {option}", "uuid": _uuid(),
                            "isRecommended": False, "actions": [{
                                "type": "create", "description": f"Start {option}",
                                "resource": _medication_request(option, None, patient_ref)}]})
            continue
        if acts:
            out.append({"label": label, "uuid": _uuid(), "isRecommended": not out,
                        "actions": acts})
    return out


def patient_view_cards(a: dict[str, Any], record: PatientRecord, patient_ref: str,
                       active_request: dict[str, Any] | None) -> list[dict[str, Any]]:
    recs = a.get("recommendations") or []
    top = next((r for r in recs if r.get("action") != "continue"), recs[0] if recs else None)
    card: dict[str, Any] = {
        "uuid": _uuid(),
        "summary": summary(a),
        "indicator": indicator(a),
        "detail": detail(a, record),
        "source": source_of(top, str(a.get("guideline"))),
    }
    sugg = suggestions(a, patient_ref, active_request)
    if sugg:
        card["suggestions"] = sugg
        card["selectionBehavior"] = "at-most-one"
        card["overrideReasons"] = OVERRIDE_REASONS
    return [card]


# --- order-sign ------------------------------------------------------------------------------


def order_drug(order: dict[str, Any]) -> str | None:
    """The TKI a MedicationRequest orders (RxNorm code, else a drug name in text/display)."""
    concept = order.get("medicationCodeableConcept") or {}
    texts: list[str] = [str(concept.get("text") or "")]
    for c in concept.get("coding") or []:
        if c.get("system") == RXNORM and str(c.get("code")) in RXNORM_TKI:
            return RXNORM_TKI[str(c.get("code"))]
        texts.append(str(c.get("display") or ""))
    for t in texts:
        for drug in sorted(TKIS):
            if drug in t.lower():
                return drug
    return None


def order_daily_dose(order: dict[str, Any]) -> float | None:
    """mg per day from ``dosageInstruction[0]`` (fhir.md's Therapy rules), or None."""
    di = (order.get("dosageInstruction") or [{}])[0]
    dr = (di.get("doseAndRate") or [{}])[0]
    q = dr.get("doseQuantity") or {}
    value = q.get("value")
    if not isinstance(value, int | float):
        return None
    unit = str(q.get("code") or q.get("unit") or "mg")
    factor = {"mg": 1.0, "g": 1000.0, "ug": 0.001, "mg/d": 1.0}.get(unit)
    if factor is None:
        return None
    if unit == "mg/d":
        return float(value)
    rep = (di.get("timing") or {}).get("repeat") or {}
    freq, period = rep.get("frequency", 1), rep.get("period", 1)
    per_day = {"h": 24.0, "d": 1.0, "wk": 1 / 7}.get(str(rep.get("periodUnit", "d")))
    if per_day is None or not period:
        return None
    return float(value) * factor * float(freq) / float(period) * per_day


def with_draft_order(record: PatientRecord, drug: str, dose: float | None,
                     today: dt.date) -> PatientRecord:
    """The record as if the draft order starts today (the running line of the drug ends)."""
    therapy: list[TherapyLine] = []
    for t in record.therapy:
        if t.drug == drug and t.end is None and t.start < today:
            t = t.model_copy(update={"end": today})
        therapy.append(t)
    if not any(t.drug == drug and t.start == today for t in therapy):
        therapy.append(TherapyLine.model_construct(
            drug=drug, dose_mg_per_day=dose, start=today, end=None, reason_end=None))
    return record.model_copy(update={"therapy": therapy})


def latest_labs(record: PatientRecord, today: dt.date) -> str:
    """Which blood count and chemistry the check used, by date."""
    parts = []
    for kind, name in (("blood", "blood count"), ("chemistry", "chemistry")):
        dates = [o.date for o in record.observations if o.kind == kind and o.date <= today]
        parts.append(f"latest {name}: {max(dates).isoformat() if dates else 'none'}")
    return "; ".join(parts)


def _is_label_rule(rule: Any) -> bool:
    return "LABEL" in str(rule or "").upper().split(".")[0]


def _not_indicated(base: dict[str, Any], order: dict[str, Any], drug: str, dose: float,
                   phase: str, labs: str) -> dict[str, Any]:
    """A warning card: the label gives no dose of ``drug`` for this phase and line."""
    actions: list[dict[str, Any]] = []
    if order.get("id"):
        actions.append({"type": "delete", "description": f"Remove the draft {drug} order",
                        "resourceId": f"MedicationRequest/{order['id']}"})
    return {**base, "indicator": "warning",
            "summary": f"{drug} {dose:g} mg/day: not indicated by its label here"[:139],
            "detail": f"The {drug} label gives no dose for {phase} phase in this line of "
                      f"therapy (rule `LABEL.{drug}.dose`, tki_labels). Checked on the {labs}."
                      f"\n\n_{DISCLAIMER}_",
            "suggestions": [{"label": f"Cancel the {drug} order", "uuid": _uuid(),
                             "isRecommended": True, "actions": actions}]}


def order_sign_card(order: dict[str, Any], drug: str, dose: float | None,
                    a: dict[str, Any], phase: str, patient_ref: str,
                    labs: str = "") -> dict[str, Any] | None:
    """One card when the rules do not allow the ordered dose now; None when they do."""
    order_id = order.get("id")
    label_recs = [r for r in a.get("recommendations") or [] if _is_label_rule(r.get("rule"))]
    # A label's permanent stop (discontinue) refuses the order as a hold does.
    hold = next((r for r in label_recs if r.get("action") in ("hold", "discontinue")), None)
    source = source_of(hold or (label_recs[0] if label_recs else None), "LABEL")
    base: dict[str, Any] = {"uuid": _uuid(), "source": source,
                            "selectionBehavior": "at-most-one",
                            "overrideReasons": OVERRIDE_REASONS}
    if hold is not None:
        actions: list[dict[str, Any]] = []
        if order_id:
            actions.append({"type": "delete", "description": f"Remove the draft {drug} order",
                            "resourceId": f"MedicationRequest/{order_id}"})
        if hold.get("action") == "hold":
            actions.append({"type": "create", "description": "Repeat the blood count",
                            "resource": _service_request("58410-2",
                                                         "CBC panel with differential",
                                                         patient_ref)})
        return {**base, "indicator": "critical",
                "summary": f"Do not give {drug} now: {hold.get('because')}"[:139],
                "detail": f"{hold.get('because')} (rule `{hold.get('rule')}`; "
                          f"{hold.get('source')}). Checked on the {labs}.\n\n_{DISCLAIMER}_",
                "suggestions": [{"label": ("Discontinue: cancel the order"
                                           if hold.get("action") == "discontinue" else
                                           "Hold: cancel the order and repeat the blood count"),
                                 "uuid": _uuid(), "isRecommended": True,
                                 "actions": actions}]}
    target: float | None = None
    why = ""
    rule = ""
    for r in label_recs:
        if r.get("action") in ("reduce_dose", "resume") and r.get("dose_mg_per_day"):
            target = float(r["dose_mg_per_day"])
            why, rule = str(r.get("because")), str(r.get("rule"))
            break
    if target is None and drug == "imatinib" and dose is not None and \
            dose not in IMATINIB_LEVELS:
        target = min(IMATINIB_LEVELS, key=lambda x: (abs(x - dose), x))
        start = IMATINIB_START.get(phase, 400.0)
        why = (f"{dose:g} mg/day is not an imatinib dose level of the label (300, 400, 600, "
               f"800 mg/day; start {start:g} mg/day in {phase} phase)")
        rule = "LABEL.dose_levels"
    current = a.get("current") or {}
    if target is None and drug != "imatinib" and dose is not None and \
            current.get("drug") == drug:
        label = current.get("label_dose_mg_per_day")
        escalated = any(r.get("action") == "escalate_dose" and r.get("dose_mg_per_day") == dose
                        for r in a.get("recommendations") or [])
        if label is None:
            return _not_indicated(base, order, drug, dose, phase, labs)
        if dose > float(label) + 1e-9 and not escalated:
            # Over the label's dose for this phase and line (tki_labels.yaml, read through
            # the assessment's current.label_dose_mg_per_day); a lower dose may be a label
            # reduction after toxicity and is not judged here.
            target = float(label)
            why = (f"{dose:g} mg/day is over the {drug} label's dose for {phase} phase "
                   f"({target:g} mg/day)")
            rule = f"LABEL.{drug}.dose"
    if target is None or dose is None or abs(target - dose) < 1e-9:
        return None
    corrected = _medication_request(drug, target, patient_ref, order)
    return {**base, "indicator": "warning",
            "summary": f"{drug} {dose:g} mg/day: the label calls for {target:g} mg/day"[:139],
            "detail": f"{why} (rule `{rule}`). Checked on the {labs}.\n\n_{DISCLAIMER}_",
            "suggestions": [{"label": f"Order {drug} {target:g} mg/day", "uuid": _uuid(),
                             "isRecommended": True, "actions": [{
                                 "type": "update", "description": f"{target:g} mg/day",
                                 "resource": corrected}]}]}
