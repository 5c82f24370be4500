"""The filters of TAXII 2.1 section 3.4 and keyset paging over the ``taxii_objects`` index.

A page is ``limit`` rows of one collection in ``date_added`` order after a position: the
``next`` of the previous page, which is the ``date_added`` (in microseconds) of its last object.
``date_added`` is unique and increasing within a collection (``service.reports.collections``),
so the next page starts strictly after the last one and paging never loops, whatever is added
meanwhile; each page is one range scan of ``ix_taxii_objects_partner_id_kind_added_us`` (or the
index that adds ``object_type``, for ``match[type]``), never a scan of the collection.

``match[version]`` takes ``last`` (the default), ``first``, ``all`` or timestamps, and "last"
and "first" are among the versions this credential may see (its clearance), so a newer version
above the ceiling never hides an older one it may read. ``added_after`` is exclusive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from service.errors import BadRequest
from service.models import TaxiiObject
from service.reports import collections

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_NEXT = re.compile(r"[0-9]{1,19}")
_VERSION_WORDS = ("first", "last", "all")


@dataclass(frozen=True, slots=True)
class Filters:
    added_after: int | None = None
    limit: int = DEFAULT_LIMIT
    after: int | None = None
    """The ``next`` position: the date_added (µs) of the previous page's last object."""
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: tuple[str, ...] = ("last",)
    spec_versions: tuple[str, ...] = ()


def _list(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def parse(
    params: Mapping[str, str], *, allow: Sequence[str], version_default: str | None = "last"
) -> Filters:
    """The filters of a request's query string; ``allow`` names the ``match[...]`` fields the
    endpoint takes. Unknown parameters are ignored (section 3.4: a server ignores filters it
    does not support), malformed ones refused.

    Raises:
        BadRequest: a malformed timestamp, limit, ``next`` or ``match[version]``.
    """
    added_after = None
    if (raw := params.get("added_after")) is not None:
        added_after = collections.timestamp_us(raw)
        if added_after is None:
            raise BadRequest(f"added_after must be a timestamp such as 2026-12-03T10:00:00.000Z, "
                             f"not {raw[:60]!r}")  # fmt: skip
    limit = DEFAULT_LIMIT
    if (raw := params.get("limit")) is not None:
        if not raw.isdigit() or int(raw) < 1:
            raise BadRequest(f"limit must be a positive integer, not {raw[:30]!r}")
        limit = min(int(raw), MAX_LIMIT)
    after = None
    if (raw := params.get("next")) is not None:
        if not _NEXT.fullmatch(raw):
            raise BadRequest("next must be the value of a previous response's next")
        after = int(raw)
    versions = _list(params.get("match[version]")) if "version" in allow else ()
    for version in versions:
        if version not in _VERSION_WORDS and collections.timestamp_us(version) is None:
            raise BadRequest(f"match[version] takes first, last, all or timestamps, not "
                             f"{version[:60]!r}")  # fmt: skip
    return Filters(
        added_after=added_after,
        limit=limit,
        after=after,
        ids=_list(params.get("match[id]")) if "id" in allow else (),
        types=_list(params.get("match[type]")) if "type" in allow else (),
        versions=versions or ((version_default,) if version_default else ()),
        spec_versions=_list(params.get("match[spec_version]")) if "spec_version" in allow else (),
    )


def _version_condition(versions: Sequence[str], ceiling: int) -> ColumnElement[bool] | None:
    if not versions or "all" in versions:
        return None
    other = aliased(TaxiiObject)

    def same_object() -> ColumnElement[bool]:
        return and_(
            other.partner_id == TaxiiObject.partner_id,
            other.kind == TaxiiObject.kind,
            other.object_id == TaxiiObject.object_id,
            other.tlp_rank <= ceiling,
        )

    conditions: list[ColumnElement[bool]] = []
    if "last" in versions:
        newer = exists().where(same_object(), other.version_us > TaxiiObject.version_us)
        conditions.append(~newer)
    if "first" in versions:
        older = exists().where(same_object(), other.version_us < TaxiiObject.version_us)
        conditions.append(~older)
    stamps = [us for v in versions if (us := collections.timestamp_us(v)) is not None]
    if stamps:
        conditions.append(TaxiiObject.version_us.in_(stamps))
    return or_(*conditions)


def page(
    session: Session,
    *,
    partner_id: int,
    kind: str,
    ceiling: int,
    filters: Filters,
    object_id: str | None = None,
) -> tuple[list[TaxiiObject], bool]:
    """One page of a collection's object versions visible under ``ceiling`` (a TLP rank), in
    date_added order, and whether more follow. ``object_id`` restricts it to one object (the
    object and versions endpoints)."""
    conditions: list[ColumnElement[bool]] = [
        TaxiiObject.partner_id == partner_id,
        TaxiiObject.kind == kind,
        TaxiiObject.tlp_rank <= ceiling,
    ]
    start = max(filters.added_after or 0, filters.after or 0)
    if start:
        conditions.append(TaxiiObject.added_us > start)
    if object_id is not None:
        conditions.append(TaxiiObject.object_id == object_id)
    if filters.ids:
        conditions.append(TaxiiObject.object_id.in_(filters.ids))
    if filters.types:
        conditions.append(TaxiiObject.object_type.in_(filters.types))
    if filters.spec_versions:
        conditions.append(TaxiiObject.spec_version.in_(filters.spec_versions))
    if (versions := _version_condition(filters.versions, ceiling)) is not None:
        conditions.append(versions)
    query = (
        select(TaxiiObject)
        .where(*conditions)
        .order_by(TaxiiObject.added_us)
        .limit(filters.limit + 1)
    )
    rows = list(session.scalars(query))
    return rows[: filters.limit], len(rows) > filters.limit
