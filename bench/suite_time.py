"""How long the whole test suite took, against its goal of 12 minutes on this 2-CPU machine.

``python -m bench.suite_time`` (the last step of ``make bench``) does not run the suite: it prints
what the last whole ``make test`` on this checkout recorded (``tests/conftest.py`` writes
``.pytest_cache/liaison-suite-time.json`` when a run of the whole suite ends, with its duration,
counts and worker count). ``--run`` runs ``make test`` first. A run restricted by ``-m``, ``-k`` or
paths is not the whole suite and is printed as such, never held against the goal.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / ".pytest_cache" / "liaison-suite-time.json"
SUITE_GOAL_MINUTES = 12.0


def render(record: dict[str, object] | None) -> str:
    if record is None:
        return (f"make test: not measured (no run recorded in {RECORD.relative_to(ROOT)}; run "
                f"`make test` or `python -m bench.suite_time --run`) (goal <= "
                f"{SUITE_GOAL_MINUTES:g} min) NOT RUN")  # fmt: skip
    minutes = float(str(record["seconds"])) / 60
    counts = record.get("counts") or {}
    assert isinstance(counts, dict)
    parts = ", ".join(f"{v:,} {k}" for k, v in counts.items())
    where = f"{record.get('workers')} workers, {record.get('cpus')} CPUs" + (
        ", CI=true" if record.get("ci") else ""
    )
    if not record.get("whole_suite"):
        how = f"-m {record['markexpr']!r}" if record.get("markexpr") else "some tests only"
        return (f"make test: the last run was not the whole suite ({how}): {minutes:.1f} min, "
                f"{parts}; run `make test` for the goal (<= {SUITE_GOAL_MINUTES:g} min) "
                "NOT RUN")  # fmt: skip
    ok = minutes <= SUITE_GOAL_MINUTES and record.get("exitstatus") == 0
    mark = "PASS" if ok else "BELOW"
    status = "green" if record.get("exitstatus") == 0 else f"exit {record.get('exitstatus')}"
    finished = record.get("finished_at")
    return (f"make test: whole suite in {minutes:.1f} min ({parts}; {status}; {where}; finished "
            f"{finished}) (goal <= {SUITE_GOAL_MINUTES:g} min) {mark}")  # fmt: skip


def load() -> dict[str, object] | None:
    try:
        value = json.loads(RECORD.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite_time", description=__doc__)
    parser.add_argument("--run", action="store_true", help="run `make test` first")
    args = parser.parse_args(argv)
    if args.run:
        subprocess.run(["make", "test"], cwd=ROOT, check=False, env=os.environ.copy())
    print(render(load()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
