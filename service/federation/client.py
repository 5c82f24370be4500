"""Talking to a partner: the one client that signs requests and verifies answers.

Every request this node makes of a partner goes through :class:`PartnerClient`: envelope pushes,
pulls and their receipts, witnessing, reconciling, and fetching key documents. Requests are
signed with RFC 9421 (``crypto.httpsig``, S1-S8 on the partner's side); answers are verified
against the partner's pinned key and bound to the request we sent (T1-T7), so an answer signed by
anyone else, or for another request, is refused.

What the client needs of a partner is read from the database beforehand (:class:`PartnerContact`):
no database transaction is held while it waits on the network. Calling it inside a write
transaction is a bug it refuses (``RuntimeError``), so that a slow partner can never hold the
database lock that officers' submissions and other deliveries wait for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from crypto import httpsig
from crypto.canonical import canonicalize, parse_strict
from crypto.encoding import b64u_encode
from crypto.errors import CryptoError, InputTooLarge, MalformedInput, UnknownKey
from service.errors import PartnerUnreachable, ServiceError
from service.federation.wire import (
    CHECKPOINT_PATH,
    COSIGNATURE_PATH,
    DEFAULT_PULL_LIMIT,
    ENVELOPE_BATCH_PATH,
    ENVELOPE_MEDIA_TYPE,
    ENVELOPES_PATH,
    JSON,
    KEY_DOCUMENT_PATH,
    MAX_ANSWER_BYTES,
    MAX_KEY_DOCUMENT_BYTES,
    PULL_PATH,
    RECEIPTS_PATH,
    RECONCILE_PATH,
)
from service.keyring import Keyring
from service.models import Partner
from service.node import Node


@dataclass(frozen=True, slots=True)
class PartnerContact:
    """How to reach a pinned partner and check its answers, read before any network I/O.

    ``endpoint`` is the URL this node connects to (as pinned); ``origin`` the endpoint the
    partner's own key document names, from which the signed ``@target-uri`` is built.
    """

    partner_id: int
    node_id: str
    endpoint: str
    origin: str
    keyid: str
    ed25519: bytes

    @classmethod
    def of(cls, partner: Partner, keyring: Keyring) -> PartnerContact:
        document = keyring.partner_document(partner)
        return cls(partner.id, partner.node_id, partner.endpoint, document.endpoint,
                   partner.signing_key_id, partner.ed25519_key)  # fmt: skip

    def resolve_key(self, keyid: str) -> bytes:
        """The pinned key, for the key id an answer names: anyone else's signature is refused."""
        if keyid != self.keyid:
            raise UnknownKey(f"answer signed by {keyid!r}, not by {self.node_id}")
        return self.ed25519


@dataclass(frozen=True, slots=True)
class PartnerAnswer:
    """A partner's answer to a signed request.

    ``failure`` is None when its signature verified (T1-T7): made by the partner, over this
    answer, bound to our request; else it says why not.
    """

    status: int
    body: bytes
    failure: CryptoError | None = None

    @property
    def signed(self) -> bool:
        return self.failure is None

    @property
    def reason(self) -> str:
        """A one-line reason from a problem+json answer (or its status)."""
        return problem_reason(self.status, self.body)

    @property
    def code(self) -> str | None:
        """The ``code`` of a problem+json answer (None: not a problem, or none given)."""
        code = _problem(self.body).get("code")
        return code if isinstance(code, str) else None


def _problem(body: bytes) -> dict[str, Any]:
    """A problem+json body's members ({} when it is not one)."""
    try:
        problem = parse_strict(body, max_bytes=64 * 1024)
    except CryptoError:
        return {}
    return problem if isinstance(problem, dict) else {}


def problem_reason(status: int, body: bytes) -> str:
    """``HTTP <status> <code>: <detail>`` from a problem+json body, or ``HTTP <status>``."""
    problem = _problem(body)
    code, detail = problem.get("code"), problem.get("detail")
    if code or detail:
        return f"HTTP {status} {code}: {detail}"[:2000]
    return f"HTTP {status}"


