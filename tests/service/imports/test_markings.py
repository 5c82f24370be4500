"""Marking dialects: TLP 1.0 ids and OpenCTI's TLP definitions replaced by TLP 2.0 ids, and every
way a marking could be read as a lower level than it means, tried and refused.

The rule under test: a marking id is replaced only when what the bundle says of it agrees with
what the id means; anything else stays for the strict validator, which refuses it.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.imports import normalise
from service.imports.markings import remap, replacements, unmarked
from service.reports.stix import TLP, StixInvalid, TlpConflict, TlpMissing, validate_report
from tests.service.imports import shapes as S

pytestmark = pytest.mark.filterwarnings(
    "ignore:jsonschema.exceptions.RefResolutionError is deprecated:DeprecationWarning"
)

LIMITS = {"max_bytes": 1_000_000, "max_objects": 1_000}
INDICATOR = "indicator--7c1e4b2a-9d3f-4a6b-8c5d-1e2f3a4b5c6d"


def run(*objects: dict, **options: object):
    return normalise(S.encode(S.bundle(*objects)), **{**LIMITS, **options})


def by_id(data: bytes) -> dict[str, dict]:
    return {obj["id"]: obj for obj in json.loads(data)["objects"]}


def kinds(out) -> list[str]:
    return [change.kind for change in out.changes]


# --- TLP 1.0 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("colour", "level"),
    [("white", "clear"), ("green", "green"), ("amber", "amber"), ("red", "red")],
)
def test_a_tlp1_id_becomes_its_tlp2_id(colour, level):
    out = run(S.octi_indicator([S.TLP1[colour]]))
    assert by_id(out.data)[INDICATOR]["object_marking_refs"] == [S.TLP2[level]]
    [change] = out.changes
    assert change.kind == "tlp1_mapped" and change.object_id == INDICATOR
    expected = f"TLP:{colour.upper()} (TLP 1.0) replaced by TLP:{level.upper()} (TLP 2.0)"
    assert expected in change.detail
    assert validate_report(out.data).tlp_source == "tlp2"


def test_granular_markings_are_mapped_too():
    indicator = S.octi_indicator([S.TLP1["green"]]) | {
        "granular_markings": [
            {"marking_ref": S.TLP1["red"], "selectors": ["description"]},
            {"marking_ref": S.TLP1["green"], "selectors": ["name"]},
        ]
    }
    out = run(indicator)
    new = by_id(out.data)[INDICATOR]
    assert [g["marking_ref"] for g in new["granular_markings"]] == [S.TLP2["red"], S.TLP2["green"]]
    assert [g["selectors"] for g in new["granular_markings"]] == [["description"], ["name"]]
    green, red = out.changes
    assert "in object_marking_refs and in 1 granular marking" in green.detail
    assert red.detail.endswith("in 1 granular marking") and "TLP:RED (TLP 1.0)" in red.detail
    assert validate_report(out.data).tlp is TLP.RED


def test_the_standard_tlp1_definition_is_dropped_once_unreferenced():
    out = run(S.misp_tlp1("amber"), S.octi_indicator([S.TLP1["amber"]]))
    assert S.TLP1["amber"] not in by_id(out.data)
    dropped = out.changes[-1]
    assert dropped.kind == "marking_definition_dropped" and dropped.object_id == S.TLP1["amber"]


def test_a_definition_still_referenced_elsewhere_stays():
    report = S.octi_report([S.TLP2["amber"]], S.TLP1["amber"])  # object_refs names the definition
    out = run(S.misp_tlp1("amber"), S.octi_indicator([S.TLP1["amber"]]), report)
    assert S.TLP1["amber"] in by_id(out.data)
    assert "marking_definition_dropped" not in kinds(out)


@pytest.mark.parametrize("order", [1, -1])
def test_tlp1_and_tlp2_of_one_level_become_one_reference(order):
    out = run(S.octi_indicator([S.TLP1["amber"], S.TLP2["amber"]][::order]))
    assert by_id(out.data)[INDICATOR]["object_marking_refs"] == [S.TLP2["amber"]]


def test_other_markings_are_left_in_place():
    pap = "marking-definition--1f3e5a7c-9b2d-4f6e-8a0c-2e4f6a8c0e1b"
    definition = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": pap,
        "created": S.OCTI_TIME,
        "name": "PAP:AMBER",
        "definition_type": "statement",
        "definition": {"statement": "PAP:AMBER"},
    }
    out = run(definition, S.octi_indicator([pap, S.TLP1["red"]]))
    assert by_id(out.data)[INDICATOR]["object_marking_refs"] == [pap, S.TLP2["red"]]
    assert pap in by_id(out.data)


# --- relabelled markings: never a lower level -----------------------------------------------------


def test_a_relabelled_tlp1_definition_is_not_mapped():
    """The TLP 1.0 RED id, defined as TLP:CLEAR: neither level is assumed; the validator refuses."""
    fake = S.pycti_marking(S.TLP1["red"], "TLP:CLEAR")
    out = run(fake, S.octi_indicator([S.TLP1["red"]]), mark_unmarked="clear")
    objects = by_id(out.data)
    assert objects[INDICATOR]["object_marking_refs"] == [S.TLP1["red"]]
    assert objects[S.TLP1["red"]] == fake
    assert out.changes == () and out.unmarked == ()
    with pytest.raises(StixInvalid) as caught:
        validate_report(out.data)
    assert S.TLP1["red"] in caught.value.diagnostics()


@pytest.mark.parametrize(
    "fake",
    [
        S.octi_platform_marking(S.OPENCTI_AMBER_STRICT, "TLP:CLEAR", 1, "#ffffff"),
        S.pycti_marking(S.OPENCTI_AMBER_STRICT, "TLP:CLEAR"),
        S.connector_amber_strict() | {"x_opencti_definition": "TLP:CLEAR"},
        S.connector_amber_strict() | {"name": "TLP:CLEAR"},
        S.connector_amber_strict() | {"x_opencti_definition_type": "PAP"},
        S.pycti_marking(S.OPENCTI_AMBER_STRICT, "TLP:AMBER+STRICT") | {"name": "TLP:GREEN"},
        S.octi_platform_marking(S.TLP1["green"], "TLP:CLEAR", 1, "#ffffff"),
        S.octi_platform_marking(S.TLP1["white"], "TLP:RED", 1, "#ffffff"),
        S.octi_platform_marking(S.OPENCTI_AMBER_STRICT, "TLP:AMBER+STRICT", 3, "#d84315")
        | {
            "extensions": {S.TLP2_EXT: {"extension_type": "property-extension", "tlp_2_0": "clear"}}
        },
        S.octi_platform_marking(S.OPENCTI_AMBER_STRICT, "TLP:AMBER+STRICT", 3, "#d84315")
        | {"definition": {"statement": "custom"}},
        S.octi_platform_marking(S.OPENCTI_AMBER_STRICT, "TLP:AMBER+STRICT", 3, "#d84315")
        | {"extensions": {}},
    ],
    ids=[
        "platform-clear",
        "pycti-clear",
        "connector-clear",
        "connector-named-clear",
        "connector-not-tlp",
        "pycti-two-names",
        "green-id-named-clear",
        "white-id-named-red",
        "tlp2-extension",
        "platform-with-definition",
        "platform-without-extension",
    ],
)
def test_an_opencti_id_that_claims_another_level_is_not_mapped(fake):
    """Not OpenCTI's shape for the id: the references stay as they were, the object is not listed
    as unmarked (so an officer's blanket choice cannot lower it), and the validator refuses."""
    out = run(fake, S.octi_indicator([fake["id"]]), mark_unmarked="clear")
    objects = by_id(out.data)
    assert objects[INDICATOR]["object_marking_refs"] == [fake["id"]]
    assert objects[fake["id"]] == fake
    assert out.changes == () and out.unmarked == ()
    with pytest.raises((StixInvalid, TlpMissing)):
        validate_report(out.data)


@pytest.mark.parametrize(
    "fake",
    [
        S.connector_amber_strict()
        | {"id": "marking-definition--0c8e4a26-1b3d-4f5a-9e7c-3d5f7a9b1c2e"},
        S.octi_platform_marking(
            "marking-definition--0c8e4a26-1b3d-4f5a-9e7c-3d5f7a9b1c2e", "TLP:CLEAR", 1, "#ffffff"
        ),
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": "marking-definition--0c8e4a26-1b3d-4f5a-9e7c-3d5f7a9b1c2e",
            "created": S.OCTI_TIME,
            "definition_type": "statement",
            "definition": {"statement": "tlp:clear"},
        },
    ],
    ids=["connector-shape-other-id", "platform-shape-other-id", "statement-tlp-tag"],
)
def test_a_tlp_claim_under_an_unknown_id_is_neither_mapped_nor_officer_marked(fake):
    out = run(fake, S.octi_indicator([fake["id"]]), mark_unmarked="clear")
    assert by_id(out.data)[INDICATOR]["object_marking_refs"] == [fake["id"]]
    assert out.changes == () and out.unmarked == ()
    with pytest.raises((StixInvalid, TlpMissing)):
        validate_report(out.data)


