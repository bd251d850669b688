"""API tokens: mint, hash, verify; roles. The web layer calls these functions too.

A token is ``cmlt_`` and 43 URL-safe characters (256 random bits); only its SHA-256 is ever
stored (in the configuration or the database). Verification hashes the presented token and
looks the hash up: configuration tokens first, then active database tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from cmltrack.service.problems import Problem
from cmltrack.service.settings import ROLES, Settings
from cmltrack.store import tokens as token_store
from cmltrack.store.db import Database

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's name (the audit trail's actor) and role."""

    name: str
    role: str


def new_token() -> str:
    """A fresh random token (shown once; never stored)."""
    return "cmlt_" + secrets.token_urlsafe(32)


def token_sha256(token: str) -> str:
    """The hex SHA-256 stored for a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _token_digest(token: str | None) -> str | None:
    """The stored hash of a presented token, or None for an empty or over-long one."""
    if not token or len(token) > 512:
        return None
    return token_sha256(token)


def _from_settings(settings: Settings, digest: str) -> Principal | None:
    for spec in settings.tokens:
        if hmac.compare_digest(spec.sha256, digest):
            return Principal(spec.name, spec.role)
    return None


def configured_principal(settings: Settings, token: str | None) -> Principal | None:
    """The principal of a token from the configuration, or None (no database needed)."""
    digest = _token_digest(token)
    return None if digest is None else _from_settings(settings, digest)


def authenticate(db: Database, settings: Settings, token: str | None) -> Principal | None:
    """The principal a bearer token stands for, or None (unknown, revoked or malformed)."""
    digest = _token_digest(token)
    if digest is None:
        return None
    configured = _from_settings(settings, digest)
    if configured is not None:
        return configured
    with db.read() as session:
        info = token_store.find_by_hash(session, digest)
    return None if info is None else Principal(info.name, info.role)


def require(principal: Principal | None, *roles: str) -> Principal:
    """The principal if its role is one of ``roles``; else 401 (none) or 403 (other role)."""
    if principal is None:
        raise Problem(401, "unauthorized")
    if principal.role not in roles:
        raise Problem(403, "forbidden",
                      f"role {principal.role!r} may not do this (needs {' or '.join(roles)})")
    return principal


def mint_token(db: Database, settings: Settings, *, name: str, role: str, actor: str,
               request_id: str | None = None) -> str:
    """Create a token in the database (audited) and return it: the only time it is shown."""
    if not _NAME.match(name):
        raise Problem(400, "bad_request",
                      f"token name {name!r}: 1-100 letters, digits, '.', '_', '@' or '-'")
    if role not in ROLES:
        raise Problem(400, "bad_request", f"role {role!r} is not one of {', '.join(ROLES)}")
    if any(t.name == name for t in settings.tokens):
        raise Problem(409, "conflict", f"token {name!r} is defined in the configuration")
    token = new_token()
    with db.write() as session:
        if token_store.get(session, name) is not None:
            raise Problem(409, "conflict", f"a token named {name!r} exists (names are not reused)")
        token_store.create(session, name=name, role=role, sha256=token_sha256(token),
                           actor=actor, request_id=request_id)
    return token


def revoke_token(db: Database, settings: Settings, *, name: str, actor: str,
                 request_id: str | None = None) -> None:
    """Revoke a database token (audited); a configuration token is changed in its file."""
    if any(t.name == name for t in settings.tokens):
        raise Problem(409, "conflict",
                      f"token {name!r} is defined in the configuration; remove it there")
    with db.write() as session:
        if not token_store.revoke(session, name, actor=actor, request_id=request_id):
            raise Problem(404, "not_found", f"no active token named {name!r}")
