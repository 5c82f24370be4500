"""The report form: HTML form fields to and from a ``reports.ReportDraft``.

The form works without script: each section (persons, places, facilities, indicators,
relations) has a number of rows, carried in hidden ``<section>-rows`` fields, and "add rows"
posts the form back with one more of each. Row ``i`` of a section is the entry keyed
``p{i+1}``, ``l{i+1}``, ``f{i+1}``, ``i{i+1}`` or ``r{i+1}`` (the keys relations refer to); a
row left empty is no entry. Field names are ``<section>-<i>-<field>``.

Parsing never raises: text that is not a date or a number becomes a field error, addressed as
``reports.DraftInvalid`` addresses its own (``persons.p1.date_of_birth``), so the page shows
every message beside its field.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from policies import TLP
from service import reports

SECTIONS = ("persons", "locations", "facilities", "indicators", "relations")
PREFIX = {"persons": "p", "locations": "l", "facilities": "f", "indicators": "i", "relations": "r"}
DEFAULT_ROWS = {"persons": 2, "locations": 2, "facilities": 1, "indicators": 3, "relations": 3}
MAX_ROWS = 40
FIELDS = {
    "persons": ("name_latin", "name_ar", "nationality", "date_of_birth", "status", "doc_kind",
                "doc_number", "doc_country", "notes"),
    "locations": ("name", "country", "region", "city", "latitude", "longitude"),
    "facilities": ("name", "kind", "location_key"),
    "indicators": ("kind", "value", "description"),
    "relations": ("source_key", "relationship_type", "target_key"),
}  # fmt: skip
# Fields whose default value alone does not make a row an entry.
CHOICES_ONLY = {"status", "doc_kind", "kind", "relationship_type"}
DRAFT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@dataclass
class ReportForm:
    """The form as posted (or new): values by field name, rows per section, errors by field."""

    values: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_ROWS))
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    draft_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    partners: list[str] = field(default_factory=list)

    def value(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def row_value(self, section: str, index: int, name: str, default: str = "") -> str:
        return self.values.get(f"{section}-{index}-{name}", default)

    def key(self, section: str, index: int) -> str:
        return f"{PREFIX[section]}{index + 1}"

    def field_errors(self, section: str, index: int, name: str) -> list[str]:
        return self.errors.get(f"{section}.{self.key(section, index)}.{name}", [])

    def add_error(self, address: str, message: str) -> None:
        self.errors.setdefault(address, []).append(message)

    def take(self, messages: list[str]) -> None:
        """File ``DraftInvalid`` messages (``address: text``) under their fields."""
        for message in messages:
            address, sep, text = message.partition(": ")
            if sep and address:
                self.add_error(_form_address(address), text)
            else:
                self.general.append(message)

    def keys(self) -> list[tuple[str, str, int]]:
        """Every entry key a relation may name: (key, section, row)."""
        return [
            (self.key(section, i), section, i)
            for section in SECTIONS[:-1]
            for i in range(self.rows[section])
        ]

    def label_of(self, section: str, index: int) -> str:
        """What the officer wrote as the row's name (for the relation choices)."""
        if section == "persons":
            return self.row_value(section, index, "name_latin") or self.row_value(
                section, index, "name_ar"
            )
        if section == "indicators":
            return self.row_value(section, index, "value")
        return self.row_value(section, index, "name")


def _form_address(address: str) -> str:
    # persons.p1.documents.0.number -> persons.p1.doc_number (the form has one document row)
    parts = address.split(".")
    if len(parts) >= 5 and parts[2] == "documents":
        return ".".join([*parts[:2], f"doc_{parts[4]}"])
    return address


def new_form(partners: list[str]) -> ReportForm:
    return ReportForm(values={"tlp": TLP.AMBER.value}, partners=list(partners))


