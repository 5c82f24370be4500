"""Officers' form entries composed into STIX 2.1 (``service.reports.compose``): every bundle passes
the node's own validation with no error and no warning, the ids are deterministic, every problem
of a draft is reported at once beside its field, and the IQ->SY reference policy releases what
was composed.

Known answers come from outside: the TLP 2.0 marking definitions are read from
``../shared/stix/tlp2/`` and the marking-definition ids are copied from ``../shared/stix/README``.
All names are invented.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from policies import (
    EXAMPLES_DIR,
    TLP,
    Origin,
    Policy,
    decide_inbound,
    decide_outbound,
    load_policy_dir,
)
from service.errors import Unprocessable
from service.reports.compose import (
    INDICATOR_KINDS,
    RELATIONSHIP_ENDPOINTS,
    RELATIONSHIP_TYPES,
    DocumentEntry,
    DraftInvalid,
    FacilityEntry,
    IndicatorEntry,
    LocationEntry,
    PersonEntry,
    RelationEntry,
    ReportDraft,
    compose,
)
from service.reports.stix import ValidatedReport, validate_report
from tests.conftest import shared_path

NOW = datetime(2026, 11, 20, 8, 30, 15, 123456, tzinfo=UTC)
STAMP = "2026-11-20T08:30:15.123Z"
DRAFT_ID = uuid.UUID("6f1c2a9e-3b7d-4e5f-9a1b-2c3d4e5f6a7b")
AUTHOR = "IQ Liaison Office (fictional)"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"  # ../shared/stix/README.md
TLP_FILES = {
    TLP.CLEAR: "clear",
    TLP.GREEN: "green",
    TLP.AMBER: "amber",
    TLP.AMBER_STRICT: "amber-strict",
    TLP.RED: "red",
}
TRICKY_URL = "https://files.example/drop\\box/o'neil's.zip"
INDICATOR_VALUES = {
    "phone": "+964 770 123 4567",
    "ipv4": "198.51.100.7",
    "ipv6": "2001:db8::7",
    "domain": "courier-relay.example",
    "url": TRICKY_URL,
    "email": "abu.saif@mail.example",
    "md5": "d41d8cd98f00b204e9800998ecf8427e",
    "sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
}

ABU_SAIF = PersonEntry(
    key="p1",
    name_latin="Abu Saif al-Mawsili",
    name_ar="أبو سيف الموصلي",
    nationality="IQ",
    date_of_birth=date(1988, 3, 14),
    status="escaped",
    documents=[DocumentEntry("passport", "A1234567", "IQ"), DocumentEntry("national-id", "0099")],
    notes="Fictional: left the facility during the night of the transfer.",
)


def full_draft(**changes: Any) -> ReportDraft:
    """A draft with every kind of entry (all invented)."""
    draft = ReportDraft(
        title="Escape from a fictional detention facility (K-4)",
        tlp=TLP.AMBER,
        description="Fictional: two detainees escaped; one is wanted.",
        persons=[ABU_SAIF, PersonEntry("p2", name_ar="أبو حمزة الأنباري", status="wanted")],
        locations=[
            LocationEntry("l1", "Old town", "IQ", "Nineveh", "Mosul", 36.34, 43.13),
            LocationEntry("l2", latitude=33.51, longitude=36.29),
        ],
        facilities=[
            FacilityEntry("f1", "Detention facility K-4", "prison", "l1"),
            FacilityEntry("f2", "Checkpoint 9", "checkpoint"),
        ],
        indicators=[
            IndicatorEntry(f"i{n}", kind, value, f"Fictional {kind}")
            for n, (kind, value) in enumerate(INDICATOR_VALUES.items(), 1)
        ],
        relations=[
            RelationEntry("r1", "p1", "located-at", "l2"),
            RelationEntry("r2", "i1", "indicates", "p1"),
            RelationEntry("r3", "p2", "uses", "f2"),
            RelationEntry("r4", "p1", "related-to", "f1"),
        ],
    )
    return dataclasses.replace(draft, **changes)


def composed(draft: ReportDraft, draft_id: uuid.UUID = DRAFT_ID) -> dict[str, Any]:
    return compose(draft, author_name=AUTHOR, now=NOW, draft_id=draft_id)


def validated(bundle: dict[str, Any]) -> ValidatedReport:
    """The node's own validation, which must find nothing to warn about either."""
    report = validate_report(json.dumps(bundle).encode())
    assert report.warnings == ()
    return report


