"""RFC 9421 HTTP Message Signatures (Ed25519) and RFC 9530 Content-Digest for node-to-node calls.

Messages are plain values (:class:`HttpRequestParts`, :class:`HttpResponseParts`), so the httpx
client and the ASGI server share this code; neither web stack is imported here.

The liaison profile (label ``sig1``; key and algorithm come from the pinned partner record, never
from the message):

Request, tag ``liaison-v1``::

    Signature-Input: sig1=("@method" "@target-uri" "content-type" "content-digest");
                     created=T;expires=T+ttl;nonce="<128-bit b64url>";keyid="<id>";
                     alg="ed25519";tag="liaison-v1"

Response, tag ``liaison-v1-response``, bound to the request it answers (RFC 9421 section 2.4)::

    Signature-Input: sig1=("@status" "content-type" "content-digest" "@method";req
                     "@target-uri";req "signature-input";req;key="sig1" "signature";req;key="sig1");
                     created=T;expires=T+ttl;keyid="<id>";alg="ed25519";tag="liaison-v1-response"

A response carries no nonce: it covers the request's signature, which is unique because the
request's nonce is, so it cannot be replayed onto any other request.

Request verification (:func:`verify_request`), cited by docs/protocol.md:

    S1  Parse Signature-Input and Signature (strict RFC 8941 dictionaries); both must hold ``sig1``,
        an inner list of strings and a 64-byte byte sequence. Other labels are ignored.
    S2  The covered components are exactly the profile's list, in its order.
    S3  Parameters: created, expires (integers, expires >= created), nonce, keyid, tag (strings)
        present, no unknown ones; tag equals the expected tag; alg, if present, is "ed25519".
    S4  Freshness: created <= now + max_skew, created >= now - max_age, expires >= now,
        expires - created <= max_age.
    S5  Resolve keyid to the pinned Ed25519 public key (unknown keyid: UnknownKey).
    S6  Rebuild the signature base from the request (``@target-uri`` from the configured origin)
        and verify the Ed25519 signature.
    S7  Content-Digest matches the body.
    S8  Record (keyid, nonce) in the nonce store; a pair seen before is a replay.

Response verification (:func:`verify_response`): T1-T7 are S1-S7 with the response profile
(no nonce parameter; ``;req`` components read from the request as sent); there is no R8.

Structured fields are parsed by :mod:`crypto.sfv`, which is stricter than RFC 8941: duplicate
dictionary keys or parameters are refused, byte sequences must be canonical padded base64, and
decimals are not accepted (see its docstring for why).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Protocol
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from crypto.encoding import b64u_encode
from crypto.errors import (
    MalformedInput,
    NotFresh,
    ReplayDetected,
    SignatureInvalid,
    UnknownKey,
    UnsupportedAlgorithm,
)
from crypto.sfv import MAX_FIELD_CHARS as MAX_FIELD_CHARS  # re-exported: the limit on our fields
from crypto.sfv import (
    TCHARS,
    BareItem,
    InnerList,
    Item,
    Params,
    parse_dictionary,
    parse_item,
    parse_params,
    serialize_bare,
    serialize_item,
    serialize_member,
)
from crypto.signing import SigningKey

LABEL = "sig1"
ALG = "ed25519"
REQUEST_TAG = "liaison-v1"
RESPONSE_TAG = "liaison-v1-response"
_MAX_PARAM_CHARS = 256  # nonce and keyid go into the database
_SIGNATURE_BYTES = 64
_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


# --- Messages ---------------------------------------------------------------------------------


def _normalise_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in out:
            # The adapter must combine repeated fields (RFC 9421 section 2.1); two spellings of one
            # name would give two possible signature bases.
            raise MalformedInput(f"header {lower!r} given twice")
        out[lower] = value
    return MappingProxyType(out)


@dataclass(frozen=True)
class HttpRequestParts:
    """A request as signed: ``target_uri`` is absolute, built from the configured origin (not
    ``Host``); header names are lower-cased, repeated fields already combined with ``", "``.

    Raises:
        MalformedInput: two header names differ only in case.
    """

    method: str
    target_uri: str
    headers: Mapping[str, str]
    body: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", _normalise_headers(self.headers))


@dataclass(frozen=True)
class HttpResponseParts:
    """A response as signed; headers as in :class:`HttpRequestParts`."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", _normalise_headers(self.headers))


