"""Marking dialects mapped to the TLP 2.0 well-known ids, and what stays unmarked.

The strict validator (``service.reports.stix``) reads an object's TLP from the ids in its
``object_marking_refs``. This module rewrites the ids it can read with certainty, and only those:

* the four STIX 2.1 built-in TLP 1.0 ids (WHITE becomes CLEAR), when the bundle ships no
  definition for the id or only the standard one (``definition_type: "tlp"`` with the id's colour);
* OpenCTI's TLP ids, when every definition the bundle ships for the id is one of OpenCTI's shapes
  claiming exactly the level the id means (``service.imports.opencti``), and its TLP:AMBER+STRICT
  id when the bundle ships none (the id is OpenCTI's own, and unmapped it would leave the object
  looking unmarked, open to a lower marking);
* a MISP ``tlp:`` tag exported as a label, when the caller passes ``tag_level``
  (``service.imports.misp``).

A definition under one of these ids that says anything else (a relabelled marking) is left in
place, and so are the references to it: the validator refuses it, and no reading here can turn
it into a lower level than its id means. Conflicting levels on one object are kept side by side
(the validator refuses them with ``TlpConflict``): choosing one is not the normaliser's call.

No function here changes its arguments: each returns new objects, sharing what it did not change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policies.tlp import TLP, TLP1_BUILTINS, TLP1_MARKING_IDS, TLP2_EXTENSION_ID, TLP2_MARKING_IDS
from service.imports import opencti
from service.imports.changes import (
    MARKED_BY_OFFICER,
    MARKING_DEFINITION_DROPPED,
    MISP_TAG_MAPPED,
    OPENCTI_TLP_MAPPED,
    TLP1_MAPPED,
    Change,
)

__all__ = ["Replacement", "drop_replaced", "mark", "remap", "replacements", "unmarked"]

Object = dict[str, Any]
TagLevel = Callable[[object], TLP | None]

_LOOKS_LIKE_TLP = re.compile(r"\s*tlp\s*:", re.IGNORECASE)  # as the validator reads names
_WELL_KNOWN_LOWER = frozenset(mid.lower() for mid in (*TLP2_MARKING_IDS, *TLP1_MARKING_IDS))


@dataclass(frozen=True)
class Replacement:
    """What a marking id is replaced by: ``level``'s TLP 2.0 id; ``kind`` the change's code,
    ``was`` how the old marking is named in the change's detail."""

    level: TLP
    kind: str
    was: str


def replacements(objects: Sequence[Mapping[str, Any]]) -> dict[str, Replacement]:
    """The marking ids of a bundle's ``objects`` that this module replaces, with their
    replacement (see the module docstring); ids not listed are left as they are."""
    shipped: dict[str, list[Mapping[str, Any]]] = {}
    for obj in objects:
        if obj.get("type") == "marking-definition" and isinstance(obj.get("id"), str):
            shipped.setdefault(obj["id"], []).append(obj)
    table: dict[str, Replacement] = {}
    for mid, level in opencti.TLP_IDS.items():
        found = shipped.get(mid, [])
        standard = [_is_standard_tlp1(d) for d in found]
        if not all(
            s or opencti.tlp_level(d) is level for s, d in zip(standard, found, strict=True)
        ):
            continue  # a definition that says something else: the validator's to refuse
        if mid in TLP1_BUILTINS and all(standard):
            colour = TLP1_BUILTINS[mid][0]
            table[mid] = Replacement(level, TLP1_MAPPED, f"TLP:{colour.upper()} (TLP 1.0)")
        else:
            how = "definition" if found else "fixed id"
            table[mid] = Replacement(level, OPENCTI_TLP_MAPPED, f"{level.label} (OpenCTI's {how})")
    return table