def validated_bundle(draft: ReportDraft) -> dict[str, Any]:
    bundle = composed(draft)
    validated(bundle)
    return bundle


def by_type(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in bundle["objects"] if obj["type"] == kind]


def problems(draft: ReportDraft) -> list[str]:
    with pytest.raises(DraftInvalid) as caught:
        composed(draft)
    return caught.value.errors


# --- valid drafts -------------------------------------------------------------------------------


def test_a_full_draft_passes_the_node_validation_without_warnings() -> None:
    bundle = composed(full_draft())
    report = validated(bundle)
    assert (report.bundle_id, report.tlp, report.tlp_source) == (
        f"bundle--{DRAFT_ID}",
        TLP.AMBER,
        "tlp2",
    )
    assert report.object_types == (
        "identity",
        "indicator",
        "infrastructure",
        "location",
        "marking-definition",
        "relationship",
        "report",
        "threat-actor",
    )


@pytest.mark.parametrize(
    "draft",
    [
        ReportDraft("A person alone", TLP.GREEN, persons=[ABU_SAIF]),
        ReportDraft("A name in Arabic only", TLP.GREEN, persons=[PersonEntry("p1", name_ar="أبو")]),
        ReportDraft("A place", TLP.GREEN, locations=[LocationEntry("l1", country="SY")]),
        ReportDraft(
            "Coordinates", TLP.GREEN, locations=[LocationEntry("l1", latitude=0, longitude=0)]
        ),
        ReportDraft("A facility", TLP.GREEN, facilities=[FacilityEntry("f1", "Camp 3", "camp")]),
        ReportDraft("A description only", TLP.CLEAR, description="Nothing new (fictional)."),
        *(
            ReportDraft(f"One {kind}", TLP.GREEN, indicators=[IndicatorEntry("i1", kind, value)])
            for kind, value in INDICATOR_VALUES.items()
        ),
    ],
    ids=lambda draft: draft.title,
)
def test_each_kind_of_entry_alone_validates_without_warnings(draft: ReportDraft) -> None:
    validated(composed(draft))


@pytest.mark.parametrize("level", list(TLP))
def test_each_tlp_level_carries_the_official_marking_definition(level: TLP) -> None:
    bundle = composed(full_draft(tlp=level))
    official = json.loads(shared_path("stix", "tlp2", f"tlp2-{TLP_FILES[level]}.json").read_text())
    assert bundle["objects"][0] == official["objects"][0]
    assert validated(bundle).tlp == level
    assert {ref for obj in bundle["objects"][1:] for ref in obj["object_marking_refs"]} == {
        official["objects"][0]["id"]
    }


def test_every_allowed_relation_validates_without_warnings() -> None:
    """Two entries per section and one relation for every (type, source, target) allowed: the
    validator suggests every one of them (its relationship-types check stays silent)."""
    draft = ReportDraft(
        "Every relation (fictional)",
        TLP.AMBER,
        persons=[PersonEntry("p1", "Abu Saif"), PersonEntry("p2", "Abu Hamza")],
        locations=[LocationEntry("l1", country="IQ"), LocationEntry("l2", country="SY")],
        facilities=[FacilityEntry("f1", "K-4", "prison"), FacilityEntry("f2", "Camp 3", "camp")],
        indicators=[
            IndicatorEntry("i1", "domain", "a.example"),
            IndicatorEntry("i2", "ipv4", "192.0.2.1"),
        ],
        relations=[
            RelationEntry(
                f"r{n}", f"{source[0]}1", kind, f"{target[0]}{2 if source == target else 1}"
            )
            for n, (kind, source, target) in enumerate(
                sorted((k, s, t) for k, ends in RELATIONSHIP_ENDPOINTS.items() for s, t in ends)
            )
        ],
    )
    bundle = composed(draft)
    validated(bundle)
    kinds = {rel["relationship_type"] for rel in by_type(bundle, "relationship")}
    assert kinds == set(RELATIONSHIP_TYPES)
    assert RELATIONSHIP_TYPES[0] == "related-to"


