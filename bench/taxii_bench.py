"""A page of 100 objects from a collection of 100,000: liaison's TAXII 2.1 server beside medallion.

``python -m bench.taxii_bench [--objects 100000] [--repeats 5] [--medallion-only]`` generates
``--objects`` fictional STIX 2.1 objects (``make_objects``: indicators with patterns, identities,
malware, relationships and ipv4-addr SCOs, all TLP:GREEN, deterministic by ``--seed``), serves
the same objects from each server in one collection, and measures over plain HTTP (httpx, Basic
auth, ``Accept: application/taxii+json;version=2.1``), one request at a time, on loopback:

* **load**: the server process's start until it answers, with the collection in it (for
  medallion: Python and Flask start-up plus ``json.load`` of its memory-backend file);
* **first page**: ``GET .../objects/?limit=100``, ``--repeats`` times: what a new client's
  first poll costs;
* **deep page**: from the last first page, ``next`` is followed to the middle of the collection
  (those requests are the **walk** figure) and the ``--repeats`` pages after it are timed, one
  each: consecutive pages, not one page again, because a ``next`` may be a server-side cursor
  that each request moves on (medallion's is). This is what a client catching up pays per page;
* **added_after page**: ``?limit=100&added_after=<the X-TAXII-Date-Added-Last of the page before
  the deep pages>``, ``--repeats`` times: the same objects as the first deep page, reached by a
  filter instead of a cursor, as a client that polls on a timestamp does;
* **RSS** (``VmRSS`` from ``/proc/PID/status``) of the server process after the load and after
  the figures, and its peak (``VmHWM``);
* the median and p95 (nearest rank) of each figure in ms and its response bytes, and, when both
  sides ran, liaison / medallion for each.

medallion 3.0.0 (the OASIS reference server) runs from its own venv as its own process
(``bench.taxii_medallion``); liaison never imports it. Its memory backend does work quadratic in
the collection's size on every request that is not a ``next`` (it pairs every object with its
manifest entry by a nested loop, parsing timestamps inside it), so a request on 100,000 objects
does not finish in any sane time: every request has ``--request-timeout`` and each side's
figures a ``--time-box``; a figure that hits either is printed as not measured, with the reason,
and after a request timed out the figures that follow are skipped (the server may still be busy
with it). The script reports; it exits 0 whatever the figures, and asserts nothing on time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.e2e_bench import BenchNode, proc_memory
from bench.taxii_medallion import (
    DEFAULT_ENV,
    TAXII_ACCEPT,
    ensure_medallion_env,
    free_port,
    medallion_version,
    say,
    start_medallion,
)
from clients.errors import LiaisonError
from clients.sdk import LiaisonClient
from demo.two_nodes import PASSPHRASE, PASSWORD, DemoFailed
from policies import TLP
from service.bootstrap import open_node
from service.models import Partner
from service.reports import collections
from service.settings import load_settings

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")  # STIX 2.1 section 2.9
FIRST_MODIFIED = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
FIRST_ADDED = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
ADDED_STEP = timedelta(microseconds=250_013)  # distinct, increasing, every microsecond digit used
FIGURES = ("first", "deep", "walk", "added_after")
PARTNER = "SY"
ADMIN = "bench-admin"

# -- the objects -----------------------------------------------------------------------------------

_MIX = (("indicator", 45), ("ipv4-addr", 20), ("relationship", 20), ("malware", 8), ("identity", 7))
_MALWARE_TYPES = ("backdoor", "dropper", "ransomware", "remote-access-trojan", "spyware", "worm")
_SECTORS = ("government", "telecommunications", "energy", "transportation", "healthcare")


def stix_time(at: datetime) -> str:
    """STIX timestamp with milliseconds, as producers usually write it."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def taxii_time(at: datetime) -> str:
    """TAXII timestamp with microseconds (medallion's ``datetime_to_string``)."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def added_timestamps(n: int) -> list[str]:
    """``date_added`` of object ``i``: distinct, increasing 250.013 ms apart, microsecond
    precision, so ``added_after`` splits the collection at any object."""
    return [taxii_time(FIRST_ADDED + i * ADDED_STEP) for i in range(n)]


def _ipv4(k: int) -> str:
    """The ``k``-th address of 198.18.0.0/15 (RFC 2544, benchmarking), then of 10.0.0.0/8."""
    base, k = ((198 << 24) | (18 << 16), k) if k < 1 << 17 else (10 << 24, k - (1 << 17))
    value = base + k
    return ".".join(str(value >> shift & 255) for shift in (24, 16, 8, 0))


def make_objects(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` valid STIX 2.1 objects, the same for the same ``seed``: about 45% indicators (IPv4,
    domain, URL and SHA-256 patterns), 20% ipv4-addr SCOs, 20% relationships (indicator
    ``indicates`` malware, malware ``targets`` identity, malware ``communicates-with`` ipv4-addr;
    every ref to an earlier object), 8% malware, 7% identities. Every object is TLP:GREEN (TLP
    2.0) in ``object_marking_refs``; SDOs and SROs are ``created_by_ref`` the first identity and
    each has its own ``modified`` (increasing, 37 s apart plus a few ms). The content is
    fictional: ``.example`` names, reserved addresses, random hashes."""
    rng = random.Random(seed)
    kinds = [kind for kind, _ in _MIX]
    weights = [weight for _, weight in _MIX]
    seen: dict[str, list[str]] = {kind: [] for kind in kinds}
    objects: list[dict[str, Any]] = []
    producer = ""
    scos = 0

    def new_id(kind: str) -> str:
        return f"{kind}--{uuid.UUID(int=rng.getrandbits(128), version=4)}"

    for i in range(n):
        kind = "identity" if i == 0 else "malware" if i == 1 else rng.choices(kinds, weights)[0]
        if kind == "relationship" and not seen["indicator"]:
            kind = "indicator"
        at = FIRST_MODIFIED + timedelta(seconds=37 * i, milliseconds=rng.randrange(1000))
        stamp = stix_time(at)
        if kind == "ipv4-addr":
            value = _ipv4(scos)
            scos += 1
            sco_id = uuid.uuid5(SCO_NAMESPACE, json.dumps({"value": value}, separators=(",", ":")))
            obj: dict[str, Any] = {
                "type": kind,
                "spec_version": "2.1",
                "id": f"{kind}--{sco_id}",
                "value": value,
                "object_marking_refs": [GREEN],
            }
            objects.append(obj)
            seen[kind].append(obj["id"])
            continue
        obj = {
            "type": kind,
            "spec_version": "2.1",
            "id": new_id(kind),
            "created": stamp,
            "modified": stamp,
        }
        if kind == "identity":
            obj["name"] = f"Fictional liaison office {i} (bench)"
            obj["identity_class"] = "organization"
            obj["sectors"] = [rng.choice(_SECTORS)]
            if not producer:
                producer = obj["id"]
        elif kind == "malware":
            obj["name"] = f"Fictional implant {i} (bench)"
            obj["is_family"] = rng.random() < 0.6
            obj["malware_types"] = [rng.choice(_MALWARE_TYPES)]
        elif kind == "indicator":
            form = rng.randrange(4)
            if form == 0:
                pattern = f"[ipv4-addr:value = '{_ipv4(rng.randrange(1 << 17))}']"
            elif form == 1:
                pattern = f"[domain-name:value = 'relay-{i}.cell-{rng.randrange(500)}.example']"
            elif form == 2:
                pattern = f"[url:value = 'https://drop-{i}.example/{rng.getrandbits(32):08x}']"
            else:
                pattern = f"[file:hashes.'SHA-256' = '{rng.getrandbits(256):064x}']"
            obj["name"] = f"Fictional indicator {i} (bench)"
            obj["description"] = "Generated for the TAXII paging bench; matches nothing real."
            obj["indicator_types"] = ["malicious-activity"]
            obj["pattern"] = pattern
            obj["pattern_type"] = "stix"
            obj["valid_from"] = stamp
        else:  # relationship
            choice = rng.randrange(3)
            if choice == 0:
                rel, src, dst = "indicates", seen["indicator"], seen["malware"]
            elif choice == 1 or not seen["ipv4-addr"]:
                rel, src, dst = "targets", seen["malware"], seen["identity"]
            else:
                rel, src, dst = "communicates-with", seen["malware"], seen["ipv4-addr"]
            obj["relationship_type"] = rel
            obj["source_ref"] = rng.choice(src)
            obj["target_ref"] = rng.choice(dst)
        obj["created_by_ref"] = producer
        obj["object_marking_refs"] = [GREEN]
        objects.append(obj)
        seen[kind].append(obj["id"])
    return objects


