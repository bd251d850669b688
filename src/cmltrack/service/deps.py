"""FastAPI dependencies: the services object, the caller (from the bearer token), the request id."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from cmltrack.service.auth import Principal, authenticate, configured_principal, require
from cmltrack.service.core import Services


async def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def principal(request: Request, svc: Annotated[Services, Depends(services)]
                    ) -> Principal | None:
    """The caller, or None (a configured token is checked here; a database token is looked
    up in the thread pool)."""
    token = bearer(request)
    who = configured_principal(svc.settings, token)
    if who is None and token:
        who = await run_in_threadpool(authenticate, svc.db, svc.settings, token)
    request.state.actor = who.name if who else None
    return who


async def request_id(request: Request) -> str:
    rid: str = getattr(request.state, "request_id", None) or uuid.uuid4().hex
    return rid


async def clinician(who: Annotated[Principal | None, Depends(principal)]) -> Principal:
    return require(who, "clinician")


async def analyst_or_clinician(who: Annotated[Principal | None, Depends(principal)]) -> Principal:
    return require(who, "analyst", "clinician")


async def admin(who: Annotated[Principal | None, Depends(principal)]) -> Principal:
    return require(who, "admin")


Svc = Annotated[Services, Depends(services)]
Clinician = Annotated[Principal, Depends(clinician)]
AnalystOrClinician = Annotated[Principal, Depends(analyst_or_clinician)]
Admin = Annotated[Principal, Depends(admin)]
RequestId = Annotated[str, Depends(request_id)]
