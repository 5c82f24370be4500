"""The states of releases, deliveries and received reports: the one definition of each.

The database holds them as strings, guarded by named CHECK constraints (``service.models``,
migration 0005); the CLI offers the same names as choices (a test ties the three together).
``StrEnum`` members are those strings, so they compare equal to what a query returns.

A release of a report to one partner moves through::

    held ──approve──> queued ──first send──> sent ──receipt──> acknowledged
      │                  │                     │
      └──refuse──> withheld <── policy changed before the first sealing
                                              └──signed refusal──> refused

``held`` releases have no sequence number; ``refused`` and ``withheld`` ones hold a number the
partner will never receive, declared void to it (docs/protocol.md section 7).
"""

from __future__ import annotations

from enum import StrEnum


class DeliveryState(StrEnum):
    HELD = "held"
    """Waiting for a second officer with the releaser role (two-person rule)."""
    QUEUED = "queued"
    """Released, not yet sent."""
    SENT = "sent"
    """Sent at least once (push, pull or courier), no valid receipt yet."""
    ACKNOWLEDGED = "acknowledged"
    """A receipt signed by the partner for these exact envelope bytes is stored."""
    REFUSED = "refused"
    """The partner signed a refusal: given up."""
    WITHHELD = "withheld"
    """A releaser refused it, or the policy changed and now denies it: never sent."""


PENDING = (DeliveryState.QUEUED, DeliveryState.SENT)
"""Deliveries the outbox still works on."""
VOID = (DeliveryState.REFUSED, DeliveryState.WITHHELD)
"""Deliveries that hold a sequence number but will never reach the partner."""


class ReleaseOutcome(StrEnum):
    """The sharing policy's decision on a release (``policies.OutboundDecision.outcome``)."""

    ALLOW = "allow"
    REDACT = "redact"
    HOLD = "hold"
    DENY = "deny"


class InboundStatus(StrEnum):
    """Where a received report stands: the inbound policy's verdict, then an officer's review."""

    ACCEPTED = "accepted"
    QUARANTINED = "quarantined"
    REJECTED = "rejected"


class Route(StrEnum):
    """How an envelope or its receipt travelled (``deliveries.acknowledged_via``)."""

    PUSH = "push"
    PULL = "pull"
    COURIER = "courier"
