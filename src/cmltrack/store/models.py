"""The database schema as SQLAlchemy 2 typed models.

The migrations in ``migrations/versions`` create exactly this schema (a test compares them).
A patient's record is stored whole, as the JSON last accepted (observations added later are
appended to it), with its digest: the record is the unit the rules judge, and storing it
whole keeps a replace atomic and the digest cheap to compare.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every table cmltrack owns."""


class Patient(Base):
    """One patient record, as last accepted."""

    __tablename__ = "patient"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    record: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(71))
    created_at: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))


class AssessmentCache(Base):
    """An assessment computed from a record digest and the options' key (removed on write)."""

    __tablename__ = "assessment_cache"

    patient_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True
    )
    options_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    digest: Mapped[str] = mapped_column(String(71))
    body: Mapped[str] = mapped_column(Text)


class AuditEntry(Base):
    """The append-only audit trail: triggers refuse UPDATE and DELETE on this table."""

    __tablename__ = "audit"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    patient_id: Mapped[str | None] = mapped_column(String(200), index=True)
    token_name: Mapped[str | None] = mapped_column(String(200))
    digest_before: Mapped[str | None] = mapped_column(String(71))
    digest_after: Mapped[str | None] = mapped_column(String(71))
    request_id: Mapped[str | None] = mapped_column(String(100))
    hash: Mapped[str] = mapped_column(String(71))


class AuditHead(Base):
    """The latest audit entry's seq and hash: one row, locked by each appender."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(71))


class ApiToken(Base):
    """An API token an admin created (tokens from the configuration are not stored here)."""

    __tablename__ = "api_token"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[str | None] = mapped_column(String(32))


class Secret(Base):
    """Server-side secrets (the cohort pseudonym key), created once per database."""

    __tablename__ = "secret"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class CdsJti(Base):
    """JWT ids seen from each CDS client, kept until the token expires (replay defence)."""

    __tablename__ = "cds_jti"

    iss: Mapped[str] = mapped_column(String(500), primary_key=True)
    jti: Mapped[str] = mapped_column(String(500), primary_key=True)
    exp: Mapped[int] = mapped_column(Integer, index=True)


class CdsFeedback(Base):
    """One CDS Hooks feedback item as the EHR sent it."""

    __tablename__ = "cds_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(100))
    card: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20))
    accepted_suggestions: Mapped[str] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)
    outcome_timestamp: Mapped[str] = mapped_column(String(40))
    iss: Mapped[str] = mapped_column(String(500))
    received_at: Mapped[str] = mapped_column(String(32))


Index("ix_audit_action", AuditEntry.action)
