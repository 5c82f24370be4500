"""What the markings of a STIX bundle say: each object's TLP level and REL TO list.

REL TO
------
A REL TO ("releasable to") marking is a STIX 2.1 *statement* marking definition whose statement is
exactly ``REL TO`` followed by node ids separated by commas::

    {"type": "marking-definition", "spec_version": "2.1",
     "id": "marking-definition--5a1f1d0e-8d0b-4c47-9d43-2f0c1a7e6b01",
     "created": "2026-11-20T08:30:00.000Z", "name": "REL TO IQ, SY",
     "definition_type": "statement", "definition": {"statement": "REL TO IQ, SY"}}

Node ids are those of ``crypto.keydoc.NODE_ID`` and compare exactly (case matters). A statement or
a ``name`` that starts like ``REL TO`` (in any case or spacing) but does not follow this grammar,
a ``name`` whose list differs from the statement's, and one id defined twice with different lists
are invalid: the engine denies or quarantines rather than guess. A REL TO marking applies to every
object that references it in ``object_marking_refs`` or in a granular marking (a granular REL TO
restricts the whole object: partial releasability is expressed with a tearline instead). An object
with several REL TO markings is releasable to the partners named in all of them. Only marking
definitions inside the bundle are read: a REL TO id has no meaning outside its definition.

TLP
---
An object's TLP is the highest level among the TLP markings it references (well-known TLP 2.0 and
TLP 1.0 ids, and in-bundle definitions carrying the TLP 2.0 extension). ``service.stix`` has
already refused bundles whose TLP markings are missing, relabelled or in conflict; this module
trusts that and only reads levels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from policies.errors import MarkingInvalid
from policies.tlp import TLP, TLP1_MARKING_IDS, TLP2_EXTENSION_ID, TLP2_MARKING_IDS, parse_tlp

__all__ = [
    "NODE_ID",
    "MarkingIndex",
    "format_rel_to",
    "marking_refs",
    "parse_rel_to",
    "rel_to_marking",
    "rel_to_of",
]

NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
"""A node id, as ``crypto.keydoc.NODE_ID`` defines it (a test checks the two agree)."""

_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}"
_REL_TO = re.compile(rf"REL TO ({_ID}(?: *, *{_ID})*)")
_LOOKS_LIKE_REL_TO = re.compile(r"\s*REL\s*TO(?![A-Za-z0-9])", re.IGNORECASE)


def parse_rel_to(text: str) -> frozenset[str] | None:
    """The node ids of a REL TO statement, or None if ``text`` does not claim to be one.

    Raises:
        MarkingInvalid: ``text`` starts like ``REL TO`` but does not follow the grammar
            ``REL TO ID[, ID]...``.
    """
    if not _LOOKS_LIKE_REL_TO.match(text):
        return None
    match = _REL_TO.fullmatch(text)
    if match is None:
        raise MarkingInvalid(f"{text!r} is not a REL TO statement of the form 'REL TO IQ, SY'")
    return frozenset(part.strip() for part in match.group(1).split(","))


def format_rel_to(partners: Iterable[str]) -> str:
    """The canonical statement for ``partners``: ``"REL TO IQ, SY"`` (ids sorted).

    Raises:
        MarkingInvalid: no partner, or one that is not a node id.
    """
    names = sorted(set(partners))
    if not names or not all(NODE_ID.fullmatch(name) for name in names):
        raise MarkingInvalid(f"REL TO needs one or more node ids, got {names!r}")
    return "REL TO " + ", ".join(names)


def rel_to_marking(partners: Iterable[str], *, marking_id: str, created: str) -> dict[str, Any]:
    """A STIX 2.1 statement marking definition that marks objects releasable to ``partners``.

    ``marking_id`` is the ``marking-definition--<uuid>`` id to give it and ``created`` its STIX
    timestamp; both are passed in so that the result is deterministic.

    Raises:
        MarkingInvalid: as :func:`format_rel_to`.
    """
    statement = format_rel_to(partners)
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": created,
        "name": statement,
        "definition_type": "statement",
        "definition": {"statement": statement},
    }


@dataclass(frozen=True)
class MarkingIndex:
    """The TLP and REL TO meaning of every marking id a bundle can reference.

    ``tlp`` maps marking ids to levels (the well-known ids plus in-bundle TLP 2.0 definitions),
    ``rel_to`` maps REL TO marking ids to their node ids, and ``invalid`` lists one message per
    marking definition that claims REL TO but does not parse (empty for a clean bundle).
    """

    tlp: Mapping[str, TLP]
    rel_to: Mapping[str, frozenset[str]]
    invalid: tuple[str, ...]

    @classmethod
    def of(cls, objects: Iterable[Mapping[str, Any]]) -> MarkingIndex:
        """Index the marking definitions among a bundle's ``objects``; never raises."""
        tlp: dict[str, TLP] = {**TLP2_MARKING_IDS, **TLP1_MARKING_IDS}
        rel_to: dict[str, frozenset[str]] = {}
        invalid: list[str] = []
        for obj in objects:
            if obj.get("type") != "marking-definition" or not isinstance(obj.get("id"), str):
                continue
            mid: str = obj["id"]
            level = _tlp2_level(obj)
            if level is not None and mid not in tlp:
                tlp[mid] = level
            try:
                names = _rel_to_definition(obj)
            except MarkingInvalid as exc:
                invalid.append(f"{mid}: {exc.message}")
                continue
            if names is None:
                continue
            if rel_to.setdefault(mid, names) != names:
                invalid.append(f"{mid}: defined twice with different REL TO lists")
        return cls(tlp=tlp, rel_to=rel_to, invalid=tuple(invalid))

    def object_tlp(self, obj: Mapping[str, Any]) -> TLP | None:
        """The highest TLP level among the markings ``obj`` references, or None if it has none."""
        levels = [self.tlp[ref] for ref in marking_refs(obj) if ref in self.tlp]
        return max(levels, default=None)

    def object_rel_to(self, obj: Mapping[str, Any]) -> frozenset[str] | None:
        """The nodes ``obj`` is releasable to (the intersection of its REL TO markings), or None
        if it carries no REL TO marking."""
        lists = [self.rel_to[ref] for ref in marking_refs(obj) if ref in self.rel_to]
        if not lists:
            return None
        return frozenset.intersection(*lists)

    def tlp_of(self, objects: Iterable[Mapping[str, Any]]) -> TLP | None:
        """The highest TLP level referenced by any of ``objects``, or None if none is marked."""
        levels = [level for obj in objects if (level := self.object_tlp(obj)) is not None]
        return max(levels, default=None)

    def rel_to_of(self, objects: Iterable[Mapping[str, Any]]) -> frozenset[str] | None:
        """The nodes every REL TO-marked object among ``objects`` is releasable to, or None if
        no object carries a REL TO marking."""
        lists = [names for obj in objects if (names := self.object_rel_to(obj)) is not None]
        if not lists:
            return None
        return frozenset.intersection(*lists)


