"""Inbound rules, table-driven: what is accepted from a partner and what is quarantined, and why."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from policies import RULES, TLP, InboundRules, decide_inbound

from .stixgen import (
    AMBER,
    GREEN,
    RED,
    bundle,
    identity,
    indicator,
    note,
    policy,
    rel_to_definition,
    sid,
)


def marked(statement: str, name: str | None = None) -> dict[str, Any]:
    marking = rel_to_definition(1, statement, name)
    return bundle(
        marking,
        identity(1, markings=(AMBER, marking["id"])),
        indicator(4, markings=(AMBER, marking["id"])),
    )


PLAIN = bundle(identity(1), indicator(4))
UNMARKED = bundle(identity(1), {**indicator(4), "object_marking_refs": []})
TYPES = frozenset({"identity", "indicator"})


@dataclass(frozen=True)
class Case:
    id: str
    bundle: dict[str, Any]
    outcome: str
    rule: str
    rules: InboundRules = field(default_factory=InboundRules)
    size: int = 1000
    tlp: TLP = TLP.AMBER
    findings: tuple[str, ...] = ()
    authored_here: bool = False


CASES = [
    Case("accept-defaults", PLAIN, "accept", "inbound.accept"),
    Case("accept-within-all-limits", PLAIN, "accept", "inbound.accept",
         InboundRules(accepted_types=TYPES, max_bytes=1000, max_tlp=TLP.AMBER)),
    # inbound.max_bytes
    Case("max-bytes-exceeded", PLAIN, "quarantine", "inbound.max_bytes",
         InboundRules(max_bytes=999)),
    # inbound.accepted_types
    Case("type-not-accepted", bundle(identity(1), indicator(4), note(8, [sid("indicator", 4)])),
         "quarantine", "inbound.accepted_types", InboundRules(accepted_types=TYPES)),
    Case("marking-definitions-always-accepted", marked("REL TO IQ"), "accept", "inbound.accept",
         InboundRules(accepted_types=TYPES)),
    # inbound.required_markings
    Case("tlp-required-missing", UNMARKED, "quarantine", "inbound.required_markings"),
    Case("tlp-not-required", UNMARKED, "accept", "inbound.accept",
         InboundRules(required_markings=frozenset())),
    Case("rel-to-required-missing", PLAIN, "quarantine", "inbound.required_markings",
         InboundRules(required_markings=frozenset({"tlp", "rel-to"}))),
    Case("rel-to-required-present", marked("REL TO IQ, SY"), "accept", "inbound.accept",
         InboundRules(required_markings=frozenset({"tlp", "rel-to"}))),
    # inbound.rel_to
    Case("rel-to-not-naming-us", marked("REL TO SY, JO"), "quarantine", "inbound.rel_to"),
    Case("rel-to-our-own-report-returning", marked("REL TO SY, JO"), "accept", "inbound.accept",
         authored_here=True),
    Case("rel-to-malformed", marked("REL TO IQ and friends"), "quarantine", "inbound.rel_to"),
    Case("rel-to-name-contradicts", marked("REL TO IQ", name="REL TO JO"), "quarantine",
         "inbound.rel_to"),
    # inbound.max_tlp
    Case("max-tlp-exceeded", bundle(identity(1, markings=(RED,))), "quarantine", "inbound.max_tlp",
         InboundRules(max_tlp=TLP.AMBER_STRICT), tlp=TLP.RED),
    Case("max-tlp-equal", bundle(identity(1, markings=(GREEN,))), "accept", "inbound.accept",
         InboundRules(max_tlp=TLP.GREEN), tlp=TLP.GREEN),
    # every finding is listed, in rule order; the first decides
    Case("several-findings", marked("REL TO JO"), "quarantine", "inbound.max_bytes",
         InboundRules(max_bytes=10, accepted_types=frozenset({"identity"}), max_tlp=TLP.GREEN),
         findings=("inbound.max_bytes", "inbound.accepted_types", "inbound.rel_to",
                   "inbound.max_tlp")),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_inbound_rule(case: Case) -> None:
    decision = decide_inbound(
        policy(inbound=case.rules),
        case.bundle,
        size=case.size,
        report_tlp=case.tlp,
        authored_here=case.authored_here,
    )
    assert (decision.outcome, decision.rule) == (case.outcome, case.rule), decision.reason
    assert decision.rule in RULES
    assert decision.accepted is (case.outcome == "accept")
    assert decision.partner == "SY"
    assert decision.policy_version == "sha256:" + "ab" * 32
    if case.outcome == "quarantine":
        assert decision.findings and decision.findings[0].rule == case.rule
        assert all(f.message in decision.reason for f in decision.findings)
    else:
        assert decision.findings == ()
    if case.findings:
        assert tuple(f.rule for f in decision.findings) == case.findings


def test_a_quarantine_record_gives_the_reasons_and_no_content() -> None:
    decision = decide_inbound(
        policy(inbound=InboundRules(accepted_types=frozenset({"identity"}))),
        PLAIN,
        size=10,
        report_tlp=TLP.AMBER,
    )
    record = decision.to_record()
    assert record["outcome"] == "quarantine"
    assert record["findings"] == [
        {"rule": "inbound.accepted_types", "message": "types not accepted: indicator"}
    ]
    assert "relay-4.example" not in json.dumps(record)


def test_findings_name_at_most_ten_objects() -> None:
    objects = [{**indicator(n), "object_marking_refs": []} for n in range(1, 15)]
    decision = decide_inbound(policy(), bundle(*objects), size=10, report_tlp=TLP.AMBER)
    assert decision.reason.endswith("and 4 more")