def test_a_misspelt_well_known_id_is_a_claim_too():
    upper = S.TLP2["clear"].upper().replace("MARKING-DEFINITION", "marking-definition")
    out = run(S.octi_indicator([upper]), mark_unmarked="clear")
    assert out.unmarked == () and out.changes == ()
    with pytest.raises(StixInvalid, match="misspelt"):
        validate_report(out.data)


# --- conflicts ------------------------------------------------------------------------------------


def test_conflicting_dialects_on_one_object_are_both_kept_for_the_validator():
    """TLP 1.0 CLEAR beside OpenCTI's AMBER+STRICT: the normaliser picks neither."""
    indicator = S.octi_indicator([S.TLP1["white"], S.OPENCTI_AMBER_STRICT])
    out = run(S.connector_amber_strict(), S.misp_tlp1("white"), indicator)
    refs = by_id(out.data)[INDICATOR]["object_marking_refs"]
    assert refs == [S.TLP2["clear"], S.TLP2["amber+strict"]]
    assert kinds(out)[:2] == ["tlp1_mapped", "opencti_tlp_mapped"]
    with pytest.raises(TlpConflict):
        validate_report(out.data)


def test_a_readable_and_a_relabelled_definition_of_one_id_are_not_mapped():
    out = run(
        S.misp_tlp1("white"),
        S.pycti_marking(S.TLP1["white"], "TLP:RED"),
        S.octi_indicator([S.TLP1["white"]]),
    )
    assert by_id(out.data)[INDICATOR]["object_marking_refs"] == [S.TLP1["white"]]
    with pytest.raises(StixInvalid):
        validate_report(out.data)


