"""A STIX 2.1 bundle made readable for a person: plain data for a template, no HTML.

:func:`describe` turns a bundle (validated by ``service.reports.stix``, but possibly a partner's,
so untrusted) into a :class:`Readable`: the report, then sections of persons, locations,
facilities, indicators, relationships and every other object. Field names are keys
(``nationality``, ``date_of_birth``), never English labels: a translation layer labels them.

What it promises, whatever the bundle holds:

* It never raises on a validated bundle (nor on any mapping): a property of an unexpected type is
  left out (or, for the other objects, shown as JSON text); nothing is executed or interpreted.
* Strings stay exactly as given, ``<script>`` and bidirectional controls (U+202E) included: the
  template escapes them, and should isolate each value (``<bdi>``, ``dir="auto"``).
* Lists are capped: ``MAX_ITEMS`` per section (``Readable.omitted`` counts the rest),
  ``MAX_LIST`` aliases, documents or report types per object, ``MAX_PROPERTIES`` properties per
  other object; a structured value shown as text is cut at ``MAX_VALUE_CHARS``.

Persons are ``threat-actor`` objects with ``resource_level: "individual"`` (what
``service.reports.compose`` writes) and ``identity`` objects of class ``individual``; facilities
are ``infrastructure`` objects with ``x_liaison_facility_type``. An indicator whose STIX pattern
is one equality comparison shows its kind (``phone``, ``ipv4``... as in
``compose.INDICATOR_PATHS``, else the object path such as ``mac-addr:value``) and its value,
unquoted; any other pattern is shown raw. Marking definitions are summed up as the report's TLP
(the highest level referenced anywhere, as the node computes it), and the report's author
identity as its ``author``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.markings import MarkingIndex
from policies.tlp import TLP
from service.reports.compose import INDICATOR_PATHS

__all__ = [
    "MAX_ITEMS", "MAX_LIST", "MAX_PROPERTIES", "MAX_VALUE_CHARS", "DocumentView",
    "FacilityView", "IndicatorView", "LocationView", "OtherView", "PersonView", "Readable",
    "RelationshipView", "ReportView", "describe",
]  # fmt: skip

MAX_ITEMS = 500
MAX_LIST = 50
MAX_PROPERTIES = 100
MAX_VALUE_CHARS = 2000
_MAX_PATTERN = 4096  # longer patterns are shown raw, not parsed

_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_COMPARISON = re.compile(
    r"\[\s*([a-z0-9][a-z0-9-]*):([A-Za-z0-9_]+(?:\.(?:[A-Za-z0-9_-]+|'[^'\\\]]*'))*)"
    r"\s*=\s*'((?:[^'\\]|\\.)*)'\s*\]",
    re.DOTALL,
)
_KINDS = {path.replace("'", ""): kind for kind, path in INDICATOR_PATHS.items()}
_NOT_SHOWN = frozenset({"type", "id", "name", "spec_version", "object_marking_refs"})


@dataclass(frozen=True)
class ReportView:
    id: str
    title: str | None
    description: str | None
    tlp: TLP | None
    created: str | None
    published: str | None
    author: str | None
    report_types: tuple[str, ...]


@dataclass(frozen=True)
class DocumentView:
    kind: str | None
    number: str | None
    country: str | None


@dataclass(frozen=True)
class PersonView:
    id: str
    type: str  # "threat-actor" or "identity"
    name: str | None
    name_latin: str | None
    name_ar: str | None
    aliases: tuple[str, ...]
    nationality: str | None
    date_of_birth: str | None
    status: str | None
    documents: tuple[DocumentView, ...]
    more_documents: int  # left out beyond MAX_LIST
    description: str | None


@dataclass(frozen=True)
class LocationView:
    id: str
    name: str | None
    country: str | None
    region: str | None
    administrative_area: str | None
    city: str | None
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class FacilityView:
    id: str
    name: str | None
    kind: str | None
    location: str | None  # the display name of what it is located-at
    description: str | None


@dataclass(frozen=True)
class IndicatorView:
    id: str
    name: str | None
    kind: str | None  # None: the pattern is not one comparison
    value: str | None
    pattern: str | None
    pattern_type: str | None
    description: str | None
    valid_from: str | None


@dataclass(frozen=True)
class RelationshipView:
    id: str
    source: str  # display name (the object's name, else its id)
    relationship_type: str | None
    target: str
    source_ref: str | None
    target_ref: str | None


@dataclass(frozen=True)
class OtherView:
    id: str
    type: str
    name: str | None
    properties: tuple[tuple[str, str], ...]  # (property, value as text), as given in order
    more_properties: int  # left out beyond MAX_PROPERTIES


@dataclass(frozen=True)
class Readable:
    report: ReportView | None
    persons: tuple[PersonView, ...] = ()
    locations: tuple[LocationView, ...] = ()
    facilities: tuple[FacilityView, ...] = ()
    indicators: tuple[IndicatorView, ...] = ()
    relationships: tuple[RelationshipView, ...] = ()
    others: tuple[OtherView, ...] = ()
    omitted: Mapping[str, int] = field(default_factory=dict)  # section -> items left out


def describe(bundle: Mapping[str, Any]) -> Readable:
    """What ``bundle`` says, for a person to read (see the module docstring); never raises."""
    raw = bundle.get("objects") if isinstance(bundle, Mapping) else None
    objects = [obj for obj in raw if isinstance(obj, dict)] if isinstance(raw, list) else []
    by_id: dict[str, dict[str, Any]] = {}
    located: dict[str, str] = {}
    for obj in objects:
        if isinstance(obj.get("id"), str):
            by_id.setdefault(obj["id"], obj)
        if obj.get("type") == "relationship" and obj.get("relationship_type") == "located-at":
            source, target = obj.get("source_ref"), obj.get("target_ref")
            if isinstance(source, str) and isinstance(target, str):
                located.setdefault(source, target)
    report = next((obj for obj in objects if obj.get("type") == "report"), None)
    author = _text(report.get("created_by_ref")) if report is not None else None

    def display(ref: object) -> str:
        target = by_id.get(ref) if isinstance(ref, str) else None
        return (_display(target) if target is not None else None) or _text(ref) or ""

    sections: dict[str, list[Any]] = {name: [] for name in _SECTIONS}
    omitted: dict[str, int] = {}
    for obj in objects:
        section = _section(obj, report, author)
        if section is None:
            continue
        if len(sections[section]) >= MAX_ITEMS:
            omitted[section] = omitted.get(section, 0) + 1
        elif section == "facilities":
            sections[section].append(_facility(obj, display(located.get(_id(obj))) or None))
        elif section == "relationships":
            sections[section].append(_relationship(obj, display))
        else:
            sections[section].append(_VIEWS[section](obj))
    report_view = None
    if report is not None:
        author_obj = by_id.get(author) if author is not None else None
        report_view = ReportView(
            id=_id(report), title=_text(report.get("name")),
            description=_text(report.get("description")),
            tlp=_tlp(objects), created=_text(report.get("created")),
            published=_text(report.get("published")),
            author=_text(author_obj.get("name")) if author_obj is not None else None,
            report_types=_strings(report.get("report_types")),
        )  # fmt: skip
    persons, locations, facilities, indicators, relationships, others = (
        tuple(sections[name]) for name in _SECTIONS
    )
    return Readable(
        report_view, persons, locations, facilities, indicators, relationships, others, omitted
    )


_SECTIONS = ("persons", "locations", "facilities", "indicators", "relationships", "others")


def _section(obj: dict[str, Any], report: object, author: str | None) -> str | None:
    kind = obj.get("type")
    if not isinstance(kind, str):
        return "others"
    if kind == "marking-definition" or obj is report:
        return None
    if kind == "threat-actor" and obj.get("resource_level") == "individual":
        return "persons"
    if kind == "identity" and obj.get("identity_class") == "individual":
        return "persons"
    if kind == "identity" and author is not None and obj.get("id") == author:
        return None  # shown as the report's author
    if kind == "infrastructure" and isinstance(obj.get("x_liaison_facility_type"), str):
        return "facilities"
    return {"location": "locations", "indicator": "indicators",
            "relationship": "relationships"}.get(kind, "others")  # fmt: skip


def _person(obj: dict[str, Any]) -> PersonView:
    name = _text(obj.get("name"))
    aliases = _strings(obj.get("aliases"))
    names = [n for n in (name, *aliases) if n]
    arabic = _text(obj.get("x_liaison_name_ar")) or next((n for n in names if _is_ar(n)), None)
    raw = obj.get("x_liaison_documents")
    documents = raw if isinstance(raw, list) else []
    return PersonView(
        id=_id(obj), type=str(obj.get("type")), name=name,
        name_latin=next((n for n in names if not _is_ar(n)), None), name_ar=arabic,
        aliases=aliases, nationality=_text(obj.get("x_liaison_nationality")),
        date_of_birth=_text(obj.get("x_liaison_date_of_birth")),
        status=_text(obj.get("x_liaison_status")),
        documents=tuple(_document(doc) for doc in documents[:MAX_LIST]),
        more_documents=max(0, len(documents) - MAX_LIST),
        description=_text(obj.get("description")),
    )  # fmt: skip


def _document(doc: object) -> DocumentView:
    if not isinstance(doc, dict):
        return DocumentView(kind=None, number=_text(doc), country=None)
    return DocumentView(_text(doc.get("kind")), _text(doc.get("number")), _text(doc.get("country")))


def _location(obj: dict[str, Any]) -> LocationView:
    return LocationView(
        id=_id(obj), name=_text(obj.get("name")), country=_text(obj.get("country")),
        region=_text(obj.get("region")), administrative_area=_text(obj.get("administrative_area")),
        city=_text(obj.get("city")), latitude=_number(obj.get("latitude")),
        longitude=_number(obj.get("longitude")),
    )  # fmt: skip


def _facility(obj: dict[str, Any], location: str | None) -> FacilityView:
    return FacilityView(
        id=_id(obj), name=_text(obj.get("name")), kind=_text(obj.get("x_liaison_facility_type")),
        location=location, description=_text(obj.get("description")),
    )  # fmt: skip


def _indicator(obj: dict[str, Any]) -> IndicatorView:
    pattern, pattern_type = _text(obj.get("pattern")), _text(obj.get("pattern_type"))
    kind, value = _comparison(pattern) if pattern_type in (None, "stix") else (None, None)
    return IndicatorView(
        id=_id(obj), name=_text(obj.get("name")), kind=kind, value=value, pattern=pattern,
        pattern_type=pattern_type, description=_text(obj.get("description")),
        valid_from=_text(obj.get("valid_from")),
    )  # fmt: skip


def _relationship(obj: dict[str, Any], display: Callable[[object], str]) -> RelationshipView:
    source, target = obj.get("source_ref"), obj.get("target_ref")
    return RelationshipView(
        id=_id(obj), source=display(source), relationship_type=_text(obj.get("relationship_type")),
        target=display(target), source_ref=_text(source), target_ref=_text(target),
    )  # fmt: skip


def _other(obj: dict[str, Any]) -> OtherView:
    shown = [(str(key), value) for key, value in obj.items() if key not in _NOT_SHOWN]
    return OtherView(
        id=_id(obj), type=str(obj.get("type")), name=_text(obj.get("name")),
        properties=tuple((key, _as_text(value)) for key, value in shown[:MAX_PROPERTIES]),
        more_properties=max(0, len(shown) - MAX_PROPERTIES),
    )  # fmt: skip


_VIEWS: Mapping[str, Callable[[dict[str, Any]], Any]] = {
    "persons": _person, "locations": _location, "indicators": _indicator, "others": _other,
}  # fmt: skip


def _comparison(pattern: str | None) -> tuple[str | None, str | None]:
    """(kind, value) of a pattern that is one equality comparison, else (None, None)."""
    if not pattern or len(pattern) > _MAX_PATTERN:
        return None, None
    match = _COMPARISON.fullmatch(pattern.strip())
    if match is None:
        return None, None
    path = f"{match[1]}:{match[2]}"
    value = re.sub(r"\\(.)", r"\1", match[3], flags=re.DOTALL)
    return _KINDS.get(path.replace("'", ""), path), value


def _display(obj: dict[str, Any]) -> str | None:
    """What a reader calls ``obj``: its name, an indicator's value, a place's city (or area,
    country, coordinates)."""
    name = _text(obj.get("name"))
    if name:
        return name
    if obj.get("type") == "indicator":
        return _comparison(_text(obj.get("pattern")))[1]
    if obj.get("type") == "location":
        places = (obj.get("city"), obj.get("administrative_area"), obj.get("country"))
        place = next((text for value in places if (text := _text(value))), None)
        latitude, longitude = _number(obj.get("latitude")), _number(obj.get("longitude"))
        if place is None and latitude is not None and longitude is not None:
            place = f"{latitude}, {longitude}"
        return place
    return None


def _tlp(objects: list[dict[str, Any]]) -> TLP | None:
    return MarkingIndex.of(objects).tlp_of(objects)


def _is_ar(text: str) -> bool:
    return _ARABIC.search(text) is not None


def _id(obj: Mapping[str, Any]) -> str:
    value = obj.get("id")
    return value if isinstance(value, str) else ""


def _text(value: object) -> str | None:
    """A string as it is, a number or a boolean as text; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        try:
            return str(value)
        except ValueError:  # an integer of more digits than Python prints
            return None
    return None


def _strings(value: object) -> tuple[str, ...]:
    items = value[:MAX_LIST] if isinstance(value, list) else []
    return tuple(item for item in items if isinstance(item, str))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _as_text(value: object) -> str:
    text = _text(value)
    if text is not None:
        return text
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "\u2026"
