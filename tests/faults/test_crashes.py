"""SIGKILL of the sender or the receiver at random moments of an exchange loses nothing and
stores nothing twice: afterwards every report is at the partner exactly once and acknowledged at
the sender.

The moments and victims come from a seeded generator; the seed is printed on failure, and
``FAULT_SEED=<seed>`` replays the same delays and choices (the servers' own timing still varies).
"""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.faults.live import LiveNode, start_and_pin, submit_reports, wait_for_exchange

REPORTS = 1200
# While officers submit, only the receiver dies (a submission needs a live sender); once every
# report is in, the victim of each round is drawn at random. Each kill costs a restart of a few
# seconds, so the rounds are few but land while the exchange is busiest.
ROUNDS_WHILE_SUBMITTING = 3
ROUNDS_AFTER_SUBMISSION = 3
CONVERGE_TIMEOUT = 400.0


def _progress(sender: LiveNode, receiver: LiveNode) -> str:
    """How far the exchange is: reports stored at the receiver, acknowledged at the sender."""
    sent, received = sender.database(), receiver.database()
    try:
        [acknowledged] = sent.rows(
            "SELECT COUNT(*) AS n FROM deliveries WHERE state = 'acknowledged'"
        )
        [stored] = received.rows("SELECT COUNT(*) AS n FROM inbound")
        return f"{stored.n} stored, {acknowledged.n} acknowledged"
    finally:
        sent.close()
        received.close()


@pytest.mark.slow
def test_sigkill_of_sender_and_receiver_loses_and_duplicates_nothing(nodes):
    iq, sy = nodes
    seed = int(os.environ.get("FAULT_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)
    kills: list[str] = []

    def context() -> str:
        return (
            f"random seed {seed} (FAULT_SEED={seed} replays it); "
            f"{len(kills)} kills: {'; '.join(kills)}"
        )

    start_and_pin(iq, sy)
    started = time.monotonic()
    with ThreadPoolExecutor(1, thread_name_prefix="submitter") as pool:
        submitting = pool.submit(submit_reports, iq, "SY", REPORTS)
        during = after = 0
        while after < ROUNDS_AFTER_SUBMISSION:
            time.sleep(rng.uniform(0.5, 3.0))
            all_in = submitting.done()
            if all_in and submitting.exception() is not None:
                break
            if not all_in and during >= ROUNDS_WHILE_SUBMITTING:
                continue
            victim = rng.choice((iq, sy)) if all_in else sy
            progress = _progress(iq, sy)
            victim.kill()
            kills.append(
                f"{victim.node_id} at {time.monotonic() - started:.1f} s "
                f"({progress}{'' if all_in else ', submitting'})"
            )
            victim.restart()
            after, during = after + all_in, during + (not all_in)
        try:
            submitted = submitting.result()
        except Exception as exc:
            pytest.fail(f"submitting {REPORTS} reports to IQ failed: {exc}\n{context()}")

    exchange = wait_for_exchange(iq, sy, submitted, timeout=CONVERGE_TIMEOUT, context=context)
    receiver = sy.database()
    try:
        duplicates = receiver.audit_reasons("report.receive")
    finally:
        receiver.close()
    print(
        f"\n{REPORTS} reports exactly once after {context()}; converged after "
        f"{time.monotonic() - started:.0f} s; attempts per delivery {exchange.attempts()}; "
        f"SY receive records {dict(duplicates)}; "
        f"server log errors: {iq.log_problems() + sy.log_problems()}"
    )
