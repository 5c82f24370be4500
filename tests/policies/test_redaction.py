"""The cut that keeps a released bundle valid: references, markings and selectors after removals."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policies import TLP, Origin, Redaction, decide_outbound
from policies.redaction import Cut

from .stixgen import (
    AMBER,
    RED,
    TIME,
    bundle,
    identity,
    indicator,
    intrusion_set,
    note,
    policy,
    rel_to_definition,
    relationship,
    report,
    sid,
    sighting,
    tlp_definition,
    validated,
)

AUTHOR, SOURCE = sid("identity", 1), sid("identity", 2)
CELL, DOMAIN = sid("intrusion-set", 3), sid("indicator", 4)


def released(submitted: dict[str, Any], redaction: Redaction, **options: Any) -> dict[str, Any]:
    report_ = validated(submitted)
    decision = decide_outbound(
        policy(redact=redaction, **options),
        report_.bundle,
        report_tlp=report_.tlp,
        origin=Origin.local(),
    )
    assert decision.released is not None, decision.reason
    validated(decision.released)  # still a bundle the service accepts
    return decision.released


def by_id(value: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {obj["id"]: obj for obj in value["objects"]}


SOURCES = Redaction(identity_classes=frozenset({"individual"}))


def test_a_relationship_to_a_removed_object_goes_with_it() -> None:
    out = by_id(
        released(
            bundle(
                identity(1),
                identity(2, cls="individual"),
                intrusion_set(3),
                relationship(5, SOURCE, CELL),
                relationship(6, CELL, SOURCE),
            ),
            SOURCES,
        )
    )
    assert set(out) == {AUTHOR, CELL}


def test_a_sighting_of_a_removed_object_goes_and_its_observers_are_filtered() -> None:
    out = by_id(
        released(
            bundle(
                identity(1),
                identity(2, cls="individual"),
                indicator(4),
                sighting(7, DOMAIN, where=[SOURCE]),
                sighting(8, SOURCE, where=[AUTHOR]),
            ),
            SOURCES,
        )
    )
    assert sid("sighting", 8) not in out
    assert "where_sighted_refs" not in out[sid("sighting", 7)]  # emptied, and optional


def test_containers_lose_removed_refs_and_go_when_empty() -> None:
    out = by_id(
        released(
            bundle(
                identity(1),
                identity(2, cls="individual"),
                intrusion_set(3),
                report(9, [SOURCE, CELL]),
                report(10, [SOURCE]),
                note(8, [SOURCE]),
            ),
            SOURCES,
        )
    )
    assert out[sid("report", 9)]["object_refs"] == [CELL]
    assert sid("report", 10) not in out
    assert sid("note", 8) not in out


def test_created_by_a_removed_identity_loses_the_ref() -> None:
    out = by_id(
        released(
            bundle(identity(2, cls="individual"), intrusion_set(3, created_by_ref=SOURCE)),
            SOURCES,
        )
    )
    assert set(out) == {CELL}
    assert "created_by_ref" not in out[CELL]


def test_a_marking_no_longer_used_is_dropped_and_one_in_use_kept() -> None:
    rel_only_on_note = rel_to_definition(1, "REL TO IQ, SY")
    unused_from_the_start = rel_to_definition(2, "REL TO SY")
    tlp = tlp_definition("amber")
    out = by_id(
        released(
            bundle(
                tlp,
                rel_only_on_note,
                unused_from_the_start,
                identity(1),
                intrusion_set(3),
                {**note(8, [CELL]), "object_marking_refs": [AMBER, rel_only_on_note["id"]]},
            ),
            Redaction(object_types=frozenset({"note"})),
        )
    )
    assert rel_only_on_note["id"] not in out
    assert unused_from_the_start["id"] in out  # not ours to remove: nothing we removed used it
    assert tlp["id"] in out


def test_marking_definitions_are_never_property_redacted() -> None:
    marking = rel_to_definition(1, "REL TO SY", name="REL TO SY")
    marking["x_source_tag"] = "kept"
    cut = Cut(bundle(marking, identity(1, markings=(AMBER, marking["id"]))))
    cut.remove_properties(Redaction(property_prefixes=("x_source_",)), "outbound.redact")
    assert by_id(cut.bundle())[marking["id"]]["x_source_tag"] == "kept"


def test_nested_objects_emptied_by_redaction_go_but_list_elements_stay() -> None:
    cell = intrusion_set(
        3,
        x_meta={"x_source_a": 1, "inner": {"x_source_b": 2}},
        x_list=[{"x_source_c": 3}, {"keep": 4}],
    )
    out = by_id(released(bundle(identity(1), cell), Redaction(property_prefixes=("x_source_",))))
    assert "x_meta" not in out[CELL]
    assert out[CELL]["x_list"] == [{}, {"keep": 4}]  # indexes never shift under a selector


def test_granular_selectors_follow_the_cut() -> None:
    submitted = bundle(
        tlp_definition("red"),
        identity(1),
        identity(2, cls="individual"),
        intrusion_set(3),
        {
            **report(9, [SOURCE, CELL, AUTHOR]),
            "x_source_note": "secret",
            "granular_markings": [
                {"marking_ref": RED, "selectors": ["x_source_note"]},
                {"marking_ref": RED, "selectors": ["object_refs.[2]", "object_refs.[0]"]},
            ],
        },
    )
    report_ = validated(submitted)
    decision = decide_outbound(
        policy(
            redact=Redaction(
                identity_classes=frozenset({"individual"}), property_prefixes=("x_source_",)
            ),
            max_tlp=TLP.RED,
            red_recipients=frozenset({"SY"}),
        ),
        report_.bundle,
        report_tlp=report_.tlp,
        origin=Origin.local(),
    )
    assert decision.released is not None
    out = by_id(decision.released)[sid("report", 9)]
    assert out["object_refs"] == [CELL, AUTHOR]
    # The marking of the removed property is gone; AUTHOR's marking moved with it to index 1.
    assert out["granular_markings"] == [{"marking_ref": RED, "selectors": ["object_refs.[1]"]}]
    assert {p.path for p in decision.removed.properties} >= {
        "x_source_note",
        "granular_markings[0].selectors: x_source_note",
    }
    validated(decision.released)


def test_network_traffic_without_endpoints_goes() -> None:
    addr = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": sid("ipv4-addr", 20),
        "value": "198.51.100.7",
        "object_marking_refs": [AMBER],
    }
    other = {**addr, "id": sid("ipv4-addr", 21), "value": "198.51.100.8"}
    flow = {
        "type": "network-traffic",
        "spec_version": "2.1",
        "id": sid("network-traffic", 22),
        "src_ref": addr["id"],
        "protocols": ["tcp"],
        "object_marking_refs": [AMBER],
    }
    kept_flow = {**flow, "id": sid("network-traffic", 23), "dst_ref": other["id"]}
    out = by_id(_cut_types(bundle(identity(1), intrusion_set(3), addr, other, flow, kept_flow)))
    assert flow["id"] not in out
    assert kept_flow["id"] not in out  # both of its endpoints were ipv4-addr


def _cut_types(value: dict[str, Any]) -> dict[str, Any]:
    cut = Cut(value)
    cut.remove_objects(
        lambda o: "redacted" if o["type"] == "ipv4-addr" else None, "outbound.redact"
    )
    return cut.bundle()


def test_network_traffic_keeping_one_endpoint_stays() -> None:
    keep = {
        "type": "domain-name",
        "spec_version": "2.1",
        "id": sid("domain-name", 30),
        "value": "relay.example",
        "object_marking_refs": [AMBER],
    }
    drop = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": sid("ipv4-addr", 31),
        "value": "198.51.100.9",
        "object_marking_refs": [AMBER],
    }
    flow = {
        "type": "network-traffic",
        "spec_version": "2.1",
        "id": sid("network-traffic", 32),
        "src_ref": drop["id"],
        "dst_ref": keep["id"],
        "protocols": ["tcp"],
        "object_marking_refs": [AMBER],
    }
    out = by_id(_cut_types(bundle(keep, drop, flow)))
    assert out[flow["id"]].get("src_ref") is None
    assert out[flow["id"]]["dst_ref"] == keep["id"]


def test_an_extension_definition_by_a_removed_identity_goes() -> None:
    extension = {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": sid("extension-definition", 40),
        "created": TIME,
        "modified": TIME,
        "created_by_ref": SOURCE,
        "name": "Fictional extension",
        "schema": "https://example.invalid/schema.json",
        "version": "1.0.0",
        "extension_types": ["property-extension"],
    }
    cut = Cut(bundle(identity(2, cls="individual"), extension, intrusion_set(3)))
    cut.remove_objects(SOURCES.removes_object, "outbound.redact")
    assert {o["id"] for o in cut.objects} == {CELL}


def test_the_cut_never_touches_its_input() -> None:
    submitted = bundle(
        identity(1),
        identity(2, cls="individual"),
        intrusion_set(3, x_meta={"x_source_a": 1}),
        relationship(5, SOURCE, CELL),
    )
    before = copy.deepcopy(submitted)
    cut = Cut(submitted)
    cut.remove_objects(SOURCES.removes_object, "outbound.redact")
    cut.remove_properties(Redaction(property_prefixes=("x_source_",)), "outbound.redact")
    assert submitted == before
    assert len(cut.objects) == 2


@pytest.mark.parametrize(
    ("kind", "substantive"),
    [("identity", 0), ("marking-definition", 0), ("indicator", 1), ("relationship", 1)],
)
def test_substance(kind: str, substantive: int) -> None:
    cut = Cut(
        {"type": "bundle", "id": "bundle--x", "objects": [{"type": kind, "id": kind + "--1"}]}
    )
    assert cut.substantive() == substantive
