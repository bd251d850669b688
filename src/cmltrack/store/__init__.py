"""The database: SQLAlchemy 2 models, Alembic migrations shipped in the package, transactions
and the append-only audit trail. Nothing above this package writes SQL.

- :mod:`cmltrack.store.db`: engines (SQLite WAL or PostgreSQL), sessions, migrations;
- :mod:`cmltrack.store.patients`: records, the assessment cache;
- :mod:`cmltrack.store.audit`: the hash-chained audit trail;
- :mod:`cmltrack.store.tokens`, :mod:`cmltrack.store.cds`: API tokens, CDS Hooks state.

Importing this package needs SQLAlchemy (the ``service`` extra); nothing in the core does.
"""
