"""the audit log as a Merkle tree: leaf indices, subtree hashes, checkpoints, witnessing

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 04:10:00

Existing records become the first leaves, in id order (the order they committed in on SQLite,
and the order of their ids on PostgreSQL), hashed exactly as the node hashes new ones
(``crypto.logverify.record_leaf``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_seq"), ["seq"])

    op.create_table(
        "audit_tree",
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_tree")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "audit_cosignatures",
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("witness", sa.String(length=63), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["size"],
            ["audit_checkpoints.size"],
            name=op.f("fk_audit_cosignatures_size_audit_checkpoints"),
        ),
        sa.PrimaryKeyConstraint("size", "witness", name=op.f("pk_audit_cosignatures")),
    )
    op.create_table(
        "witnessed_checkpoints",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cosignature", sa.Text(), nullable=False),
        sa.Column("cosigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_witnessed_checkpoints_partner_id_partners"),
        ),
        sa.PrimaryKeyConstraint("partner_id", "size", name=op.f("pk_witnessed_checkpoints")),
    )
    op.create_table(
        "audit_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_alerts")),
    )
    with op.batch_alter_table("audit_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_alerts_at"), ["at"], unique=False)

    _backfill()


_COLUMNS = (
    "id", "at", "actor_type", "actor", "role", "action", "object_type", "object_id", "outcome",
    "reason", "remote_addr", "policy_version",
)  # fmt: skip


def _backfill() -> None:
    """Sequence the records written before this revision, hashed as the node hashes them
    (``crypto.logverify.record_leaf``, docs/protocol.md section 9), with Core and the columns of
    this revision, so that later model changes do not break it."""
    from datetime import UTC, datetime, timedelta

    from crypto import merkle
    from crypto.logverify import record_leaf
    from service.models import UTCDateTime

    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    bind = op.get_bind()
    events = sa.table(
        "audit_events", sa.column("seq", sa.BigInteger()), sa.column("at", UTCDateTime()),
        *(sa.column(name) for name in _COLUMNS if name != "at"),
    )  # fmt: skip
    tree: dict[tuple[int, int], bytes] = {}
    seqs = []
    rows = bind.execute(sa.select(*(events.c[name] for name in _COLUMNS)).order_by(events.c.id))
    for n, row in enumerate(rows):
        at = (row.at.astimezone(UTC) - epoch) // timedelta(microseconds=1)
        leaf = merkle.leaf_hash(record_leaf({**row._asdict(), "seq": n, "at": at}))
        for level, index, value in merkle.append_updates(n, leaf, lambda lv, ix: tree[(lv, ix)]):
            tree[(level, index)] = value
        seqs.append({"row_id": row.id, "new_seq": n})
    if seqs:
        bind.execute(
            events.update().where(events.c.id == sa.bindparam("row_id")),
            [{"row_id": s["row_id"], "seq": s["new_seq"]} for s in seqs],
        )
        nodes = sa.table("audit_tree", sa.column("level"), sa.column("idx"), sa.column("hash"))
        bind.execute(
            nodes.insert(),
            [{"level": lv, "idx": ix, "hash": value} for (lv, ix), value in tree.items()],
        )
    state = sa.table("node_state", sa.column("name"), sa.column("value"))
    bind.execute(state.insert().values(name="audit_size", value=str(len(seqs))))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM node_state WHERE name = 'audit_size'"))
    with op.batch_alter_table("audit_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_alerts_at"))
    op.drop_table("audit_alerts")
    op.drop_table("witnessed_checkpoints")
    op.drop_table("audit_cosignatures")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_tree")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_seq"), type_="unique")
        batch_op.drop_column("seq")