class PartnerClient:
    """Signed requests to partners over one HTTP connection pool (``node.http_client``)."""

    def __init__(self, node: Node, http: httpx.AsyncClient) -> None:
        self.node = node
        self.http = http

    @classmethod
    @asynccontextmanager
    async def open(cls, node: Node) -> AsyncIterator[PartnerClient]:
        assert node.http_client is not None
        async with node.http_client() as http:
            yield cls(node, http)

    def _outside_transactions(self) -> None:
        if self.node.db.writing():
            raise RuntimeError("network I/O inside a write transaction: read what the request "
                               "needs first, commit, then talk to the partner")  # fmt: skip

    async def fetch_key_document(self, url: str) -> bytes:
        """GET the key document a node serves at ``url`` (unsigned: it signs itself).

        Raises:
            PartnerUnreachable: no answer, a non-200 answer, or a document over 64 KiB.
        """
        self._outside_transactions()
        target = url.rstrip("/") + KEY_DOCUMENT_PATH
        try:
            response = await self.http.get(target, headers={"Accept": JSON})
        except httpx.HTTPError as exc:
            raise PartnerUnreachable(
                f"cannot fetch {target}: {exc.__class__.__name__}: {exc}"
            ) from exc
        if response.status_code != 200:
            raise PartnerUnreachable(f"{target} answered HTTP {response.status_code}")
        if len(response.content) > MAX_KEY_DOCUMENT_BYTES:
            raise PartnerUnreachable(f"{target} sent an oversize key document")
        return response.content

    async def request(
        self, contact: PartnerContact, path: str, body: bytes, content_type: str = JSON
    ) -> PartnerAnswer:
        """POST ``body`` to ``path`` with an RFC 9421 signature; verify whatever comes back.

        Raises:
            httpx.HTTPError: the network failed.
        """
        self._outside_transactions()
        node = self.node
        identity = node.identity
        unsigned = httpsig.HttpRequestParts(
            "POST", contact.origin + path, {"content-type": content_type}, body
        )
        headers = httpsig.sign_request(
            unsigned, key=identity.signing, keyid=identity.signing.public.key_id, now=node.now()
        )
        signed = httpsig.HttpRequestParts(
            "POST", unsigned.target_uri, {**unsigned.headers, **headers}, body
        )
        response = await self.http.post(
            contact.endpoint + path, content=body, headers={"content-type": content_type, **headers}
        )
        content = response.content
        if len(content) > MAX_ANSWER_BYTES:
            oversize = InputTooLarge(f"{contact.node_id} sent an oversize answer")
            return PartnerAnswer(response.status_code, b"", oversize)
        answer = httpsig.HttpResponseParts(response.status_code, dict(response.headers), content)
        try:
            httpsig.verify_response(
                answer, signed, resolve_key=contact.resolve_key, now=node.now(),
                max_skew=node.settings.clock_skew, max_age=node.settings.request_max_age,
            )  # fmt: skip
        except CryptoError as exc:
            return PartnerAnswer(response.status_code, content, exc)
        return PartnerAnswer(response.status_code, content)

    async def push(self, contact: PartnerContact, envelope: bytes) -> PartnerAnswer:
        """Deliver one envelope (docs/protocol.md section 6); a signed 200 carries the receipt.

        Raises:
            httpx.HTTPError: the network failed.
        """
        return await self.request(contact, ENVELOPES_PATH, envelope, ENVELOPE_MEDIA_TYPE)

    async def push_batch(self, contact: PartnerContact, envelopes: list[bytes]) -> PartnerAnswer:
        """Deliver several envelopes in one request (docs/protocol.md section 6, B1-B4); a signed
        200 lists a receipt or a refusal for each, in order.

        Raises:
            httpx.HTTPError: the network failed.
        """
        body = canonicalize({"envelopes": [b64u_encode(e) for e in envelopes]})
        return await self.request(contact, ENVELOPE_BATCH_PATH, body)

    async def call(self, contact: PartnerContact, path: str, body: dict[str, Any]) -> Any:
        """A signed JSON request whose answer must be a signed ``200``; returns the parsed body.

        Raises:
            ServiceError: the partner answered with an error.
            CryptoError: the answer is not signed by the partner for this request (T1-T7), or
                is not strict JSON.
            httpx.HTTPError: the network failed.
        """
        answer = await self.request(contact, path, canonicalize(body))
        if answer.status != 200:
            raise ServiceError(f"{contact.node_id} answered {answer.reason}")
        if isinstance(answer.failure, InputTooLarge):
            raise ServiceError(answer.failure.message)
        if answer.failure is not None:
            raise answer.failure
        return parse_strict(answer.body, max_bytes=MAX_ANSWER_BYTES)

    async def pull(self, contact: PartnerContact, after: int) -> dict[str, Any]:
        """The envelopes the partner holds for us with ``seq > after`` (docs/protocol.md 7)."""
        return _object(
            await self.call(contact, PULL_PATH, {"after": after, "limit": DEFAULT_PULL_LIMIT}),
            "a pull answer",
        )

    async def send_receipts(self, contact: PartnerContact, receipts: list[str]) -> dict[str, Any]:
        """Receipts (base64url) for envelopes we pulled; the partner counts what it accepted."""
        return _object(
            await self.call(contact, RECEIPTS_PATH, {"receipts": receipts}), "a receipts answer"
        )

    async def checkpoint(self, contact: PartnerContact, cosigned_size: int) -> dict[str, Any]:
        """A fresh signed checkpoint of the partner's log, with the consistency proof from the
        size we last cosigned (docs/protocol.md section 9, W1)."""
        return _object(
            await self.call(contact, CHECKPOINT_PATH, {"from": cosigned_size}),
            "a checkpoint answer",
        )

    async def cosign(self, contact: PartnerContact, size: int, line: str) -> None:
        """Hand the partner our cosignature of its checkpoint of ``size`` (W3)."""
        await self.call(contact, COSIGNATURE_PATH, {"size": size, "cosignature": line})

    async def reconcile(self, contact: PartnerContact) -> dict[str, Any]:
        """What the partner holds from us and what it addressed to us, by message id."""
        return _object(await self.call(contact, RECONCILE_PATH, {}), "a reconcile answer")


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedInput(f"{what} is a JSON object")
    return value
