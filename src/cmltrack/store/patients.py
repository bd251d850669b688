"""Patient records in the database: read, store or replace, delete, each change audited.

The functions take a session whose transaction the caller commits; the audit entry is added
in the same transaction, so a change and its entry are committed together or not at all.
Records arrive validated (the service validates them as ``cmltrack assess`` does); here they
are JSON objects and their digests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, cast

import orjson
from sqlalchemy import (
    Connection,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cmltrack.store import audit
from cmltrack.store.models import AssessmentCache, Patient

PutStatus = Literal["created", "replaced", "unchanged"]


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as stored: its JSON object and digest."""

    id: str
    data: dict[str, Any]
    digest: str


class PreconditionFailed(Exception):
    """``If-Match`` names another digest than the stored one (HTTP 412)."""


class NotFound(Exception):
    """No patient with that id (HTTP 404)."""


def _check_if_match(if_match: str | None, stored: Patient | None) -> None:
    if if_match is None:
        return
    tags = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
    if "*" in tags and stored is not None:
        return
    if stored is None or stored.digest not in tags:
        raise PreconditionFailed()


def _locked(session: Session, patient_id: str) -> Patient | None:
    return session.execute(
        select(Patient).where(Patient.id == patient_id).with_for_update()
    ).scalar_one_or_none()


def list_digests(session: Session) -> list[tuple[str, str]]:
    """(id, digest) of every stored record in id order, without reading the records (the web
    worklist's cheap check of what changed)."""
    rows = session.execute(select(Patient.id, Patient.digest).order_by(Patient.id)).all()
    return [(r.id, r.digest) for r in rows]


def get_record(session: Session, patient_id: str) -> StoredRecord | None:
    """The stored record, or None."""
    row = session.execute(
        select(Patient.record, Patient.digest).where(Patient.id == patient_id)
    ).one_or_none()
    if row is None:
        return None
    return StoredRecord(patient_id, orjson.loads(row.record), row.digest)


def get_digest(session: Session, patient_id: str) -> str | None:
    """The stored record's digest, or None (cheaper than the record)."""
    return session.execute(
        select(Patient.digest).where(Patient.id == patient_id)
    ).scalar_one_or_none()


def iter_records(session: Session, batch: int = 500) -> Iterator[StoredRecord]:
    """Every stored record in id order, read in batches."""
    q = select(Patient.id, Patient.record, Patient.digest)
    for r in _by_id(session, q, batch):
        yield StoredRecord(r.id, orjson.loads(r.record), r.digest)


def _by_id(session: Session, q: Select[*tuple[Any, ...]], batch: int
           ) -> Iterator[Row[*tuple[Any, ...]]]:
    """The rows of ``q`` in patient-id order, read ``batch`` at a time by keyset pagination
    (each batch starts after the last id seen, so no offset is scanned again)."""
    last: str | None = None
    while True:
        page = q.order_by(Patient.id).limit(batch)
        if last is not None:
            page = page.where(Patient.id > last)
        rows = session.execute(page).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def put_record(
    session: Session,
    patient_id: str,
    data: dict[str, Any],
    digest: str,
    *,
    actor: str,
    request_id: str | None,
    if_match: str | None = None,
    imported: bool = False,
) -> PutStatus:
    """Store or replace one record; an equal digest changes nothing (no audit entry)."""
    stored = _locked(session, patient_id)
    _check_if_match(if_match, stored)
    now = audit.now_utc()
    if stored is None:
        session.add(Patient(id=patient_id, record=orjson.dumps(data).decode(), digest=digest,
                            created_at=now, updated_at=now))
        audit.append(session, actor=actor, action="import_create" if imported else "create",
                     patient_id=patient_id, digest_after=digest, request_id=request_id)
        return "created"
    if stored.digest == digest:
        return "unchanged"
    before = stored.digest
    _replace(session, stored, data, digest, now)
    audit.append(session, actor=actor, action="import_replace" if imported else "replace",
                 patient_id=patient_id, digest_before=before, digest_after=digest,
                 request_id=request_id)
    return "replaced"


def put_records(
    session: Session,
    items: list[tuple[str, dict[str, Any], str]],
    *,
    actor: str,
    request_id: str | None,
) -> list[PutStatus]:
    """Store or replace several records (distinct ids) in one transaction, as an import does:
    statuses in order; audit actions ``import_create`` / ``import_replace``; equal digests
    change nothing. The same effect as :func:`put_record` per item, in bulk statements."""
    ids = [pid for pid, _, _ in items]
    table = cast(Table, Patient.__table__)
    stored: dict[str, str] = {r.id: r.digest for r in session.execute(
        select(Patient.id, Patient.digest).where(Patient.id.in_(ids)).with_for_update())}
    now = audit.now_utc()
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    trail: list[dict[str, Any]] = []
    statuses: list[PutStatus] = []
    for pid, data, digest in items:
        old = stored.get(pid)
        if old is None:
            new.append({"id": pid, "record": orjson.dumps(data).decode(), "digest": digest,
                        "created_at": now, "updated_at": now})
            trail.append({"action": "import_create", "patient_id": pid, "digest_after": digest})
            statuses.append("created")
        elif old == digest:
            statuses.append("unchanged")
        else:
            trail.append({"action": "import_replace", "patient_id": pid,
                          "digest_before": old, "digest_after": digest})
            changed.append({"b_id": pid, "b_record": orjson.dumps(data).decode(),
                            "b_digest": digest})
            statuses.append("replaced")
    # Core statements, many rows each (executemany): no ORM objects for a bulk import.
    if new:
        session.execute(insert(table), new)
    if changed:
        session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
            record=bindparam("b_record"), digest=bindparam("b_digest"), updated_at=now),
            changed)
        session.execute(delete(AssessmentCache).where(
            AssessmentCache.patient_id.in_([c["b_id"] for c in changed])))
    audit.append_many(session, trail, actor=actor, request_id=request_id)
    return statuses


