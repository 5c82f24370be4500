"""accounts over their life: a per-user token generation

``users.token_generation`` is written into every token the node issues (claim ``gen``); a token
whose generation is not the user's current one is refused. Disabling a user, changing their
password or their role raises it, which ends every token already issued at once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", recreate="auto") as batch_op:
        batch_op.add_column(
            sa.Column("token_generation", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("users", recreate="auto") as batch_op:
        batch_op.drop_column("token_generation")
