"""Witnessing: each node cosigns its partner's audit checkpoints, and catches a partner's log
that shrinks or forks (docs/protocol.md section 9, steps W1-W3).

The holder side answers ``POST /federation/v1/audit/checkpoint`` with a fresh signed checkpoint
and a consistency proof from the size the witness last cosigned, and stores the cosignatures the
witness sends back (``POST /federation/v1/audit/cosignature``). The witness side runs every
``witness_interval_seconds`` (``service.exchange.worker``): it verifies the checkpoint and the
proof against the last checkpoint of that partner it cosigned, and either cosigns or raises an
alert with both signed checkpoints as evidence. No transaction is open while the partner is
asked.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from datetime import datetime

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crypto import httpsig
from crypto.canonical import canonicalize
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import CryptoError, MalformedInput, ProofInvalid
from crypto.logverify import origin_of, witness_name
from crypto.merkle import verify_consistency
from crypto.note import cosign, parse_checkpoint, parse_note, verify_cosignature, verify_note
from service.audit import ALLOWED, ERROR, Actor, checkpoints, raise_alert, record
from service.errors import BadRequest, ServiceError
from service.exchange.pull import json_body, natural, pinned_partners, read_contact
from service.federation import PartnerClient, PartnerContact, SignedAnswer, handle_signed, wire
from service.models import AuditCosignature, Partner, WitnessedCheckpoint
from service.node import Node

log = logging.getLogger("liaison.witness")


# -- the holder's side ---------------------------------------------------------------------------


def serve_checkpoint(
    session: Session, node: Node, request: httpsig.HttpRequestParts, remote_addr: str | None
) -> SignedAnswer:
    """A checkpoint of our log as it is now, and the consistency proof from ``from``."""

    def work(session: Session, partner: Partner, actor: Actor) -> bytes:
        body = json_body(request, 8192)
        old = body.get("from")
        if set(body) != {"from"} or not natural(old):
            raise BadRequest('the body is {"from": <size last cosigned, or 0>}')
        assert isinstance(old, int)
        row = checkpoints.sign_in(session, node, force=True).checkpoint
        proof = checkpoints.consistency(session, old, row.size) if 0 < old < row.size else []
        return canonicalize(
            {"checkpoint": row.note, "consistency": [b64u_encode(h) for h in proof]}
        )

    return handle_signed(session, node, request, remote_addr, work)


def serve_cosignature(
    session: Session, node: Node, request: httpsig.HttpRequestParts, remote_addr: str | None
) -> SignedAnswer:
    """Store a partner's cosignature of one of our checkpoints, once it verifies."""

    def work(session: Session, partner: Partner, actor: Actor) -> bytes:
        body = json_body(request, 8192)
        size, line = body.get("size"), body.get("cosignature")
        if set(body) != {"size", "cosignature"} or not natural(size) or not isinstance(line, str):
            raise BadRequest('the body is {"size": <int>, "cosignature": "<signature line>"}')
        assert isinstance(size, int)
        row = checkpoints.get(session, size)
        witness = checkpoints.witness_verifier(partner.node_id, partner.ed25519_key)
        timestamp = verify_cosignature(
            parse_note(row.note).text, line, witness,
            now=node.now(), max_skew=node.settings.clock_skew,
        )  # fmt: skip
        stored = session.get(AuditCosignature, (size, partner.node_id))
        if stored is None:
            session.add(
                AuditCosignature(
                    size=size,
                    witness=partner.node_id,
                    line=line,
                    timestamp=timestamp,
                    received_at=node.utcnow(),
                )
            )
        else:
            stored.line, stored.timestamp, stored.received_at = line, timestamp, node.utcnow()
        record(session, actor=Actor.partner(partner.node_id, remote_addr),
               action="audit.cosigned", outcome=ALLOWED, at=node.utcnow(),
               object_type="checkpoint", object_id=str(size))  # fmt: skip
        return canonicalize({"stored": True})

    return handle_signed(session, node, request, remote_addr, work)


# -- the witness's side --------------------------------------------------------------------------


def _alert(node: Node, partner: str, kind: str, detail: str, evidence: str) -> None:
    """Record evidence against ``partner``'s log, once per finding: one alert of a kind against
    the same cosigned checkpoint (the evidence starts with it), however often it is seen."""
    basis = evidence.split("\nshown now:\n", 1)[0]
    with node.db.write() as session:
        if not raise_alert(session, at=node.utcnow(), subject=partner, kind=kind, detail=detail,
                           evidence=evidence, basis=basis):  # fmt: skip
            return
        record(session, actor=Actor.system(), action="witness.alert", outcome=ERROR,
               at=node.utcnow(), object_type="partner", object_id=partner,
               reason=f"{kind}: {detail}")  # fmt: skip
    log.error("audit log of %s: %s: %s", partner, kind, detail)


def _last_cosigned(node: Node, partner_id: int) -> WitnessedCheckpoint | None:
    """The partner's latest checkpoint we cosigned and still trust (not cosigned while its keys
    were reported compromised)."""
    with node.db.read() as session:
        return session.scalar(
            select(WitnessedCheckpoint)
            .where(WitnessedCheckpoint.partner_id == partner_id,
                   WitnessedCheckpoint.distrusted_at.is_(None))
            .order_by(WitnessedCheckpoint.size.desc())
            .limit(1)
        )  # fmt: skip


