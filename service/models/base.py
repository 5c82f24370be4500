"""The declarative base, the column types and constraint helper every table uses, the allowed
values of its guarded columns, and the node's small named values."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    MetaData,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


Timestamp = UTCDateTime()


def one_of(column: str, values: Iterable[str], *, name: str | None = None) -> CheckConstraint:
    """A named CHECK constraint: ``column`` holds one of ``values`` (named after the column).

    The allowed values are written out below rather than imported from the enums that define
    them (``service.reports.states``, ``service.auth.ROLES``, ``policies.TLP``, the audit
    outcomes), which sit above this module; ``tests/service/test_states.py`` ties them together.
    """
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name or column)


DELIVERY_STATES = ("held", "queued", "sent", "acknowledged", "refused", "withheld")
RELEASE_OUTCOMES = ("allow", "redact", "hold", "deny")
ROUTES = ("push", "pull", "courier")
INBOUND_STATUSES = ("accepted", "quarantined", "rejected")
ROLES = ("officer", "releaser", "auditor", "admin")
CLEARANCES = ("clear", "green", "amber", "amber+strict", "red")
AUDIT_OUTCOMES = ("allowed", "denied", "error")
ACTOR_TYPES = ("user", "partner", "system", "anonymous", "integration")
LANGUAGES = ("en", "ar")
TAXII_COLLECTIONS = ("inbox", "sent")
DRAFT_STATES = ("open", "submitted", "discarded")


class NodeState(Base):
    """Small named values the node keeps (e.g. the serial of its key document)."""

    __tablename__ = "node_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
