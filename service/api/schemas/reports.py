"""Bodies of the officer and release API: logging in, reports, the inbox, releases."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from policies import bundle_diff
from service.models import Delivery, Inbound, Report
from service.node import Node
from service.reports import DeliveryView, Explanation, Shown, delivery_view, open_title


class LoginRequest(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    role: str


class DeliveryOut(BaseModel):
    partner: str
    message_id: str
    seq: int | None
    state: str
    outcome: str
    policy_version: str | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    acknowledged_at: datetime | None

    @classmethod
    def of(cls, view: DeliveryView) -> DeliveryOut:
        return cls.model_validate(view, from_attributes=True)


class ReportSummary(BaseModel):
    id: str
    created_at: datetime
    submitted_by: str
    bundle_id: str
    title: str
    tlp: str
    object_count: int
    object_types: list[str]
    deliveries: list[DeliveryOut]

    @classmethod
    def of(cls, r: Report, node: Node) -> ReportSummary:
        return cls(
            id=r.id,
            created_at=r.created_at,
            submitted_by=r.submitter.username,
            bundle_id=r.bundle_id,
            title=open_title(node, "reports", r.id, r.title_ct),
            tlp=r.tlp,
            object_count=r.object_count,
            object_types=[t for t in r.object_types.split(",") if t],
            deliveries=[DeliveryOut.of(delivery_view(d)) for d in r.deliveries],
        )


class SubmitResponse(ReportSummary):
    warnings: list[str]


class InboundSummary(BaseModel):
    id: str
    sender: str
    message_id: str
    seq: int
    received_at: datetime
    created_at: datetime
    bundle_id: str
    title: str
    tlp: str
    object_count: int
    status: str = Field(description="accepted, quarantined or rejected")
    rule: str | None = Field(description="the inbound rule that decided")
    reason: str | None
    findings: list[dict[str, str]]
    policy_version: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None

    @classmethod
    def of(cls, row: Inbound, node: Node) -> InboundSummary:
        decision = json.loads(row.decision) if row.decision else {}
        return cls(
            id=row.id,
            sender=row.partner.node_id,
            message_id=row.message_id,
            seq=row.seq,
            received_at=row.received_at,
            created_at=row.created_at,
            bundle_id=row.bundle_id,
            title=open_title(node, "inbound", row.id, row.title_ct),
            tlp=row.tlp,
            object_count=row.object_count,
            status=row.status,
            rule=decision.get("rule"),
            reason=decision.get("reason"),
            findings=decision.get("findings", []),
            policy_version=row.policy_version,
            reviewed_by=row.reviewed_by,
            reviewed_at=row.reviewed_at,
            review_note=row.review_note,
        )


class ReviewRequest(BaseModel):
    note: str | None = Field(None, max_length=2000, description="why, for the audit log")


class ReleaseOut(BaseModel):
    """A release of a report to one partner: its sharing-policy decision and delivery state.
    ``title`` is shown only to roles that read content."""

    report_id: str
    partner: str
    message_id: str
    seq: int | None
    state: str
    outcome: str
    rule: str | None
    reason: str | None
    policy_version: str | None
    tlp: str
    submitted_by: str
    created_at: datetime
    title: str | None
    removed: dict[str, Any]
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None

    @classmethod
    def of(cls, d: Delivery, node: Node, *, with_title: bool) -> ReleaseOut:
        decision = json.loads(d.decision) if d.decision else {}
        report = d.report
        return cls(
            report_id=report.id,
            partner=d.partner.node_id,
            message_id=d.message_id,
            seq=d.seq,
            state=d.state,
            outcome=d.outcome,
            rule=decision.get("rule"),
            reason=decision.get("reason"),
            policy_version=d.policy_version,
            tlp=report.tlp,
            submitted_by=report.submitter.username,
            created_at=report.created_at,
            title=open_title(node, "reports", report.id, report.title_ct) if with_title else None,
            removed=decision.get("removed", {}),
            reviewed_by=d.reviewed_by,
            reviewed_at=d.reviewed_at,
            review_note=d.review_note,
        )


class ReleaseDetail(ReleaseOut):
    """A release with its full decision record, the diff from the submitted bundle to what the
    partner receives, and that bundle itself (None when withheld or denied)."""

    decision: dict[str, Any]
    diff: str
    released: dict[str, Any] | None

    @classmethod
    def of_shown(cls, shown: Shown, node: Node) -> ReleaseDetail:
        d = shown.delivery
        summary = ReleaseOut.of(d, node, with_title=True)
        return cls(
            **summary.model_dump(),
            decision=json.loads(d.decision) if d.decision else {},
            diff=bundle_diff(
                shown.submitted, shown.released, tofile=f"released to {summary.partner}"
            ),
            released=shown.released,
        )


class PolicyCheckOut(BaseModel):
    """What ``partner`` would receive of a bundle, and why (nothing is submitted)."""

    decision: dict[str, Any] = Field(description="the decision record: outcome, rule, trace")
    diff: str = Field(description="a unified diff from the bundle to what the partner receives")
    released: dict[str, Any] | None = Field(description="what it receives; None when denied")

    @classmethod
    def of(cls, explained: Explanation) -> PolicyCheckOut:
        return cls(
            decision=explained.record, diff=explained.diff, released=explained.decision.released
        )
