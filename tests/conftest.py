"""Fixtures shared by the whole suite."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A file under ../shared/: the official vectors and STIX samples, read in place.

    They are required: a missing file fails the test that needs it rather than skipping it.
    """
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: the suite reads ../shared/ beside the project root")
    return path


BROWSER = ROOT / "tests" / "browser"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The browser tests run in a pytest process of their own (``make test`` runs it after the
    rest): Playwright's sync API keeps an event loop running in its process, which breaks every
    anyio test that runs there after it. They are collected only when every path asked for is
    inside ``tests/browser``."""
    if collection_path != BROWSER:
        return None
    here = config.invocation_params.dir
    asked = [(here / arg.split("::")[0]).resolve() for arg in config.args]
    only_browser = bool(asked) and all(p == BROWSER or BROWSER in p.parents for p in asked)
    return not only_browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With pytest-xdist (``make test`` runs ``-n`` workers, ``--dist loadgroup``), the tests
    that run real node processes against the clock (faults, demo) run one after the other per
    database, in two workers (SQLite, PostgreSQL); everything else spreads over the workers."""
    for item in items:
        if item.get_closest_marker("slow") is not None:
            params = getattr(getattr(item, "callspec", None), "params", {})
            backend = params.get("backend", "sqlite")
            item.add_marker(pytest.mark.xdist_group(f"real-processes-{backend}"))


# -- the suite's own duration, for `make bench` (bench/suite_time.py prints it against its goal) ---

SUITE_RECORD = ROOT / ".pytest_cache" / "liaison-suite-time.json"
_started: dict[str, float] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    _started["wall"] = time.time()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Record how long a whole run took (the controller only, not each xdist worker)."""
    config = session.config
    if hasattr(config, "workerinput") or "wall" not in _started:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    stats = getattr(reporter, "stats", {})
    counts = {k: len(v) for k, v in stats.items() if k in ("passed", "failed", "skipped", "error")}
    whole = not config.option.markexpr and not config.option.keyword and not config.args[1:]
    whole = whole and [Path(a).resolve() for a in config.args] in ([ROOT / "tests"], [])
    record = {
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": time.time() - _started["wall"],
        "whole_suite": whole,
        "markexpr": config.option.markexpr,
        "workers": getattr(config.option, "numprocesses", None),
        "exitstatus": int(exitstatus),
        "counts": counts,
        "ci": os.environ.get("CI") == "true",
        "cpus": os.cpu_count(),
    }
    with contextlib.suppress(OSError, ValueError):
        kept = SUITE_RECORD.exists() and json.loads(SUITE_RECORD.read_text()).get("whole_suite")
        if kept and not whole:
            return  # a partial run never hides the last whole one
        SUITE_RECORD.parent.mkdir(exist_ok=True)
        SUITE_RECORD.write_text(json.dumps(record, indent=2))
