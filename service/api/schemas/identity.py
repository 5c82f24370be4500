"""Bodies of the administrator API: users and partners."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from policies import ROLE_MAY_READ_CONTENT
from service.models import Partner, User


class UserCreate(BaseModel):
    username: str = Field(max_length=64)
    role: str
    password: str = Field(max_length=1024)
    clearance: str | None = Field(None, max_length=20, description="a TLP level (officers)")


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
