"""MISP's ``person`` object, as misp-stix exports it, moved to the properties a composed person has.

misp-stix (MISP/misp-stix, ``_parse_person_object`` in
``misp_stix_converter/misp2stix/misp_to_stix2.py``; the expected output in
``documentation/mapping/misp_objects_to_stix21.json``, key ``person``) exports a person as an
``identity`` with ``identity_class: "individual"``, the object's uuid in its id, and labels
``misp:name="person"`` and ``misp:meta-category="misc"``. First, middle and last name become
``name`` (unless there is a ``full-name``), ``text`` the description, ``role`` the roles, e-mail,
phone, fax and address ``contact_information``; every other attribute becomes
``x_misp_<relation with "-" as "_">``: a string, or a list when the object holds that attribute
more than once (``_handle_observable_multiple_properties``). The MISP template (MISP/misp-objects,
``objects/person/definition.json``) asks for ``date-of-birth`` "in YYYY-MM-DD format" and leaves
``nationality``, ``passport-country`` and ``passport-number`` free text (its example: ``USA``).

:func:`move_fields` moves what it can read with certainty to the properties
``service.reports.compose`` writes, so that sharing policies redact imported persons like composed
ones: ``x_liaison_documents`` (``[{kind, number, country}]``: a ``passport`` per passport number,
a ``national-id`` per identity-card number), ``x_liaison_date_of_birth`` (YYYY-MM-DD) and
``x_liaison_nationality`` (an ISO 3166-1 alpha-2 code, upper case), declared by the
``toplevel-property-extension`` :data:`EXTENSION_ID`. What it cannot read (a date in another form
or impossible, a country name rather than a code, several countries for several passports) stays
where it was, with a change saying so: a guessed date of birth or pairing would be silently wrong.
The object keeps its type: an ``identity`` becoming a ``threat-actor`` would change its id and
every reference to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from service.imports.changes import (
    EXTENSION_DECLARED,
    MISP_PERSON_FIELD,
    MISP_PERSON_FIELD_KEPT,
    Change,
)

__all__ = ["EXTENSION_ID", "is_person", "move_fields"]

EXTENSION_ID = "extension-definition--7485a89b-7f4b-4d52-a8b2-308a08acaffc"
"""``service.reports.compose.EXTENSION_ID``, the extension declaring the ``x_liaison_`` properties.

Written out because the reports package exports it from no surface and pyproject.toml's import
contract forbids reaching into ``service.reports.compose``; a test checks the two are the same."""

_EXTENSION = {"extension_type": "toplevel-property-extension"}  # as compose declares it
_DOCUMENTS = {"x_misp_passport_number": "passport", "x_misp_identity_card_number": "national-id"}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_EARLIEST = date(1900, 1, 1)  # as compose: a date before is a typing error, not a birth


def is_person(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is a person as misp-stix exports one: an individual ``identity`` with
    ``x_misp_`` properties."""
    return (
        obj.get("type") == "identity"
        and obj.get("identity_class") == "individual"
        and any(isinstance(key, str) and key.startswith("x_misp_") for key in obj)
    )


