"""task queue: procrastinate's schema on PostgreSQL

On PostgreSQL the verification jobs live in procrastinate's tables, in the same database as the
bills, so that a bill row and its job are written in one transaction. SQLite needs nothing: its
local queue is the ``bills`` table itself (status ``pending`` and a lease).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs",
                  "procrastinate_workers"):  # fmt: skip
        bind.exec_driver_sql(f"DROP TABLE IF EXISTS {table} CASCADE")
