"""The shipped example policies with the demo reports, the reference, and the package's purity."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from policies import (
    EXAMPLES_DIR,
    RULES,
    TLP,
    Origin,
    Policy,
    decide_inbound,
    decide_outbound,
    load_policy_dir,
)
from policies import loader as loader_module

from .stixgen import (
    AMBER,
    RED,
    STRICT,
    bundle,
    identity,
    indicator,
    intrusion_set,
    note,
    sid,
    validated,
)

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo" / "reports"
DOCS = ROOT / "docs" / "policies.md"


@pytest.fixture(scope="module")
def iq_to_sy() -> Policy:
    return load_policy_dir(EXAMPLES_DIR / "IQ", node="IQ")["SY"]


@pytest.fixture(scope="module")
def sy_to_iq() -> Policy:
    return load_policy_dir(EXAMPLES_DIR / "SY", node="SY")["IQ"]


@pytest.mark.parametrize(("name", "sender"), [("iq-cell-wadi7", "IQ"), ("sy-escape-d12", "SY")])
def test_the_demo_reports_pass_both_ways(
    name: str, sender: str, iq_to_sy: Policy, sy_to_iq: Policy
) -> None:
    data = (DEMO / f"{name}.json").read_bytes()
    report = validated(json.loads(data))
    outbound, inbound = (iq_to_sy, sy_to_iq) if sender == "IQ" else (sy_to_iq, iq_to_sy)
    decision = decide_outbound(
        outbound, report.bundle, report_tlp=report.tlp, origin=Origin.local()
    )
    assert (decision.outcome, decision.released) == ("allow", report.bundle)
    received = decide_inbound(inbound, report.bundle, size=len(data), report_tlp=report.tlp)
    assert received.accepted, received.reason


def source_report(marking: str) -> dict[str, Any]:
    return bundle(
        identity(1, markings=(marking,)),
        identity(2, cls="individual", markings=(marking,), x_source_reliability="B"),
        intrusion_set(
            3, markings=(marking,), x_source_handler="H-7", created_by_ref=sid("identity", 1)
        ),
        indicator(4, markings=(marking,)),
        note(8, [sid("intrusion-set", 3)], markings=(marking,)),
    )


def test_iq_redacts_sources_for_sy(iq_to_sy: Policy) -> None:
    report = validated(source_report(AMBER))
    decision = decide_outbound(
        iq_to_sy, report.bundle, report_tlp=report.tlp, origin=Origin.local()
    )
    assert (decision.outcome, decision.rule) == ("redact", "outbound.allowed_types")  # the note
    assert decision.released is not None
    text = json.dumps(decision.released)
    for gone in ("x_source_", sid("identity", 2), sid("note", 8)):
        assert gone not in text
    validated(decision.released)


@pytest.mark.parametrize(
    ("marking", "to_sy", "to_iq"),
    [
        (AMBER, ("redact", "outbound.allowed_types"), ("redact", "outbound.allowed_types")),
        (STRICT, ("hold", "outbound.two_person"), ("hold", "outbound.two_person")),
        (RED, ("deny", "outbound.red"), ("hold", "outbound.two_person")),
    ],
    ids=["amber", "amber-strict", "red"],
)
def test_example_thresholds(
    marking: str,
    to_sy: tuple[str, str],
    to_iq: tuple[str, str],
    iq_to_sy: Policy,
    sy_to_iq: Policy,
) -> None:
    report = validated(source_report(marking))
    for policy, expected in ((iq_to_sy, to_sy), (sy_to_iq, to_iq)):
        decision = decide_outbound(
            policy, report.bundle, report_tlp=report.tlp, origin=Origin.local()
        )
        assert (decision.outcome, decision.rule) == expected, decision.reason


def test_example_inbound_quarantines_what_it_does_not_accept(iq_to_sy: Policy) -> None:
    opinion = {
        "type": "opinion",
        "spec_version": "2.1",
        "id": sid("opinion", 9),
        "created": "2026-11-20T08:30:00.000Z",
        "modified": "2026-11-20T08:30:00.000Z",
        "opinion": "agree",
        "object_refs": [sid("identity", 1)],
        "object_marking_refs": [AMBER],
    }
    report = validated(bundle(identity(1), opinion))
    decision = decide_inbound(iq_to_sy, report.bundle, size=6 * 1024 * 1024, report_tlp=TLP.AMBER)
    assert [f.rule for f in decision.findings] == ["inbound.max_bytes", "inbound.accepted_types"]


# --- the reference ------------------------------------------------------------------------------


def test_the_reference_describes_every_rule_and_key() -> None:
    text = DOCS.read_text()
    for rule in RULES:
        assert f"`{rule}`" in text, rule
    keys = (
        loader_module._TOP_KEYS
        + loader_module._OUTBOUND_KEYS
        + loader_module._REDACT_KEYS
        + loader_module._INBOUND_KEYS
    )
    for key in keys:
        assert f"`{key}`" in text, key


# --- a pure library -----------------------------------------------------------------------------

ALLOWED_OUTSIDE_STDLIB = {"policies", "crypto.canonical"}


def test_policies_imports_only_the_standard_library_and_itself() -> None:
    for path in sorted((ROOT / "policies").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "__future__":
                    continue
                assert top == "policies" or name in ALLOWED_OUTSIDE_STDLIB, f"{path.name}: {name}"
