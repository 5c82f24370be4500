"""The offline courier: envelopes and receipts carried across an air gap in files.

When two nodes cannot reach each other at all, an administrator exports the envelopes a partner
has not acknowledged to a file, carries it over, and the partner's administrator imports it; the
receipts travel back the same way (docs/protocol.md section 8). Nothing here weakens the online
checks: every envelope goes through F2-F5 exactly as a pushed or pulled one
(:func:`service.exchange.ingest.store_envelope`), every receipt through C1-C4
(:func:`service.exchange.outbox.accept_receipt`), and the outbox's rule holds that an envelope is
sealed once and the same bytes travel by every route, so a report that arrives by push, by pull
and by courier is stored once and acknowledged once.

The files are not signed as a whole: the envelopes and receipts inside authenticate themselves.
What an unsigned file can carry beyond them, ``void`` sequence numbers, only moves the receiver's
pull cursor; it never marks anything received or acknowledged (O6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.canonical import canonicalize, parse_strict
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import CryptoError, KeyExpired, MalformedInput
from crypto.keydoc import PublishedKemKey
from service.audit import ALLOWED, Actor, denial, record
from service.errors import Conflict, ServiceError, Unprocessable
from service.exchange import outbox
from service.exchange.ingest import advance_cursor, store_envelope
from service.identity import get_partner
from service.models import Delivery, Partner
from service.node import Node
from service.reports import PENDING, Route

ENVELOPES_TYPE = "liaison.courier.envelopes"
RECEIPTS_TYPE = "liaison.courier.receipts"
VERSION = 1
VIA = Route.COURIER
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_ENTRIES = 100_000
DEFAULT_EXPORT_LIMIT = 1000
MAX_EXPORT_LIMIT = 10_000
MAX_RECEIPT_BYTES = 16 * 1024
# Room left in a file for ``void`` (at most MAX_ENTRIES numbers) and the other fields.
_ENVELOPE_BUDGET = MAX_FILE_BYTES - 4 * 1024 * 1024
_MAX_SEQ = 2**53 - 1
_ENVELOPES_FIELDS = frozenset({"type", "version", "from", "to", "created", "envelopes", "void",
                               "more"})  # fmt: skip
_RECEIPTS_FIELDS = frozenset({"type", "version", "from", "to", "created", "receipts"})


# -- the two file formats ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnvelopesFile:
    """Envelopes from ``sender`` to ``recipient``, still unverified (b64u of the wire bytes)."""

    sender: str
    recipient: str
    created: int
    unverified_envelopes: tuple[str, ...]
    void: tuple[int, ...]
    more: bool

    def to_json(self) -> dict[str, Any]:
        return {"type": ENVELOPES_TYPE, "version": VERSION, "from": self.sender,
                "to": self.recipient, "created": self.created,
                "envelopes": list(self.unverified_envelopes), "void": list(self.void),
                "more": self.more}  # fmt: skip

    def encode(self) -> bytes:
        return canonicalize(self.to_json())


@dataclass(frozen=True, slots=True)
class ReceiptsFile:
    """Receipts from ``sender`` (the receiver of the envelopes) back to ``recipient``."""

    sender: str
    recipient: str
    created: int
    unverified_receipts: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"type": RECEIPTS_TYPE, "version": VERSION, "from": self.sender,
                "to": self.recipient, "created": self.created,
                "receipts": list(self.unverified_receipts)}  # fmt: skip

    def encode(self) -> bytes:
        return canonicalize(self.to_json())


CourierFile = EnvelopesFile | ReceiptsFile


def parse_file(unverified_data: bytes) -> CourierFile:
    """O1-O2: parse a courier file strictly and check its shape (not its contents' signatures).

    Raises:
        Unprocessable: not JSON (strictly parsed), not a courier file, another version, a
            missing, unknown or mistyped field, or more than ``MAX_ENTRIES`` entries.
    """
    try:
        value = parse_strict(unverified_data, max_bytes=MAX_FILE_BYTES, max_depth=4)
    except MalformedInput as exc:
        raise _invalid(f"it is not valid JSON: {exc.message}") from exc
    if not isinstance(value, dict):
        raise _invalid("it is not a JSON object")
    kind = value.get("type")
    if kind not in (ENVELOPES_TYPE, RECEIPTS_TYPE):
        raise _invalid(f"its type must be {ENVELOPES_TYPE!r} or {RECEIPTS_TYPE!r}")
    version = value.get("version")
    if not _natural(version) or version != VERSION:
        raise _invalid(f"version {version!r} is not supported (this node reads version 1)")
    fields = _ENVELOPES_FIELDS if kind == ENVELOPES_TYPE else _RECEIPTS_FIELDS
    if set(value) != fields:
        raise _invalid(f"a {kind} file holds exactly the fields {', '.join(sorted(fields))}")
    sender, recipient, created = value["from"], value["to"], value["created"]
    if not isinstance(sender, str) or not isinstance(recipient, str) or not _natural(created):
        raise _invalid("'from' and 'to' must be node ids and 'created' a Unix time")
    if kind == RECEIPTS_TYPE:
        return ReceiptsFile(sender, recipient, created, _strings(value["receipts"], "receipts"))
    void, more = value["void"], value["more"]
    if not isinstance(void, list) or len(void) > MAX_ENTRIES or not all(map(_natural, void)):
        raise _invalid(f"'void' must list at most {MAX_ENTRIES} sequence numbers")
    if not isinstance(more, bool):
        raise _invalid("'more' must be true or false")
    envelopes = _strings(value["envelopes"], "envelopes")
    return EnvelopesFile(sender, recipient, created, envelopes, tuple(void), more)


def _strings(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        raise _invalid(f"{name!r} must be a list of at most {MAX_ENTRIES} entries")
    if not all(isinstance(item, str) for item in value):
        raise _invalid(f"{name!r} must hold base64url strings")
    return tuple(value)


def _natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_SEQ


def _invalid(reason: str) -> Unprocessable:
    return Unprocessable(f"not a liaison courier file: {reason}", code="invalid_courier_file")


# -- export: the side that holds the envelopes ------------------------------------------------


def export_envelopes(
    session: Session,
    node: Node,
    partner_node_id: str,
    actor: Actor,
    *,
    after_seq: int | None = 0,
    limit: int = DEFAULT_EXPORT_LIMIT,
) -> bytes:
    """The envelopes file for a partner: its deliveries not yet acknowledged (queued or sent)
    with ``seq > after_seq``, lowest first, sealed now if they never were, each marked sent by
    courier; plus the sequence numbers given up on (``void``). ``more`` is true when ``limit`` or
    the file size cut the list short.

    Raises:
        NotFound: no such partner.
        Conflict: a delivery must be sealed but none of the partner's pinned encryption keys is
            valid now (code ``partner_keys_expired``).
    """
    partner = get_partner(session, partner_node_id)
    if partner.suspended_at is not None:
        raise Conflict(f"partner {partner.node_id} is suspended: nothing is sealed or sent to it",
                       code="partner_suspended")  # fmt: skip
    after = after_seq or 0
    limit = max(1, min(limit, MAX_EXPORT_LIMIT))
    query = (
        select(Delivery)
        .where(
            Delivery.partner_id == partner.id,
            Delivery.seq > after,
            Delivery.state.in_(PENDING),
        )
        .order_by(Delivery.seq)
        .limit(limit + 1)
        # A worker sealing the same delivery at this moment must not seal it a second time.
        .with_for_update(of=Delivery)
    )
    deliveries = list(session.scalars(query))
    more = len(deliveries) > limit
    envelopes: list[str] = []
    size = 0
    key: PublishedKemKey | None = None
    for delivery in deliveries[:limit]:
        if outbox.needs_sealing(node, delivery):
            key = key or _current_key(node, partner)
            if not outbox.seal_delivery(session, node, delivery, key):
                continue  # withheld: its number is in ``void`` below
        assert delivery.envelope is not None
        encoded = b64u_encode(delivery.envelope)
        if size + len(encoded) + 3 > _ENVELOPE_BUDGET:
            more = True
            break
        size += len(encoded) + 3
        outbox.mark_sent(session, node, delivery, VIA)
        envelopes.append(encoded)
    void = outbox.refused_seqs(session, partner.id, after, MAX_ENTRIES)
    record(session, actor=actor, action="courier.export", outcome=ALLOWED,
           at=node.utcnow(), object_type="partner", object_id=partner.node_id,
           reason=f"after {after}: {len(envelopes)} envelopes, {len(void)} void"
                  + (", more pending" if more else ""))  # fmt: skip
    exported = EnvelopesFile(node.node_id, partner.node_id, node.now(), tuple(envelopes),
                             tuple(void), more)  # fmt: skip
    return exported.encode()


def _current_key(node: Node, partner: Partner) -> PublishedKemKey:
    try:
        return node.keyring.partner_document(partner).current_encryption_key(node.now())
    except KeyExpired as exc:
        raise Conflict(
            f"{partner.node_id}'s pinned key document has no encryption key valid now, so its "
            "reports cannot be sealed; its newer key document is fetched when it is reachable",
            code="partner_keys_expired",
        ) from exc


def export(
    session: Session,
    node: Node,
    partner_node_id: str,
    actor: Actor,
    *,
    after_seq: int | None = 0,
    limit: int = DEFAULT_EXPORT_LIMIT,
) -> bytes:
    """:func:`export_envelopes`, a refusal carrying its ``courier.export`` denial.

    Raises:
        NotFound, Conflict: see :func:`export_envelopes`.
    """
    try:
        return export_envelopes(session, node, partner_node_id, actor, after_seq=after_seq,
                                limit=limit)  # fmt: skip
    except ServiceError as exc:
        raise exc.recording(
            denial(actor, "courier.export", node.utcnow(), exc.diagnostics(),
                   object_type="partner", object_id=partner_node_id[:63])
        ) from None  # fmt: skip


# -- import: either side ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refusal:
    index: int
    reason: str


@dataclass(frozen=True, slots=True)
class EnvelopesImported:
    sender: str
    received: int
    duplicates: int
    refused: tuple[Refusal, ...]
    receipts_file: ReceiptsFile


@dataclass(frozen=True, slots=True)
class ReceiptsImported:
    sender: str
    accepted: int
    unknown: int
    invalid: int


def import_file(
    node: Node, unverified_data: bytes, actor: Actor
) -> EnvelopesImported | ReceiptsImported:
    """Apply a courier file of either kind (O1-O8); ``actor`` is the importing administrator.

    Envelopes and receipts that fail verification are counted and audited one by one and never
    abort the import; only a file that is not a courier file for this node from a pinned partner
    is refused as a whole (and audited). Each envelope is stored in a transaction of its own,
    exactly as a pushed one, so the import is not one unit of work: it takes the node.

    Raises:
        Unprocessable: see :func:`parse_file`; addressed to another node (code
            ``not_for_this_node``); from a node that is not a pinned partner (``unknown_partner``).
    """
    try:
        parsed = parse_file(unverified_data)
        # O3
        if parsed.recipient != node.node_id:
            raise Unprocessable(
                f"this courier file is addressed to {parsed.recipient!r}, not to this node "
                f"{node.node_id}",
                code="not_for_this_node",
            )
        # O4
        with node.db.read() as session:
            partner = session.scalar(select(Partner).where(Partner.node_id == parsed.sender))
            if partner is None:
                raise Unprocessable(
                    f"this courier file comes from {parsed.sender!r}, which is not a pinned "
                    "partner",
                    code="unknown_partner",
                )
            partner_id = partner.id
            partner_actor = Actor.partner(f"{partner.node_id}/{partner.signing_key_id}")
    except ServiceError as exc:
        raise exc.recording(
            denial(actor, "courier.import", node.utcnow(), exc.diagnostics())
        ) from None
    if isinstance(parsed, EnvelopesFile):
        return _import_envelopes(node, partner_id, partner_actor, parsed, actor)
    return _import_receipts(node, partner_id, partner_actor, parsed, actor)


def _import_envelopes(
    node: Node, partner_id: int, partner_actor: Actor, parsed: EnvelopesFile, actor: Actor
) -> EnvelopesImported:
    receipts: list[str] = []
    refused: list[Refusal] = []
    received = duplicates = 0
    # O5: each envelope on its own, in its own transaction, exactly as a pushed one.
    for index, encoded in enumerate(parsed.unverified_envelopes):
        try:
            envelope = b64u_decode(encoded, field=f"envelope {index}")
            with node.db.write() as session:
                accepted = store_envelope(session, node, partner_id, envelope, partner_actor, VIA)
        except (CryptoError, ServiceError) as exc:
            refused.append(Refusal(index, _reason(exc)))
            node.db.persist([
                denial(partner_actor, "federation.refuse", node.utcnow(),
                       f"courier envelope {index} (imported by {actor.name}): "
                       f"{exc.diagnostics()}")
            ])  # fmt: skip
            continue
        receipts.append(b64u_encode(accepted.receipt))
        if accepted.duplicate:
            duplicates += 1
        else:
            received += 1
    # O6
    with node.db.write() as session:
        partner = session.scalar(select(Partner).where(Partner.id == partner_id).with_for_update())
        assert partner is not None
        advance_cursor(session, partner, frozenset(parsed.void))
        record(session, actor=actor, action="courier.import", outcome=ALLOWED,
               at=node.utcnow(), object_type="partner", object_id=parsed.sender,
               reason=f"envelopes: {received} received, {duplicates} duplicates, "
                      f"{len(refused)} refused, {len(parsed.void)} void")  # fmt: skip
    # O7
    back = ReceiptsFile(node.node_id, parsed.sender, node.now(), tuple(receipts))
    return EnvelopesImported(parsed.sender, received, duplicates, tuple(refused), back)


def _import_receipts(
    node: Node, partner_id: int, partner_actor: Actor, parsed: ReceiptsFile, actor: Actor
) -> ReceiptsImported:
    with node.db.write() as session:
        # O8: C1-C4 for each receipt, in a savepoint of its own.
        counts = outbox.accept_receipts(session, node, partner_id,
                                        list(parsed.unverified_receipts), via=VIA,
                                        actor=partner_actor)  # fmt: skip
        accepted, unknown, invalid = counts.accepted, counts.unknown, counts.invalid
        record(session, actor=actor, action="courier.import", outcome=ALLOWED,
               at=node.utcnow(), object_type="partner", object_id=parsed.sender,
               reason=f"receipts: {accepted} accepted, {unknown} unknown, "
                      f"{invalid} invalid")  # fmt: skip
    return ReceiptsImported(parsed.sender, accepted, unknown, invalid)


def _reason(exc: CryptoError | ServiceError) -> str:
    """What the importing administrator is told about a refused envelope: for a verification
    failure only its code (the precise reason is in the audit log), else the service error."""
    if isinstance(exc, CryptoError):
        return f"rejected ({exc.code}); the audit log has the details"
    return exc.diagnostics()
