"""The audit trail: one entry per accepted change, chained by hash, never changed.

Each entry's ``hash`` is the SHA-256 of the previous entry's hash and the entry's canonical
JSON (without its own hash), so an entry edited or removed outside the API breaks the chain
(:func:`verify_chain` finds where). The triggers of the first migration refuse UPDATE and
DELETE on the table in SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from cmltrack.store.canonical import canonical_json
from cmltrack.store.models import AuditEntry, AuditHead

ACTIONS = ("create", "replace", "delete", "add_observation", "import_create", "import_replace",
           "token_create", "token_revoke")
GENESIS = "sha256:" + "0" * 64


def now_utc() -> str:
    """The current time as the audit trail writes it: ISO 8601, milliseconds, ``Z``."""
    t = dt.datetime.now(dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    """An entry in the JSON shape of the service contract."""
    out: dict[str, Any] = {
        "seq": entry.seq, "time": entry.time, "actor": entry.actor, "action": entry.action,
        "patient_id": entry.patient_id, "digest_before": entry.digest_before,
        "digest_after": entry.digest_after, "request_id": entry.request_id,
    }
    if entry.token_name is not None:
        out["token_name"] = entry.token_name
    out["hash"] = entry.hash
    return out


def chain_hash(previous: str, body: dict[str, Any]) -> str:
    """``sha256:`` + hex SHA-256 of the previous hash and the entry's canonical JSON."""
    h = hashlib.sha256(previous.encode("ascii"))
    h.update(canonical_json({k: v for k, v in body.items() if k != "hash"}))
    return "sha256:" + h.hexdigest()


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    patient_id: str | None = None,
    token_name: str | None = None,
    digest_before: str | None = None,
    digest_after: str | None = None,
    request_id: str | None = None,
) -> AuditEntry:
    """Add one entry in the caller's transaction (which commits it with the change)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    head = _locked_head(session)
    entry = AuditEntry(
        seq=head.seq + 1, time=now_utc(), actor=actor, action=action, patient_id=patient_id,
        token_name=token_name, digest_before=digest_before, digest_after=digest_after,
        request_id=request_id, hash="",
    )
    entry.hash = chain_hash(head.hash, entry_dict(entry))
    session.add(entry)
    head.seq, head.hash = entry.seq, entry.hash
    return entry


def _locked_head(session: Session) -> AuditHead:
    """The chain's head row, locked for this transaction (made at genesis the first time)."""
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    return head


def append_many(session: Session, rows: list[dict[str, Any]], *, actor: str,
                request_id: str | None) -> None:
    """Add one entry per row (``action``, ``patient_id``, ``digest_before``, ``digest_after``)
    in the caller's transaction, chained in order: one head read and one bulk insert."""
    if not rows:
        return
    head = _locked_head(session)
    seq, previous = head.seq, head.hash
    time = now_utc()
    entries: list[dict[str, Any]] = []
    for row in rows:
        if row["action"] not in ACTIONS:
            raise ValueError(f"unknown audit action {row['action']!r}")
        seq += 1
        body = {"seq": seq, "time": time, "actor": actor, "action": row["action"],
                "patient_id": row.get("patient_id"), "digest_before": row.get("digest_before"),
                "digest_after": row.get("digest_after"), "request_id": request_id}
        previous = chain_hash(previous, body)
        entries.append({**body, "token_name": None, "hash": previous})
    session.execute(insert(cast(Table, AuditEntry.__table__)), entries)
    head.seq, head.hash = seq, previous


def list_entries(
    session: Session,
    *,
    patient_id: str | None = None,
    action: str | None = None,
    since: str | None = None,
    after_seq: int | None = None,
    limit: int = 100,
) -> tuple[list[dict[str, Any]], int | None]:
    """Entries in ``seq`` order and the ``after_seq`` of the next page (None at the end)."""
    q = select(AuditEntry).order_by(AuditEntry.seq)
    if patient_id is not None:
        q = q.where(AuditEntry.patient_id == patient_id)
    if action is not None:
        q = q.where(AuditEntry.action == action)
    if since is not None:
        q = q.where(AuditEntry.time >= since)
    if after_seq is not None:
        q = q.where(AuditEntry.seq > after_seq)
    rows = list(session.execute(q.limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return [entry_dict(r) for r in rows], (rows[-1].seq if more and rows else None)


def verify_chain(entries: Sequence[dict[str, Any]], previous: str = GENESIS) -> int | None:
    """The seq of the first entry whose hash does not follow from its predecessor, or None."""
    for e in entries:
        if chain_hash(previous, e) != e["hash"]:
            return int(e["seq"])
        previous = e["hash"]
    return None
