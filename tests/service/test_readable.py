"""STIX bundles made readable (``service.reports.readable``): what a composed report says, the
official samples and the demo reports, and hostile bundles a partner could send, which must come
out as plain data, unchanged and capped, without raising. All names are invented."""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from policies import TLP
from service.reports.compose import (
    IndicatorEntry,
    LocationEntry,
    PersonEntry,
    RelationEntry,
    ReportDraft,
    compose,
)
from service.reports.readable import (
    MAX_ITEMS,
    MAX_LIST,
    MAX_PROPERTIES,
    MAX_VALUE_CHARS,
    DocumentView,
    PersonView,
    Readable,
    describe,
)
from service.reports.stix import validate_report
from tests.conftest import SHARED
from tests.service.test_compose import (
    AUTHOR,
    DRAFT_ID,
    INDICATOR_VALUES,
    NOW,
    STAMP,
    TRICKY_URL,
    composed,
    full_draft,
)

DEMO = Path(__file__).resolve().parents[2] / "demo" / "reports"
TLP1_AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"  # ../shared/stix/README
TLP2_RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
BIDI = "\u202e"
SCRIPT = "<script>alert('x')</script>"


def sid(kind: str, n: int) -> str:
    return f"{kind}--{uuid.UUID(int=n, version=4)}"


def sdo(kind: str, n: int, **props: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": sid(kind, n),
        "created": STAMP,
        "modified": STAMP,
        "object_marking_refs": [TLP1_AMBER],
        **props,
    }