def distrust_witnessed(session: Session, partner_id: int, since: datetime, at: datetime) -> int:
    """Stop trusting the partner's checkpoints this node cosigned from ``since`` on (its keys
    may have been in other hands): the last one cosigned before stands again as what its log
    must extend. Returns how many."""
    changed = session.execute(
        update(WitnessedCheckpoint)
        .where(WitnessedCheckpoint.partner_id == partner_id,
               WitnessedCheckpoint.cosigned_at >= since,
               WitnessedCheckpoint.distrusted_at.is_(None))
        .values(distrusted_at=at)
    )  # fmt: skip
    return int(changed.rowcount or 0)  # type: ignore[attr-defined]


async def witness_partner(node: Node, client: PartnerClient, contact: PartnerContact) -> str:
    """Fetch, check (W1, W2) and cosign (W3) a partner's latest checkpoint; return what
    happened: ``cosigned``, ``unchanged``, or the alert kind.

    Raises:
        CryptoError, ServiceError, httpx.HTTPError: the exchange itself failed (retried next
            round; not evidence against the partner).
    """
    partner = contact.node_id
    last = _last_cosigned(node, contact.partner_id)
    old = last.size if last is not None else 0
    answer = await client.checkpoint(contact, old)
    if not isinstance(answer.get("checkpoint"), str):
        raise MalformedInput("a checkpoint answer holds 'checkpoint' and 'consistency'")
    encoded = answer.get("consistency", [])
    if not isinstance(encoded, list) or len(encoded) > wire.MAX_PROOF:
        raise MalformedInput("'consistency' is a list of hashes")
    proof = [b64u_decode(h, field="consistency hash") for h in encoded]
    note: str = answer["checkpoint"]
    # W1
    verified = verify_note(note, [checkpoints.node_verifier(partner, contact.ed25519)])
    checkpoint = parse_checkpoint(verified.text)
    if checkpoint.origin != origin_of(partner):
        raise MalformedInput(f"a checkpoint of {checkpoint.origin!r}, not of {partner}")
    # W2
    if last is not None:
        evidence = f"cosigned before:\n{last.note}\nshown now:\n{note}"
        if checkpoint.size < last.size:
            _alert(
                node,
                partner,
                "rollback",
                f"{partner} shows a log of {checkpoint.size} records after showing "
                f"{last.size}, which we cosigned: truncated or rolled back",
                evidence,
            )
            return "rollback"
        if checkpoint.size == last.size:
            if checkpoint.root != last.root:
                _alert(node, partner, "fork",
                       f"{partner} shows another root for size {last.size} than the "
                       "one we cosigned: its log was rewritten", evidence)  # fmt: skip
                return "fork"
            return "unchanged"
        try:
            verify_consistency(last.size, checkpoint.size, last.root, checkpoint.root, proof)
        except (ProofInvalid, MalformedInput) as exc:
            _alert(
                node,
                partner,
                "fork",
                f"{partner}'s log of {checkpoint.size} records does not extend the "
                f"{last.size} we cosigned ({exc}): its history was rewritten",
                evidence,
            )
            return "fork"
    # W3
    line = cosign(verified.text, name=witness_name(node.node_id), key=node.identity.signing,
                  timestamp=node.now())  # fmt: skip
    try:
        with node.db.write() as session:
            reason = f"checkpoint {checkpoint.size}"
            stale = session.get(WitnessedCheckpoint, (contact.partner_id, checkpoint.size))
            if stale is not None and stale.distrusted_at is not None:
                # One of the same size cosigned while the keys were compromised: replaced, its
                # root kept in this record as evidence.
                reason += f"; replaces a distrusted one with root {stale.root.hex()}"
                session.delete(stale)
                session.flush()
            session.add(WitnessedCheckpoint(partner_id=contact.partner_id, size=checkpoint.size,
                                            root=checkpoint.root, note=note, cosignature=line,
                                            cosigned_at=node.utcnow()))  # fmt: skip
            record(session, actor=Actor.system(), action="witness.cosign", outcome=ALLOWED,
                   at=node.utcnow(), object_type="partner", object_id=partner,
                   reason=reason)  # fmt: skip
    except IntegrityError:
        return "unchanged"  # another replica of this node cosigned it at the same moment
    await client.cosign(contact, checkpoint.size, line)
    return "cosigned"


async def witness_all(node: Node, client: PartnerClient | None = None) -> dict[str, str]:
    """Witness every pinned partner's audit log once; returns what happened per partner
    (``cosigned``, ``unchanged``, an alert kind, or ``failed``). ``client``: the worker's (else
    one of its own for this round)."""
    results: dict[str, str] = {}
    async with AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(PartnerClient.open(node))
        for partner_id, node_id in pinned_partners(node):
            try:
                contact = read_contact(node, partner_id)
                results[node_id] = await witness_partner(node, client, contact)
            except (ServiceError, CryptoError, httpx.HTTPError) as exc:
                log.warning("witnessing %s failed (will retry): %r", node_id, exc)
                results[node_id] = "failed"
    return results
