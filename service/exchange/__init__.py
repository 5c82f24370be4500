"""The exchange with partners: what leaves, how it travels, what arrives, and the proof of each.

outbox     durable delivery jobs, leases, sealing once, receipts (C1-C4)
push       delivering due jobs at once
pull       catching up: serving and making pulls, receipts back
ingest     receiving an envelope (F2-F5), whichever way it came
batch      receiving a batch of pushed envelopes (B1-B4), one receipt each
courier    envelopes and receipts in files, across an air gap
witness    cosigning the partner's audit checkpoints, catching rollbacks and forks
reconcile  what we sent against what the partner signed as received
status     how synchronisation with a partner stands
worker     the one schedule of all the background work above
"""

from service.exchange import courier, worker
from service.exchange.batch import receive_batch
from service.exchange.ingest import Acceptance, receive_envelope, store_envelope
from service.exchange.pull import Puller, serve_pull, serve_receipts
from service.exchange.push import Pusher
from service.exchange.reconcile import Reconciliation, reconcile
from service.exchange.reconcile import serve as serve_reconcile
from service.exchange.status import PartnerStatus, partner_status
from service.exchange.witness import serve_checkpoint, serve_cosignature, witness_all
from service.exchange.worker import Worker

__all__ = [
    "Acceptance",
    "PartnerStatus",
    "Puller",
    "Pusher",
    "Reconciliation",
    "Worker",
    "courier",
    "partner_status",
    "receive_batch",
    "receive_envelope",
    "reconcile",
    "serve_checkpoint",
    "serve_cosignature",
    "serve_pull",
    "serve_receipts",
    "serve_reconcile",
    "store_envelope",
    "witness_all",
    "worker",
]
