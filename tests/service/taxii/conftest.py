"""Fixtures for the TAXII surface: two pinned nodes that exchanged reports, IQ's TAXII app on a
real loopback port (taxii2-client speaks HTTP through requests), and integration credentials
made through the admin API, as an administrator would."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from service.taxii import create_taxii_app
from tests.twonode import REPORTS, TestNode

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"


@dataclass
class TaxiiServer:
    base: str
    node: TestNode

    @property
    def url(self) -> str:
        """The discovery URL, as an administrator gives it to a platform."""
        return f"{self.base}/taxii2/"

    def api_root(self, partner: str = "SY") -> str:
        return f"{self.base}/{partner.lower()}/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve_taxii() -> Iterator:
    """Start the TAXII app of a test node on a loopback port (stopped at the end)."""
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(node: TestNode) -> TaxiiServer:
        port = _free_port()
        config = uvicorn.Config(
            create_taxii_app(node.node),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the TAXII test server did not start")
            time.sleep(0.02)
        running.append((server, thread))
        return TaxiiServer(f"http://127.0.0.1:{port}", node)

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)


def bundle(*, marking: str = GREEN, name: str | None = None, objects: int = 1) -> bytes:
    """A fictional report: ``objects`` indicators (and their report), marked ``marking``."""
    now = "2026-12-01T08:00:00.000Z"
    indicators = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": now,
            "modified": now,
            "name": f"Courier phone {i}",
            "pattern": f"[ipv4-addr:value = '198.51.100.{i % 250 + 1}']",
            "pattern_type": "stix",
            "valid_from": now,
            "object_marking_refs": [marking],
        }
        for i in range(objects)
    ]
    report = {
        "type": "report",
        "spec_version": "2.1",
        "id": f"report--{uuid.uuid4()}",
        "created": now,
        "modified": now,
        "name": name or f"Cell report {uuid.uuid4().hex[:6]}",
        "published": now,
        "report_types": ["threat-actor"],
        "object_refs": [i["id"] for i in indicators],
        "object_marking_refs": [marking],
    }
    return json.dumps(
        {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [report, *indicators]}
    ).encode()


async def submit(node: TestNode, data: bytes, to: str = "SY") -> str:
    officer = await node.login("officer")
    async with node.client() as c:
        r = await c.post(
            "/api/v1/reports",
            params={"to": to},
            content=data,
            headers={**officer, "content-type": "application/stix+json"},
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


async def add_integration(node: TestNode, name: str, **body) -> str:
    """An integration made through the admin API; returns its secret."""
    admin = await node.login("admin")
    body = {"name": name, "partners": ["SY"], "read": True, "clearance": "amber", **body}
    async with node.client() as c:
        r = await c.post("/api/v1/admin/integrations", json=body, headers=admin)
        assert r.status_code == 201, r.text
        return str(r.json()["secret"])


def demo_bundle() -> bytes:
    data = json.loads((REPORTS / "sy-escape-d12.json").read_bytes())
    data["id"] = f"bundle--{uuid.uuid4()}"
    return json.dumps(data).encode()
