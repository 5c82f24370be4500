"""OpenCTI's TLP marking definitions, in the three shapes it writes them (tests/service/imports/
shapes.py cites each), read as TLP 2.0; and how an OpenCTI export is recognised.

Known answers from OpenCTI-Platform/opencti, opencti-platform/opencti-graphql/src/schema/
identifier.js (STATIC_STANDARD_IDS): TLP:CLEAR and TLP:WHITE under the TLP 1.0 WHITE id, GREEN,
AMBER and RED under the TLP 1.0 ids, TLP:AMBER+STRICT under 826578e1-40ad-459f-bc73-ede076f81f37.
"""

from __future__ import annotations

import json

import pytest

from service.imports import normalise
from service.imports.opencti import is_opencti, tlp_level
from service.reports.stix import TLP, StixInvalid, TlpMissing, validate_report
from tests.service.imports import shapes as S

pytestmark = pytest.mark.filterwarnings(
    "ignore:jsonschema.exceptions.RefResolutionError is deprecated:DeprecationWarning"
)

LIMITS = {"max_bytes": 1_000_000, "max_objects": 1_000}
INDICATOR = "indicator--7c1e4b2a-9d3f-4a6b-8c5d-1e2f3a4b5c6d"
STATIC = [
    (S.TLP1["white"], "TLP:CLEAR", TLP.CLEAR),
    (S.TLP1["white"], "TLP:WHITE", TLP.CLEAR),
    (S.TLP1["green"], "TLP:GREEN", TLP.GREEN),
    (S.TLP1["amber"], "TLP:AMBER", TLP.AMBER),
    (S.OPENCTI_AMBER_STRICT, "TLP:AMBER+STRICT", TLP.AMBER_STRICT),
    (S.TLP1["red"], "TLP:RED", TLP.RED),
]


def platform(mid: str, definition: str) -> dict:
    return S.octi_platform_marking(mid, definition, 2, "#d84315")


def connector(mid: str, definition: str) -> dict:
    return S.connector_amber_strict() | {"id": mid, "x_opencti_definition": definition}


SHAPES = {"platform": platform, "pycti": S.pycti_marking, "connector": connector}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("mid", "definition", "level"), STATIC, ids=[d for _, d, _ in STATIC])
def test_each_shape_is_read_as_the_level_its_id_means(shape, mid, definition, level):
    assert tlp_level(SHAPES[shape](mid, definition)) is level


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("mid", "definition", "level"), STATIC, ids=[d for _, d, _ in STATIC])
def test_an_export_in_each_shape_passes_the_validator_once_normalised(
    shape, mid, definition, level
):
    definition_object = SHAPES[shape](mid, definition)
    indicator = S.octi_indicator([mid])
    out = normalise(S.encode(S.bundle(definition_object, indicator)), **LIMITS)
    assert out.source == "opencti"
    objects = {obj["id"]: obj for obj in json.loads(out.data)["objects"]}
    assert objects[INDICATOR]["object_marking_refs"] == [level.marking_id]
    assert mid not in objects
    report = validate_report(out.data)
    assert report.tlp is level and report.tlp_source == "tlp2"


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("definition", ["TLP:CLEAR", "TLP:AMBER+STRICT"])
def test_the_validator_refuses_opencti_tlp2_levels_as_opencti_writes_them(shape, definition):
    """Why the normaliser exists: OpenCTI's TLP:CLEAR and TLP:AMBER+STRICT, unchanged, are a
    relabelled TLP 1.0 id, a TLP 1.0 definition under a non-built-in id, a non-TLP marking named
    like TLP, or no TLP marking at all."""
    mid = S.TLP1["white"] if definition == "TLP:CLEAR" else S.OPENCTI_AMBER_STRICT
    value = S.bundle(SHAPES[shape](mid, definition), S.octi_indicator([mid]))
    with pytest.raises((StixInvalid, TlpMissing)):
        validate_report(S.encode(value))