def remap(
    obj: Mapping[str, Any], table: Mapping[str, Replacement], *, tag_level: TagLevel | None = None
) -> tuple[Object, list[Change]]:
    """``obj`` with the ids of ``table`` replaced in ``object_marking_refs`` and
    ``granular_markings``, and, with ``tag_level``, its TLP tag labels moved to
    ``object_marking_refs``; one change per replaced id and per moved label, in that order.

    A replacement already present is not added twice. Properties of an unexpected type are left
    as they are, for the validator to refuse."""
    oid, new, places = obj["id"], dict(obj), dict[str, list[str]]()
    refs = obj.get("object_marking_refs")
    if isinstance(refs, list) and any(_replaced(ref, table) for ref in refs):
        produced = {r.level.marking_id for ref in refs if (r := _replaced(ref, table))}
        mapped: list[Any] = []
        for ref in refs:
            if (replacement := _replaced(ref, table)) is not None:
                places.setdefault(ref, []).append("object_marking_refs")
                ref = replacement.level.marking_id
            if not (isinstance(ref, str) and ref in produced and ref in mapped):
                mapped.append(ref)  # once, where a TLP 1.0 and a 2.0 id of one level both were
        new["object_marking_refs"] = mapped
    granular = obj.get("granular_markings")
    if isinstance(granular, list):
        markings: list[Any] = []
        for marking in granular:
            ref = marking.get("marking_ref") if isinstance(marking, dict) else None
            if isinstance(ref, str) and (replacement := _replaced(ref, table)) is not None:
                places.setdefault(ref, []).append("granular")
                marking = {**marking, "marking_ref": replacement.level.marking_id}
            markings.append(marking)
        if markings != granular:
            new["granular_markings"] = markings
    changes = [
        Change(oid, table[old].kind, f"{oid} marking {table[old].was} replaced by "
               f"{table[old].level.label} (TLP 2.0) {_where(where)}")
        for old, where in places.items()
    ]  # fmt: skip
    if tag_level is not None:
        changes.extend(_move_tags(new, tag_level))
    return new, changes


def drop_replaced(
    objects: Sequence[Object], table: Mapping[str, Replacement]
) -> tuple[list[Object], list[Change]]:
    """``objects`` without the marking definitions of ``table``'s ids that nothing references any
    more, and one change per definition dropped, in the order of ``objects``.

    A reference is the id anywhere in another object (a marking reference, ``object_refs``, an
    extension's property): a definition still referenced stays, for the validator to judge."""
    referenced = {text for obj in objects for text in _strings(obj, top=True)}
    kept: list[Object] = []
    changes: list[Change] = []
    for obj in objects:
        mid = obj["id"]
        replacement = _replaced(mid, table) if obj.get("type") == "marking-definition" else None
        if replacement is None or mid in referenced:
            kept.append(obj)
            continue
        changes.append(
            Change(
                mid,
                MARKING_DEFINITION_DROPPED,
                f"marking definition {mid}, {replacement.was}, dropped: nothing references it "
                f"any more (its objects reference {replacement.level.label}, TLP 2.0, "
                f"{replacement.level.marking_id})",
            )
        )
    return kept, changes


def unmarked(objects: Sequence[Mapping[str, Any]]) -> list[str]:
    """The ids of the objects, marking definitions aside, whose ``object_marking_refs`` hold no
    TLP marking and no claim to one, in the order of ``objects``.

    A claim is a well-known TLP id in any spelling, an OpenCTI TLP id, or the id of a marking
    definition in the bundle that speaks of TLP in any way (a TLP 2.0 extension, a ``tlp``
    definition type, a name, statement or ``x_opencti_definition`` that begins ``TLP:``). An object
    whose claim could not be read is not listed: marking it at an officer's choice could set a
    lower level than its sender meant, and the validator refuses it anyway."""
    claiming = {
        obj["id"]
        for obj in objects
        if obj.get("type") == "marking-definition" and _speaks_of_tlp(obj)
    }
    found: list[str] = []
    for obj in objects:
        refs = obj.get("object_marking_refs")
        if obj.get("type") == "marking-definition":
            continue
        if not any(_claims(ref, claiming) for ref in (refs if isinstance(refs, list) else [])):
            found.append(obj["id"])
    return found


