"""Local access, table-driven: roles, clearance and REL TO."""

from __future__ import annotations

import pytest

from policies import ACCESS_RULES_VERSION, RULES, TLP, may_read, may_read_content


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("officer", True), ("releaser", True), ("auditor", False), ("admin", False), ("", False)],
)
def test_only_officers_read_content(role: str, allowed: bool) -> None:
    decision = may_read_content(role)
    assert (decision.allowed, decision.rule) == (allowed, "access.role")


CASES = [
    # id, clearance, report TLP, rel_to, authored here, allowed, rule
    ("cleared-above", TLP.AMBER, TLP.GREEN, None, False, True, "access.allow"),
    ("cleared-equal", TLP.RED, TLP.RED, None, False, True, "access.allow"),
    ("not-cleared", TLP.AMBER, TLP.AMBER_STRICT, None, False, False, "access.clearance"),
    ("clear-needs-nothing", TLP.CLEAR, TLP.CLEAR, None, False, True, "access.allow"),
    ("rel-to-names-us", TLP.AMBER, TLP.AMBER, frozenset({"IQ", "SY"}), False, True, "access.allow"),
    ("rel-to-excludes-us", TLP.AMBER, TLP.AMBER, frozenset({"SY", "JO"}), False, False,
     "access.rel_to"),
    ("rel-to-empty", TLP.AMBER, TLP.AMBER, frozenset(), False, False, "access.rel_to"),
    ("authored-here-rel-to-others", TLP.AMBER, TLP.AMBER, frozenset({"SY"}), True, True,
     "access.allow"),
    ("clearance-before-rel-to", TLP.GREEN, TLP.AMBER, frozenset({"SY"}), False, False,
     "access.clearance"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("clearance", "tlp", "rel_to", "authored", "allowed", "rule"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_may_read(
    clearance: TLP,
    tlp: TLP,
    rel_to: frozenset[str] | None,
    authored: bool,
    allowed: bool,
    rule: str,
) -> None:
    decision = may_read(clearance, tlp, rel_to=rel_to, node_id="IQ", authored_here=authored)
    assert (decision.allowed, decision.rule) == (allowed, rule), decision.reason
    assert decision.rule in RULES
    assert decision.policy_version == ACCESS_RULES_VERSION
    assert decision.to_record()["allowed"] is allowed
