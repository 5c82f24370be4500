"""Status resources (TAXII 2.1 section 4.3): what became of each object of one POST.

A POST to a ``drafts`` collection is handled at once, so its status is ``complete`` when the
202 answer is sent; ``add_objects(wait_for_completion=True)`` of taxii2-client reads it once. A
status is shown only to the credential that made the request (anyone else: not found).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from service.errors import NotFound
from service.identity import IntegrationPrincipal
from service.models import TaxiiStatus
from service.node import Node
from service.reports import collections


def _entry(obj: Any, message: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": str(obj.get("id", "")) if isinstance(obj, dict) else ""}
    if isinstance(obj, dict):
        version = obj.get("modified") or obj.get("created")
        if isinstance(version, str):
            entry["version"] = version
    if message:
        entry["message"] = message[:1000]
    return entry


def record_status(
    session: Session,
    node: Node,
    caller: IntegrationPrincipal,
    partner_id: int,
    objects: Sequence[Any],
    *,
    draft_id: str | None,
    failure: str | None,
) -> TaxiiStatus:
    """Store the status of a POST of ``objects``: all succeeded (into draft ``draft_id``), or all
    failed with ``failure`` (a draft is one bundle: it is made whole or not at all)."""
    entries = [_entry(obj, failure) for obj in objects]
    detail = {"successes": [] if failure else entries, "failures": entries if failure else []}
    row = TaxiiStatus(
        id=str(uuid.uuid4()),
        integration_id=caller.id,
        partner_id=partner_id,
        requested_at=node.utcnow(),
        total_count=len(entries),
        success_count=0 if failure else len(entries),
        failure_count=len(entries) if failure else 0,
        detail=json.dumps(detail, ensure_ascii=False),
        draft_id=draft_id,
    )
    session.add(row)
    return row


def find(
    session: Session, caller: IntegrationPrincipal, partner_id: int, status_id: str
) -> TaxiiStatus:
    """The status ``status_id`` made by ``caller`` under this API root.

    Raises:
        NotFound: none, or another credential's.
    """
    row = session.get(TaxiiStatus, status_id)
    if row is None or row.integration_id != caller.id or row.partner_id != partner_id:
        raise NotFound(f"no status {status_id!r} for this credential")
    return row


def resource(row: TaxiiStatus) -> dict[str, Any]:
    """The status resource (section 4.3.1)."""
    detail = json.loads(row.detail)
    requested_us = int(row.requested_at.timestamp() * 1_000_000)
    return {
        "id": row.id,
        "status": "complete",
        "request_timestamp": collections.format_us(requested_us),
        "total_count": row.total_count,
        "success_count": row.success_count,
        "successes": detail["successes"],
        "failure_count": row.failure_count,
        "failures": detail["failures"],
        "pending_count": 0,
        "pendings": [],
    }
