"""Where two real nodes spend their time: py-spy attached to both `serve` processes in a flood.

``python -m bench.profile_nodes [--reports 600] [--db sqlite] [--clients 4] [--top 12]``
(or ``make profile``) starts the same pair of nodes as ``bench.e2e_bench`` (fresh data dirs, pinned
to each other, an officer on each), attaches ``py-spy record --format raw`` to IQ and to SY, submits
``--reports`` reports from IQ to SY as fast as IQ accepts them, waits until every one is readable at
SY and acknowledged at IQ, and prints for each node:

* **by component**: each sample is given to the innermost frame that belongs to a known component
  (STIX validation, SQLAlchemy and the database driver, the web framework, the HTTP client,
  crypto, JSON, liaison's own code), so "database" means time spent inside SQLAlchemy or the
  driver, whoever called it;
* **by liaison function**: inclusive share of the samples under each of liaison's own functions
  (``service``, ``crypto``, ``policies``), the largest first;
* **database time by caller**: the database samples given to the innermost liaison function above
  them, which says which of our queries and flushes cost the most.

``--gil`` samples only the thread holding the GIL (Python CPU time; C code that releases the GIL,
such as SQLite's fsync, is then not counted); without it every non-idle thread is sampled. py-spy
must be on PATH or in the environment (``pip install py-spy``); it needs ptrace on the node
processes, which root has here. The profile is for this shared machine: the load generator and
PostgreSQL run beside the nodes. The script exits 0 whatever it finds.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.e2e_bench import Reports, Sampler, Submitted, node_pair, say, submit_flood, wait_until

# Innermost matching frame wins; the order only matters for files matching two entries.
COMPONENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("STIX validation (stix2-validator, jsonschema, patterns)",
     re.compile(r"(^|/)(stix2validator|jsonschema|jsonschema_specifications|referencing|stix2patterns|"
                r"antlr4|dateutil|rfc3987|simplejson)/|service/reports/validator\.py")),
    ("database (SQLAlchemy, sqlite3, psycopg)",
     re.compile(r"(^|/|<)(sqlalchemy|psycopg|psycopg_pool|sqlite3)[/ ]")),
    ("web framework (uvicorn, starlette, FastAPI, pydantic, anyio)",
     re.compile(r"(^|/)(uvicorn|starlette|fastapi|pydantic|pydantic_core|anyio|h11|httptools|"
                r"uvloop)/")),
    ("HTTP client (httpx, httpcore)", re.compile(r"(^|/)(httpx|httpcore|h2|hpack|certifi)/")),
    ("crypto (liaison crypto/, cryptography)",
     re.compile(r"(^|/)cryptography/|(^|/)crypto/(?!canonical)")),
    ("JSON (canonical, rfc8785, json)", re.compile(r"(^|/)(rfc8785|json)/|crypto/canonical\.py")),
    ("sharing policies", re.compile(r"(^|/)policies/")),
    ("liaison service code", re.compile(r"(^|/)service/")),
)  # fmt: skip
OWN = re.compile(r"(^|/)(service|crypto|policies)/.+\.py")
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")


@dataclass
class Profile:
    samples: int
    components: Counter[str]
    functions: Counter[str]
    db_callers: Counter[str]  # innermost liaison frame above each database sample


def _frame(text: str) -> tuple[str, str] | None:
    match = FRAME.match(text.strip())
    return (match["func"], match["file"]) if match else None


def parse_raw(path: Path) -> Profile:
    """Read py-spy's collapsed stacks (``frame;frame;... count``, root first)."""
    components: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    db_callers: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return Profile(0, components, functions, db_callers)
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f for f in (_frame(part) for part in stack.split(";")) if f is not None]
        component = "other (standard library, interpreter)"
        for _func, file in reversed(frames):
            found = next((name for name, rx in COMPONENTS if rx.search(file)), None)
            if found is not None:
                component = found
                break
        components[component] += count
        seen: set[str] = set()
        innermost = None
        for func, file in frames:
            own = OWN.search(file)
            if own is None:
                continue
            module = file[own.start() :].lstrip("/").removesuffix(".py").replace("/", ".")
            name = f"{module}.{func}"
            innermost = name
            if name not in seen:  # inclusive: once per stack, however deep the recursion
                seen.add(name)
                functions[name] += count
        if component.startswith("database") and innermost is not None:
            db_callers[innermost] += count
    return Profile(total, components, functions, db_callers)


