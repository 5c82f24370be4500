"""Envelope throughput against the bare primitives it is built from, measured in the same run.

``make bench`` (or ``python -m bench.crypto_bench [--seconds S] [--size N] [--json]``) prints, for
every suite in ``crypto.suites.SUITES``, envelope seal and open per second beside a loop of the bare
primitives doing the same cryptographic work on the same bytes, and their ratio against the goal:
liaison's envelope reaches at least 0.8 of the bare-primitive rate.

* bare seal = Ed25519 sign + ML-DSA-65 sign over the framed ``header || body`` that liaison signs,
  then HPKE seal of a plaintext as long as liaison's signed message, with the same ``info``.
* bare open = HPKE open of liaison's own ciphertext + Ed25519 verify + ML-DSA-65 verify of its
  signatures, with key objects loaded once (as a hand-written loop would).

Method: each figure is a time-boxed loop timed with ``time.perf_counter`` after a warm-up, best of
three repetitions (this runs on a 2-core machine shared with other work); liaison and bare loops
alternate within each repetition so that drift touches both. The report is a fictional STIX 2.1
bundle, canonical (RFC 8785), padded to ``--size`` bytes. Before timing, the bare loops are checked
against liaison (bare signatures verify with liaison's keys, bare open reads liaison's envelope),
so both sides do the same work. The script reports; it never fails on a slow figure.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import cryptography
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, mlkem, x25519

from crypto.canonical import canonicalize
from crypto.envelope import (
    PURPOSE,
    SIGNED_MAGIC,
    EnvelopeHeader,
    open_envelope,
    parse_header,
    seal,
)
from crypto.keys import KemKey, NodeIdentity
from crypto.signing import ED25519_SIGNATURE_BYTES, ML_DSA_65_SIGNATURE_BYTES, HybridSignature
from crypto.suites import SUITES, Suite

NOW = 1_764_374_400  # 2025-11-29T00:00:00Z, passed in as liaison's code expects
GOAL = 0.8
REPETITIONS = 3
STIX_TYPE = "application/stix+json;version=2.1"
# crypto.signing: Ed25519 signs context || 0x00 || message, ML-DSA-65 signs message under context.
SIGN_CONTEXT = b"liaison/v1/" + PURPOSE.encode("ascii")
TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"


# -- the report ------------------------------------------------------------------------------------


def _stix_objects(rng: random.Random, indicators: int) -> list[dict[str, Any]]:
    """A fictional bundle: TLP:AMBER, the author, ``indicators`` indicators and the report that
    names them (STIX is verbose: about 560 bytes per indicator)."""

    def sid(kind: str) -> str:
        return f"{kind}--{uuid.UUID(int=rng.getrandbits(128), version=4)}"

    stamp = "2025-11-28T09:00:00.000Z"
    common = {"spec_version": "2.1", "created": stamp, "modified": stamp}
    author = sid("identity")
    marked = {**common, "created_by_ref": author, "object_marking_refs": [TLP_AMBER]}
    objects: list[dict[str, Any]] = [
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": TLP_AMBER,
            "created": "2022-10-01T00:00:00.000Z",
            "name": "TLP:AMBER",
            "extensions": {
                TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": "amber"}
            },
        },
        {
            **common,
            "type": "identity",
            "id": author,
            "name": "Harbour Coast Maritime CERT (fictional)",
            "identity_class": "organization",
            "sectors": ["transportation"],
        },
    ]
    for i in range(indicators):
        kind = i % 3
        if kind == 0:
            pattern = f"[ipv4-addr:value = '198.51.100.{rng.randrange(1, 255)}']"
        elif kind == 1:
            pattern = f"[domain-name:value = 'cdn{rng.randrange(100, 999)}.harbour-update.test']"
        else:
            pattern = f"[file:hashes.'SHA-256' = '{rng.getrandbits(256):064x}']"
        objects.append(
            {
                **marked,
                "type": "indicator",
                "id": sid("indicator"),
                "name": f"SALTMARSH loader infrastructure {i + 1}",
                "indicator_types": ["malicious-activity"],
                "pattern": pattern,
                "pattern_type": "stix",
                "valid_from": stamp,
            }
        )
    objects.append(
        {
            **marked,
            "type": "report",
            "id": sid("report"),
            "name": "SALTMARSH activity against port logistics (exercise)",
            "published": stamp,
            "report_types": ["threat-actor", "indicator"],
            "description": "",
            "object_refs": [o["id"] for o in objects[1:]],
        }
    )
    return objects


def _bundle(indicators: int, description: str = "") -> dict[str, Any]:
    rng = random.Random(2025)  # the same ids on every run
    bundle_id = f"bundle--{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    objects = _stix_objects(rng, indicators)
    objects[-1]["description"] = description
    return {"type": "bundle", "id": bundle_id, "objects": objects}


def stix_report(size: int) -> tuple[dict[str, Any], bytes]:
    """A canonical fictional STIX 2.1 bundle of exactly ``size`` bytes (or the smallest one, if
    ``size`` is below it): indicators are added, then the report's description pads."""
    base = len(canonicalize(_bundle(0)))
    per_indicator = len(canonicalize(_bundle(1))) - base
    count = max(0, (size - base) // per_indicator)
    while count and len(canonicalize(_bundle(count))) > size:
        count -= 1
    deficit = size - len(canonicalize(_bundle(count)))
    filler = "Fictional exercise data; any resemblance to real infrastructure is coincidental. "
    text = (filler * (deficit // len(filler) + 1))[: max(0, deficit)]
    bundle = _bundle(count, text)
    return bundle, canonicalize(bundle)


# -- measurement -----------------------------------------------------------------------------------


def _rate(fn: Callable[[], object], seconds: float) -> float:
    """Operations per second of ``fn`` in a loop of about ``seconds``."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        fn()
        count += 1
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def _warm(fn: Callable[[], object], seconds: float) -> None:
    _rate(fn, min(0.2, seconds / 4))


def best_of(fn: Callable[[], object], seconds: float) -> float:
    _warm(fn, seconds)
    return max(_rate(fn, seconds) for _ in range(REPETITIONS))


def best_of_pair(
    liaison: Callable[[], object], bare: Callable[[], object], seconds: float
) -> tuple[float, float]:
    """Best of three for each, the two loops alternating (and swapping order) in every round."""
    _warm(liaison, seconds)
    _warm(bare, seconds)
    results: dict[str, list[float]] = {"liaison": [], "bare": []}
    loops = [("liaison", liaison), ("bare", bare)]
    for rep in range(REPETITIONS):
        for name, fn in loops if rep % 2 == 0 else loops[::-1]:
            results[name].append(_rate(fn, seconds))
    return max(results["liaison"]), max(results["bare"])


@dataclass(frozen=True, slots=True)
class PrimitiveFigure:
    name: str
    input_bytes: int
    ops_per_s: float


@dataclass(frozen=True, slots=True)
class EnvelopeFigure:
    suite: str
    operation: str
    liaison_ops_per_s: float
    bare_ops_per_s: float

    @property
    def ratio(self) -> float:
        return self.liaison_ops_per_s / self.bare_ops_per_s

    @property
    def mark(self) -> str:
        return "PASS" if self.ratio >= GOAL else "BELOW"


# -- the bare side, from the same key material -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class BareKeys:
    ed_private: ed25519.Ed25519PrivateKey
    ed_public: ed25519.Ed25519PublicKey
    ml_private: mldsa.MLDSA65PrivateKey
    ml_public: mldsa.MLDSA65PublicKey


def bare_signing_keys(sender: NodeIdentity) -> BareKeys:
    ed_seed, ml_seed = sender.signing.seeds()
    ed_private = ed25519.Ed25519PrivateKey.from_private_bytes(ed_seed)
    ml_private = mldsa.MLDSA65PrivateKey.from_seed_bytes(ml_seed)
    return BareKeys(ed_private, ed_private.public_key(), ml_private, ml_private.public_key())


def bare_kem_keys(
    kem: KemKey,
) -> tuple[hpke.MLKEM768X25519PrivateKey, hpke.MLKEM768X25519PublicKey]:
    """The X-Wing key pair rebuilt from liaison's stored seed (see crypto.suites)."""
    expanded = hashlib.shake_256(kem.private.seed).digest(96)
    kem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    dh_key = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
    private = hpke.MLKEM768X25519PrivateKey(kem_key, dh_key)
    public = hpke.MLKEM768X25519PublicKey(kem_key.public_key(), dh_key.public_key())
    return private, public


class SuiteCase:
    """One suite: a liaison envelope, taken apart so the bare loops work on the very same bytes."""

    def __init__(self, suite: Suite, sender: NodeIdentity, bare: BareKeys, report: bytes) -> None:
        self.suite = suite
        self.sender = sender
        self.senders = {sender.node_id: sender.signing.public}
        self.bare = bare
        self.report = report
        self.recipient = NodeIdentity.generate("SY", now=NOW - 3600, suite=suite)
        kem = self.recipient.current_kem_key(NOW)
        self.published = kem.published()
        self.kem_private, self.kem_public = bare_kem_keys(kem)
        self.hpke = suite.hpke  # built once here; liaison builds it on every call
        self.ids = itertools.count(1)

        self.data = self.liaison_seal()
        header, self.sealed = parse_header(self.data)
        self.header_raw = header.raw
        self.info = header.info
        self.signed = self.hpke.decrypt(self.sealed, self.kem_private, info=self.info)
        sigs_at = len(self.signed) - ED25519_SIGNATURE_BYTES - ML_DSA_65_SIGNATURE_BYTES
        self.tbs = self.signed[len(SIGNED_MAGIC) : sigs_at]
        self.ed_input = SIGN_CONTEXT + b"\x00" + self.tbs
        self.ed_sig = self.signed[sigs_at : sigs_at + ED25519_SIGNATURE_BYTES]
        self.ml_sig = self.signed[sigs_at + ED25519_SIGNATURE_BYTES :]
        self.plaintext = bytes(len(self.signed))  # as long as liaison's signed message
        self._check_same_work()

    def _check_same_work(self) -> None:
        """Refuse to compare unless bare and liaison are interchangeable on these bytes."""
        if self.liaison_open() != self.report or self.bare_open() != self.signed:
            raise RuntimeError("bare open and liaison open disagree")
        signature = HybridSignature(
            ed25519=self.bare.ed_private.sign(self.ed_input),
            ml_dsa_65=self.bare.ml_private.sign(self.tbs, SIGN_CONTEXT),
        )
        self.sender.signing.public.verify(PURPOSE, self.tbs, signature)  # raises if not
        sealed = self.bare_seal()
        if (
            len(sealed) != len(self.sealed)
            or self.recipient.kem_keys[0].private.open(self.suite, sealed, self.info)
            != self.plaintext
        ):
            raise RuntimeError("bare seal does not produce what liaison opens")

    def liaison_seal(self) -> bytes:
        n = next(self.ids)  # a fresh message id and sequence number for every envelope
        return seal(
            sender=self.sender,
            recipient_id=self.recipient.node_id,
            recipient_key=self.published,
            body=self.report,
            content_type=STIX_TYPE,
            message_id=f"bench-{n:016d}",
            seq=n,
            now=NOW,
        ).data

    def bare_seal(self) -> bytes:
        self.bare.ed_private.sign(self.ed_input)
        self.bare.ml_private.sign(self.tbs, SIGN_CONTEXT)
        return self.hpke.encrypt(self.plaintext, self.kem_public, info=self.info)

    def hpke_seal(self) -> bytes:
        return self.hpke.encrypt(self.plaintext, self.kem_public, info=self.info)

    def hpke_open(self) -> bytes:
        return self.hpke.decrypt(self.sealed, self.kem_private, info=self.info)

    def liaison_open(self) -> bytes:
        return open_envelope(
            self.data, recipient=self.recipient, senders=self.senders, now=NOW
        ).body

    def bare_open(self) -> bytes:
        signed = self.hpke.decrypt(self.sealed, self.kem_private, info=self.info)
        self.bare.ed_public.verify(self.ed_sig, self.ed_input)
        self.bare.ml_public.verify(self.ml_sig, self.tbs, SIGN_CONTEXT)
        return signed

    def sizes(self) -> dict[str, int]:
        sigs = ED25519_SIGNATURE_BYTES + ML_DSA_65_SIGNATURE_BYTES
        hpke_bytes = len(self.sealed) - len(self.signed)
        header = len(self.header_raw)
        overhead = len(self.data) - len(self.report)
        return {
            "body": len(self.report),
            "envelope": len(self.data),
            "overhead": overhead,
            "header_x2": 2 * header,
            "signatures": sigs,
            "hpke_enc_and_tag": hpke_bytes,
            "framing": overhead - 2 * header - sigs - hpke_bytes,
        }


# -- the run ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Results:
    machine: dict[str, Any]
    seconds: float
    requested_bytes: int
    report_bytes: int
    report_objects: int
    envelope: list[EnvelopeFigure]
    sizes: dict[str, dict[str, int]]
    primitives: list[PrimitiveFigure]

    def to_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "seconds": self.seconds,
            "repetitions": REPETITIONS,
            "goal_ratio": GOAL,
            "requested_bytes": self.requested_bytes,
            "report_bytes": self.report_bytes,
            "report_objects": self.report_objects,
            "envelope": [
                {**asdict(f), "ratio": round(f.ratio, 4), "mark": f.mark} for f in self.envelope
            ],
            "sizes": self.sizes,
            "primitives": [asdict(p) for p in self.primitives],
        }


def machine_info() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }


def run(seconds: float, size: int, progress: Callable[[str], None]) -> Results:
    bundle, report = stix_report(size)
    sender = NodeIdentity.generate("IQ", now=NOW - 3600)
    bare = bare_signing_keys(sender)
    cases = [SuiteCase(suite, sender, bare, report) for suite in SUITES.values()]
    envelope: list[EnvelopeFigure] = []
    primitives: list[PrimitiveFigure] = []

    def figure(name: str, nbytes: int, fn: Callable[[], object]) -> None:
        progress(name)
        primitives.append(PrimitiveFigure(name, nbytes, best_of(fn, seconds)))

    for case in cases:
        for operation, liaison, bare_loop in (
            ("seal", case.liaison_seal, case.bare_seal),
            ("open", case.liaison_open, case.bare_open),
        ):
            progress(f"{case.suite.name} {operation}")
            ops = best_of_pair(liaison, bare_loop, seconds)
            envelope.append(EnvelopeFigure(case.suite.name, operation, *ops))

    for case in cases:
        figure(
            f"HPKE seal {case.suite.name}",
            len(case.plaintext),
            case.hpke_seal,
        )
        figure(
            f"HPKE open {case.suite.name}",
            len(case.sealed),
            case.hpke_open,
        )
    c = cases[0]  # the signatures and the header do not depend on the suite
    figure("Ed25519 sign", len(c.ed_input), lambda: bare.ed_private.sign(c.ed_input))
    figure("Ed25519 verify", len(c.ed_input), lambda: bare.ed_public.verify(c.ed_sig, c.ed_input))
    figure("ML-DSA-65 sign", len(c.tbs), lambda: bare.ml_private.sign(c.tbs, SIGN_CONTEXT))
    figure(
        "ML-DSA-65 verify",
        len(c.tbs),
        lambda: bare.ml_public.verify(c.ml_sig, c.tbs, SIGN_CONTEXT),
    )
    figure("canonicalize(report), RFC 8785", len(report), lambda: canonicalize(bundle))
    figure("SHA-256 of the envelope", len(c.data), lambda: hashlib.sha256(c.data).digest())
    # Liaison's own steps around the primitives: where the rest of its time goes.
    header = EnvelopeHeader.parse(c.header_raw)
    fields = {k: getattr(header, k) for k in EnvelopeHeader.__dataclass_fields__ if k != "raw"}
    figure(
        "liaison EnvelopeHeader.build", len(c.header_raw), lambda: EnvelopeHeader.build(**fields)
    )
    figure(
        "liaison EnvelopeHeader.parse",
        len(c.header_raw),
        lambda: EnvelopeHeader.parse(c.header_raw),
    )
    figure("liaison parse_header (R1-R2)", len(c.data), lambda: parse_header(c.data))
    public = sender.signing.public
    figure(
        "liaison public key load (both)",
        len(public.ed25519) + len(public.ml_dsa_65),
        lambda: (
            ed25519.Ed25519PublicKey.from_public_bytes(public.ed25519),
            mldsa.MLDSA65PublicKey.from_public_bytes(public.ml_dsa_65),
        ),
    )
    signature = HybridSignature(ed25519=c.ed_sig, ml_dsa_65=c.ml_sig)
    figure(
        "liaison VerifyKey.verify (both)",
        len(c.tbs),
        lambda: public.verify(PURPOSE, c.tbs, signature),
    )
    return Results(
        machine=machine_info(),
        seconds=seconds,
        requested_bytes=size,
        report_bytes=len(report),
        report_objects=len(bundle["objects"]),
        envelope=envelope,
        sizes={case.suite.name: case.sizes() for case in cases},
        primitives=primitives,
    )


# -- output ----------------------------------------------------------------------------------------


def render(results: Results) -> str:
    m = results.machine
    smallest = (
        f" (the smallest bundle; {results.requested_bytes} B requested)"
        if results.report_bytes != results.requested_bytes
        else ""
    )
    lines = [
        f"machine: Python {m['python']}, cryptography {m['cryptography']}, {m['platform']}, "
        f"{m['cpu_count']} CPUs",
        f"report: canonical fictional STIX 2.1 bundle, {results.report_bytes} B, "
        f"{results.report_objects} objects{smallest}; {results.seconds:g} s per figure, best of "
        f"{REPETITIONS}, liaison and bare loops interleaved",
        "",
        f"Envelope against the bare primitives (goal: ratio >= {GOAL})",
    ]
    width = max(len(name) for name in SUITES)
    lines.append(
        f"{'suite':<{width}}  {'op':<4}  {'liaison/s':>10}  {'bare/s':>10}  {'ratio':>5}  goal"
    )
    for f in results.envelope:
        lines.append(
            f"{f.suite:<{width}}  {f.operation:<4}  {f.liaison_ops_per_s:>10,.1f}  "
            f"{f.bare_ops_per_s:>10,.1f}  {f.ratio:>5.2f}  {f.mark}"
        )
    lines += ["", "Sizes (bytes)"]
    for name, s in results.sizes.items():
        lines.append(
            f"{name}: body {s['body']:,}, envelope {s['envelope']:,}, overhead {s['overhead']:,} "
            f"(header x2 {s['header_x2']}, signatures {s['signatures']:,}, "
            f"HPKE enc+tag {s['hpke_enc_and_tag']:,}, framing {s['framing']})"
        )
    lines += ["", "Single primitives and liaison steps (context)"]
    width = max(len(p.name) for p in results.primitives)
    lines.append(f"{'':<{width}}  {'input B':>8}  {'ops/s':>10}  {'us/op':>8}")
    for p in results.primitives:
        lines.append(
            f"{p.name:<{width}}  {p.input_bytes:>8,}  {p.ops_per_s:>10,.1f}  "
            f"{1e6 / p.ops_per_s:>8.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.crypto_bench",
        description="Envelope seal/open per second against the bare primitives, per suite.",
    )
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="length of each measurement (default 1.0)"
    )
    parser.add_argument(
        "--size", type=int, default=2048, help="report size in bytes (default 2048)"
    )
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.size <= 0:
        parser.error("--seconds and --size must be positive")

    def progress(name: str) -> None:
        if sys.stderr.isatty():
            print(f"\r\x1b[Kmeasuring {name} ...", end="", file=sys.stderr, flush=True)

    results = run(args.seconds, args.size, progress)
    if sys.stderr.isatty():
        print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    print(render(results))
    if args.json:
        print(json.dumps(results.to_json(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