# --- unmarked -------------------------------------------------------------------------------------


def test_unmarked_lists_objects_without_a_tlp_marking_and_skips_definitions():
    objects = [
        S.misp_tlp1("amber"),
        S.octi_indicator([]),
        S.misp_org(),
        S.octi_org([S.TLP2["green"]]),
        S.octi_report(["marking-definition--1f3e5a7c-9b2d-4f6e-8a0c-2e4f6a8c0e1b"]),
    ]
    assert unmarked(objects) == [INDICATOR, S.misp_org()["id"], S.octi_report([])["id"]]


def test_granular_markings_alone_leave_an_object_unmarked():
    indicator = S.octi_indicator([]) | {
        "granular_markings": [{"marking_ref": S.TLP2["red"], "selectors": ["name"]}]
    }
    del indicator["object_marking_refs"]
    out = run(indicator)
    assert out.unmarked == (INDICATOR,)
    marked = run(indicator, mark_unmarked="red")
    assert by_id(marked.data)[INDICATOR]["object_marking_refs"] == [S.TLP2["red"]]
    validate_report(marked.data)


# --- purity ---------------------------------------------------------------------------------------


def test_remap_changes_nothing_it_is_given():
    indicator = S.octi_indicator([S.TLP1["amber"]]) | {
        "granular_markings": [{"marking_ref": S.TLP1["red"], "selectors": ["name"]}],
        "labels": ["tlp:red", "c2"],
    }
    before = copy.deepcopy(indicator)
    table = replacements([indicator])
    new, changes = remap(
        indicator, table, tag_level=lambda label: TLP.RED if label == "tlp:red" else None
    )
    assert indicator == before
    assert new["object_marking_refs"] == [S.TLP2["amber"], S.TLP2["red"]]
    assert new["labels"] == ["c2"] and len(changes) == 3


