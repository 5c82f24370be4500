"""The third-party rule across three nodes: a report SY sent to IQ goes on to JO only if SY's
marking, as IQ received it, allows it; relabelling or re-wrapping it changes nothing.

IQ, SY and JO are three real in-process nodes (SQLite and PostgreSQL), each pinned to the
others, with policies loaded from TOML as their files would be.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.databases import fresh_database
from tests.policies.stixgen import (
    AMBER,
    RED,
    bundle,
    indicator,
    intrusion_set,
    rel_to_definition,
    relationship,
    sid,
    tlp_definition,
)
from tests.service.test_enforcement import call, received, submit, use_policy
from tests.twonode import Network, make_node, pin_each_other

pytestmark = pytest.mark.anyio

OPEN = 'max_tlp = "amber+strict"'
PASS_ON = 'max_tlp = "amber+strict"\nthird_party = "originator-marking"'


@pytest.fixture
async def three(backend, tmp_path, clock):
    network = Network()
    with (
        fresh_database(backend, tmp_path, "iq", migrated=True) as iq_url,
        fresh_database(backend, tmp_path, "sy", migrated=True) as sy_url,
        fresh_database(backend, tmp_path, "jo", migrated=True) as jo_url,
    ):
        iq = make_node("IQ", "Baghdad", tmp_path, iq_url, network, clock)
        sy = make_node("SY", "Damascus", tmp_path, sy_url, network, clock)
        jo = make_node("JO", "Amman", tmp_path, jo_url, network, clock)
        try:
            for a, b in ((iq, sy), (iq, jo), (sy, jo)):
                await pin_each_other(a, b)
            yield iq, sy, jo
        finally:
            for node in (iq, sy, jo):
                node.close()


def marked(n: int, statement: str | None, level: str = "amber") -> dict[str, Any]:
    """A fictional SY report: a cell and an indicator, TLP ``level``, REL TO ``statement``."""
    tlp = {"amber": AMBER, "red": RED}[level]
    rel = (sid("marking-definition", 1000 + n),) if statement else ()
    objects = [tlp_definition(level)]
    if statement:
        objects.append(rel_to_definition(n, statement))
    cell = intrusion_set(100 + n, (tlp, *rel))
    relay = indicator(200 + n, (tlp, *rel))
    objects += [cell, relay, relationship(300 + n, relay["id"], cell["id"], "indicates", (tlp,))]
    value = bundle(*objects)
    value["id"] = sid("bundle", 400 + n)
    return value


async def sy_sends_to_iq(sy, iq, value: dict[str, Any]) -> dict[str, Any]:
    assert (await submit(sy, value, to=("IQ",))).status_code == 201
    await sy.deliver()
    row, got = received(iq)[-1]
    assert row.status == "accepted", row.decision
    return got


def decision_of(r) -> tuple[str, str]:
    [decision] = r.json()["decisions"] if r.status_code == 403 else r.json()["deliveries"]
    return (decision.get("outcome"), decision.get("rule", ""))


async def test_a_partners_report_is_not_passed_on_by_default(three):
    iq, sy, jo = three
    got = await sy_sends_to_iq(sy, iq, marked(1, "REL TO IQ, JO"))
    use_policy(iq, "JO", OPEN)  # third_party = "never", the default
    r = await submit(iq, got, to=("JO",))
    assert r.status_code == 403
    assert decision_of(r) == ("deny", "outbound.third_party")
    await iq.deliver()
    assert received(jo) == []


@pytest.mark.parametrize(
    ("statement", "outcome"),
    [
        ("REL TO IQ, JO", "allow"),
        ("REL TO IQ", "deny"),
        (None, "deny"),  # AMBER without REL TO is not permission
    ],
)
async def test_the_originators_marking_decides(three, statement, outcome):
    iq, sy, jo = three
    use_policy(sy, "IQ", 'max_tlp = "red"\nred_recipients = ["IQ"]')
    use_policy(iq, "JO", 'max_tlp = "red"\nred_recipients = ["JO"]\nthird_party = '
               '"originator-marking"')  # fmt: skip
    got = await sy_sends_to_iq(sy, iq, marked(2, statement))
    r = await submit(iq, got, to=("JO",))
    if outcome == "deny":
        assert r.status_code == 403 and decision_of(r) == ("deny", "outbound.third_party")
        return
    assert r.status_code == 201, r.text
    await iq.deliver()
    [(_row, passed_on)] = received(jo)
    assert {o["id"] for o in passed_on["objects"]} == {o["id"] for o in got["objects"]}


async def test_red_from_a_partner_is_never_passed_on(three):
    from service.bootstrap import add_local_user
    from tests.twonode import PASSWORD

    iq, sy, _ = three
    add_local_user(iq.node, username="cleared", role="officer", password=PASSWORD,
                   clearance="red")  # fmt: skip
    use_policy(sy, "IQ", 'max_tlp = "red"\nred_recipients = ["IQ"]')
    use_policy(iq, "JO", 'max_tlp = "red"\nred_recipients = ["JO"]\nthird_party = '
               '"originator-marking"')  # fmt: skip
    got = await sy_sends_to_iq(sy, iq, marked(3, "REL TO IQ, JO", "red"))
    r = await submit(iq, got, to=("JO",), user="cleared")
    assert r.status_code == 403 and decision_of(r) == ("deny", "outbound.third_party")


async def test_relabelling_or_rewrapping_does_not_launder_it(three):
    iq, sy, jo = three
    use_policy(iq, "JO", PASS_ON)
    got = await sy_sends_to_iq(sy, iq, marked(4, "REL TO IQ"))
    # An officer strips SY's REL TO marking and puts the objects in a new bundle.
    rel = sid("marking-definition", 1004)
    objects = []
    for obj in got["objects"]:
        if obj["id"] == rel:
            continue
        obj = dict(obj)
        if "object_marking_refs" in obj:
            obj["object_marking_refs"] = [m for m in obj["object_marking_refs"] if m != rel]
        objects.append(obj)
    laundered = {"type": "bundle", "id": sid("bundle", 999), "objects": objects}
    r = await submit(iq, laundered, to=("JO",))
    assert r.status_code == 403 and decision_of(r) == ("deny", "outbound.third_party")
    # Only one of SY's objects, quoted in an IQ report, is enough.
    quoted = bundle(tlp_definition("amber"), objects[1], indicator(77))
    r = await submit(iq, quoted, to=("JO",))
    assert r.status_code == 403 and decision_of(r) == ("deny", "outbound.third_party")
    await iq.deliver()
    assert received(jo) == []


async def test_a_report_returns_to_its_originator(three):
    iq, sy, _ = three
    got = await sy_sends_to_iq(sy, iq, marked(5, "REL TO IQ"))
    r = await submit(iq, got, to=("SY",))
    assert r.status_code == 201, r.text
    await iq.deliver()
    row, back = received(sy)[-1]
    assert row.authored_here and row.status == "accepted"
    assert {o["id"] for o in back["objects"]} == {o["id"] for o in got["objects"]}


async def test_objects_written_here_stay_ours_when_a_partner_quotes_them(three):
    iq, sy, _jo = three
    use_policy(sy, "IQ", OPEN)
    ours = bundle(tlp_definition("amber"), indicator(50))
    assert (await submit(iq, ours, to=("SY",))).status_code == 201
    await iq.deliver()
    # SY answers with a report of its own quoting IQ's indicator.
    answer = bundle(tlp_definition("amber"), indicator(50), intrusion_set(51))
    answer["id"] = sid("bundle", 52)
    await sy_sends_to_iq(sy, iq, answer)
    use_policy(iq, "JO", OPEN)
    r = await submit(iq, ours, to=("JO",))
    assert r.status_code == 201, r.text  # IQ's own indicator, not SY's report
    r = await submit(iq, answer, to=("JO",))
    assert r.status_code == 403 and decision_of(r) == ("deny", "outbound.third_party")


async def test_the_explain_endpoint_sees_the_origin_too(three):
    iq, sy, _ = three
    got = await sy_sends_to_iq(sy, iq, marked(6, "REL TO IQ, JO"))
    use_policy(iq, "JO", OPEN)
    r = await call(iq, "POST", "/api/v1/policy/check", params={"partner": "JO"},
                   content=json.dumps(got).encode(),
                   )  # fmt: skip
    assert r.status_code == 200 and r.json()["decision"]["rule"] == "outbound.third_party"
