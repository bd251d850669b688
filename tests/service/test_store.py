"""The store without HTTP: migrations agree with the models, a newer schema is refused, the
canonical JSON is RFC 8785's, SQLite runs in WAL mode with foreign keys on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from svc_helpers import ROOT

from cmltrack.store import db as dbmod
from cmltrack.store.canonical import canonical_json, digest


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> dbmod.Database:
    if request.param == "sqlite":
        url = dbmod.resolve_url(None, tmp_path / "data")
    else:
        # A schema of its own inside the session's PostgreSQL database would need search_path
        # games: a database per test is simpler and still cheap.
        import secrets

        import psycopg

        name = f"cmltrack_store_{secrets.token_hex(4)}"
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test",
                                 autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        request.addfinalizer(drop)
        url = dbmod.resolve_url(f"postgresql://postgres@127.0.0.1:5432/{name}", tmp_path)
    database = dbmod.connect(url)
    request.addfinalizer(database.dispose)
    return database


def test_migrations_and_models_agree(database: dbmod.Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from cmltrack.store.models import Base

    assert dbmod.upgrade(database) == dbmod.head_revision()
    with database.writer.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert dbmod.upgrade(database) == dbmod.head_revision()  # idempotent


def test_newer_schema_is_refused(database: dbmod.Database) -> None:
    dbmod.upgrade(database)
    with database.writer.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(dbmod.SchemaError, match=r"9999.*0001"):
        dbmod.upgrade(database)


def test_sqlite_pragmas(tmp_path: Path) -> None:
    database = dbmod.connect(dbmod.resolve_url(None, tmp_path / "new" / "folder"))
    try:
        dbmod.upgrade(database)
        with database.read() as s:
            assert s.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
            assert s.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        assert (tmp_path / "new" / "folder" / "cmltrack.sqlite3").exists()
    finally:
        database.dispose()


def test_db_upgrade_command_and_newer_schema_exit_2(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "from cmltrack.cli.app import main; main()", "db", "upgrade",
           "--data-dir", str(tmp_path)]
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert out.returncode == 0 and "revision 0001" in out.stdout
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'cmltrack.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'abc123'"))
    engine.dispose()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "abc123" in out.stderr and "0001" in out.stderr


@pytest.mark.parametrize(("value", "expected"), [
    # RFC 8785 section 3.2.2.3 / appendix B: ECMAScript number forms.
    (400.0, b"400"), (-0.0, b"0"), (1e21, b"1e+21"), (1e-7, b"1e-7"), (0.000001, b"0.000001"),
    (1e16, b"10000000000000000"), (4.5, b"4.5"), (0.1, b"0.1"),
    (2.0**60, b"1152921504606847000"),
    ({"b": 1, "a": [True, None, "\u20ac\n"]}, '{"a":[true,null,"\u20ac\\n"],"b":1}'.encode()),
])
def test_canonical_json(value: object, expected: bytes) -> None:
    assert canonical_json(value) == expected


def test_digest_ignores_key_order_and_number_spelling() -> None:
    a = json.loads('{"id": "P1", "dose": 400, "x": {"b": 1.0, "a": 2}}')
    b = json.loads('{"x": {"a": 2.0, "b": 1}, "dose": 400.0, "id": "P1"}')
    assert digest(a) == digest(b)


@pytest.mark.parametrize(("value", "expected"), [
    # ECMA-262 Number::toString examples and the RFC 8785 appendix B boundary cases.
    (1.5e-7, "1.5e-7"), (0.0000015, "0.0000015"), (123456789.125, "123456789.125"),
    (1.2345678901234568e20, "123456789012345680000"), (1.5e21, "1.5e+21"),
    (-2.5, "-2.5"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (333333333.3333333, "333333333.3333333"), (0.30000000000000004, "0.30000000000000004"),
])
def test_es_number(value: float, expected: str) -> None:
    from cmltrack.store.canonical import es_number

    assert es_number(value) == expected


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_canonical_double_is_the_ecmascript_form(x: float) -> None:
    from cmltrack.store.canonical import es_number

    assert canonical_json(x).decode() == es_number(x)
    assert float(es_number(x)) == x  # and it reads back as the same double


def test_assessment_cache_bulk_write_skips_changed_records(database: dbmod.Database) -> None:
    """store_assessments writes an entry only for a record still at the digest it was computed
    from, replaces an older entry of the same options, and lookup_assessment finds it only for
    the current digest."""
    from cmltrack.store import patients as store

    dbmod.upgrade(database)
    with database.write() as s:
        store.put_record(s, "C1", {"id": "C1"}, "sha256:a", actor="t", request_id=None)
        store.put_record(s, "C2", {"id": "C2"}, "sha256:b", actor="t", request_id=None)
    with database.write() as s:
        written = store.store_assessments(s, [
            ("C1", "k", "sha256:a", '{"v":1}'),
            ("C2", "k", "sha256:old", '{"v":2}'),  # C2 changed since: not written
            ("C3", "k", "sha256:c", '{"v":3}')])   # no such patient: not written
    assert written == 1
    with database.connection() as conn:
        assert store.lookup_assessment(conn, "C1", "k") == ("sha256:a", '{"v":1}')
        assert store.lookup_assessment(conn, "C2", "k") == ("sha256:b", None)
        assert store.lookup_assessment(conn, "C3", "k") is None
    with database.write() as s:
        assert store.store_assessments(s, [("C1", "k", "sha256:a", '{"v":4}')]) == 1
    with database.connection() as conn:
        assert store.lookup_assessment(conn, "C1", "k") == ("sha256:a", '{"v":4}')
    with database.write() as s:  # the record changes: its entry no longer counts
        store.put_record(s, "C1", {"id": "C1", "sex": "F"}, "sha256:a2", actor="t",
                         request_id=None)
    with database.connection() as conn:
        assert store.lookup_assessment(conn, "C1", "k") == ("sha256:a2", None)
