"""An officer's report form, as typed entries, composed into a STIX 2.1 bundle the node accepts.

:func:`compose` checks a :class:`ReportDraft` (one :class:`DraftInvalid` lists every problem, each
addressed to its field) and returns a bundle that ``service.reports.stix.validate_report`` accepts
with no error and no warning. Pure domain code: no web framework, no database, no clock.

* A person is a ``threat-actor`` with ``resource_level: "individual"`` and ``threat_actor_types:
  ["terrorist"]`` (OpenCTI's Threat-Actor-Individual), not an ``identity`` of class
  ``individual``, which sharing policies redact as a *source*. ``name`` is the Latin-script name
  (else the Arabic one), ``aliases`` the other; the rest is in ``x_liaison_name_ar``,
  ``x_liaison_date_of_birth`` (YYYY-MM-DD), ``x_liaison_nationality``, ``x_liaison_status``,
  ``x_liaison_documents`` ([{kind, number, country}]). These top-level custom properties (and
  ``x_liaison_facility_type``) are declared by the ``toplevel-property-extension``
  ``EXTENSION_ID``, as STIX 2.1 asks (the validator warns otherwise); like TLP 2.0's it is
  referenced by id, its definition not shipped (the policies release no extension-definition).
* A place is a ``location``; the form's ``region`` (a governorate) is ``administrative_area``,
  STIX ``region`` being a vocabulary of world regions. STIX requires a country or coordinates.
* A facility is an ``infrastructure`` with ``x_liaison_facility_type``, ``located-at`` its place.
  Not a ``location``: STIX suggests no relationship *from* a location (the validator warns on
  location located-at location), but does suggest infrastructure located-at location,
  threat-actor uses infrastructure and indicator indicates infrastructure; infrastructure covers
  "physical resources intended to support some purpose". No ``infrastructure_types``: none of
  its values (C2, botnet...) is a prison.
* An indicator's pattern is one comparison on ``INDICATOR_PATHS``, the value checked for its kind
  and quoted (``\\`` and ``'`` escaped). STIX has no phone observable: a phone is
  ``[phone-number:value = '+9647701234567']`` (E.164), the custom type of OpenCTI and its
  connectors, which the validator accepts without error or warning.
* Relations are those of ``RELATIONSHIP_ENDPOINTS``: the STIX 2.1 suggested ones between these
  types, and ``related-to`` and ``duplicate-of``, allowed between any two objects.

Ids are uuid5 of ``draft_id`` and a name per object (``report``, ``author``, ``entry:<key>``) with
UUIDv4 version bits (as the validator wants): the same draft composed twice (a form posted twice)
gives the same bundle, never duplicate objects.
"""

from __future__ import annotations

import ipaddress
import math
import re
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from stix2validator.v21.enums import COUNTRY_CODES  # type: ignore[import-untyped]

from policies.tlp import TLP, TLP2_EXTENSION_ID
from service.errors import Unprocessable

__all__ = [
    "DOCUMENT_KINDS", "EXTENSION_ID", "FACILITY_KINDS", "INDICATOR_KINDS", "INDICATOR_PATHS",
    "PERSON_STATUSES", "RELATIONSHIP_ENDPOINTS", "RELATIONSHIP_TYPES", "DocumentEntry",
    "DraftInvalid", "FacilityEntry", "IndicatorEntry", "LocationEntry", "PersonEntry",
    "RelationEntry", "ReportDraft", "compose", "quote", "stix_timestamp", "tlp_marking_definition",
]  # fmt: skip

PersonStatus = Literal["wanted", "detained", "escaped", "released", "deceased", "unknown"]
DocumentKind = Literal["passport", "national-id", "other"]
FacilityKind = Literal["prison", "detention-centre", "camp", "checkpoint", "other"]
IndicatorKind = Literal["phone", "ipv4", "ipv6", "domain", "url", "email", "md5", "sha1", "sha256"]
Section = Literal["persons", "locations", "facilities", "indicators"]
PERSON_STATUSES: tuple[str, ...] = get_args(PersonStatus)
DOCUMENT_KINDS: tuple[str, ...] = get_args(DocumentKind)
FACILITY_KINDS: tuple[str, ...] = get_args(FacilityKind)
INDICATOR_KINDS: tuple[str, ...] = get_args(IndicatorKind)

