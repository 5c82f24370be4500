"""A node's private identity and its passphrase-encrypted key file.

``NodeIdentity`` holds the hybrid signing key and the X-Wing encryption keys with their validity
windows. It is written to disk only encrypted: the passphrase goes through Argon2id (RFC 9106,
memory-hard, so a stolen disk does not yield to GPU guessing), the result keys ChaCha20-Poly1305,
and the file's parameters are bound as associated data. Files are created with mode 0600 through a
temporary file and an atomic rename, and a key file that group or others can read is refused, as
OpenSSH refuses an unprotected private key.

Key file (JSON)::

    {"format": "liaison.keyfile", "version": 1,
     "kdf": {"name": "argon2id", "salt": b64u, "iterations": 3, "lanes": 4, "memory_kib": 65536},
     "aead": "chacha20-poly1305", "nonce": b64u, "ciphertext": b64u}
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from crypto.canonical import canonicalize, parse_strict
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import KeyExpired, KeyFileError, MalformedInput, UnknownKey
from crypto.keydoc import PublishedKemKey, build_key_document, check_node_id
from crypto.signing import SigningKey
from crypto.suites import DEFAULT_SUITE, KemPrivateKey, Suite, suite_by_name

KEYFILE_FORMAT = "liaison.keyfile"
DEFAULT_KEM_LIFETIME = 90 * 24 * 3600


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost. The default is RFC 9106's second recommended option (64 MiB, t=3, p=4)."""

    iterations: int = 3
    lanes: int = 4
    memory_kib: int = 64 * 1024

    def check(self) -> None:
        """Refuse parameters that are too weak to protect a key, or large enough to be a DoS.

        Raises:
            KeyFileError: outside 1..16 iterations, 1..16 lanes or 8 MiB..4 GiB of memory.
        """
        if not (1 <= self.iterations <= 16 and 1 <= self.lanes <= 16):
            raise KeyFileError("argon2id iterations and lanes must be between 1 and 16")
        if not (8 * 1024 <= self.memory_kib <= 4 * 1024 * 1024):
            raise KeyFileError("argon2id memory must be between 8 MiB and 4 GiB")


@dataclass(frozen=True, slots=True)
class KemKey:
    """One of our X-Wing encryption keys with its validity window (Unix seconds)."""

    suite: Suite
    private: KemPrivateKey
    not_before: int
    not_after: int

    @property
    def kid(self) -> str:
        return self.private.public.key_id(self.suite)

    def published(self) -> PublishedKemKey:
        return PublishedKemKey(
            kid=self.kid,
            suite=self.suite,
            public_key=self.private.public,
            not_before=self.not_before,
            not_after=self.not_after,
        )


@dataclass(slots=True)
class NodeIdentity:
    """A node's private keys: the hybrid signing identity and its encryption keys."""

    node_id: str
    signing: SigningKey
    kem_keys: list[KemKey] = field(default_factory=list)
    secrets: dict[str, bytes] = field(default_factory=dict)
    """Named symmetric secrets kept under the same passphrase (e.g. the service's data key)."""

    @classmethod
    def generate(
        cls,
        node_id: str,
        *,
        now: int,
        kem_lifetime: int = DEFAULT_KEM_LIFETIME,
        suite: Suite = DEFAULT_SUITE,
    ) -> NodeIdentity:
        identity = cls(check_node_id(node_id), SigningKey.generate())
        identity.add_kem_key(now=now, lifetime=kem_lifetime, suite=suite)
        return identity

    def add_kem_key(
        self, *, now: int, lifetime: int = DEFAULT_KEM_LIFETIME, suite: Suite = DEFAULT_SUITE
    ) -> KemKey:
        """Create a new encryption key valid from ``now`` (rotation keeps the old ones until
        :meth:`destroy_kem_keys_before` removes them)."""
        key = KemKey(suite, KemPrivateKey.generate(), now, now + lifetime)
        self.kem_keys.append(key)
        return key

    def destroy_kem_keys_before(self, when: int) -> list[str]:
        """Forget encryption keys that expired before ``when``; returns their ids.

        Destroying a private KEM key bounds what a later theft of the key file can decrypt.
        """
        gone = [k.kid for k in self.kem_keys if k.not_after <= when]
        self.kem_keys = [k for k in self.kem_keys if k.not_after > when]
        return gone

    def kem_key(self, kid: str) -> KemKey:
        """Our encryption key ``kid``.

        Raises:
            UnknownKey: we hold no such key (never had it, or destroyed it).
        """
        for key in self.kem_keys:
            if key.kid == kid:
                return key
        raise UnknownKey(f"no encryption key {kid!r}")

    def current_kem_key(self, now: int) -> KemKey:
        """Raises KeyExpired when no key is valid at ``now``."""
        valid = [k for k in self.kem_keys if k.not_before <= now < k.not_after]
        if not valid:
            raise KeyExpired("no encryption key is valid now")
        return max(valid, key=lambda k: (k.not_before, k.kid))

    def key_document(self, *, endpoint: str, serial: int, now: int) -> bytes:
        """The signed key document this node serves."""
        return build_key_document(
            node_id=self.node_id,
            endpoint=endpoint,
            serial=serial,
            issued_at=now,
            signing_key=self.signing,
            encryption_keys=[k.published() for k in self.kem_keys],
        )

    # -- serialisation of the private material (only ever written encrypted) --

    def _secret_json(self) -> bytes:
        ed_seed, ml_seed = self.signing.seeds()
        return canonicalize(
            {
                "node_id": self.node_id,
                "signing": {
                    "ed25519_seed": b64u_encode(ed_seed),
                    "ml_dsa_65_seed": b64u_encode(ml_seed),
                },
                "secrets": {
                    name: b64u_encode(value) for name, value in sorted(self.secrets.items())
                },
                "kem_keys": [
                    {
                        "suite": k.suite.name,
                        "seed": b64u_encode(k.private.seed),
                        "not_before": k.not_before,
                        "not_after": k.not_after,
                    }
                    for k in self.kem_keys
                ],
            }
        )

    @classmethod
    def _from_secret_json(cls, data: bytes) -> NodeIdentity:
        obj = parse_strict(data, max_bytes=256 * 1024)
        try:
            signing = SigningKey(
                b64u_decode(obj["signing"]["ed25519_seed"], length=32),
                b64u_decode(obj["signing"]["ml_dsa_65_seed"], length=32),
            )
            kem_keys = [
                KemKey(
                    suite_by_name(k["suite"]),
                    KemPrivateKey(b64u_decode(k["seed"], length=32)),
                    int(k["not_before"]),
                    int(k["not_after"]),
                )
                for k in obj["kem_keys"]
            ]
            secrets = {
                str(name): b64u_decode(value, field=f"secret {name}")
                for name, value in obj.get("secrets", {}).items()
            }
            return cls(check_node_id(obj["node_id"]), signing, kem_keys, secrets)
        except (KeyError, TypeError) as exc:
            raise KeyFileError("key file content is damaged") from exc


