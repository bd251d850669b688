"""Admin routers: the audit trail (read only) and API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import Response

from cmltrack.service.auth import mint_token, revoke_token
from cmltrack.service.deps import Admin, RequestId, Svc
from cmltrack.service.problems import Problem
from cmltrack.store import audit
from cmltrack.store import tokens as token_store

router = APIRouter(prefix="/api/v1")
MAX_SEQ = 2**31 - 1  # the audit seq is a 32-bit integer column


@router.get("/audit")
def list_audit(
    svc: Svc, who: Admin,
    patient_id: str | None = None,
    action: str | None = None,
    since: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
) -> dict[str, Any]:
    """The audit trail in ``seq`` order, a page at a time."""
    if action is not None and action not in audit.ACTIONS:
        raise Problem(400, "bad_request",
                      f"action={action!r} is not one of {', '.join(audit.ACTIONS)}")
    with svc.db.read() as session:
        entries, nxt = audit.list_entries(session, patient_id=patient_id, action=action,
                                          since=since, after_seq=after_seq, limit=limit)
    return {"entries": entries, "next_after_seq": nxt}


@router.get("/audit/{seq}")
def get_audit_entry(seq: Annotated[int, Path(ge=1, le=MAX_SEQ)], svc: Svc, who: Admin
                    ) -> dict[str, Any]:
    """One audit entry."""
    with svc.db.read() as session:
        entries, _ = audit.list_entries(session, after_seq=seq - 1, limit=1)
    if not entries or entries[0]["seq"] != seq:
        raise Problem(404, "not_found", f"no audit entry {seq}")
    return entries[0]


def _refuse(seq: int | None = None) -> Response:
    raise Problem(405, "method_not_allowed", "the audit trail cannot be changed")


for _path in ("/audit", "/audit/{seq}"):
    router.add_api_route(_path, _refuse, methods=["PUT", "PATCH", "DELETE", "POST"],
                         include_in_schema=False)


@router.post("/tokens", status_code=201)
def create_token(
    svc: Svc, who: Admin, rid: RequestId,
    body: Annotated[dict[str, Any], Body(examples=[{"name": "dr-lee", "role": "clinician"}])],
) -> dict[str, Any]:
    """Create a token; the answer holds it, the only time it is shown."""
    name, role = body.get("name"), body.get("role")
    if not isinstance(name, str) or not isinstance(role, str):
        raise Problem(400, "bad_request", "expected {\"name\": ..., \"role\": ...}")
    token = mint_token(svc.db, svc.settings, name=name, role=role, actor=who.name,
                       request_id=rid)
    return {"name": name, "role": role, "token": token}


@router.get("/tokens")
def list_tokens(svc: Svc, who: Admin) -> dict[str, Any]:
    """Every token by name and role (configuration and database); never the token itself."""
    with svc.db.read() as session:
        stored = token_store.list_tokens(session)
    out = [{"name": t.name, "role": t.role, "source": "config", "created_at": None,
            "created_by": None, "revoked_at": None} for t in svc.settings.tokens]
    out += [{"name": t.name, "role": t.role, "source": t.source, "created_at": t.created_at,
             "created_by": t.created_by, "revoked_at": t.revoked_at} for t in stored]
    return {"tokens": out}


@router.delete("/tokens/{name}", status_code=204)
def delete_token(name: str, svc: Svc, who: Admin, rid: RequestId) -> Response:
    """Revoke a token (it stops working at once)."""
    revoke_token(svc.db, svc.settings, name=name, actor=who.name, request_id=rid)
    return Response(status_code=204)