# --- what the objects say -----------------------------------------------------------------------


def test_a_person_is_a_threat_actor_individual_with_custom_properties() -> None:
    bundle = composed(full_draft())
    person = by_type(bundle, "threat-actor")[0]
    assert person["name"] == "Abu Saif al-Mawsili"
    assert person["aliases"] == ["أبو سيف الموصلي"]
    assert (person["resource_level"], person["threat_actor_types"]) == ("individual", ["terrorist"])
    assert person["x_liaison_name_ar"] == "أبو سيف الموصلي"
    assert person["x_liaison_date_of_birth"] == "1988-03-14"
    assert (person["x_liaison_nationality"], person["x_liaison_status"]) == ("IQ", "escaped")
    assert person["x_liaison_documents"] == [
        {"kind": "passport", "number": "A1234567", "country": "IQ"},
        {"kind": "national-id", "number": "0099"},
    ]
    assert person["description"].startswith("Fictional")
    extension = person["extensions"]
    assert list(extension.values()) == [{"extension_type": "toplevel-property-extension"}]
    assert "identity_class" not in person

    arabic_only = by_type(bundle, "threat-actor")[1]
    assert arabic_only["name"] == "أبو حمزة الأنباري"
    assert "aliases" not in arabic_only and "x_liaison_date_of_birth" not in arabic_only


def test_locations_facilities_indicators_and_relations() -> None:
    bundle = composed(full_draft())
    place = by_type(bundle, "location")[0]
    assert {k: place[k] for k in ("name", "country", "administrative_area", "city")} == {
        "name": "Old town",
        "country": "IQ",
        "administrative_area": "Nineveh",
        "city": "Mosul",
    }
    assert (place["latitude"], place["longitude"]) == (36.34, 43.13)
    facility = by_type(bundle, "infrastructure")[0]
    assert (facility["name"], facility["x_liaison_facility_type"]) == (
        "Detention facility K-4",
        "prison",
    )
    located = [r for r in by_type(bundle, "relationship") if r["source_ref"] == facility["id"]]
    assert [(r["relationship_type"], r["target_ref"]) for r in located] == [
        ("located-at", place["id"])
    ]
    patterns = {ind["name"]: ind["pattern"] for ind in by_type(bundle, "indicator")}
    assert patterns["+9647701234567"] == "[phone-number:value = '+9647701234567']"
    assert patterns["2001:db8::7"] == "[ipv6-addr:value = '2001:db8::7']"
    assert patterns[INDICATOR_VALUES["sha1"]] == (
        f"[file:hashes.'SHA-1' = '{INDICATOR_VALUES['sha1']}']"
    )
    assert all(
        ind["pattern_type"] == "stix" and ind["valid_from"] == STAMP
        for ind in by_type(bundle, "indicator")
    )


def test_the_report_refers_to_every_object_but_the_marking_and_the_author() -> None:
    bundle = composed(full_draft())
    marking, author, report, *rest = bundle["objects"]
    assert (marking["type"], author["type"], report["type"]) == (
        "marking-definition",
        "identity",
        "report",
    )
    assert (author["name"], author["identity_class"]) == (AUTHOR, "organization")
    assert report["object_refs"] == [obj["id"] for obj in rest]
    assert report["name"] == full_draft().title
    assert (report["published"], report["report_types"]) == (STAMP, ["threat-report"])
    for obj in bundle["objects"][1:]:
        assert (obj["spec_version"], obj["created"], obj["modified"]) == ("2.1", STAMP, STAMP)
        assert obj["object_marking_refs"] == [AMBER]
        assert obj.get("created_by_ref", author["id"]) == author["id"]


