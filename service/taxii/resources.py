"""The TAXII 2.1 resources of sections 4 and 5, as one credential may see them.

Every function here is one endpoint's work: it finds the API root and collection (not found
unless the credential names them), checks the right the endpoint needs (a refusal is a 403
carrying its ``taxii.read`` or ``taxii.write`` denial), does the work and records it in the
audit log with the integration as the actor (``taxii.read``, ``taxii.write``). Objects are
served up to the credential's clearance; TLP:RED is never in a collection to begin with.

Object bodies are stored as the JSON of each object, sealed at rest; a page is built from the
opened bytes without parsing them again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from service import drafts
from service.audit import ALLOWED, denial, record
from service.errors import BadRequest, Forbidden, NotFound, ServiceError
from service.identity import IntegrationPrincipal
from service.models import TaxiiObject
from service.node import Node
from service.reports import collections as catalog
from service.taxii import query, roots, status
from service.taxii.media import STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE

OBJECT_MATCH = ("id", "type", "version", "spec_version")


@dataclass(frozen=True, slots=True)
class Served:
    """A resource as bytes, with the headers it needs."""

    body: bytes
    headers: dict[str, str]


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _audit(
    session: Session, node: Node, caller: IntegrationPrincipal, addr: str | None,
    what: str, where: str, reason: str | None = None, action: str = "taxii.read",
) -> None:  # fmt: skip
    record(session, actor=caller.actor(addr), action=action, outcome=ALLOWED, at=node.utcnow(),
           object_type=f"taxii-{what}", object_id=where[:128], reason=reason)  # fmt: skip


def _refuse(
    error: ServiceError, node: Node, caller: IntegrationPrincipal, addr: str | None,
    action: str, where: str,
) -> ServiceError:  # fmt: skip
    entry = denial(caller.actor(addr), action, node.utcnow(), error.detail,
                   object_type="taxii-collection", object_id=where[:128])  # fmt: skip
    return error.recording(entry)


def discovery(
    session: Session, node: Node, caller: IntegrationPrincipal, base_url: str, addr: str | None
) -> dict[str, Any]:
    """Section 4.1: this server and the API roots the credential may use."""
    urls = [f"{base_url}/{found.segment}/" for found in roots.roots(session, caller)]
    name = node.settings.node_name or node.node_id
    resource: dict[str, Any] = {
        "title": f"liaison node {node.node_id} ({name})",
        "description": "Intelligence exchanged with partner services, one API root per partner.",
        "api_roots": urls,
    }
    if len(urls) == 1:
        resource["default"] = urls[0]
    _audit(session, node, caller, addr, "discovery", "/taxii2/")
    return resource


def api_root(
    session: Session, node: Node, caller: IntegrationPrincipal, segment: str, addr: str | None
) -> dict[str, Any]:
    """Section 4.2: one partner's API root."""
    found = roots.root(session, caller, segment)
    _audit(session, node, caller, addr, "api-root", f"{segment}/")
    return {
        "title": f"{found.name or found.node_id} ({found.node_id})",
        "description": f"What this node exchanges with {found.node_id}.",
        "versions": [TAXII_MEDIA_TYPE],
        "max_content_length": node.settings.max_report_bytes,
    }


def list_collections(
    session: Session, node: Node, caller: IntegrationPrincipal, segment: str, addr: str | None
) -> dict[str, Any]:
    """Section 5.1: the collections of an API root the credential may use."""
    found = roots.root(session, caller, segment)
    listed = [roots.describe(c, caller) for c in roots.collections(node, found, caller)]
    _audit(session, node, caller, addr, "collections", f"{segment}/")
    return {"collections": listed} if listed else {}


def get_collection(
    session: Session, node: Node, caller: IntegrationPrincipal, segment: str, key: str,
    addr: str | None,
) -> dict[str, Any]:  # fmt: skip
    """Section 5.2: one collection."""
    found = roots.collection(node, roots.root(session, caller, segment), caller, key)
    _audit(session, node, caller, addr, "collection", found.path)
    return roots.describe(found, caller)


