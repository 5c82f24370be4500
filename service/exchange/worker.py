"""The node's background work, and the one place that decides when it runs.

Three threads, started with the app (``service.app``) and stopped with it:

* the *delivery loop* (:class:`Worker`, its own event loop): push every delivery as soon as it is
  due (a submission or an approval rings the node's doorbell, so nothing waits for a polling
  interval); pull from every partner every ``pull_interval_seconds``, and soon after a pushed
  envelope reveals a gap in a partner's sequence numbers (after ``GAP_GRACE_SECONDS``: pushes of
  concurrent submissions may simply be arriving out of order); witness every partner's audit log
  every ``witness_interval_seconds``. When nothing was due it sleeps up to
  ``delivery_idle_seconds``, or until the doorbell rings.
* the *notary* (:class:`Notary`): sign a checkpoint of the audit log every
  ``checkpoint_interval_seconds`` when it grew, on its own so that a slow partner never delays it.
* the *re-seal* (:func:`resealer`): after a data-key rotation is reloaded, move every stored value
  under the newest data key, a short transaction per batch (``service.atrest.reseal``); idle
  otherwise.

No transaction is held across the network: each job reads what it needs, commits, then talks to
the partner (``service.federation.PartnerClient`` refuses otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.atrest import Resealer
from service.audit import ALLOWED, Actor, checkpoints, record
from service.errors import NotFound
from service.exchange.pull import Puller
from service.exchange.push import Pusher
from service.exchange.witness import witness_all
from service.federation import PartnerClient
from service.models import AuditCheckpoint
from service.node import Node

log = logging.getLogger("liaison.worker")
GAP_GRACE_SECONDS = 2.0


class Worker:
    """The delivery loop: push, pull and witness, each on its schedule."""

    def __init__(self, node: Node, *, owner: str | None = None) -> None:
        self.node = node
        self.pusher = Pusher(node, owner=owner)
        self.puller = Puller(node)
        self._last_pull = 0.0
        self._gap_seen_at: float | None = None
        self._last_witness: float | None = None

    @property
    def owner(self) -> str:
        return self.pusher.owner

    async def run_once(self, client: PartnerClient | None = None) -> int:
        """Push every delivery due now; returns how many were attempted."""
        return await self.pusher.run_once(client)

    async def pull_if_due(self, *, force: bool = False, client: PartnerClient | None = None) -> int:
        """Pull from every partner when the interval has passed (or a gap was seen)."""
        interval = self.node.settings.pull_interval_seconds
        now = time.monotonic()
        if self.node.pull_requested.is_set() and self._gap_seen_at is None:
            self._gap_seen_at = now
        gap_due = self._gap_seen_at is not None and now - self._gap_seen_at >= GAP_GRACE_SECONDS
        if not force and not gap_due and now - self._last_pull < interval:
            return 0
        self._last_pull = now
        self._gap_seen_at = None
        self.node.pull_requested.clear()
        return await self.puller.pull_all(client)

    async def witness_if_due(self, client: PartnerClient | None = None) -> dict[str, str]:
        """Witness the partners' audit logs every ``witness_interval_seconds`` (not at every
        pull: gap-triggered pulls can come in bursts, and a witness round asks the partner to
        sign a checkpoint)."""
        now = time.monotonic()
        if self._last_witness is not None and (
            now - self._last_witness < self.node.settings.witness_interval_seconds
        ):
            return {}
        self._last_witness = now
        return await witness_all(self.node, client)

    async def run_forever(self, stop: threading.Event) -> None:
        """Rounds until ``stop`` is set, over one HTTP client whose connections to the partners
        stay open between rounds."""
        first = True
        async with PartnerClient.open(self.node) as client:
            while not stop.is_set():
                attempted = 0
                try:
                    attempted = await self.run_once(client)
                    attempted += await self.pull_if_due(force=first, client=client)
                    if not first:
                        await self.witness_if_due(client)
                    first = False
                except Exception:  # a bug or a database outage must not kill the worker
                    log.exception("delivery round failed")
                if not attempted:
                    idle = self.node.settings.delivery_idle_seconds
                    await asyncio.to_thread(self.node.wakeup.wait, idle)


class Notary:
    """Signs a checkpoint every ``checkpoint_interval_seconds`` when the log has grown."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.stopping = threading.Event()

    def run_once(self) -> AuditCheckpoint | None:
        try:
            return checkpoints.sign(self.node).checkpoint
        except NotFound:
            return None

    def run(self) -> None:
        interval = self.node.settings.checkpoint_interval_seconds
        while not self.stopping.wait(interval):
            try:
                self.run_once()
            except Exception:
                log.exception("signing an audit checkpoint failed")


def resealer(node: Node) -> Resealer:
    """The background re-seal of stored values under the node's newest data key
    (``service.atrest.reseal``), recording ``key.data_resealed`` when a walk ends."""

    def finished(session: Session, generation: int, resealed: int) -> None:
        record(session, actor=Actor.system(), action="key.data_resealed", outcome=ALLOWED,
               at=node.utcnow(), object_type="key", object_id=f"data-key-{generation}",
               reason=f"{resealed} stored values re-sealed; nothing stored needs an older data "
                      "key (liaison node retire-data-keys may remove them)")  # fmt: skip

    return Resealer(node.db, lambda: node.data_key, node.sealed_columns, finished=finished)


@dataclass
class Running:
    """The background threads of a running node."""

    node: Node
    delivery: threading.Thread
    stop_delivery: threading.Event
    notary: Notary
    resealer: Resealer

    def stop(self, timeout: float = 10) -> None:
        self.notary.stopping.set()
        self.resealer.stopping.set()
        self.node.data_keys_changed.set()
        self.stop_delivery.set()
        self.node.wakeup.ring()
        self.delivery.join(timeout=timeout)


def start(node: Node) -> Running:
    """Start the delivery loop, the notary and the re-seal, each in a thread of its own."""
    stop = threading.Event()
    worker = Worker(node)
    delivery = threading.Thread(
        target=lambda: asyncio.run(worker.run_forever(stop)), name="liaison-delivery", daemon=True
    )
    delivery.start()
    notary = Notary(node)
    threading.Thread(target=notary.run, name="liaison-notary", daemon=True).start()
    resealing = resealer(node)
    threading.Thread(target=lambda: resealing.run(node.data_keys_changed), name="liaison-reseal",
                     daemon=True).start()  # fmt: skip
    return Running(node, delivery, stop, notary, resealing)