# --- RFC 9530 Content-Digest ------------------------------------------------------------------


def content_digest(body: bytes) -> str:
    """The Content-Digest value we emit: ``sha-256=:<base64>:``."""
    return "sha-256=" + serialize_bare(hashlib.sha256(body).digest())


def verify_content_digest(header_value: str | None, body: bytes) -> None:
    """Check a Content-Digest field against ``body``.

    ``sha-256`` and ``sha-512`` are recognised; other algorithms are ignored (RFC 9530 section 2),
    and every recognised one present must match.

    Raises:
        MalformedInput: missing, unparsable, a recognised digest of the wrong shape or length,
            or no recognised algorithm at all.
        SignatureInvalid: a recognised digest does not match the body.
    """
    if header_value is None:
        raise MalformedInput("Content-Digest is missing")
    members = parse_dictionary(header_value, "Content-Digest")
    recognised = [alg for alg in members if alg in _DIGESTS]
    if not recognised:
        raise MalformedInput("Content-Digest holds no sha-256 or sha-512 digest")
    for alg in recognised:
        member = members[alg]
        expected = _DIGESTS[alg](body).digest()
        if (
            not isinstance(member, Item)
            or not isinstance(member.value, bytes)
            or member.params
            or len(member.value) != len(expected)
        ):
            raise MalformedInput(f"Content-Digest {alg} is not a {len(expected)}-byte sequence")
        if not hmac.compare_digest(member.value, expected):
            raise SignatureInvalid(f"Content-Digest {alg} does not match the body")


# --- RFC 9421 signature base ------------------------------------------------------------------

_REQUEST_DERIVED = frozenset(
    {"@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query"}
)
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _checked_value(value: str, what: str) -> str:
    # A newline or other control character in a value could forge extra lines in the base.
    if not all(" " <= char <= "~" or char == "\t" for char in value):
        raise MalformedInput(f"{what} has characters outside printable ASCII")
    return value


def _derived(name: str, request: HttpRequestParts) -> str:
    if name == "@method":
        if not request.method or not set(request.method) <= TCHARS:
            raise MalformedInput("@method is not an HTTP token")
        return request.method
    uri = _checked_value(request.target_uri, "@target-uri")
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise MalformedInput("@target-uri does not parse") from exc
    scheme, netloc = parts.scheme.lower(), parts.netloc
    if scheme not in _DEFAULT_PORTS or not netloc or "@" in netloc or any(c in uri for c in " \t#"):
        raise MalformedInput("@target-uri must be an absolute http(s) URI, no userinfo or fragment")
    if netloc.startswith("["):  # IPv6 literal: its colons are not the port separator
        host, bracket, rest = netloc.partition("]")
        host += bracket
        port = rest.removeprefix(":")
        if rest[:1] not in ("", ":"):
            raise MalformedInput("@target-uri has a malformed authority")
    else:
        host, _, port = netloc.partition(":")
    if not host or not all(c in string.digits for c in port):
        raise MalformedInput("@target-uri has a malformed authority")
    path = parts.path or "/"
    derived = {
        "@target-uri": uri,
        "@scheme": scheme,
        "@path": path,
        "@query": "?" + parts.query,
        "@request-target": path + ("?" + parts.query if parts.query else ""),
        # RFC 9110 section 4.2.3: host lower-cased, default port dropped.
        "@authority": host.lower() + ("" if port in ("", _DEFAULT_PORTS[scheme]) else ":" + port),
    }
    return derived[name]


