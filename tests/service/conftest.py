"""Fixtures of the service tests: one real server per dialect (SQLite, PostgreSQL) for the
session, and a uniquely named PostgreSQL database that is dropped at the end. The helpers live in
svc_helpers, importable under --import-mode=importlib too (this folder goes on sys.path)."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from svc_helpers import Server, configure, pg_available  # noqa: E402


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this session: its SQLAlchemy URL. Dropped after."""
    import psycopg

    if not pg_available():
        pytest.fail("PostgreSQL is not running on 127.0.0.1:5432 (.ci/run starts it)")
    name = f"cmltrack_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test",
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Server]:
    """A running service per dialect (session-scoped)."""
    db_url = "sqlite" if request.param == "sqlite" else request.getfixturevalue("pg_database")
    srv = configure(tmp_path_factory.mktemp(f"serve-{request.param}"), db_url)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