def mark(obj: Mapping[str, Any], level: TLP) -> tuple[Object, Change]:
    """``obj`` with ``level``'s TLP 2.0 id added to its ``object_marking_refs``, and the change
    saying so. For objects :func:`unmarked` lists, at the officer's explicit choice only."""
    refs = obj.get("object_marking_refs")
    oid = obj["id"]
    new = {
        **obj,
        "object_marking_refs": [*(refs if isinstance(refs, list) else []), level.marking_id],
    }
    detail = f"{oid} carried no TLP marking; marked {level.label} (TLP 2.0) at the officer's choice"
    return new, Change(oid, MARKED_BY_OFFICER, detail)


def _is_standard_tlp1(obj: Mapping[str, Any]) -> bool:
    """The definition of a built-in TLP 1.0 id as STIX 2.1 gives it (what the validator accepts)."""
    colour = TLP1_BUILTINS[obj["id"]][0] if obj.get("id") in TLP1_BUILTINS else None
    definition, extensions = obj.get("definition"), obj.get("extensions")
    return (
        colour is not None
        and obj.get("definition_type") == "tlp"
        and isinstance(definition, dict)
        and definition.get("tlp") == colour
        and obj.get("name", f"TLP:{colour.upper()}") == f"TLP:{colour.upper()}"
        and not (isinstance(extensions, dict) and TLP2_EXTENSION_ID in extensions)
    )


def _replaced(ref: object, table: Mapping[str, Replacement]) -> Replacement | None:
    return table.get(ref) if isinstance(ref, str) else None


def _where(places: list[str]) -> str:
    granular = places.count("granular")
    parts = ["in object_marking_refs"] if "object_marking_refs" in places else []
    if granular:
        parts.append(f"in {granular} granular marking{'s' * (granular != 1)}")
    return " and ".join(parts)


def _move_tags(new: Object, tag_level: TagLevel) -> list[Change]:
    """Moves TLP tag labels of ``new`` (a copy this module owns) to its marking references."""
    labels, refs, oid = new.get("labels"), new.get("object_marking_refs", []), new["id"]
    if not isinstance(labels, list) or not isinstance(refs, list):
        return []
    kept, refs, changes = [], list(refs), []
    for label in labels:
        level = tag_level(label)
        if level is None:
            kept.append(label)
            continue
        already = level.marking_id in refs
        if not already:
            refs.append(level.marking_id)
        note = ", which it already carried" if already else ""
        changes.append(
            Change(oid, MISP_TAG_MAPPED, f"{oid} MISP tag {label!r}, exported as a label, "
                   f"replaced by the marking {level.label} (TLP 2.0){note}")
        )  # fmt: skip
    if changes:
        new["object_marking_refs"] = refs
        if kept:
            new["labels"] = kept
        else:
            del new["labels"]  # STIX lists are never empty
    return changes


def _speaks_of_tlp(obj: Mapping[str, Any]) -> bool:
    extensions, definition = obj.get("extensions"), obj.get("definition")
    kind = obj.get("definition_type")
    texts = [obj.get("name"), obj.get("x_opencti_definition")]
    if isinstance(definition, dict):
        texts.append(definition.get("statement"))
    return (
        (isinstance(extensions, dict) and TLP2_EXTENSION_ID in extensions)
        or (isinstance(kind, str) and kind.lower() == "tlp")
        or "x_opencti_definition_type" in obj
        or (isinstance(definition, dict) and "tlp" in definition)
        or any(isinstance(t, str) and _LOOKS_LIKE_TLP.match(t) is not None for t in texts)
    )


def _claims(ref: object, claiming: set[str]) -> bool:
    if not isinstance(ref, str):
        return False
    return ref in opencti.TLP_IDS or ref in claiming or ref.lower() in _WELL_KNOWN_LOWER


def _strings(value: object, *, top: bool = False) -> Iterator[str]:
    """Every string in ``value``, keys aside; at the top of an object, not its own ``id``."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not (top and key == "id"):
                yield from _strings(item)