def test_properties_of_the_wrong_type_are_left_for_the_validator():
    indicator = S.octi_indicator([]) | {
        "object_marking_refs": S.TLP1["amber"],
        "granular_markings": [5, {"marking_ref": ["x"]}],
    }
    out = run(indicator)
    new = by_id(out.data)[INDICATOR]
    assert new["object_marking_refs"] == S.TLP1["amber"] and new["granular_markings"] == [
        5,
        {"marking_ref": ["x"]},
    ]
    with pytest.raises(StixInvalid):
        validate_report(out.data)


def test_odd_values_among_marking_references_do_not_stop_the_mapping():
    indicator = S.octi_indicator([S.TLP1["amber"], ["odd"], {"odd": 1}, 5, S.TLP2["amber"]])
    out = run(indicator)
    refs = by_id(out.data)[INDICATOR]["object_marking_refs"]
    assert refs == [S.TLP2["amber"], ["odd"], {"odd": 1}, 5]
    with pytest.raises(StixInvalid):
        validate_report(out.data)


# --- property: the levels an object claims never change, only their spelling ----------------------

MEANING = {
    **{mid: level for level, mid in S.TLP2.items()},
    **{mid: ("clear" if colour == "white" else colour) for colour, mid in S.TLP1.items()},
    S.OPENCTI_AMBER_STRICT: "amber+strict",
}
DEFINITIONS = [
    *(S.misp_tlp1(colour) for colour in S.TLP1),
    S.octi_platform_marking(S.TLP1["white"], "TLP:CLEAR", 1, "#ffffff"),
    S.octi_platform_marking(S.OPENCTI_AMBER_STRICT, "TLP:AMBER+STRICT", 3, "#d84315"),
    S.pycti_marking(S.OPENCTI_AMBER_STRICT, "TLP:AMBER+STRICT"),
    S.connector_amber_strict(),
    S.pycti_marking(S.TLP1["red"], "TLP:CLEAR"),  # relabelled
    S.connector_amber_strict() | {"x_opencti_definition": "TLP:CLEAR"},  # relabelled
    S.octi_platform_marking(S.TLP1["green"], "TLP:CLEAR", 1, "#ffffff"),  # relabelled
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    definitions=st.lists(st.sampled_from(range(len(DEFINITIONS))), max_size=4),
    markings=st.lists(
        st.lists(st.sampled_from(sorted(MEANING)), max_size=3), min_size=1, max_size=4
    ),
    officer=st.sampled_from([None, "clear"]),
)
def test_no_object_ever_claims_another_level_after_normalising(definitions, markings, officer):
    objects = [copy.deepcopy(DEFINITIONS[i]) for i in definitions]
    for n, refs in enumerate(markings):
        indicator = S.octi_indicator(refs) | {"id": f"indicator--7c1e4b2a-9d3f-4a6b-8c5d-{n:012d}"}
        objects.append(indicator)
    out = normalise(S.encode(S.bundle(*objects)), **LIMITS, mark_unmarked=officer)
    again = normalise(out.data, **LIMITS, mark_unmarked=officer)
    assert again.data == out.data and again.changes == ()
    after = by_id(out.data)
    for obj in objects[len(definitions) :]:
        before_levels = {MEANING[ref] for ref in obj["object_marking_refs"]}
        after_levels = {MEANING[ref] for ref in after[obj["id"]]["object_marking_refs"]}
        if before_levels:
            assert after_levels == before_levels
        else:  # nothing claimed: marked only at the officer's choice
            assert after_levels == ({officer} if officer else set())
