"""End-to-end throughput, latency and memory of two real nodes, beside the crypto-only bound.

``make bench`` (or ``python -m bench.e2e_bench [--reports 10000] [--db sqlite,postgresql]
[--rate 50] [--steady-seconds 60] [--json]``) measures, for each database:

* **throughput**: two real ``liaison serve`` processes (IQ and SY) on 127.0.0.1, fresh data dirs,
  pinned to each other, an officer on each. ``--clients`` threads submit ``--reports`` small
  fictional STIX bundles (unique bundle ids) from IQ to SY as fast as IQ's API accepts them.
  Reports/s = N / (start of the first submit request -> the last report readable at SY), where
  readable means its ``inbound`` row is committed in SY's database; the time by which IQ holds a
  verified receipt for every report is printed too.
* **latency** at a steady offered rate (``--rate`` for ``--steady-seconds``, submits on a fixed
  schedule, on the same pair once the throughput backlog has drained): for each report, the start
  of its submit request to readable at SY. Two clocks, both on this machine (so no skew):
  ``received_at`` (SY stamps it inside the transaction that stores the report, a few ms before
  that transaction commits: a lower bound) and the moment a poll of SY's database every 50 ms
  first sees the row (an upper bound, +50 ms resolution). p50, p99 and max of both.
* **memory**: VmRSS and VmHWM (peak) of both serve processes from ``/proc/PID/status`` every
  0.5 s; RSS at 10/50/100% of the reports delivered. Then a **backlog** scenario on a fresh pair:
  SY is stopped, N reports queue at IQ (its outbox grows from 0 to N; IQ keeps sealing and
  retrying, as it would), RSS of IQ at 0/10/50/100% of the backlog; then SY starts, catches up
  (by pull and by IQ's retries) and the drain time and both nodes' peak RSS are printed.
* **the crypto-only bound**, measured in the same run before the nodes start: per report, one
  core doing liaison's envelope seal + open + receipt sign + receipt verify (hybrid Ed25519 and
  ML-DSA-65 signatures, X-Wing HPKE, the nodes' default suite) on a body of the same size. It
  excludes STIX validation, the RFC 9421 request/response signatures, at-rest encryption,
  database, HTTP and framework work, which are measured (or, for the last three, inferred) as
  the breakdown below. The goal is end-to-end reports/s >= 0.5 x this bound.
* **where the time goes**: CPU seconds of each serve process (``/proc/PID/stat``) over the
  throughput run divided by N, beside the same-run micro-benchmarks of the steps each node does
  per report; the remainder is database, HTTP and framework work.

Every server is stopped and every temporary data dir and PostgreSQL database removed at the end;
every wait has a deadline. The script reports; it exits 0 whatever the figures, and a database
whose nodes could not be set up is printed as not run, with the reason. The load generator runs
on the same machine as both nodes (and PostgreSQL): the figures are for that shared machine, so
the load average and the CPU other processes used are printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select, text

from bench.crypto_bench import best_of, machine_info
from clients.errors import LiaisonError
from clients.sdk import LiaisonClient
from demo.two_nodes import PASSWORD, POLICIES, LiveNode

TEMPLATE = Path(__file__).resolve().parent.parent / "demo" / "reports" / "sy-escape-d12.json"
PG_ADMIN_URL = os.environ.get(
    "LIAISON_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
OFFICER = "bench-officer"
THROUGHPUT_GOAL = 0.5
P99_GOAL = 1.0
FLAT_GOAL = 1.10  # RSS at 100% of the backlog at most 10% above RSS at 10%
SAMPLE_SECONDS = 0.5
POLL_SECONDS = 0.05
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = 1024


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# -- reports ---------------------------------------------------------------------------------------


class Reports:
    """The demo report with a fresh bundle id each time (a uuid4 keeps the length constant)."""

    def __init__(self) -> None:
        self._template = json.loads(TEMPLATE.read_bytes())

    def make(self) -> bytes:
        bundle = dict(self._template)
        bundle["id"] = f"bundle--{uuid.uuid4()}"
        return json.dumps(bundle, separators=(",", ":")).encode("utf-8")


# -- process figures from /proc ------------------------------------------------------------------


def proc_memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MiB; zeros once it has gone."""
    rss = hwm = 0.0
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / PAGE_KIB
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / PAGE_KIB
    return rss, hwm


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (all its threads)."""
    with suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    return 0.0


def machine_cpu() -> float:
    """CPU seconds all processes on the machine have used (busy time in ``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def postgres_cpu() -> float:
    """CPU seconds of every process named ``postgres`` (the server's backends; read-only)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    total += proc_cpu(int(entry.name))
    return total


# -- databases -------------------------------------------------------------------------------------


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database at 127.0.0.1 (trust auth), dropped afterwards."""
    db_name = f"liaison_bench_{name.lower()}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db_name
    finally:
        with suppress(Exception), admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()


def postgres_version() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            version = str(conn.execute(text("SHOW server_version")).scalar())
        engine.dispose()
        return version.split()[0]
    except Exception:  # any reason: the PostgreSQL runs are skipped with it
        return None


class Observer:
    """Reads both nodes' databases (SQLite read-only, PostgreSQL by plain SELECTs) to see what
    has arrived and what is acknowledged, without going through (and loading) their APIs."""

    def __init__(self, iq_url: str, sy_url: str) -> None:
        self.iq = self._engine(iq_url)
        self.sy = self._engine(sy_url)

    @staticmethod
    def _engine(url: str) -> Engine:
        if url.startswith("sqlite:///"):
            path = url.removeprefix("sqlite:///")
            return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        return create_engine(url, pool_size=2)

    def counts(self) -> tuple[int, int, int]:
        """(readable at SY, acknowledged at IQ, pending at IQ)."""
        from service.models import Delivery, Inbound

        with self.sy.connect() as conn:
            readable = conn.scalar(select(func.count()).select_from(Inbound)) or 0
        with self.iq.connect() as conn:
            rows = conn.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
            states = {str(state): int(n) for state, n in rows}
        pending = states.get("queued", 0) + states.get("sent", 0)
        return int(readable), states.get("acknowledged", 0), pending

    def received(self, since: float | None = None) -> dict[str, float]:
        """message id -> SY's ``received_at`` (Unix seconds), optionally only recent rows."""
        from datetime import UTC, datetime

        from service.models import Inbound

        query = select(Inbound.message_id, Inbound.received_at)
        if since is not None:
            query = query.where(Inbound.received_at >= datetime.fromtimestamp(since, UTC))
        with self.sy.connect() as conn:
            return {str(m): at.timestamp() for m, at in conn.execute(query)}

    def acknowledged(self) -> dict[str, float]:
        from service.models import Delivery

        query = select(Delivery.message_id, Delivery.acknowledged_at).where(
            Delivery.acknowledged_at.is_not(None)
        )
        with self.iq.connect() as conn:
            return {str(m): at.timestamp() for m, at in conn.execute(query) if at is not None}

    def acknowledged_via(self) -> dict[str, int]:
        """How IQ's acknowledgements came: by a push's answer or by SY's pull."""
        from service.models import Delivery

        query = select(Delivery.acknowledged_via, func.count()).group_by(Delivery.acknowledged_via)
        with self.iq.connect() as conn:
            return {str(via): int(n) for via, n in conn.execute(query) if via is not None}

    def dispose(self) -> None:
        self.iq.dispose()
        self.sy.dispose()


# -- the two nodes ---------------------------------------------------------------------------------


@dataclass
class BenchNode(LiveNode):
    """A demo LiveNode with a chosen database, a cheap key-file KDF and long officer tokens."""

    database_url: str | None = None

    def env(self, user: str | None = None) -> dict[str, str]:
        env = super().env(user)
        env.update(
            LIAISON_KDF_MEMORY_KIB="8192",
            LIAISON_TOKEN_TTL="86400",
            LIAISON_PULL_INTERVAL_SECONDS="30",
        )  # the default, not the demo's 3 s
        return env

    def init(self) -> None:
        args = ["node", "init", "--name", self.node_id, "--display-name", self.city,
                "--data-dir", str(self.data_dir), "--port", str(self.port),
                "--policies", str(POLICIES / self.node_id)]  # fmt: skip
        if self.database_url:
            args += ["--database-url", self.database_url]
        self.cli(*args)

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'liaison.db'}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