INDICATOR_PATHS: Mapping[str, str] = {
    "phone": "phone-number:value", "ipv4": "ipv4-addr:value", "ipv6": "ipv6-addr:value",
    "domain": "domain-name:value", "url": "url:value", "email": "email-addr:value",
    "md5": "file:hashes.MD5", "sha1": "file:hashes.'SHA-1'", "sha256": "file:hashes.'SHA-256'",
}  # fmt: skip
"""The STIX object path each indicator kind's pattern compares."""

_SECTIONS: tuple[Section, ...] = get_args(Section)
RELATIONSHIP_ENDPOINTS: Mapping[str, frozenset[tuple[Section, Section]]] = {
    "related-to": frozenset((a, b) for a in _SECTIONS for b in _SECTIONS),
    "located-at": frozenset({("persons", "locations"), ("facilities", "locations")}),
    "uses": frozenset({("persons", "facilities")}), "owns": frozenset({("persons", "facilities")}),
    "targets": frozenset({("persons", "locations")}),
    "indicates": frozenset({("indicators", "persons"), ("indicators", "facilities")}),
    "duplicate-of": frozenset((a, a) for a in _SECTIONS),
}  # fmt: skip
"""Each relationship type a form offers, with the (source, target) sections it may join."""
RELATIONSHIP_TYPES = tuple(RELATIONSHIP_ENDPOINTS)
"""The relationship types a form offers, ``related-to`` first."""

# uuid5(NAMESPACE_URL, "https://liaison.invalid/stix/extensions/liaison-properties/1"), as a v4
EXTENSION_ID = "extension-definition--7485a89b-7f4b-4d52-a8b2-308a08acaffc"

MAX_TITLE, MAX_DESCRIPTION, MAX_NOTES, MAX_NAME, MAX_SHORT = 200, 20_000, 5_000, 200, 100
MAX_ENTRIES, MAX_DOCUMENTS, MAX_VALUE = 200, 20, 2048

# The codes the node's validator takes for ISO 3166-1 alpha-2 (it warns about any other); the
# package imported the library first, through service.reports.validator.
ISO_COUNTRIES: frozenset[str] = frozenset(COUNTRY_CODES)

_EXTENSIONS = {EXTENSION_ID: {"extension_type": "toplevel-property-extension"}}
_TLP2_CREATED = "2022-10-01T00:00:00.000Z"  # of the five official TLP 2.0 marking definitions
_STIX_TYPE = {"persons": "threat-actor", "locations": "location",
              "facilities": "infrastructure", "indicators": "indicator"}  # fmt: skip
_KEY = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_HEX_DIGITS = {"md5": 32, "sha1": 40, "sha256": 64}


@dataclass(frozen=True)
class DocumentEntry:
    kind: DocumentKind
    number: str
    country: str = ""


@dataclass(frozen=True)
class PersonEntry:
    key: str
    name_latin: str = ""
    name_ar: str = ""
    nationality: str = ""
    date_of_birth: date | None = None
    status: PersonStatus = "unknown"
    documents: list[DocumentEntry] = field(default_factory=list)
    notes: str = ""


@dataclass(frozen=True)
class LocationEntry:
    key: str
    name: str = ""
    country: str = ""
    region: str = ""
    city: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class FacilityEntry:
    key: str
    name: str
    kind: FacilityKind
    location_key: str = ""


@dataclass(frozen=True)
class IndicatorEntry:
    key: str
    kind: IndicatorKind
    value: str
    description: str = ""


@dataclass(frozen=True)
class RelationEntry:
    key: str
    source_key: str
    relationship_type: str
    target_key: str


