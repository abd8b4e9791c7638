"""The Alembic migrations build exactly the schema the code describes, on both databases, and
upgrading twice is harmless."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from privbill.service import db


def test_migrations_match_the_table_objects(db_url: str) -> None:
    db.migrate(db_url)
    db.migrate(db_url)  # idempotent
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            tables = set(inspect(conn).get_table_names())
        # procrastinate's own tables (PostgreSQL) are its schema, not ours.
        ours = [d for d in diff if "procrastinate" not in repr(d)]
        assert ours == []
        assert set(db.metadata.tables) <= tables
        if db.is_postgres(db_url):
            assert "procrastinate_jobs" in tables
    finally:
        engine.dispose()
