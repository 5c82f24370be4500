"""Witnessing: each node cosigns its partner's audit checkpoints, and catches a partner's log
that shrinks or forks (docs/protocol.md section 9, steps W1-W3).

The holder side answers ``POST /federation/v1/audit/checkpoint`` with a fresh signed checkpoint
and a consistency proof from the size the witness last cosigned, and stores the cosignatures the
witness sends back (``POST /federation/v1/audit/cosignature``). The witness side runs after every
pull round (``service.pull.Puller``): it verifies the checkpoint and the proof against the last
checkpoint of that partner it cosigned, and either cosigns or raises an alert with both signed
checkpoints as evidence.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crypto import httpsig
from crypto.canonical import canonicalize, parse_strict
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import CryptoError, MalformedInput, ProofInvalid
from crypto.logverify import origin_of, witness_name
from crypto.merkle import verify_consistency
from crypto.note import cosign, parse_checkpoint, parse_note, verify_cosignature, verify_note
from service import audit, checkpoints, federation
from service.audit import Actor
from service.errors import BadRequest
from service.models import AuditAlert, AuditCosignature, Partner, WitnessedCheckpoint
from service.node import Node

if TYPE_CHECKING:
    import httpx

    from service.pull import Puller

log = logging.getLogger("liaison.witness")

CHECKPOINT_PATH = "/federation/v1/audit/checkpoint"
COSIGNATURE_PATH = "/federation/v1/audit/cosignature"
MAX_PROOF = 130


def _body(request: httpsig.HttpRequestParts) -> dict[str, Any]:
    try:
        body = parse_strict(request.body, max_bytes=8192)
    except CryptoError as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest("the body is a JSON object")
    return body


def _natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# -- the holder's side ---------------------------------------------------------------------------


def serve_checkpoint(
    node: Node, request: httpsig.HttpRequestParts, remote_addr: str | None
) -> federation.SignedAnswer:
    """A checkpoint of our log as it is now, and the consistency proof from ``from``."""

    def work(session: Session, partner: Partner) -> bytes:
        body = _body(request)
        old = body.get("from")
        if set(body) != {"from"} or not _natural(old):
            raise BadRequest('the body is {"from": <size last cosigned, or 0>}')
        assert isinstance(old, int)
        row = checkpoints.sign_in(session, node, force=True).checkpoint
        proof = checkpoints.consistency(session, old, row.size) if 0 < old < row.size else []
        return canonicalize(
            {"checkpoint": row.note, "consistency": [b64u_encode(h) for h in proof]}
        )

    return federation.handle_signed(node, request, remote_addr, work)


def serve_cosignature(
    node: Node, request: httpsig.HttpRequestParts, remote_addr: str | None
) -> federation.SignedAnswer:
    """Store a partner's cosignature of one of our checkpoints, once it verifies."""

    def work(session: Session, partner: Partner) -> bytes:
        body = _body(request)
        size, line = body.get("size"), body.get("cosignature")
        if set(body) != {"size", "cosignature"} or not _natural(size) or not isinstance(line, str):
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
        audit.record(session, actor=Actor("partner", partner.node_id, None, remote_addr),
                     action="audit.cosigned", outcome=audit.ALLOWED, at=node.utcnow(),
                     object_type="checkpoint", object_id=str(size))  # fmt: skip
        return canonicalize({"stored": True})

    return federation.handle_signed(node, request, remote_addr, work)


# -- the witness's side --------------------------------------------------------------------------


def _alert(node: Node, partner: Partner, kind: str, detail: str, evidence: str) -> None:
    """Record evidence against ``partner``'s log, once per finding: one alert of a kind against
    the same cosigned checkpoint (the evidence starts with it), however often it is seen."""
    basis = evidence.split("\nshown now:\n", 1)[0]
    with node.db.transaction() as session:
        seen = session.scalar(
            select(AuditAlert.id).where(
                AuditAlert.subject == partner.node_id,
                AuditAlert.kind == kind,
                AuditAlert.evidence.startswith(basis, autoescape=True),
            )
        )
        if seen is not None:
            return
        session.add(AuditAlert(at=node.utcnow(), subject=partner.node_id, kind=kind,
                               detail=detail, evidence=evidence))  # fmt: skip
        audit.record(session, actor=Actor.system(), action="witness.alert", outcome=audit.ERROR,
                     at=node.utcnow(), object_type="partner", object_id=partner.node_id,
                     reason=f"{kind}: {detail}")  # fmt: skip
    log.error("audit log of %s: %s: %s", partner.node_id, kind, detail)


