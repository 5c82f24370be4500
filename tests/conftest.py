"""Fixtures shared by the whole suite."""

from __future__ import annotations

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With pytest-xdist (``make test`` runs ``-n`` workers, ``--dist loadgroup``), the tests
    that run real node processes against the clock (faults, demo) run one after the other per
    database, in two workers (SQLite, PostgreSQL); everything else spreads over the workers."""
    for item in items:
        if item.get_closest_marker("slow") is not None:
            params = getattr(getattr(item, "callspec", None), "params", {})
            backend = params.get("backend", "sqlite")
            item.add_marker(pytest.mark.xdist_group(f"real-processes-{backend}"))
