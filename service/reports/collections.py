"""What the TAXII collections hold: each partner's ``inbox`` (what it sent and an officer here
accepted) and ``sent`` (exactly the copies released to it), object by object.

Objects are added in the transaction that makes them so: a report received and accepted by the
inbound policy (``service.exchange.ingest``), a quarantined one an officer accepts
(``service.reports.quarantine``), a release sealed for the first time (``service.exchange.
outbox``: the released copy, redacted as the policy decided, is fixed then). Each object version
is one ``taxii_objects`` row, sealed at rest under a context naming its unique key.

What is never added, so that no TAXII query can ever serve it:

* reports at TLP:RED (TLP:RED is never served over TAXII);
* received reports whose REL TO list does not name this node (this node's officers may not
  read them either: ``policies.access``).

Each collection's ``taxii_collections`` row is locked while objects are added, and gives every
object a ``date_added`` one microsecond after the previous one: a collection's objects become
visible in the order of their dates, so a client polling with ``added_after`` never misses one.
The serving side is ``service.taxii``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from policies import TLP
from service.atrest import SealedColumn
from service.models import Delivery, Inbound, NodeState, TaxiiCollection, TaxiiObject
from service.node import Node
from service.reports.access import ReportMarking
from service.reports.content import own_body, received_bundle, released_body
from service.reports.states import InboundStatus

INBOX, SENT = "inbox", "sent"
KINDS = (INBOX, SENT)
_TIMESTAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z")
BACKFILL_STATE = "taxii.backfilled"


def object_context(partner_id: int, kind: str, object_id: str, version_us: int) -> str:
    return f"taxii_objects.body_ct/{partner_id}/{kind}/{object_id}/{version_us}"


SEALED_COLUMNS = (
    SealedColumn(TaxiiObject, "body_ct",
                 lambda row: object_context(row.partner_id, row.kind, row.object_id,
                                            row.version_us),
                 ("partner_id", "kind", "object_id", "version_us")),
)  # fmt: skip
"""What this module seals with the data keys (``service.atrest.reseal``)."""


def timestamp_us(value: object) -> int | None:
    """A STIX timestamp (``2026-12-03T10:00:00.123Z``, any sub-second precision) in microseconds
    since the epoch, or None if it is not one (digits past the sixth are dropped)."""
    if not isinstance(value, str) or not (m := _TIMESTAMP.fullmatch(value)):
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in m.groups()[:6])
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    fraction = (m.group(7) or "")[:6].ljust(6, "0")
    return int(moment.timestamp()) * 1_000_000 + int(fraction)


def format_us(us: int, *, exact: bool = False) -> str:
    """Microseconds since the epoch as a STIX/TAXII timestamp: milliseconds when that loses
    nothing (an object's version, as its producer wrote it), else microseconds; ``exact``
    always gives microseconds, so that dates of one collection also sort as strings."""
    moment = datetime.fromtimestamp(us // 1_000_000, UTC)
    rest = us % 1_000_000
    fraction = f"{rest // 1000:03d}" if rest % 1000 == 0 and not exact else f"{rest:06d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction}Z"


def servable(tlp: TLP) -> bool:
    return tlp < TLP.RED


def add_objects(
    session: Session,
    node: Node,
    *,
    partner_id: int,
    kind: str,
    objects: Iterable[Mapping[str, Any]],
    tlp: TLP,
    source: str,
) -> int:
    """Add ``objects`` (from one report marked ``tlp``) to a collection; an object version it
    already holds is kept as it is. Returns how many rows were offered.

    Raises:
        ValueError: ``kind`` is not a collection, or ``tlp`` is TLP:RED.
    """
    if kind not in KINDS:
        raise ValueError(f"no TAXII collection {kind!r}")
    if not servable(tlp):
        raise ValueError("TLP:RED objects are never added to a TAXII collection")
    objects = list(objects)
    if not objects:
        return 0
    collection = _locked_collection(session, partner_id, kind)
    now_us = int(node.clock() * 1_000_000)
    added = max(now_us, collection.last_added_us + 1)
    rows = []
    for index, obj in enumerate(objects):
        date_added = added + index
        version = timestamp_us(obj.get("modified")) or timestamp_us(obj.get("created"))
        version_us = version if version is not None else date_added
        object_id = str(obj["id"])
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        rows.append({
            "partner_id": partner_id, "kind": kind, "object_id": object_id,
            "object_type": str(obj["type"]), "spec_version": str(obj.get("spec_version", "2.1")),
            "version_us": version_us, "added_us": date_added, "tlp_rank": tlp.rank,
            "source": source[:128],
            "body_ct": node.data_key.seal(body, object_context(partner_id, kind, object_id,
                                                               version_us)),
        })  # fmt: skip
    collection.last_added_us = added + len(objects) - 1
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    session.execute(insert(TaxiiObject).on_conflict_do_nothing(), rows)
    return len(rows)


def _locked_collection(session: Session, partner_id: int, kind: str) -> TaxiiCollection:
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    session.execute(
        insert(TaxiiCollection)
        .values(partner_id=partner_id, kind=kind, last_added_us=0)
        .on_conflict_do_nothing()
    )
    row = session.scalar(
        select(TaxiiCollection)
        .where(TaxiiCollection.partner_id == partner_id, TaxiiCollection.kind == kind)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def readable_here(node: Node, row_marking: ReportMarking) -> bool:
    """A received report this node's officers may read at some clearance (its REL TO list, if
    any, names this node, or it is this node's own report coming back) and not TLP:RED."""
    if not servable(row_marking.tlp):
        return False
    rel_to = row_marking.rel_to
    return row_marking.authored_here or rel_to is None or node.node_id in rel_to


def add_inbound(session: Session, node: Node, row: Inbound, bundle: Mapping[str, Any]) -> int:
    """Add an accepted received report's objects to its sender's ``inbox`` (nothing for a
    quarantined or rejected one, a TLP:RED one, or one not releasable to this node)."""
    row_marking = ReportMarking.of(row.tlp, row.rel_to, authored_here=row.authored_here)
    if row.status != InboundStatus.ACCEPTED or not readable_here(node, row_marking):
        return 0
    return add_objects(session, node, partner_id=row.partner_id, kind=INBOX,
                       objects=bundle.get("objects", ()), tlp=row_marking.tlp,
                       source=row.id)  # fmt: skip


def remove_inbound(session: Session, inbound_ids: Iterable[str]) -> int:
    """Take received reports out of their sender's ``inbox`` collection again (they went back
    to quarantine); returns how many object rows went. A TAXII client that already read them
    keeps its copy: the collection stops serving them."""
    ids = list(inbound_ids)
    if not ids:
        return 0
    gone = session.execute(
        delete(TaxiiObject).where(TaxiiObject.kind == INBOX, TaxiiObject.source.in_(ids))
    )
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]


