"""CDS Hooks state: JWT ids seen (replay defence, across workers and restarts) and feedback."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cmltrack.store import audit
from cmltrack.store.models import CdsFeedback, CdsJti

#: Expired JWT ids are removed at most this often (seconds), not on every call.
PURGE_EVERY_S = 60
_last_purge = [0]


def remember_jti(session: Session, iss: str, jti: str, exp: int, now: int) -> bool:
    """Record a JWT id; False when this issuer used it before (a replay).

    One ``INSERT ... ON CONFLICT DO NOTHING``: the primary key (iss, jti) decides, also between
    workers racing on the same id.
    """
    if now - _last_purge[0] >= PURGE_EVERY_S:
        session.execute(delete(CdsJti).where(CdsJti.exp < now - 60))
        _last_purge[0] = now
    bind = session.get_bind()
    dialect = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    added = session.execute(dialect(CdsJti).values(iss=iss, jti=jti, exp=exp)
                            .on_conflict_do_nothing(index_elements=["iss", "jti"])
                            .returning(CdsJti.jti)).first()
    return added is not None


def store_feedback(session: Session, service_id: str, iss: str,
                   items: list[dict[str, Any]]) -> None:
    """Store feedback items (already checked for shape)."""
    now = audit.now_utc()
    for item in items:
        session.add(CdsFeedback(
            service_id=service_id, card=item["card"], outcome=item["outcome"],
            accepted_suggestions=json.dumps(item.get("acceptedSuggestions") or []),
            override_reason=(json.dumps(item["overrideReason"])
                             if item.get("overrideReason") is not None else None),
            outcome_timestamp=item["outcomeTimestamp"], iss=iss, received_at=now,
        ))


def list_feedback(session: Session, service_id: str | None = None) -> list[dict[str, Any]]:
    q = select(CdsFeedback).order_by(CdsFeedback.id)
    if service_id is not None:
        q = q.where(CdsFeedback.service_id == service_id)
    return [
        {"service_id": f.service_id, "card": f.card, "outcome": f.outcome,
         "acceptedSuggestions": json.loads(f.accepted_suggestions),
         "overrideReason": json.loads(f.override_reason) if f.override_reason else None,
         "outcomeTimestamp": f.outcome_timestamp, "iss": f.iss}
        for f in session.execute(q).scalars()
    ]
