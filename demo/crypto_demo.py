"""The crypto core, end to end, in one process: two node identities exchange a sealed report.

Run with ``make demo`` (or ``python -m demo.crypto_demo``). Every name and report is fictional.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

from crypto.canonical import canonicalize, parse_strict
from crypto.envelope import open_envelope, seal
from crypto.errors import PUBLIC_REJECTION, CryptoError
from crypto.fingerprint import fingerprint
from crypto.keydoc import verify_key_document
from crypto.keys import NodeIdentity
from crypto.receipt import issue_receipt, verify_receipt

REPORTS = Path(__file__).resolve().parent / "reports"
STIX = "application/stix+json;version=2.1"


def say(text: str = "") -> None:
    print(text, flush=True)


def main() -> int:
    now = int(time.time())
    say("liaison crypto core demo: two fictional liaison nodes, IQ (Baghdad) and SY (Damascus)")
    say()
    iq = NodeIdentity.generate("IQ", now=now)
    sy = NodeIdentity.generate("SY", now=now)
    for node, city in ((iq, "Baghdad"), (sy, "Damascus")):
        say(f"[{node.node_id}] identity generated in {city}: Ed25519 + ML-DSA-65 signing keys,")
        say(f"     X-Wing encryption key {node.kem_keys[0].kid} ({node.kem_keys[0].suite.name})")
        say(f"     fingerprint to read over the phone: {fingerprint(node.signing.public)}")
    say()

    # Each side publishes a signed key document; the other pins it by the fingerprint read aloud.
    iq_doc = iq.key_document(endpoint="http://127.0.0.1:8601", serial=1, now=now)
    sy_doc = sy.key_document(endpoint="http://127.0.0.1:8602", serial=1, now=now)
    sy_pinned = verify_key_document(sy_doc, pinned_fingerprint=fingerprint(sy.signing.public))
    iq_pinned = verify_key_document(iq_doc, pinned_fingerprint=fingerprint(iq.signing.public))
    say(f"[IQ] pinned SY's key document ({len(sy_doc)} bytes): fingerprint matches what was read")
    say(f"[SY] pinned IQ's key document ({len(iq_doc)} bytes): fingerprint matches what was read")
    say()

    report = canonicalize(parse_strict((REPORTS / "iq-cell-wadi7.json").read_bytes()))
    key = sy_pinned.current_encryption_key(now)
    sealed = seal(
        sender=iq,
        recipient_id="SY",
        recipient_key=key,
        body=report,
        content_type=STIX,
        message_id=str(uuid.uuid4()),
        seq=1,
        now=now,
    )
    say(f"[IQ] signed and sealed report {sealed.header.message_id} for SY:")
    say(f"     {len(report)} bytes of STIX 2.1 (TLP:AMBER) -> {len(sealed.data)} byte envelope")
    say()

    opened = open_envelope(
        sealed.data, recipient=sy, senders={"IQ": iq_pinned.signing_key}, now=now
    )
    bundle = parse_strict(opened.body)
    names = [o.get("name") for o in bundle["objects"] if o.get("type") == "intrusion-set"]
    say(f"[SY] opened it: signatures by IQ verified, header intact; it reports {names[0]!r}")
    receipt = issue_receipt(
        key=sy.signing,
        message_id=opened.header.message_id,
        envelope_sha256=opened.digest,
        sender="IQ",
        receiver="SY",
        received_at=now,
    )
    verify_receipt(
        receipt,
        receiver_key=sy_pinned.signing_key,
        expected_receiver="SY",
        expected_sender="IQ",
        expected_message_id=sealed.header.message_id,
        expected_envelope_sha256=sealed.digest,
        now=now,
    )
    say("[IQ] SY's signed receipt verified: delivery of exactly this envelope is proven")
    say()

    tampered = bytearray(sealed.data)
    tampered[len(tampered) // 2] ^= 0x01
    try:
        open_envelope(bytes(tampered), recipient=sy, senders={"IQ": iq_pinned.signing_key}, now=now)
    except CryptoError as exc:
        say(f"[SY] a copy with one flipped bit is refused: peer told {PUBLIC_REJECTION!r},")
        say(f"     audit told {exc.diagnostics()!r}")
    else:
        say("[SY] ERROR: a tampered envelope was accepted")
        return 1
    say()
    say("Summary: 2 identities, 2 key documents pinned, 1 report sealed and opened,")
    say("         1 receipt verified, 1 tampered copy refused.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