def _readable(
    session: Session, node: Node, caller: IntegrationPrincipal, segment: str, key: str,
    addr: str | None,
) -> roots.Collection:  # fmt: skip
    found = roots.collection(node, roots.root(session, caller, segment), caller, key)
    if not caller.may_read(found.root.node_id, found.kind):
        refusal = Forbidden(f"this credential may not read the {found.kind} collection")
        raise _refuse(refusal, node, caller, addr, "taxii.read", found.path)
    return found


def _open(node: Node, row: TaxiiObject) -> bytes:
    context = catalog.object_context(row.partner_id, row.kind, row.object_id, row.version_us)
    return node.data_key.open(row.body_ct, context)


def _date_headers(rows: Sequence[TaxiiObject]) -> dict[str, str]:
    if not rows:
        return {}
    first, last = rows[0].added_us, rows[-1].added_us
    return {
        "X-TAXII-Date-Added-First": catalog.format_us(first, exact=True),
        "X-TAXII-Date-Added-Last": catalog.format_us(last, exact=True),
    }


def _paging(rows: Sequence[TaxiiObject], more: bool) -> bytes:
    # ``next`` always comes with ``more``: taxii2-client's as_pages asks for the first page again
    # forever when ``more`` is true without it (../shared/NOTES.md).
    head = b'{"more":true,"next":"%d"' % rows[-1].added_us if more and rows else b'{"more":false'
    return head


def objects(
    session: Session, node: Node, caller: IntegrationPrincipal, segment: str, key: str,
    params: Mapping[str, str], addr: str | None, object_id: str | None = None,
) -> Served:  # fmt: skip
    """Sections 5.4 and 5.6: a page of objects (an envelope), or one object's versions as
    ``match[version]`` selects them (default: the last)."""
    found = _readable(session, node, caller, segment, key, addr)
    filters = query.parse(
        params, allow=OBJECT_MATCH if object_id is None else ("version", "spec_version")
    )
    rows, more = query.page(session, partner_id=found.root.partner_id, kind=found.kind,
                            ceiling=caller.clearance.rank, filters=filters,
                            object_id=object_id)  # fmt: skip
    if object_id is not None and not rows and filters.after is None:
        raise NotFound(f"no object {object_id!r} in this collection for this credential")
    body = _paging(rows, more)
    if rows:
        body += b',"objects":[' + b",".join(_open(node, row) for row in rows) + b"]"
    body += b"}"
    what = "objects" if object_id is None else "object"
    _audit(session, node, caller, addr, what, found.path + (f"/{object_id}" if object_id else ""),
           f"{len(rows)} objects" + (", more" if more else ""))  # fmt: skip
    return Served(body, _date_headers(rows))


def manifest(
    session: Session, node: Node, caller: IntegrationPrincipal, segment: str, key: str,
    params: Mapping[str, str], addr: str | None,
) -> Served:  # fmt: skip
    """Section 5.3: the manifest of a page of objects."""
    found = _readable(session, node, caller, segment, key, addr)
    filters = query.parse(params, allow=OBJECT_MATCH)
    rows, more = query.page(session, partner_id=found.root.partner_id, kind=found.kind,
                            ceiling=caller.clearance.rank, filters=filters)  # fmt: skip
    entries = [{"id": row.object_id, "date_added": catalog.format_us(row.added_us, exact=True),
                "version": catalog.format_us(row.version_us),
                "media_type": STIX_MEDIA_TYPE} for row in rows]  # fmt: skip
    body = _paging(rows, more) + (b',"objects":' + _json(entries) if entries else b"") + b"}"
    _audit(session, node, caller, addr, "manifest", found.path, f"{len(rows)} entries")
    return Served(body, _date_headers(rows))