def test_the_change_names_opencti_and_both_levels():
    out = normalise(S.encode(S.opencti_export()), **LIMITS)
    mapped = [c for c in out.changes if c.kind == "opencti_tlp_mapped"]
    assert [c.object_id for c in mapped] == [
        "identity--5a2f0e6b-1c3d-4e7f-8a9b-0c1d2e3f4a5b",
        "report--2d4f6a8c-0e1b-4c3d-9e5f-7a8b9c0d1e2f",
        INDICATOR,
    ]
    assert mapped[-1].detail == (
        f"{INDICATOR} marking TLP:AMBER+STRICT (OpenCTI's definition) replaced by "
        "TLP:AMBER+STRICT (TLP 2.0) in object_marking_refs"
    )
    dropped = [c.object_id for c in out.changes if c.kind == "marking_definition_dropped"]
    assert dropped == [S.OPENCTI_AMBER_STRICT, S.TLP1["white"]]


def test_its_amber_strict_id_alone_is_read_as_amber_strict():
    """A reference to OpenCTI's fixed id, its definition not shipped: left alone, the object would
    look unmarked and an officer's blanket choice could lower it."""
    out = normalise(
        S.encode(S.bundle(S.octi_indicator([S.OPENCTI_AMBER_STRICT]))),
        **LIMITS,
        mark_unmarked="clear",
    )
    [change] = out.changes
    assert change.kind == "opencti_tlp_mapped" and "OpenCTI's fixed id" in change.detail
    assert validate_report(out.data).tlp is TLP.AMBER_STRICT


@pytest.mark.parametrize(
    "value",
    [
        {"type": "indicator", "id": S.OPENCTI_AMBER_STRICT},
        {"type": "marking-definition", "id": ["not", "hashable"], "name": "TLP:RED"},
        {
            "type": "marking-definition",
            "id": S.TLP1["red"],
            "name": ["TLP:RED"],
            "definition_type": "tlp",
            "definition": {"tlp": "red"},
        },
        {
            "type": "marking-definition",
            "id": S.TLP1["red"],
            "definition_type": "tlp",
            "definition": {"tlp": "red", "extra": 1},
        },
        {
            "type": "marking-definition",
            "id": S.TLP1["red"],
            "definition_type": "tlp",
            "definition": "red",
        },
        {"type": "marking-definition", "id": S.TLP1["red"], "definition_type": "TLP"},
        {
            "type": "marking-definition",
            "id": S.TLP1["red"],
            "definition_type": "statement",
            "definition": {"statement": "custom"},
            "name": "TLP:RED",
        },
        {
            "type": "marking-definition",
            "id": S.TLP1["red"],
            "name": "tlp:red",
            "definition_type": "tlp",
            "definition": {"tlp": "red"},
        },
    ],
    ids=[
        "not-a-marking",
        "id-not-hashable",
        "name-not-string",
        "extra-definition",
        "definition-not-object",
        "platform-unnamed",
        "connector-without-definition",
        "lower-case-name",
    ],
)
def test_other_shapes_are_not_openctis(value):
    assert tlp_level(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (S.octi_indicator([]), True),
        ({"type": "identity", "id": "identity--1", "x_opencti_firstname": "T"}, True),
        (
            {
                "type": "x",
                "id": "x--1",
                "extensions": {"extension-definition--f93e2c80-4231-4f9a-af8b-95c9bd566a82": {}},
            },
            True,
        ),
        ({"type": "x", "id": "x--1", "object_marking_refs": [S.OPENCTI_AMBER_STRICT]}, True),
        (S.misp_org(), False),
        ({"type": "x", "id": "x--1", "extensions": [], "object_marking_refs": "x"}, False),
    ],
    ids=["extension", "property", "sco-extension", "amber-strict-ref", "plain", "odd-types"],
)
def test_opencti_is_recognised_by_what_only_it_writes(value, expected):
    assert is_opencti(value) is expected