@dataclass(frozen=True)
class ReportDraft:
    title: str
    tlp: TLP
    description: str = ""
    persons: list[PersonEntry] = field(default_factory=list)
    locations: list[LocationEntry] = field(default_factory=list)
    facilities: list[FacilityEntry] = field(default_factory=list)
    indicators: list[IndicatorEntry] = field(default_factory=list)
    relations: list[RelationEntry] = field(default_factory=list)


class DraftInvalid(Unprocessable):
    """A draft that cannot be composed. ``errors`` holds every problem at once, each
    ``"<field>: message"``; the field is ``title``, ``description``, a section (``persons``) or
    ``<section>.<key>.<field>`` (``persons.p1.date_of_birth``), for a document
    ``persons.<key>.documents.<index>.<field>``. An entry whose key is unusable is addressed by
    its 0-based index (``persons.0.key``)."""

    code = "draft_invalid"

    def __init__(self, errors: Sequence[str]) -> None:
        n = len(errors)
        super().__init__(f"the report draft has {n} problem{'s' * (n != 1)}", errors=errors)


def stix_timestamp(moment: datetime) -> str:
    """``moment`` as a STIX timestamp in UTC with milliseconds: ``2026-11-20T08:30:00.000Z``."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def quote(value: str) -> str:
    """``value`` as the inside of a STIX pattern string literal: ``\\`` and ``'`` escaped."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def tlp_marking_definition(level: TLP) -> dict[str, Any]:
    """The official TLP 2.0 marking-definition object of ``level``."""
    extension = {"extension_type": "property-extension", "tlp_2_0": level.value}
    return {
        "type": "marking-definition", "spec_version": "2.1", "id": level.marking_id,
        "created": _TLP2_CREATED, "name": level.label, "extensions": {TLP2_EXTENSION_ID: extension},
    }  # fmt: skip


def compose(
    draft: ReportDraft, *, author_name: str, now: datetime, draft_id: uuid.UUID
) -> dict[str, Any]:
    """The bundle ``bundle--<draft_id>``: the TLP 2.0 marking definition of ``draft.tlp``, the
    author's ``identity`` (organisation, every object's ``created_by_ref``), a ``report`` listing
    every entry's objects, and those. All are marked ``draft.tlp`` and created at ``now``; text is
    stripped and NFC-normalised. The same arguments give the same bundle.

    Raises:
        DraftInvalid: every problem of the draft (see :class:`DraftInvalid`).
        ValueError: ``now`` is naive, ``draft_id`` is not a UUIDv4 or ``author_name`` is blank.
    """
    if now.utcoffset() is None or draft_id.version != 4 or not author_name.strip():
        raise ValueError("now must be aware, draft_id a UUIDv4 and author_name not blank")
    errors = _check(draft, today=now.astimezone(UTC).date())
    if errors:
        raise DraftInvalid(errors)
    stamp, title = stix_timestamp(now), _clean(draft.title)
    author = _sid("identity", draft_id, "author")
    ids = {e.key: _sid(_STIX_TYPE[s], draft_id, f"entry:{e.key}")
           for s in _SECTIONS for e in getattr(draft, s)}  # fmt: skip

    def sdo(kind: str, name: str, /, **props: Any) -> dict[str, Any]:
        obj: dict[str, Any] = {"type": kind, "spec_version": "2.1"}
        obj.update(id=_sid(kind, draft_id, name), created=stamp, modified=stamp)
        if kind != "identity":
            obj["created_by_ref"] = author
        obj.update({k: v for k, v in props.items() if v is not None and v != "" and v != []})
        obj["object_marking_refs"] = [draft.tlp.marking_id]
        return obj

    def link(name: str, kind: str, source: str, target: str) -> dict[str, Any]:
        return sdo("relationship", name, relationship_type=kind, source_ref=ids[source],
                   target_ref=ids[target])  # fmt: skip

    entries = [sdo("threat-actor", f"entry:{p.key}", **_person(p)) for p in draft.persons]
    for x in draft.locations:
        entries.append(
            sdo("location", f"entry:{x.key}", name=_clean(x.name), country=x.country.upper(),
                administrative_area=_clean(x.region), city=_clean(x.city),
                latitude=x.latitude, longitude=x.longitude)
        )  # fmt: skip
    for f in draft.facilities:
        entries.append(sdo("infrastructure", f"entry:{f.key}", name=_clean(f.name),
                           x_liaison_facility_type=f.kind, extensions=_EXTENSIONS))  # fmt: skip
        if f.location_key:
            entries.append(link(f"entry:{f.key}:located-at", "located-at", f.key, f.location_key))
    for i in draft.indicators:
        value = _normalised(i.kind, _clean(i.value))
        entries.append(
            sdo("indicator", f"entry:{i.key}", name=value,
                # The validator wants a description on each indicator: say where it is from.
                description=_clean(i.description) or f"Reported in: {title}",
                pattern=f"[{INDICATOR_PATHS[i.kind]} = '{quote(value)}']",
                pattern_type="stix", valid_from=stamp)
        )  # fmt: skip
    for r in draft.relations:
        entries.append(link(f"entry:{r.key}", r.relationship_type, r.source_key, r.target_key))
    identity = sdo("identity", "author", name=author_name.strip(), identity_class="organization")
    report = sdo(
        "report", "report", name=title, description=_clean(draft.description), published=stamp,
        report_types=["threat-report"],
        # STIX wants one reference at least: a report of only a description names its author.
        object_refs=[obj["id"] for obj in entries] or [author],
    )  # fmt: skip
    objects = [tlp_marking_definition(draft.tlp), identity, report, *entries]
    return {"type": "bundle", "id": f"bundle--{draft_id}", "objects": objects}