@dataclass
class Pair:
    iq: BenchNode
    sy: BenchNode
    observer: Observer
    iq_token: str

    def client(self) -> LiaisonClient:
        return LiaisonClient(self.iq.url, self.iq_token, timeout=120)


@contextmanager
def node_pair(backend: str, root: Path, label: str) -> Iterator[Pair]:
    """Two nodes of ``backend`` serving on loopback, pinned to each other, an officer on each."""
    with ExitStack() as stack:
        urls: dict[str, str | None] = {"IQ": None, "SY": None}
        if backend == "postgresql":
            for node_id in urls:
                urls[node_id] = stack.enter_context(postgres_database(f"{label}_{node_id}"))
        where = root / label
        iq = BenchNode("IQ", "Baghdad", where, database_url=urls["IQ"])
        sy = BenchNode("SY", "Damascus", where, database_url=urls["SY"])
        nodes = (iq, sy)
        for node in nodes:
            stack.callback(node.stop)
        for node in nodes:
            node.init()
        prints = {node.node_id: node.fingerprint() for node in nodes}
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_ready()
        for here, there in ((iq, sy), (sy, iq)):
            here.cli("partner", "add", there.node_id, "--url", there.url, "--fingerprint",
                     prints[there.node_id], "--data-dir", str(here.data_dir))  # fmt: skip
        for node in nodes:
            node.cli("user", "add", OFFICER, "--role", "officer", "--data-dir", str(node.data_dir))
        with LiaisonClient(iq.url) as client:
            token = client.login(OFFICER, PASSWORD)
        observer = Observer(iq.sqlalchemy_url, sy.sqlalchemy_url)
        stack.callback(observer.dispose)
        yield Pair(iq, sy, observer, token)


# -- sampling --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    t: float
    iq_rss: float
    sy_rss: float
    iq_hwm: float
    sy_hwm: float
    readable: int
    acknowledged: int
    pending: int
    submitted: int


