"""TAXII integrations, collections, objects, statuses and drafts; integrations in the audit log

The TAXII surface (``service.taxii``) serves each partner's ``inbox`` and ``sent`` objects from
``taxii_objects`` (one row per object version, sealed at rest, paged by ``added_us``); the
home network's platforms authenticate with ``integrations`` credentials, which the audit log
names with the new actor type ``integration``. Objects of reports received or released before
this revision are added by the node when it next starts (``service.taxii.index.backfill``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ACTOR_TYPES_BEFORE = ("user", "partner", "system", "anonymous")
ACTOR_TYPES = (*ACTOR_TYPES_BEFORE, "integration")


def _actor_types(values: tuple[str, ...]) -> None:
    with op.batch_alter_table("audit_events", recreate="auto") as batch_op:
        batch_op.drop_constraint(op.f("ck_audit_events_actor_type"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_audit_events_actor_type"),
            f"actor_type IN ({', '.join(repr(v) for v in values)})",
        )


def upgrade() -> None:
    _actor_types(ACTOR_TYPES)
    op.create_table(
        "integrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("partners", sa.Text(), nullable=False),
        sa.Column("collections", sa.Text(), nullable=False),
        sa.Column("can_read", sa.Boolean(), nullable=False),
        sa.Column("can_write", sa.Boolean(), nullable=False),
        sa.Column("clearance", sa.String(length=20), nullable=False),
        sa.Column("secret_sha256", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "clearance IN ('clear', 'green', 'amber', 'amber+strict', 'red')",
            name=op.f("ck_integrations_clearance"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrations")),
        sa.UniqueConstraint("name", name=op.f("uq_integrations_name")),
    )
    op.create_table(
        "taxii_collections",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("last_added_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("kind IN ('inbox', 'sent')", name=op.f("ck_taxii_collections_kind")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_taxii_collections_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("partner_id", "kind", name=op.f("pk_taxii_collections")),
    )
    op.create_table(
        "taxii_objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=300), nullable=False),
        sa.Column("object_type", sa.String(length=250), nullable=False),
        sa.Column("spec_version", sa.String(length=8), nullable=False),
        sa.Column("version_us", sa.BigInteger(), nullable=False),
        sa.Column("added_us", sa.BigInteger(), nullable=False),
        sa.Column("tlp_rank", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("body_ct", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("kind IN ('inbox', 'sent')", name=op.f("ck_taxii_objects_kind")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_taxii_objects_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxii_objects")),
        sa.UniqueConstraint(
            "partner_id",
            "kind",
            "object_id",
            "version_us",
            name=op.f("uq_taxii_objects_partner_id_kind_object_id_version_us"),
        ),
    )
    with op.batch_alter_table("taxii_objects", schema=None) as batch_op:
        batch_op.create_index(
            "ix_taxii_objects_partner_id_kind_added_us",
            ["partner_id", "kind", "added_us"],
            unique=False,
        )
        batch_op.create_index(
            "ix_taxii_objects_partner_id_kind_object_type_added_us",
            ["partner_id", "kind", "object_type", "added_us"],
            unique=False,
        )

    op.create_table(
        "taxii_statuses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_count", sa.Integer(), nullable=False),
        sa.Column("success_count", sa.Integer(), nullable=False),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("draft_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_taxii_statuses_integration_id_integrations"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_taxii_statuses_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxii_statuses")),
    )
    with op.batch_alter_table("taxii_statuses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_taxii_statuses_integration_id"), ["integration_id"], unique=False
        )

    op.create_table(
        "drafts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=140), nullable=False),
        sa.Column("source_format", sa.String(length=16), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title_ct", sa.LargeBinary(), nullable=False),
        sa.Column("tlp", sa.String(length=20), nullable=True),
        sa.Column("object_count", sa.Integer(), nullable=False),
        sa.Column("unmarked_count", sa.Integer(), nullable=False),
        sa.Column("body_ct", sa.LargeBinary(), nullable=False),
        sa.Column("changes_ct", sa.LargeBinary(), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'submitted', 'discarded')", name=op.f("ck_drafts_state")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_drafts_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_drafts_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drafts_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    _actor_types(ACTOR_TYPES_BEFORE)
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drafts_created_at"))

    op.drop_table("drafts")
    with op.batch_alter_table("taxii_statuses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_taxii_statuses_integration_id"))

    op.drop_table("taxii_statuses")
    with op.batch_alter_table("taxii_objects", schema=None) as batch_op:
        batch_op.drop_index("ix_taxii_objects_partner_id_kind_object_type_added_us")
        batch_op.drop_index("ix_taxii_objects_partner_id_kind_added_us")

    op.drop_table("taxii_objects")
    op.drop_table("taxii_collections")
    op.drop_table("integrations")