def _sid(kind: str, draft_id: uuid.UUID, name: str) -> str:
    return f"{kind}--{uuid.UUID(bytes=uuid.uuid5(draft_id, name).bytes, version=4)}"


def _person(person: PersonEntry) -> dict[str, Any]:
    latin, arabic, birth = _clean(person.name_latin), _clean(person.name_ar), person.date_of_birth
    documents = [
        {"kind": doc.kind, "number": _clean(doc.number)}
        | ({"country": doc.country.upper()} if doc.country else {})
        for doc in person.documents
    ]
    return {
        "name": latin or arabic, "aliases": [arabic] if latin and arabic else [],
        "description": _clean(person.notes), "threat_actor_types": ["terrorist"],
        "resource_level": "individual", "x_liaison_name_ar": arabic,
        "x_liaison_date_of_birth": birth.isoformat() if birth is not None else None,
        "x_liaison_nationality": person.nationality.upper(), "x_liaison_status": person.status,
        "x_liaison_documents": documents, "extensions": _EXTENSIONS,
    }  # fmt: skip


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip())


class _Problems(list[str]):
    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")

    def text(self, where: str, value: str, limit: int, *, required: bool = False) -> str:
        text = _clean(value)
        if required and not text:
            self.add(where, "required")
        elif len(text) > limit:
            self.add(where, f"at most {limit} characters")
        if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in text):
            self.add(where, "must not contain control characters")
        if any(c in _BIDI_CONTROLS for c in text):
            self.add(where, "must not contain bidirectional override or isolate characters")
        return text

    def country(self, where: str, value: str) -> None:
        if value and value.upper() not in ISO_COUNTRIES:
            self.add(where, "must be an ISO 3166-1 two-letter country code, such as IQ")

    def choice(self, where: str, value: str, choices: Sequence[str]) -> None:
        if value not in choices:
            self.add(where, f"must be one of {', '.join(choices)}")


