"""API tokens an admin created, by name; only their SHA-256 is stored."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmltrack.store import audit
from cmltrack.store.models import ApiToken, Secret


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What is known of a token without the token itself."""

    name: str
    role: str
    created_at: str | None
    created_by: str | None
    revoked_at: str | None
    source: str  # "database" or "config"


def _info(t: ApiToken) -> TokenInfo:
    return TokenInfo(t.name, t.role, t.created_at, t.created_by, t.revoked_at, "database")


def find_by_hash(session: Session, sha256: str) -> TokenInfo | None:
    """The active token with this hash, or None."""
    t = session.execute(
        select(ApiToken).where(ApiToken.sha256 == sha256, ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    return None if t is None else _info(t)


def get(session: Session, name: str) -> TokenInfo | None:
    t = session.get(ApiToken, name)
    return None if t is None else _info(t)


def list_tokens(session: Session) -> list[TokenInfo]:
    return [_info(t) for t in session.execute(select(ApiToken).order_by(ApiToken.name)).scalars()]


def create(session: Session, *, name: str, role: str, sha256: str, actor: str,
           request_id: str | None) -> TokenInfo:
    """Store a new token's hash (the caller checked the name is free); audited."""
    t = ApiToken(name=name, role=role, sha256=sha256, created_at=audit.now_utc(),
                 created_by=actor, revoked_at=None)
    session.add(t)
    session.flush()
    audit.append(session, actor=actor, action="token_create", token_name=name,
                 request_id=request_id)
    return _info(t)


def revoke(session: Session, name: str, *, actor: str, request_id: str | None) -> bool:
    """Revoke an active token; False when there is none of that name. Audited."""
    t = session.execute(
        select(ApiToken).where(ApiToken.name == name).with_for_update()
    ).scalar_one_or_none()
    if t is None or t.revoked_at is not None:
        return False
    t.revoked_at = audit.now_utc()
    audit.append(session, actor=actor, action="token_revoke", token_name=name,
                 request_id=request_id)
    return True


def server_secret(session: Session, name: str) -> str:
    """A random secret kept in the database, created on first use (hex, 256 bits)."""
    row = session.get(Secret, name)
    if row is None:
        row = Secret(name=name, value=secrets.token_hex(32))
        session.add(row)
        session.flush()
    return row.value
