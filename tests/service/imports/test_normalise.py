"""The import normaliser's contract: what it refuses, what it returns, and that the strict validator
accepts well-formed OpenCTI and MISP exports once they are normalised (and nothing else changes).

The exports are small hand-written bundles in the producers' real shapes (tests/service/imports/
shapes.py cites where each shape comes from).
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, date, datetime

import pytest

from crypto.canonical import canonicalize
from service.imports import CHANGE_KINDS, OFFICER_LEVELS, Change, normalise, normalise_parsed
from service.reports import DocumentEntry, PersonEntry, ReportDraft, compose
from service.reports.stix import (
    TLP,
    StixInvalid,
    StixTooLarge,
    TlpMissing,
    validate_report,
)
from tests.service.imports import shapes as S

pytestmark = pytest.mark.filterwarnings(
    "ignore:jsonschema.exceptions.RefResolutionError is deprecated:DeprecationWarning"
)

LIMITS = {"max_bytes": 1_000_000, "max_objects": 1_000}
FIXED = uuid.UUID("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")


def run(value: object, **options: object):
    return normalise(S.encode(value), **{**LIMITS, **options})


def objects_of(data: bytes) -> dict[str, dict]:
    return {obj["id"]: obj for obj in json.loads(data)["objects"]}


def misp_event() -> dict:
    """An event with a tlp:white tag, an amber attribute and an amber person object."""
    indicator = S.misp_indicator(markings=[S.TLP1["amber"]])
    person = S.misp_person(
        markings=[S.TLP1["amber"]],
        x_misp_date_of_birth="1980-05-17",
        x_misp_passport_number="X0000001",
        x_misp_passport_country="FR",
    )
    report = S.misp_report(indicator["id"], person["id"], markings=[S.TLP1["white"]])
    return S.bundle(
        S.misp_org(), report, indicator, person, S.misp_tlp1("white"), S.misp_tlp1("amber")
    )


# --- refusals -------------------------------------------------------------------------------------


def test_over_the_byte_limit_is_too_large_before_parsing():
    data = S.encode(S.opencti_export())
    with pytest.raises(StixTooLarge, match=f"STIX input of {len(data)} bytes exceeds the limit"):
        normalise(data, max_bytes=len(data) - 1, max_objects=100)
    normalise(data, max_bytes=len(data), max_objects=100)  # the limit itself is allowed


def test_over_the_object_limit_is_too_large():
    with pytest.raises(StixTooLarge, match="bundle of 5 objects exceeds the limit of 4"):
        run(S.opencti_export(), max_objects=4)
    envelope = {"objects": S.opencti_export()["objects"]}
    with pytest.raises(StixTooLarge, match="bundle of 5 objects exceeds the limit of 4"):
        run(envelope, max_objects=4)


@pytest.mark.parametrize(
    "data",
    [b"not json", b'{"type": "bundle", "type": "bundle"}', b'{"a": NaN}', b"\xff\xfe", b"[1,"],
    ids=["text", "duplicate-key", "nan", "not-utf8", "truncated"],
)
def test_anything_but_strict_json_is_invalid(data):
    with pytest.raises(StixInvalid, match="not acceptable JSON") as caught:
        normalise(data, **LIMITS)
    assert caught.value.messages  # the parser's reason


def test_nesting_deeper_than_the_limit_is_invalid():
    deep = {
        "type": "bundle",
        "id": "bundle--x",
        "objects": [{"type": "x", "id": "x--1", "a": [[[[1]]]]}],
    }
    with pytest.raises(StixInvalid):
        normalise(S.encode(deep), **LIMITS, max_depth=4)


@pytest.mark.parametrize(
    "value",
    [
        [],
        "bundle",
        {"type": "report", "id": "report--1", "objects": []},
        {"type": "bundle", "id": "bundle--1"},
        {"type": "bundle", "id": "bundle--1", "objects": []},
        {"type": "bundle", "id": "bundle--1", "objects": {}},
        {"type": "bundle", "id": "bundle--1", "objects": [1]},
        {"type": "bundle", "id": "bundle--1", "objects": [{"type": "indicator"}]},
        {"type": "bundle", "id": "bundle--1", "objects": [{"type": 1, "id": "x--1"}]},
    ],
    ids=[
        "array",
        "string",
        "report",
        "no-objects",
        "zero-objects",
        "objects-not-list",
        "object-not-object",
        "no-id",
        "type-not-string",
    ],
)
def test_not_a_bundle_is_invalid(value):
    with pytest.raises(StixInvalid):
        run(value)


@pytest.mark.parametrize("envelope", [{"objects": []}, {"objects": [], "more": False}])
def test_an_envelope_of_zero_objects_is_invalid(envelope):
    with pytest.raises(StixInvalid, match="envelope") as caught:
        run(envelope)
    assert caught.value.messages == ["envelope: 'objects' must be a non-empty list"]


@pytest.mark.parametrize("bad", ["white", "TLP:RED", "AMBER", "amber-strict", "", " red", "none"])
def test_an_officer_level_must_be_a_tlp2_value(bad):
    with pytest.raises(ValueError, match="mark_unmarked must be one of"):
        normalise(b"not even json", **LIMITS, mark_unmarked=bad)  # refused before the input
    with pytest.raises(ValueError):
        normalise_parsed(S.opencti_export(), max_objects=100, mark_unmarked=bad)


def test_the_officer_levels_are_the_five_tlp2_values():
    assert OFFICER_LEVELS == ("clear", "green", "amber", "amber+strict", "red")


# --- envelopes ------------------------------------------------------------------------------------


def test_an_envelope_is_wrapped_in_a_bundle_with_a_fresh_id():
    envelope = {"more": False, "objects": S.opencti_export()["objects"]}
    out = normalise(S.encode(envelope), **LIMITS, new_uuid=lambda: FIXED)
    bundle = json.loads(out.data)
    assert bundle["type"] == "bundle" and bundle["id"] == f"bundle--{FIXED}"
    assert set(bundle) == {"type", "id", "objects"}
    first = out.changes[0]
    assert first.object_id is None and first.kind == "envelope_wrapped"
    assert f"bundle--{FIXED}" in first.detail and "more" in first.detail
    validate_report(out.data)


def test_each_envelope_gets_a_new_random_bundle_id():
    envelope = {"objects": S.opencti_export()["objects"]}
    ids = {json.loads(run(envelope).data)["id"] for _ in range(3)}
    assert len(ids) == 3
    assert all(uuid.UUID(i.removeprefix("bundle--")).version == 4 for i in ids)


def test_a_bundle_keeps_its_id_and_records_no_envelope():
    out = run(S.opencti_export())
    assert json.loads(out.data)["id"] == S.opencti_export()["id"]
    assert all(change.kind != "envelope_wrapped" for change in out.changes)


# --- the validator accepts what comes out ---------------------------------------------------------


def test_an_opencti_export_passes_the_validator_once_normalised():
    data = S.encode(S.opencti_export())
    with pytest.raises(StixInvalid):  # as OpenCTI wrote it
        validate_report(data)
    out = normalise(data, **LIMITS)
    assert out.source == "opencti" and out.unmarked == ()
    report = validate_report(out.data, **LIMITS)
    assert report.tlp is TLP.AMBER_STRICT and report.tlp_source == "tlp2"
    assert report.warnings == ()
    assert "marking-definition" not in report.object_types  # both OpenCTI definitions dropped


def test_a_misp_export_passes_once_the_officer_marks_what_misp_left_unmarked():
    data = S.encode(misp_event())
    out = normalise(data, **LIMITS)
    assert out.source == "misp"
    assert out.unmarked == ("identity--a0c22599-9e58-4da4-96ac-7051603fa951",)  # the organisation
    with pytest.raises(TlpMissing) as caught:
        validate_report(out.data)
    assert caught.value.object_ids == out.unmarked

    marked = normalise(data, **LIMITS, mark_unmarked="green")
    assert marked.unmarked == ()
    assert [c.object_id for c in marked.changes if c.kind == "marked_by_officer"] == list(
        out.unmarked
    )
    report = validate_report(marked.data, **LIMITS)
    assert report.tlp is TLP.AMBER
    assert objects_of(marked.data)[out.unmarked[0]]["object_marking_refs"] == [S.TLP2["green"]]


def test_a_marked_misp_export_passes_without_an_officer_choice():
    event = misp_event()
    event["objects"][0]["object_marking_refs"] = [S.TLP1["white"]]
    out = run(event)
    assert out.unmarked == ()
    assert validate_report(out.data).tlp is TLP.AMBER


def test_unmarked_objects_stay_unmarked_without_an_officer_choice():
    event = misp_event()
    out = run(event)
    org = objects_of(out.data)["identity--a0c22599-9e58-4da4-96ac-7051603fa951"]
    assert "object_marking_refs" not in org
    assert all(change.kind != "marked_by_officer" for change in out.changes)


def test_the_officer_marks_only_what_was_unmarked():
    out = run(misp_event(), mark_unmarked="red")
    objects = objects_of(out.data)
    assert objects["indicator--91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f"]["object_marking_refs"] == [
        S.TLP2["amber"]
    ]
    assert objects["identity--a0c22599-9e58-4da4-96ac-7051603fa951"]["object_marking_refs"] == [
        S.TLP2["red"]
    ]


def test_a_composed_bundle_comes_out_as_it_went_in():
    """compose's output is already what the validator wants: nothing to change."""
    draft = ReportDraft(
        title="Fictional exercise",
        tlp=TLP.AMBER,
        persons=[
            PersonEntry(
                key="p1",
                name_latin="Test Person Beta",
                nationality="IQ",
                date_of_birth=date(1985, 3, 2),
                documents=[DocumentEntry(kind="passport", number="A0000002", country="IQ")],
            )
        ],
    )
    moment = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    bundle = compose(draft, author_name="Example Unit", now=moment, draft_id=FIXED)
    out = run(bundle)
    assert out.source == "stix" and out.changes == () and out.unmarked == ()
    assert out.data == canonicalize(bundle)


