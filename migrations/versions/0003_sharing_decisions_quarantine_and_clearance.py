"""sharing policy decisions, quarantine and clearance

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 03:23:56.153140
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_objects",
        sa.Column("inbound_id", sa.String(length=36), nullable=False),
        sa.Column("object_id", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbound.id"], name=op.f("fk_inbound_objects_inbound_id_inbound")
        ),
        sa.PrimaryKeyConstraint("inbound_id", "object_id", name=op.f("pk_inbound_objects")),
    )
    with op.batch_alter_table("inbound_objects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_objects_object_id"), ["object_id"], unique=False
        )

    op.create_table(
        "report_objects",
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("object_id", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_objects_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("report_id", "object_id", name=op.f("pk_report_objects")),
    )
    with op.batch_alter_table("report_objects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_objects_object_id"), ["object_id"], unique=False
        )

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_version", sa.String(length=80), nullable=True))

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("outcome", sa.String(length=16), server_default="allow", nullable=False)
        )
        batch_op.add_column(sa.Column("policy_version", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("decision", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("body_ct", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("review_note", sa.Text(), nullable=True))
        batch_op.alter_column("seq", existing_type=sa.BIGINT(), nullable=True)

    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="accepted", nullable=False)
        )
        batch_op.add_column(sa.Column("rel_to", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("authored_here", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("policy_version", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("decision", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("review_note", sa.Text(), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "clearance", sa.String(length=20), server_default="amber+strict", nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("clearance")

    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.drop_column("review_note")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("decision")
        batch_op.drop_column("policy_version")
        batch_op.drop_column("authored_here")
        batch_op.drop_column("rel_to")
        batch_op.drop_column("status")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BIGINT(), nullable=False)
        batch_op.drop_column("review_note")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("body_ct")
        batch_op.drop_column("decision")
        batch_op.drop_column("policy_version")
        batch_op.drop_column("outcome")

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("policy_version")

    with op.batch_alter_table("report_objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_objects_object_id"))

    op.drop_table("report_objects")
    with op.batch_alter_table("inbound_objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_objects_object_id"))

    op.drop_table("inbound_objects")
