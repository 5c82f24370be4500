"""misp-stix exports: tlp: tags exported as labels become markings, and a MISP person's fields move
to the x_liaison_ properties compose writes, or stay, said so, when they cannot be read.

Shapes from MISP/misp-stix (tests/service/imports/shapes.py cites each): before misp-stix 2026.6
(commit a7543029) tlp:clear and tlp:amber+strict were labels; since, they are the official TLP 2.0
definitions, and tlp:white/green/amber/red are the TLP 1.0 built-in ones.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, date, datetime

import pytest

from service.imports import normalise
from service.imports.misp import TLP_TAGS, is_misp, tag_level
from service.imports.misp_person import EXTENSION_ID, is_person, move_fields
from service.reports import PersonEntry, ReportDraft, compose
from service.reports.stix import TLP, TlpConflict, validate_report
from tests.service.imports import shapes as S

pytestmark = pytest.mark.filterwarnings(
    "ignore:jsonschema.exceptions.RefResolutionError is deprecated:DeprecationWarning"
)

LIMITS = {"max_bytes": 1_000_000, "max_objects": 1_000}
REPORT = "report--a6ef17d6-91cb-4a05-b10b-2f045daf874c"
INDICATOR = "indicator--91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f"
PERSON = "identity--868037d5-d804-4f1d-8016-f296361f9c68"


def run(*objects: dict, **options: object):
    return normalise(S.encode(S.bundle(*objects)), **{**LIMITS, **options})


def by_id(data: bytes) -> dict[str, dict]:
    return {obj["id"]: obj for obj in json.loads(data)["objects"]}


def person(**fields: object) -> dict:
    out = run(S.misp_person(markings=[S.TLP2["amber"]], **fields))
    return by_id(out.data)[PERSON], out


# --- tags ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "level"),
    [
        ("tlp:white", "clear"),
        ("tlp:clear", "clear"),
        ("tlp:green", "green"),
        ("tlp:amber", "amber"),
        ("tlp:amber+strict", "amber+strict"),
        ("tlp:red", "red"),
    ],
)
def test_a_tlp_tag_label_becomes_a_marking(tag, level):
    out = run(S.misp_indicator(labels=(tag,)))
    new = by_id(out.data)[INDICATOR]
    assert new["object_marking_refs"] == [S.TLP2[level]]
    assert tag not in new["labels"] and 'misp:type="ip-src"' in new["labels"]
    [change] = out.changes
    assert change.kind == "misp_tag_mapped" and repr(tag) in change.detail
    assert f"TLP:{level.upper()} (TLP 2.0)" in change.detail
    assert validate_report(out.data).tlp.value == level


def test_an_older_misp_stix_grouping_with_tlp2_tags_as_labels():
    """An event tagged tlp:amber+strict before misp-stix 2026.6: a label on the grouping."""
    grouping = S.misp_report(INDICATOR) | {
        "type": "grouping",
        "context": "suspicious-activity",
        "id": "grouping--a6ef17d6-91cb-4a05-b10b-2f045daf874c",
    }
    del grouping["published"]
    grouping["labels"].append("tlp:amber+strict")
    out = run(grouping, S.misp_indicator(labels=("tlp:amber+strict",)))
    assert out.unmarked == ()
    assert validate_report(out.data).tlp is TLP.AMBER_STRICT


def test_misp_stix_tlp2_definitions_pass_untouched():
    """Since misp-stix 2026.6 (its test _test_event_with_tlp2_tags): the official definitions."""
    official = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": S.TLP2["amber+strict"],
        "created": "2022-10-01T00:00:00.000Z",
        "name": "TLP:AMBER+STRICT",
        "extensions": {
            S.TLP2_EXT: {"extension_type": "property-extension", "tlp_2_0": "amber+strict"}
        },
    }
    out = run(official, S.misp_indicator(markings=[S.TLP2["amber+strict"]]))
    assert out.changes == ()
    assert validate_report(out.data).tlp is TLP.AMBER_STRICT


def test_the_last_label_leaves_no_empty_list():
    indicator = S.misp_indicator(labels=("tlp:red",))
    indicator["labels"] = ["tlp:red"]
    indicator["x_misp_comment"] = "fictional"  # still MISP without its misp: labels
    new = by_id(run(indicator).data)[INDICATOR]
    assert "labels" not in new and new["object_marking_refs"] == [S.TLP2["red"]]


@pytest.mark.parametrize(
    "tag", ["tlp:ex:chr", "tlp:unclear", "TLP:AMBER", "tlp: amber", "tlp:amber "]
)
def test_other_tags_are_left_alone(tag):
    out = run(S.misp_indicator(labels=(tag,)))
    assert tag in by_id(out.data)[INDICATOR]["labels"]
    assert out.changes == () and out.unmarked == (INDICATOR,)


def test_a_tag_beside_a_marking_of_another_level_is_a_conflict_for_the_validator():
    out = run(
        S.misp_tlp1("green"), S.misp_indicator(markings=[S.TLP1["green"]], labels=("tlp:red",))
    )
    assert by_id(out.data)[INDICATOR]["object_marking_refs"] == [S.TLP2["green"], S.TLP2["red"]]
    with pytest.raises(TlpConflict):
        validate_report(out.data)


def test_a_tag_of_the_level_already_marked_adds_nothing():
    out = run(S.misp_indicator(markings=[S.TLP1["amber"]], labels=("tlp:amber",)))
    assert by_id(out.data)[INDICATOR]["object_marking_refs"] == [S.TLP2["amber"]]
    assert "which it already carried" in out.changes[-1].detail


@pytest.mark.parametrize(
    "other",
    [
        S.octi_org([S.TLP2["clear"]]),
        {
            "type": "identity",
            "spec_version": "2.1",
            "id": "identity--0d2c4e6a-8b1f-4a3c-9e5d-7f0a1b2c3d4e",
            "created": S.MISP_TIME,
            "modified": S.MISP_TIME,
            "name": "Other",
            "identity_class": "organization",
            "object_marking_refs": [S.TLP2["clear"]],
        },
    ],
    ids=["opencti", "plain-stix"],
)
def test_tlp_labels_are_markings_only_in_misp_exports(other):
    labelled = other | {"labels": ["tlp:red"]}
    out = run(labelled)
    assert out.source != "misp" and out.changes == ()
    assert by_id(out.data)[other["id"]]["labels"] == ["tlp:red"]


def test_tag_level_reads_the_taxonomy_only():
    assert tag_level("tlp:amber+strict") is TLP.AMBER_STRICT
    assert tag_level(["tlp:red"]) is None and tag_level(None) is None
    assert set(TLP_TAGS) == {
        "tlp:white",
        "tlp:clear",
        "tlp:green",
        "tlp:amber",
        "tlp:amber+strict",
        "tlp:red",
    }


def test_misp_is_recognised_by_what_only_misp_stix_writes():
    assert is_misp(S.misp_indicator()) and is_misp(
        {"type": "x-misp-object", "id": "x-misp-object--1"}
    )
    assert not is_misp(S.misp_org()) and not is_misp({"type": "x", "labels": "misp:tool"})


# --- persons -------------------------------------------------------------------------------------


def test_a_person_moves_to_the_properties_compose_writes():
    new, out = person(
        x_misp_passport_number="X0000001",
        x_misp_passport_country="fr",
        x_misp_date_of_birth="1980-05-17",
        x_misp_nationality=" iq ",
        x_misp_passport_expiration="2031-01-01",
        x_misp_place_of_birth="Testville",
    )
    assert new["x_liaison_documents"] == [
        {"kind": "passport", "number": "X0000001", "country": "FR"}
    ]
    assert new["x_liaison_date_of_birth"] == "1980-05-17"
    assert new["x_liaison_nationality"] == "IQ"
    assert new["extensions"] == {EXTENSION_ID: {"extension_type": "toplevel-property-extension"}}
    moved = (
        "x_misp_passport_number",
        "x_misp_passport_country",
        "x_misp_date_of_birth",
        "x_misp_nationality",
    )
    assert not any(field in new for field in moved)
    assert new["x_misp_passport_expiration"] == "2031-01-01"  # no place for it in a document
    assert new["x_misp_place_of_birth"] == "Testville"
    changes = [c for c in out.changes if c.kind == "misp_person_field"]
    assert [c.detail.split(": ", 1)[1].split(" ")[0] for c in changes] == list(moved)
    assert out.changes[-1].kind == "extension_declared"
    report = validate_report(out.data)
    assert report.warnings == () and report.tlp is TLP.AMBER


def test_no_change_detail_holds_a_persons_values():
    _, out = person(
        x_misp_passport_number="X0000001",
        x_misp_date_of_birth="31/12/1980",
        x_misp_nationality="Testland",
    )
    details = " ".join(change.detail for change in out.changes)
    assert not any(value in details for value in ("X0000001", "31/12/1980", "1980", "Testland"))


def test_the_extension_is_composes():
    """The same extension id and declaration as a composed person, so policies treat both alike."""
    draft = ReportDraft(
        title="Fictional",
        tlp=TLP.AMBER,
        persons=[PersonEntry(key="p1", name_latin="Test Person Gamma")],
    )
    bundle = compose(
        draft,
        author_name="Example Unit",
        now=datetime(2026, 1, 5, tzinfo=UTC),
        draft_id=uuid.UUID("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"),
    )
    [composed] = [obj for obj in bundle["objects"] if obj["type"] == "threat-actor"]
    new, _ = person(x_misp_date_of_birth="1980-05-17")
    assert new["extensions"] == composed["extensions"]
    assert EXTENSION_ID == S.LIAISON_EXT


@pytest.mark.parametrize(
    "value",
    [
        "31/12/1980",
        "12/31/1980",
        "1980-02-30",
        "1980-13-01",
        "1980-5-17",
        "17-05-1980",
        "1980-05-17T00:00:00Z",
        "1899-12-31",
        "",
        " 1980-05-17",
        19800517,
        ["1980-05-17"],
        None,
    ],
)
def test_a_date_of_birth_that_cannot_be_read_is_kept(value):
    new, out = person(x_misp_date_of_birth=value)
    assert new["x_misp_date_of_birth"] == value and "x_liaison_date_of_birth" not in new
    [change] = out.changes
    assert change.kind == "misp_person_field_kept" and "YYYY-MM-DD" in change.detail
    assert "extensions" not in new  # nothing moved, nothing to declare


@pytest.mark.parametrize("value", ["USA", "Iraqi", "I", "1Q", ["IQ", "SY"], ""])
def test_a_nationality_that_is_not_one_code_is_kept(value):
    new, out = person(x_misp_nationality=value)
    assert new["x_misp_nationality"] == value and "x_liaison_nationality" not in new
    assert out.changes[0].kind == "misp_person_field_kept"


def test_several_passports_are_moved_without_guessing_their_country():
    new, out = person(x_misp_passport_number=["X0000001", "X0000002"], x_misp_passport_country="FR")
    assert new["x_liaison_documents"] == [
        {"kind": "passport", "number": "X0000001"},
        {"kind": "passport", "number": "X0000002"},
    ]
    assert new["x_misp_passport_country"] == "FR"
    assert [c.kind for c in out.changes] == [
        "misp_person_field",
        "misp_person_field_kept",
        "extension_declared",
    ]
    assert "as 2 passports" in out.changes[0].detail


@pytest.mark.parametrize("country", ["France", "FRA", ["FR"], 33])
def test_a_passport_country_that_is_not_one_code_is_kept(country):
    new, _ = person(x_misp_passport_number="X0000001", x_misp_passport_country=country)
    assert new["x_liaison_documents"] == [{"kind": "passport", "number": "X0000001"}]
    assert new["x_misp_passport_country"] == country


def test_a_passport_country_without_a_passport_is_kept():
    new, out = person(x_misp_passport_country="FR")
    assert new["x_misp_passport_country"] == "FR" and "x_liaison_documents" not in new
    assert [c.kind for c in out.changes] == ["misp_person_field_kept"]


def test_an_identity_card_is_a_national_id():
    new, _ = person(x_misp_identity_card_number="ID-000003", x_misp_passport_number="X0000001")
    assert new["x_liaison_documents"] == [
        {"kind": "passport", "number": "X0000001"},
        {"kind": "national-id", "number": "ID-000003"},
    ]


@pytest.mark.parametrize("value", ["", "  ", 12345, ["X0000001", 5], []])
def test_a_document_number_that_cannot_be_read_is_kept(value):
    new, out = person(x_misp_passport_number=value)
    assert new["x_misp_passport_number"] == value and "x_liaison_documents" not in new
    assert [c.kind for c in out.changes] == ["misp_person_field_kept"]


def test_properties_the_object_already_has_are_not_overwritten():
    existing = {
        "x_liaison_documents": [{"kind": "other", "number": "Z9"}],
        "x_liaison_date_of_birth": "1970-01-01",
        "x_liaison_nationality": "SY",
    }
    new, out = person(
        x_misp_passport_number="X0000001",
        x_misp_passport_country="FR",
        x_misp_date_of_birth="1980-05-17",
        x_misp_nationality="IQ",
        **existing,
    )
    assert {key: new[key] for key in existing} == existing
    assert new["x_misp_passport_number"] == "X0000001" and new["x_misp_nationality"] == "IQ"
    assert {c.kind for c in out.changes} == {"misp_person_field_kept"}


def test_an_existing_extension_is_kept_beside_ours():
    other = {
        "extension-definition--2b4d6f8a-0c1e-4a3b-9d5f-7e9a1b3c5d7f": {
            "extension_type": "property-extension"
        }
    }
    new, _ = move_fields(S.misp_person(extensions=other, x_misp_nationality="IQ"))
    assert new["extensions"] == {
        **other,
        EXTENSION_ID: {"extension_type": "toplevel-property-extension"},
    }


def test_only_individual_identities_are_persons():
    assert is_person(S.misp_person(x_misp_nationality="IQ"))
    assert not is_person(S.misp_person())  # nothing of MISP's to move
    assert not is_person(S.misp_person(x_misp_nationality="IQ", identity_class="organization"))
    assert not is_person(S.misp_indicator() | {"x_misp_nationality": "IQ"})


def test_move_fields_changes_nothing_it_is_given():
    given = S.misp_person(x_misp_passport_number=["X1", "X2"], x_misp_nationality="iq")
    before = copy.deepcopy(given)
    new, _ = move_fields(given)
    assert given == before and new is not given


def test_a_person_relayed_by_opencti_is_moved_too():
    """x_misp_ fields are MISP's whoever relays them; left as they are, no policy redacts them."""
    value = S.misp_person(
        markings=[S.TLP2["amber"]],
        x_misp_nationality="IQ",
        extensions=S.octi_extension("Individual"),
    )
    out = run(value)
    assert out.source == "opencti"
    new = by_id(out.data)[PERSON]
    assert new["x_liaison_nationality"] == "IQ" and "x_misp_nationality" not in new
    assert set(new["extensions"]) == {S.OPENCTI_EXT, EXTENSION_ID}
    validate_report(out.data)


def test_tags_of_a_misp_event_relayed_by_opencti_are_not_read():
    """OpenCTI reads MISP's tags itself: its labels are its own, not tags to map."""
    value = S.misp_indicator(markings=[S.TLP2["green"]], labels=("tlp:red",))
    value["extensions"] = S.octi_extension("Indicator")
    out = run(value)
    assert out.source == "opencti" and out.changes == ()


def test_a_date_of_birth_is_a_calendar_date():
    new, _ = person(x_misp_date_of_birth="2000-02-29")
    assert date.fromisoformat(new["x_liaison_date_of_birth"]) == date(2000, 2, 29)