def read_form(posted: Mapping[str, Any], *, more_rows: bool = False) -> ReportForm:
    """The form as posted (strings only: a file or a repeated field counts as absent)."""
    values = {k: v.strip() for k, v in posted.items() if isinstance(v, str)}
    rows = {}
    for section in SECTIONS:
        try:
            count = int(values.get(f"{section}-rows", DEFAULT_ROWS[section]))
        except ValueError:
            count = DEFAULT_ROWS[section]
        rows[section] = max(1, min(MAX_ROWS, count + (1 if more_rows else 0)))
    draft_id = values.get("draft_id", "")
    partners = [p for p in _all(posted, "to") if p]
    form = ReportForm(values=values, rows=rows, partners=partners)
    if DRAFT_ID.fullmatch(draft_id):
        form.draft_id = draft_id
    return form


def _all(posted: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(posted, "getlist", None)
    items = getlist(name) if getlist else [posted.get(name)]
    return [item for item in items if isinstance(item, str)]


def to_draft(form: ReportForm) -> reports.ReportDraft | None:
    """The draft the form describes, or None when a field cannot even be read (its error filed
    in ``form.errors``); ``reports.compose`` then checks the draft itself."""
    try:
        tlp = TLP(form.value("tlp"))
    except ValueError:
        form.add_error("tlp", "choose a TLP level")
        tlp = TLP.AMBER
    entries: dict[str, list[Any]] = {section: [] for section in SECTIONS}
    for section in SECTIONS:
        for i in range(form.rows[section]):
            row = {name: form.row_value(section, i, name) for name in FIELDS[section]}
            if not any(v for n, v in row.items() if n not in CHOICES_ONLY):
                continue
            entry = _entry(form, section, form.key(section, i), row)
            if entry is not None:
                entries[section].append(entry)
    if form.errors:
        return None
    return reports.ReportDraft(
        title=form.value("title"),
        tlp=tlp,
        description=form.value("description"),
        persons=entries["persons"],
        locations=entries["locations"],
        facilities=entries["facilities"],
        indicators=entries["indicators"],
        relations=entries["relations"],
    )


def _entry(form: ReportForm, section: str, key: str, row: dict[str, str]) -> Any:
    address = f"{section}.{key}"
    if section == "persons":
        born = _date(form, f"{address}.date_of_birth", row["date_of_birth"])
        documents = []
        if row["doc_number"]:
            documents.append(
                reports.DocumentEntry(
                    kind=row["doc_kind"] or "passport",  # type: ignore[arg-type]
                    number=row["doc_number"],
                    country=row["doc_country"].upper(),
                )
            )
        return reports.PersonEntry(
            key=key,
            name_latin=row["name_latin"],
            name_ar=row["name_ar"],
            nationality=row["nationality"].upper(),
            date_of_birth=born,
            status=row["status"] or "unknown",  # type: ignore[arg-type]
            documents=documents,
            notes=row["notes"],
        )
    if section == "locations":
        return reports.LocationEntry(
            key=key,
            name=row["name"],
            country=row["country"].upper(),
            region=row["region"],
            city=row["city"],
            latitude=_number(form, f"{address}.latitude", row["latitude"]),
            longitude=_number(form, f"{address}.longitude", row["longitude"]),
        )
    if section == "facilities":
        return reports.FacilityEntry(
            key=key,
            name=row["name"],
            kind=row["kind"] or "prison",  # type: ignore[arg-type]
            location_key=row["location_key"],
        )
    if section == "indicators":
        return reports.IndicatorEntry(
            key=key,
            kind=row["kind"],  # type: ignore[arg-type]
            value=row["value"],
            description=row["description"],
        )
    return reports.RelationEntry(
        key=key,
        source_key=row["source_key"],
        relationship_type=row["relationship_type"] or "related-to",
        target_key=row["target_key"],
    )


def _date(form: ReportForm, address: str, text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        form.add_error(address, "a date as YYYY-MM-DD")
        return None


def _number(form: ReportForm, address: str, text: str) -> float | None:
    if not text:
        return None
    try:
        return float(text.replace("\u066b", ".").translate(ARABIC_DIGITS))
    except ValueError:
        form.add_error(address, "a number, e.g. 33.3152")
        return None


ARABIC_DIGITS = str.maketrans(
    "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669", "0123456789"
)