def bundle_of(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bundle", "id": sid("bundle", 0), "objects": list(objects)}


def valid(bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle as the node accepts it (warnings allowed: a partner's content may draw some)."""
    return validate_report(json.dumps(bundle).encode()).bundle


# --- a composed report --------------------------------------------------------------------------


def test_a_composed_report_reads_back() -> None:
    readable = describe(composed(full_draft()))
    report = readable.report
    assert report is not None
    assert (report.title, report.description, report.tlp, report.author) == (
        full_draft().title,
        full_draft().description,
        TLP.AMBER,
        AUTHOR,
    )
    assert (report.created, report.published, report.report_types) == (
        STAMP,
        STAMP,
        ("threat-report",),
    )
    abu_saif, abu_hamza = readable.persons
    assert (abu_saif.name_latin, abu_saif.name_ar) == ("Abu Saif al-Mawsili", "أبو سيف الموصلي")
    assert (abu_saif.nationality, abu_saif.date_of_birth, abu_saif.status) == (
        "IQ",
        "1988-03-14",
        "escaped",
    )
    assert [(d.kind, d.number, d.country) for d in abu_saif.documents] == [
        ("passport", "A1234567", "IQ"),
        ("national-id", "0099", None),
    ]
    assert (abu_hamza.name, abu_hamza.name_latin, abu_hamza.name_ar) == (
        "أبو حمزة الأنباري",
        None,
        "أبو حمزة الأنباري",
    )
    old_town, coordinates = readable.locations
    assert (old_town.country, old_town.administrative_area, old_town.city) == (
        "IQ",
        "Nineveh",
        "Mosul",
    )
    assert (coordinates.latitude, coordinates.longitude) == (33.51, 36.29)
    assert [(f.name, f.kind, f.location) for f in readable.facilities] == [
        ("Detention facility K-4", "prison", "Old town"),
        ("Checkpoint 9", "checkpoint", None),
    ]
    kinds = {i.kind: i.value for i in readable.indicators}
    assert kinds == {**INDICATOR_VALUES, "phone": "+9647701234567"}
    assert [(r.source, r.relationship_type, r.target) for r in readable.relationships] == [
        ("Detention facility K-4", "located-at", "Old town"),
        ("Abu Saif al-Mawsili", "located-at", "33.51, 36.29"),
        ("+9647701234567", "indicates", "Abu Saif al-Mawsili"),
        ("أبو حمزة الأنباري", "uses", "Checkpoint 9"),
        ("Abu Saif al-Mawsili", "related-to", "Detention facility K-4"),
    ]
    assert (readable.others, readable.omitted) == ((), {})


def test_a_quoted_value_round_trips_through_the_pattern() -> None:
    for value in (TRICKY_URL, "https://a.example/\\'\\\\'", "https://a.example/it's\\"):
        draft = ReportDraft("Quoting", TLP.GREEN, indicators=[IndicatorEntry("i1", "url", value)])
        bundle = composed(draft)
        validate_report(json.dumps(bundle).encode())
        (indicator,) = describe(bundle).indicators
        assert (indicator.kind, indicator.value) == ("url", value)


def test_the_view_uses_field_keys_not_labels() -> None:
    keys = {f.name for f in dataclasses.fields(PersonView)}
    assert {"name_latin", "name_ar", "nationality", "date_of_birth", "status", "documents"} <= keys


# --- real content -------------------------------------------------------------------------------


def _samples() -> list[Path]:
    paths = sorted((SHARED / "stix").rglob("*.json")) + sorted(DEMO.glob("*.json"))
    assert len(paths) > 10, "the OASIS samples in ../shared/stix/ are required"
    return paths


@pytest.mark.parametrize("path", _samples(), ids=lambda p: p.name)
def test_official_samples_and_demo_reports_read_without_raising(path: Path) -> None:
    bundle = json.loads(path.read_text())
    readable = describe(bundle)
    shown = sum(
        len(getattr(readable, name))
        for name in ("persons", "locations", "facilities", "indicators", "relationships", "others")
    )
    markings = sum(o.get("type") == "marking-definition" for o in bundle.get("objects", []))
    reports = 1 if readable.report is not None else 0
    author = 1 if readable.report is not None and readable.report.author is not None else 0
    assert shown + markings + reports + author == len(bundle.get("objects", []))


def test_the_demo_escape_report() -> None:
    readable = describe(json.loads((DEMO / "iq-escape-plot-k4.json").read_text()))
    assert readable.report is not None and readable.report.tlp is TLP.AMBER_STRICT
    assert readable.report.author == "IQ Liaison Office (demo)"
    (source,) = readable.persons  # the source is an identity of class individual
    assert (source.type, source.name) == ("identity", "Source HAWK-3 (fictional)")
    (channel,) = readable.indicators
    assert (channel.kind, channel.value) == ("domain", "gate-schedule.example")
    assert {o.type for o in readable.others} == {"intrusion-set", "note"}
    note = next(o for o in readable.others if o.type == "note")
    assert dict(note.properties)["content"].startswith("Analyst:")
    assert dict(note.properties)["object_refs"] == (
        '["intrusion-set--3d4e5f60-7182-4a3b-9c4d-5e6f708192a3"]'
    )


def test_a_complex_pattern_is_shown_raw() -> None:
    pattern = "[ipv4-addr:value = '192.0.2.1'] OR [domain-name:value = 'a.example']"
    indicator = sdo(
        "indicator", 1, name="x", pattern=pattern, pattern_type="stix", valid_from=STAMP
    )
    other = sdo(
        "indicator",
        2,
        name="y",
        pattern="[mac-addr:value = '00:00:5e:00:53:01']",
        pattern_type="stix",
        valid_from=STAMP,
    )
    sigma = sdo(
        "indicator", 3, name="z", pattern="title: x", pattern_type="sigma", valid_from=STAMP
    )
    first, second, third = describe(valid(bundle_of(indicator, other, sigma))).indicators
    assert (first.kind, first.value, first.pattern) == (None, None, pattern)
    assert (second.kind, second.value) == ("mac-addr:value", "00:00:5e:00:53:01")
    assert (third.kind, third.value, third.pattern_type) == (None, None, "sigma")


def test_the_tlp_is_the_highest_referenced() -> None:
    report = sdo("report", 1, name="r", published=STAMP, object_refs=[sid("location", 2)])
    place = sdo("location", 2, country="IQ") | {"object_marking_refs": [TLP2_RED]}
    readable = describe(valid(bundle_of(report, place)))
    assert readable.report is not None and readable.report.tlp is TLP.RED


# --- hostile bundles ----------------------------------------------------------------------------


def hostile() -> dict[str, Any]:
    """What the node's validator lets a partner send: scripts and bidi overrides in names, huge
    lists, custom properties of every wrong type, refs to nothing, a custom object."""
    actor = sdo(
        "threat-actor",
        1,
        name=f"{SCRIPT} Abu{BIDI}Saif",
        resource_level="individual",
        aliases=[f"alias {n}" for n in range(5000)],
        x_liaison_name_ar=["not", "a", "string"],
        x_liaison_date_of_birth={"year": 1988},
        x_liaison_status=7,
        x_liaison_nationality=True,
        x_liaison_documents=[{"kind": SCRIPT, "number": 5}, "A123", 9, None, []]
        + [{"kind": "passport", "number": str(n)} for n in range(3000)],
    )
    identity = sdo(
        "identity",
        2,
        name=BIDI + "source",
        identity_class="individual",
        x_liaison_documents="not a list",
    )
    place = sdo("location", 3, name=SCRIPT, country="IQ", latitude=10, longitude=20)
    facility = sdo("infrastructure", 4, name="K-4", x_liaison_facility_type="prison")
    dangling = sdo(
        "relationship",
        5,
        relationship_type="located-at",
        source_ref=sid("infrastructure", 4),
        target_ref=sid("location", 999),
    )
    thing = sdo(
        "x-liaison-thing",
        6,
        name=SCRIPT,
        nested={"deep": [list(range(10_000))]},
        **{f"x_liaison_p{n}": n for n in range(300)},
    )
    report = sdo(
        "report",
        7,
        name=SCRIPT + BIDI,
        published=STAMP,
        report_types=["a"] * 10_000,
        object_refs=[sid("threat-actor", 1)],
        created_by_ref=sid("identity", 404),
    )
    group = sdo("threat-actor", 8, name="a cell", resource_level="team")
    many = [
        sdo("threat-actor", 100 + n, name=f"Abu {n}", resource_level="individual")
        for n in range(MAX_ITEMS + 25)
    ]
    return valid(bundle_of(report, actor, identity, place, facility, dangling, thing, group, *many))


def test_a_hostile_bundle_is_read_as_plain_data() -> None:
    bundle = hostile()
    before = copy.deepcopy(bundle)
    readable = describe(bundle)
    assert bundle == before  # read, never modified
    report = readable.report
    assert report is not None
    assert report.title == SCRIPT + BIDI  # strings stay as given: the template escapes
    assert (report.author, len(report.report_types)) == (None, MAX_LIST)
    actor = readable.persons[0]
    assert actor.name == f"{SCRIPT} Abu{BIDI}Saif"
    assert len(actor.aliases) == MAX_LIST and all(isinstance(a, str) for a in actor.aliases)
    assert (actor.name_ar, actor.date_of_birth, actor.status, actor.nationality) == (
        None,
        None,
        "7",
        "true",
    )
    assert len(actor.documents) == MAX_LIST
    assert actor.more_documents == 3005 - MAX_LIST
    assert actor.documents[:3] == (
        DocumentView(kind=SCRIPT, number="5", country=None),
        DocumentView(kind=None, number="A123", country=None),
        DocumentView(kind=None, number="9", country=None),
    )
    source = readable.persons[1]
    assert (source.type, source.name, source.documents) == ("identity", BIDI + "source", ())
    assert len(readable.persons) == MAX_ITEMS
    assert readable.omitted == {"persons": 2 + MAX_ITEMS + 25 - MAX_ITEMS}
    (place,) = readable.locations
    assert (place.name, place.latitude, place.longitude) == (SCRIPT, 10.0, 20.0)
    (facility,) = readable.facilities
    assert facility.location == sid("location", 999)  # a ref to nothing shows as the ref
    (relation,) = readable.relationships
    assert (relation.source, relation.target) == ("K-4", sid("location", 999))
    thing, group = readable.others
    assert (thing.type, thing.name, group.name) == ("x-liaison-thing", SCRIPT, "a cell")
    assert len(thing.properties) == MAX_PROPERTIES and thing.more_properties > 0
    nested = dict(thing.properties)["nested"]
    assert len(nested) == MAX_VALUE_CHARS + 1 and nested.endswith("\u2026")


@pytest.mark.parametrize(
    "bundle",
    [
        {},
        {"objects": "not a list"},
        {"objects": [1, "two", None, [], {}]},
        {"objects": [{"type": ["odd"], "id": 5}, {"type": "report", "name": 7, "id": {}}]},
        {"objects": [{"type": "threat-actor", "resource_level": "individual", "aliases": "x"}]},
        {"objects": [{"type": "identity", "identity_class": "individual", "aliases": [7, {}]}]},
        {"objects": [{"type": "location", "latitude": 10**400, "longitude": float("inf")}]},
        {"objects": [{"type": "x", "id": "x--1", "big": 10**5000, "loop": None}]},
        {"objects": [{"type": "relationship", "source_ref": ["a"], "target_ref": {"b": 1}}]},
        {"objects": [{"type": "indicator", "pattern": "[" * 100_000, "pattern_type": "stix"}]},
    ],
    ids=[
        "empty",
        "objects-not-list",
        "non-objects",
        "odd-types",
        "aliases-string",
        "aliases-odd",
        "odd-numbers",
        "huge-int",
        "odd-refs",
        "long-pattern",
    ],
)
def test_describe_never_raises_even_on_what_no_validator_would_pass(
    bundle: dict[str, Any],
) -> None:
    assert isinstance(describe(bundle), Readable)


def test_a_self_referencing_value_is_still_text() -> None:
    loop: list[Any] = []
    loop.append(loop)
    (other,) = describe({"objects": [{"type": "x", "id": "x--1", "loop": loop}]}).others
    assert dict(other.properties)["loop"] == "list"


def test_composed_and_described_at_scale() -> None:
    draft = ReportDraft(
        "Many persons (fictional)",
        TLP.GREEN,
        persons=[PersonEntry(f"p{n}", f"Abu {n}") for n in range(200)],
        locations=[LocationEntry("l1", country="SY")],
        relations=[RelationEntry(f"r{n}", f"p{n}", "located-at", "l1") for n in range(200)],
    )
    bundle = compose(draft, author_name=AUTHOR, now=NOW, draft_id=DRAFT_ID)
    readable = describe(bundle)
    assert (len(readable.persons), len(readable.relationships)) == (200, 200)
    assert readable.relationships[-1].source == "Abu 199"
