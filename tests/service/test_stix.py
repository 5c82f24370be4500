"""Submitted STIX: OASIS samples and the demo reports, TLP rules, and every way to be refused.

Known answers come from outside: the OASIS sample bundles and the official TLP 2.0 marking
definitions are read in place from ``/work/shared/stix/``, and the marking-definition ids below are
copied from its README (not from the module under test).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.canonical import canonicalize
from service.reports.stix import (
    MAX_MESSAGES,
    TLP,
    TLP2_EXTENSION_ID,
    StixError,
    StixInvalid,
    StixTooLarge,
    TlpConflict,
    TlpMissing,
    ValidatedReport,
    validate_report,
)

STIX_DIR = Path(__file__).resolve().parents[3] / "shared" / "stix"
DEMO_DIR = Path(__file__).resolve().parents[2] / "demo" / "reports"
SAMPLE_DIRS = ("cti-documentation", "cti-stix2-json-schemas")

# From ../shared/stix/README.md.
TLP2 = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP1 = {
    "white": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}
ALL_TLP_IDS = {*TLP2.values(), *TLP1.values()}
TIME = "2026-11-20T08:30:00.000Z"

# stix2-validator 3.3.2 names a deprecated jsonschema exception in an except clause; Python looks it
# up (and jsonschema warns) whenever the validator's own checks raise, e.g. on "created": 5.
pytestmark = pytest.mark.filterwarnings(
    "ignore:jsonschema.exceptions.RefResolutionError is deprecated:DeprecationWarning"
)


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: the suite reads ../shared/stix/ in place", pytrace=False)
    return path


def _load(path: Path) -> Any:
    return json.loads(_require(path).read_bytes())


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def _sample_paths() -> list[Path]:
    return sorted(p for d in SAMPLE_DIRS for p in (STIX_DIR / d).glob("*.json"))


def _sid(kind: str, n: int) -> str:
    return f"{kind}--{uuid.UUID(int=n, version=4)}"


def _indicator(n: int = 1, markings: tuple[str, ...] = (TLP2["amber"],), **extra: Any) -> dict:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": _sid("indicator", n),
        "created": TIME,
        "modified": TIME,
        "name": f"Relay domain {n} (fictional)",
        "description": "Fictional test indicator.",
        "indicator_types": ["attribution"],
        "pattern": f"[domain-name:value = 'relay-{n}.example']",
        "pattern_type": "stix",
        "valid_from": TIME,
    }
    if markings:
        obj["object_marking_refs"] = list(markings)
    obj.update(extra)
    return obj


def _identity(n: int = 1, markings: tuple[str, ...] = (TLP2["amber"],)) -> dict:
    obj: dict[str, Any] = {
        "type": "identity",
        "spec_version": "2.1",
        "id": _sid("identity", n),
        "created": TIME,
        "modified": TIME,
        "name": f"Liaison office {n} (fictional)",
        "identity_class": "organization",
    }
    if markings:
        obj["object_marking_refs"] = list(markings)
    return obj


def _tlp2_definition(mid: str, value: Any, **extra: Any) -> dict:
    obj: dict[str, Any] = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": mid,
        "created": "2022-10-01T00:00:00.000Z",
        "extensions": {
            TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": value}
        },
    }
    obj.update(extra)
    return obj


def _tlp1_definition(mid: str, colour: str, **extra: Any) -> dict:
    obj: dict[str, Any] = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": mid,
        "created": "2017-01-20T00:00:00.000Z",
        "definition_type": "tlp",
        "definition": {"tlp": colour},
    }
    obj.update(extra)
    return obj


def _upper(mid: str) -> str:
    """A well-known id with its UUID in upper case."""
    kind, uid = mid.split("--")
    return f"{kind}--{uid.upper()}"


def _bundle(*objects: Any) -> dict:
    return {"type": "bundle", "id": _sid("bundle", 99), "objects": list(objects)}


def _validate(*objects: Any, **limits: int) -> ValidatedReport:
    return validate_report(_encode(_bundle(*objects)), **limits)


# --- the TLP type -------------------------------------------------------------------------------


def test_tlp_levels_are_ordered_and_labelled() -> None:
    assert TLP.CLEAR < TLP.GREEN < TLP.AMBER < TLP.AMBER_STRICT < TLP.RED
    assert max(TLP.GREEN, TLP.RED, TLP.AMBER) is TLP.RED
    assert [level.label for level in TLP] == [
        "TLP:CLEAR",
        "TLP:GREEN",
        "TLP:AMBER",
        "TLP:AMBER+STRICT",
        "TLP:RED",
    ]
    # Members are not ints: CLEAR is truthy and never equal to 0 or to its string.
    assert all(bool(level) for level in TLP)
    assert TLP.CLEAR != 0
    assert TLP.GREEN != "green"
    with pytest.raises(TypeError):
        _ = TLP.GREEN < 3  # type: ignore[operator]


def test_tlp_ids_match_readme() -> None:
    assert {level.value: level.marking_id for level in TLP} == TLP2
    assert TLP.CLEAR.tlp1_marking_id == TLP1["white"]
    assert TLP.GREEN.tlp1_marking_id == TLP1["green"]
    assert TLP.AMBER.tlp1_marking_id == TLP1["amber"]
    assert TLP.RED.tlp1_marking_id == TLP1["red"]
    assert TLP.AMBER_STRICT.tlp1_marking_id is None


@pytest.mark.parametrize("name", ["clear", "green", "amber", "amber-strict", "red"])
def test_official_tlp2_definitions_agree_with_tlp(name: str) -> None:
    """The OASIS TLP 2.0 objects (../shared/stix/tlp2/) are accepted inside a bundle."""
    (definition,) = _load(STIX_DIR / "tlp2" / f"tlp2-{name}.json")["objects"]
    level = TLP(definition["extensions"][TLP2_EXTENSION_ID]["tlp_2_0"])
    assert definition["id"] == level.marking_id
    assert definition["name"] == level.label
    report = _validate(definition, _indicator(markings=(definition["id"],)))
    assert (report.tlp, report.tlp_source) == (level, "tlp2")


# --- OASIS samples ------------------------------------------------------------------------------

# The OASIS samples are valid STIX but carry no TLP on most objects. Files not listed here have no
# TLP marking at all (every object is unmarked).
PARTLY_MARKED = {
    # Its indicator has only granular markings; threat actor and relationship are TLP 1.0 RED.
    "using-granular-markings.json": [
        "identity--b38dfe21-7477-40d1-aa90-5c8671ce51ca",
        "indicator--1ed8caa7-a708-4706-b651-f1186ede6ca1",
    ],
    # Its indicator is TLP 1.0 AMBER; the identity is unmarked.
    "using-marking-definitions.json": ["identity--611d9d41-dba5-4e13-9b29-e22488058ffc"],
}
NOT_A_BUNDLE = {"interop-objectmarking-test.json"}  # a bare campaign object

SAMPLES = [p for p in _sample_paths() if p.name not in NOT_A_BUNDLE]


def test_samples_are_present() -> None:
    names = {p.name for p in _sample_paths()}
    assert len(names) == 15
    assert set(PARTLY_MARKED) | NOT_A_BUNDLE <= names


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_is_valid_stix_but_unmarked(path: Path) -> None:
    """The validator runs before the TLP rules, so TlpMissing means the STIX itself passed."""
    with pytest.raises(TlpMissing) as info:
        validate_report(path.read_bytes())
    objects = _load(path)["objects"]
    expected = PARTLY_MARKED.get(path.name, [o["id"] for o in objects])
    assert list(info.value.object_ids) == expected[:10]
    assert info.value.code == "tlp_missing"
    assert all(oid in info.value.diagnostics() for oid in expected[:10])
    if len(expected) > 10:
        assert info.value.messages[-1] == f"... and {len(expected) - 10} more unmarked objects"


@pytest.mark.parametrize("name", sorted(NOT_A_BUNDLE))
def test_sample_object_outside_a_bundle_is_invalid(name: str) -> None:
    path = _require(STIX_DIR / "cti-stix2-json-schemas" / name)
    with pytest.raises(StixInvalid) as info:
        validate_report(path.read_bytes())
    assert info.value.detail == "not a STIX bundle"


EXPECTED_WHEN_MARKED = {
    "using-granular-markings.json": (TLP.RED, "tlp1-mapped"),  # TLP 1.0 RED granular + object
    "using-marking-definitions.json": (TLP.AMBER, "tlp1-mapped"),  # TLP 1.0 AMBER indicator
}


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_validates_once_every_object_is_marked(path: Path) -> None:
    """Mark each unmarked object TLP 2.0 GREEN; the samples' own markings must still count."""
    bundle = _load(path)
    for obj in bundle["objects"]:
        refs = obj.get("object_marking_refs", [])
        if obj["type"] != "marking-definition" and not ALL_TLP_IDS & set(refs):
            obj["object_marking_refs"] = [*refs, TLP2["green"]]
    report = validate_report(_encode(bundle))
    assert (report.tlp, report.tlp_source) == EXPECTED_WHEN_MARKED.get(
        path.name, (TLP.GREEN, "tlp2")
    )
    assert report.bundle_id == bundle["id"]
    assert report.object_count == len(bundle["objects"])
    assert report.object_types == tuple(sorted({o["type"] for o in bundle["objects"]}))
    assert report.canonical == canonicalize(bundle)