class Sampler:
    """Every 0.5 s: RSS and peak RSS of both serve processes and the progress counts."""

    def __init__(self, pair: Pair, submitted: Callable[[], int]) -> None:
        self.pair = pair
        self.submitted = submitted
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def _take(self) -> Sample:
        iq_rss, iq_hwm = proc_memory(self.pair.iq.pid) if self.pair.iq.process else (0.0, 0.0)
        sy_alive = self.pair.sy.process is not None and self.pair.sy.process.poll() is None
        sy_rss, sy_hwm = proc_memory(self.pair.sy.pid) if sy_alive else (0.0, 0.0)
        readable, acknowledged, pending = self.pair.observer.counts()
        return Sample(time.time(), iq_rss, sy_rss, iq_hwm, sy_hwm, readable, acknowledged,
                      pending, self.submitted())  # fmt: skip

    def _run(self) -> None:
        while not self._stop.is_set():
            with suppress(Exception):  # a busy database must not end the sampling
                self.samples.append(self._take())
            self._stop.wait(SAMPLE_SECONDS)

    def latest(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def wait_until(
    sampler: Sampler, done: Callable[[Sample], bool], deadline: float, what: str
) -> bool:
    """Wait for a sample that satisfies ``done``, until the monotonic ``deadline``."""
    last_said = time.monotonic()
    while time.monotonic() < deadline:
        sample = sampler.latest()
        if sample is not None and done(sample):
            return True
        if sample is not None and time.monotonic() - last_said > 15:
            say(f"  {what}: {sample.readable:,} readable at SY, {sample.acknowledged:,} "
                f"acknowledged, {sample.pending:,} pending at IQ")  # fmt: skip
            last_said = time.monotonic()
        time.sleep(0.2)
    return False


def at_fraction(samples: list[Sample], key: Callable[[Sample], int], total: int, frac: float
                ) -> Sample | None:  # fmt: skip
    """The first sample where ``key`` reached ``frac`` of ``total``."""
    for sample in samples:
        if key(sample) >= frac * total:
            return sample
    return None


# -- submitting ------------------------------------------------------------------------------------


@dataclass
class Submitted:
    """What the load generator saw of each submission."""

    started: dict[str, float] = field(default_factory=dict)  # message id -> wall time
    answered: dict[str, float] = field(default_factory=dict)
    lag: list[float] = field(default_factory=list)  # schedule lag (steady run)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        return len(self.started)

    def submit(self, client: LiaisonClient, data: bytes) -> None:
        start = time.time()
        try:
            answer = client.submit_report(data, to=["SY"])
        except LiaisonError as exc:
            with self.lock:
                self.failures.append(str(exc))
            return
        end = time.time()
        message_id = str(answer["deliveries"][0]["message_id"])
        with self.lock:
            self.started[message_id] = start
            self.answered[message_id] = end


def submit_flood(pair: Pair, n: int, threads: int, reports: Reports, into: Submitted) -> float:
    """Submit ``n`` reports from ``threads`` clients as fast as IQ accepts; returns the wall time
    at which the first request started."""
    bodies = [reports.make() for _ in range(n)]
    next_index = iter(range(n))
    lock = threading.Lock()

    def worker() -> None:
        with pair.client() as client:
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                into.submit(client, bodies[i])

    first = time.time()
    pool = [threading.Thread(target=worker, name=f"submit-{k}") for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return first


def submit_steady(pair: Pair, rate: float, seconds: float, reports: Reports, into: Submitted
                  ) -> float:  # fmt: skip
    """Submit at ``rate`` per second on a fixed schedule for ``seconds``; returns the start."""
    n = max(1, round(rate * seconds))
    bodies = [reports.make() for _ in range(n)]
    local = threading.local()
    clients: list[LiaisonClient] = []

    def job(due: float, body: bytes) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = pair.client()
            with into.lock:
                clients.append(client)
        with into.lock:
            into.lag.append(time.monotonic() - due)
        into.submit(client, body)

    start = time.monotonic()
    wall = time.time()
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="steady") as pool:
        for i, body in enumerate(bodies):
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(job, due, body)
    for client in clients:
        client.close()
    return wall


# -- component micro-benchmarks (the crypto-only bound and the breakdown) -------------------------


@dataclass(frozen=True, slots=True)
class Components:
    """Microseconds per operation of each step, one core, measured in this run."""

    body_bytes: int
    envelope_bytes: int
    suite: str
    us: dict[str, float]

    @property
    def crypto_us(self) -> float:
        return sum(self.us[k] for k in ("seal", "open", "receipt sign", "receipt verify"))

    @property
    def bound(self) -> float:
        """Reports per second of the crypto-only bound (one core, the four steps in turn)."""
        return 1e6 / self.crypto_us

    def iq_steps(self) -> dict[str, float]:
        u = self.us
        return {"STIX validation": u["validation"], "seal": u["seal"],
                "receipt verify": u["receipt verify"],
                "RFC 9421 sign request + verify response": u["httpsig sign request"]
                + u["httpsig verify response"],
                "at-rest AES-GCM (seal body, open it)": 2 * u["at-rest"]}  # fmt: skip

    def sy_steps(self) -> dict[str, float]:
        u = self.us
        return {"STIX validation": u["validation"], "open": u["open"],
                "receipt sign": u["receipt sign"],
                "RFC 9421 verify request + sign response": u["httpsig verify request"]
                + u["httpsig sign response"],
                "at-rest AES-GCM (seal signed message)": u["at-rest"]}  # fmt: skip


class _AcceptingNonces:
    """A nonce store that accepts every nonce: the bench times the signature work; the node's
    nonce store is a database insert, part of the database share."""

    def remember(self, keyid: str, nonce: str, expires_at: int) -> bool:
        return True


def measure_components(seconds: float, reports: Reports) -> Components:
    from crypto import httpsig
    from crypto.canonical import canonicalize, parse_strict
    from crypto.envelope import open_envelope, seal
    from crypto.keys import NodeIdentity
    from crypto.receipt import issue_receipt, verify_receipt
    from service.atrest import DataKey
    from service.federation.wire import ENVELOPE_MEDIA_TYPE
    from service.reports import STIX_MEDIA_TYPE, stix

    now = int(time.time())
    iq = NodeIdentity.generate("IQ", now=now - 3600)
    sy = NodeIdentity.generate("SY", now=now - 3600)
    key = sy.current_kem_key(now).published()
    submitted = reports.make()
    body = canonicalize(parse_strict(submitted))  # what IQ stores and seals
    ids = iter(range(1, 1 << 62))

    def do_seal() -> bytes:
        n = next(ids)
        return seal(sender=iq, recipient_id="SY", recipient_key=key, body=body,
                    content_type=STIX_MEDIA_TYPE, message_id=str(uuid.uuid4()), seq=n,
                    now=now).data  # fmt: skip

    envelope = do_seal()
    senders = {"IQ": iq.signing.public}
    opened = open_envelope(envelope, recipient=sy, senders=senders, now=now)
    message_id = opened.header.message_id

    def do_receipt() -> bytes:
        return issue_receipt(key=sy.signing, message_id=message_id,
                             envelope_sha256=opened.digest, sender="IQ", receiver="SY",
                             received_at=now)  # fmt: skip

    receipt = do_receipt()
    target = "http://127.0.0.1:8601/federation/v1/envelopes"
    request = httpsig.HttpRequestParts("POST", target, {"content-type": ENVELOPE_MEDIA_TYPE},
                                       envelope)  # fmt: skip
    req_headers = httpsig.sign_request(request, key=iq.signing, keyid=iq.signing.public.key_id,
                                       now=now)  # fmt: skip
    signed_request = httpsig.HttpRequestParts(
        "POST", target, {**request.headers, **req_headers}, envelope
    )
    response = httpsig.HttpResponseParts(200, {"content-type": "application/json"}, receipt)
    resp_headers = httpsig.sign_response(response, signed_request, key=sy.signing,
                                         keyid=sy.signing.public.key_id, now=now)  # fmt: skip
    signed_response = httpsig.HttpResponseParts(
        200, {"content-type": "application/json", **resp_headers}, receipt
    )
    data_key = DataKey(DataKey.generate())
    stored = data_key.seal(body, "reports.body_ct/x")
    steps: dict[str, Callable[[], object]] = {
        "validation": lambda: stix.validate_report(submitted),
        "seal": do_seal,
        "open": lambda: open_envelope(envelope, recipient=sy, senders=senders, now=now),
        "receipt sign": do_receipt,
        "receipt verify": lambda: verify_receipt(
            receipt,
            receiver_key=sy.signing.public,
            expected_receiver="SY",
            expected_sender="IQ",
            expected_message_id=message_id,
            expected_envelope_sha256=opened.digest,
            now=now,
        ),
        "httpsig sign request": lambda: httpsig.sign_request(
            request, key=iq.signing, keyid=iq.signing.public.key_id, now=now
        ),
        "httpsig verify request": lambda: httpsig.verify_request(
            signed_request,
            resolve_key=lambda _k: iq.signing.public.ed25519,
            nonce_store=_AcceptingNonces(),
            now=now,
        ),
        "httpsig sign response": lambda: httpsig.sign_response(
            response, signed_request, key=sy.signing, keyid=sy.signing.public.key_id, now=now
        ),
        "httpsig verify response": lambda: httpsig.verify_response(
            signed_response,
            signed_request,
            resolve_key=lambda _k: sy.signing.public.ed25519,
            now=now,
        ),
        "at-rest": lambda: data_key.open(stored, "reports.body_ct/x"),
    }
    us: dict[str, float] = {}
    for name, fn in steps.items():
        say(f"measuring {name}")
        us[name] = 1e6 / best_of(fn, seconds)
    return Components(len(body), len(envelope), key.suite.name, us)


# -- the scenarios ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "max": max(values) if values else float("nan"),
        "mean": statistics.fmean(values) if values else float("nan"),
    }


