"""TLP (moved from service.reports.stix) and REL TO markings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import service.reports.stix
from crypto.keydoc import NODE_ID as KEYDOC_NODE_ID
from policies import (
    TLP,
    MarkingInvalid,
    Origin,
    format_rel_to,
    parse_rel_to,
    rel_to_marking,
    rel_to_of,
)
from policies import tlp as tlp_module
from policies.markings import NODE_ID, MarkingIndex
from tests.conftest import shared_path

from .stixgen import AMBER, GREEN, RED, TIME, bundle, identity, indicator, sid, validated

# --- TLP lives in policies.tlp and service.reports.stix re-exports the same objects ----------


@pytest.mark.parametrize(
    "name", ["TLP", "TLP1_MARKING_IDS", "TLP2_EXTENSION_ID", "TLP2_MARKING_IDS", "_TLP1_BUILTINS"]
)
def test_service_stix_reexports_the_one_definition(name: str) -> None:
    public = name.lstrip("_")
    assert getattr(service.reports.stix, name) is getattr(tlp_module, public)


@pytest.mark.parametrize("name", ["clear", "green", "amber", "amber-strict", "red"])
def test_tlp_ids_agree_with_the_official_definitions(name: str) -> None:
    document = json.loads(Path(shared_path("stix", "tlp2", f"tlp2-{name}.json")).read_text())
    (definition,) = document["objects"]
    level = tlp_module.TLP2_MARKING_IDS[definition["id"]]
    assert level.value == definition["extensions"][tlp_module.TLP2_EXTENSION_ID]["tlp_2_0"]
    assert level.label == definition["name"]
    assert MarkingIndex.of([definition]).tlp[definition["id"]] is level


@pytest.mark.parametrize(
    ("text", "level"),
    [("amber+strict", TLP.AMBER_STRICT), ("clear", TLP.CLEAR), ("TLP:AMBER", None),
     ("white", None), ("Amber", None), ("", None)],
)  # fmt: skip
def test_parse_tlp(text: str, level: TLP | None) -> None:
    assert tlp_module.parse_tlp(text) is level


# --- REL TO -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("REL TO SY", {"SY"}),
        ("REL TO IQ, SY", {"IQ", "SY"}),
        ("REL TO IQ,SY ,  JO", {"IQ", "SY", "JO"}),
        ("REL TO node-1.example_2", {"node-1.example_2"}),
        ("Handle via liaison channels only", None),
        ("RELEASABLE", None),
        ("TLP:AMBER", None),
    ],
)
def test_parse_rel_to(text: str, names: set[str] | None) -> None:
    result = parse_rel_to(text)
    assert (set(result) if result is not None else None) == names


@pytest.mark.parametrize(
    "text",
    ["REL TO", "REL TO ", "rel to SY", "REL TO: SY", "REL  TO SY", "REL TO SY,", "REL TO SY; JO",
     " REL TO SY", "REL TO SY and JO", "Rel To IQ", "REL TO -SY"],
)  # fmt: skip
def test_rel_to_lookalikes_are_invalid(text: str) -> None:
    with pytest.raises(MarkingInvalid):
        parse_rel_to(text)


def test_our_node_id_pattern_is_the_key_documents() -> None:
    assert NODE_ID.pattern == KEYDOC_NODE_ID.pattern


def test_rel_to_marking_is_valid_stix_and_reads_back() -> None:
    assert format_rel_to(["SY", "IQ", "SY"]) == "REL TO IQ, SY"
    marking = rel_to_marking(["SY", "IQ"], marking_id=sid("marking-definition", 5), created=TIME)
    value = bundle(marking, identity(1, markings=(AMBER, marking["id"])))
    report = validated(value)
    assert report.tlp is TLP.AMBER
    assert rel_to_of(report.bundle) == {"IQ", "SY"}
    with pytest.raises(MarkingInvalid):
        rel_to_marking([], marking_id=sid("marking-definition", 5), created=TIME)
    with pytest.raises(MarkingInvalid):
        format_rel_to(["S Y"])


def test_rel_to_applies_per_object_and_intersects() -> None:
    a = rel_to_marking(["IQ", "SY", "JO"], marking_id=sid("marking-definition", 1), created=TIME)
    b = rel_to_marking(["SY", "JO"], marking_id=sid("marking-definition", 2), created=TIME)
    c = rel_to_marking(["JO"], marking_id=sid("marking-definition", 3), created=TIME)
    one = identity(1, markings=(AMBER, a["id"], b["id"]))
    two = indicator(2, markings=(AMBER,))
    three = {**indicator(3), "granular_markings": [{"marking_ref": c["id"], "selectors": ["name"]}]}
    index = MarkingIndex.of([a, b, c, one, two, three])
    assert index.object_rel_to(one) == {"SY", "JO"}
    assert index.object_rel_to(two) is None
    assert index.object_rel_to(three) == {"JO"}  # a granular REL TO restricts the whole object
    assert index.rel_to_of([one, two]) == {"SY", "JO"}
    assert index.rel_to_of([one, two, three]) == {"JO"}
    assert index.rel_to_of([two]) is None


def test_a_rel_to_id_defined_twice_differently_is_invalid() -> None:
    a = rel_to_marking(["SY"], marking_id=sid("marking-definition", 1), created=TIME)
    b = rel_to_marking(["JO"], marking_id=sid("marking-definition", 1), created=TIME)
    assert MarkingIndex.of([a, a]).invalid == ()
    assert MarkingIndex.of([a, b]).invalid
    with pytest.raises(MarkingInvalid):
        rel_to_of(bundle(a, b, identity(1)))


def test_object_tlp_is_the_highest_referenced() -> None:
    obj = {
        **identity(1, markings=(GREEN,)),
        "granular_markings": [{"marking_ref": RED, "selectors": ["name"]}],
    }
    index = MarkingIndex.of([obj])
    assert index.object_tlp(obj) is TLP.RED
    assert index.object_tlp(identity(2, markings=())) is None
    assert index.tlp_of([]) is None


def test_origin_from_a_received_bundle() -> None:
    marking = rel_to_marking(["IQ", "JO"], marking_id=sid("marking-definition", 1), created=TIME)
    origin = Origin.from_received_bundle(
        "SY", bundle(marking, identity(1, markings=(AMBER, marking["id"]))), tlp=TLP.AMBER
    )
    assert origin == Origin("SY", TLP.AMBER, frozenset({"IQ", "JO"}))
    assert Origin.local().partner is None
