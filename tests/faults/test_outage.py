"""A partner that is down while reports are submitted receives all of them once it is back,
without anyone acting: the sender's outbox keeps them, pushes are retried, the partner pulls."""

from __future__ import annotations

import pytest

from tests.faults.live import start_and_pin, submit_reports, wait_for_exchange

REPORTS = 500
CONVERGE_TIMEOUT = 300.0


@pytest.mark.slow
def test_reports_submitted_while_the_partner_is_down_all_arrive_after_it_restarts(nodes):
    iq, sy = nodes
    start_and_pin(iq, sy)
    assert sy.server.stop() == 0  # the operator stops SY (maintenance, a power cut...)

    submitted = submit_reports(iq, "SY", REPORTS)
    assert len(submitted) == REPORTS

    # Nothing could have arrived, and IQ did try: the outage is real.
    database = iq.database()
    try:
        while_down = database.deliveries("SY")
    finally:
        database.close()
    assert not [d for d in while_down.values() if d.state == "acknowledged"]
    assert any(d.attempts and d.last_error for d in while_down.values()), (
        "IQ never tried to push while SY was down"
    )

    sy.restart()  # and nobody does anything else
    exchange = wait_for_exchange(iq, sy, submitted, timeout=CONVERGE_TIMEOUT)
    print(
        f"{REPORTS} reports delivered after the outage; attempts per delivery "
        f"{exchange.attempts()}; server log errors: {iq.log_problems() + sy.log_problems()}"
    )