def _check(draft: ReportDraft, *, today: date) -> list[str]:
    p = _Problems()
    p.text("title", draft.title, MAX_TITLE, required=True)
    p.text("description", draft.description, MAX_DESCRIPTION)
    if not any(getattr(draft, s) for s in _SECTIONS) and not draft.description.strip():
        p.add("description", "required when the report has no entries")
    keys: dict[str, str] = {}  # key -> the section that first used it

    def keyed(section: str, index: int, key: str) -> str:
        if not _KEY.fullmatch(key):
            rule = "a lower-case letter, then up to 31 lower-case letters, digits, '-' or '_'"
            p.add(f"{section}.{index}.key", f"must be {rule}")
            return f"{section}.{index}"
        if key in keys:
            p.add(f"{section}.{key}.key", f"duplicate key (also used in {keys[key]})")
        keys.setdefault(key, section)
        return f"{section}.{key}"

    for section in (*_SECTIONS, "relations"):
        if len(getattr(draft, section)) > MAX_ENTRIES:
            p.add(section, f"at most {MAX_ENTRIES} entries")
    for i, person in enumerate(draft.persons):
        at = keyed("persons", i, person.key)
        latin = p.text(f"{at}.name_latin", person.name_latin, MAX_NAME)
        arabic = p.text(f"{at}.name_ar", person.name_ar, MAX_NAME)
        if not latin and not arabic:
            p.add(f"{at}.name_latin", "required: a name in Latin or in Arabic script")
        p.country(f"{at}.nationality", person.nationality)
        birth = person.date_of_birth
        if birth is not None and birth > today:
            p.add(f"{at}.date_of_birth", "must not be in the future")
        elif birth is not None and birth < date(1900, 1, 1):
            p.add(f"{at}.date_of_birth", "must be 1900-01-01 or later")
        p.choice(f"{at}.status", person.status, PERSON_STATUSES)
        if len(person.documents) > MAX_DOCUMENTS:
            p.add(f"{at}.documents", f"at most {MAX_DOCUMENTS} documents")
        for j, doc in enumerate(person.documents):
            p.choice(f"{at}.documents.{j}.kind", doc.kind, DOCUMENT_KINDS)
            p.text(f"{at}.documents.{j}.number", doc.number, MAX_SHORT, required=True)
            p.country(f"{at}.documents.{j}.country", doc.country)
        p.text(f"{at}.notes", person.notes, MAX_NOTES)
    for i, place in enumerate(draft.locations):
        at = keyed("locations", i, place.key)
        p.text(f"{at}.name", place.name, MAX_NAME)
        p.country(f"{at}.country", place.country)
        p.text(f"{at}.region", place.region, MAX_SHORT)
        p.text(f"{at}.city", place.city, MAX_SHORT)
        for name, degrees, bound in (
            ("latitude", place.latitude, 90),
            ("longitude", place.longitude, 180),
        ):
            if degrees is not None and not (math.isfinite(degrees) and abs(degrees) <= bound):
                p.add(f"{at}.{name}", f"must be between -{bound} and {bound}")
        if (place.latitude is None) != (place.longitude is None):
            p.add(f"{at}.{'longitude' if place.longitude is None else 'latitude'}",
                  "required with the other coordinate")  # fmt: skip
        if not place.country and (place.latitude is None or place.longitude is None):
            p.add(f"{at}.country", "required unless latitude and longitude are given")
    for i, facility in enumerate(draft.facilities):
        at = keyed("facilities", i, facility.key)
        p.text(f"{at}.name", facility.name, MAX_NAME, required=True)
        p.choice(f"{at}.kind", facility.kind, FACILITY_KINDS)
        if facility.location_key and keys.get(facility.location_key) != "locations":
            p.add(f"{at}.location_key", f"no location {facility.location_key!r}")
    seen: dict[tuple[str, ...], str] = {
        (f.key, "located-at", f.location_key): f"facilities.{f.key}.location_key"
        for f in draft.facilities
    }
    for i, indicator in enumerate(draft.indicators):
        at = keyed("indicators", i, indicator.key)
        p.choice(f"{at}.kind", indicator.kind, INDICATOR_KINDS)
        value = p.text(f"{at}.value", indicator.value, MAX_VALUE, required=True)
        p.text(f"{at}.description", indicator.description, MAX_NOTES)
        if not value or indicator.kind not in INDICATOR_PATHS:
            continue
        try:
            value = _normalised(indicator.kind, value)
        except ValueError as exc:
            p.add(f"{at}.value", str(exc))
            continue
        if (indicator.kind, value) in seen:
            p.add(f"{at}.value", f"the same indicator as {seen[indicator.kind, value]}")
        seen.setdefault((indicator.kind, value), at)
    entries = dict(keys)  # what relations may join: every entry, no relation
    for i, relation in enumerate(draft.relations):
        at = keyed("relations", i, relation.key)
        source, kind, target = relation.source_key, relation.relationship_type, relation.target_key
        for name, key in (("source_key", source), ("target_key", target)):
            if key not in entries:
                p.add(f"{at}.{name}", f"no entry {key!r}" if key else "required")
        ends = (entries.get(source), entries.get(target))
        if kind not in RELATIONSHIP_ENDPOINTS:
            p.choice(f"{at}.relationship_type", kind, RELATIONSHIP_TYPES)
        elif source and source == target:
            p.add(f"{at}.target_key", "must not be the source itself")
        elif None in ends:
            continue
        elif ends not in RELATIONSHIP_ENDPOINTS[kind]:
            p.add(f"{at}.relationship_type", f"{kind!r} does not relate {ends[0]} to {ends[1]}")
        elif (source, kind, target) in seen:
            p.add(f"{at}.target_key", f"the same relation as {seen[source, kind, target]}")
        seen.setdefault((source, kind, target), at)
    return list(p)


