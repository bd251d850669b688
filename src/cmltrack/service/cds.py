"""CDS Hooks 2.0 services (``/cds-services``): discovery, ``cmltrack-patient-view``,
``cmltrack-order-sign`` and feedback. Every call needs a client JWT (:mod:`cds_auth`).

The hook judges the EHR's data, not the service's store: the prefetch (or, when keys are
missing, the same queries against ``fhirServer``) is read into a record by the FHIR reader
(:mod:`cmltrack.io.fhir`, fhir.md) and assessed by the same ``assess`` as everywhere else,
as of the day of the call (UTC).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
from typing import Annotated, Any

import httpx
import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError
from cmltrack.service import cds_cards, logs
from cmltrack.service.cds_auth import KeyStore, verify_jwt
from cmltrack.service.core import Services, parse_json
from cmltrack.service.deps import bearer, services
from cmltrack.service.problems import Problem, from_input_error
from cmltrack.store import cds as cds_store

router = APIRouter(prefix="/cds-services")

PATIENT_VIEW = "cmltrack-patient-view"
ORDER_SIGN = "cmltrack-order-sign"
_BLOOD_CODES = ("6690-2", "26464-8", "751-8", "26499-4", "777-3", "26515-7", "26474-7",
                "718-7", "709-6", "26446-5", "706-2", "30180-4", "713-8", "26450-7", "26524-9",
                "26498-6", "28541-1", "740-1")
_PID = "{{context.patientId}}"
PREFETCH: dict[str, str] = {
    "patient": f"Patient/{_PID}",
    "bcrabl1": f"Observation?patient={_PID}&code=http://loinc.org|69380-4&_sort=-date",
    "bloodCounts": f"Observation?patient={_PID}&code="
                   + ",".join(f"http://loinc.org|{c}" for c in _BLOOD_CODES) + "&_sort=-date",
    "labs": f"Observation?patient={_PID}&category=laboratory&_sort=-date",
    "medicationStatements": f"MedicationStatement?patient={_PID}",
    "medicationRequests": f"MedicationRequest?patient={_PID}",
    "conditions": f"Condition?patient={_PID}",
}
_USAGE = ("Send the prefetch above (or fhirServer with fhirAuthorization); sign each call with "
          "a JWT of a key the service trusts. Decision support, not a medical device.")
SERVICES: dict[str, dict[str, Any]] = {
    PATIENT_VIEW: {
        "hook": "patient-view", "id": PATIENT_VIEW,
        "title": "cmltrack: CML response and next step",
        "description": "The patient's standing under ELN 2020 (milestones, latest BCR::ABL1, "
                       "tests due) and the recommended next step with its rule and source.",
        "prefetch": PREFETCH, "usageRequirements": _USAGE,
    },
    ORDER_SIGN: {
        "hook": "order-sign", "id": ORDER_SIGN,
        "title": "cmltrack: TKI dose check",
        "description": "Checks a TKI order's daily dose against the phase, the label's dose "
                       "rules and the latest blood count and chemistry; suggests the "
                       "corrected order.",
        "prefetch": PREFETCH, "usageRequirements": _USAGE,
    },
}


def _keys(request: Request, svc: Services) -> KeyStore:
    ks: KeyStore | None = getattr(request.app.state, "cds_keys", None)
    if ks is None:
        ks = request.app.state.cds_keys = KeyStore.of(svc.settings.cds_clients)
    return ks


def _client(request: Request, svc: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    """The verified JWT claims of the calling EHR (sync: the jti check writes)."""
    audience = svc.settings.base_url + request.url.path.rstrip("/")
    return verify_jwt(bearer(request), keys=_keys(request, svc), audience=audience, db=svc.db)


Client = Annotated[dict[str, Any], Depends(_client)]
Svc = Annotated[Services, Depends(services)]


@router.get("")
def discovery(claims: Client) -> dict[str, Any]:
    """The two services with their prefetch templates."""
    return {"services": list(SERVICES.values())}


# --- prefetch --------------------------------------------------------------------------------


def _resources(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == "Bundle":
        return [e["resource"] for e in value.get("entry") or []
                if isinstance(e, dict) and isinstance(e.get("resource"), dict)
                and (e.get("search") or {}).get("mode") != "outcome"]
    return [value] if "resourceType" in value else []


async def _fetch_missing(body: dict[str, Any], missing: list[str], patient_id: str
                         ) -> dict[str, Any]:
    """The missing prefetch keys, queried against fhirServer (2 s in all)."""
    server = str(body.get("fhirServer") or "").rstrip("/")
    auth = body.get("fhirAuthorization") or {}
    token = auth.get("access_token") if isinstance(auth, dict) else None
    if not server or not token:
        raise Problem(412, "precondition_required",
                      f"prefetch {', '.join(missing)} missing and no fhirServer/"
                      "fhirAuthorization to fetch it", title="Precondition failed")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}

    async def one(client: httpx.AsyncClient, key: str) -> tuple[str, Any]:
        query = PREFETCH[key].replace(_PID, patient_id)
        r = await client.get(f"{server}/{query}", headers=headers)
        r.raise_for_status()
        return key, r.json()

    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            pairs = await asyncio.wait_for(
                asyncio.gather(*(one(client, k) for k in missing)), timeout=2.0)
    except (httpx.HTTPError, TimeoutError, ValueError) as exc:
        logs.event("fhirServer fetch failed", error=type(exc).__name__)
        raise Problem(412, "precondition_required",
                      "the FHIR server did not answer the prefetch queries in time",
                      title="Precondition failed") from None
    return dict(pairs)


def read_prefetch(prefetch: dict[str, Any], patient_id: str, today: dt.date
                  ) -> tuple[PatientRecord, list[str], list[dict[str, Any]]]:
    """(record, warnings, MedicationRequests) from the merged prefetch, per fhir.md."""
    try:
        fhir = importlib.import_module("cmltrack.io.fhir")
    except ImportError:
        raise Problem(503, "unavailable", "the FHIR reader (cmltrack.io.fhir) is not installed",
                      title="Service unavailable") from None
    seen: set[tuple[str, str]] = set()
    entries: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    patient_present = False
    for key in PREFETCH:
        for res in _resources(prefetch.get(key)):
            rid = (str(res.get("resourceType")), str(res.get("id", id(res))))
            if rid in seen:
                continue
            seen.add(rid)
            patient_present |= rid[0] == "Patient"
            if rid[0] == "MedicationRequest":
                requests.append(res)
            entries.append({"resource": res})
    if not patient_present:  # "no data": the record is the patient id alone
        entries.insert(0, {"resource": {"resourceType": "Patient", "id": patient_id}})
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    try:
        records, warnings = fhir.records_from_bundle(bundle, source="prefetch", today=today)
    except InputError as exc:
        raise from_input_error(exc) from None
    if len(records) != 1:
        raise Problem(422, "inconsistent",
                      f"the prefetch holds {len(records)} patients; expected {patient_id!r}")
    record: PatientRecord = records[0]
    return record, list(warnings), requests


def _context_patient(body: dict[str, Any]) -> str:
    context = body.get("context")
    if not isinstance(context, dict) or not isinstance(context.get("patientId"), str):
        raise Problem(400, "bad_request", "context.patientId is missing")
    return str(context["patientId"])


async def _prefetch(body: dict[str, Any], patient_id: str) -> dict[str, Any]:
    """The prefetch with any missing keys fetched from fhirServer."""
    prefetch = body.get("prefetch") if isinstance(body.get("prefetch"), dict) else {}
    assert isinstance(prefetch, dict)
    missing = [k for k in PREFETCH if k not in prefetch]
    if missing:
        prefetch = {**prefetch, **await _fetch_missing(body, missing, patient_id)}
    return prefetch


def _read(prefetch: dict[str, Any], patient_id: str, today: dt.date
          ) -> tuple[PatientRecord, list[dict[str, Any]]]:
    record, warnings, requests = read_prefetch(prefetch, patient_id, today)
    if warnings:
        logs.event("prefetch warnings", count=len(warnings))
    return record, requests


async def _record_for(body: dict[str, Any], today: dt.date
                      ) -> tuple[PatientRecord, str, list[dict[str, Any]]]:
    patient_id = _context_patient(body)
    prefetch = await _prefetch(body, patient_id)
    record, requests = await run_in_threadpool(_read, prefetch, patient_id, today)
    return record, f"Patient/{patient_id}", requests


async def _hook_body(request: Request, hook: str) -> dict[str, Any]:
    body = parse_json(await request.body())
    if not isinstance(body, dict) or body.get("hook") != hook:
        raise Problem(400, "bad_request", f"expected a {hook} hook request")
    if not isinstance(body.get("hookInstance"), str):
        raise Problem(400, "bad_request", "hookInstance is missing")
    return body


def _assess(record: PatientRecord, today: dt.date) -> dict[str, Any]:
    from cmltrack.domain.assess import assess

    result: dict[str, Any] = assess(record, options=AssessOptions(), as_of=today).to_dict()
    return result


def _active_request(requests: list[dict[str, Any]]) -> dict[str, Any] | None:
    active = [r for r in requests if r.get("status") == "active"
              and cds_cards.order_drug(r) is not None]
    return active[-1] if active else None


@router.post(f"/{PATIENT_VIEW}")
async def patient_view(request: Request, claims: Client) -> Response:
    """Cards: the patient's standing and the next step (decision support)."""
    body = await _hook_body(request, "patient-view")
    today = dt.datetime.now(dt.UTC).date()
    patient_id = _context_patient(body)
    prefetch = await _prefetch(body, patient_id)

    def cards() -> bytes:  # one thread hop: read, assess, cards
        record, requests = _read(prefetch, patient_id, today)
        a = _assess(record, today)
        return orjson.dumps({"cards": cds_cards.patient_view_cards(
            a, record, f"Patient/{patient_id}", _active_request(requests))})

    return Response(await run_in_threadpool(cards), media_type="application/json")