def test_a_report_of_only_a_description_refers_to_its_author() -> None:
    bundle = composed(ReportDraft("Nothing new", TLP.GREEN, description="Fictional."))
    assert by_type(bundle, "report")[0]["object_refs"] == [by_type(bundle, "identity")[0]["id"]]


def test_text_is_stripped_and_nfc_normalised() -> None:
    decomposed = "Cafe\u0301 meeting"  # e + combining acute
    bundle = composed(ReportDraft(f"  {decomposed}  ", TLP.GREEN, description="x"))
    assert by_type(bundle, "report")[0]["name"] == "Caf\u00e9 meeting"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("+964 770 123 4567", "+9647701234567"), ("00964 (770) 123-4567", "+9647701234567")],
)
def test_phone_numbers_are_stored_in_e164_form(raw: str, stored: str) -> None:
    draft = ReportDraft("Phone", TLP.GREEN, indicators=[IndicatorEntry("i1", "phone", raw)])
    assert by_type(composed(draft), "indicator")[0]["name"] == stored


# --- ids ----------------------------------------------------------------------------------------


def test_the_same_draft_gives_the_same_bundle() -> None:
    assert composed(full_draft()) == composed(full_draft())


def test_ids_are_uuid4_and_follow_the_entry_keys() -> None:
    bundle = composed(full_draft())
    ids = [obj["id"] for obj in bundle["objects"][1:]]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i.split("--")[1]).version == 4 for i in ids)
    # Editing the title keeps every entry's id; another draft id changes them all.
    edited = composed(full_draft(title="Escape from K-4 (revised)"))
    assert [obj["id"] for obj in edited["objects"][1:]] == ids
    other = composed(full_draft(), draft_id=uuid.UUID("0b6f3d1e-2c4a-4e8f-9a7b-1d2e3f405162"))
    assert not {obj["id"] for obj in other["objects"][1:]} & set(ids)


def test_time_is_written_in_utc_with_milliseconds() -> None:
    baghdad = NOW.astimezone(timezone(timedelta(hours=3)))
    bundle = compose(full_draft(), author_name=AUTHOR, now=baghdad, draft_id=DRAFT_ID)
    assert bundle == composed(full_draft())


