"""partners can be suspended: after a compromise of their keys, or while they are re-pinned

``partners.suspended_at`` (None: active) stops sealing and sending to the partner and refuses
what it signs; ``compromised_since`` is when its keys may first have been in other hands (what
it signed from then on is quarantined); ``suspended_reason`` is the administrator's note.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 02:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partners", recreate="auto") as batch_op:
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("compromised_since", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("suspended_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("partners", recreate="auto") as batch_op:
        batch_op.drop_column("suspended_reason")
        batch_op.drop_column("compromised_since")
        batch_op.drop_column("suspended_at")