def throughput_run(pair: Pair, n: int, threads: int, reports: Reports) -> dict[str, Any]:
    sub = Submitted()
    pids = {"IQ": pair.iq.pid, "SY": pair.sy.pid}
    cpu0 = {k: proc_cpu(p) for k, p in pids.items()}
    pg0 = postgres_cpu() if pair.iq.database_url else 0.0
    own0 = time.process_time()
    machine0, load0 = machine_cpu(), load_average()
    with Sampler(pair, sub.count) as sampler:
        first = submit_flood(pair, n, threads, reports, sub)
        submitted_by = max(sub.answered.values(), default=first)
        ok = sub.count()
        say(f"  {ok:,} submitted in {submitted_by - first:.1f} s "
            f"({len(sub.failures)} refused); waiting for delivery")  # fmt: skip
        deadline = time.monotonic() + 300 + n * 0.5
        complete = wait_until(
            sampler, lambda s: s.readable >= ok and s.acknowledged >= ok, deadline, "throughput"
        )
        time.sleep(SAMPLE_SECONDS * 2)  # one more memory sample at 100%
    cpu = {k: proc_cpu(p) - cpu0[k] for k, p in pids.items()}
    pg = postgres_cpu() - pg0 if pair.iq.database_url else None
    own = time.process_time() - own0
    machine = machine_cpu() - machine0
    others = machine - sum(cpu.values()) - (pg or 0.0) - own
    received = pair.observer.received()
    acked = pair.observer.acknowledged()
    ours = [m for m in sub.started if m in received]
    last_readable = max((received[m] for m in ours), default=float("nan"))
    last_ack = max((acked[m] for m in sub.started if m in acked), default=float("nan"))
    wall = last_readable - first
    latencies = [received[m] - sub.started[m] for m in ours]
    samples = sampler.samples
    memory = {}
    for frac in (0.1, 0.5, 1.0):
        s = at_fraction(samples, lambda x: x.readable, len(ours) or 1, frac)
        if s is not None:
            memory[f"{round(frac * 100)}%"] = {"iq_rss": s.iq_rss, "sy_rss": s.sy_rss}
    return {
        "reports": n,
        "submitted": ok,
        "refused": len(sub.failures),
        "refusal_examples": sub.failures[:3],
        "complete": complete,
        "readable": len(ours),
        "acknowledged": sum(1 for m in sub.started if m in acked),
        "client_threads": threads,
        "submit_seconds": submitted_by - first,
        "submit_per_s": ok / (submitted_by - first) if submitted_by > first else float("nan"),
        "seconds_to_last_readable": wall,
        "seconds_to_last_acknowledged": last_ack - first,
        "reports_per_s": len(ours) / wall if wall > 0 else float("nan"),
        "latency_under_flood_s": summary(latencies),
        "cpu_seconds": {
            **cpu,
            "postgres": pg,
            "load_generator": own,
            "machine": machine,
            "other_processes": others,
        },
        "load_average": {"start": load0, "end": load_average()},
        "acknowledged_via": pair.observer.acknowledged_via(),
        "memory_mib": memory,
        "peak_mib": {
            "iq": max((s.iq_hwm for s in samples), default=0.0),
            "sy": max((s.sy_hwm for s in samples), default=0.0),
        },
    }


