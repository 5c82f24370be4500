"""Policy explanations at the node: what a partner would receive, by which rule, as a diff."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select

from policies import EXAMPLES_DIR, PolicyInvalid, load_policy_dir
from service.bootstrap import open_node
from service.models import AuditEvent
from tests.twonode import PASSPHRASE, REPORTS

pytestmark = pytest.mark.anyio


async def _check(node, bundle: bytes, partner: str):
    officer = await node.login("officer")
    async with node.client() as c:
        return await c.post(
            "/api/v1/policy/check",
            params={"partner": partner},
            content=bundle,
            headers={**officer, "content-type": "application/stix+json"},
        )


async def test_check_explains_redaction_with_rule_version_and_diff(nodes):
    iq, _ = nodes
    iq.node.sharing = load_policy_dir(EXAMPLES_DIR / "IQ", node="IQ")
    bundle = json.loads((REPORTS / "iq-cell-wadi7.json").read_bytes())
    for obj in bundle["objects"]:
        if obj["type"] == "indicator":
            obj["x_source_handler"] = "fictional handler code K-9"
    r = await _check(iq, json.dumps(bundle).encode(), "SY")
    assert r.status_code == 200, r.text
    answer = r.json()
    decision = answer["decision"]
    assert decision["outcome"] == "redact" and decision["rule"].startswith("outbound.redact")
    assert decision["policy_version"].startswith("sha256:")
    assert "x_source_handler" in answer["diff"] and answer["diff"].count("\n-") >= 1
    assert "x_source_handler" not in json.dumps(answer["released"])
    with iq.node.db.write() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "policy.check"))
    assert "SY: redact" in event.reason and event.policy_version == decision["policy_version"]
    assert "K-9" not in event.reason  # decisions are recorded, content is not


async def test_check_allows_the_demo_report_unchanged(nodes):
    iq, _ = nodes
    iq.node.sharing = load_policy_dir(EXAMPLES_DIR / "IQ", node="IQ")
    r = await _check(iq, (REPORTS / "iq-cell-wadi7.json").read_bytes(), "SY")
    assert r.json()["decision"]["outcome"] == "allow" and r.json()["diff"] == ""


async def test_no_policy_for_a_partner_is_a_404(nodes):
    iq, _ = nodes
    del iq.node.sharing["JO"]
    r = await _check(iq, (REPORTS / "iq-cell-wadi7.json").read_bytes(), "JO")
    assert r.status_code == 404 and r.json()["code"] == "no_policy"


def test_the_node_refuses_to_start_with_an_invalid_policy(nodes, clock):
    iq, _ = nodes
    settings = iq.node.settings
    policies = settings.policies_path
    shutil.rmtree(policies)  # the fixture's open policies
    policies.mkdir()
    shutil.copy(EXAMPLES_DIR / "IQ" / "SY.toml", policies / "SY.toml")
    assert set(open_node(settings, PASSPHRASE, clock=clock).sharing) == {"SY"}
    text = (policies / "SY.toml").read_text().replace('max_tlp = "amber+strict"', 'max_tlp = "x"')
    (policies / "SY.toml").write_text(text)
    with pytest.raises(PolicyInvalid) as refused:
        open_node(settings, PASSPHRASE, clock=clock)
    assert "SY.toml:10" in str(refused.value) and "max_tlp" in str(refused.value)