def _component_value(
    component: Item, request: HttpRequestParts, response: HttpResponseParts | None
) -> str:
    name = component.value
    if not isinstance(name, str) or not name:
        raise MalformedInput("a covered component is not a non-empty string")
    params = dict(component.params)
    if set(params) - {"req", "key"} or params.get("req", True) is not True:
        raise MalformedInput(f"component {name!r} has unsupported parameters")
    from_request = "req" in params
    if from_request and response is None:
        raise MalformedInput(f"component {name!r} has ;req outside a response signature")
    message: HttpRequestParts | HttpResponseParts = (
        request if response is None or from_request else response
    )
    if name.startswith("@"):
        if "key" in params:
            raise MalformedInput(f"derived component {name!r} cannot take ;key")
        if name == "@status":
            if not isinstance(message, HttpResponseParts) or not 100 <= message.status <= 999:
                raise MalformedInput("@status is only defined on a response")
            return str(message.status)
        if name not in _REQUEST_DERIVED or not isinstance(message, HttpRequestParts):
            raise MalformedInput(f"derived component {name!r} is not available here")
        return _derived(name, message)
    if name != name.lower() or not set(name) <= TCHARS:
        raise MalformedInput(f"field name {name!r} is not a lower-case token")
    raw = message.headers.get(name)
    if raw is None:
        raise MalformedInput(f"covered field {name!r} is missing")
    if "key" not in params:
        return _checked_value(raw.strip(" \t"), f"field {name!r}")
    key = params["key"]
    if not isinstance(key, str):
        raise MalformedInput(f"component {name!r}: ;key must be a string")
    member = parse_dictionary(raw, name).get(key)
    if member is None:
        raise MalformedInput(f"field {name!r} has no member {key!r}")
    return serialize_member(member)


def _build_base(
    covered: Sequence[Item],
    params: Params,
    request: HttpRequestParts,
    response: HttpResponseParts | None,
) -> tuple[bytes, str]:
    """Return the signature base and the serialized ``@signature-params`` value."""
    seen: set[tuple[BareItem, frozenset[tuple[str, BareItem]]]] = set()
    lines = []
    for component in covered:
        identity = (component.value, frozenset(component.params))
        name = serialize_item(component)
        if identity in seen:
            raise MalformedInput(f"component {name} is covered twice")
        seen.add(identity)
        lines.append(f"{name}: {_component_value(component, request, response)}")
    signature_params = serialize_member(InnerList(tuple(covered), params))
    lines.append(f'"@signature-params": {signature_params}')
    return "\n".join(lines).encode("ascii"), signature_params


def signature_base(
    components: Sequence[str],
    params_serialized: str,
    request: HttpRequestParts,
    response: HttpResponseParts | None = None,
) -> bytes:
    """Build an RFC 9421 signature base (section 2.5) for any covered components.

    ``components`` are serialized component identifiers as they appear in Signature-Input, such as
    ``'"@method"'``, ``'"@method";req'`` or ``'"signature";req;key="sig1"'``; ``params_serialized``
    is the serialized parameter list, such as ``';created=1618884473;keyid="k"'``. The last line
    of the base holds ``(components)params`` re-serialized, which is the Signature-Input member.
    Supported: ``@method @target-uri @authority @scheme @request-target @path @query @status``,
    header fields, and the ``req`` and ``key`` parameters. With ``response`` the base is for the
    response, and ``;req`` components are read from ``request``.

    Raises:
        MalformedInput: an identifier or parameter list does not parse, a component is unknown,
            repeated, unsupported for this message or missing from it, or a value is not ASCII.
    """
    covered = [parse_item(text, "component identifier") for text in components]
    params = parse_params(params_serialized, "signature parameters")
    return _build_base(covered, params, request, response)[0]


# --- The liaison profile ----------------------------------------------------------------------

_REQ = (("req", True),)
_REQUEST_COVERED = (
    Item("@method"),
    Item("@target-uri"),
    Item("content-type"),
    Item("content-digest"),
)
_RESPONSE_COVERED = (
    Item("@status"),
    Item("content-type"),
    Item("content-digest"),
    Item("@method", _REQ),
    Item("@target-uri", _REQ),
    Item("signature-input", (*_REQ, ("key", LABEL))),
    Item("signature", (*_REQ, ("key", LABEL))),
)
_REQUEST_PARAMS = ("created", "expires", "nonce", "keyid", "tag")
_RESPONSE_PARAMS = ("created", "expires", "keyid", "tag")


