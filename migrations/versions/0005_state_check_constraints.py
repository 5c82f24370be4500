"""named CHECK constraints on every state, outcome, role and clearance column

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 14:00:00

The allowed values are written out here, not imported: a revision must build the same schema
whatever the code looks like later. A database holding a value outside them (written by hand, or
by a bug) fails this upgrade, naming the constraint: fix the row, then upgrade again.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CHECKS: dict[str, dict[str, tuple[str, ...]]] = {
    "users": {
        "role": ("officer", "releaser", "auditor", "admin"),
        "clearance": ("clear", "green", "amber", "amber+strict", "red"),
    },
    "deliveries": {
        "state": ("held", "queued", "sent", "acknowledged", "refused", "withheld"),
        "outcome": ("allow", "redact", "hold", "deny"),
        "acknowledged_via": ("push", "pull", "courier"),
    },
    "inbound": {"status": ("accepted", "quarantined", "rejected")},
    "audit_events": {
        "outcome": ("allowed", "denied", "error"),
        "actor_type": ("user", "partner", "system", "anonymous"),
    },
}


def _condition(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    # SQLite adds a CHECK constraint by rebuilding the table (batch mode); migrations/env.py
    # runs with foreign keys off and checks them all before COMMIT.
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table, recreate="auto") as batch_op:
            for column, values in columns.items():
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_{column}"), _condition(column, values)
                )


def downgrade() -> None:
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table, recreate="auto") as batch_op:
            for column in columns:
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
