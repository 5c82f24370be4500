"""The whole TAXII surface driven with taxii2-client, unmodified, as OpenCTI and MISP use it:
discovery, API roots, collections, objects with every filter, paging with ``as_pages``, one
object, manifest, versions, and ``add_objects(wait_for_completion=True)``; on SQLite and
PostgreSQL (the ``pinned`` fixture's backends)."""

from __future__ import annotations

import json

import pytest
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from tests.service.taxii.conftest import AMBER, add_integration, bundle, submit

pytestmark = pytest.mark.anyio


def _collection(taxii, alias: str, user: str, secret: str) -> Collection:
    """A collection found by its alias, as a platform's administrator picks it from the list
    (taxii2-client wants the collection's id in its URL)."""
    root = ApiRoot(taxii.api_root("SY"), user=user, password=secret)
    return next(c for c in root.collections if c.alias == alias)


@pytest.fixture
async def exchanged(pinned, serve_taxii):
    """SY sent IQ two reports (IQ's inbox for SY); IQ released one to SY (IQ's sent for SY)."""
    iq, sy = pinned
    await submit(sy, bundle(name="Escape route D12", objects=3), to="IQ")
    await submit(sy, bundle(name="Wanted courier", marking=AMBER), to="IQ")
    await submit(iq, bundle(name="Wadi cell", objects=2), to="SY")
    await sy.deliver()
    await iq.deliver()
    secret = await add_integration(iq, "opencti", write=True, clearance="amber")
    return iq, sy, serve_taxii(iq), secret


async def test_discovery_roots_and_collections(exchanged):
    _iq, _, taxii, secret = exchanged
    server = Server(taxii.url, user="opencti", password=secret)
    assert server.title.startswith("liaison node IQ")
    assert [root.url for root in server.api_roots] == [taxii.api_root("SY")]
    root = server.default
    assert root.versions == ["application/taxii+json;version=2.1"]
    kinds = {c.alias: (c.can_read, c.can_write) for c in root.collections}
    assert kinds == {"inbox": (True, False), "sent": (True, False), "drafts": (False, True)}


async def test_objects_pages_and_filters(exchanged):
    _, _, taxii, secret = exchanged
    root = ApiRoot(taxii.api_root("SY"), user="opencti", password=secret)
    inbox = next(c for c in root.collections if c.alias == "inbox")
    everything = inbox.get_objects()
    types = sorted(o["type"] for o in everything["objects"])
    assert types.count("indicator") == 4 and types.count("report") == 2
    pages = list(as_pages(inbox.get_objects, per_request=2))
    assert [len(p.get("objects", [])) for p in pages] == [2, 2, 2]
    paged = [o["id"] for p in pages for o in p["objects"]]
    assert paged == [o["id"] for o in everything["objects"]]
    only_reports = inbox.get_objects(type="report")
    assert {o["name"] for o in only_reports["objects"]} == {"Escape route D12", "Wanted courier"}
    one = everything["objects"][0]
    assert inbox.get_object(one["id"])["objects"] == [one]
    manifest = inbox.get_manifest()
    assert [m["id"] for m in manifest["objects"]] == [o["id"] for o in everything["objects"]]
    assert inbox.object_versions(one["id"])["versions"] == [one["modified"]]


async def test_added_after_follows_on_from_the_last_date_seen(exchanged):
    _iq, sy, taxii, secret = exchanged
    inbox = _collection(taxii, "inbox", "opencti", secret)
    first = inbox.get_objects()
    await submit(sy, bundle(name="New cell"), to="IQ")
    await sy.deliver()
    dates = inbox.get_manifest()["objects"]
    newest = dates[len(first["objects"]) - 1]["date_added"]
    later = inbox.get_objects(added_after=newest)
    assert {o["type"] for o in later["objects"]} == {"report", "indicator"}
    assert len(later["objects"]) == 2


async def test_clearance_is_a_ceiling(exchanged):
    iq, _, taxii, _ = exchanged
    green = await add_integration(iq, "misp", clearance="green")
    inbox = _collection(taxii, "inbox", "misp", green)
    names = {o.get("name") for o in inbox.get_objects()["objects"] if o["type"] == "report"}
    assert names == {"Escape route D12"}


async def test_add_objects_makes_a_draft_and_waits_for_completion(exchanged):
    iq, _, taxii, secret = exchanged
    drafts = _collection(taxii, "drafts", "opencti", secret)
    envelope = {"objects": json.loads(bundle(name="From OpenCTI"))["objects"]}
    status = drafts.add_objects(envelope, wait_for_completion=True)
    assert status.status == "complete"
    assert status.success_count == 2 and status.failure_count == 0
    officer = await iq.login("officer")
    async with iq.client() as c:
        r = await c.get("/api/v1/drafts", headers=officer)
        assert r.status_code == 200, r.text
        assert [d["title"] for d in r.json()] == ["From OpenCTI"]