def _replace(session: Session, stored: Patient, data: dict[str, Any], digest: str,
             now: str) -> None:
    stored.record = orjson.dumps(data).decode()
    stored.digest = digest
    stored.updated_at = now
    session.execute(delete(AssessmentCache).where(AssessmentCache.patient_id == stored.id))


def add_observation(
    session: Session,
    patient_id: str,
    data: dict[str, Any],
    digest: str,
    *,
    expected_digest: str,
    actor: str,
    request_id: str | None,
) -> None:
    """Replace the record by ``data`` (the stored one with an observation appended).

    ``expected_digest`` is the digest the caller appended to: if the record changed meanwhile,
    PreconditionFailed (the caller retries or answers 412).
    """
    stored = _locked(session, patient_id)
    if stored is None:
        raise NotFound()
    if stored.digest != expected_digest:
        raise PreconditionFailed()
    _replace(session, stored, data, digest, audit.now_utc())
    audit.append(session, actor=actor, action="add_observation", patient_id=patient_id,
                 digest_before=expected_digest, digest_after=digest, request_id=request_id)


def delete_record(
    session: Session, patient_id: str, *, actor: str, request_id: str | None,
    if_match: str | None = None,
) -> None:
    """Remove the record and its cached assessments; the audit entries stay."""
    stored = _locked(session, patient_id)
    if stored is None:
        raise NotFound()
    _check_if_match(if_match, stored)
    before = stored.digest
    session.execute(delete(AssessmentCache).where(AssessmentCache.patient_id == patient_id))
    session.delete(stored)
    session.flush()
    audit.append(session, actor=actor, action="delete", patient_id=patient_id,
                 digest_before=before, request_id=request_id)


_LOOKUP = (
    select(Patient.digest, AssessmentCache.body)
    .outerjoin(AssessmentCache, and_(AssessmentCache.patient_id == Patient.id,
                                     AssessmentCache.options_key == bindparam("key"),
                                     AssessmentCache.digest == Patient.digest))
    .where(Patient.id == bindparam("pid"))
)


def lookup_assessment(conn: Connection | Session, patient_id: str, options_key: str
                      ) -> tuple[str, str | None] | None:
    """(digest, cached assessment JSON or None) of a stored record in one indexed query (the
    cache's primary key is (patient, options) and the row counts only for the current digest);
    None when there is no such patient."""
    row = conn.execute(_LOOKUP, {"pid": patient_id, "key": options_key}).one_or_none()
    return None if row is None else (row[0], row[1])


def iter_with_assessments(session: Session, options_key: str, batch: int = 500
                          ) -> Iterator[tuple[StoredRecord, str | None]]:
    """Every stored record in id order with its cached assessment for ``options_key`` (None
    when the cache has none for the record's current digest), read in batches: one query per
    batch instead of one per patient."""
    q = (select(Patient.id, Patient.record, Patient.digest, AssessmentCache.body)
         .outerjoin(AssessmentCache, and_(AssessmentCache.patient_id == Patient.id,
                                          AssessmentCache.options_key == options_key,
                                          AssessmentCache.digest == Patient.digest)))
    for r in _by_id(session, q, batch):
        yield StoredRecord(r.id, orjson.loads(r.record), r.digest), r.body


def get_records(session: Session, ids: list[str]) -> list[StoredRecord]:
    """The stored records of these ids (those that exist), in id order."""
    out: list[StoredRecord] = []
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Patient.id, Patient.record, Patient.digest)
            .where(Patient.id.in_(ids[start:start + 500])).order_by(Patient.id)).all()
        out.extend(StoredRecord(r.id, orjson.loads(r.record), r.digest) for r in rows)
    out.sort(key=lambda r: r.id)
    return out


def store_assessments(session: Session, items: list[tuple[str, str, str, str]]) -> int:
    """Cache assessments, ``(patient_id, options_key, digest, body)`` each, in bulk: one query
    for the current digests and one upsert (``INSERT ... ON CONFLICT DO UPDATE``) for those
    whose record has not changed since they were computed. Returns how many were written."""
    ids = sorted({pid for pid, _, _, _ in items})
    current: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        current.update((r.id, r.digest) for r in session.execute(
            select(Patient.id, Patient.digest).where(Patient.id.in_(ids[start:start + 500]))))
    rows = [{"patient_id": pid, "options_key": key, "digest": digest, "body": body}
            for pid, key, digest, body in items if current.get(pid) == digest]
    if rows:
        dialect = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = dialect(cast(Table, AssessmentCache.__table__))
        session.execute(stmt.on_conflict_do_update(
            index_elements=["patient_id", "options_key"],
            set_={"digest": stmt.excluded.digest, "body": stmt.excluded.body}), rows)
    return len(rows)
