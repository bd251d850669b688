"""Engines, sessions and migrations: the one place that knows which database is behind.

SQLite (the embedded default) runs in WAL mode with foreign keys on and ``synchronous=FULL``,
so a committed write survives a crash of the process or the machine. Its write transactions
start with ``BEGIN IMMEDIATE``: a writer takes the lock before it reads what it will change
(the audit chain's head, a record's digest), so two writers never interleave. PostgreSQL
takes row locks (``SELECT ... FOR UPDATE``) for the same purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from cmltrack.errors import InputError

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_FILE = "cmltrack.sqlite3"


class SchemaError(InputError):
    """The database's schema is newer than this cmltrack (or cannot be read)."""


def resolve_url(db: str | None, data_dir: Path) -> URL:
    """The database URL: ``db`` as given, or the SQLite file in ``data_dir``.

    Only SQLite and PostgreSQL URLs are accepted (``postgresql://`` means psycopg 3).
    """
    if db is None:
        return URL.create("sqlite+pysqlite", database=str(data_dir / SQLITE_FILE))
    try:
        url = make_url(db)
    except ArgumentError:
        raise InputError(f"{db!r} is not a database URL", code="bad_argument",
                         field="db") from None
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise InputError("an in-memory SQLite database is not shared between connections; "
                             "name a file", code="bad_argument", field="db")
        return url.set(drivername="sqlite+pysqlite")
    raise InputError(f"unsupported database {url.get_backend_name()!r} (sqlite or postgresql)",
                     code="bad_argument", field="db")


def _sqlite_engine(url: URL, *, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                           pool_size=8, max_overflow=8)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's BEGIN below, not pysqlite's
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Database:
    """The engines and session factories of one database."""

    url: URL
    reader: Engine
    writer: Engine

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading (never commits)."""
        with Session(self.reader, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A plain connection for one or two quick reads (no ORM session; rolled back)."""
        with self.reader.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back on an exception."""
        with Session(self.writer, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.reader.dispose()
        if self.writer is not self.reader:
            self.writer.dispose()


def connect(url: URL) -> Database:
    """Engines for ``url`` (the SQLite file's folder is created on first start)."""
    if url.get_backend_name() == "sqlite":
        Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
        return Database(url, _sqlite_engine(url, immediate=False),
                        _sqlite_engine(url, immediate=True))
    engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    return Database(url, engine, engine)


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration this cmltrack ships."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    """The revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with db.writer.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database) -> str:
    """Apply pending migrations; refuse a schema newer than the code. Returns the revision."""
    from alembic import command
    from alembic.script import ScriptDirectory

    try:
        current = current_revision(db)
    except OperationalError as exc:
        raise SchemaError(f"cannot open the database: {exc.orig}", code="bad_argument",
                          field="db") from None
    script = ScriptDirectory(str(MIGRATIONS))
    head = head_revision()
    if current is not None and current not in {r.revision for r in script.walk_revisions()}:
        raise SchemaError(
            f"the database schema is at revision {current}, newer than this cmltrack's {head}; "
            "upgrade cmltrack", code="bad_argument", field="db")
    if current != head:
        with db.writer.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
    return head


def ping(db: Database) -> bool:
    """True when the database answers."""
    try:
        with db.reader.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