def test_validator_should_findings_are_returned_as_warnings() -> None:
    bundle = _load(
        STIX_DIR / "cti-documentation" / "threat-actor-leveraging-attack-patterns-and-malware.json"
    )
    for obj in bundle["objects"]:
        obj["object_marking_refs"] = [TLP2["green"]]
    report = validate_report(_encode(bundle))
    assert report.warnings == (
        "attack-pattern--8ac90ff3-ecf8-4835-95b8-6aea6a623df5: {302} External reference 'capec' "
        "has a URL but no hash.",
    )


# --- demo reports -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "tlp", "count", "types"),
    [
        (
            "iq-cell-wadi7.json",
            TLP.AMBER,
            5,
            ("identity", "indicator", "intrusion-set", "marking-definition", "relationship"),
        ),
        ("sy-escape-d12.json", TLP.GREEN, 3, ("identity", "marking-definition", "report")),
    ],
)
def test_demo_reports(name: str, tlp: TLP, count: int, types: tuple[str, ...]) -> None:
    raw = _require(DEMO_DIR / name).read_bytes()
    report = validate_report(raw)
    assert (report.tlp, report.tlp_source) == (tlp, "tlp2")
    assert report.object_count == count
    assert report.object_types == types
    assert report.bundle_id == json.loads(raw)["id"]
    # The validator must not have altered what we keep: the value and its canonical bytes.
    assert report.bundle == json.loads(raw)
    assert report.canonical == canonicalize(json.loads(raw))
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.tlp = TLP.CLEAR  # type: ignore[misc]


