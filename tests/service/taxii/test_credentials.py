"""Tests that try to break the TAXII surface's access control: a wrong secret, a revoked
credential, a read-only credential posting, a credential for SY reading another partner's root,
clearance ceilings, TLP:RED; every refusal is audited. And the request shapes of OpenCTI's TAXII
feed ingestion and MISP's TAXII client (their auth schemes, headers and paging), replayed."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from sqlalchemy import select

from service.models import AuditEvent, TaxiiObject
from service.taxii import create_taxii_app
from tests.service.taxii.conftest import AMBER, GREEN, RED, add_integration, bundle, submit

pytestmark = pytest.mark.anyio
TAXII = "application/taxii+json;version=2.1"


def _client(node) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_taxii_app(node.node), client=("10.1.2.3", 5)),
        base_url="http://taxii.iq.test",
    )


def _basic(name: str, secret: str, scheme: str = "Basic") -> dict[str, str]:
    token = base64.b64encode(f"{name}:{secret}".encode()).decode()
    return {"Authorization": f"{scheme} {token}", "Accept": TAXII}


def _events(node, action: str) -> list[AuditEvent]:
    with node.node.db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
async def served(pinned):
    iq, sy = pinned
    await submit(sy, bundle(name="Green cell", marking=GREEN), to="IQ")
    await submit(sy, bundle(name="Amber cell", marking=AMBER), to="IQ")
    await submit(sy, bundle(name="Red cell", marking=RED), to="IQ")
    await sy.deliver()
    reader = await add_integration(iq, "opencti", clearance="amber")
    return iq, sy, reader


async def _inbox(client, headers) -> httpx.Response:
    return await client.get("/sy/collections/inbox/objects/", headers=headers)


async def test_no_wrong_or_malformed_credential_reads_anything(served):
    iq, _, reader = served
    wrong = reader[:-4] + ("AAAA" if not reader.endswith("AAAA") else "BBBB")
    attempts = [
        {"Accept": TAXII},
        _basic("opencti", wrong),
        _basic("misp", reader),  # the right secret under another name
        {"Authorization": f"Bearer {wrong}"},
        {"Authorization": "Bearer lx1_nobody_" + "A" * 43},
        {"X-API-Key": "not-a-secret"},
        {"Authorization": "Digest username=opencti"},
        {"Authorization": "Basic !!!notbase64"},
    ]
    async with _client(iq) as c:
        for headers in attempts:
            r = await _inbox(c, headers)
            assert r.status_code == 401, headers
            assert r.headers["content-type"] == TAXII
            assert "Basic" in r.headers["www-authenticate"]
            assert "Bearer" in r.headers["www-authenticate"]
            assert r.json()["http_status"] == "401" and "objects" not in r.text
    denials = _events(iq, "auth.integration")
    assert len(denials) == len(attempts)
    assert all(e.outcome == "denied" and e.remote_addr == "10.1.2.3" for e in denials)
    assert any("wrong secret for integration 'opencti'" in (e.reason or "") for e in denials)


async def test_every_scheme_with_the_right_secret_reads(served):
    iq, _, reader = served
    async with _client(iq) as c:
        for headers in (
            _basic("opencti", reader),
            _basic("opencti", reader, scheme="basic"),  # as MISP sends it
            {"Authorization": f"Bearer {reader}"},
            {"X-API-Key": reader},
        ):
            r = await _inbox(c, headers)
            assert r.status_code == 200, r.text
    reads = _events(iq, "taxii.read")
    assert {(e.actor_type, e.actor) for e in reads} == {("integration", "opencti")}


async def test_a_revoked_credential_is_refused_at_once(served):
    iq, _, reader = served
    admin = await iq.login("admin")
    async with _client(iq) as c:
        assert (await _inbox(c, _basic("opencti", reader))).status_code == 200
        async with iq.client() as api:
            r = await api.post("/api/v1/admin/integrations/opencti/revoke", headers=admin)
            assert r.status_code == 200 and r.json()["revoked_at"]
            again = await api.post("/api/v1/admin/integrations/opencti/revoke", headers=admin)
            assert again.status_code == 409
        assert (await _inbox(c, _basic("opencti", reader))).status_code == 401
    assert "was revoked" in (_events(iq, "auth.integration")[-1].reason or "")
    assert [e.object_id for e in _events(iq, "integration.revoke")] == ["opencti"]


async def test_a_read_only_credential_cannot_post_and_a_read_collection_takes_no_objects(served):
    iq, _, reader = served
    writer = await add_integration(iq, "misp", write=True, clearance="green")
    envelope = json.dumps({"objects": json.loads(bundle())["objects"]})
    async with _client(iq) as c:
        drafts = "/sy/collections/drafts/objects/"
        r = await c.post(drafts, content=envelope,
                         headers={**_basic("opencti", reader), "Content-Type": TAXII})  # fmt: skip
        assert r.status_code == 404  # the reader's credential has no drafts collection at all
        inbox = "/sy/collections/inbox/objects/"
        r = await c.post(inbox, content=envelope,
                         headers={**_basic("misp", writer), "Content-Type": TAXII})  # fmt: skip
        assert r.status_code == 403, r.text
        r = await c.delete(f"/sy/collections/inbox/objects/{json.loads(bundle())['id']}/",
                           headers=_basic("misp", writer))  # fmt: skip
        assert r.status_code == 403
    assert [e.action for e in _events(iq, "taxii.write")] == ["taxii.write"]
    assert _events(iq, "taxii.write")[0].outcome == "denied"
    assert _events(iq, "taxii.delete")[0].outcome == "denied"


async def test_a_credential_for_sy_cannot_reach_another_partners_root(served):
    iq, _, reader = served
    async with _client(iq) as c:
        for path in ("/iq/", "/jo/collections/", "/jo/collections/inbox/objects/"):
            r = await c.get(path, headers=_basic("opencti", reader))
            assert r.status_code == 404, path
        discovery = await c.get("/taxii2/", headers=_basic("opencti", reader))
        assert discovery.json()["api_roots"] == ["http://taxii.iq.test/sy/"]


async def test_the_clearance_is_a_ceiling_and_red_is_never_served(served):
    iq, _, reader = served
    green = await add_integration(iq, "green-desk", clearance="green")
    admin = await iq.login("admin")
    async with iq.client() as api:
        r = await api.post("/api/v1/admin/integrations", headers=admin,
                           json={"name": "red-desk", "partners": ["SY"], "read": True,
                                 "clearance": "red"})  # fmt: skip
        assert r.status_code == 400 and "never served over TAXII" in r.json()["detail"]
    async with _client(iq) as c:
        seen = {}
        for name, secret in (("opencti", reader), ("green-desk", green)):
            r = await _inbox(c, _basic(name, secret))
            seen[name] = {o["name"] for o in r.json()["objects"] if o["type"] == "report"}
    assert seen == {"opencti": {"Green cell", "Amber cell"}, "green-desk": {"Green cell"}}
    with iq.node.db.read() as s:  # the RED report is not in the index at all
        ranks = set(s.scalars(select(TaxiiObject.tlp_rank)))
    assert ranks == {1, 2}


async def test_opencti_feed_ingestion_request_shapes(served):
    """OpenCTI's TAXII feed ingestion (connector ingestion of type TAXII, version 2.1): Basic
    authentication, ``Accept: application/taxii+json;version=2.1``, the collection's objects
    with ``added_after`` set to its last run and then ``next`` until ``more`` is false."""
    iq, _, reader = served
    headers = {**_basic("opencti", reader), "Accept": TAXII}
    async with _client(iq) as c:
        collections = (await c.get("/sy/collections/", headers=headers)).json()["collections"]
        inbox = next(col for col in collections if col["alias"] == "inbox")["id"]
        url = f"/sy/collections/{inbox}/objects/"
        first = await c.get(url, params={"added_after": "2020-01-01T00:00:00.000Z", "limit": 3},
                            headers=headers)  # fmt: skip
        seen = [o["id"] for o in first.json()["objects"]]
        body = first.json()
        while body["more"]:
            r = await c.get(url, params={"added_after": "2020-01-01T00:00:00.000Z", "limit": 3,
                                         "next": body["next"]}, headers=headers)  # fmt: skip
            body = r.json()
            seen += [o["id"] for o in body.get("objects", [])]
        assert len(seen) == len(set(seen)) == 4  # two reports and their indicators, no RED
        last = first.headers["X-TAXII-Date-Added-Last"]
        assert last.endswith("Z") and first.headers["X-TAXII-Date-Added-First"] <= last


async def test_misp_taxii_client_request_shapes(served):
    """MISP's TAXII client: ``basic`` in lower case, ``Accept: application/taxii+json`` without
    the version, URLs without the trailing slash."""
    iq, _, reader = served
    headers = {**_basic("opencti", reader, scheme="basic"), "Accept": "application/taxii+json"}
    async with _client(iq) as c:
        assert (await c.get("/taxii2", headers=headers)).status_code == 200
        r = await c.get("/sy/collections/inbox/manifest", headers=headers)
        assert r.status_code == 200 and len(r.json()["objects"]) == 4
        r = await c.get("/sy/collections/inbox/objects", headers={**headers, "Accept": "*/*"})
        assert r.status_code == 200 and r.headers["content-type"] == TAXII
        old = {**headers, "Accept": "application/taxii+json;version=2.0"}
        refused = await c.get("/sy/collections/inbox/objects", headers=old)
        assert refused.status_code == 406 and refused.json()["http_status"] == "406"


async def test_malformed_filters_are_a_clear_400(served):
    iq, _, reader = served
    async with _client(iq) as c:
        for params in ({"added_after": "yesterday"}, {"limit": "-1"}, {"next": "x;drop"},
                       {"match[version]": "newest"}):  # fmt: skip
            r = await c.get("/sy/collections/inbox/objects/", params=params,
                            headers=_basic("opencti", reader))  # fmt: skip
            assert r.status_code == 400, params
            assert r.json()["description"]
