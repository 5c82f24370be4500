"""what a partner's keys signed while they were in other hands stops counting

``audit_cosignatures.distrusted_at`` (None: counts) is set when the partner is suspended with
``--compromised-since`` for every cosignature it gave from then on: kept, as evidence, but no
longer counted by verification, proofs or the checkpoint pages. ``witnessed_checkpoints.
distrusted_at`` likewise for the partner's checkpoints this node cosigned from then on: a thief's
checkpoint no longer stands as the size and root the genuine log must extend.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 02:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_cosignatures", recreate="auto") as batch_op:
        batch_op.add_column(sa.Column("distrusted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("witnessed_checkpoints", recreate="auto") as batch_op:
        batch_op.add_column(sa.Column("distrusted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("witnessed_checkpoints", recreate="auto") as batch_op:
        batch_op.drop_column("distrusted_at")
    with op.batch_alter_table("audit_cosignatures", recreate="auto") as batch_op:
        batch_op.drop_column("distrusted_at")
