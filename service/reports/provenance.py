"""Where a report's objects come from: written here, or received from a partner.

STIX object ids are global and stable, and the sharing engine keeps them in released bundles,
so they tell the node which of its partners' reports a submission passes on:

* ``inbound_objects`` holds the ids of every report received (ids only, as ``bundle_id`` is).
  A submission holding one of them passes on that partner's report, which the third-party rule
  governs, with the marking the partner gave it *as received*: relabelling, stripping markings
  or re-wrapping the objects in a new bundle changes nothing.
* ``report_objects`` holds the ids first written here: those of a submission that were not
  received from a partner. A partner returning a bundle made only of them returns our own report
  (``authored_here`` in the inbound and access rules). Ids received first are never recorded as
  ours, so passing a partner's report on twice does not launder it.

Marking and extension definitions are left out: they carry no intelligence, and the TLP 2.0
definitions have the same ids everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from policies import TLP, Origin
from service.models import Inbound, InboundObject, ReportObject
from service.reports.access import parse_rel_to_column

NOT_TRACKED = frozenset({"marking-definition", "extension-definition"})
_BATCH = 500


def object_ids(bundle: Mapping[str, Any]) -> list[str]:
    """The ids of the bundle's objects that provenance tracks, each once, in bundle order."""
    seen: dict[str, None] = {}
    objects = bundle.get("objects")
    for obj in objects if isinstance(objects, list) else []:
        if not isinstance(obj, dict) or obj.get("type") in NOT_TRACKED:
            continue
        ident = obj.get("id")
        if isinstance(ident, str) and len(ident) <= 300:
            seen.setdefault(ident, None)
    return list(seen)


def _batches(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _BATCH):
        yield ids[start : start + _BATCH]


def received_from(session: Session, ids: list[str]) -> list[Inbound]:
    """The received reports (other than our own returned to us) holding any of ``ids``."""
    found: dict[str, Inbound] = {}
    for batch in _batches(ids):
        rows = session.scalars(
            select(Inbound)
            .join(InboundObject, InboundObject.inbound_id == Inbound.id)
            .where(InboundObject.object_id.in_(batch), Inbound.authored_here.is_(False))
        )
        for row in rows:
            found.setdefault(row.id, row)
    return sorted(found.values(), key=lambda row: (row.received_at, row.id))


def origins_of(session: Session, ids: list[str]) -> list[Origin]:
    """The origins to judge a submission of ``ids`` under: one per distinct partner marking of
    the received reports it draws on, or ``[Origin.local()]`` if it draws on none. Objects
    written here first stay ours even where a partner's report quotes them."""
    mine = ours(session, ids)
    origins: dict[Origin, None] = {}
    for row in received_from(session, [ident for ident in ids if ident not in mine]):
        origin = Origin.received(
            row.partner.node_id, tlp=TLP.from_label(row.tlp), rel_to=parse_rel_to_column(row.rel_to)
        )
        origins.setdefault(origin, None)
    return list(origins) or [Origin.local()]


def ours(session: Session, ids: list[str]) -> set[str]:
    """Those of ``ids`` first written on this node."""
    found: set[str] = set()
    for batch in _batches(ids):
        found.update(
            session.scalars(
                select(ReportObject.object_id).where(ReportObject.object_id.in_(batch)).distinct()
            )
        )
    return found


def record_submitted(session: Session, report_id: str, ids: list[str]) -> None:
    """Record the ids of a submission that no partner sent us first as written here."""
    received: set[str] = set()
    for batch in _batches(ids):
        received.update(
            session.scalars(
                select(InboundObject.object_id).where(InboundObject.object_id.in_(batch)).distinct()
            )
        )
    rows = [{"report_id": report_id, "object_id": i} for i in ids if i not in received]
    if rows:  # one executemany, not an ORM object per id (a bundle may hold thousands)
        session.execute(insert(ReportObject), rows)


def record_received(session: Session, inbound_id: str, ids: list[str]) -> None:
    if ids:
        session.execute(
            insert(InboundObject), [{"inbound_id": inbound_id, "object_id": i} for i in ids]
        )


def authored_here(session: Session, ids: list[str]) -> bool:
    """Whether a received bundle of ``ids`` is made only of objects written here."""
    return bool(ids) and ours(session, ids) == set(ids)
