"""Sharing policies enforced by the node: what leaves for a partner, what is held for a second
officer, what is quarantined on arrival, and who reads what.

Every case runs through two real nodes (SQLite and PostgreSQL): the officer submits over the
API, the delivery worker seals and pushes, and the assertions look at what the partner node
actually decrypted and stored, and at the audit records with the policy version.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from policies import Policy, Redaction, parse_policy
from service.models import AuditEvent, Delivery, Inbound, Partner, Report
from service.reports.content import received_bundle
from tests.policies.stixgen import (
    AMBER,
    GREEN,
    RED,
    STRICT,
    TEARLINE,
    all_keys,
    all_refs,
    bundle,
    identity,
    indicator,
    intrusion_set,
    note,
    rel_to_definition,
    relationship,
    sid,
    tearline_definition,
    tlp_definition,
)
from tests.policies.stixgen import policy as stixgen_policy
from tests.policies.test_properties import bundles, redacted_key, redactions
from tests.twonode import TestNode as Node
from tests.twonode import pin_each_other

pytestmark = pytest.mark.anyio


def use_policy(node: Node, partner: str, outbound: str, inbound: str = "") -> Policy:
    """Load a policy from TOML text into the running node, as if read from its file."""
    text = (
        f'format = "liaison-policy/1"\nnode = "{node.node_id}"\npartner = "{partner}"\n'
        f"[inbound]\n{inbound}\n[outbound]\n{outbound}\n"
    )
    policy = parse_policy(text.encode(), source=f"{partner}.toml")
    node.node.sharing[partner] = policy
    return policy


async def submit(node: Node, value: dict[str, Any], to: tuple[str, ...] = ("SY",),
                 user: str = "officer"):  # fmt: skip
    headers = await node.login(user)
    async with node.client() as c:
        return await c.post(
            "/api/v1/reports",
            params=[("to", p) for p in to],
            content=json.dumps(value).encode(),
            headers={**headers, "content-type": "application/stix+json"},
        )


async def call(node: Node, method: str, path: str, user: str = "officer", **kwargs: Any):
    headers = await node.login(user)
    async with node.client() as c:
        return await c.request(method, path, headers=headers, **kwargs)


def received(node: Node) -> list[tuple[Inbound, dict[str, Any]]]:
    """Every report the node stored, with the bundle it decrypts and verifies."""
    with node.node.db.write() as s:
        rows = list(s.scalars(select(Inbound).order_by(Inbound.seq)))
        return [(row, received_bundle(node.node, row)) for row in rows]


def events(node: Node, action: str) -> list[AuditEvent]:
    with node.node.db.write() as s:
        found = s.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return list(found)


def count(node: Node, model: type) -> int:
    with node.node.db.write() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def ids(value: dict[str, Any]) -> set[str]:
    return {o["id"] for o in value["objects"]}


SOURCE = identity(7, "individual", x_source_reliability="B")
CELL = intrusion_set(3)
RELAY = indicator(1, x_source_handler="fictional handler K-9")
LINK = relationship(20, RELAY["id"], CELL["id"], "indicates")
TIP = relationship(21, SOURCE["id"], CELL["id"], "related-to")
NOTE = note(30, [CELL["id"]])


def amber_report() -> dict[str, Any]:
    return bundle(tlp_definition("amber"), CELL, RELAY, LINK, SOURCE, TIP, NOTE)


@dataclass(frozen=True)
class Case:
    name: str
    outbound: str
    make: Callable[[], dict[str, Any]]
    outcome: str
    rule: str
    check: Callable[[dict[str, Any]], None] | None = None  # on what SY decrypted


def _without(*removed: str) -> Callable[[dict[str, Any]], None]:
    def check(got: dict[str, Any]) -> None:
        text = json.dumps(got)
        for item in removed:
            assert item not in text, item

    return check


CASES = [
    Case("allow", 'max_tlp = "amber"', amber_report, "allow", "outbound.allow",
         lambda got: None if ids(got) == ids(amber_report()) else pytest.fail("changed")),
    Case("redact source properties",
         'max_tlp = "amber"\n[outbound.redact]\nproperty_prefixes = ["x_source_"]',
         amber_report, "redact", "outbound.redact",
         _without("x_source_handler", "x_source_reliability", "K-9")),
    Case("redact source identities and what needs them",
         'max_tlp = "amber"\n[outbound.redact]\nidentity_classes = ["individual"]',
         amber_report, "redact", "outbound.redact", _without(SOURCE["id"], TIP["id"])),
    Case("redact note objects", 'max_tlp = "amber"\n[outbound.redact]\nobject_types = ["note"]',
         amber_report, "redact", "outbound.redact", _without(NOTE["id"], "Internal note")),
    Case("allowed types cut", 'max_tlp = "amber"\nallowed_types = ["indicator", "intrusion-set", '
         '"relationship"]', amber_report, "redact", "outbound.allowed_types",
         _without(SOURCE["id"], NOTE["id"])),
    Case("tearline releases the marked portion only",
         f'max_tlp = "amber"\ntearline = "{TEARLINE}"',
         lambda: bundle(tlp_definition("amber"), tlp_definition("green"), tearline_definition(),
                        CELL, indicator(2, (GREEN, TEARLINE))),
         "redact", "outbound.tearline", _without(CELL["id"])),
    Case("above max_tlp", 'max_tlp = "green"', amber_report, "deny", "outbound.max_tlp"),
    Case("TLP:RED to a partner not named", 'max_tlp = "amber+strict"',
         lambda: bundle(tlp_definition("red"), indicator(1, (RED,))), "deny", "outbound.red"),
    Case("REL TO not naming the partner", 'max_tlp = "amber"',
         lambda: bundle(tlp_definition("amber"), rel_to_definition(1, "REL TO IQ, JO"),
                        indicator(1, (AMBER, sid("marking-definition", 1001)))),
         "deny", "outbound.rel_to"),
    Case("REL TO required and absent", 'max_tlp = "amber"\nreleasability = "require-rel-to"',
         amber_report, "deny", "outbound.rel_to"),
    Case("two-person threshold holds", 'max_tlp = "amber+strict"\ntwo_person_min_tlp = "amber"',
         amber_report, "hold", "outbound.two_person"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_outbound_rules_decide_what_the_partner_decrypts(pinned, case: Case):
    iq, sy = pinned
    policy = use_policy(iq, "SY", case.outbound)
    submitted = case.make()
    r = await submit(iq, submitted)
    if case.outcome == "deny":
        assert r.status_code == 403, r.text
        problem = r.json()
        assert problem["code"] == "policy_denied"
        [decision] = problem["decisions"]
        assert (decision["outcome"], decision["rule"]) == ("deny", case.rule)
        assert decision["policy_version"] == policy.version
        assert count(iq, Report) == 0 and count(iq, Delivery) == 0  # nothing stored
        [denial] = events(iq, "release.deny")
        assert denial.policy_version == policy.version and case.rule in (denial.reason or "")
        assert [e.outcome for e in events(iq, "report.submit")] == ["denied"]
        await iq.deliver()
        assert received(sy) == []
        return
    assert r.status_code == 201, r.text
    [delivery] = r.json()["deliveries"]
    assert delivery["outcome"] == case.outcome and delivery["policy_version"] == policy.version
    [record] = events(iq, f"release.{case.outcome}")
    assert record.policy_version == policy.version and case.rule in (record.reason or "")
    await iq.deliver()
    if case.outcome == "hold":
        assert delivery["state"] == "held" and delivery["seq"] is None
        assert received(sy) == []
        return
    [(row, got)] = received(sy)
    assert row.status == "accepted"
    assert case.check is not None
    case.check(got)


async def test_a_denial_for_one_partner_refuses_the_whole_submission(nodes):
    from tests.twonode import pin_each_other

    iq, sy = nodes
    await pin_each_other(iq, sy)
    use_policy(iq, "SY", 'max_tlp = "amber"')
    del iq.node.sharing["JO"]
    r = await submit(iq, amber_report(), to=("SY", "JO"))
    # JO is not pinned: refused as unknown before any policy runs.
    assert r.status_code == 404
    r = await submit(iq, bundle(tlp_definition("amber+strict"), indicator(1, (STRICT,))))
    assert r.status_code == 403 and r.json()["decisions"][0]["rule"] == "outbound.max_tlp"
    assert count(iq, Report) == 0


async def test_a_partner_without_a_policy_receives_nothing(pinned):
    iq, _sy = pinned
    del iq.node.sharing["SY"]
    r = await submit(iq, amber_report())
    assert r.status_code == 403
    [decision] = r.json()["decisions"]
    assert decision["rule"] == "outbound.no_policy" and decision["policy_version"] == "none"
    assert count(iq, Report) == 0


# --- two-person release -------------------------------------------------------------------------


async def _held(iq: Node) -> str:
    use_policy(iq, "SY", 'max_tlp = "amber+strict"\ntwo_person_min_tlp = "amber"')
    r = await submit(iq, amber_report())
    assert r.status_code == 201 and r.json()["deliveries"][0]["state"] == "held"
    return str(r.json()["id"])


async def test_a_held_release_waits_for_a_second_officer_with_the_releaser_role(pinned):
    iq, sy = pinned
    iq.add_user("releaser", "releaser")
    iq.add_user("colleague", "officer")
    report_id = await _held(iq)
    path = f"/api/v1/reports/{report_id}/releases/SY"

    # Listed as held, with the decision; the auditor sees it without the title.
    r = await call(iq, "GET", "/api/v1/releases", "auditor", params={"state": "held"})
    [held] = r.json()
    assert held["rule"] == "outbound.two_person" and held["title"] is None
    r = await call(iq, "GET", "/api/v1/releases", "releaser", params={"state": "held"})
    assert r.json()[0]["title"] == "Cell 3 (fictional)"

    # An officer without the releaser role cannot approve; nor can an auditor reach it.
    r = await call(iq, "POST", f"{path}/approve", "colleague", json={})
    assert r.status_code == 403 and r.json()["code"] == "two_person"
    r = await call(iq, "POST", f"{path}/approve", "auditor", json={})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    refusals = events(iq, "release.approve")
    assert [e.outcome for e in refusals] == ["denied"] and refusals[0].actor == "colleague"
    await iq.deliver()
    assert received(sy) == []

    # The releaser sees exactly what would leave, then approves.
    r = await call(iq, "GET", path, "releaser")
    assert r.status_code == 200 and r.json()["released"] is not None
    r = await call(iq, "POST", f"{path}/approve", "releaser", json={"note": "checked"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "queued" and r.json()["seq"] == 1
    assert r.json()["reviewed_by"] == "releaser"
    await iq.deliver()
    [(_row, got)] = received(sy)
    assert ids(got) == ids(amber_report())
    [approval] = [e for e in events(iq, "release.approve") if e.outcome == "allowed"]
    assert approval.actor == "releaser" and approval.policy_version is not None

    # Approving twice is a conflict, not a second delivery.
    r = await call(iq, "POST", f"{path}/approve", "releaser", json={})
    assert r.status_code == 409 and r.json()["code"] == "not_held"


async def test_the_submitter_cannot_approve_their_own_release(pinned):
    iq, _ = pinned
    iq.add_user("alice", "releaser")
    use_policy(iq, "SY", 'max_tlp = "amber+strict"\ntwo_person_min_tlp = "amber"')
    r = await submit(iq, amber_report(), user="alice")
    report_id = r.json()["id"]
    r = await call(iq, "POST", f"/api/v1/reports/{report_id}/releases/SY/approve", "alice",
                   json={})  # fmt: skip
    assert r.status_code == 403 and r.json()["code"] == "two_person"
    assert "another person" in r.json()["detail"]


async def test_a_refused_release_is_withheld_and_never_sent(pinned):
    iq, sy = pinned
    iq.add_user("releaser", "releaser")
    report_id = await _held(iq)
    r = await call(iq, "POST", f"/api/v1/reports/{report_id}/releases/SY/refuse", "releaser",
                   json={"note": "source at risk"})  # fmt: skip
    assert r.status_code == 200 and r.json()["state"] == "withheld"
    await iq.deliver()
    assert received(sy) == []
    [refusal] = events(iq, "release.refuse")
    assert refusal.outcome == "allowed" and "source at risk" in (refusal.reason or "")


async def test_approval_decides_again_with_the_policy_loaded_now(pinned):
    iq, sy = pinned
    iq.add_user("releaser", "releaser")
    report_id = await _held(iq)
    tightened = use_policy(iq, "SY", 'max_tlp = "green"')
    r = await call(iq, "POST", f"/api/v1/reports/{report_id}/releases/SY/approve", "releaser",
                   json={})  # fmt: skip
    assert r.status_code == 403 and r.json()["code"] == "policy_denied"
    assert r.json()["decisions"][0]["policy_version"] == tightened.version
    with iq.node.db.write() as s:
        assert s.scalars(select(Delivery)).one().state == "withheld"
    await iq.deliver()
    assert received(sy) == []


async def test_a_held_release_leaves_no_gap_in_the_partners_sequence(pinned):
    iq, sy = pinned
    iq.add_user("releaser", "releaser")
    held_id = await _held(iq)
    use_policy(iq, "SY", 'max_tlp = "amber+strict"\ntwo_person_min_tlp = "amber+strict"')
    r = await submit(iq, amber_report())
    assert r.json()["deliveries"][0]["seq"] == 1
    await iq.deliver()
    assert [row.seq for row, _ in received(sy)] == [1]
    with sy.node.db.write() as s:  # nothing missing from SY's point of view
        assert s.scalars(select(Partner)).one().received_through == 1
    use_policy(iq, "SY", 'max_tlp = "amber+strict"\ntwo_person_min_tlp = "amber"')
    r = await call(iq, "POST", f"/api/v1/reports/{held_id}/releases/SY/approve", "releaser",
                   json={})  # fmt: skip
    assert r.json()["seq"] == 2
    await iq.deliver()
    assert [row.seq for row, _ in received(sy)] == [1, 2]


# --- inbound: quarantine ------------------------------------------------------------------------


INBOUND_CASES = [
    ("accepted", 'accepted_types = ["indicator", "identity", "intrusion-set", "relationship", '
     '"note"]', "accepted", "inbound.accept"),
    ("type not accepted", 'accepted_types = ["indicator"]', "quarantined",
     "inbound.accepted_types"),
    ("too large", "max_bytes = 100", "quarantined", "inbound.max_bytes"),
    ("above inbound max_tlp", 'max_tlp = "green"', "quarantined", "inbound.max_tlp"),
    ("REL TO required", 'required_markings = ["tlp", "rel-to"]', "quarantined",
     "inbound.required_markings"),
]  # fmt: skip


@pytest.mark.parametrize(("inbound", "status", "rule"), [c[1:] for c in INBOUND_CASES],
                         ids=[c[0] for c in INBOUND_CASES])  # fmt: skip
async def test_inbound_rules_quarantine_with_the_reason(pinned, inbound, status, rule):
    iq, sy = pinned
    policy = use_policy(sy, "IQ", 'max_tlp = "amber"', inbound)
    r = await submit(iq, amber_report())
    assert r.status_code == 201
    await iq.deliver()
    [(row, _)] = received(sy)
    assert row.status == status and row.policy_version == policy.version
    assert json.loads(row.decision or "{}")["rule"] == rule
    with iq.node.db.write() as s:  # delivered and receipted either way
        assert s.scalars(select(Delivery)).one().state == "acknowledged"
    inbox = await call(sy, "GET", "/api/v1/inbox")
    quarantined = await call(sy, "GET", "/api/v1/inbox", params={"status": "quarantined"})
    listed = {"accepted": inbox.json(), "quarantined": quarantined.json()}
    assert [item["id"] for item in listed[status]] == [row.id]
    assert listed[status][0]["rule"] == rule
    if status == "quarantined":
        [record] = events(sy, "report.quarantine")
        assert record.policy_version == policy.version and rule in (record.reason or "")


async def test_an_officer_accepts_or_rejects_a_quarantined_report(pinned):
    iq, sy = pinned
    use_policy(sy, "IQ", 'max_tlp = "amber"', 'accepted_types = ["indicator"]')
    for _ in range(2):
        assert (await submit(iq, amber_report())).status_code == 201
    await iq.deliver()
    first, second = (row.id for row, _ in received(sy))
    # The officer can read what is in quarantine to review it.
    r = await call(sy, "GET", f"/api/v1/inbox/{first}/bundle")
    assert r.status_code == 200
    r = await call(sy, "POST", f"/api/v1/inbox/{first}/accept", json={"note": "expected"})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    r = await call(sy, "POST", f"/api/v1/inbox/{second}/reject", json={"note": "not ours"})
    assert r.json()["status"] == "rejected" and r.json()["reviewed_by"] == "officer"
    assert [i["id"] for i in (await call(sy, "GET", "/api/v1/inbox")).json()] == [first]
    r = await call(sy, "POST", f"/api/v1/inbox/{second}/accept", json={})
    assert r.status_code == 409 and r.json()["code"] == "not_quarantined"
    outcomes = sorted(e.outcome for e in events(sy, "quarantine.accept"))
    assert outcomes == ["allowed", "denied"]
    assert [e.reason for e in events(sy, "quarantine.reject")] == ["not ours"]


async def test_everything_from_a_partner_without_a_policy_is_quarantined(pinned):
    iq, sy = pinned
    del sy.node.sharing["IQ"]
    assert (await submit(iq, amber_report())).status_code == 201
    await iq.deliver()
    [(row, _)] = received(sy)
    assert row.status == "quarantined"
    assert json.loads(row.decision or "{}")["rule"] == "inbound.no_policy"


# --- local access -------------------------------------------------------------------------------


async def test_officers_read_up_to_their_clearance(pinned):
    from service.bootstrap import add_local_user
    from tests.twonode import PASSWORD

    iq, sy = pinned
    add_local_user(sy.node, username="junior", role="officer", password=PASSWORD,
                   clearance="green")  # fmt: skip
    assert (await submit(iq, amber_report())).status_code == 201
    await iq.deliver()
    [(row, _)] = received(sy)
    assert (await call(sy, "GET", "/api/v1/inbox", "junior")).json() == []
    for path in (f"/api/v1/inbox/{row.id}", f"/api/v1/inbox/{row.id}/bundle"):
        r = await call(sy, "GET", path, "junior")
        assert r.status_code == 403 and r.json()["code"] == "access_denied"
        assert r.json()["decision"]["rule"] == "access.clearance"
    denied = [e for e in events(sy, "report.read") if e.outcome == "denied"]
    assert len(denied) == 2 and all(e.actor == "junior" for e in denied)
    assert all(e.policy_version == "liaison-access/1" for e in denied)
    r = await call(sy, "GET", f"/api/v1/inbox/{row.id}/bundle", "officer")
    assert r.status_code == 200
    # Auditors see decisions and metadata, never content.
    r = await call(sy, "GET", f"/api/v1/inbox/{row.id}/bundle", "auditor")
    assert r.status_code == 403


async def test_red_needs_a_clearance_given_on_purpose(pinned):
    from service.bootstrap import add_local_user
    from tests.twonode import PASSWORD

    iq, _ = pinned
    add_local_user(iq.node, username="cleared", role="officer", password=PASSWORD,
                   clearance="red")  # fmt: skip
    r = await submit(iq, bundle(tlp_definition("red"), indicator(1, (RED,))), user="cleared")
    assert r.status_code == 201  # the open test policy names SY as a RED recipient
    report_id = r.json()["id"]
    r = await call(iq, "GET", f"/api/v1/reports/{report_id}/bundle", "officer")
    assert r.status_code == 403 and r.json()["decision"]["rule"] == "access.clearance"
    assert (await call(iq, "GET", "/api/v1/reports", "officer")).json() == []
    r = await call(iq, "GET", f"/api/v1/reports/{report_id}/bundle", "cleared")
    assert r.status_code == 200


async def test_a_clearance_is_a_tlp_level_and_only_for_readers(nodes):
    iq, _ = nodes
    headers = await iq.login("admin")
    async with iq.client() as c:
        r = await c.post("/api/v1/admin/users", headers=headers, json={
            "username": "x1", "role": "officer", "password": "a fine long passphrase here",
            "clearance": "purple"})  # fmt: skip
        assert r.status_code == 400 and "TLP level" in r.json()["detail"]
        r = await c.post("/api/v1/admin/users", headers=headers, json={
            "username": "x2", "role": "auditor", "password": "a fine long passphrase here",
            "clearance": "red"})  # fmt: skip
        assert r.status_code == 400
        r = await c.post("/api/v1/admin/users", headers=headers, json={
            "username": "x3", "role": "releaser", "password": "a fine long passphrase here",
            "clearance": "amber"})  # fmt: skip
        assert r.status_code == 201 and r.json()["clearance"] == "amber"


# --- policy versions ----------------------------------------------------------------------------


def test_a_policy_change_is_recorded_at_start_with_its_version(nodes, clock):
    from service.bootstrap import open_node
    from tests.twonode import PASSPHRASE

    iq, _ = nodes
    settings = iq.node.settings
    before = [e.object_id for e in events(iq, "policy.change")]
    assert sorted(before) == ["JO", "SY"]  # loaded for the first time when the node opened
    path = settings.policies_path / "SY.toml"
    path.write_text(path.read_text().replace('max_tlp = "red"', 'max_tlp = "red"  # edited'))
    reopened = open_node(settings, PASSPHRASE, clock=clock)
    try:
        changed = [e for e in events(iq, "policy.change") if e.object_id == "SY"]
        assert len(changed) == 2 and "changed" in (changed[-1].reason or "")
        assert changed[-1].policy_version == reopened.sharing["SY"].version
        open_node(settings, PASSPHRASE, clock=clock).db.dispose()  # unchanged: nothing new
        assert len(events(iq, "policy.change")) == 3
    finally:
        reopened.db.dispose()


# --- property: nothing redacted reaches the partner through the node ----------------------------


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(submitted=bundles(), redaction=redactions)
def test_nothing_redacted_reaches_what_the_partner_node_decrypts(
    nodes, submitted: dict[str, Any], redaction: Redaction
) -> None:
    """The policies property test, through two nodes: submitted over the API, redacted by the
    node, sealed at rest, signed, encrypted, pushed, opened and stored by SY; checked on what
    SY's node decrypts from its own store."""
    iq, sy = nodes

    async def scenario() -> tuple[int, dict[str, Any] | None]:
        if not iq.tokens.get("pinned"):
            await pin_each_other(iq, sy)
            iq.tokens["pinned"] = "yes"
        iq.node.sharing["SY"] = stixgen_policy(redact=redaction)
        r = await submit(iq, submitted)
        if r.status_code != 201:
            return r.status_code, None
        await iq.deliver()
        return r.status_code, received(sy)[-1][1]

    status, got = anyio.run(scenario)
    if got is None:  # the redaction left nothing substantive: denied, nothing sent
        assert status == 403
        return
    present = {obj["id"] for obj in got["objects"]}
    for obj in got["objects"]:
        assert obj["type"] not in redaction.object_types
        assert not (obj["type"] == "identity" and obj["identity_class"] in
                    redaction.identity_classes)  # fmt: skip
        if obj["type"] != "marking-definition":
            leaked = {k for k in all_keys(obj) if redacted_key(k, redaction)}
            assert not leaked, f"{obj['id']} still holds {leaked}"
    assert all_refs(got) <= present