def test_validator_warnings_are_returned() -> None:
    """An indicator without a description passes with the validator's {303} warning."""
    bundle = json.loads((DEMO_DIR / "iq-cell-wadi7.json").read_bytes())
    for obj in bundle["objects"]:
        obj.pop("description", None)
    report = validate_report(json.dumps(bundle).encode())
    assert report.warnings and all("{303}" in w for w in report.warnings)
    assert validate_report((DEMO_DIR / "iq-cell-wadi7.json").read_bytes()).warnings == ()


def test_validation_makes_no_network_access(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("network access during STIX validation")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for path in sorted(DEMO_DIR.glob("*.json")):
        validate_report(path.read_bytes())
    with pytest.raises(TlpMissing):
        validate_report(
            (STIX_DIR / "cti-documentation" / "sighting-of-observed-data.json").read_bytes()
        )


# --- TLP 1.0 and 2.0 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("colour", "level"),
    [("white", TLP.CLEAR), ("green", TLP.GREEN), ("amber", TLP.AMBER), ("red", TLP.RED)],
)
def test_tlp1_ids_map_to_tlp2(colour: str, level: TLP) -> None:
    report = _validate(_indicator(markings=(TLP1[colour],)))
    assert (report.tlp, report.tlp_source) == (level, "tlp1-mapped")
    # The same with the built-in definition object shipped along.
    definition = _tlp1_definition(TLP1[colour], colour, name=f"TLP:{colour.upper()}")
    report = _validate(definition, _indicator(markings=(TLP1[colour],)))
    assert (report.tlp, report.tlp_source) == (level, "tlp1-mapped")


