"""Outbound rules, table-driven: one or more cases per rule, each naming the rule that decides.

Every bundle here is first accepted by ``service.reports.stix.validate_report`` (the engine's
contract), and every released bundle must be accepted by it too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from policies import (
    RELEASER_ROLE,
    RULES,
    TLP,
    ApprovalRequired,
    Origin,
    OutboundDecision,
    Policy,
    PolicyDenied,
    Redaction,
    decide_outbound,
    may_approve,
)

from .stixgen import (
    AMBER,
    CLEAR,
    GREEN,
    RED,
    STRICT,
    TEARLINE,
    bundle,
    identity,
    indicator,
    intrusion_set,
    note,
    policy,
    rel_to_definition,
    relationship,
    report,
    sid,
    sighting,
    tearline_definition,
    tlp_definition,
    validated,
)

TLP1_AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"  # ../shared/stix/README.md
AUTHOR = sid("identity", 1)
SOURCE = sid("identity", 2)
CELL = sid("intrusion-set", 3)
DOMAIN = sid("indicator", 4)
NOTE = sid("note", 8)


def simple(marking: str = AMBER, *extra: dict[str, Any]) -> dict[str, Any]:
    """An author identity and one indicator under ``marking``."""
    return bundle(
        identity(1, markings=(marking,)),
        indicator(4, markings=(marking,), created_by_ref=AUTHOR),
        *extra,
    )


def full() -> dict[str, Any]:
    """A counter-terrorism report with a source, source fields, a note and a sighting."""
    return bundle(
        tlp_definition("amber"),
        identity(1),
        identity(2, cls="individual", x_source_reliability="B"),
        intrusion_set(
            3,
            created_by_ref=AUTHOR,
            description="Fictional cell.",
            x_source_handler="H-7",
            x_liaison_internal="do not share",
            x_details={"x_source_meeting": "cafe", "region": "north"},
        ),
        indicator(4, created_by_ref=AUTHOR),
        relationship(5, DOMAIN, CELL, "indicates"),
        relationship(6, SOURCE, CELL, "related-to"),
        sighting(7, DOMAIN, where=[SOURCE, AUTHOR]),
        note(8, [CELL]),
        report(9, [AUTHOR, SOURCE, CELL, DOMAIN, sid("relationship", 5), NOTE]),
    )


def with_rel_to(statement: str, name: str | None = None) -> dict[str, Any]:
    """``simple()`` with both objects also marked by a REL TO statement."""
    marking = rel_to_definition(1, statement, name)
    return bundle(
        marking,
        identity(1, markings=(AMBER, marking["id"])),
        indicator(4, markings=(AMBER, marking["id"]), created_by_ref=AUTHOR),
    )


def two_rel_to(first: str, second: str) -> dict[str, Any]:
    a, b = rel_to_definition(1, first), rel_to_definition(2, second)
    return bundle(
        a,
        b,
        identity(1, markings=(AMBER, a["id"])),
        indicator(4, markings=(AMBER, b["id"]), created_by_ref=AUTHOR),
    )


def tearline_report(portion: str = GREEN) -> dict[str, Any]:
    """An AMBER report whose indicator alone is marked for release below the tearline."""
    return bundle(
        tearline_definition(),
        identity(1),
        intrusion_set(3, created_by_ref=AUTHOR),
        indicator(4, markings=(portion, TEARLINE), created_by_ref=AUTHOR),
        relationship(5, DOMAIN, CELL, "indicates"),
    )


def received(partner: str, tlp: TLP, *rel_to: str) -> Origin:
    return Origin.received(partner, tlp=tlp, rel_to=frozenset(rel_to) if rel_to else None)


@dataclass(frozen=True)
class Case:
    id: str
    bundle: Callable[[], dict[str, Any]]
    outcome: str
    rule: str
    policy: dict[str, Any] = field(default_factory=dict)
    origin: Origin = field(default_factory=Origin.local)
    check: Callable[[OutboundDecision], None] | None = None


def ids(decision: OutboundDecision) -> set[str]:
    assert decision.released is not None
    return {obj["id"] for obj in decision.released["objects"]}


def obj(decision: OutboundDecision, oid: str) -> dict[str, Any]:
    assert decision.released is not None
    (found,) = [o for o in decision.released["objects"] if o["id"] == oid]
    return found


SOURCES = Redaction(
    property_prefixes=("x_source_",),
    properties=frozenset({"x_liaison_internal"}),
    object_types=frozenset({"note"}),
    identity_classes=frozenset({"individual"}),
)


# --- checks of particular cases -----------------------------------------------------------------


def removed_types_absent(d: OutboundDecision) -> None:
    assert ids(d).isdisjoint({NOTE, sid("sighting", 7), sid("report", 9)})


def nested_prefix_redacted(d: OutboundDecision) -> None:
    assert obj(d, CELL)["x_details"] == {"region": "north"}
    assert "x_source_handler" not in obj(d, CELL)


def exact_properties_redacted(d: OutboundDecision) -> None:
    assert "x_liaison_internal" not in obj(d, CELL)
    assert "description" not in obj(d, CELL)


def note_and_its_refs_gone(d: OutboundDecision) -> None:
    assert NOTE not in ids(d)
    assert NOTE not in obj(d, sid("report", 9))["object_refs"]


def source_and_its_links_gone(d: OutboundDecision) -> None:
    assert SOURCE not in ids(d)
    assert sid("relationship", 6) not in ids(d)
    assert obj(d, sid("sighting", 7))["where_sighted_refs"] == [AUTHOR]
    assert SOURCE not in obj(d, sid("report", 9))["object_refs"]


def only_the_tearline_portion(d: OutboundDecision) -> None:
    # The indicator alone, with the tearline marking it references; its author is outside.
    assert ids(d) == {TEARLINE, DOMAIN}
    assert "created_by_ref" not in obj(d, DOMAIN)
    assert d.tlp is TLP.GREEN


def held_unchanged(d: OutboundDecision) -> None:
    assert d.approved_outcome == "allow"
    assert d.released == d.submitted


def held_redacted(d: OutboundDecision) -> None:
    assert d.approved_outcome == "redact"
    assert SOURCE not in ids(d)


CASES = [
    # -- allow: every rule passes, nothing removed
    Case("allow-unchanged", simple, "allow", "outbound.allow"),
    Case("allow-at-max-tlp", simple, "allow", "outbound.allow", {"max_tlp": TLP.AMBER}),
    # -- outbound.max_tlp and outbound.red
    Case("max-tlp-exceeded", simple, "deny", "outbound.max_tlp", {"max_tlp": TLP.GREEN}),
    Case(
        "max-tlp-tlp1-marking-counts",
        lambda: simple(TLP1_AMBER),
        "deny",
        "outbound.max_tlp",
        {"max_tlp": TLP.GREEN},
    ),
    Case(
        "max-tlp-granular-marking-counts",
        lambda: bundle(
            identity(1),
            indicator(
                4,
                granular_markings=[{"marking_ref": STRICT, "selectors": ["description"]}],
                description="Fictional detail.",
            ),
        ),
        "deny",
        "outbound.max_tlp",
        {"max_tlp": TLP.AMBER},
    ),
    Case("red-to-unnamed-partner", lambda: simple(RED), "deny", "outbound.red"),
    Case(
        "red-with-max-but-not-named",
        lambda: simple(RED),
        "deny",
        "outbound.red",
        {"max_tlp": TLP.RED},
    ),
    Case(
        "red-to-named-recipient",
        lambda: simple(RED),
        "allow",
        "outbound.allow",
        {"max_tlp": TLP.RED, "red_recipients": frozenset({"SY"})},
    ),
    # -- outbound.rel_to
    Case("rel-to-names-partner", lambda: with_rel_to("REL TO IQ, SY"), "allow", "outbound.allow"),
    Case(
        "rel-to-excludes-partner", lambda: with_rel_to("REL TO IQ, JO"), "deny", "outbound.rel_to"
    ),
    Case(
        "rel-to-intersection-excludes",
        lambda: two_rel_to("REL TO IQ, SY", "REL TO IQ, JO"),
        "deny",
        "outbound.rel_to",
    ),
    Case(
        "rel-to-intersection-names",
        lambda: two_rel_to("REL TO SY, JO", "REL TO IQ,SY"),
        "allow",
        "outbound.allow",
    ),
    Case("rel-to-malformed", lambda: with_rel_to("REL TO: SY"), "deny", "outbound.rel_to"),
    Case("rel-to-lower-case", lambda: with_rel_to("rel to SY"), "deny", "outbound.rel_to"),
    Case(
        "rel-to-name-contradicts",
        lambda: with_rel_to("Handle with care", name="REL TO SY"),
        "deny",
        "outbound.rel_to",
    ),
    Case(
        "rel-to-required-missing",
        simple,
        "deny",
        "outbound.rel_to",
        {"releasability": "require-rel-to"},
    ),
    Case(
        "rel-to-required-present",
        lambda: with_rel_to("REL TO SY"),
        "allow",
        "outbound.allow",
        {"releasability": "require-rel-to"},
    ),
    # -- outbound.allowed_types
    Case(
        "allowed-types-removes",
        full,
        "redact",
        "outbound.allowed_types",
        {"allowed_types": frozenset({"identity", "indicator", "intrusion-set", "relationship"})},
        check=removed_types_absent,
    ),
    Case(
        "allowed-types-nothing-left",
        simple,
        "deny",
        "outbound.allowed_types",
        {"allowed_types": frozenset({"identity"})},
    ),
    Case(
        "allowed-types-all-allowed",
        simple,
        "allow",
        "outbound.allow",
        {"allowed_types": frozenset({"identity", "indicator"})},
    ),
    # -- outbound.redact
    Case(
        "redact-property-prefix-nested",
        full,
        "redact",
        "outbound.redact",
        {"redact": Redaction(property_prefixes=("x_source_",))},
        check=nested_prefix_redacted,
    ),
    Case(
        "redact-property-exact",
        full,
        "redact",
        "outbound.redact",
        {"redact": Redaction(properties=frozenset({"x_liaison_internal", "description"}))},
        check=exact_properties_redacted,
    ),
    Case(
        "redact-object-type",
        full,
        "redact",
        "outbound.redact",
        {"redact": Redaction(object_types=frozenset({"note"}))},
        check=note_and_its_refs_gone,
    ),
    Case(
        "redact-source-identities",
        full,
        "redact",
        "outbound.redact",
        {"redact": Redaction(identity_classes=frozenset({"individual"}))},
        check=source_and_its_links_gone,
    ),
    Case(
        "redact-nothing-left",
        lambda: bundle(identity(1), note(8, [AUTHOR])),
        "deny",
        "outbound.redact",
        {"redact": Redaction(object_types=frozenset({"note"}))},
    ),
    Case("redact-nothing-to-do", simple, "allow", "outbound.allow", {"redact": SOURCES}),
    # -- outbound.tearline
    Case(
        "tearline-releases-portion",
        tearline_report,
        "redact",
        "outbound.tearline",
        {"tearline": TEARLINE, "max_tlp": TLP.GREEN},
        check=only_the_tearline_portion,
    ),
    Case(
        "tearline-nothing-marked",
        simple,
        "deny",
        "outbound.tearline",
        {"tearline": TEARLINE},
    ),
    Case(
        "tearline-portion-above-max",
        lambda: tearline_report(STRICT),
        "deny",
        "outbound.max_tlp",
        {"tearline": TEARLINE, "max_tlp": TLP.AMBER},
    ),
    Case(
        "tearline-everything-marked",
        lambda: bundle(
            tearline_definition(),
            identity(1, markings=(GREEN, TEARLINE)),
            indicator(4, markings=(GREEN, TEARLINE)),
        ),
        "allow",
        "outbound.allow",
        {"tearline": TEARLINE},
    ),
    # -- outbound.third_party
    Case(
        "third-party-never",
        lambda: with_rel_to("REL TO IQ, SY, JO"),
        "deny",
        "outbound.third_party",
        origin=received("JO", TLP.AMBER, "IQ", "SY"),
    ),
    Case(
        "third-party-back-to-originator",
        simple,
        "allow",
        "outbound.allow",
        origin=received("SY", TLP.AMBER),
    ),
    Case(
        "third-party-rel-to-names",
        simple,
        "allow",
        "outbound.allow",
        {"third_party": "originator-marking"},
        origin=received("JO", TLP.AMBER, "IQ", "SY"),
    ),
    Case(
        "third-party-rel-to-excludes",
        simple,
        "deny",
        "outbound.third_party",
        {"third_party": "originator-marking"},
        origin=received("JO", TLP.AMBER, "IQ"),
    ),
    Case(
        "third-party-clear",
        lambda: simple(CLEAR),
        "allow",
        "outbound.allow",
        {"third_party": "originator-marking"},
        origin=received("JO", TLP.CLEAR),
    ),
    Case(
        "third-party-green-unmarked",
        lambda: simple(GREEN),
        "deny",
        "outbound.third_party",
        {"third_party": "originator-marking"},
        origin=received("JO", TLP.GREEN),
    ),
    Case(
        "third-party-red-never-passed-on",
        lambda: simple(RED),
        "deny",
        "outbound.third_party",
        {"third_party": "originator-marking", "max_tlp": TLP.RED, "red_recipients": {"SY"}},
        origin=received("JO", TLP.RED, "IQ", "SY"),
    ),
    Case(
        "third-party-relabelled-keeps-origin-tlp",
        lambda: simple(GREEN),
        "deny",
        "outbound.max_tlp",
        {"third_party": "originator-marking", "max_tlp": TLP.GREEN},
        origin=received("JO", TLP.AMBER, "SY"),
    ),
    # -- outbound.two_person
    Case(
        "two-person-hold-at-threshold",
        simple,
        "hold",
        "outbound.two_person",
        {"two_person_min_tlp": TLP.AMBER},
        check=held_unchanged,
    ),
    Case(
        "two-person-hold-with-redaction",
        full,
        "hold",
        "outbound.two_person",
        {"two_person_min_tlp": TLP.AMBER, "redact": SOURCES},
        check=held_redacted,
    ),
    Case(
        "two-person-below-threshold",
        lambda: simple(GREEN),
        "allow",
        "outbound.allow",
        {"two_person_min_tlp": TLP.AMBER},
    ),
    Case(
        "two-person-tearline-portion-below",
        tearline_report,
        "redact",
        "outbound.tearline",
        {"tearline": TEARLINE, "two_person_min_tlp": TLP.AMBER},
    ),
]


def _decide(case: Case) -> tuple[OutboundDecision, dict[str, Any]]:
    submitted = case.bundle()
    report_ = validated(submitted)
    options = dict(case.policy)
    if "red_recipients" in options:
        options["red_recipients"] = frozenset(options["red_recipients"])
    chosen: Policy = policy(**options)
    return (
        decide_outbound(chosen, report_.bundle, report_tlp=report_.tlp, origin=case.origin),
        report_.bundle,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_outbound_rule(case: Case) -> None:
    decision, submitted = _decide(case)
    assert (decision.outcome, decision.rule) == (case.outcome, case.rule), decision.reason
    assert decision.rule in RULES
    assert decision.policy_version == "sha256:" + "ab" * 32
    assert decision.steps[-1].rule == decision.rule or decision.outcome in ("allow", "redact")
    if decision.outcome == "deny":
        assert decision.released is None
    else:
        assert decision.released is not None
        # The partner receives a bundle the service itself would accept, never above the TLP
        # the gates judged.
        assert validated(decision.released).tlp <= decision.tlp
    if decision.outcome == "allow":
        assert decision.released == submitted
        assert not decision.removed
        assert decision.diff() == ""
    if decision.outcome == "redact":
        assert decision.removed
        assert decision.released != submitted
    if case.check is not None:
        case.check(decision)


def test_steps_trace_every_rule_in_order() -> None:
    decision, _ = _decide(CASES[0])
    order = [
        rule
        for rule in RULES
        if rule.startswith("outbound.") and rule not in ("outbound.allow", "outbound.no_policy")
    ]
    traced = [step.rule for step in decision.steps]
    assert traced == [r for r in order if r != "outbound.red"]


def test_the_submitted_bundle_is_never_modified() -> None:
    submitted = validated(full()).bundle
    before = copy.deepcopy(submitted)
    decision = decide_outbound(
        policy(redact=SOURCES, allowed_types=frozenset({"identity", "intrusion-set", "report"})),
        submitted,
        report_tlp=TLP.AMBER,
        origin=Origin.local(),
    )
    assert decision.outcome == "redact"
    assert submitted == before
    assert decision.submitted is submitted


def test_diff_shows_exactly_what_is_removed() -> None:
    submitted = validated(full()).bundle
    decision = decide_outbound(
        policy(redact=SOURCES), submitted, report_tlp=TLP.AMBER, origin=Origin.local()
    )
    diff = decision.diff()
    assert diff.startswith("--- submitted\n+++ released to SY\n")
    removed = [
        line for line in diff.splitlines() if line.startswith("-") and line != "--- submitted"
    ]
    added = [
        line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")
    ]
    assert any('"x_source_handler": "H-7"' in line for line in removed)
    assert any('"content": "Internal note 8"' in line for line in removed)
    # Nothing is added but the re-punctuation of lines whose neighbour went away.
    assert all(
        line.rstrip(",") in {r.rstrip(",").replace("-", "+", 1) for r in removed} for line in added
    )


def test_diff_of_a_denial_removes_everything() -> None:
    submitted = validated(simple()).bundle
    decision = decide_outbound(
        policy(max_tlp=TLP.GREEN), submitted, report_tlp=TLP.AMBER, origin=Origin.local()
    )
    lines = decision.diff().splitlines()[3:]
    assert lines and all(line.startswith("-") for line in lines)


def test_record_names_rules_and_ids_but_holds_no_content() -> None:
    submitted = validated(full()).bundle
    decision = decide_outbound(
        policy(redact=SOURCES), submitted, report_tlp=TLP.AMBER, origin=Origin.local()
    )
    record = decision.to_record()
    text = json.dumps(record)
    assert record["outcome"] == "redact"
    assert record["rule"] == "outbound.redact"
    assert record["policy_version"] == decision.policy_version
    assert SOURCE in text and "x_source_handler" in text
    for secret in ("H-7", "cafe", "do not share", "Internal note 8", "Fictional cell."):
        assert secret not in text


def test_removal_report_says_why() -> None:
    submitted = validated(full()).bundle
    decision = decide_outbound(
        policy(redact=SOURCES), submitted, report_tlp=TLP.AMBER, origin=Origin.local()
    )
    by_id = {o.id: o for o in decision.removed.objects}
    assert by_id[SOURCE].reason.startswith("identities of class individual")
    assert "source_ref" in by_id[sid("relationship", 6)].reason
    assert {p.path for p in decision.removed.properties if p.object_id == CELL} == {
        "x_source_handler",
        "x_liaison_internal",
        "x_details.x_source_meeting",
    }
    assert {(r.object_id, r.property, r.ref) for r in decision.removed.refs} >= {
        (sid("sighting", 7), "where_sighted_refs", SOURCE),
        (sid("report", 9), "object_refs", NOTE),
    }
    assert decision.removed.rules == ("outbound.redact",)


def test_require_released() -> None:
    submitted = validated(simple()).bundle
    allow = decide_outbound(policy(), submitted, report_tlp=TLP.AMBER, origin=Origin.local())
    assert allow.require_released() == submitted
    deny = decide_outbound(
        policy(max_tlp=TLP.GREEN), submitted, report_tlp=TLP.AMBER, origin=Origin.local()
    )
    with pytest.raises(PolicyDenied) as denied:
        deny.require_released()
    assert denied.value.rule == "outbound.max_tlp"
    assert not isinstance(denied.value, ApprovalRequired)
    hold = decide_outbound(
        policy(two_person_min_tlp=TLP.AMBER), submitted, report_tlp=TLP.AMBER, origin=Origin.local()
    )
    with pytest.raises(ApprovalRequired) as held:
        hold.require_released()
    assert held.value.rule == "outbound.two_person"
    assert held.value.code == "approval_required"


def test_report_tlp_from_the_service_is_a_floor_without_tearline() -> None:
    submitted = validated(simple(GREEN)).bundle
    decision = decide_outbound(
        policy(max_tlp=TLP.GREEN), submitted, report_tlp=TLP.AMBER, origin=Origin.local()
    )
    assert (decision.outcome, decision.rule, decision.tlp) == (
        "deny",
        "outbound.max_tlp",
        TLP.AMBER,
    )


HOLD = policy(two_person_min_tlp=TLP.AMBER)


@pytest.mark.parametrize(
    ("approver", "roles", "allowed", "why"),
    [
        ("second", frozenset({"officer", RELEASER_ROLE}), True, "approves"),
        ("first", frozenset({"officer", RELEASER_ROLE}), False, "another person"),
        ("second", frozenset({"officer"}), False, "releaser role"),
        ("second", frozenset({"auditor"}), False, "releaser role"),
    ],
    ids=["releaser-approves", "submitter-cannot", "officer-without-role", "auditor"],
)
def test_two_person_approval(approver: str, roles: frozenset[str], allowed: bool, why: str) -> None:
    submitted = validated(simple()).bundle
    decision = decide_outbound(HOLD, submitted, report_tlp=TLP.AMBER, origin=Origin.local())
    answer = may_approve(decision, submitter="first", approver=approver, approver_roles=roles)
    assert (answer.allowed, answer.rule) == (allowed, "outbound.two_person")
    assert why in answer.reason
    assert answer.policy_version == decision.policy_version


def test_only_a_held_release_is_approved() -> None:
    submitted = validated(simple()).bundle
    decision = decide_outbound(policy(), submitted, report_tlp=TLP.AMBER, origin=Origin.local())
    answer = may_approve(
        decision, submitter="first", approver="second", approver_roles=frozenset({RELEASER_ROLE})
    )
    assert not answer.allowed
