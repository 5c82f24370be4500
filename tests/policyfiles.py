"""Sharing policies for tests: an open policy (everything released unchanged, everything
accepted) unless a test wants particular rules, written where the node loads them."""

from __future__ import annotations

from pathlib import Path

NODES = ("IQ", "SY", "JO")


def open_policy(node: str, partner: str, *, third_party: str = "never", extra: str = "") -> str:
    """A policy releasing everything up to TLP:RED to ``partner`` and accepting everything."""
    return f'''format = "liaison-policy/1"
node = "{node}"
partner = "{partner}"
description = "open policy for tests"

[outbound]
max_tlp = "red"
red_recipients = ["{partner}"]
third_party = "{third_party}"
{extra}
'''


def write_policy(policies_dir: Path, partner: str, text: str) -> Path:
    policies_dir.mkdir(parents=True, exist_ok=True)
    path = policies_dir / f"{partner}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def write_open_policies(policies_dir: Path, node: str, partners: tuple[str, ...] = NODES) -> None:
    """An open policy towards every other node of ``partners``."""
    for partner in partners:
        if partner != node:
            write_policy(policies_dir, partner, open_policy(node, partner))