class FirstSeen:
    """Polls SY's database every 50 ms and notes when each message id is first visible."""

    def __init__(self, observer: Observer) -> None:
        self.observer = observer
        self.seen: dict[str, float] = {}
        self.polls = 0
        self._since = time.time() - 5
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="first-seen", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with suppress(Exception):
                rows = self.observer.received(self._since)
                now = time.time()
                self.polls += 1
                for message_id, received_at in rows.items():
                    self.seen.setdefault(message_id, now)
                    # received_at is stamped before the commit: look back for late commits.
                    self._since = max(self._since, received_at - 10)
            self._stop.wait(POLL_SECONDS)

    def __enter__(self) -> FirstSeen:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def steady_run(pair: Pair, rate: float, seconds: float, reports: Reports) -> dict[str, Any]:
    sub = Submitted()
    load0 = load_average()
    base_readable, base_acked, _ = pair.observer.counts()
    with Sampler(pair, sub.count) as sampler, FirstSeen(pair.observer) as seen:
        wall0 = submit_steady(pair, rate, seconds, reports, sub)
        ok = sub.count()
        offered_for = max(sub.started.values(), default=wall0) - wall0
        say(f"  {ok:,} submitted over {offered_for:.1f} s; waiting for delivery")
        deadline = time.monotonic() + 120 + seconds * 2
        target_readable, target_acked = base_readable + ok, base_acked + ok
        complete = wait_until(
            sampler, lambda s: s.readable >= target_readable and s.acknowledged >= target_acked,
            deadline, "steady",
        )  # fmt: skip
        time.sleep(0.5)  # let the first-seen poller catch the last rows
    received = pair.observer.received(wall0 - 5)
    ours = [m for m in sub.started if m in received]
    by_stamp = [received[m] - sub.started[m] for m in ours]
    by_poll = [seen.seen[m] - sub.started[m] for m in ours if m in seen.seen]
    api = [sub.answered[m] - sub.started[m] for m in sub.started]
    backlog = max((s.pending for s in sampler.samples), default=0)
    return {
        "rate": rate,
        "seconds": seconds,
        "submitted": ok,
        "refused": len(sub.failures),
        "achieved_rate": ok / offered_for if offered_for > 0 else float("nan"),
        "schedule_lag_max_s": max(sub.lag, default=float("nan")),
        "complete": complete,
        "readable": len(ours),
        "latency_received_at_s": summary(by_stamp),
        "latency_first_seen_s": summary(by_poll),
        "submit_api_s": summary(api),
        "max_pending_at_iq": backlog,
        "load_average": {"start": load0, "end": load_average()},
        "polls": seen.polls,
        "peak_mib": {
            "iq": max((s.iq_hwm for s in sampler.samples), default=0.0),
            "sy": max((s.sy_hwm for s in sampler.samples), default=0.0),
        },
    }


