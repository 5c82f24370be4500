"""Making, listing, opening, submitting and discarding drafts (see the package text).

A draft is made only from a bundle that the strict validator (``service.reports.stix``) accepts
once normalised, with one exception: objects that carry no TLP marking. Those are never marked
silently; the officer who submits the draft names the marking they get (``mark_unmarked``), and
the normaliser records a change for each. Officers read a draft up to their clearance (its
highest marking); every read, submission and discard is in the audit log.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import TLP
from policies.tlp import TLP1_MARKING_IDS, TLP2_MARKING_IDS
from service.atrest import DataKeyring, SealedColumn
from service.audit import ALLOWED, Actor, denial, record
from service.errors import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable
from service.identity import Principal
from service.imports import Change, Normalised, normalise
from service.models import Draft, Report
from service.node import Node
from service.reports import open_title, seal_title, stix, submit_bundle, title_of

OPEN, SUBMITTED, DISCARDED = "open", "submitted", "discarded"
STATES = (OPEN, SUBMITTED, DISCARDED)


@dataclass(frozen=True, slots=True)
class DraftView:
    """A draft as listings show it (its title opened)."""

    id: str
    state: str
    origin: str
    source_format: str
    partner: str | None
    created_at: str
    title: str
    tlp: str | None
    object_count: int
    unmarked_count: int
    report_id: str | None
    reviewed_by: str | None

    @classmethod
    def of(cls, node: Node, row: Draft) -> DraftView:
        return cls(row.id, row.state, row.origin, row.source_format,
                   row.partner.node_id if row.partner is not None else None,
                   row.created_at.isoformat(), open_title(node, "drafts", row.id, row.title_ct),
                   row.tlp, row.object_count, row.unmarked_count, row.report_id,
                   row.reviewed_by)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OpenedDraft:
    """A draft with its content: the normalised bundle, the normaliser's changes and the ids of
    the objects that still carry no marking."""

    view: DraftView
    bundle: dict[str, Any]
    changes: list[dict[str, Any]]
    unmarked: list[str]


def _body_context(draft_id: str) -> str:
    return f"drafts.body_ct/{draft_id}"


def _changes_context(draft_id: str) -> str:
    return f"drafts.changes_ct/{draft_id}"


SEALED_COLUMNS = (
    SealedColumn(Draft, "title_ct", lambda row: f"drafts.title_ct/{row.id}"),
    SealedColumn(Draft, "body_ct", lambda row: _body_context(row.id)),
    SealedColumn(Draft, "changes_ct", lambda row: _changes_context(row.id)),
)  # fmt: skip
"""What this module seals with the data keys (``service.atrest.reseal``)."""


def highest_marking(bundle: Mapping[str, Any]) -> TLP | None:
    """The most restrictive TLP level any object references, or None if none does."""
    levels = []
    for obj in bundle.get("objects", ()):
        refs = list(obj.get("object_marking_refs") or ())
        refs += [
            g.get("marking_ref") for g in obj.get("granular_markings") or () if isinstance(g, dict)
        ]
        for ref in refs:
            if isinstance(ref, str) and (
                level := TLP2_MARKING_IDS.get(ref) or TLP1_MARKING_IDS.get(ref)
            ):
                levels.append(level)
    return max(levels, default=None)


def _normalised(node: Node, data: bytes, mark_unmarked: str | None = None) -> Normalised:
    """Normalise ``data`` and check it with the strict validator, which may find only unmarked
    objects wrong (the officer marks those when submitting).

    Raises:
        PayloadTooLarge: over the node's report size or object limit.
        Unprocessable: not a STIX 2.1 bundle or envelope, or invalid STIX once normalised.
    """
    max_bytes, max_objects = node.settings.max_report_bytes, node.settings.max_report_objects
    try:
        result = normalise(data, max_bytes=max_bytes, max_objects=max_objects,
                           mark_unmarked=mark_unmarked)  # fmt: skip
        stix.validate_report(result.data, max_bytes=max_bytes, max_objects=max_objects)
    except stix.TlpMissing:
        return result
    except stix.StixTooLarge as exc:
        raise PayloadTooLarge(exc.detail, code=exc.code) from exc
    except stix.StixError as exc:
        raise Unprocessable(exc.detail, code=exc.code, errors=exc.messages) from exc
    return result


def _changes_json(changes: Iterable[Change], unmarked: Iterable[str]) -> bytes:
    listed = [{"object_id": c.object_id, "kind": c.kind, "detail": c.detail} for c in changes]
    notes = {"changes": listed, "unmarked": list(unmarked)}
    return json.dumps(notes, ensure_ascii=False).encode("utf-8")


def create_draft(
    session: Session,
    node: Node,
    *,
    data: bytes,
    origin: str,
    actor: Actor,
    partner_id: int | None = None,
) -> tuple[Draft, Normalised]:
    """Normalise ``data`` and keep it as an open draft; ``origin`` says where it came from
    (``taxii:<integration>``, ``import:<user>``). Recorded as ``draft.create``.

    Raises:
        PayloadTooLarge, Unprocessable: see :func:`_normalised`; nothing is stored, and the
            refusal carries its ``draft.create`` denial.
    """
    try:
        result = _normalised(node, data)
    except (PayloadTooLarge, Unprocessable) as exc:
        raise exc.recording(denial(actor, "draft.create", node.utcnow(), exc.diagnostics(),
                                   object_type="draft")) from None  # fmt: skip
    bundle = json.loads(result.data)
    draft_id = str(uuid.uuid4())
    level = highest_marking(bundle)
    key: DataKeyring = node.data_key
    row = Draft(
        id=draft_id,
        state=OPEN,
        origin=origin[:140],
        source_format=result.source,
        partner_id=partner_id,
        created_at=node.utcnow(),
        title_ct=seal_title(node, "drafts", draft_id, title_of(bundle)),
        tlp=level.label if level is not None else None,
        object_count=len(bundle.get("objects", ())),
        unmarked_count=len(result.unmarked),
        body_ct=key.seal(result.data, _body_context(draft_id)),
        changes_ct=key.seal(_changes_json(result.changes, result.unmarked),
                            _changes_context(draft_id)),
    )  # fmt: skip
    session.add(row)
    record(session, actor=actor, action="draft.create", outcome=ALLOWED, at=node.utcnow(),
           object_type="draft", object_id=draft_id,
           reason=f"{row.object_count} objects from {result.source} ({origin}); "
                  f"{len(result.changes)} changes, {len(result.unmarked)} unmarked")  # fmt: skip
    session.flush()
    return row, result


def list_drafts(
    session: Session, node: Node, user: Principal, state: str = OPEN, limit: int = 100
) -> list[DraftView]:
    """Drafts in ``state``, newest first, that ``user`` may read (up to their clearance)."""
    if state not in STATES:
        raise BadRequest(f"state must be one of {', '.join(STATES)}")
    rows = session.scalars(
        select(Draft).where(Draft.state == state).order_by(Draft.created_at.desc()).limit(limit)
    )
    return [DraftView.of(node, row) for row in rows if _readable(user, row)]


def _readable(user: Principal, row: Draft) -> bool:
    return row.tlp is None or TLP.from_label(row.tlp) <= user.clearance


def _get(
    session: Session, node: Node, user: Principal, draft_id: str, action: str, addr: str | None,
    *, lock: bool = False,
) -> Draft:  # fmt: skip
    query = select(Draft).where(Draft.id == draft_id)
    # OF drafts: the partner is joined in (nullable, an outer join), which PostgreSQL cannot lock.
    row = session.scalar(query.with_for_update(of=Draft) if lock else query)
    if row is None:
        raise NotFound(f"no draft {draft_id!r}")
    if not _readable(user, row):
        reason = f"the draft is {row.tlp}, above the officer's clearance {user.clearance.label}"
        raise Forbidden(reason, code="access_denied").recording(
            denial(
                user.actor(addr),
                action,
                node.utcnow(),
                reason,
                object_type="draft",
                object_id=draft_id,
            )
        )
    return row


def open_draft(
    session: Session, node: Node, user: Principal, draft_id: str, addr: str | None
) -> OpenedDraft:
    """A draft with its content, for an officer cleared to read it; recorded as ``draft.read``.

    Raises:
        NotFound: no such draft.
        Forbidden: above the officer's clearance (``access_denied``, with its denial).
    """
    row = _get(session, node, user, draft_id, "draft.read", addr)
    bundle = json.loads(node.data_key.open(row.body_ct, _body_context(row.id)))
    notes = json.loads(node.data_key.open(row.changes_ct, _changes_context(row.id)))
    record(session, actor=user.actor(addr), action="draft.read", outcome=ALLOWED,
           at=node.utcnow(), object_type="draft", object_id=row.id)  # fmt: skip
    return OpenedDraft(DraftView.of(node, row), bundle, notes["changes"], notes["unmarked"])


def _marked(node: Node, row: Draft, mark_unmarked: str | None) -> tuple[bytes, list[Change]]:
    """The draft's bundle with its unmarked objects marked ``mark_unmarked`` (if given), and
    the changes that marking made."""
    body = node.data_key.open(row.body_ct, _body_context(row.id))
    if mark_unmarked is None or not row.unmarked_count:
        return body, []
    result = _normalised(node, body, mark_unmarked.lower())
    return result.data, [c for c in result.changes if c.kind == "marked_by_officer"]


def _check_level(mark_unmarked: str | None) -> None:
    if mark_unmarked is not None and mark_unmarked.lower() not in {t.value for t in TLP}:
        raise BadRequest(f"mark_unmarked must be a TLP level, not {mark_unmarked!r}")


def prepared_bundle(
    session: Session,
    node: Node,
    user: Principal,
    draft_id: str,
    *,
    mark_unmarked: str | None = None,
    addr: str | None = None,
) -> bytes:
    """What :func:`submit_draft` would submit (unmarked objects marked ``mark_unmarked``), for
    a preview of each partner's copy; recorded as ``draft.read``.

    Raises:
        NotFound, Forbidden: see :func:`open_draft`.
        BadRequest: ``mark_unmarked`` is not a TLP level.
    """
    _check_level(mark_unmarked)
    row = _get(session, node, user, draft_id, "draft.read", addr)
    body, _ = _marked(node, row, mark_unmarked)
    record(session, actor=user.actor(addr), action="draft.read", outcome=ALLOWED,
           at=node.utcnow(), object_type="draft", object_id=row.id)  # fmt: skip
    return body


def submit_draft(
    session: Session,
    node: Node,
    user: Principal,
    draft_id: str,
    to: list[str],
    *,
    mark_unmarked: str | None = None,
    confirmed: bool = False,
    addr: str | None = None,
) -> tuple[Report, stix.ValidatedReport, list[Change]]:
    """Submit an open draft as ``user``'s report to ``to``: unmarked objects get
    ``mark_unmarked`` (the officer's explicit choice), then it is validated, decided by each
    partner's sharing policy and stored as any submission is. Returns the report, its
    validation and the changes marking made.

    Raises:
        NotFound, Forbidden: see :func:`open_draft`.
        Conflict: the draft is not open (``draft_closed``), or the normaliser changed it and
            the officer has not confirmed the changes (``changes_unconfirmed``).
        BadRequest: ``mark_unmarked`` is not a TLP level.
        ServiceError: as ``service.reports.submit_bundle`` (unmarked objects left unmarked are
            ``tlp_missing``).
    """
    row = _get(session, node, user, draft_id, "draft.submit", addr, lock=True)
    if row.state != OPEN:
        raise Conflict(f"draft {row.id} is {row.state}", code="draft_closed").recording(
            denial(
                user.actor(addr),
                "draft.submit",
                node.utcnow(),
                f"the draft is {row.state}",
                object_type="draft",
                object_id=row.id,
            )
        )
    _check_level(mark_unmarked)
    notes = json.loads(node.data_key.open(row.changes_ct, _changes_context(row.id)))
    if notes["changes"] and not confirmed:
        count = len(notes["changes"])
        raise Conflict(f"the import changed {count} things in this draft: review and confirm "
                       "them before submitting", code="changes_unconfirmed",
                       errors=[c["detail"] for c in notes["changes"]])  # fmt: skip
    body, marked = _marked(node, row, mark_unmarked)
    report, validated = submit_bundle(session, node, user, body, to, addr)
    row.state = SUBMITTED
    row.report_id = report.id
    row.reviewed_by = user.username
    row.reviewed_at = node.utcnow()
    record(session, actor=user.actor(addr), action="draft.submit", outcome=ALLOWED,
           at=node.utcnow(), object_type="draft", object_id=row.id,
           reason=f"report {report.id}" + (f"; {len(marked)} objects marked "
                                             f"{TLP(mark_unmarked.lower()).label}"
                                             if marked and mark_unmarked else ""))  # fmt: skip
    return report, validated, marked


def discard_draft(
    session: Session, node: Node, user: Principal, draft_id: str, addr: str | None = None
) -> DraftView:
    """Close an open draft without submitting it (kept, closed, for the audit trail).

    Raises:
        NotFound, Forbidden: see :func:`open_draft`.
        Conflict: the draft is not open (``draft_closed``).
    """
    row = _get(session, node, user, draft_id, "draft.discard", addr, lock=True)
    if row.state != OPEN:
        raise Conflict(f"draft {row.id} is {row.state}", code="draft_closed")
    row.state = DISCARDED
    row.reviewed_by = user.username
    row.reviewed_at = node.utcnow()
    record(session, actor=user.actor(addr), action="draft.discard", outcome=ALLOWED,
           at=node.utcnow(), object_type="draft", object_id=row.id)  # fmt: skip
    return DraftView.of(node, row)
