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

import os
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from service.errors import Unauthenticated

ROLES = ("officer", "releaser", "auditor", "admin")
"""Officers submit and read; releasers are officers who may also approve held releases (the
two-person rule); auditors read the log and decisions, never content; admins run the node."""
TOKEN_SECRET_NAME = "token-key"  # noqa: S105 - a name, not the secret
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


class TokenIssuer:
    """Issues and verifies the node's officer tokens."""

    def __init__(self, *, node_id: str, key_seed: bytes, ttl: int) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(key_seed)
        self._public = self._key.public_key()
        self.issuer = node_id
        self.audience = f"liaison:{node_id}:api"
        self.ttl = ttl

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
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"typ": "JWT"}), self.ttl

    def verify(self, token: str, *, now: int) -> TokenClaims:
        """Check a token's signature, algorithm, issuer, audience and times.

        Raises:
            Unauthenticated: any failure (the precise reason is in the message, for the audit log).
        """
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM:
                raise Unauthenticated(f"token algorithm {header.get('alg')!r} is not allowed")
            claims = jwt.decode(
                token,
                self._public,
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