@pytest.mark.parametrize("value", list(TLP2))
def test_tlp2_ids_need_no_definition_in_the_bundle(value: str) -> None:
    report = _validate(_indicator(markings=(TLP2[value],)))
    assert (report.tlp, report.tlp_source) == (TLP(value), "tlp2")


def test_custom_tlp2_marking_is_recognised_by_its_extension() -> None:
    mid = _sid("marking-definition", 7)
    definition = _tlp2_definition(mid, "amber+strict", name="TLP:AMBER+STRICT")
    report = _validate(definition, _indicator(markings=(mid,)))
    assert (report.tlp, report.tlp_source) == (TLP.AMBER_STRICT, "tlp2")


@pytest.mark.parametrize(
    ("markings", "expected"),
    [
        ((TLP2["green"], TLP2["red"]), (TLP.RED, "tlp2")),
        ((TLP2["clear"], TLP2["amber+strict"]), (TLP.AMBER_STRICT, "tlp2")),
        ((TLP1["white"], TLP2["amber"]), (TLP.AMBER, "tlp2")),
        ((TLP2["green"], TLP1["red"]), (TLP.RED, "tlp1-mapped")),
        ((TLP2["amber"], TLP1["amber"]), (TLP.AMBER, "tlp2")),  # same level: native 2.0 wins
    ],
)
def test_highest_tlp_wins_across_objects(markings: tuple[str, str], expected: tuple) -> None:
    first, second = markings
    report = _validate(_identity(markings=(first,)), _indicator(markings=(second,)))
    assert (report.tlp, report.tlp_source) == expected


def test_granular_marking_raises_the_level() -> None:
    granular = [{"marking_ref": TLP2["red"], "selectors": ["description"]}]
    report = _validate(_indicator(markings=(TLP2["green"],), granular_markings=granular))
    assert report.tlp is TLP.RED


def test_marking_on_a_marking_definition_counts() -> None:
    statement = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": _sid("marking-definition", 3),
        "created": TIME,
        "definition_type": "statement",
        "definition": {"statement": "Fictional liaison statement."},
        "object_marking_refs": [TLP2["red"]],
    }
    report = _validate(statement, _indicator(markings=(TLP2["green"], statement["id"])))
    assert report.tlp is TLP.RED


# --- unmarked and ambiguous ---------------------------------------------------------------------


def test_unmarked_object_is_named() -> None:
    unmarked = _identity(2, markings=())
    with pytest.raises(TlpMissing) as info:
        _validate(_indicator(), unmarked)
    assert info.value.object_ids == (unmarked["id"],)
    assert unmarked["id"] in info.value.messages[0]


def test_many_unmarked_objects_name_ten() -> None:
    objects = [_indicator(n, markings=()) for n in range(1, 16)]
    with pytest.raises(TlpMissing) as info:
        _validate(*objects)
    assert info.value.object_ids == tuple(o["id"] for o in objects[:10])
    assert info.value.messages[-1] == "... and 5 more unmarked objects"