@router.post(f"/{ORDER_SIGN}")
async def order_sign(request: Request, claims: Client) -> Response:
    """Cards for TKI orders whose dose the rules do not allow now (none when all are fine)."""
    body = await _hook_body(request, "order-sign")
    today = dt.datetime.now(dt.UTC).date()
    draft = (body.get("context") or {}).get("draftOrders")
    if not isinstance(draft, dict) or draft.get("resourceType") != "Bundle":
        raise Problem(400, "bad_request", "context.draftOrders must be a Bundle")
    record, ref, _ = await _record_for(body, today)

    def check() -> list[dict[str, Any]]:
        from cmltrack.domain.guidelines.label import disease_phase

        cards: list[dict[str, Any]] = []
        for order in _resources(draft):
            if order.get("resourceType") != "MedicationRequest":
                continue
            drug = cds_cards.order_drug(order)
            if drug is None:
                continue
            dose = cds_cards.order_daily_dose(order)
            planned = cds_cards.with_draft_order(record, drug, dose, today)
            a = _assess(planned, today)
            phase = str(disease_phase(planned, today, ()))
            card = cds_cards.order_sign_card(order, drug, dose, a, phase, ref,
                                             cds_cards.latest_labs(record, today))
            if card is not None:
                cards.append(card)
        return cards

    cards = await run_in_threadpool(check)
    return Response(orjson.dumps({"cards": cards}), media_type="application/json")