def render(node: str, profile: Profile, top: int) -> list[str]:
    if profile.samples == 0:
        return [f"{node}: no samples (did py-spy attach? see its log)"]
    lines = [f"{node}: {profile.samples:,} samples", "  by component (innermost known frame):"]
    for name, count in profile.components.most_common():
        lines.append(f"    {100 * count / profile.samples:5.1f}%  {name}")
    lines.append(f"  by liaison function (inclusive), top {top}:")
    for name, count in profile.functions.most_common(top):
        lines.append(f"    {100 * count / profile.samples:5.1f}%  {name}")
    lines.append(f"  database time by the liaison function that called it, top {top}:")
    for name, count in profile.db_callers.most_common(top):
        lines.append(f"    {100 * count / profile.samples:5.1f}%  {name}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_nodes", description=__doc__)
    parser.add_argument("--reports", type=int, default=600, help="reports to submit (600)")
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--clients", type=int, default=4, help="submitting threads (4)")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second (100)")
    parser.add_argument("--gil", action="store_true", help="sample only the thread with the GIL")
    parser.add_argument("--native", action="store_true",
                        help="include C frames (SQLite, OpenSSL) in the stacks")  # fmt: skip
    parser.add_argument("--top", type=int, default=12, help="liaison functions to list (12)")
    parser.add_argument("--keep", action="store_true", help="keep the raw profiles and data dirs")
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("py-spy is not installed: pip install py-spy", file=sys.stderr)
        return 0
    root = Path(tempfile.mkdtemp(prefix="liaison-profile-"))
    profiles: dict[str, Profile] = {}
    try:
        with node_pair(args.db, root, f"{args.db}-profile") as pair:
            spies: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
            for name, node in (("IQ", pair.iq), ("SY", pair.sy)):
                out = root / f"{name}.raw"
                command = [spy, "record", "--pid", str(node.pid), "--format", "raw",
                           "--rate", str(args.rate), "--output", str(out)]  # fmt: skip
                if args.gil:
                    command.append("--gil")
                if args.native:
                    command.append("--native")
                log = (root / f"{name}.py-spy.log").open("wb")
                spies[name] = (subprocess.Popen(command, stdout=log, stderr=log), out)
            time.sleep(1.0)  # let py-spy attach before the flood
            sub = Submitted()
            say(f"profiling {args.reports:,} reports on {args.db} ({args.clients} clients)")
            with Sampler(pair, sub.count) as sampler:
                submit_flood(pair, args.reports, args.clients, Reports(), sub)
                ok = sub.count()
                deadline = time.monotonic() + 300 + ok
                wait_until(sampler, lambda s: s.readable >= ok and s.acknowledged >= ok,
                           deadline, "profile")  # fmt: skip
            for process, _out in spies.values():
                process.send_signal(2)  # SIGINT: py-spy writes its output and exits
            for name, (process, out) in spies.items():
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                profiles[name] = parse_raw(out)
    finally:
        if args.keep:
            say(f"raw profiles and data dirs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    mode = "GIL holder only" if args.gil else "all non-idle threads"
    print(f"profile: {args.reports:,} reports IQ -> SY on {args.db}, {args.clients} clients, "
          f"py-spy {args.rate}/s, {mode}")  # fmt: skip
    for name, profile in profiles.items():
        print("\n".join(render(name, profile, args.top)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