def test_granular_markings_alone_do_not_mark_an_object() -> None:
    granular = [{"marking_ref": TLP2["red"], "selectors": ["description"]}]
    obj = _indicator(markings=(), granular_markings=granular)
    with pytest.raises(TlpMissing) as info:
        _validate(obj)
    assert info.value.object_ids == (obj["id"],)


def test_non_tlp_marking_alone_does_not_mark_an_object() -> None:
    statement = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": _sid("marking-definition", 4),
        "created": TIME,
        "definition_type": "statement",
        "definition": {"statement": "Fictional."},
    }
    unknown = _sid("marking-definition", 5)  # referenced but defined nowhere
    obj = _indicator(markings=(statement["id"], unknown))
    with pytest.raises(TlpMissing) as info:
        _validate(statement, obj)
    assert info.value.object_ids == (obj["id"],)  # the marking definition itself is exempt


def test_one_object_with_two_tlp_levels_conflicts() -> None:
    with pytest.raises(TlpConflict) as info:
        _validate(_indicator(markings=(TLP2["green"], TLP1["red"])))
    assert info.value.code == "tlp_conflict"
    assert "TLP:GREEN, TLP:RED" in info.value.messages[0]


def test_custom_tlp_marking_defined_twice_with_different_levels_conflicts() -> None:
    mid = _sid("marking-definition", 8)
    with pytest.raises(TlpConflict):
        _validate(
            _tlp2_definition(mid, "clear"),
            _tlp2_definition(mid, "red"),
            _indicator(markings=(mid,)),
        )


# --- relabelled and malformed TLP markings ------------------------------------------------------


@pytest.mark.parametrize(
    "definition",
    [
        pytest.param(_tlp2_definition(TLP2["green"], "red"), id="green-id-says-red"),
        pytest.param(_tlp2_definition(TLP2["red"], "green"), id="red-id-says-green"),
        pytest.param(
            _tlp2_definition(TLP2["red"], "red", name="TLP:GREEN"), id="red-id-named-green"
        ),
        pytest.param(_tlp1_definition(TLP2["green"], "green"), id="tlp2-id-as-tlp1"),
        pytest.param(_tlp1_definition(TLP1["amber"], "white"), id="tlp1-amber-says-white"),
        pytest.param(_tlp2_definition(TLP1["amber"], "amber"), id="tlp1-id-as-tlp2"),
        pytest.param(
            _tlp1_definition(TLP1["red"], "red", name="TLP:CLEAR"), id="tlp1-red-named-clear"
        ),
        pytest.param(
            _tlp2_definition(
                TLP2["green"].upper().replace("MARKING-DEFINITION", "marking-definition"), "clear"
            ),
            id="upper-case-well-known-id",
        ),
        pytest.param(
            _tlp1_definition(_sid("marking-definition", 9), "white"), id="tlp1-non-builtin-id"
        ),
        pytest.param(_tlp2_definition(_sid("marking-definition", 9), "purple"), id="unknown-level"),
        pytest.param(
            _tlp2_definition(_sid("marking-definition", 9), "red", name="TLP:CLEAR"),
            id="custom-named-otherwise",
        ),
        pytest.param(
            {
                "type": "marking-definition",
                "spec_version": "2.1",
                "id": _sid("marking-definition", 9),
                "created": TIME,
                "name": "TLP:CLEAR",
                "definition_type": "statement",
                "definition": {"statement": "Share freely."},
            },
            id="statement-named-tlp",
        ),
    ],
)
def test_relabelled_or_malformed_tlp_definition_is_invalid(definition: dict) -> None:
    """Even unreferenced: a reader trusting the name or content would be misled."""
    with pytest.raises(StixInvalid) as info:
        _validate(definition, _indicator(markings=(TLP2["red"],)))
    assert info.value.messages
    assert definition["id"] in info.value.messages[0]


def test_upper_case_reference_to_a_well_known_id_is_invalid() -> None:
    ref = _upper(TLP2["green"])
    with pytest.raises(StixInvalid, match="misspelt"):
        _validate(_indicator(markings=(ref,)))


