"""Small exports in the real shapes of OpenCTI and misp-stix, for the import normaliser's tests.

Each builder returns a fresh bundle (tests may change what they get). The shapes are copied from
the producers' code and expected outputs, cited at each builder; names, numbers and dates are
fictional. Known ids come from outside the code under test: the TLP 2.0 and TLP 1.0 ids from
../shared/stix/README.md (as tests/service/test_stix.py writes them), OpenCTI's from its
identifier.js.
"""

from __future__ import annotations

import json
from typing import Any

from tests.service.test_stix import TLP1 as TLP1  # the ids of ../shared/stix/README.md
from tests.service.test_stix import TLP2 as TLP2

# OpenCTI-Platform/opencti, opencti-platform/opencti-graphql/src/schema/identifier.js:
# MARKING_TLP_AMBER_STRICT_ID; and src/types/stix-2-1-extensions.ts: STIX_EXT_OCTI.
OPENCTI_AMBER_STRICT = "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"
OPENCTI_EXT = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"
# service/reports/compose.py's EXTENSION_ID (test_misp.py checks it against the module).
LIAISON_EXT = "extension-definition--7485a89b-7f4b-4d52-a8b2-308a08acaffc"
TLP2_EXT = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

MISP_TIME = "2020-10-25T16:22:00.000Z"
OCTI_TIME = "2025-03-04T09:15:00.000Z"


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "bundle",
        "id": "bundle--3f6d2c1b-8a4e-4f0d-9c2b-5e7a1d3c9b20",
        "objects": list(objects),
    }


# --- misp-stix -----------------------------------------------------------------------------------


def misp_tlp1(colour: str) -> dict[str, Any]:
    """A built-in TLP 1.0 definition as misp-stix ships it for tlp:white/green/amber/red
    (MISP/misp-stix documentation/misp_events_to_stix21.md, "Event with tags")."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP1[colour],
        "created": "2017-01-20T00:00:00.000Z",
        "definition_type": "tlp",
        "name": f"TLP:{colour.upper()}",
        "definition": {"tlp": colour},
    }


def misp_org() -> dict[str, Any]:
    """The event's creator (misp_events_to_stix21.md): misp-stix never marks it."""
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": "identity--a0c22599-9e58-4da4-96ac-7051603fa951",
        "created": MISP_TIME,
        "modified": MISP_TIME,
        "name": "MISP-Project",
        "identity_class": "organization",
    }


def misp_report(*refs: str, markings: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """A published event (misp_events_to_stix21.md, "Published event"), named after its info."""
    obj = {
        "type": "report",
        "spec_version": "2.1",
        "id": "report--a6ef17d6-91cb-4a05-b10b-2f045daf874c",
        "created_by_ref": "identity--a0c22599-9e58-4da4-96ac-7051603fa951",
        "created": MISP_TIME,
        "modified": MISP_TIME,
        "name": "Fictional test event",
        "published": "2020-10-25T16:22:00Z",
        "object_refs": list(refs),
        "labels": ["Threat-Report", 'misp:tool="MISP-STIX-Converter"'],
    }
    if markings is not None:
        obj["object_marking_refs"] = markings
    return obj | extra


def misp_indicator(
    *, markings: list[str] | None = None, labels: tuple[str, ...] = ()
) -> dict[str, Any]:
    """An ip-src attribute's indicator (misp-stix documentation/mapping/
    misp_attributes_to_stix21.json, "ip-src"); its tags are its markings or extra labels."""
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--91ae0a21-c7ae-4c7f-b84b-b84a7ce53d1f",
        "created_by_ref": "identity--a0c22599-9e58-4da4-96ac-7051603fa951",
        "created": MISP_TIME,
        "modified": MISP_TIME,
        "description": "Source IP test attribute",
        "pattern": "[network-traffic:src_ref.type = 'ipv4-addr' AND "
        "network-traffic:src_ref.value = '198.51.100.7']",
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": "2020-10-25T16:22:00Z",
        "kill_chain_phases": [
            {"kill_chain_name": "misp-category", "phase_name": "Network activity"}
        ],
        "labels": ['misp:type="ip-src"', 'misp:category="Network activity"', *labels],
    }
    if markings is not None:
        obj["object_marking_refs"] = markings
    return obj


