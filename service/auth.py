"""Officer authentication: Argon2id password hashes and short-lived node-signed tokens.

Passwords are hashed with Argon2id (RFC 9106) in the PHC string format, using ``cryptography``'s
implementation, so the cost parameters travel with each hash and can be raised later.

Tokens are JWTs signed by the node with a dedicated Ed25519 key (``EdDSA``; the key is a secret
in the key file, separate from the federation identity). Verification accepts only ``EdDSA``
(an algorithm allow-list: no ``none``, no HMAC keyed with a public key) and requires ``exp``,
``iat``, ``nbf``, ``iss``, ``aud``, ``sub``, ``jti`` and ``role``. The role in a token is not
trusted alone: every request re-reads the user, and a token whose role no longer matches, or
whose user is disabled or gone, is refused.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from service.errors import Unauthenticated

ROLES = ("officer", "releaser", "auditor", "admin")
"""Officers submit and read; releasers are officers who may also approve held releases (the
two-person rule); auditors read the log and decisions, never content; admins run the node."""
TOKEN_SECRET_NAME = "token-key"  # noqa: S105 - a name, not the secret
PREVIOUS_TOKEN_SECRET_NAME = "token-key-previous"  # noqa: S105 - a name
TOKEN_ROTATED_AT_NAME = "token-key-rotated-at"  # noqa: S105 - a name (8-byte Unix seconds)
ALGORITHM = "EdDSA"
_REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """Argon2id cost for new hashes. Defaults: RFC 9106's second option (64 MiB, t=3, p=4)."""

    memory_kib: int = 64 * 1024
    iterations: int = 3
    lanes: int = 4
    min_length: int = 12


def hash_password(password: str, policy: PasswordPolicy) -> str:
    """Return the PHC string (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``) for ``password``."""
    kdf = Argon2id(
        salt=os.urandom(16),
        length=32,
        iterations=policy.iterations,
        lanes=policy.lanes,
        memory_cost=policy.memory_kib,
    )
    return kdf.derive_phc_encoded(password.encode("utf-8"))


def verify_password(password: str, phc: str) -> bool:
    """Check ``password`` against a stored PHC string (constant time in the library)."""
    try:
        Argon2id.verify_phc_encoded(password.encode("utf-8"), phc)
    except (InvalidKey, ValueError):
        return False
    return True


def check_password_strength(password: str, policy: PasswordPolicy) -> str | None:
    """A reason the password is refused, or None."""
    if len(password) < policy.min_length:
        return f"passwords must be at least {policy.min_length} characters"
    if len(password) > 1024:
        return "passwords must be at most 1024 characters"
    return None


@dataclass(frozen=True, slots=True)
class TokenClaims:
    username: str
    role: str
    jti: str
    expires_at: int
    generation: int = 0
    """The user's token generation when it was issued (0 for tokens from before it existed)."""


def _kid(key: Ed25519PrivateKey) -> str:
    """The token key's id, in each token's header (``kid``): which key verifies it."""
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "tk-" + hashlib.sha256(raw).hexdigest()[:16]


class TokenIssuer:
    """Issues and verifies the node's officer tokens.

    After a rotation of the token key (``liaison node rotate-token-key``) the previous key still
    verifies tokens for one token lifetime after it, so that officers logged in just before are
    not cut off; whoever holds a copy of the previous key can mint tokens that pass for that
    window at most (tokens cannot be backdated past it: ``exp - iat`` is bounded by the
    lifetime, and the previous key is refused once the window is over, whatever the token says).
    """

    def __init__(
        self,
        *,
        node_id: str,
        key_seed: bytes,
        ttl: int,
        previous_seed: bytes | None = None,
        rotated_at: int | None = None,
    ) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(key_seed)
        self._public = self._key.public_key()
        self.kid = _kid(self._key)
        self._previous: tuple[str, Ed25519PublicKey, int] | None = None
        if previous_seed is not None and rotated_at is not None:
            previous = Ed25519PrivateKey.from_private_bytes(previous_seed)
            self._previous = (_kid(previous), previous.public_key(), rotated_at)
        self.issuer = node_id
        self.audience = f"liaison:{node_id}:api"
        self.ttl = ttl

    def _verifying_key(self, kid: object, now: int) -> Ed25519PublicKey:
        """The key for a token's ``kid``: the current one, or the previous one until one token
        lifetime after the rotation."""
        if kid is None or kid == self.kid:  # tokens from before kids were written: current key
            return self._public
        if self._previous is not None and kid == self._previous[0]:
            _, key, rotated_at = self._previous
            if now >= rotated_at + self.ttl:
                raise Unauthenticated("token signed by a token key rotated away")
            return key
        raise Unauthenticated(f"token signed by an unknown token key {str(kid)[:24]!r}")

    def issue(self, *, username: str, role: str, now: int, generation: int = 0) -> tuple[str, int]:
        """Return a signed token and its lifetime in seconds; ``generation`` is the user's token
        generation (a token of an older one is refused)."""
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": username,
            "role": role,
            "gen": generation,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl,
            "jti": uuid.uuid4().hex,
        }
        headers = {"typ": "JWT", "kid": self.kid}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers=headers), self.ttl

    def verify(self, token: str, *, now: int) -> TokenClaims:
        """Check a token's signature, algorithm, issuer, audience and times.

        Raises:
            Unauthenticated: any failure (the precise reason is in the message, for the audit log).
        """
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM:
                raise Unauthenticated(f"token algorithm {header.get('alg')!r} is not allowed")
            public = self._verifying_key(header.get("kid"), now)
            claims = jwt.decode(
                token,
                public,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                # Times are checked below against the node's clock (injected in tests), not
                # against the library's own reading of the system clock.
                options={
                    "require": _REQUIRED_CLAIMS,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from exc
        if claims.get("role") not in ROLES or not isinstance(claims.get("sub"), str):
            raise Unauthenticated("token carries no valid role or subject")
        try:
            exp, nbf, iat = int(claims["exp"]), int(claims["nbf"]), int(claims["iat"])
        except (TypeError, ValueError) as exc:
            raise Unauthenticated("token times are not integers") from exc
        if exp <= now:
            raise Unauthenticated("token expired")
        if nbf > now + 5 or iat > now + 5:
            raise Unauthenticated("token not yet valid")
        if exp - iat > self.ttl:
            raise Unauthenticated("token lifetime exceeds this node's limit")
        generation = claims.get("gen", 0)
        if not isinstance(generation, int) or isinstance(generation, bool) or generation < 0:
            raise Unauthenticated("token generation is not a non-negative integer")
        return TokenClaims(claims["sub"], claims["role"], claims["jti"], exp, generation)
