"""The audit domain: the access log, its Merkle tree, signed checkpoints, alerts, and what
auditors read of it.

    records       one record per action, in the action's transaction; Entry for refusals
    log           the RFC 9162 tree: records sequenced as leaves at commit
    checkpoints   signed checkpoints (C2SP), inclusion and consistency proofs
    alerts        evidence of a truncated, rolled back, forked or edited log
    verify        the node's own verification (crypto.logverify V1-V6)
    queries       listings, proofs, keys and verification for auditors (each read recorded)
"""

from service.audit import checkpoints, queries
from service.audit.alerts import list_alerts, raise_alert
from service.audit.log import install, leaf_data, micros, size
from service.audit.queries import EventFilter
from service.audit.records import (
    ALLOWED,
    DENIED,
    ERROR,
    Actor,
    ActorType,
    Entry,
    Outcome,
    denial,
    record,
    refusal_recorded,
)
from service.audit.verify import verify

__all__ = [
    "ALLOWED",
    "DENIED",
    "ERROR",
    "Actor",
    "ActorType",
    "Entry",
    "EventFilter",
    "Outcome",
    "checkpoints",
    "denial",
    "install",
    "leaf_data",
    "list_alerts",
    "micros",
    "queries",
    "raise_alert",
    "record",
    "refusal_recorded",
    "size",
    "verify",
]