class NonceStore(Protocol):
    """Where verified request nonces are remembered until they can no longer be fresh."""

    def remember(self, keyid: str, nonce: str, expires_at: int) -> bool:
        """Record (keyid, nonce) until ``expires_at``; False if it was already recorded.

        Must be atomic (the service uses a database unique constraint, not a read-then-write).
        """
        ...


class InMemoryNonceStore:
    """A :class:`NonceStore` in a dict, for tests and the CLI; ``clock`` gives the current time."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self._clock = clock
        self._seen: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def remember(self, keyid: str, nonce: str, expires_at: int) -> bool:
        with self._lock:
            now = self._clock()
            self._seen = {k: t for k, t in self._seen.items() if t >= now}
            if (keyid, nonce) in self._seen:
                return False
            self._seen[(keyid, nonce)] = expires_at
            return True

    def __len__(self) -> int:
        return len(self._seen)


@dataclass(frozen=True)
class VerifiedRequest:
    """A request whose signature passed :func:`verify_request`.

    ``signature_input`` is the serialized ``sig1`` member of Signature-Input (the
    ``@signature-params`` value), which the response signature covers.
    """

    keyid: str
    created: int
    expires: int
    nonce: str
    signature_input: str


@dataclass(frozen=True)
class VerifiedResponse:
    """A response whose signature passed :func:`verify_response`; it answers the request given."""

    keyid: str
    created: int
    expires: int
    signature_input: str


def _sign(
    covered: tuple[Item, ...],
    params: Params,
    request: HttpRequestParts,
    response: HttpResponseParts | None,
    key: SigningKey,
    digest: str,
) -> dict[str, str]:
    try:
        base, signature_params = _build_base(covered, params, request, response)
    except MalformedInput as exc:
        raise ValueError(f"cannot sign this message: {exc.message}") from exc
    return {
        "Content-Digest": digest,
        "Signature-Input": f"{LABEL}={signature_params}",
        "Signature": f"{LABEL}={serialize_bare(key.sign_ed25519(base))}",
    }


def _own_params(
    now: int, ttl: int, nonce: str | None, keyid: str, tag: str
) -> tuple[tuple[str, BareItem], ...]:
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    head: Params = (("created", now), ("expires", now + ttl))
    if nonce is not None:
        head += (("nonce", nonce),)
    return (*head, ("keyid", keyid), ("alg", ALG), ("tag", tag))


def sign_request(
    request: HttpRequestParts,
    *,
    key: SigningKey,
    keyid: str,
    now: int,
    nonce: str | None = None,
    ttl: int = 60,
    tag: str = REQUEST_TAG,
) -> dict[str, str]:
    """Sign ``request`` with the liaison request profile; return the headers to add to it.

    The result holds ``Content-Digest`` (sha-256 of the body), ``Signature-Input`` and
    ``Signature`` (label ``sig1``). ``nonce`` defaults to 128 random bits in base64url.

    Raises:
        ValueError: the request has no content-type, a value cannot be serialized, or ttl <= 0
            (all bugs of the caller, not input from a peer).
    """
    if "content-type" not in request.headers:
        raise ValueError("a signed request must carry a content-type header")
    digest = content_digest(request.body)
    nonce = b64u_encode(secrets.token_bytes(16)) if nonce is None else nonce
    signed = replace(request, headers={**request.headers, "content-digest": digest})
    params = _own_params(now, ttl, nonce, keyid, tag)
    return _sign(_REQUEST_COVERED, params, signed, None, key, digest)


def sign_response(
    response: HttpResponseParts,
    request: HttpRequestParts,
    *,
    key: SigningKey,
    keyid: str,
    now: int,
    ttl: int = 60,
    tag: str = RESPONSE_TAG,
) -> dict[str, str]:
    """Sign ``response`` to the verified ``request`` (as received, with its signature headers).

    Returns ``Content-Digest``, ``Signature-Input`` and ``Signature`` (label ``sig1``) to add to
    the response. The signature covers the request's method, target URI, and ``sig1``
    Signature-Input and Signature members, so it answers that request and no other.

    Raises:
        ValueError: the response has no content-type, the request carries no ``sig1`` signature,
            or ttl <= 0 (bugs of the caller).
    """
    if "content-type" not in response.headers:
        raise ValueError("a signed response must carry a content-type header")
    digest = content_digest(response.body)
    signed = replace(response, headers={**response.headers, "content-digest": digest})
    params = _own_params(now, ttl, None, keyid, tag)
    return _sign(_RESPONSE_COVERED, params, request, signed, key, digest)


@dataclass(frozen=True)
class _Checked:
    params: dict[str, BareItem]
    signature_params: Params
    signature: bytes
    created: int
    expires: int
    keyid: str


def _check_signature_fields(
    headers: Mapping[str, str],
    covered: tuple[Item, ...],
    required: tuple[str, ...],
    tag: str,
    now: int,
    max_skew: int,
    max_age: int,
) -> _Checked:
    """Steps 1 to 4 (S1-S4, T1-T4), shared by requests and responses."""
    # S1: parse; only our label is read, other signatures (intermediaries) are not ours to judge.
    unverified_input = headers.get("signature-input")
    unverified_signature = headers.get("signature")
    if unverified_input is None or unverified_signature is None:
        raise MalformedInput("Signature-Input or Signature is missing")
    inputs = parse_dictionary(unverified_input, "Signature-Input")
    signatures = parse_dictionary(unverified_signature, "Signature")
    member, signature = inputs.get(LABEL), signatures.get(LABEL)
    if not isinstance(member, InnerList) or not all(isinstance(i.value, str) for i in member.items):
        raise MalformedInput(f"Signature-Input has no {LABEL} list of component names")
    if (
        not isinstance(signature, Item)
        or not isinstance(signature.value, bytes)
        or signature.params
        or len(signature.value) != _SIGNATURE_BYTES
    ):
        raise MalformedInput(f"Signature has no {LABEL} {_SIGNATURE_BYTES}-byte sequence")
    # S2: exactly the profile. Extra components would be signed but checked by nobody, and a new
    # profile gets a new tag, so there is nothing to gain from accepting them.
    if member.items != covered:
        raise MalformedInput("covered components differ from the profile")
    # S3: parameters. The key and algorithm come from the pinned record; alg is only cross-checked.
    params = dict(member.params)
    if set(params) - {*required, "alg"} or set(required) - set(params):
        raise MalformedInput(f"signature parameters must be {required} and optionally alg")
    created, expires = params["created"], params["expires"]
    if not isinstance(created, int) or isinstance(created, bool) or created < 0:
        raise MalformedInput("created must be a non-negative integer")
    if not isinstance(expires, int) or isinstance(expires, bool) or expires < created:
        raise MalformedInput("expires must be an integer not before created")
    for name in [n for n in ("nonce", "keyid", "tag") if n in required]:
        value = params[name]
        if not isinstance(value, str) or not 1 <= len(value) <= _MAX_PARAM_CHARS:
            raise MalformedInput(f"{name} must be a string of 1 to {_MAX_PARAM_CHARS} characters")
    if params["tag"] != tag:
        raise UnsupportedAlgorithm(f"signature tag {params['tag']!r} is not {tag!r}")
    if params.get("alg", ALG) != ALG:
        raise UnsupportedAlgorithm(f"signature alg {params['alg']!r} is not {ALG!r}")
    # S4: freshness, on our clock.
    if created > now + max_skew:
        raise NotFresh(f"signature created {created - now}s in the future")
    if created < now - max_age:
        raise NotFresh(f"signature created {now - created}s ago, over {max_age}s")
    if expires < now:
        raise NotFresh(f"signature expired {now - expires}s ago")
    if expires - created > max_age:
        raise NotFresh(f"signature valid for {expires - created}s, over {max_age}s")
    keyid = params["keyid"]
    assert isinstance(keyid, str)  # checked above
    return _Checked(params, member.params, signature.value, created, expires, keyid)


def _verify_ed25519(
    checked: _Checked,
    covered: tuple[Item, ...],
    resolve_key: Callable[[str], bytes],
    request: HttpRequestParts,
    response: HttpResponseParts | None,
) -> str:
    """Steps 5 and 6: resolve the pinned key, rebuild the base, verify; return the params value."""
    raw_key = resolve_key(checked.keyid)
    try:
        public = ed25519.Ed25519PublicKey.from_public_bytes(raw_key)
    except ValueError as exc:
        raise UnknownKey(f"key {checked.keyid!r} is not an Ed25519 public key") from exc
    base, signature_params = _build_base(covered, checked.signature_params, request, response)
    try:
        public.verify(checked.signature, base)
    except InvalidSignature as exc:
        raise SignatureInvalid(f"HTTP message signature by {checked.keyid!r} fails") from exc
    return signature_params


def verify_request(
    request: HttpRequestParts,
    *,
    resolve_key: Callable[[str], bytes],
    nonce_store: NonceStore,
    now: int,
    max_skew: int = 30,
    max_age: int = 300,
    tag: str = REQUEST_TAG,
) -> VerifiedRequest:
    """Verify a node-to-node request signed with the liaison profile, in this order:

    S1  Signature-Input and Signature parse and hold ``sig1``.
        MalformedInput (InputTooLarge over MAX_FIELD_CHARS).
    S2  The covered components are exactly the profile's, in its order.  MalformedInput.
    S3  created, expires, nonce, keyid, tag present and well typed, no unknown parameter:
        MalformedInput; tag != ``tag`` or alg present and not "ed25519": UnsupportedAlgorithm.
    S4  now - max_age <= created <= now + max_skew, expires >= now,
        expires - created <= max_age.  NotFresh.
    S5  ``resolve_key(keyid)`` gives the pinned Ed25519 key.  UnknownKey.
    S6  The signature base is rebuilt from ``request`` and the Ed25519 signature verifies.
        MalformedInput (a covered field is missing), SignatureInvalid.
    S7  Content-Digest matches the body.  MalformedInput, SignatureInvalid.
    S8  ``nonce_store.remember(keyid, nonce, created + max_age + max_skew)`` is True.
        ReplayDetected.

    The signature is checked before the body is hashed, so an unsigned sender cannot make us hash
    large bodies; the nonce is stored only after everything else passed, so forged requests
    cannot fill the store or burn a genuine nonce. ``request.target_uri`` must be rebuilt from the
    configured origin, not from ``Host``.
    """
    checked = _check_signature_fields(
        request.headers, _REQUEST_COVERED, _REQUEST_PARAMS, tag, now, max_skew, max_age
    )
    signature_params = _verify_ed25519(checked, _REQUEST_COVERED, resolve_key, request, None)
    verify_content_digest(request.headers.get("content-digest"), request.body)  # S7
    nonce = checked.params["nonce"]
    assert isinstance(nonce, str)  # checked in S3
    # S8: kept past the longest window in which a replay could still pass S4.
    if not nonce_store.remember(checked.keyid, nonce, checked.created + max_age + max_skew):
        raise ReplayDetected(f"nonce {nonce!r} from {checked.keyid!r} was seen before")
    return VerifiedRequest(checked.keyid, checked.created, checked.expires, nonce, signature_params)


def verify_response(
    response: HttpResponseParts,
    request: HttpRequestParts,
    *,
    resolve_key: Callable[[str], bytes],
    now: int,
    max_skew: int = 30,
    max_age: int = 300,
    tag: str = RESPONSE_TAG,
) -> VerifiedResponse:
    """Verify a signed response to ``request``, the request exactly as sent (with its headers).

    T1-T7 are the steps S1-S7 of :func:`verify_request` with the response profile: parameters
    created, expires, keyid, tag (no nonce); ``;req`` components read from ``request``. A response
    to any other request fails at T6 with SignatureInvalid (or MalformedInput if ``request``
    carries no ``sig1`` signature at all).

    Raises:
        MalformedInput, InputTooLarge, UnsupportedAlgorithm, NotFresh, UnknownKey,
        SignatureInvalid: as in the corresponding steps of :func:`verify_request`.
    """
    checked = _check_signature_fields(
        response.headers, _RESPONSE_COVERED, _RESPONSE_PARAMS, tag, now, max_skew, max_age
    )
    signature_params = _verify_ed25519(checked, _RESPONSE_COVERED, resolve_key, request, response)
    verify_content_digest(response.headers.get("content-digest"), response.body)  # T7
    return VerifiedResponse(checked.keyid, checked.created, checked.expires, signature_params)
