"""REST routers for patients, observations, imports, assessments, the worklist and the cohort."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from cmltrack.io.limits import MAX_LINE_MB
from cmltrack.service import core
from cmltrack.service.deps import AnalystOrClinician, Clinician, RequestId, Svc
from cmltrack.service.problems import Problem

router = APIRouter(prefix="/api/v1")

_JSON_TYPES = ("application/json", "application/fhir+json")
_NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl",
                 "application/jsonlines", "application/fhir+ndjson", "application/x-jsonlines")
_OBJECT_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "object"}},
        "application/fhir+json": {"schema": {"type": "object"}},
    }}
}
_ID = Annotated[str, "patient id"]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def _media(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _json_body(request: Request) -> Any:
    media = _media(request)
    if media and media not in _JSON_TYPES and not media.endswith("+json"):
        raise Problem(415, "unsupported_media_type",
                      f"Content-Type {media!r}: send application/json or application/fhir+json")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > core.MAX_RECORD_BYTES:
        raise Problem(413, "too_large", f"the body is over {MAX_LINE_MB:g} MiB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > core.MAX_RECORD_BYTES:
            raise Problem(413, "too_large", f"the body is over {MAX_LINE_MB:g} MiB")
    return core.parse_json(bytes(body))


def _etag(digest: str) -> dict[str, str]:
    return {"ETag": f'"{digest}"'}


# Patient ids may hold "/" ({patient_id:path}); the assessment route comes first so that
# ".../P1/assessment" is the assessment of P1, not a patient "P1/assessment".
@router.get("/patients/{patient_id:path}/assessment")
async def get_assessment(
    patient_id: str, svc: Svc, who: Clinician,
    guideline: str | None = None, protocol: str | None = None, as_of: str | None = None,
    cytogenetic_scheme: str | None = None, phase_criteria: str | None = None,
    aml_criteria: str | None = None,
) -> Response:
    """The assessment, identical to ``cmltrack assess RECORD --json`` with the same options."""
    req = core.assessment_request({
        "guideline": guideline, "protocol": protocol, "as_of": as_of,
        "cytogenetic_scheme": cytogenetic_scheme, "phase_criteria": phase_criteria,
        "aml_criteria": aml_criteria})
    # A cache hit is one indexed query, answered on the event loop (no thread hop); only a
    # computation goes to the thread pool.
    digest, body = core.lookup_assessment(svc, patient_id, req)
    if body is None:
        body, digest = await run_in_threadpool(core.compute_assessment, svc, patient_id, req)
    return Response(body, media_type="application/json", headers=_etag(digest))


@router.put("/patients/{patient_id:path}", openapi_extra=_OBJECT_BODY, status_code=200,
            responses={201: {"description": "created"}, 200: {"description": "replaced"}})
async def put_patient(patient_id: str, request: Request, svc: Svc, who: Clinician,
                      rid: RequestId, if_match: IfMatch = None) -> Response:
    """Store or replace one record (patient-record JSON, or a FHIR Bundle of one patient)."""
    data = await _json_body(request)
    status, digest = await run_in_threadpool(core.put_patient, svc, who, patient_id, data,
                                             if_match=if_match, request_id=rid)
    return Response(orjson.dumps({"id": patient_id, "status": status, "digest": digest}),
                    status_code=201 if status == "created" else 200,
                    media_type="application/json", headers=_etag(digest))


@router.get("/patients/{patient_id:path}")
def get_patient(patient_id: str, request: Request, svc: Svc, who: Clinician) -> Response:
    """The stored record; ``Accept: application/fhir+json`` gives it as a FHIR Bundle."""
    stored = core.get_patient(svc, patient_id)
    if "application/fhir+json" in request.headers.get("accept", ""):
        return Response(orjson.dumps(core.record_as_bundle(stored.data)),
                        media_type="application/fhir+json", headers=_etag(stored.digest))
    return Response(orjson.dumps(stored.data), media_type="application/json",
                    headers=_etag(stored.digest))


@router.delete("/patients/{patient_id:path}", status_code=204)
def delete_patient(patient_id: str, svc: Svc, who: Clinician, rid: RequestId,
                   if_match: IfMatch = None) -> Response:
    """Remove the record and its observations (the audit entries stay)."""
    core.delete_patient(svc, who, patient_id, if_match=if_match, request_id=rid)
    return Response(status_code=204)


@router.post("/patients/{patient_id:path}/observations", status_code=201,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object"}}}}})
async def post_observation(patient_id: str, request: Request, svc: Svc, who: Clinician,
                           rid: RequestId, if_match: IfMatch = None) -> Response:
    """Add one observation (the JSON shape of patient-record.md)."""
    data = await _json_body(request)
    digest = await run_in_threadpool(core.add_observation, svc, who, patient_id, data,
                                     if_match=if_match, request_id=rid)
    return Response(orjson.dumps({"id": patient_id, "digest": digest}), status_code=201,
                    media_type="application/json", headers=_etag(digest))


_GROUP = 200  # lines committed together at most
_BACKLOG = 4 * _GROUP  # lines read ahead of the commits at most


class AckStream(StreamingResponse):
    """A streamed answer sent while the request body is still being read.

    Starlette's StreamingResponse (under ASGI < 2.4) reads ``receive`` itself to notice a
    disconnect, which would take the import's body chunks away from the reader; here the reader
    alone consumes ``receive`` and notices the disconnect.
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.stream_response(send)


