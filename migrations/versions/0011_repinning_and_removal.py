"""partners can be re-pinned and removed; what a thief signed stops taking sequence numbers

``partner_keys`` keeps every signing key a partner was pinned to before ``partner repin``: it
still verifies what the partner signed then. ``partners.repinned_at`` is when the current key was
pinned, ``partners.removed_at`` when ``partner remove`` ended the partnership (records kept).
``inbound.distrusted_at`` marks a report signed, after a compromise, by keys the partner no
longer holds; the unique (partner, seq) constraint becomes a unique index over the rows not so
marked, so that the number a thief used is free for the genuine message.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_TRUSTED = sa.text("distrusted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "partner_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("signing_key_id", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=80), nullable=False),
        sa.Column("ed25519_key", sa.LargeBinary(), nullable=False),
        sa.Column("ml_dsa_65_key", sa.LargeBinary(), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unpinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("compromised_since", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_keys_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_keys")),
    )
    with op.batch_alter_table("partner_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_keys_partner_id"), ["partner_id"])
    with op.batch_alter_table("partners", recreate="auto") as batch_op:
        batch_op.add_column(sa.Column("repinned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("inbound", recreate="auto") as batch_op:
        batch_op.add_column(sa.Column("distrusted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint("uq_inbound_partner_id_seq", type_="unique")
    op.create_index("uq_inbound_partner_id_seq_trusted", "inbound", ["partner_id", "seq"],
                    unique=True, sqlite_where=_TRUSTED, postgresql_where=_TRUSTED)  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_inbound_partner_id_seq_trusted", table_name="inbound")
    with op.batch_alter_table("inbound", recreate="auto") as batch_op:
        batch_op.create_unique_constraint("uq_inbound_partner_id_seq", ["partner_id", "seq"])
        batch_op.drop_column("distrusted_at")
    with op.batch_alter_table("partners", recreate="auto") as batch_op:
        batch_op.drop_column("removed_at")
        batch_op.drop_column("repinned_at")
    with op.batch_alter_table("partner_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_keys_partner_id"))
    op.drop_table("partner_keys")
