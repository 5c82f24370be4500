"""STIX builders for the policy tests: small valid objects, bundles and policies.

The TLP ids are copied from ../shared/stix/README.md, not from the code under test.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from policies import (
    TLP,
    InboundRules,
    OutboundRules,
    Policy,
    Redaction,
)
from service.reports.stix import ValidatedReport, validate_report

TIME = "2026-11-20T08:30:00.000Z"

TLP2 = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TEARLINE = "marking-definition--7ea71e1e-0000-4000-8000-000000000001"

CLEAR, GREEN, AMBER, STRICT, RED = (
    TLP2[k] for k in ("clear", "green", "amber", "amber+strict", "red")
)


def sid(kind: str, n: int) -> str:
    return f"{kind}--{uuid.UUID(int=n, version=4)}"


def tlp_definition(level: str) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2[level],
        "created": "2022-10-01T00:00:00.000Z",
        "name": "TLP:" + level.upper(),
        "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level}},
    }


def rel_to_definition(n: int, statement: str, name: str | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": sid("marking-definition", 1000 + n),
        "created": TIME,
        "definition_type": "statement",
        "definition": {"statement": statement},
    }
    if name is not None:
        obj["name"] = name
    return obj


def tearline_definition() -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TEARLINE,
        "created": TIME,
        "name": "LIAISON TEARLINE",
        "definition_type": "statement",
        "definition": {"statement": "Releasable portion below the tearline"},
    }


def _sdo(kind: str, n: int, markings: tuple[str, ...], **props: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": kind,
        "spec_version": "2.1",
        "id": sid(kind, n),
        "created": TIME,
        "modified": TIME,
        "object_marking_refs": list(markings),
    }
    obj.update(props)
    return obj


def identity(
    n: int, cls: str = "organization", markings: tuple[str, ...] = (AMBER,), **props: Any
) -> dict[str, Any]:
    return _sdo(
        "identity", n, markings, name=f"Identity {n} (fictional)", identity_class=cls, **props
    )


def indicator(n: int, markings: tuple[str, ...] = (AMBER,), **props: Any) -> dict[str, Any]:
    return _sdo(
        "indicator",
        n,
        markings,
        name=f"Relay domain {n} (fictional)",
        indicator_types=["attribution"],
        pattern=f"[domain-name:value = 'relay-{n}.example']",
        pattern_type="stix",
        valid_from=TIME,
        **props,
    )


def intrusion_set(n: int, markings: tuple[str, ...] = (AMBER,), **props: Any) -> dict[str, Any]:
    return _sdo("intrusion-set", n, markings, name=f"Cell {n} (fictional)", **props)


def note(n: int, refs: list[str], markings: tuple[str, ...] = (AMBER,)) -> dict[str, Any]:
    return _sdo("note", n, markings, content=f"Internal note {n}", object_refs=refs)


def relationship(
    n: int, source: str, target: str, kind: str = "related-to", markings: tuple[str, ...] = (AMBER,)
) -> dict[str, Any]:
    return _sdo(
        "relationship", n, markings, relationship_type=kind, source_ref=source, target_ref=target
    )


def sighting(
    n: int, of: str, where: list[str] | None = None, markings: tuple[str, ...] = (AMBER,)
) -> dict[str, Any]:
    props: dict[str, Any] = {"sighting_of_ref": of}
    if where:
        props["where_sighted_refs"] = where
    return _sdo("sighting", n, markings, **props)


def report(n: int, refs: list[str], markings: tuple[str, ...] = (AMBER,)) -> dict[str, Any]:
    return _sdo(
        "report",
        n,
        markings,
        name=f"Report {n} (fictional)",
        report_types=["threat-actor"],
        published=TIME,
        object_refs=refs,
    )


def bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bundle", "id": sid("bundle", 99), "objects": list(objects)}


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def validated(value: dict[str, Any]) -> ValidatedReport:
    """The bundle as the service would hand it to the engine (it must be valid)."""
    return validate_report(encode(value))


def policy(
    *,
    node: str = "IQ",
    partner: str = "SY",
    max_tlp: TLP = TLP.AMBER_STRICT,
    red_recipients: frozenset[str] = frozenset(),
    allowed_types: frozenset[str] | None = None,
    releasability: Any = "honour",
    tearline: str | None = None,
    two_person_min_tlp: TLP | None = None,
    third_party: Any = "never",
    redact: Redaction | None = None,
    inbound: InboundRules | None = None,
) -> Policy:
    return Policy(
        node=node,
        partner=partner,
        outbound=OutboundRules(
            max_tlp=max_tlp,
            red_recipients=red_recipients,
            allowed_types=allowed_types,
            releasability=releasability,
            tearline=tearline,
            two_person_min_tlp=two_person_min_tlp,
            third_party=third_party,
            redact=redact or Redaction(),
        ),
        inbound=inbound or InboundRules(),
        version="sha256:" + "ab" * 32,
        source="<test>",
    )


def all_keys(value: Any) -> set[str]:
    """Every object key at any depth of a JSON value."""
    keys: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            keys.add(key)
            keys |= all_keys(item)
    elif isinstance(value, list):
        for item in value:
            keys |= all_keys(item)
    return keys


def all_refs(value: Any, key: str = "") -> set[str]:
    """Every id referenced by a ``*_ref`` or ``*_refs`` key at any depth."""
    refs: set[str] = set()
    if isinstance(value, dict):
        for k, item in value.items():
            refs |= all_refs(item, k)
    elif isinstance(value, list):
        for item in value:
            refs |= all_refs(item, key)
    elif isinstance(value, str) and key.endswith(("_ref", "_refs")):
        refs.add(value)
    return refs