def move_fields(obj: Mapping[str, Any]) -> tuple[dict[str, Any], list[Change]]:
    """``obj`` with its MISP person fields moved (see the module docstring), and one change per
    field moved or kept, then one for the extension if it was declared. ``obj`` is not changed.

    A field whose ``x_liaison_`` property the object already has is kept, not merged."""
    new, changes, oid = dict(obj), list[Change](), obj["id"]

    def moved(field: str, target: str, how: str) -> None:
        del new[field]
        changes.append(Change(oid, MISP_PERSON_FIELD, f"{oid}: {field} moved to {target}{how}"))

    def kept(field: str, why: str) -> None:
        changes.append(Change(oid, MISP_PERSON_FIELD_KEPT, f"{oid}: {field} kept: {why}"))

    present = [field for field in _DOCUMENTS if field in obj]
    documents: list[dict[str, str]] = []
    if "x_liaison_documents" in obj:
        for field in [*present, "x_misp_passport_country"]:
            if field in obj:
                kept(field, "the object already has x_liaison_documents")
    else:
        for field in present:
            numbers = _strings(obj[field])
            if numbers is None:
                kept(field, "not a number or a list of numbers")
                continue
            kind = _DOCUMENTS[field]
            documents.extend({"kind": kind, "number": number} for number in numbers)
            count = f"{len(numbers)} {kind}s" if len(numbers) > 1 else f"a {kind}"
            moved(field, "x_liaison_documents", f" as {count}")
        if "x_misp_passport_country" in obj:
            _passport_country(obj["x_misp_passport_country"], documents, moved, kept)
        if documents:
            new["x_liaison_documents"] = documents
    if "x_misp_date_of_birth" in obj:
        birth = _date(obj["x_misp_date_of_birth"])
        if "x_liaison_date_of_birth" in obj:
            kept("x_misp_date_of_birth", "the object already has x_liaison_date_of_birth")
        elif birth is None:
            kept("x_misp_date_of_birth", "not a date of 1900 or later in YYYY-MM-DD form")
        else:
            new["x_liaison_date_of_birth"] = birth
            moved("x_misp_date_of_birth", "x_liaison_date_of_birth", "")
    if "x_misp_nationality" in obj:
        nationality = obj["x_misp_nationality"]
        if "x_liaison_nationality" in obj:
            kept("x_misp_nationality", "the object already has x_liaison_nationality")
        elif not (isinstance(nationality, str) and _COUNTRY.fullmatch(nationality.strip())):
            kept("x_misp_nationality", "not one ISO 3166-1 two-letter country code")
        else:
            new["x_liaison_nationality"] = nationality.strip().upper()
            moved("x_misp_nationality", "x_liaison_nationality", " as an upper-case country code")
    if any(change.kind == MISP_PERSON_FIELD for change in changes):
        changes.extend(_declare(new))
    return new, changes


def _passport_country(
    country: object,
    documents: list[dict[str, str]],
    moved: Callable[[str, str, str], None],
    kept: Callable[[str, str], None],
) -> None:
    """Adds ``x_misp_passport_country`` to the one passport, when it is one readable code."""
    field = "x_misp_passport_country"
    passports = [document for document in documents if document["kind"] == "passport"]
    if not passports:
        kept(field, "no passport number to pair it with")
    elif len(passports) > 1:
        kept(field, f"{len(passports)} passports, and nothing says which one it belongs to")
    elif not (isinstance(country, str) and _COUNTRY.fullmatch(country.strip())):
        kept(field, "not one ISO 3166-1 two-letter country code")
    else:
        passports[0]["country"] = country.strip().upper()
        moved(field, "x_liaison_documents", " as the passport's country")


def _strings(value: object) -> list[str] | None:
    """A misp-stix value as its non-blank strings (one, or a list of them), or None."""
    values = value if isinstance(value, list) else [value]
    strings = [v.strip() for v in values if isinstance(v, str) and v.strip()]
    return strings if strings and len(strings) == len(values) else None


def _date(value: object) -> str | None:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        birth = date.fromisoformat(value)
    except ValueError:  # 1980-02-30, month 13
        return None
    return value if birth >= _EARLIEST else None


def _declare(new: dict[str, Any]) -> list[Change]:
    """Declares the extension on ``new`` (a copy this module owns), unless it is declared already
    or ``extensions`` is not an object (the validator's to refuse, not to be overwritten)."""
    extensions = new.setdefault("extensions", {})
    if not isinstance(extensions, dict) or EXTENSION_ID in extensions:
        return []
    new["extensions"] = {**extensions, EXTENSION_ID: dict(_EXTENSION)}
    oid = new["id"]
    return [Change(oid, EXTENSION_DECLARED, f"{oid}: extension {EXTENSION_ID} declared for "
                   "its x_liaison_ properties (toplevel-property-extension)")]  # fmt: skip
