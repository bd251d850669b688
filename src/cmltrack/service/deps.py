"""FastAPI dependencies: the services object, the caller (from the bearer token), the request id."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from cmltrack.service.auth import Principal, authenticate, require
from cmltrack.service.core import Services


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def principal(request: Request, svc: Annotated[Services, Depends(services)]) -> Principal | None:
    """The caller, or None (sync: a database token is looked up in the thread pool)."""
    who = authenticate(svc.db, svc.settings, bearer(request))
    request.state.actor = who.name if who else None
    return who


def request_id(request: Request) -> str:
    rid: str = getattr(request.state, "request_id", None) or uuid.uuid4().hex
    return rid


def clinician(who: Annotated[Principal | None, Depends(principal)]) -> Principal:
    return require(who, "clinician")


def analyst_or_clinician(who: Annotated[Principal | None, Depends(principal)]) -> Principal:
    return require(who, "analyst", "clinician")


def admin(who: Annotated[Principal | None, Depends(principal)]) -> Principal:
    return require(who, "admin")


Svc = Annotated[Services, Depends(services)]
Clinician = Annotated[Principal, Depends(clinician)]
AnalystOrClinician = Annotated[Principal, Depends(analyst_or_clinician)]
Admin = Annotated[Principal, Depends(admin)]
RequestId = Annotated[str, Depends(request_id)]