# --- malformed STIX -----------------------------------------------------------------------------

DEMO = json.loads((DEMO_DIR / "iq-cell-wadi7.json").read_bytes())
DEMO_INDICATOR = 3  # the position of the indicator in the demo bundle


def _demo_with(mutate: Any) -> bytes:
    bundle = copy.deepcopy(DEMO)
    mutate(bundle)
    return _encode(bundle)


def _set(key: str, value: Any) -> Any:
    return lambda b: b["objects"][DEMO_INDICATOR].__setitem__(key, value)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        pytest.param(b'{"type": "bundle", "id": ', "invalid JSON", id="truncated"),
        pytest.param(b"\xff\xfe{}", "UTF-8", id="not-utf8"),
        pytest.param(
            b'{"type": "bundle", "type": "bundle", "id": "x", "objects": []}',
            "duplicate key 'type'",
            id="duplicate-keys",
        ),
        pytest.param(b'{"type": "bundle", "x": NaN}', "NaN", id="nan"),
        pytest.param(b"[]", "expected a JSON object, got an array", id="array"),
        pytest.param(_encode(_indicator()), "'type' is 'indicator'", id="not-a-bundle"),
        pytest.param(
            _demo_with(lambda b: b.pop("objects")), "non-empty list", id="objects-missing"
        ),
        pytest.param(
            _demo_with(lambda b: b.__setitem__("objects", [])), "non-empty list", id="empty"
        ),
        pytest.param(
            _demo_with(lambda b: b.__setitem__("objects", {})), "non-empty list", id="dict"
        ),
        pytest.param(
            _demo_with(lambda b: b["objects"].append("hello")),
            "objects[5]: expected a JSON object, got a string",
            id="object-is-string",
        ),
        pytest.param(
            _demo_with(lambda b: b["objects"].append({"type": "indicator"})),
            "objects[5]: 'type' and 'id' must be strings",
            id="object-without-id",
        ),
        pytest.param(
            _demo_with(lambda b: b["objects"].append({"type": 5, "id": "x"})),
            "objects[5]: 'type' and 'id' must be strings",
            id="type-not-string",
        ),
        pytest.param(
            _demo_with(lambda b: b["objects"][DEMO_INDICATOR].pop("pattern")),
            "indicator--5e6f7081-92a3-4b4c-8d5e-6f708192a3b4: 'pattern' is a required property",
            id="indicator-without-pattern",
        ),
        pytest.param(
            _demo_with(_set("pattern", "[domain-name:value = ")),
            "Pattern failed to validate",
            id="bad-pattern",
        ),
        pytest.param(
            _demo_with(_set("id", "indicator--1234")),
            "does not match the id format",
            id="bad-id",
        ),
        pytest.param(
            _demo_with(_set("id", "malware--5e6f7081-92a3-4b4c-8d5e-6f708192a3b4")),
            "does not start with 'indicator--'",
            id="id-of-other-type",
        ),
        pytest.param(
            _demo_with(lambda b: b.__setitem__("id", "bundle--nope")),
            "does not match the id format",
            id="bad-bundle-id",
        ),
        pytest.param(
            _demo_with(_set("spec_version", "2.0")),
            "spec_version '2.0': only STIX 2.1 is accepted",
            id="spec-version-2.0",
        ),
        pytest.param(
            _demo_with(_set("spec_version", "3.0")),
            "spec_version '3.0': only STIX 2.1 is accepted",
            id="spec-version-3.0",
        ),
        pytest.param(
            _demo_with(lambda b: b.__setitem__("spec_version", "2.0")),
            "bundle: spec_version '2.0'",
            id="bundle-spec-version-2.0",
        ),
        pytest.param(
            _demo_with(_set("created", "yesterday")), "timestamp format", id="bad-timestamp"
        ),
        # Shapes that crash the validator's own checks rather than produce a finding.
        pytest.param(_demo_with(_set("created", 5)), "could not process", id="created-int"),
        pytest.param(_demo_with(_set("kill_chain_phases", [5])), "could not process", id="kcp"),
        pytest.param(
            _demo_with(_set("external_references", [5])), "could not process", id="extref"
        ),
    ],
)
def test_malformed_stix_is_invalid_with_messages(data: bytes, needle: str) -> None:
    with pytest.raises(StixInvalid) as info:
        validate_report(data)
    assert info.value.code == "stix_invalid"
    assert info.value.messages
    assert any(needle in message for message in info.value.messages), info.value.messages