# --- contract -------------------------------------------------------------------------------------


def test_the_input_is_never_changed():
    for value in (misp_event(), S.opencti_export(), {"objects": misp_event()["objects"]}):
        before = copy.deepcopy(value)
        normalise_parsed(value, max_objects=100, mark_unmarked="amber")
        assert value == before


def test_the_output_is_canonical_json_of_the_new_bundle():
    out = run(misp_event())
    assert out.data == canonicalize(json.loads(out.data))


@pytest.mark.parametrize("officer", [None, "amber"])
def test_normalising_again_changes_nothing(officer):
    """A stored draft is normalised again to be marked: the second pass must find no new work."""
    event = misp_event()
    event["objects"][3]["x_misp_nationality"] = "Testland"  # read neither time
    event["objects"][2]["labels"].append("tlp:amber")
    for value in (event, S.opencti_export(), {"objects": misp_event()["objects"]}):
        first = run(value, mark_unmarked=officer)
        second = normalise(first.data, **LIMITS, mark_unmarked=officer)
        assert second.data == first.data and second.unmarked == first.unmarked
        assert {c.kind for c in second.changes} <= {"misp_person_field_kept"}


def test_the_same_input_gives_the_same_output():
    first, second = (
        run(misp_event(), mark_unmarked="clear"),
        run(misp_event(), mark_unmarked="clear"),
    )
    assert first == second