def add_release(session: Session, node: Node, delivery: Delivery, body: bytes) -> int:
    """Add the copy released to a partner (``body``, as sealed for it) to its ``sent``
    collection, at the report's TLP (nothing for TLP:RED)."""
    tlp = TLP.from_label(delivery.report.tlp)
    if not servable(tlp):
        return 0
    bundle = json.loads(body)
    return add_objects(session, node, partner_id=delivery.partner_id, kind=SENT,
                       objects=bundle.get("objects", ()), tlp=tlp,
                       source=delivery.message_id)  # fmt: skip


def backfill(session: Session, node: Node) -> int:
    """Once per node: add what was accepted or sealed before the TAXII surface existed
    (migration 0007). Returns how many objects were offered."""
    if session.get(NodeState, BACKFILL_STATE) is not None:
        return 0
    count = 0
    accepted = select(Inbound).where(Inbound.status == InboundStatus.ACCEPTED)
    for row in session.scalars(accepted.order_by(Inbound.received_at, Inbound.id)):
        count += add_inbound(session, node, row, received_bundle(node, row))
    sealed = select(Delivery).where(Delivery.envelope.is_not(None))
    for delivery in session.scalars(sealed.order_by(Delivery.sent_at, Delivery.id)):
        count += add_release(
            session, node, delivery, released_body(node, delivery, own_body(node, delivery.report))
        )
    session.add(NodeState(name=BACKFILL_STATE, value=node.utcnow().isoformat()))
    return count
