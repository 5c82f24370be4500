"""Serving partners: authenticate a signed request, run its work in the request's transaction,
and sign the answer.

Every partner request goes through :func:`handle_signed` (docs/protocol.md section 6, F1):

F1. The request's RFC 9421 signature is verified (S1-S8) against the pinned partner whose signing
    key id it names; the nonce is remembered in the same transaction as what the request causes,
    so a replay is refused by the database's primary key.

Then the work of the endpoint (receiving an envelope, serving a pull, a checkpoint, ...) runs in
a savepoint of that transaction. Every verification failure answers the peer an unsigned
``401 rejected`` and records the precise reason; once the partner is authenticated, a refusal by
the work (a conflict, content we will not accept) is answered as a *signed* problem, since the
sender gives a delivery up only on a refusal whose signature it verifies, so nobody on the path
can forge one to make it stop trying.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crypto import httpsig
from crypto.errors import CryptoError, UnknownKey
from service.audit import Actor, denial
from service.errors import PROBLEM_MEDIA_TYPE, FederationRejected, ServiceError
from service.federation.wire import JSON
from service.models import Nonce, Partner
from service.node import Node

Work = Callable[[Session, Partner, Actor], bytes]
"""An endpoint's work for an authenticated partner (``Actor``: that partner, as recorded)."""


class DatabaseNonceStore:
    """RFC 9421 nonces in the ``nonces`` table: the primary key refuses a second use."""

    def __init__(self, session: Session, now: int) -> None:
        self._session = session
        self._now = now

    def remember(self, keyid: str, nonce: str, expires_at: int) -> bool:
        self._session.execute(delete(Nonce).where(Nonce.expires_at < self._now))
        # INSERT ... ON CONFLICT DO NOTHING RETURNING (SQLite and PostgreSQL alike): no row back
        # is a nonce already used, with no savepoint and no exception on the common path.
        dialect = self._session.get_bind().dialect.name
        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        statement = insert(Nonce).values(keyid=keyid, nonce=nonce, expires_at=expires_at)
        added = statement.on_conflict_do_nothing().returning(Nonce.nonce)
        return self._session.execute(added).first() is not None


def authenticate_partner(
    session: Session, node: Node, request: httpsig.HttpRequestParts
) -> Partner:
    """F1: verify a partner's signed request (docs/protocol.md S1-S8); return the partner.

    Raises:
        CryptoError: any verification failure, including a replayed nonce.
    """
    partners: dict[str, Partner] = {}

    def resolve_key(keyid: str) -> bytes:
        partner = session.scalar(select(Partner).where(Partner.signing_key_id == keyid))
        if partner is None:
            raise UnknownKey(f"no pinned partner has signing key {keyid!r}")
        if partner.suspended_at is not None:  # its keys may be in other hands (S2)
            raise UnknownKey(f"partner {partner.node_id} is suspended: its key is not trusted")
        partners[keyid] = partner
        return partner.ed25519_key

    verified = httpsig.verify_request(
        request,
        resolve_key=resolve_key,
        nonce_store=DatabaseNonceStore(session, node.now()),
        now=node.now(),
        max_skew=node.settings.clock_skew,
        max_age=node.settings.request_max_age,
    )
    return partners[verified.keyid]


@dataclass(frozen=True, slots=True)
class SignedAnswer:
    body: bytes
    headers: dict[str, str]
    status: int = 200


def handle_signed(
    session: Session,
    node: Node,
    request: httpsig.HttpRequestParts,
    remote_addr: str | None,
    work: Work,
    media_type: str = JSON,
) -> SignedAnswer:
    """F1 for any partner request, then ``work`` in a savepoint of ``session``, then a signed
    answer (a signed problem if ``work`` refused: its changes are rolled back, the refusal and
    the nonce are kept).

    Raises:
        FederationRejected: a verification failure, before or inside ``work`` (the peer hears
            "rejected"; the precise reason is in the record the error carries).
    """
    unauthenticated = Actor.partner("unauthenticated", remote_addr)
    try:
        partner = authenticate_partner(session, node, request)
    except CryptoError as exc:
        raise _rejected(node, unauthenticated, request, exc) from exc
    actor = Actor.partner(f"{partner.node_id}/{partner.signing_key_id}", remote_addr)
    try:
        with session.begin_nested():
            body = work(session, partner, actor)
    except CryptoError as exc:
        raise _rejected(node, actor, request, exc) from exc
    except ServiceError as exc:
        for consequence in exc.consequences:
            consequence.write(session)
        refusal = denial(actor, "federation.refuse", node.utcnow(),
                         f"{request.target_uri}: {exc.diagnostics()}")  # fmt: skip
        refusal.write(session)
        return _signed(node, request, exc.status, PROBLEM_MEDIA_TYPE, exc.problem_bytes())
    return _signed(node, request, 200, media_type, body)


def refused(node: Node, actor: Actor, reason: str) -> FederationRejected:
    """The error for a partner request refused before its work began (recorded)."""
    return FederationRejected("rejected").recording(
        denial(actor, "federation.refuse", node.utcnow(), reason)
    )


def _rejected(
    node: Node, actor: Actor, request: httpsig.HttpRequestParts, exc: CryptoError
) -> FederationRejected:
    return refused(node, actor, f"{request.target_uri}: {exc.diagnostics()}")


def _signed(
    node: Node, request: httpsig.HttpRequestParts, status: int, media_type: str, body: bytes
) -> SignedAnswer:
    response = httpsig.HttpResponseParts(status, {"content-type": media_type}, body)
    headers = httpsig.sign_response(
        response,
        request,
        key=node.identity.signing,
        keyid=node.identity.signing.public.key_id,
        now=node.now(),
    )
    return SignedAnswer(body, {"content-type": media_type, **headers}, status)
