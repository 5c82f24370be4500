"""Bodies of the administrator API: users, partners and integration credentials."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from policies import ROLE_MAY_READ_CONTENT
from service import exchange
from service.models import Integration, Partner, User


class UserCreate(BaseModel):
    username: str = Field(max_length=64)
    role: str
    password: str = Field(max_length=1024)
    clearance: str | None = Field(None, max_length=20, description="a TLP level (officers)")


class PasswordSet(BaseModel):
    password: str = Field(max_length=1024, description="the new password")


class RoleSet(BaseModel):
    role: str = Field(max_length=16, description="officer, releaser, auditor or admin")


class ClearanceSet(BaseModel):
    clearance: str = Field(max_length=20, description="a TLP level: the highest the user reads")


class UserOut(BaseModel):
    username: str
    role: str
    clearance: str | None
    disabled: bool
    created_at: datetime

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(
            username=u.username,
            role=u.role,
            clearance=u.clearance if u.role in ROLE_MAY_READ_CONTENT else None,
            disabled=u.disabled,
            created_at=u.created_at,
        )


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
    suspended_at: datetime | None = Field(None, description="None: active")
    compromised_since: datetime | None = None
    suspended_reason: str | None = None
    repinned_at: datetime | None = Field(
        None, description="when the key pinned now replaced another"
    )
    removed_at: datetime | None = Field(None, description="None: a partner; else removed then")
    previous_fingerprints: list[str] = Field(
        default_factory=list, description="the fingerprints it was pinned to before, oldest first"
    )

    @classmethod
    def of(cls, p: Partner) -> PartnerOut:
        return cls(
            node_id=p.node_id,
            name=p.name,
            endpoint=p.endpoint,
            fingerprint=p.fingerprint,
            key_serial=p.key_serial,
            added_at=p.added_at,
            suspended_at=p.suspended_at,
            compromised_since=p.compromised_since,
            suspended_reason=p.suspended_reason,
            repinned_at=p.repinned_at,
            removed_at=p.removed_at,
            previous_fingerprints=[old.fingerprint for old in p.previous_keys],
        )


class PartnerRepin(BaseModel):
    url: str = Field(max_length=500, description="where its new key document is served")
    fingerprint: str = Field(max_length=120, description="its new fingerprint, as read out")


class RepinOut(BaseModel):
    partner: PartnerOut
    previous_fingerprint: str
    distrusted: list[str] = Field(
        description="received reports signed by the old key since the compromise, distrusted"
    )
    to_reseal: int = Field(description="undelivered envelopes sealed again to the new keys")

    @classmethod
    def of(cls, r: exchange.Repin) -> RepinOut:
        return cls(partner=PartnerOut.of(r.partner), previous_fingerprint=r.previous_fingerprint,
                   distrusted=r.distrusted, to_reseal=r.to_reseal)  # fmt: skip


class RemovalOut(BaseModel):
    partner: PartnerOut
    withdrawn: int = Field(description="deliveries to it withdrawn (now withheld)")


class PartnerSuspend(BaseModel):
    compromised_since: datetime | None = Field(
        None, description="when its keys may first have been in other hands (RFC 3339)"
    )
    reason: str = Field("", max_length=2000)


class DamageOut(BaseModel):
    """What a partner's copied keys could expose or forge from ``since`` on (metadata only)."""

    partner: str
    since: datetime
    suspended_at: datetime | None
    sealed_after_by_tlp: dict[str, int] = Field(
        description="envelopes sealed to its keys from since on: readable with the copied keys"
    )
    sealed_before_by_tlp: dict[str, int] = Field(
        description="envelopes sealed before: readable if their key was still in the copied file"
    )
    signed_by_tlp: dict[str, int] = Field(description="reports received from it since then")
    sealed: list[dict[str, Any]]
    signed: list[dict[str, Any]]

    @classmethod
    def of(cls, d: exchange.DamageReport) -> DamageOut:
        return cls(partner=d.partner, since=d.since, suspended_at=d.suspended_at,
                   sealed_after_by_tlp=d.sealed_after_by_tlp,
                   sealed_before_by_tlp=d.sealed_before_by_tlp, signed_by_tlp=d.signed_by_tlp,
                   sealed=[dataclasses.asdict(i) for i in d.sealed],
                   signed=[dataclasses.asdict(i) for i in d.signed])  # fmt: skip


class ReloadedOut(BaseModel):
    serial: int = Field(description="the serial of the key document now served")
    encryption_keys: list[str] = Field(description="the encryption key ids held, oldest first")
    data_keys: list[int] = Field(description="the data-key generations held (the newest seals)")


class DataKeysOut(BaseModel):
    current: int = Field(description="the data-key generation that seals new values")
    held: list[int] = Field(description="the generations this node holds")
    in_use: dict[int, int] = Field(description="stored values sealed by each generation")
    resealed: int = Field(description="values re-sealed under the current one so far")
    reseal_done: bool = Field(description="nothing stored needs an older generation any more")


class SuspensionOut(BaseModel):
    partner: PartnerOut
    quarantined: list[str] = Field(description="received reports sent back to quarantine")
    held: int = Field(description="deliveries to the partner held (pending, not sent)")
    distrusted_cosignatures: int = Field(0, description="its cosignatures since then, not counted")
    rebased_checkpoints: int = Field(
        0, description="its checkpoints cosigned since then, no longer the witness's baseline"
    )

    @classmethod
    def of(cls, s: exchange.Suspension) -> SuspensionOut:
        return cls(partner=PartnerOut.of(s.partner), quarantined=s.quarantined, held=s.held,
                   distrusted_cosignatures=s.distrusted, rebased_checkpoints=s.rebased)  # fmt: skip


class IntegrationCreate(BaseModel):
    name: str = Field(max_length=64)
    partners: list[str] = Field(max_length=50, description="node ids whose API roots it uses")
    read: bool = False
    write: bool = False
    clearance: str = Field(max_length=20, description="a TLP level, at most amber+strict")
    collections: list[str] = Field(
        default_factory=list, max_length=3, description="inbox, sent, drafts (default: by rights)"
    )
    label: str = Field("", max_length=200)


class IntegrationOut(BaseModel):
    name: str
    label: str
    partners: list[str]
    collections: list[str]
    read: bool
    write: bool
    clearance: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    secret: str | None = Field(
        None, description="only in the answer that creates it: shown once, never stored"
    )

    @classmethod
    def of(cls, row: Integration, secret: str | None = None) -> IntegrationOut:
        return cls(
            name=row.name,
            label=row.label,
            partners=[p for p in row.partners.split(",") if p],
            collections=[c for c in row.collections.split(",") if c],
            read=row.can_read,
            write=row.can_write,
            clearance=row.clearance,
            created_at=row.created_at,
            created_by=row.created_by,
            revoked_at=row.revoked_at,
            secret=secret,
        )