def test_validator_errors_are_capped() -> None:
    objects = [_indicator(n, pattern="[nope") for n in range(1, MAX_MESSAGES + 21)]
    with pytest.raises(StixInvalid) as info:
        _validate(*objects)
    assert len(info.value.messages) == MAX_MESSAGES + 1
    assert info.value.messages[-1] == "... and 20 more"
    assert info.value.messages[0].startswith(_sid("indicator", 1) + ": ")


# --- limits -------------------------------------------------------------------------------------


def test_size_limit() -> None:
    raw = (DEMO_DIR / "iq-cell-wadi7.json").read_bytes()
    assert validate_report(raw, max_bytes=len(raw)).tlp is TLP.AMBER
    with pytest.raises(StixTooLarge) as info:
        validate_report(raw, max_bytes=len(raw) - 1)
    assert info.value.code == "stix_too_large"
    with pytest.raises(StixTooLarge):
        validate_report(b" " * (5 * 1024 * 1024 + 1))


def test_object_count_limit() -> None:
    objects = [_indicator(n) for n in range(1, 4)]
    assert _validate(*objects, max_objects=3).object_count == 3
    with pytest.raises(StixTooLarge, match="4 objects exceeds the limit of 3"):
        _validate(*objects, _indicator(4), max_objects=3)


def test_nesting_limit() -> None:
    def nested(depth: int) -> Any:
        value: Any = "bottom"
        for _ in range(depth):
            value = {"x": value}
        return value

    # bundle (1) > objects (2) > indicator (3) > x_nested ...
    assert _validate(_indicator(x_nested=nested(29))).tlp is TLP.AMBER
    with pytest.raises(StixInvalid) as info:
        _validate(_indicator(x_nested=nested(30)))
    assert info.value.messages == ["JSON nesting deeper than 32 levels"]
    hostile = b'{"type": "bundle", "objects": [' + b'{"x": ' * 100_000 + b"1" + b"}" * 100_000
    with pytest.raises(StixInvalid):
        validate_report(hostile + b"]}")


# --- errors -------------------------------------------------------------------------------------


def test_error_types() -> None:
    codes = {
        StixInvalid: "stix_invalid",
        TlpMissing: "tlp_missing",
        TlpConflict: "tlp_conflict",
        StixTooLarge: "stix_too_large",
    }
    for cls, code in codes.items():
        assert issubclass(cls, StixError)
        assert cls.code == code
    error = StixInvalid("the bundle failed", messages=["a: one", "b: two"])
    assert error.diagnostics() == "stix_invalid: the bundle failed\n  - a: one\n  - b: two"
    assert str(error) == "the bundle failed"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, len(DEMO["objects"]) - 1),
    key=st.sampled_from(
        [
            "id",
            "type",
            "spec_version",
            "created",
            "object_marking_refs",
            "granular_markings",
            "extensions",
            "external_references",
            "kill_chain_phases",
            "pattern",
            "name",
            "definition",
            "definition_type",
            "source_ref",
        ]
    ),
    value=JSON_VALUES,
)
def test_no_foreign_exception_escapes(index: int, key: str, value: Any) -> None:
    """Whatever a property holds, the outcome is a report or a StixError, nothing else."""
    bundle = copy.deepcopy(DEMO)
    bundle["objects"][index][key] = value
    with contextlib.suppress(StixError):
        validate_report(_encode(bundle))
