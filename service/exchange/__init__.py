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
suspension  a partner whose keys are not trusted: nothing sent, nothing it signs accepted
repin      a partner's new signing identity pinned; what its stolen keys signed distrusted
removal    the partnership ended, the records kept
damage     what a partner's copied keys could expose or forge since a time
keys       fetching a partner's key document: when expired, and every key_refresh_seconds
worker     the one schedule of all the background work above
"""

from service.exchange import courier, worker
from service.exchange.batch import receive_batch
from service.exchange.damage import DamageReport, damage_report
from service.exchange.ingest import Acceptance, receive_envelope, store_envelope
from service.exchange.pull import Puller, serve_pull, serve_receipts
from service.exchange.push import Pusher
from service.exchange.reconcile import Reconciliation, reconcile
from service.exchange.reconcile import serve as serve_reconcile
from service.exchange.removal import Removal, remove_partner
from service.exchange.repin import Repin, repin_partner
from service.exchange.status import PartnerStatus, partner_status
from service.exchange.suspension import Suspension, resume_partner, suspend_partner
from service.exchange.witness import serve_checkpoint, serve_cosignature, witness_all
from service.exchange.worker import Worker

__all__ = [
    "Acceptance",
    "DamageReport",
    "PartnerStatus",
    "Puller",
    "Pusher",
    "Reconciliation",
    "Removal",
    "Repin",
    "Suspension",
    "Worker",
    "courier",
    "damage_report",
    "partner_status",
    "receive_batch",
    "receive_envelope",
    "reconcile",
    "remove_partner",
    "repin_partner",
    "resume_partner",
    "serve_checkpoint",
    "serve_cosignature",
    "serve_pull",
    "serve_receipts",
    "serve_reconcile",
    "store_envelope",
    "suspend_partner",
    "witness_all",
    "worker",
]
