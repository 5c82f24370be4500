"""Every string of the console, by area; each key maps to ``(English, Arabic)``."""

from __future__ import annotations

from service.console.catalog import admin, audit, common, officer, releases

AREAS = (common, officer, releases, audit, admin)


def _merge() -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for area in AREAS:
        for key, pair in area.MESSAGES.items():
            if key in merged:
                raise RuntimeError(f"console message {key!r} is defined twice")
            merged[key] = pair
    return merged


MESSAGES = _merge()