def _derive(passphrase: bytes, salt: bytes, params: KdfParams) -> bytes:
    return Argon2id(
        salt=salt,
        length=32,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    ).derive(passphrase)


def save_identity(
    identity: NodeIdentity, path: Path, passphrase: str, params: KdfParams | None = None
) -> None:
    """Encrypt ``identity`` under ``passphrase`` and write it to ``path`` with mode 0600.

    The write is atomic (temporary file, fsync, rename), so a crash never leaves half a key file.

    Raises:
        KeyFileError: an empty passphrase or weak KDF parameters.
    """
    if not passphrase:
        raise KeyFileError("a passphrase is required to protect the key file")
    params = params or KdfParams()
    params.check()
    salt, nonce = os.urandom(16), os.urandom(12)
    header = {
        "format": KEYFILE_FORMAT,
        "version": 1,
        "kdf": {
            "name": "argon2id",
            "salt": b64u_encode(salt),
            "iterations": params.iterations,
            "lanes": params.lanes,
            "memory_kib": params.memory_kib,
        },
        "aead": "chacha20-poly1305",
        "nonce": b64u_encode(nonce),
    }
    key = _derive(passphrase.encode("utf-8"), salt, params)
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, identity._secret_json(), canonicalize(header))
    data = canonicalize({**header, "ciphertext": b64u_encode(ciphertext)})
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_identity(path: Path, passphrase: str) -> NodeIdentity:
    """Read and decrypt a key file.

    Raises:
        KeyFileError: the file is missing, readable by group or others, damaged, or the passphrase
            is wrong (the AEAD tag does not verify).
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise KeyFileError(f"key file {path} does not exist") from exc
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"key file {path} is accessible by group or others (mode {stat.S_IMODE(st.st_mode):o});"
            " run: chmod 600 " + str(path)
        )
    try:
        obj = parse_strict(path.read_bytes(), max_bytes=512 * 1024)
        if (
            not isinstance(obj, dict)
            or obj.get("format") != KEYFILE_FORMAT
            or obj.get("version") != 1
        ):
            raise KeyFileError(f"{path} is not a liaison key file")
        kdf = obj["kdf"]
        if kdf.get("name") != "argon2id" or obj.get("aead") != "chacha20-poly1305":
            raise KeyFileError("unsupported key file algorithms")
        params = KdfParams(int(kdf["iterations"]), int(kdf["lanes"]), int(kdf["memory_kib"]))
        params.check()
        salt = b64u_decode(kdf["salt"], field="salt")
        nonce = b64u_decode(obj["nonce"], field="nonce", length=12)
        ciphertext = b64u_decode(obj["ciphertext"], field="ciphertext")
        header = {k: v for k, v in obj.items() if k != "ciphertext"}
    except (KeyError, TypeError, ValueError, MalformedInput) as exc:
        raise KeyFileError(f"key file {path} is damaged: {exc}") from exc
    key = _derive(passphrase.encode("utf-8"), salt, params)
    try:
        plaintext = ChaCha20Poly1305(key).decrypt(nonce, ciphertext, canonicalize(header))
    except InvalidTag as exc:
        raise KeyFileError("wrong passphrase, or the key file was altered") from exc
    return NodeIdentity._from_secret_json(plaintext)
