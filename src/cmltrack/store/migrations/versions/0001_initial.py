"""Initial schema: patients, assessment cache, audit trail (append-only), tokens, CDS Hooks.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: DELETE refused'); END",
)
_POSTGRESQL_TRIGGERS = (
    "CREATE FUNCTION cmltrack_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit entries are append-only: % refused', TG_OP; END $$",
    "CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit "
    "FOR EACH ROW EXECUTE FUNCTION cmltrack_audit_refuse()",
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION cmltrack_audit_refuse()",
    # The service's own role loses the right too (a superuser keeps it: the triggers still hold).
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM CURRENT_USER",
)


def upgrade() -> None:
    op.create_table(
        "patient",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "assessment_cache",
        sa.Column("patient_id", sa.String(200),
                  sa.ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("options_key", sa.String(400), primary_key=True),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("patient_id", sa.String(200), nullable=True),
        sa.Column("token_name", sa.String(200), nullable=True),
        sa.Column("digest_before", sa.String(71), nullable=True),
        sa.Column("digest_after", sa.String(71), nullable=True),
        sa.Column("request_id", sa.String(100), nullable=True),
        sa.Column("hash", sa.String(71), nullable=False),
    )
    op.create_index("ix_audit_patient_id", "audit", ["patient_id"])
    op.create_index("ix_audit_action", "audit", ["action"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(71), nullable=False),
    )
    op.create_table(
        "api_token",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=True),
    )
    op.create_table(
        "secret",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    op.create_table(
        "cds_jti",
        sa.Column("iss", sa.String(500), primary_key=True),
        sa.Column("jti", sa.String(500), primary_key=True),
        sa.Column("exp", sa.Integer(), nullable=False),
    )
    op.create_index("ix_cds_jti_exp", "cds_jti", ["exp"])
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("card", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("accepted_suggestions", sa.Text(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("outcome_timestamp", sa.String(40), nullable=False),
        sa.Column("iss", sa.String(500), nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_TRIGGERS if dialect == "sqlite" else _POSTGRESQL_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER audit_no_truncate ON audit")
        op.execute("DROP TRIGGER audit_no_update_delete ON audit")
        op.execute("DROP FUNCTION cmltrack_audit_refuse()")
    for table in ("cds_feedback", "cds_jti", "secret", "api_token", "audit_head", "audit",
                  "assessment_cache", "patient"):
        op.drop_table(table)
