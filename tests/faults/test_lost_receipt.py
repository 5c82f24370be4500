"""The connection drops after the receiver committed but before the sender read the receipt: the
sender recovers that very receipt (by pushing again or through the receiver's pull) and the
receiver keeps one copy. Real processes; tests/service/test_federation.py has the in-process
version of the same story."""

from __future__ import annotations

import pytest

from tests.faults.live import start_and_pin, submit_reports, wait_for_exchange
from tests.faults.proxy import EnvelopeProxy

REPORTS = 5
CONVERGE_TIMEOUT = 120.0


@pytest.mark.slow
def test_receipt_lost_after_the_receiver_committed_is_recovered_without_a_second_copy(nodes):
    iq, sy = nodes
    with EnvelopeProxy(sy.port, cut_first_push=True) as proxy:
        start_and_pin(iq, sy, receiver_url=proxy.url)
        submitted = submit_reports(iq, "SY", REPORTS, threads=1)
        exchange = wait_for_exchange(iq, sy, submitted, timeout=CONVERGE_TIMEOUT)
        pushes = proxy.by_message()

    # Each report's first push was answered by SY and that answer never reached IQ. (A report
    # SY happened to pull before IQ pushed it was never pushed at all.)
    first = {message_id: attempts[0] for message_id, attempts in pushes.items()}
    assert first and set(first) <= set(submitted), f"pushes seen: {pushes}"
    assert all(push.cut and push.status == 200 for push in first.values()), first

    # The receipt IQ keeps is the one SY issued and stored: recovered, not re-made.
    sent, kept = iq.database(), sy.database()
    try:
        at_iq = {
            r.message_id: bytes(r.receipt)
            for r in sent.rows("SELECT message_id, receipt FROM deliveries")
        }
        at_sy = {
            r.message_id: bytes(r.receipt)
            for r in kept.rows("SELECT message_id, receipt FROM inbound")
        }
        receives = kept.audit_reasons("report.receive")
    finally:
        sent.close()
        kept.close()
    assert at_iq == at_sy
    print(
        f"\n{REPORTS} receipts lost and recovered; pushes per report "
        f"{sorted(len(p) for p in pushes.values())}; attempts {exchange.attempts()}; "
        f"SY receive records {dict(receives)}"
    )
