"""The worklist: who needs attention, most urgent first (service contract, "Worklist").

Built from each patient's assessment (the same cached one the REST API serves) as of the
worklist's day. The tests due come from the assessment's ``next_due`` (the monitoring schedule
of clinical-rules section 12) when the assessment carries it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from cmltrack.domain.enums import TKIS
from cmltrack.service import core
from cmltrack.store import patients as store

DUE_SOON_DAYS = 14
_STATUS_URGENCY = {"failure": 1, "warning": 3, "suboptimal": 3}
_TEST_KINDS = {"pcr": ("pcr",), "blood": ("blood",), "marrow": ("marrow", "cytogenetics")}


def _last_test(record: dict[str, Any], test: str, as_of: dt.date) -> str | None:
    kinds = _TEST_KINDS.get(test, (test,))
    dates: list[str] = [o["date"] for o in record.get("observations") or []
             if isinstance(o, dict) and o.get("kind") in kinds
             and isinstance(o.get("date"), str) and o["date"] <= as_of.isoformat()]
    return max(dates) if dates else None


def progressed(a: dict[str, Any]) -> bool:
    """A progression on therapy: the assessment's ``progression`` event (a phase worse than the
    presenting one after the TKI began, or a reported progression; domain/guidelines/events.py).

    Not ``current.phase``: a patient who presented in accelerated phase and is now in MMR keeps
    that phase label but has not progressed (bundled example P10).
    """
    return any(e.get("kind") == "progression" for e in a.get("events") or [])


def worklist_item(record: dict[str, Any], a: dict[str, Any], as_of: dt.date
                  ) -> dict[str, Any] | None:
    """The worklist entry for one patient's assessment, or None when nothing is needed."""
    current = a.get("current") or {}
    on_tki = current.get("drug") in TKIS
    in_tfr = any(e.get("kind") == "tki_stop" for e in record.get("events") or []
                 if isinstance(e, dict)) and current.get("drug") is None
    if not (on_tki or in_tfr):
        return None
    reasons: list[tuple[int, str]] = []
    status = current.get("status")
    if progressed(a):
        reasons.append((1, "progression"))
    if status in _STATUS_URGENCY:
        reasons.append((_STATUS_URGENCY[status], str(status)))
    recs = a.get("recommendations") or []
    if any(r.get("action") == "hold" for r in recs):
        reasons.append((2, "hold"))
    if any(r.get("action") == "discontinue" for r in recs):
        reasons.append((2, "discontinue"))  # a label's permanent stop for toxicity
    due: list[dict[str, Any]] = []
    next_due = a.get("next_due") or {}
    for test, when in next_due.items():
        if test in ("overdue", "basis") or not isinstance(when, str):
            continue
        days = (as_of - dt.date.fromisoformat(when)).days
        if days > 0:
            reasons.append((4, f"{test}_overdue"))
        elif days >= -DUE_SOON_DAYS:
            reasons.append((5, f"{test}_due"))
        else:
            continue
        due.append({"test": test, "last": _last_test(record, test, as_of), "due": when,
                    "days_overdue": days})
    if not reasons:
        return None
    top = next((r for r in recs if r.get("action") != "continue"), recs[0] if recs else None)
    return {
        "patient_id": a.get("patient_id"),
        "urgency": min(u for u, _ in reasons),
        "status": status,
        "reasons": [r for _, r in sorted(reasons, key=lambda x: x[0])],
        "due": sorted(due, key=lambda d: -int(d["days_overdue"])),
        "top_recommendation": None if top is None else {
            "action": top.get("action"), "rule": top.get("rule"), "source": top.get("source")},
    }


def build_worklist(svc: core.Services, req: core.AssessmentRequest) -> dict[str, Any]:
    """``{"as_of", "guideline", "items"}``; ``as_of`` defaults to today (UTC)."""
    as_of = req.as_of or dt.datetime.now(dt.UTC).date()
    req = core.AssessmentRequest(req.options, as_of, req.key.rsplit("|", 1)[0] + f"|{as_of}")
    with svc.db.read() as session:
        stored = list(store.iter_with_assessments(session, req.key))
    items: list[dict[str, Any]] = []
    for s, cached in stored:
        body = cached if cached is not None else svc.memo.get((s.digest, req.key))
        if body is None:
            body = core.assessment_json(core.validate(s.data), req)
            core.remember(svc, s.id, req.key, s.digest, body)
        item = worklist_item(s.data, orjson.loads(body), as_of)
        if item is not None:
            items.append(item)
    items.sort(key=lambda i: (i["urgency"], -max((d["days_overdue"] for d in i["due"]),
                                                  default=0), str(i["patient_id"])))
    return {"as_of": as_of.isoformat(), "guideline": str(req.options.guideline), "items": items}
