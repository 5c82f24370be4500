"""Request and response bodies of the officer, auditor and admin API (the OpenAPI contract)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from service.models import AuditEvent, Inbound, Partner, Report, User
from service.node import Node
from service.reports import DeliveryView, delivery_view, open_title


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
    seq: int
    state: str
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

    @classmethod
    def of(cls, row: Inbound, node: Node) -> InboundSummary:
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
        )


class UserCreate(BaseModel):
    username: str = Field(max_length=64)
    role: str
    password: str = Field(max_length=1024)


class UserOut(BaseModel):
    username: str
    role: str
    disabled: bool
    created_at: datetime

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(username=u.username, role=u.role, disabled=u.disabled, created_at=u.created_at)


class PartnerCreate(BaseModel):
    node_id: str = Field(max_length=63)
    url: str = Field(max_length=500)
    fingerprint: str = Field(max_length=120)
    name: str = Field("", max_length=200)


class PartnerOut(BaseModel):
    node_id: str
    name: str
    endpoint: str
    fingerprint: str
    key_serial: int
    added_at: datetime

    @classmethod
    def of(cls, p: Partner) -> PartnerOut:
        return cls(
            node_id=p.node_id,
            name=p.name,
            endpoint=p.endpoint,
            fingerprint=p.fingerprint,
            key_serial=p.key_serial,
            added_at=p.added_at,
        )


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor_type: str
    actor: str
    role: str | None
    action: str
    object_type: str | None
    object_id: str | None
    outcome: str
    reason: str | None
    remote_addr: str | None

    @classmethod
    def of(cls, e: AuditEvent) -> AuditEventOut:
        return cls.model_validate(e, from_attributes=True)


class NodeInfo(BaseModel):
    node_id: str
    name: str
    fingerprint: str
    signing_key_id: str
    public_url: str
