"""OpenCTI's STIX 2.1: how to recognise its exports and read its TLP marking definitions.

OpenCTI gives its TLP markings fixed ids (``STATIC_STANDARD_IDS`` in OpenCTI-Platform/opencti,
``opencti-platform/opencti-graphql/src/schema/identifier.js``; the same in pycti's
``MarkingDefinition.generate_id``, OpenCTI-Platform/client-python,
``pycti/entities/opencti_marking_definition.py``): the four STIX 2.1 built-in TLP 1.0 ids, with
TLP:CLEAR (and TLP:WHITE) under the TLP 1.0 WHITE id, and ``AMBER_STRICT_ID`` for TLP:AMBER+STRICT,
which neither STIX 2.1 nor TLP 2.0 defines under that id. Its definitions come in three shapes:

* the platform's own export and stream (``convertMarkingToStix`` in
  ``src/database/stix-2-1-converter.ts``): ``name`` the definition (``"TLP:AMBER+STRICT"``),
  ``definition_type: "TLP"`` (upper case), no ``definition``, and OpenCTI's property extension
  ``EXTENSION_ID`` (with ``order`` and ``color``);
* pycti's export (``prepare_export`` in ``pycti/utils/opencti_stix2.py``): ``definition_type:
  "tlp"``, ``name`` the definition, ``definition: {"tlp": "amber+strict"}`` (lower case, without
  ``tlp:``), created ``2017-01-20T00:00:00.000Z``;
* connectors' (the ``stix2`` library, as OpenCTI-Platform/connectors build it):
  ``definition_type: "statement"``, ``definition: {"statement": "custom"}``,
  ``x_opencti_definition_type: "TLP"``, ``x_opencti_definition: "TLP:AMBER+STRICT"``, no ``name``.

The strict validator refuses each of them for TLP:CLEAR and TLP:AMBER+STRICT (a relabelled TLP 1.0
id, a TLP 1.0 definition under a non-built-in id, or a non-TLP marking named like TLP), and
TLP:AMBER+STRICT in connectors' shape would not count as a TLP marking at all. :func:`tlp_level`
reads them, but only when every TLP claim of the object agrees with what its fixed id means: a
definition under one of these ids that claims another level is not OpenCTI's and is left for the
validator to refuse, so nothing is ever read as a lower level than its id says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.tlp import TLP, TLP1_MARKING_IDS, TLP2_EXTENSION_ID

__all__ = [
    "AMBER_STRICT_ID",
    "EXTENSION_ID",
    "SCO_EXTENSION_ID",
    "TLP_IDS",
    "has_opencti_properties",
    "is_opencti",
    "tlp_level",
]

EXTENSION_ID = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"
"""OpenCTI's property extension on every object it exports (``STIX_EXT_OCTI``)."""
SCO_EXTENSION_ID = "extension-definition--f93e2c80-4231-4f9a-af8b-95c9bd566a82"
"""OpenCTI's extension on cyber observables (``STIX_EXT_OCTI_SCO``)."""
AMBER_STRICT_ID = "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"
"""OpenCTI's fixed id of TLP:AMBER+STRICT (``MARKING_TLP_AMBER_STRICT``)."""

TLP_IDS: Mapping[str, TLP] = {**TLP1_MARKING_IDS, AMBER_STRICT_ID: TLP.AMBER_STRICT}
"""The fixed ids OpenCTI gives its TLP markings, and the level each one means."""

# OpenCTI's definitions, upper case as its identifier resolver writes them.
_DEFINITIONS: Mapping[str, TLP] = {"TLP:WHITE": TLP.CLEAR, **{level.label: level for level in TLP}}
# pycti's export: the definition lower-cased, without "tlp:".
_TLP_VALUES: Mapping[str, TLP] = {
    definition[4:].lower(): level for definition, level in _DEFINITIONS.items()
}
_OWN_EXTENSIONS = (EXTENSION_ID, SCO_EXTENSION_ID)


def is_opencti(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` carries a mark only OpenCTI leaves: :func:`has_opencti_properties`, or its
    TLP:AMBER+STRICT id (as the object's id or a marking reference)."""
    refs = obj.get("object_marking_refs")
    return (
        has_opencti_properties(obj)
        or obj.get("id") == AMBER_STRICT_ID
        or (isinstance(refs, list) and AMBER_STRICT_ID in refs)
    )


def has_opencti_properties(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` has an ``x_opencti_`` property or one of OpenCTI's extensions: marks that
    normalising keeps on every object but the marking definitions it drops."""
    if any(isinstance(key, str) and key.startswith("x_opencti_") for key in obj):
        return True
    extensions = obj.get("extensions")
    return isinstance(extensions, dict) and any(ext in extensions for ext in _OWN_EXTENSIONS)


def tlp_level(obj: Mapping[str, Any]) -> TLP | None:
    """The level of an OpenCTI TLP marking definition in one of its three shapes (see the module
    docstring), or None if ``obj`` is not one: not a marking definition under one of
    :data:`TLP_IDS`, another shape, a TLP 2.0 extension (not OpenCTI's), or a TLP claim (name,
    definition, ``x_opencti_definition``) of any other level than the id means."""
    level = _lookup(TLP_IDS, obj.get("id"))
    extensions = obj.get("extensions")
    if level is None or obj.get("type") != "marking-definition":
        return None
    if isinstance(extensions, dict) and TLP2_EXTENSION_ID in extensions:
        return None
    claims: list[TLP | None] = []
    if "name" in obj:
        claims.append(_lookup(_DEFINITIONS, obj["name"]))
    if "x_opencti_definition" in obj or "x_opencti_definition_type" in obj:
        if obj.get("x_opencti_definition_type") != "TLP":
            return None
        claims.append(_lookup(_DEFINITIONS, obj.get("x_opencti_definition")))
    kind, definition = obj.get("definition_type"), obj.get("definition")
    if kind == "tlp":  # pycti
        value = definition.get("tlp") if isinstance(definition, dict) else None
        if not isinstance(definition, dict) or set(definition) != {"tlp"}:
            return None
        claims.append(_lookup(_TLP_VALUES, value))
    elif kind == "TLP":  # the platform: named, no definition, its own extension
        has_extension = isinstance(extensions, dict) and EXTENSION_ID in extensions
        if definition is not None or "name" not in obj or not has_extension:
            return None
    elif kind == "statement":  # connectors: the level is in x_opencti_definition only
        if definition != {"statement": "custom"} or "x_opencti_definition" not in obj:
            return None
    else:
        return None
    if not claims or any(claim is not level for claim in claims):
        return None
    return level


def _lookup(table: Mapping[str, TLP], value: object) -> TLP | None:
    # JSON may hold anything where a string belongs; a list is not even hashable.
    return table.get(value) if isinstance(value, str) else None