# -- measuring over HTTP ---------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile (with 5 samples, the largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass
class Figure:
    """The timed requests of one figure."""

    ms: list[float] = field(default_factory=list)
    nbytes: list[int] = field(default_factory=list)
    objects: list[int] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"samples": len(self.ms), "error": self.error}
        if self.ms:
            out.update(
                median_ms=statistics.median(self.ms),
                p95_ms=p95(self.ms),
                bytes=int(statistics.median(self.nbytes)),
                objects=int(statistics.median(self.objects)),
                ms=[round(v, 2) for v in self.ms],
            )
        return out


class Stop(Exception):
    """A request that did not give a page: the figure ends with this reason."""


@dataclass
class Page:
    body: dict[str, Any]
    headers: httpx.Headers
    ms: float
    nbytes: int

    @property
    def objects(self) -> list[dict[str, Any]]:
        return list(self.body.get("objects", []))

    @property
    def next(self) -> str | None:
        value = self.body.get("next")
        return str(value) if value is not None and self.body.get("more") else None


def measure(
    url: str,
    auth: tuple[str, str] | None,
    *,
    pages: int,
    limit: int = 100,
    headers: dict[str, str] | None = None,
    repeats: int = 5,
    pid: int | None = None,
    timeout: float = 300.0,
    time_box: float = 600.0,
) -> dict[str, Any]:
    """Time pages of the Get Objects endpoint ``url`` (a collection of about ``pages`` pages of
    ``limit``), one request at a time; the server is ``pid`` for the RSS figures.

    Figures (each a list of per-request wall times, client side, request sent to body read):
    ``first`` (``?limit``, ``repeats`` times), ``walk`` (the ``next`` requests from the last
    first page to page ``pages // 2``), ``deep`` (the ``repeats`` pages after it),
    ``added_after`` (``?limit&added_after=<X-TAXII-Date-Added-Last of page pages // 2>``,
    ``repeats`` times). ``checks`` says whether the server honoured ``limit``, sent the date-added
    headers, and whether the added_after page starts where the deep pages did. No request runs
    past ``timeout`` seconds nor the ``time_box`` of the whole; after a timeout the remaining
    figures are skipped, since the server may still be busy with the abandoned request.
    """
    deadline = time.monotonic() + time_box
    figures = {name: Figure() for name in FIGURES}
    checks: dict[str, Any] = {}
    timed_out = False
    rss_load, _ = proc_memory(pid) if pid else (0.0, 0.0)
    client = httpx.Client(auth=auth, headers=headers or {"Accept": TAXII_ACCEPT})

    def get(params: dict[str, str | int]) -> Page:
        nonlocal timed_out
        if timed_out:
            raise Stop("skipped: an earlier request timed out and the server may still be on it")
        left = deadline - time.monotonic()
        if left <= 0:
            raise Stop(f"skipped: the {time_box:.0f} s time box is used up")
        wait = min(timeout, left)
        start = time.perf_counter()
        try:
            response = client.get(url, params=params, timeout=wait)
        except httpx.TimeoutException as exc:
            timed_out = True
            raise Stop(f"no answer within {wait:.0f} s") from exc
        ms = (time.perf_counter() - start) * 1e3
        if response.status_code != 200:
            raise Stop(f"HTTP {response.status_code}: {response.text[:200]}")
        return Page(response.json(), response.headers, ms, len(response.content))

    def record(figure: Figure, page: Page) -> None:
        figure.ms.append(page.ms)
        figure.nbytes.append(page.nbytes)
        figure.objects.append(len(page.objects))

    def run(name: str, label: str, body: Callable[[Figure], None]) -> None:
        say(f"  {label}")
        try:
            body(figures[name])
        except Stop as stop:
            figures[name].error = str(stop)

    first: list[Page] = []
    deep_start: dict[str, str] = {}

    def do_first(figure: Figure) -> None:
        for _ in range(repeats):
            page = get({"limit": limit})
            record(figure, page)
            first.append(page)
        checks["first_page_objects"] = len(first[-1].objects)
        got = len(first[-1].objects)
        checks["limit_honoured"] = got == limit or (got < limit and first[-1].next is None)
        checks["date_added_headers"] = "x-taxii-date-added-last" in first[-1].headers

    def do_deep(figure: Figure) -> None:
        if not first:
            raise Stop("skipped: no first page")
        walk, page, index = figures["walk"], first[-1], 1
        middle = max(1, pages // 2)
        while index < middle:
            if page.next is None:
                raise Stop(f"no next after page {index} of {pages}")
            page = get({"limit": limit, "next": page.next})
            record(walk, page)
            index += 1
        if added := page.headers.get("x-taxii-date-added-last"):
            deep_start["added_after"] = added
        for _ in range(repeats):
            if page.next is None:
                figure.error = f"the collection ended after page {index}"
                break
            page = get({"limit": limit, "next": page.next})
            if not figure.ms and page.objects:
                deep_start["first_id"] = str(page.objects[0]["id"])
            record(figure, page)
            index += 1
        checks["deep_first_page"] = middle + 1

    def do_added_after(figure: Figure) -> None:
        if "added_after" not in deep_start:
            raise Stop("skipped: no X-TAXII-Date-Added-Last from the page before the deep ones")
        checks["added_after"] = deep_start["added_after"]
        for _ in range(repeats):
            page = get({"limit": limit, "added_after": deep_start["added_after"]})
            record(figure, page)
        if page.objects and "first_id" in deep_start:
            checks["added_after_starts_at_deep"] = page.objects[0]["id"] == deep_start["first_id"]

    try:
        run("first", "first page", do_first)
        run("deep", "walk to the middle, then the deep pages", do_deep)
        if figures["walk"].error is None and figures["deep"].error and not figures["walk"].ms:
            figures["walk"].error = figures["deep"].error
        run("added_after", "added_after page", do_added_after)
    finally:
        client.close()
    rss_after, hwm = proc_memory(pid) if pid else (0.0, 0.0)
    return {
        "rss_after_load_mib": rss_load,
        "rss_after_mib": rss_after,
        "hwm_mib": hwm,
        "figures": {name: figure.summary() for name, figure in figures.items()},
        "checks": checks,
    }


def measure_as_asked(
    args: argparse.Namespace, url: str, auth: tuple[str, str], pid: int, objects: int
) -> dict[str, Any]:
    """:func:`measure` of a collection of ``objects`` with the command line's limit, repeats,
    request timeout and time box: the same for both sides."""
    return measure(url, auth, pages=math.ceil(objects / args.limit), limit=args.limit,
                   repeats=args.repeats, pid=pid, timeout=args.request_timeout,
                   time_box=args.time_box)  # fmt: skip


# -- the two sides ---------------------------------------------------------------------------------


def medallion_side(objects: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """medallion 3.0.0 with its memory backend, in its own venv, serving ``objects``."""
    python = ensure_medallion_env(args.env)
    result: dict[str, Any] = {"server": f"medallion {medallion_version(python)} (memory backend)"}
    workdir = Path(tempfile.mkdtemp(prefix="liaison-taxii-bench-"))
    server = None
    try:
        say(f"medallion: writing {len(objects):,} objects and starting it")
        server = start_medallion(
            python,
            objects,
            args.port or free_port(),
            date_added=added_timestamps(len(objects)),
            workdir=workdir,
            max_page_size=args.limit,
            load_timeout_s=args.request_timeout,
        )
        result.update(load_s=server.load_s, data_bytes=server.data_bytes, write_s=server.write_s)
        say(f"medallion: answering after {server.load_s:.2f} s; measuring")
        result.update(
            measure_as_asked(args, server.objects_url, server.auth, server.pid, len(objects))
        )
    except (RuntimeError, OSError) as exc:
        result["error"] = f"{exc.__class__.__name__}: {exc}"
        say(f"medallion failed: {result['error']}")
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            say(f"medallion's files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


class TaxiiNode(BenchNode):
    """A bench node whose officer API and TAXII listener run on loopback."""

    @property
    def objects_url(self) -> str:
        return f"http://127.0.0.1:{self.taxii_port}/{PARTNER.lower()}/collections/inbox/objects/"


def load_collection(node: TaxiiNode, objects: list[dict[str, Any]], chunk: int = 5_000) -> float:
    """Put ``objects`` in the node's ``inbox`` collection for the partner, as TLP:GREEN, the way
    the node indexes what an officer accepted (``reports.collections.add_objects``: each object
    sealed at rest, a row per version, ``date_added`` increasing), ``chunk`` objects per
    transaction; returns the seconds it took. In process, with the node's own key file."""
    started = time.perf_counter()
    live = open_node(load_settings(node.data_dir), PASSPHRASE)
    try:
        with live.db.read() as session:
            partner_id = session.scalars(select(Partner.id).where(Partner.node_id == PARTNER)).one()
        for at in range(0, len(objects), chunk):
            with live.db.write() as session:
                collections.add_objects(
                    session, live, partner_id=partner_id, kind="inbox",
                    objects=objects[at : at + chunk], tlp=TLP.GREEN, source="bench",
                )  # fmt: skip
    finally:
        live.db.dispose()
    return time.perf_counter() - started


def liaison_side(objects: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any] | None:
    """liaison's TAXII 2.1 server serving ``objects`` in one collection, measured like medallion.

    A node IQ is made (SQLite, its default) with a partner SY pinned (SY runs only for that),
    ``objects`` are indexed into IQ's ``inbox`` collection for SY (``load_collection``, timed as
    ``index_s``: the node pays it once, as objects arrive, not at start), then ``liaison serve``
    starts with its TAXII listener; ``load_s`` is that process's start until its TAXII
    collection answers, the figure comparable with medallion's load. An integration credential
    (read, SY, up to TLP:AMBER) is made over the admin API and the objects endpoint is measured
    with it, by alias (``/sy/collections/inbox/objects/``)."""
    root = Path(tempfile.mkdtemp(prefix="liaison-taxii-bench-"))
    iq, sy = TaxiiNode("IQ", "Baghdad", root), BenchNode("SY", "Damascus", root)
    result: dict[str, Any] = {"server": "liaison (SQLite)"}
    try:
        say("liaison: making node IQ and its partner SY")
        for node in (iq, sy):
            node.init()
        sy.start()
        sy.wait_ready()
        iq.cli("partner", "add", PARTNER, "--url", sy.url, "--fingerprint", sy.fingerprint(),
               "--data-dir", str(iq.data_dir))  # fmt: skip
        sy.stop()
        iq.cli("user", "add", ADMIN, "--role", "admin", "--data-dir", str(iq.data_dir))
        say(f"liaison: indexing {len(objects):,} objects into IQ's inbox collection for SY")
        result["index_s"] = load_collection(iq, objects)
        say(f"liaison: indexed in {result['index_s']:.1f} s; starting the node")
        started = time.perf_counter()
        iq.start()
        iq.wait_ready()
        with LiaisonClient(iq.url) as client:
            client.login(ADMIN, PASSWORD)
            made = client.add_integration(
                "bench", partners=[PARTNER], read=True, write=False, clearance="amber"
            )
        auth = ("bench", str(made["secret"]))
        with httpx.Client(auth=auth, headers={"Accept": TAXII_ACCEPT}, timeout=60) as http:
            answer = http.get(iq.objects_url, params={"limit": 1})
        result["load_s"] = time.perf_counter() - started
        if answer.status_code != 200:
            raise RuntimeError(f"TAXII answered {answer.status_code}: {answer.text[:200]}")
        say(f"liaison: answering after {result['load_s']:.2f} s; measuring")
        result.update(measure_as_asked(args, iq.objects_url, auth, iq.pid, len(objects)))
    except (RuntimeError, OSError, LiaisonError, DemoFailed) as exc:
        result["error"] = f"{exc.__class__.__name__}: {exc}"
        say(f"liaison failed: {result['error']}")
    finally:
        for node in (iq, sy):
            node.stop()
        if args.keep:
            say(f"liaison's node files kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return result


# -- output ----------------------------------------------------------------------------------------


def _cell(side: dict[str, Any] | None, key: tuple[str, ...], fmt: str) -> tuple[str, float | None]:
    if side is None:
        return "", None
    value: Any = side
    for part in key:
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, int | float) and not (key[-1].endswith("mib") and value == 0):
        return format(value, fmt), float(value)
    if len(key) == 3:
        error = side.get("figures", {}).get(key[1], {}).get("error")
        return ("n/a" if not error else error[:44]), None
    return "n/a" if "error" not in side else "not run", None


ROWS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("load, s", ("load_s",), ",.2f"),
    ("RSS after load, MiB", ("rss_after_load_mib",), ",.1f"),
    ("first page median, ms", ("figures", "first", "median_ms"), ",.1f"),
    ("first page p95, ms", ("figures", "first", "p95_ms"), ",.1f"),
    ("first page, bytes", ("figures", "first", "bytes"), ",d"),
    ("deep page (next) median, ms", ("figures", "deep", "median_ms"), ",.1f"),
    ("deep page (next) p95, ms", ("figures", "deep", "p95_ms"), ",.1f"),
    ("deep page, bytes", ("figures", "deep", "bytes"), ",d"),
    ("walk (next) median, ms", ("figures", "walk", "median_ms"), ",.1f"),
    ("walk (next) p95, ms", ("figures", "walk", "p95_ms"), ",.1f"),
    ("added_after page median, ms", ("figures", "added_after", "median_ms"), ",.1f"),
    ("added_after page p95, ms", ("figures", "added_after", "p95_ms"), ",.1f"),
    ("added_after page, bytes", ("figures", "added_after", "bytes"), ",d"),
    ("RSS after the figures, MiB", ("rss_after_mib",), ",.1f"),
    ("peak RSS (VmHWM), MiB", ("hwm_mib",), ",.1f"),
)


def render(results: dict[str, Any]) -> str:
    medallion = results["medallion"]
    liaison = results.get("liaison")
    lines = [
        f"TAXII paging: {results['objects']:,} objects, limit {results['limit']}, "
        f"{results['repeats']} repeats; {results['machine']}",
        f"objects generated in {results['generate_s']:.2f} s (seed {results['seed']})",
    ]
    if "error" in medallion:
        lines.append(f"medallion: {medallion['error']}")
    if "data_bytes" in medallion:
        lines.append(
            f"medallion data file {medallion['data_bytes']:,} B, written in "
            f"{medallion['write_s']:.2f} s"
        )
    if liaison is not None and "index_s" in liaison:
        lines.append(
            f"liaison indexed the objects (sealed, one row per version) in "
            f"{liaison['index_s']:.1f} s, before its start: a cost paid as objects arrive"
        )
    if liaison is not None and "error" in liaison:
        lines.append(f"liaison: {liaison['error']}")
    headers = ["figure", medallion["server"]]
    if liaison is not None:
        headers += [str(liaison.get("server", "liaison")), "liaison/medallion"]
    rows = [headers]
    for label, key, fmt in ROWS:
        m_text, m_value = _cell(medallion, key, fmt)
        row = [label, m_text]
        if liaison is not None:
            l_text, l_value = _cell(liaison, key, fmt)
            ratio = f"{l_value / m_value:.3g}" if l_value is not None and m_value else "n/a"
            row += [l_text, ratio]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    if liaison is None:
        lines.append("liaison: not measured (liaison_side returned None)")
    for name, side in (("medallion", medallion), ("liaison", liaison)):
        if side and side.get("checks"):
            lines.append(
                f"{name} checks: " + ", ".join(f"{k}={v}" for k, v in side["checks"].items())
            )
    return "\n".join(lines)


def machine() -> str:
    mem = ""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    return f"Python {platform.python_version()}, {os.cpu_count()} CPUs{mem}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.taxii_bench",
        description="A page of 100 objects from a large collection: liaison's TAXII server "
        "beside medallion, over HTTP on loopback.",
    )
    parser.add_argument("--objects", type=int, default=100_000, help="collection size (100000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed requests per figure (5)")
    parser.add_argument("--limit", type=int, default=100, help="page size (100)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the objects (1)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--medallion-only", action="store_true", help="skip the liaison side")
    only.add_argument(
        "--liaison-only",
        action="store_true",
        help="skip medallion (whose memory backend cannot page 100,000 objects in any sane time)",
    )
    parser.add_argument(
        "--env",
        type=Path,
        default=DEFAULT_ENV,
        help=f"medallion's venv, made if missing ({DEFAULT_ENV})",
    )
    parser.add_argument("--port", type=int, default=0, help="medallion's port (a free one)")
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=300.0,
        help="seconds one request (and medallion's load) may take (300)",
    )
    parser.add_argument(
        "--time-box", type=float, default=600.0, help="seconds for all of one side's figures (600)"
    )
    parser.add_argument("--keep", action="store_true", help="keep medallion's files and log")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)
    if args.objects < 1 or args.repeats < 1 or args.limit < 1:
        parser.error("--objects, --repeats and --limit must be positive")

    say(f"generating {args.objects:,} objects")
    start = time.perf_counter()
    objects = make_objects(args.objects, args.seed)
    results: dict[str, Any] = {
        "command": " ".join(
            ["python -m bench.taxii_bench", *(sys.argv[1:] if argv is None else argv)]
        ),
        "machine": machine(),
        "objects": args.objects,
        "limit": args.limit,
        "repeats": args.repeats,
        "seed": args.seed,
        "generate_s": time.perf_counter() - start,
    }
    results["medallion"] = (
        {"server": "medallion", "error": "not run (--liaison-only)"}
        if args.liaison_only
        else medallion_side(objects, args)
    )
    results["liaison"] = None if args.medallion_only else liaison_side(objects, args)
    print(render(results))
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