# --- a policy changed between submission and sending --------------------------------------------


async def test_a_release_is_decided_again_if_the_policy_changed_before_it_left(pinned):
    iq, sy = pinned
    use_policy(iq, "SY", 'max_tlp = "amber"')
    iq.network.down.add("sy.test")  # SY is unreachable: the releases wait, unsealed
    first = await submit(iq, amber_report())
    second = await submit(iq, amber_report())
    assert first.status_code == second.status_code == 201
    # The administrator tightens the policy (here: source fields now redacted), then tightens
    # it again so that AMBER no longer leaves at all.
    redacting = use_policy(iq, "SY", 'max_tlp = "amber"\n[outbound.redact]\n'
                           'property_prefixes = ["x_source_"]')  # fmt: skip
    iq.network.down.clear()
    with iq.node.db.write() as s:  # only the first is due now
        for d in s.scalars(select(Delivery).order_by(Delivery.seq)):
            d.next_attempt_at = iq.node.utcnow() if d.seq == 1 else d.next_attempt_at
            if d.seq == 2:
                d.next_attempt_at = iq.node.utcnow().replace(year=2100)
    await iq.deliver()
    [(row, got)] = received(sy)
    assert "x_source_handler" not in json.dumps(got)  # released under the policy of today
    assert row.seq == 1
    closed = use_policy(iq, "SY", 'max_tlp = "green"')
    with iq.node.db.write() as s:
        s.scalars(
            select(Delivery).where(Delivery.seq == 2)
        ).one().next_attempt_at = iq.node.utcnow()
    await iq.deliver()
    assert len(received(sy)) == 1  # the second never left
    with iq.node.db.write() as s:
        second_delivery = s.scalars(select(Delivery).where(Delivery.seq == 2)).one()
        assert second_delivery.state == "withheld" and second_delivery.envelope is None
        assert second_delivery.policy_version == closed.version
    redecided = [e for e in events(iq, "release.redact") if e.actor_type == "system"]
    assert [e.policy_version for e in redecided] == [redacting.version]
    [withheld] = [e for e in events(iq, "release.deny") if e.actor_type == "system"]
    assert withheld.policy_version == closed.version and "outbound.max_tlp" in (
        withheld.reason or ""
    )
    # SY learns that seq 2 will never come, so its cursor moves past it.
    from service.exchange import Puller

    await Puller(sy.node).pull_all()
    with sy.node.db.write() as s:
        assert s.scalars(select(Partner)).one().received_through == 2