def _normalised(kind: str, value: str) -> str:
    """An indicator value as its pattern compares it; ValueError saying what is expected if not."""
    if kind == "phone":
        number = re.sub(r"[\s().\-/]", "", value)
        number = "+" + number[2:] if number.startswith("00") else number
        if not re.fullmatch(r"\+[1-9][0-9]{6,14}", number):
            raise ValueError("must be an international number, such as +964 770 123 4567")
        return number
    if kind in ("ipv4", "ipv6"):
        try:
            address = ipaddress.ip_network(value) if "/" in value else ipaddress.ip_address(value)
        except ValueError:
            address = None
        if address is None or f"ipv{address.version}" != kind:
            example = "198.51.100.7 or 198.51.100.0/24" if kind == "ipv4" else "2001:db8::7"
            raise ValueError(f"must be an IP{kind[2:]} address or network, such as {example}")
        return str(address)
    if kind in _HEX_DIGITS:
        if not re.fullmatch(rf"[0-9a-fA-F]{{{_HEX_DIGITS[kind]}}}", value):
            raise ValueError(f"must be {_HEX_DIGITS[kind]} hexadecimal digits")
        return value.lower()
    if kind == "domain":
        return _domain(value, "must be a domain name, such as example.org")
    if kind == "email":
        message = "must be an e-mail address, such as name@example.org"
        local, at, domain = value.rpartition("@")
        if not at or len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local):
            raise ValueError(message)
        return f"{local}@{_domain(domain, message)}"
    return _url(value)


def _domain(value: str, message: str) -> str:
    name = value.rstrip(".").lower()
    try:
        name = name if name.isascii() else name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(message) from exc
    labels = name.split(".")
    valid = len(name) <= 253 and len(labels) > 1 and not labels[-1].isdigit()
    if not valid or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(message)
    return name


def _url(value: str) -> str:
    message = "must be an http, https or ftp URL, such as https://example.org/page"
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in value):
        raise ValueError(message)
    try:
        parts = urlsplit(value)
        host, _ = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError(message) from exc
    if parts.scheme.lower() not in ("http", "https", "ftp") or not host:
        raise ValueError(message)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        _domain(host, message)
    return value
