"""One large report end to end: a 10,000-object bundle of indicators (about 5 MB) from IQ to SY.

Run by ``bench.e2e_bench`` for each database (``--large-objects 10000``, 0 to skip), or alone:
``python -m bench.large_bundle [--objects 10000] [--db sqlite]``. On a fresh pair of nodes with
their default limits (``max_report_bytes`` 5 MiB, ``max_report_objects`` 10,000), it measures:

* **end to end**: the start of the submit request to the report readable at SY (its ``inbound``
  row committed), and to IQ holding SY's verified receipt;
* **its crypto alone**, in this process on one core: the four steps of the crypto-only bound
  (seal, open, receipt sign, receipt verify) on this body. The goal is end to end < 3 x this;
* **the steps around it**, one call each: STIX validation (each node does it once), RFC 8785
  canonicalisation, the at-rest AES-GCM of the body;
* **memory**: each node's peak RSS (VmHWM) growth over its RSS before the report, in MiB and as
  a multiple of the body's size: how many copies of the report a node holds at its peak.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.e2e_bench import TEMPLATE, Pair, node_pair, proc_memory, say

LARGE_GOAL = 3.0
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def large_bundle(objects: int, serial: int = 0) -> bytes:
    """The demo report with ``objects - 3`` fictional indicators (IPv4 addresses and domains in
    reserved ranges and ``.example``), all referenced by its report object."""
    bundle = json.loads(TEMPLATE.read_bytes())
    bundle["id"] = f"bundle--{uuid.uuid4()}"
    marking, identity, report = bundle["objects"][:3]
    indicators = []
    for i in range(max(0, objects - 3)):
        if i % 2:
            pattern = f"[domain-name:value = 'relay-{serial}-{i}.cell.example']"
        else:
            pattern = f"[ipv4-addr:value = '10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}']"
        indicators.append({
            "type": "indicator", "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-11-20T08:30:00.000Z", "modified": "2026-11-20T08:30:00.000Z",
            "name": f"Relay {i} of a fictional cell (demo)",
            "indicator_types": ["malicious-activity"], "pattern": pattern,
            "pattern_type": "stix", "valid_from": "2026-11-20T08:30:00Z",
            "object_marking_refs": [GREEN],
        })  # fmt: skip
    report = dict(report, object_refs=[*report["object_refs"], *(o["id"] for o in indicators)])
    bundle["objects"] = [marking, identity, report, *indicators]
    return json.dumps(bundle, separators=(",", ":")).encode("utf-8")


def _time(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best of ``repeat`` wall times, seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure_steps(data: bytes) -> dict[str, float]:
    """Seconds of each step on this bundle, one core, in this process."""
    from crypto.canonical import canonicalize, parse_strict
    from crypto.envelope import open_envelope, seal
    from crypto.keys import NodeIdentity
    from crypto.receipt import issue_receipt, verify_receipt
    from service.atrest import DataKey
    from service.reports import STIX_MEDIA_TYPE, stix

    now = int(time.time())
    iq = NodeIdentity.generate("IQ", now=now - 3600)
    sy = NodeIdentity.generate("SY", now=now - 3600)
    key = sy.current_kem_key(now).published()
    body = canonicalize(parse_strict(data, max_bytes=len(data)))

    def do_seal() -> bytes:
        return seal(sender=iq, recipient_id="SY", recipient_key=key, body=body,
                    content_type=STIX_MEDIA_TYPE, message_id=str(uuid.uuid4()), seq=1,
                    now=now).data  # fmt: skip

    envelope = do_seal()
    senders = {"IQ": iq.signing.public}
    opened = open_envelope(envelope, recipient=sy, senders=senders, now=now,
                           max_bytes=2 * len(envelope))  # fmt: skip
    receipt = issue_receipt(key=sy.signing, message_id=opened.header.message_id,
                            envelope_sha256=opened.digest, sender="IQ", receiver="SY",
                            received_at=now)  # fmt: skip
    data_key = DataKey(DataKey.generate())
    say(f"  timing the steps on the {len(body):,}-byte body")
    limit = 2 * len(envelope)

    def do_open() -> object:
        return open_envelope(envelope, recipient=sy, senders=senders, now=now, max_bytes=limit)

    def do_receipt() -> object:
        return issue_receipt(key=sy.signing, message_id=opened.header.message_id,
                             envelope_sha256=opened.digest, sender="IQ", receiver="SY",
                             received_at=now)  # fmt: skip

    def do_verify() -> object:
        return verify_receipt(receipt, receiver_key=sy.signing.public, expected_receiver="SY",
                              expected_sender="IQ", expected_message_id=opened.header.message_id,
                              expected_envelope_sha256=opened.digest, now=now)  # fmt: skip

    def do_validate() -> object:
        return stix.validate_report(data, max_bytes=len(data))

    def do_canonicalise() -> object:
        return canonicalize(parse_strict(data, max_bytes=len(data)))

    steps = {
        "seal": _time(do_seal),
        "open": _time(do_open),
        "receipt sign": _time(do_receipt),
        "receipt verify": _time(do_verify),
        "STIX validation": _time(do_validate, 1),
        "canonicalise (RFC 8785)": _time(do_canonicalise),
        "at-rest seal": _time(lambda: data_key.seal(body, "reports.body_ct/x")),
    }
    crypto = ("seal", "open", "receipt sign", "receipt verify")
    steps["crypto alone"] = sum(steps[k] for k in crypto)
    return {"body_bytes": float(len(body)), "envelope_bytes": float(len(envelope)), **steps}


def _wait_for(pair: Pair, message_id: str, deadline: float) -> tuple[float | None, float | None]:
    """(readable at SY, acknowledged at IQ), wall times, as each is first seen (or None)."""
    readable = acknowledged = None
    while time.monotonic() < deadline and (readable is None or acknowledged is None):
        now = time.time()
        if readable is None and message_id in pair.observer.received():
            readable = now
        if acknowledged is None and message_id in pair.observer.acknowledged():
            acknowledged = now
        time.sleep(0.05)
    return readable, acknowledged


def large_run(pair: Pair, objects: int) -> dict[str, Any]:
    """Submit one ``objects``-object report from IQ to SY on a pair that has done nothing else."""
    data = large_bundle(objects)
    steps = measure_steps(data)
    before = {"IQ": proc_memory(pair.iq.pid)[0], "SY": proc_memory(pair.sy.pid)[0]}
    say(f"  submitting {objects:,} objects ({len(data):,} bytes)")
    start = time.time()
    with pair.client() as client:
        answer = client.submit_report(data, to=["SY"])
    answered = time.time()
    message_id = str(answer["deliveries"][0]["message_id"])
    readable, acknowledged = _wait_for(pair, message_id, time.monotonic() + 600)
    peak = {"IQ": proc_memory(pair.iq.pid)[1], "SY": proc_memory(pair.sy.pid)[1]}
    body = steps["body_bytes"]
    growth = {k: peak[k] - before[k] for k in peak}
    return {
        "objects": objects,
        "submitted_bytes": len(data),
        "steps_s": steps,
        "submit_answer_s": answered - start,
        "readable_s": None if readable is None else readable - start,
        "acknowledged_s": None if acknowledged is None else acknowledged - start,
        "rss_before_mib": before,
        "peak_growth_mib": growth,
        "peak_growth_bodies": {k: v * 1024 * 1024 / body for k, v in growth.items()},
    }


def render_large(r: dict[str, Any] | None) -> list[str]:
    if not r:
        return []
    s = r["steps_s"]
    crypto = s["crypto alone"]
    readable = r["readable_s"]
    if readable is None:
        return [f"Large bundle: {r['objects']:,} objects: NOT readable at SY within 600 s "
                "(goal < 3 x crypto) BELOW"]  # fmt: skip
    ratio = readable / crypto
    mark = "PASS" if ratio < LARGE_GOAL else "BELOW"
    ack = r["acknowledged_s"]
    g, b = r["peak_growth_mib"], r["peak_growth_bodies"]
    return [
        f"Large bundle: {r['objects']:,} objects, {r['submitted_bytes']:,} B submitted "
        f"({s['body_bytes']:,.0f} B canonical, envelope {s['envelope_bytes']:,.0f} B): submit "
        f"answered after {r['submit_answer_s']:.2f} s, readable at SY after {readable:.2f} s, "
        f"acknowledged at IQ after {'n/a' if ack is None else f'{ack:.2f}'} s",
        f"  its crypto alone {crypto * 1e3:,.1f} ms (seal {s['seal'] * 1e3:,.1f}, open "
        f"{s['open'] * 1e3:,.1f}, receipt sign {s['receipt sign'] * 1e3:.1f}, receipt verify "
        f"{s['receipt verify'] * 1e3:.1f}); end to end / crypto = {ratio:,.1f} "
        f"(goal < {LARGE_GOAL:g}) {mark}",
        f"  one call each: STIX validation {s['STIX validation']:,.2f} s (done on each node), "
        f"canonicalise {s['canonicalise (RFC 8785)'] * 1e3:,.0f} ms, at-rest seal "
        f"{s['at-rest seal'] * 1e3:,.1f} ms",
        f"  peak RSS growth: IQ +{g['IQ']:,.1f} MiB ({b['IQ']:.1f} x the body), SY "
        f"+{g['SY']:,.1f} MiB ({b['SY']:.1f} x the body)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.large_bundle", description=__doc__)
    parser.add_argument("--objects", type=int, default=10_000, help="objects in the bundle")
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="liaison-large-"))
    try:
        with node_pair(args.db, root, f"{args.db}-large") as pair:
            result = large_run(pair, args.objects)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"== {args.db} ==")
    print("\n".join(render_large(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