def test_changes_come_object_by_object_then_drops_then_the_officer():
    out = run(misp_event(), mark_unmarked="amber")
    kinds = [change.kind for change in out.changes]
    assert kinds == [
        "tlp1_mapped",  # the report
        "tlp1_mapped",  # the indicator
        "tlp1_mapped",
        "misp_person_field",
        "misp_person_field",
        "misp_person_field",
        "extension_declared",  # the person
        "marking_definition_dropped",
        "marking_definition_dropped",
        "marked_by_officer",
    ]
    assert all(isinstance(c, Change) and c.kind in CHANGE_KINDS for c in out.changes)
    assert all(c.object_id and c.object_id in c.detail for c in out.changes)


@pytest.mark.parametrize(
    ("value", "source"),
    [
        (S.opencti_export(), "opencti"),
        (S.bundle(S.octi_indicator([S.TLP2["amber"]])), "opencti"),
        (S.bundle(S.octi_indicator([S.TLP2["amber"]]) | {"extensions": {}}), "stix"),
        (
            S.bundle(S.connector_amber_strict(), S.octi_indicator([]) | {"extensions": {}}),
            "opencti",
        ),
        (misp_event(), "misp"),
        (S.bundle(S.misp_indicator(markings=[S.TLP2["green"]])), "misp"),
        (S.bundle(S.misp_org() | {"x_misp_note": "x"}), "misp"),
        (S.bundle(S.misp_org()), "stix"),
        (S.bundle(S.misp_indicator() | {"x_opencti_score": 50}), "opencti"),
    ],
    ids=[
        "opencti-export",
        "opencti-extension",
        "extension-removed",
        "connector-marking",
        "misp-event",
        "misp-label",
        "x-misp-property",
        "plain",
        "both-opencti-first",
    ],
)
def test_the_source_is_recognised(value, source):
    assert run(value).source == source