def misp_person(*, markings: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    """A MISP person object (misp-stix documentation/mapping/misp_objects_to_stix21.json,
    "person"): an individual identity, its other attributes as x_misp_ properties."""
    obj = {
        "type": "identity",
        "spec_version": "2.1",
        "id": "identity--868037d5-d804-4f1d-8016-f296361f9c68",
        "created_by_ref": "identity--a0c22599-9e58-4da4-96ac-7051603fa951",
        "created": MISP_TIME,
        "modified": MISP_TIME,
        "name": "Test Person Alpha",
        "roles": ["Suspect"],
        "identity_class": "individual",
        "contact_information": "phone-number: +9647700000000",
        "labels": ['misp:name="person"', 'misp:meta-category="misc"'],
    }
    obj.update(fields)
    if markings is not None:
        obj["object_marking_refs"] = markings
    return obj


# --- OpenCTI -------------------------------------------------------------------------------------


def octi_extension(kind: str, **extra: Any) -> dict[str, Any]:
    """OpenCTI's property extension on every object (buildOCTIExtensions in OpenCTI-Platform/
    opencti, opencti-platform/opencti-graphql/src/database/stix-2-1-converter.ts)."""
    return {
        OPENCTI_EXT: {
            "extension_type": "property-extension",
            "id": "0b6a3c2e-7d1f-4e8a-9b5c-2f4d6e8a0c13",
            "type": kind,
            "created_at": OCTI_TIME,
            "updated_at": OCTI_TIME,
            **extra,
        }
    }


def octi_platform_marking(mid: str, definition: str, order: int, color: str) -> dict[str, Any]:
    """A marking definition as the platform exports it (convertMarkingToStix,
    stix-2-1-converter.ts): named, definition_type "TLP", no definition, OpenCTI's extension."""
    return {
        "id": mid,
        "spec_version": "2.1",
        "type": "marking-definition",
        "created": OCTI_TIME,
        "modified": OCTI_TIME,
        "name": definition,
        "definition_type": "TLP",
        "extensions": octi_extension("Marking-Definition", order=order, color=color),
    }


def pycti_marking(mid: str, definition: str) -> dict[str, Any]:
    """A TLP marking as pycti's export writes it (prepare_export in OpenCTI-Platform/
    client-python, pycti/utils/opencti_stix2.py)."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": mid,
        "created": "2017-01-20T00:00:00.000Z",
        "definition_type": "tlp",
        "name": definition,
        "definition": {"tlp": definition.lower().replace("tlp:", "")},
    }


def connector_amber_strict() -> dict[str, Any]:
    """TLP:AMBER+STRICT as OpenCTI's connectors build it with the stix2 library
    (OpenCTI-Platform/connectors, e.g. the "amber+strict" case of their _create_tlp_marking)."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": OPENCTI_AMBER_STRICT,
        "created": OCTI_TIME,
        "definition_type": "statement",
        "definition": {"statement": "custom"},
        "x_opencti_definition_type": "TLP",
        "x_opencti_definition": "TLP:AMBER+STRICT",
    }


def octi_org(markings: list[str]) -> dict[str, Any]:
    """An organisation (convertIdentityToStix, stix-2-1-converter.ts)."""
    return {
        "id": "identity--5a2f0e6b-1c3d-4e7f-8a9b-0c1d2e3f4a5b",
        "spec_version": "2.1",
        "type": "identity",
        "extensions": octi_extension("Organization"),
        "created": OCTI_TIME,
        "modified": OCTI_TIME,
        "name": "Example Analysis Unit",
        "identity_class": "organization",
        "object_marking_refs": markings,
    }


def octi_indicator(markings: list[str]) -> dict[str, Any]:
    """An indicator (convertIndicatorToStix, stix-2-1-converter.ts)."""
    return {
        "id": "indicator--7c1e4b2a-9d3f-4a6b-8c5d-1e2f3a4b5c6d",
        "spec_version": "2.1",
        "type": "indicator",
        "extensions": octi_extension(
            "Indicator", score=50, detection=False, main_observable_type="IPv4-Addr"
        ),
        "created": OCTI_TIME,
        "modified": OCTI_TIME,
        "confidence": 75,
        "created_by_ref": "identity--5a2f0e6b-1c3d-4e7f-8a9b-0c1d2e3f4a5b",
        "name": "198.51.100.7",
        "description": "Fictional C2 address",
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": OCTI_TIME,
        "labels": ["c2"],
        "object_marking_refs": markings,
    }


def octi_report(markings: list[str], *refs: str) -> dict[str, Any]:
    """A report (convertReportToStix, stix-2-1-converter.ts)."""
    return {
        "id": "report--2d4f6a8c-0e1b-4c3d-9e5f-7a8b9c0d1e2f",
        "spec_version": "2.1",
        "type": "report",
        "extensions": octi_extension("Report"),
        "created": OCTI_TIME,
        "modified": OCTI_TIME,
        "created_by_ref": "identity--5a2f0e6b-1c3d-4e7f-8a9b-0c1d2e3f4a5b",
        "name": "Fictional exercise report",
        "description": "An exercise, not an event.",
        "report_types": ["threat-report"],
        "published": OCTI_TIME,
        "object_refs": list(refs),
        "object_marking_refs": markings,
    }


def opencti_export() -> dict[str, Any]:
    """A platform export: a report and its indicator TLP:AMBER+STRICT, the author TLP:CLEAR."""
    indicator = octi_indicator([OPENCTI_AMBER_STRICT])
    return bundle(
        octi_platform_marking(OPENCTI_AMBER_STRICT, "TLP:AMBER+STRICT", 3, "#d84315"),
        octi_platform_marking(TLP1["white"], "TLP:CLEAR", 1, "#ffffff"),
        octi_org([TLP1["white"]]),
        octi_report([OPENCTI_AMBER_STRICT], indicator["id"]),
        indicator,
    )
