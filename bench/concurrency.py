"""Memory against client concurrency: the same flood from 1, 4 and 16 clients, a fresh pair each.

Run by ``bench.e2e_bench`` for each database (``--concurrency 1,4,16``; ``--concurrency ''`` skips
it), or alone: ``python -m bench.concurrency [--reports 1000] [--levels 1,4,16] [--db sqlite]``.
For each level, two fresh nodes; ``--reports`` reports are submitted from IQ to SY by that many
client threads, and once all are readable at SY, each node's peak RSS (VmHWM) and its RSS at the
end are read from ``/proc``. The goal: IQ's peak RSS at the highest level at most 5% above its
peak at the lowest (what the node holds must not grow with the number of callers).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from bench.e2e_bench import (
    Reports,
    Sample,
    Sampler,
    Submitted,
    node_pair,
    proc_memory,
    say,
    submit_flood,
    wait_until,
)

CONCURRENCY_GOAL = 1.05


def concurrency_run(
    backend: str, root: Path, reports: int, levels: list[int]
) -> dict[str, dict[str, float]]:
    """level -> IQ and SY peak and final RSS (MiB) after ``reports`` reports at that level."""
    out: dict[str, dict[str, float]] = {}
    for level in levels:
        say(f"  {reports:,} reports from {level} client(s), fresh pair")
        with node_pair(backend, root, f"{backend}-c{level}") as pair:
            sub = Submitted()
            with Sampler(pair, sub.count) as sampler:
                submit_flood(pair, reports, level, Reports(), sub)
                ok = sub.count()
                deadline = time.monotonic() + 300 + reports

                def done(s: Sample, ok: int = ok) -> bool:
                    return s.readable >= ok and s.acknowledged >= ok

                complete = wait_until(sampler, done, deadline, "flood")
            iq_rss, iq_hwm = proc_memory(pair.iq.pid)
            sy_rss, sy_hwm = proc_memory(pair.sy.pid)
        out[str(level)] = {"iq_peak": iq_hwm, "iq_end": iq_rss, "sy_peak": sy_hwm,
                           "sy_end": sy_rss, "complete": float(complete),
                           "refused": float(len(sub.failures))}  # fmt: skip
    return out


def render_concurrency(r: dict[str, dict[str, float]] | None) -> list[str]:
    if not r:
        return []
    levels = list(r)
    low, high = r[levels[0]], r[levels[-1]]
    ratio = high["iq_peak"] / low["iq_peak"] if low["iq_peak"] else float("nan")
    mark = "PASS" if ratio <= CONCURRENCY_GOAL else "BELOW"
    rows = ", ".join(
        f"{k} client{'s' if k != '1' else ''}: IQ peak {v['iq_peak']:,.1f} (end {v['iq_end']:,.1f})"
        f", SY peak {v['sy_peak']:,.1f}" + ("" if v["complete"] else " INCOMPLETE")
        for k, v in r.items()
    )
    return [
        f"RSS against client concurrency (MiB): {rows}",
        f"  IQ peak at {levels[-1]} / at {levels[0]} clients = {ratio:.3f} "
        f"(goal <= {CONCURRENCY_GOAL:.2f}) {mark}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.concurrency", description=__doc__)
    parser.add_argument("--reports", type=int, default=1000, help="reports per level (1000)")
    parser.add_argument("--levels", default="1,4,16", help="client threads per level (1,4,16)")
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    args = parser.parse_args(argv)
    levels = [int(v) for v in args.levels.split(",") if v.strip()]
    root = Path(tempfile.mkdtemp(prefix="liaison-concurrency-"))
    try:
        result = concurrency_run(args.db, root, args.reports, levels)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"== {args.db} ==")
    print("\n".join(render_concurrency(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