@router.post("/patients:import", openapi_extra={"requestBody": {"required": True, "content": {
    "application/x-ndjson": {"schema": {"type": "string"}}}}},
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}},
                     "description": "one acknowledgement per line, after its commit"}})
async def import_patients(request: Request, svc: Svc, who: Clinician,
                          rid: RequestId) -> StreamingResponse:
    """Bulk import, JSON Lines: each line acknowledged once its patient has committed."""
    media = _media(request)
    if media not in _NDJSON_TYPES:
        raise Problem(415, "unsupported_media_type",
                      f"Content-Type {media!r}: send application/x-ndjson")

    async def acks() -> AsyncIterator[bytes]:
        # The body is read by its own task while the groups before commit: what arrives
        # during a commit forms the next group (up to _GROUP lines), so a fast sender gets
        # big groups (few commits) and a slow one prompt acknowledgements.
        splitter = core.LineSplitter()
        pending: list[core.ImportLine] = []
        arrived, drained = asyncio.Event(), asyncio.Event()
        done = False

        def take(lines: list[tuple[int, bytes | None]]) -> None:
            for n, raw in lines:
                item = core.ImportLine(n, raw)
                if raw is None:
                    item.problem = Problem(413, "too_large",
                                           f"line {n} is over {MAX_LINE_MB:g} MiB")
                pending.append(item)
            arrived.set()

        async def read() -> None:
            nonlocal done
            try:
                async for chunk in request.stream():
                    take(splitter.feed(chunk))
                    while len(pending) >= _BACKLOG:  # bounded memory: wait for the writer
                        drained.clear()
                        await drained.wait()
                take(splitter.finish())
            finally:
                done = True
                arrived.set()

        reader = asyncio.create_task(read())
        try:
            while True:
                if not pending:
                    if done:
                        break
                    arrived.clear()
                    await arrived.wait()
                    continue
                group = pending[:_GROUP]
                del pending[:_GROUP]
                drained.set()
                await run_in_threadpool(core.import_group, svc, who, group, request_id=rid)
                yield b"".join(i.ack() for i in group)
            await reader  # a failed read (the client went away) ends the answer here
        finally:
            reader.cancel()

    return AckStream(acks(), media_type="application/x-ndjson")


@router.get("/cohort/assessments", response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}},
                             "description": "JSON Lines, pseudonymised"}})
def cohort_assessments(svc: Svc, who: AnalystOrClinician,
                       guideline: str | None = None, as_of: str | None = None
                       ) -> StreamingResponse:
    """Every patient's assessment as JSON Lines with pseudonyms instead of patient ids."""
    req = core.assessment_request({"guideline": guideline, "as_of": as_of})
    return StreamingResponse(core.cohort_assessments(svc, req),
                             media_type="application/x-ndjson")


@router.get("/worklist")
def worklist(svc: Svc, who: Clinician, as_of: Annotated[str | None, Query()] = None,
             guideline: str | None = None) -> Response:
    """Who needs attention, most urgent first."""
    from cmltrack.service.worklist import build_worklist

    req = core.assessment_request({"guideline": guideline, "as_of": as_of})
    return Response(orjson.dumps(build_worklist(svc, req)), media_type="application/json")
