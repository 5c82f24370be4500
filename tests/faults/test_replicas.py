"""Two replicas of one node share its PostgreSQL database and key file and drain a backlog
together: no delivery is ever pushed by both at once, and none twice.

IQ runs two ``liaison serve`` processes (same data dir, two ports); officers submit to both, so
both workers are woken and find the backlog. Every push to SY passes through a proxy that records
which replica sent it (from the connection's owner) and when it was in flight.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.faults.live import (
    free_port,
    process_with_port,
    start_and_pin,
    submit_reports,
    wait_for_exchange,
)
from tests.faults.proxy import EnvelopeProxy

REPORTS = 400
CONVERGE_TIMEOUT = 240.0


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite is one process's embedded file
def test_two_replicas_never_push_the_same_delivery_at_once(nodes):
    iq, sy = nodes
    names: dict[int, str] = {}

    def replica_of(port: int) -> str | None:
        pid = process_with_port(port, list(names))
        return names.get(pid) if pid else None

    with EnvelopeProxy(sy.port, identify=replica_of) as proxy:
        start_and_pin(iq, sy, receiver_url=proxy.url)
        second = iq.start(port=free_port())
        names.update({iq.server.process.pid: "replica-1", second.process.pid: "replica-2"})
        submitted = submit_reports(iq, "SY", REPORTS, urls=[iq.url, second.url])
        exchange = wait_for_exchange(iq, sy, submitted, timeout=CONVERGE_TIMEOUT)
        pushes = proxy.by_message()
        overlapping = proxy.overlapping()

    received = sy.database()
    try:
        receives = received.audit_reasons("report.receive")
        refusals = received.audit_reasons("federation.refuse")
    finally:
        received.close()
    by_replica = Counter(p.sender for ps in pushes.values() for p in ps)
    summary = (
        f"pushes by replica {dict(by_replica)}; pushes per report "
        f"{dict(Counter(len(p) for p in pushes.values()))}; attempts per delivery "
        f"{exchange.attempts()}; SY receive records {dict(receives)}; SY refusals "
        f"{dict(refusals)}"
    )
    print(f"\n{REPORTS} reports drained by two replicas: {summary}")

    assert not overlapping, (
        f"{len(overlapping)} deliveries were pushed by two requests in flight at once, e.g. "
        f"{list(overlapping.items())[:3]}\n{summary}"
    )
    twice = {m: p for m, p in pushes.items() if len(p) > 1}
    assert not twice, (
        f"{len(twice)} deliveries were pushed more than once although no push failed, e.g. "
        f"{list(twice.items())[:3]}\n{summary}"
    )
    assert set(by_replica) == {"replica-1", "replica-2"}, (
        f"both replicas should have pushed part of the backlog: {summary}"
    )