async def witness_partner(puller: Puller, client: httpx.AsyncClient, partner_id: int) -> str:
    """Fetch, check (W1, W2) and cosign (W3) ``partner``'s latest checkpoint; return what
    happened: ``cosigned``, ``unchanged``, or the alert kind.

    Raises:
        CryptoError, ServiceError, httpx.HTTPError: the exchange itself failed (retried next
            round; not evidence against the partner).
    """
    node = puller.node
    with node.db.transaction() as session:
        partner = session.get(Partner, partner_id)
        assert partner is not None
        last = session.scalar(
            select(WitnessedCheckpoint)
            .where(WitnessedCheckpoint.partner_id == partner_id)
            .order_by(WitnessedCheckpoint.size.desc())
            .limit(1)
        )
    old = last.size if last is not None else 0
    raw = await puller.signed_post(client, partner, CHECKPOINT_PATH, canonicalize({"from": old}))
    answer = parse_strict(raw, max_bytes=256 * 1024)
    if not isinstance(answer, dict) or not isinstance(answer.get("checkpoint"), str):
        raise MalformedInput("a checkpoint answer holds 'checkpoint' and 'consistency'")
    encoded = answer.get("consistency", [])
    if not isinstance(encoded, list) or len(encoded) > MAX_PROOF:
        raise MalformedInput("'consistency' is a list of hashes")
    proof = [b64u_decode(h, field="consistency hash") for h in encoded]
    note: str = answer["checkpoint"]
    # W1
    verified = verify_note(note, [checkpoints.node_verifier(partner.node_id, partner.ed25519_key)])
    checkpoint = parse_checkpoint(verified.text)
    if checkpoint.origin != origin_of(partner.node_id):
        raise MalformedInput(f"a checkpoint of {checkpoint.origin!r}, not of {partner.node_id}")
    # W2
    if last is not None:
        evidence = f"cosigned before:\n{last.note}\nshown now:\n{note}"
        if checkpoint.size < last.size:
            _alert(
                node,
                partner,
                "rollback",
                f"{partner.node_id} shows a log of {checkpoint.size} records after showing "
                f"{last.size}, which we cosigned: truncated or rolled back",
                evidence,
            )
            return "rollback"
        if checkpoint.size == last.size:
            if checkpoint.root != last.root:
                _alert(node, partner, "fork",
                       f"{partner.node_id} shows another root for size {last.size} than the "
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
                f"{partner.node_id}'s log of {checkpoint.size} records does not extend the "
                f"{last.size} we cosigned ({exc}): its history was rewritten",
                evidence,
            )
            return "fork"
    # W3
    line = cosign(verified.text, name=witness_name(node.node_id), key=node.identity.signing,
                  timestamp=node.now())  # fmt: skip
    try:
        with node.db.transaction() as session:
            session.add(WitnessedCheckpoint(partner_id=partner_id, size=checkpoint.size,
                                            root=checkpoint.root, note=note, cosignature=line,
                                            cosigned_at=node.utcnow()))  # fmt: skip
            audit.record(session, actor=Actor.system(), action="witness.cosign",
                         outcome=audit.ALLOWED, at=node.utcnow(), object_type="partner",
                         object_id=partner.node_id,
                         reason=f"checkpoint {checkpoint.size}")  # fmt: skip
    except IntegrityError:
        return "unchanged"  # another replica of this node cosigned it at the same moment
    await puller.signed_post(
        client,
        partner,
        COSIGNATURE_PATH,
        canonicalize({"size": checkpoint.size, "cosignature": line}),
    )
    return "cosigned"