def rel_to_of(bundle: Mapping[str, Any]) -> frozenset[str] | None:
    """The nodes a whole bundle is releasable to under its REL TO markings, None if it has none.

    This is what an ``Origin`` records for a report received from a partner.

    Raises:
        MarkingInvalid: a marking definition claims REL TO but does not parse.
    """
    objects = _objects(bundle)
    index = MarkingIndex.of(objects)
    if index.invalid:
        raise MarkingInvalid("; ".join(index.invalid))
    return index.rel_to_of(objects)


def marking_refs(obj: Mapping[str, Any]) -> list[str]:
    """Every marking id ``obj`` references: ``object_marking_refs`` and granular markings."""
    refs: list[str] = []
    direct = obj.get("object_marking_refs")
    if isinstance(direct, list):
        refs.extend(ref for ref in direct if isinstance(ref, str))
    granular = obj.get("granular_markings")
    if isinstance(granular, list):
        for marking in granular:
            ref = marking.get("marking_ref") if isinstance(marking, dict) else None
            if isinstance(ref, str):
                refs.append(ref)
    return refs


def _objects(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    objects = bundle.get("objects")
    if not isinstance(objects, list):
        return []
    return [obj for obj in objects if isinstance(obj, dict)]


def _tlp2_level(obj: Mapping[str, Any]) -> TLP | None:
    extensions = obj.get("extensions")
    extension = extensions.get(TLP2_EXTENSION_ID) if isinstance(extensions, dict) else None
    value = extension.get("tlp_2_0") if isinstance(extension, dict) else None
    return parse_tlp(value) if isinstance(value, str) else None


def _rel_to_definition(obj: Mapping[str, Any]) -> frozenset[str] | None:
    """The REL TO list a marking definition defines, None if it is not a REL TO marking."""
    statement: frozenset[str] | None = None
    definition = obj.get("definition")
    if obj.get("definition_type") == "statement" and isinstance(definition, dict):
        text = definition.get("statement")
        if isinstance(text, str):
            statement = parse_rel_to(text)
    name = obj.get("name")
    named = parse_rel_to(name) if isinstance(name, str) else None
    if named is not None and named != statement:
        raise MarkingInvalid(f"named {name!r} but its statement does not say so")
    return statement