@pytest.mark.parametrize(
    "arguments",
    [
        {"now": datetime(2026, 11, 20, 8, 30)},  # naive
        {"draft_id": uuid.uuid5(uuid.NAMESPACE_DNS, "iq.example")},
        {"author_name": "  "},
    ],
    ids=["naive-now", "uuid5-draft-id", "blank-author"],
)
def test_programming_errors_are_value_errors(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        compose(
            full_draft(), **{"author_name": AUTHOR, "now": NOW, "draft_id": DRAFT_ID, **arguments}
        )


# --- quoting ------------------------------------------------------------------------------------


def test_quotes_and_backslashes_are_escaped_in_patterns() -> None:
    bundle = composed(full_draft())
    (url,) = [ind for ind in by_type(bundle, "indicator") if ind["name"] == TRICKY_URL]
    assert url["pattern"] == "[url:value = 'https://files.example/drop\\\\box/o\\'neil\\'s.zip']"
    email = ReportDraft(
        "E-mail", TLP.GREEN, indicators=[IndicatorEntry("i1", "email", "o'hara@x.example")]
    )
    assert by_type(validated_bundle(email), "indicator")[0]["pattern"] == (
        "[email-addr:value = 'o\\'hara@x.example']"
    )


# --- refused drafts -----------------------------------------------------------------------------


def person(**changes: Any) -> ReportDraft:
    return full_draft(persons=[dataclasses.replace(ABU_SAIF, **changes), *full_draft().persons[1:]])


def indicator(kind: str, value: str) -> ReportDraft:
    return full_draft(indicators=[IndicatorEntry("i1", kind, value)])


def relation(source: str, kind: str, target: str) -> ReportDraft:
    return full_draft(relations=[RelationEntry("r1", source, kind, target)])


def location(**changes: Any) -> ReportDraft:
    return full_draft(
        locations=[dataclasses.replace(full_draft().locations[0], **changes)], relations=[]
    )


IPV4 = "must be an IPv4 address or network, such as 198.51.100.7 or 198.51.100.0/24"
CASES: list[tuple[str, ReportDraft, str]] = [
    ("no-title", full_draft(title=" "), "title: required"),
    ("long-title", full_draft(title="x" * 201), "title: at most 200 characters"),
    (
        "empty",
        ReportDraft("Empty", TLP.GREEN),
        "description: required when the report has no entries",
    ),
    (
        "long-description",
        full_draft(description="x" * 20_001),
        "description: at most 20000 characters",
    ),
    (
        "no-name",
        person(name_latin="", name_ar=""),
        "persons.p1.name_latin: required: a name in Latin or in Arabic script",
    ),
    ("long-name", person(name_ar="أ" * 201), "persons.p1.name_ar: at most 200 characters"),
    (
        "future-birth",
        person(date_of_birth=date(2026, 11, 21)),
        "persons.p1.date_of_birth: must not be in the future",
    ),
    (
        "old-birth",
        person(date_of_birth=date(1899, 12, 31)),
        "persons.p1.date_of_birth: must be 1900-01-01 or later",
    ),
    (
        "nationality",
        person(nationality="IRQ"),
        "persons.p1.nationality: must be an ISO 3166-1 two-letter country code, such as IQ",
    ),
    (
        "unknown-country",
        person(nationality="XX"),
        "persons.p1.nationality: must be an ISO 3166-1 two-letter country code, such as IQ",
    ),
    (
        "status",
        person(status="missing"),
        "persons.p1.status: must be one of wanted, detained, escaped, released, deceased, unknown",
    ),
    (
        "document-kind",
        person(documents=[DocumentEntry("visa", "1")]),
        "persons.p1.documents.0.kind: must be one of passport, national-id, other",
    ),
    (
        "document-number",
        person(documents=[DocumentEntry("passport", " ")]),
        "persons.p1.documents.0.number: required",
    ),
    (
        "document-country",
        person(documents=[DocumentEntry("passport", "1", "Iraq")]),
        "persons.p1.documents.0.country: must be an ISO 3166-1 two-letter country code, such as IQ",
    ),
    (
        "documents",
        person(documents=[DocumentEntry("other", str(n)) for n in range(21)]),
        "persons.p1.documents: at most 20 documents",
    ),
    (
        "control",
        person(notes="line\x00break"),
        "persons.p1.notes: must not contain control characters",
    ),
    (
        "bidi",
        person(name_latin="Abu Saif\u202elaw"),
        "persons.p1.name_latin: must not contain bidirectional override or isolate characters",
    ),
    ("latitude", location(latitude=91.0), "locations.l1.latitude: must be between -90 and 90"),
    (
        "longitude",
        location(longitude=-180.5),
        "locations.l1.longitude: must be between -180 and 180",
    ),
    (
        "nan",
        location(latitude=float("nan")),
        "locations.l1.latitude: must be between -90 and 90",
    ),
    (
        "one-coordinate",
        location(longitude=None),
        "locations.l1.longitude: required with the other coordinate",
    ),
    (
        "nowhere",
        location(country="", latitude=None, longitude=None),
        "locations.l1.country: required unless latitude and longitude are given",
    ),
    (
        "facility-name",
        full_draft(facilities=[FacilityEntry("f1", "", "camp")], relations=[]),
        "facilities.f1.name: required",
    ),
    (
        "facility-kind",
        full_draft(facilities=[FacilityEntry("f1", "K", "hotel")], relations=[]),
        "facilities.f1.kind: must be one of prison, detention-centre, camp, checkpoint, other",
    ),
    (
        "facility-place",
        full_draft(facilities=[FacilityEntry("f1", "K", "camp", "p1")], relations=[]),
        "facilities.f1.location_key: no location 'p1'",
    ),
    (
        "indicator-kind",
        indicator("bitcoin", "1A1z"),
        "indicators.i1.kind: must be one of "
        "phone, ipv4, ipv6, domain, url, email, md5, sha1, sha256",
    ),
    ("indicator-value", indicator("url", ""), "indicators.i1.value: required"),
    (
        "phone",
        indicator("phone", "770 123 4567"),
        "indicators.i1.value: must be an international number, such as +964 770 123 4567",
    ),
    (
        "ipv4",
        indicator("ipv4", "2001:db8::7"),
        f"indicators.i1.value: {IPV4}",
    ),
    (
        "ipv4-host-bits",
        indicator("ipv4", "198.51.100.7/24"),
        f"indicators.i1.value: {IPV4}",
    ),
    (
        "ipv6",
        indicator("ipv6", "198.51.100.7"),
        "indicators.i1.value: must be an IPv6 address or network, such as 2001:db8::7",
    ),
    (
        "domain",
        indicator("domain", "relay_1.example"),
        "indicators.i1.value: must be a domain name, such as example.org",
    ),
    (
        "url",
        indicator("url", "javascript:alert(1)"),
        "indicators.i1.value: must be an http, https or ftp URL, such as https://example.org/page",
    ),
    (
        "url-space",
        indicator("url", "https://a.example/x y"),
        "indicators.i1.value: must be an http, https or ftp URL, such as https://example.org/page",
    ),
    (
        "email",
        indicator("email", "abu saif@mail.example"),
        "indicators.i1.value: must be an e-mail address, such as name@example.org",
    ),
    (
        "md5",
        indicator("md5", "d41d8cd98f00b204e9800998ecf8427"),
        "indicators.i1.value: must be 32 hexadecimal digits",
    ),
    (
        "sha256",
        indicator("sha256", "z" * 64),
        "indicators.i1.value: must be 64 hexadecimal digits",
    ),
    (
        "same-indicator",
        full_draft(
            indicators=[
                IndicatorEntry("i1", "ipv6", "2001:DB8::7"),
                IndicatorEntry("i2", "ipv6", "2001:db8:0::7"),
            ],
            relations=[],
        ),
        "indicators.i2.value: the same indicator as indicators.i1",
    ),
    ("no-target", relation("p1", "located-at", "l9"), "relations.r1.target_key: no entry 'l9'"),
    ("no-source", relation("", "related-to", "l1"), "relations.r1.source_key: required"),
    (
        "self",
        relation("p1", "related-to", "p1"),
        "relations.r1.target_key: must not be the source itself",
    ),
    (
        "relation-type",
        relation("p1", "member-of", "p2"),
        f"relations.r1.relationship_type: must be one of {', '.join(RELATIONSHIP_TYPES)}",
    ),
    (
        "endpoints",
        relation("l1", "located-at", "p1"),
        "relations.r1.relationship_type: 'located-at' does not relate locations to persons",
    ),
    (
        "relation-to-relation",
        full_draft(
            relations=[
                RelationEntry("r1", "p1", "related-to", "p2"),
                RelationEntry("r2", "p1", "related-to", "r1"),
            ]
        ),
        "relations.r2.target_key: no entry 'r1'",
    ),
    (
        "same-relation",
        full_draft(
            relations=[
                RelationEntry("r1", "p1", "related-to", "p2"),
                RelationEntry("r2", "p1", "related-to", "p2"),
            ]
        ),
        "relations.r2.target_key: the same relation as relations.r1",
    ),
    (
        "implied-relation",
        relation("f1", "located-at", "l1"),
        "relations.r1.target_key: the same relation as facilities.f1.location_key",
    ),
    (
        "bad-key",
        full_draft(persons=[dataclasses.replace(ABU_SAIF, key="P 1")], relations=[]),
        "persons.0.key: must be a lower-case letter, "
        "then up to 31 lower-case letters, digits, '-' or '_'",
    ),
    (
        "duplicate-key",
        full_draft(facilities=[FacilityEntry("p1", "K", "camp")], relations=[]),
        "facilities.p1.key: duplicate key (also used in persons)",
    ),
    (
        "too-many",
        full_draft(
            locations=[LocationEntry(f"l{n}", country="IQ") for n in range(201)],
            facilities=[],
            relations=[],
        ),
        "locations: at most 200 entries",
    ),
]


@pytest.mark.parametrize(("draft", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_is_reported_beside_its_field(draft: ReportDraft, message: str) -> None:
    assert problems(draft) == [message]


def test_every_problem_is_reported_at_once() -> None:
    draft = ReportDraft(
        "",
        TLP.AMBER,
        persons=[PersonEntry("p1", "Abu", nationality="Iraq", date_of_birth=date(2030, 1, 1))],
        locations=[LocationEntry("l1", latitude=100.0, longitude=0.0)],
        indicators=[IndicatorEntry("i1", "md5", "abc")],
        relations=[RelationEntry("r1", "p1", "located-at", "l9")],
    )
    with pytest.raises(DraftInvalid) as caught:
        composed(draft)
    error = caught.value
    assert error.errors == [
        "title: required",
        "persons.p1.nationality: must be an ISO 3166-1 two-letter country code, such as IQ",
        "persons.p1.date_of_birth: must not be in the future",
        "locations.l1.latitude: must be between -90 and 90",
        "indicators.i1.value: must be 32 hexadecimal digits",
        "relations.r1.target_key: no entry 'l9'",
    ]
    # Each message names its field in a stable machine form, then says what is wrong.
    assert all(re.fullmatch(r"[a-z_]+(\.[a-z0-9_-]+)*: \S.*", e) for e in error.errors)
    assert isinstance(error, Unprocessable)
    problem = error.problem()
    assert (problem["status"], problem["code"], problem["errors"]) == (
        422,
        "draft_invalid",
        error.errors,
    )
    assert error.detail == "the report draft has 6 problems"


def test_every_indicator_kind_is_offered() -> None:
    assert set(INDICATOR_KINDS) == set(INDICATOR_VALUES)


# --- the reference policy -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def iq_to_sy() -> Policy:
    return load_policy_dir(EXAMPLES_DIR / "IQ", node="IQ")["SY"]


@pytest.fixture(scope="module")
def sy_from_iq() -> Policy:
    return load_policy_dir(EXAMPLES_DIR / "SY", node="SY")["IQ"]


def test_iq_releases_a_composed_report_to_sy_unchanged(
    iq_to_sy: Policy, sy_from_iq: Policy
) -> None:
    data = json.dumps(composed(full_draft())).encode()
    report = validate_report(data)
    decision = decide_outbound(
        iq_to_sy, report.bundle, report_tlp=report.tlp, origin=Origin.local()
    )
    assert (decision.outcome, decision.rule) == ("allow", "outbound.allow"), decision.reason
    assert decision.released == report.bundle
    person = next(o for o in decision.released["objects"] if o["type"] == "threat-actor")
    assert {k: v for k, v in person.items() if k.startswith("x_liaison_")} == {
        "x_liaison_name_ar": "أبو سيف الموصلي",
        "x_liaison_date_of_birth": "1988-03-14",
        "x_liaison_nationality": "IQ",
        "x_liaison_status": "escaped",
        "x_liaison_documents": [
            {"kind": "passport", "number": "A1234567", "country": "IQ"},
            {"kind": "national-id", "number": "0099"},
        ],
    }
    received = decide_inbound(sy_from_iq, decision.released, size=len(data), report_tlp=report.tlp)
    assert received.accepted, received.reason


def test_at_amber_strict_iq_holds_the_release_for_a_second_officer(iq_to_sy: Policy) -> None:
    report = validate_report(json.dumps(composed(full_draft(tlp=TLP.AMBER_STRICT))).encode())
    decision = decide_outbound(
        iq_to_sy, report.bundle, report_tlp=report.tlp, origin=Origin.local()
    )
    assert (decision.outcome, decision.rule, decision.approved_outcome) == (
        "hold",
        "outbound.two_person",
        "allow",
    )
    assert decision.released == report.bundle
