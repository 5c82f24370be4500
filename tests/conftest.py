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