_OUTCOMES = ("accepted", "overridden")


def _check_feedback(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not items:
        raise Problem(400, "bad_request", "feedback must be a non-empty array")
    for i, item in enumerate(items):
        where = f"feedback[{i}]"
        if not isinstance(item, dict):
            raise Problem(400, "bad_request", f"{where} is not an object")
        if not isinstance(item.get("card"), str) or not 0 < len(item["card"]) <= 100:
            raise Problem(400, "bad_request", f"{where}.card is missing or too long")
        if item.get("outcome") not in _OUTCOMES:
            raise Problem(400, "bad_request", f"{where}.outcome must be accepted or overridden")
        if not isinstance(item.get("outcomeTimestamp"), str) or \
                len(item["outcomeTimestamp"]) > 40:
            raise Problem(400, "bad_request", f"{where}.outcomeTimestamp is missing or too long")
        acc = item.get("acceptedSuggestions", [])
        if not isinstance(acc, list) or not all(isinstance(a, dict) and isinstance(
                a.get("id"), str) for a in acc):
            raise Problem(400, "bad_request", f"{where}.acceptedSuggestions must be "
                          "[{\"id\": ...}]")
        if item["outcome"] == "accepted" and not acc:
            pass  # a card without suggestions can be accepted as read
        reason = item.get("overrideReason")
        if reason is not None and not isinstance(reason, dict):
            raise Problem(400, "bad_request", f"{where}.overrideReason must be an object")
    return items


@router.post("/{service_id}/feedback")
async def feedback(service_id: str, request: Request, svc: Svc, claims: Client) -> Response:
    """Store the EHR's feedback on cards (accepted suggestions, override reasons)."""
    if service_id not in SERVICES:
        raise Problem(404, "not_found", f"no CDS service {service_id!r}")
    body = parse_json(await request.body())
    items = _check_feedback(body.get("feedback") if isinstance(body, dict) else None)

    def store() -> None:
        with svc.db.write() as session:
            cds_store.store_feedback(session, service_id, str(claims["iss"]), items)

    await run_in_threadpool(store)
    return Response(b"{}", media_type="application/json")