def versions(
    session: Session, node: Node, caller: IntegrationPrincipal, segment: str, key: str,
    object_id: str, params: Mapping[str, str], addr: str | None,
) -> Served:  # fmt: skip
    """Section 5.7: the versions of one object."""
    found = _readable(session, node, caller, segment, key, addr)
    filters = query.parse(params, allow=("spec_version",), version_default=None)
    rows, more = query.page(session, partner_id=found.root.partner_id, kind=found.kind,
                            ceiling=caller.clearance.rank, filters=filters,
                            object_id=object_id)  # fmt: skip
    if not rows and filters.after is None:
        raise NotFound(f"no object {object_id!r} in this collection for this credential")
    listed = [catalog.format_us(row.version_us) for row in rows]
    body = _paging(rows, more) + (b',"versions":' + _json(listed) if listed else b"") + b"}"
    _audit(session, node, caller, addr, "versions", f"{found.path}/{object_id}")
    return Served(body, _date_headers(rows))


def add_objects(
    session: Session, node: Node, caller: IntegrationPrincipal, segment: str, key: str,
    data: bytes, addr: str | None,
) -> dict[str, Any]:  # fmt: skip
    """Section 5.5: objects posted to a ``drafts`` collection become one draft report, which
    an officer must review and submit; returns the status resource.

    Raises:
        Forbidden: the collection is not writable by this credential (``taxii.write`` denial).
        BadRequest: the body is not JSON with an ``objects`` list.
    """
    found = roots.collection(node, roots.root(session, caller, segment), caller, key)
    if not caller.may_write(found.root.node_id, found.kind):
        refusal = Forbidden(f"this credential may not add objects to the {found.kind} collection")
        raise _refuse(refusal, node, caller, addr, "taxii.write", found.path)
    try:
        posted = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the body is not JSON: send a TAXII envelope or a STIX bundle") from exc
    listed = posted.get("objects") if isinstance(posted, dict) else None
    if not isinstance(listed, list) or not listed:
        raise BadRequest("the body has no objects: send a TAXII envelope or a STIX bundle")
    draft_id, failure = None, None
    try:
        with session.begin_nested():
            draft, _ = drafts.create_draft(session, node, data=data, actor=caller.actor(addr),
                                           origin=f"taxii:{caller.name}",
                                           partner_id=found.root.partner_id)  # fmt: skip
            draft_id = draft.id
    except ServiceError as exc:
        failure = exc.diagnostics()
        for consequence in exc.consequences:
            consequence.write(session)
    row = status.record_status(session, node, caller, found.root.partner_id, listed,
                               draft_id=draft_id, failure=failure)  # fmt: skip
    outcome = f"draft {draft_id}" if draft_id else f"refused: {failure}"
    reason = f"{len(listed)} objects posted; {outcome}; status {row.id}"
    _audit(session, node, caller, addr, "collection", found.path, reason, action="taxii.write")
    return status.resource(row)


def get_status(
    session: Session, node: Node, caller: IntegrationPrincipal, segment: str, status_id: str,
    addr: str | None,
) -> dict[str, Any]:  # fmt: skip
    """Section 4.3: the status of one of this credential's POSTs."""
    found = roots.root(session, caller, segment)
    row = status.find(session, caller, found.partner_id, status_id)
    _audit(session, node, caller, addr, "status", f"{segment}/status/{status_id}")
    return status.resource(row)


def refuse_delete(
    session: Session, node: Node, caller: IntegrationPrincipal, segment: str, key: str,
    object_id: str, addr: str | None,
) -> None:  # fmt: skip
    """Section 5.8: nothing is deleted over TAXII (a received report is evidence, a release a
    record of what left): always 403, with its ``taxii.delete`` denial.

    Raises:
        Forbidden: always.
    """
    found = roots.collection(node, roots.root(session, caller, segment), caller, key)
    refusal = Forbidden("objects are never deleted over TAXII on this node")
    raise _refuse(refusal, node, caller, addr, "taxii.delete", f"{found.path}/{object_id}")