def backlog_run(pair: Pair, n: int, threads: int, reports: Reports) -> dict[str, Any]:
    say("  stopping SY")
    pair.sy.stop()
    sub = Submitted()
    with Sampler(pair, sub.count) as sampler:
        time.sleep(2 * SAMPLE_SECONDS)
        first = submit_flood(pair, n, threads, reports, sub)
        ok = sub.count()
        queued_for = time.time() - first
        say(f"  {ok:,} queued at IQ in {queued_for:.1f} s with SY down; holding 10 s")
        time.sleep(10)
        growth = list(sampler.samples)
        say("  starting SY")
        restart = time.time()
        pair.sy.start()
        pair.sy.wait_ready()
        deadline = time.monotonic() + 300 + n * 0.5
        complete = wait_until(
            sampler, lambda s: s.readable >= ok and s.acknowledged >= ok, deadline, "drain"
        )
        time.sleep(2 * SAMPLE_SECONDS)
    received = pair.observer.received()
    acked = pair.observer.acknowledged()
    ours = [m for m in sub.started if m in received]
    drained = max((received[m] for m in ours), default=float("nan")) - restart
    acked_all = max((acked[m] for m in sub.started if m in acked), default=float("nan")) - restart
    rss: dict[str, float] = {"0%": growth[0].iq_rss if growth else float("nan")}
    for frac in (0.1, 0.5, 1.0):
        s = at_fraction(growth, lambda x: x.submitted, ok or 1, frac)
        if s is not None:
            rss[f"{round(frac * 100)}%"] = s.iq_rss
    rss["after 10 s hold"] = growth[-1].iq_rss if growth else float("nan")
    drain_samples = [s for s in sampler.samples if s.t >= restart]
    return {
        "reports": n,
        "queued": ok,
        "refused": len(sub.failures),
        "queue_seconds": queued_for,
        "complete": complete,
        "readable": len(ours),
        "drain_seconds_to_readable": drained,
        "drain_seconds_to_acknowledged": acked_all,
        "drain_per_s": len(ours) / drained if drained > 0 else float("nan"),
        "iq_rss_vs_backlog_mib": rss,
        "iq_rss_series_mib": [
            (round(s.t - first, 1), s.submitted, round(s.iq_rss, 1))
            for s in growth[:: max(1, len(growth) // 20)]
        ],
        "peak_mib": {
            "iq": max((s.iq_hwm for s in sampler.samples), default=0.0),
            "sy": max((s.sy_hwm for s in drain_samples), default=0.0),
        },
        "sy_rss_end_mib": drain_samples[-1].sy_rss if drain_samples else float("nan"),
        "acknowledged_via": pair.observer.acknowledged_via(),
    }


# -- output ----------------------------------------------------------------------------------------


def _f(value: float, spec: str = ",.1f") -> str:
    return "n/a" if value != value else format(value, spec)  # NaN


def render_components(c: Components) -> list[str]:
    u = c.us
    lines = [
        f"Per-report steps, one core, microseconds (body {c.body_bytes:,} B canonical STIX, "
        f"envelope {c.envelope_bytes:,} B, suite {c.suite})",
    ]
    for name, value in u.items():
        lines.append(f"  {name:<26} {value:>9,.1f} us   {1e6 / value:>9,.1f} /s")
    lines += [
        f"crypto-only bound: {c.bound:,.1f} reports/s = 1 / ({u['seal']:,.0f} seal + "
        f"{u['open']:,.0f} open + {u['receipt sign']:,.0f} receipt sign + "
        f"{u['receipt verify']:,.0f} receipt verify us), one core, single-threaded.",
        "  It includes: envelope seal (Ed25519 + ML-DSA-65 sign, X-Wing HPKE seal), open (HPKE "
        "open, both verifies), receipt sign and verify (both algorithms).",
        "  It excludes: STIX validation (done twice, IQ on submit and SY on receipt), RFC 9421 "
        "request/response signatures, at-rest AES-GCM, database, HTTP, framework.",
        f"  With validation x2 added: {1e6 / (c.crypto_us + 2 * u['validation']):,.1f} "
        "reports/s on one core.",
    ]
    return lines


def render_backend(name: str, r: dict[str, Any], c: Components) -> list[str]:
    from bench.concurrency import render_concurrency
    from bench.large_bundle import render_large

    lines = [f"== {name} =="]
    if "error" in r:
        return [*lines, f"not run: {r['error']}"]
    t = r["throughput"]
    ratio = t["reports_per_s"] / c.bound
    mark = "PASS" if ratio >= THROUGHPUT_GOAL else "BELOW"
    lines += [
        f"Throughput: {t['readable']:,}/{t['reports']:,} reports readable at SY "
        f"({t['refused']} refused, {'complete' if t['complete'] else 'INCOMPLETE'}), "
        f"{t['client_threads']} client threads",
        f"  submitted in {t['submit_seconds']:,.1f} s ({t['submit_per_s']:,.1f}/s accepted by "
        f"IQ's API); last readable at SY after {t['seconds_to_last_readable']:,.1f} s; "
        f"all acknowledged at IQ after {_f(t['seconds_to_last_acknowledged'])} s",
        f"  end to end {t['reports_per_s']:,.1f} reports/s; crypto bound {c.bound:,.1f}/s; "
        f"ratio {ratio:.2f} (goal >= {THROUGHPUT_GOAL}) {mark}",
    ]
    lat = t["latency_under_flood_s"]
    lines.append(f"  submit->readable under the flood (queueing): p50 {lat['p50']:,.1f} s, "
                 f"p99 {lat['p99']:,.1f} s")  # fmt: skip
    cpu = t["cpu_seconds"]
    wall = t["seconds_to_last_readable"]
    n = max(1, t["readable"])
    lines.append(
        f"  CPU over the run: IQ {cpu['IQ']:,.1f} s ({100 * cpu['IQ'] / wall:.0f}% of a core), "
        f"SY {cpu['SY']:,.1f} s ({100 * cpu['SY'] / wall:.0f}%), load generator "
        f"{cpu['load_generator']:,.1f} s"
        + (f", PostgreSQL {cpu['postgres']:,.1f} s" if cpu["postgres"] is not None else "")
        + f"; other processes on the machine {cpu['other_processes']:,.1f} s (load average "
        f"{t['load_average']['start']:.1f} -> {t['load_average']['end']:.1f}, "
        f"{os.cpu_count()} CPUs)"
    )
    via = t["acknowledged_via"]
    lines.append("  acknowledged via: " + ", ".join(f"{k} {v:,}" for k, v in sorted(via.items())))
    for node, steps in (("IQ", c.iq_steps()), ("SY", c.sy_steps())):
        per = 1e3 * cpu[node] / n
        known = sum(steps.values()) / 1e3
        parts = ", ".join(f"{k} {v / 1e3:.2f}" for k, v in steps.items())
        lines.append(f"  {node} CPU per report {per:.2f} ms = {parts}, "
                     f"DB + HTTP + framework (remainder) {per - known:.2f}")  # fmt: skip
    mem = t["memory_mib"]
    lines.append(
        "  RSS at 10/50/100% delivered: IQ "
        + " / ".join(_f(mem[k]["iq_rss"]) for k in ("10%", "50%", "100%") if k in mem)
        + " MiB, SY "
        + " / ".join(_f(mem[k]["sy_rss"]) for k in ("10%", "50%", "100%") if k in mem)
        + f" MiB; peak (VmHWM) IQ {t['peak_mib']['iq']:,.1f}, SY {t['peak_mib']['sy']:,.1f} MiB"
    )
    s = r["steady"]
    if s:
        a, b, api = s["latency_received_at_s"], s["latency_first_seen_s"], s["submit_api_s"]
        mark = "PASS" if b["p99"] < P99_GOAL else "BELOW"
        lines += [
            f"Latency at a steady {s['rate']:g}/s for {s['seconds']:g} s: {s['readable']:,}/"
            f"{s['submitted']:,} readable ({'complete' if s['complete'] else 'INCOMPLETE'}), "
            f"achieved offered rate {s['achieved_rate']:.1f}/s, schedule lag max "
            f"{_f(s['schedule_lag_max_s'], '.3f')} s, most pending at IQ {s['max_pending_at_iq']}"
            f", load average {s['load_average']['start']:.1f} -> {s['load_average']['end']:.1f}",
            f"  submit -> readable at SY, by SY's received_at: p50 {a['p50']:.3f} s, p99 "
            f"{a['p99']:.3f} s, max {a['max']:.3f} s",
            f"  submit -> first seen by a 50 ms poll of SY's DB: p50 {b['p50']:.3f} s, p99 "
            f"{b['p99']:.3f} s, max {b['max']:.3f} s  (goal p99 < {P99_GOAL:g} s) {mark}",
            f"  submit API answer: p50 {api['p50'] * 1e3:.1f} ms, p99 {api['p99'] * 1e3:.1f} ms; "
            f"peak RSS IQ {s['peak_mib']['iq']:,.1f}, SY {s['peak_mib']['sy']:,.1f} MiB",
        ]
    b = r["backlog"]
    if b:
        rss = b["iq_rss_vs_backlog_mib"]
        flat = rss.get("100%", float("nan")) <= FLAT_GOAL * rss.get("10%", float("nan"))
        lines += [
            f"Backlog: SY down, {b['queued']:,} reports queued at IQ in {b['queue_seconds']:,.1f}"
            f" s ({b['refused']} refused); IQ RSS vs backlog: "
            + ", ".join(f"{k} {_f(v)}" for k, v in rss.items())
            + f" MiB (goal flat: 100% <= {FLAT_GOAL:.2f} x 10%) {'PASS' if flat else 'BELOW'}",
            f"  SY restarted: {b['readable']:,} readable after "
            f"{_f(b['drain_seconds_to_readable'])} s ({_f(b['drain_per_s'])}/s), all "
            f"acknowledged after {_f(b['drain_seconds_to_acknowledged'])} s "
            f"({'complete' if b['complete'] else 'INCOMPLETE'}); peak RSS IQ "
            f"{b['peak_mib']['iq']:,.1f}, SY {b['peak_mib']['sy']:,.1f} MiB "
            f"(SY at the end {_f(b['sy_rss_end_mib'])}); acknowledged via "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(b["acknowledged_via"].items())),
        ]
    lines += render_large(r.get("large"))
    lines += render_concurrency(r.get("concurrency"))
    return lines


def render(results: dict[str, Any], c: Components) -> str:
    m = results["machine"]
    pg = f", PostgreSQL {results['postgresql']}" if results.get("postgresql") else ""
    lines = [
        f"machine: Python {m['python']}, cryptography {m['cryptography']}, {m['platform']}, "
        f"{m['cpu_count']} CPUs{pg}; load generator, both nodes and the database share them",
        f"command: {results['command']}",
        "",
        *render_components(c),
    ]
    for name, r in results["backends"].items():
        lines += ["", *render_backend(name, r, c)]
    lines += ["", *render_goals(results, c)]
    return "\n".join(lines)


def _goal_cells(r: dict[str, Any], c: Components) -> dict[str, str]:
    """Each goal's figure and mark for one database."""
    from bench.concurrency import CONCURRENCY_GOAL
    from bench.large_bundle import LARGE_GOAL

    cells: dict[str, str] = {}
    if "error" in r:
        return cells
    if r.get("throughput"):
        ratio = r["throughput"]["reports_per_s"] / c.bound
        cells["throughput"] = (f"{r['throughput']['reports_per_s']:,.1f}/s = {ratio:.2f} x bound "
                               f"{'PASS' if ratio >= THROUGHPUT_GOAL else 'BELOW'}")  # fmt: skip
    if r.get("steady"):
        s = r["steady"]
        p99 = s["latency_first_seen_s"]["p99"]
        ok = p99 < P99_GOAL and s["complete"]
        cells["latency"] = f"p99 {p99:,.2f} s {'PASS' if ok else 'BELOW'}"
    if r.get("large"):
        g = r["large"]
        if g["readable_s"] is None:
            cells["large"] = "not readable BELOW"
        else:
            ratio = g["readable_s"] / g["steps_s"]["crypto alone"]
            cells["large"] = f"{ratio:,.1f} x crypto {'PASS' if ratio < LARGE_GOAL else 'BELOW'}"
    if r.get("backlog"):
        rss = r["backlog"]["iq_rss_vs_backlog_mib"]
        ratio = rss.get("100%", float("nan")) / rss.get("10%", float("nan"))
        cells["backlog"] = f"{ratio:.3f} {'PASS' if ratio <= FLAT_GOAL else 'BELOW'}"
    if r.get("concurrency"):
        levels = list(r["concurrency"])
        low, high = r["concurrency"][levels[0]], r["concurrency"][levels[-1]]
        ratio = high["iq_peak"] / low["iq_peak"]
        cells["concurrency"] = (f"{ratio:.3f} ({levels[-1]} vs {levels[0]} clients) "
                                f"{'PASS' if ratio <= CONCURRENCY_GOAL else 'BELOW'}")  # fmt: skip
    return cells


def render_goals(results: dict[str, Any], c: Components) -> list[str]:
    """The issue's goals, one row each, a column per database."""
    from bench import suite_time

    names = list(results["backends"])
    cells = {name: _goal_cells(r, c) for name, r in results["backends"].items()}
    rows = [
        ("throughput", f"end-to-end reports/s >= {THROUGHPUT_GOAL} x crypto bound"),
        ("latency", f"steady {results.get('rate', 50):g}/s: p99 submit->readable < {P99_GOAL:g} s"),
        ("large", "10,000-object bundle readable < 3 x its crypto"),
        ("backlog", f"IQ RSS at 100% / 10% of a backlog <= {FLAT_GOAL:.2f}"),
        ("concurrency", "IQ peak RSS, most / fewest clients <= 1.05"),
    ]
    width = max(len(label) for _, label in rows)
    lines = ["Goals (issue 11), this run:",
             f"  {'goal':<{width}}  " + "  ".join(f"{n:<30}" for n in names)]  # fmt: skip
    for key, label in rows:
        lines.append(
            f"  {label:<{width}}  "
            + "  ".join(f"{cells[n].get(key, 'not run'):<30}" for n in names)
        )
    lines.append("  " + suite_time.render(suite_time.load()))
    return lines


# -- main ------------------------------------------------------------------------------------------


def run_backend(backend: str, args: argparse.Namespace, root: Path, reports: Reports
                ) -> dict[str, Any]:  # fmt: skip
    from bench.concurrency import concurrency_run
    from bench.large_bundle import large_run

    result: dict[str, Any] = {"throughput": None, "steady": None, "backlog": None,
                              "large": None, "concurrency": None}  # fmt: skip
    say(f"{backend}: starting two nodes")
    with node_pair(backend, root, f"{backend}-a") as pair:
        say(f"{backend}: throughput, {args.reports:,} reports")
        result["throughput"] = throughput_run(pair, args.reports, args.clients, reports)
        if args.steady_seconds > 0:
            say(f"{backend}: steady {args.rate:g}/s for {args.steady_seconds:g} s")
            result["steady"] = steady_run(pair, args.rate, args.steady_seconds, reports)
    if args.backlog:
        say(f"{backend}: backlog of {args.reports:,} with SY down, on a fresh pair")
        with node_pair(backend, root, f"{backend}-b") as pair:
            result["backlog"] = backlog_run(pair, args.reports, args.clients, reports)
    if args.large_objects > 0:
        say(f"{backend}: one report of {args.large_objects:,} objects, on a fresh pair")
        with node_pair(backend, root, f"{backend}-l") as pair:
            result["large"] = large_run(pair, args.large_objects)
    levels = [int(v) for v in args.concurrency.split(",") if v.strip()]
    if levels:
        per_level = args.concurrency_reports or min(args.reports, 1000)
        say(f"{backend}: RSS against client concurrency {levels}, {per_level:,} reports each")
        result["concurrency"] = concurrency_run(backend, root, per_level, levels)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.e2e_bench",
        description="Two real nodes on loopback: throughput, latency and memory beside the "
        "crypto-only bound.",
    )
    parser.add_argument("--reports", type=int, default=10_000, help="reports per run (10000)")
    parser.add_argument("--db", default="sqlite,postgresql", help="sqlite,postgresql (both)")
    parser.add_argument("--rate", type=float, default=50.0, help="steady offered rate /s (50)")
    parser.add_argument("--steady-seconds", type=float, default=60.0, help="steady run length")
    parser.add_argument("--clients", type=int, default=4, help="submitting threads (4)")
    parser.add_argument("--crypto-seconds", type=float, default=0.5, help="per micro-benchmark")
    parser.add_argument("--no-backlog", dest="backlog", action="store_false",
                        help="skip the SY-down backlog scenario")  # fmt: skip
    parser.add_argument("--large-objects", type=int, default=10_000,
                        help="objects in the one large report (10000; 0 skips it)")  # fmt: skip
    parser.add_argument(
        "--concurrency",
        default="1,4,16",
        help="client threads of the RSS-against-concurrency floods ('' skips)",
    )
    parser.add_argument(
        "--concurrency-reports",
        type=int,
        default=0,
        help="reports per concurrency level (default: --reports, at most 1000)",
    )
    parser.add_argument("--keep", action="store_true", help="keep data dirs and server logs")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.db.split(",") if b.strip()]
    if not backends or set(backends) - {"sqlite", "postgresql"}:
        parser.error("--db takes sqlite, postgresql or both")
    if args.reports < 1 or args.rate <= 0 or args.clients < 1 or args.steady_seconds < 0:
        parser.error("--reports, --rate and --clients must be positive")

    reports = Reports()
    components = measure_components(args.crypto_seconds, reports)
    results: dict[str, Any] = {
        "machine": machine_info(),
        "command": "python -m bench.e2e_bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "rate": args.rate,
        "postgresql": postgres_version() if "postgresql" in backends else None,
        "components_us": components.us,
        "crypto_bound_per_s": components.bound,
        "body_bytes": components.body_bytes,
        "envelope_bytes": components.envelope_bytes,
        "suite": components.suite,
        "backends": {},
    }
    root = Path(tempfile.mkdtemp(prefix="liaison-e2e-bench-"))
    failed = False
    try:
        for backend in backends:
            if backend == "postgresql" and results["postgresql"] is None:
                results["backends"][backend] = {"error": f"PostgreSQL at {PG_ADMIN_URL} is down"}
                continue
            try:
                results["backends"][backend] = run_backend(backend, args, root, reports)
            except Exception as exc:  # report it and go on with the next database
                failed = True
                say(f"{backend} failed: {exc.__class__.__name__}: {exc}")
                results["backends"][backend] = {"error": f"{exc.__class__.__name__}: {exc}"}
    finally:
        if args.keep or failed:
            say(f"data dirs and server logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(render(results, components))
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
