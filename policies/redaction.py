"""Cutting a STIX bundle down to what a partner may receive, keeping it a valid bundle.

A :class:`Cut` starts as a deep copy of a submitted bundle (the input is never mutated) and only
ever removes: whole objects (:meth:`Cut.remove_objects`) and properties at any depth
(:meth:`Cut.remove_properties`). After each step :meth:`Cut.close` repairs what the removals
broke, so that the result stays valid STIX 2.1 and no reference points at an object the partner
does not receive:

1. An object whose *required* reference points at a removed object is removed too:
   ``source_ref``/``target_ref`` (relationships), ``sighting_of_ref`` (sightings), ``object_ref``
   (language content), the ``created_by_ref`` of an extension definition, and a network-traffic
   object left with neither ``src_ref`` nor ``dst_ref``.
2. A list of references loses the removed ids; a required one left empty (``object_refs`` of
   reports, notes, opinions, groupings, observed data) removes its object, an optional one left
   empty is deleted. An optional single reference (``created_by_ref``, ``sample_ref``, nested
   ``*_ref`` keys) to a removed object is deleted.
3. A marking definition that a removed object referenced and no released object references any
   more is removed (markings still in use are always kept).
4. A granular marking selector that no longer selects anything is dropped (and a granular
   marking left without selectors); indexes into filtered reference lists are renumbered.

Repairs repeat until nothing changes. Property removal never touches marking definitions and
extension definitions (their properties define meaning, not intelligence); it removes matching
keys at any depth, deletes a nested object left empty by it, and never removes list elements, so
no granular-marking index shifts. Every removal is recorded with the rule that caused it.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from policies.markings import marking_refs
from policies.model import Redaction
from policies.rules import RULES

__all__ = [
    "NON_SUBSTANTIVE_TYPES",
    "Cut",
    "RemovalReport",
    "RemovedObject",
    "RemovedProperty",
    "RemovedRef",
    "bundle_diff",
]

NON_SUBSTANTIVE_TYPES = frozenset(
    {"marking-definition", "extension-definition", "language-content", "identity"}
)
"""Types that say nothing on their own: a release left with only these is denied."""

UNTOUCHED_BY_PROPERTY_REDACTION = frozenset({"marking-definition", "extension-definition"})

_REQUIRED_REF = frozenset({"source_ref", "target_ref", "sighting_of_ref", "object_ref"})
_REQUIRED_REF_BY_TYPE: Mapping[str, frozenset[str]] = {
    "extension-definition": frozenset({"created_by_ref"}),
}
_REQUIRED_REF_LISTS = frozenset({"object_refs"})
_AT_LEAST_ONE_REF: Mapping[str, tuple[str, ...]] = {"network-traffic": ("src_ref", "dst_ref")}
_INDEX = re.compile(r"\[(\d+)\]")

RemovalReason = Callable[[dict[str, Any]], str | None]


@dataclass(frozen=True)
class RemovedObject:
    """An object the partner does not receive, the rule that removed it and why."""

    id: str
    type: str
    rule: str
    reason: str


@dataclass(frozen=True)
class RemovedProperty:
    """A property removed from a released object; ``path`` is dotted, with ``[n]`` list
    indexes (``"x_details.x_source_handler"``)."""

    object_id: str
    path: str
    rule: str
    reason: str


@dataclass(frozen=True)
class RemovedRef:
    """A reference to a removed object, deleted from ``property`` of a released object."""

    object_id: str
    property: str
    ref: str
    rule: str


@dataclass(frozen=True)
class RemovalReport:
    """Everything removed between the submitted and the released bundle, in removal order.

    It names ids, property names and rules, never property values, so it may be shown to
    auditors and written to the audit log.
    """

    objects: tuple[RemovedObject, ...] = ()
    properties: tuple[RemovedProperty, ...] = ()
    refs: tuple[RemovedRef, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.objects or self.properties or self.refs)

    @property
    def rules(self) -> tuple[str, ...]:
        """The rules that removed something, each once, in the order the engine applies them."""
        used = {o.rule for o in self.objects}
        used.update(p.rule for p in self.properties)
        used.update(r.rule for r in self.refs)
        order = list(RULES)
        return tuple(
            sorted(
                used,
                key=lambda rule: (
                    rule not in RULES,
                    order.index(rule) if rule in RULES else 0,
                    rule,
                ),
            )
        )

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready summary (ids, property names, rules, reasons; no values)."""
        return {
            "objects": [
                {"id": o.id, "type": o.type, "rule": o.rule, "reason": o.reason}
                for o in self.objects
            ],
            "properties": [
                {"object_id": p.object_id, "path": p.path, "rule": p.rule, "reason": p.reason}
                for p in self.properties
            ],
            "refs": [
                {"object_id": r.object_id, "property": r.property, "ref": r.ref, "rule": r.rule}
                for r in self.refs
            ],
        }


class Cut:
    """A copy of a bundle being reduced to what a partner receives (see the module docstring)."""

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        self._envelope = {k: copy.deepcopy(v) for k, v in bundle.items() if k != "objects"}
        objects = bundle.get("objects")
        self.objects: list[dict[str, Any]] = [
            copy.deepcopy(obj)
            for obj in (objects if isinstance(objects, list) else [])
            if isinstance(obj, dict)
        ]
        self._submitted_ids = frozenset(_ids(self.objects))
        self._markings_in_use = frozenset(ref for obj in self.objects for ref in marking_refs(obj))
        self._objects: list[RemovedObject] = []
        self._properties: list[RemovedProperty] = []
        self._refs: list[RemovedRef] = []

    # --- what is left ---------------------------------------------------------------------------

    def bundle(self) -> dict[str, Any]:
        """The bundle as cut so far (a fresh dict; its objects are the cut's own)."""
        return {**self._envelope, "objects": list(self.objects)}

    def report(self) -> RemovalReport:
        return RemovalReport(tuple(self._objects), tuple(self._properties), tuple(self._refs))

    def substantive(self) -> int:
        """How many objects are left whose type is not in ``NON_SUBSTANTIVE_TYPES``."""
        return sum(obj.get("type") not in NON_SUBSTANTIVE_TYPES for obj in self.objects)

    # --- removals -------------------------------------------------------------------------------

    def remove_objects(self, why: RemovalReason, rule: str) -> int:
        """Remove every object for which ``why`` gives a reason, then :meth:`close`; returns how
        many objects the step removed, repairs included."""
        before = len(self._objects)
        kept: list[dict[str, Any]] = []
        for obj in self.objects:
            reason = why(obj)
            if reason is None:
                kept.append(obj)
            else:
                self._record_object(obj, rule, reason)
        self.objects = kept
        self.close(rule)
        return len(self._objects) - before

    def remove_properties(self, redaction: Redaction, rule: str) -> int:
        """Remove the properties ``redaction`` names, at any depth, then :meth:`close`; returns
        how many were removed."""
        before = len(self._properties)
        for obj in self.objects:
            if obj.get("type") in UNTOUCHED_BY_PROPERTY_REDACTION:
                continue
            object_id = str(obj.get("id"))
            for key in list(obj):
                if key in ("type", "id"):
                    continue
                if redaction.removes_property(key):
                    del obj[key]
                    self._properties.append(
                        RemovedProperty(object_id, key, rule, "a redacted property")
                    )
                elif self._strip(obj[key], key, redaction, object_id, rule):
                    del obj[key]
                    self._properties.append(
                        RemovedProperty(object_id, key, rule, "left empty by redaction")
                    )
        self.close(rule)
        return len(self._properties) - before

    def close(self, rule: str) -> None:
        """Repair what removals broke (steps 1 to 4 of the module docstring), attributing each
        repair to ``rule``."""
        changed = True
        while changed:
            changed = False
            gone = self._submitted_ids - frozenset(_ids(self.objects))
            kept: list[dict[str, Any]] = []
            for obj in self.objects:
                reason = self._drop_refs(obj, gone, rule) if gone else None
                if reason is None:
                    kept.append(obj)
                else:
                    self._record_object(obj, rule, reason)
                    changed = True
            self.objects = kept
            in_use = {
                ref for obj in self.objects for ref in marking_refs(obj) if ref != obj.get("id")
            }
            kept = []
            for obj in self.objects:
                oid = obj.get("id")
                if (
                    obj.get("type") == "marking-definition"
                    and oid in self._markings_in_use
                    and oid not in in_use
                ):
                    self._record_object(obj, rule, "no released object references it any more")
                    changed = True
                else:
                    kept.append(obj)
            self.objects = kept
        for obj in self.objects:
            self._fix_selectors(obj, rule)

    # --- internals ------------------------------------------------------------------------------

    def _record_object(self, obj: dict[str, Any], rule: str, reason: str) -> None:
        self._objects.append(RemovedObject(str(obj.get("id")), str(obj.get("type")), rule, reason))

    def _strip(
        self, value: Any, path: str, redaction: Redaction, object_id: str, rule: str
    ) -> bool:
        """Remove redacted keys inside ``value``; True if a dict was emptied by doing so."""
        if isinstance(value, list):
            for index, item in enumerate(value):
                self._strip(item, f"{path}[{index}]", redaction, object_id, rule)
            return False
        if not isinstance(value, dict) or not value:
            return False
        for key in list(value):
            child = f"{path}.{key}"
            if redaction.removes_property(key):
                del value[key]
                self._properties.append(
                    RemovedProperty(object_id, child, rule, "a redacted property")
                )
            elif self._strip(value[key], child, redaction, object_id, rule):
                del value[key]
                self._properties.append(
                    RemovedProperty(object_id, child, rule, "left empty by redaction")
                )
        return not value

    def _drop_refs(self, obj: dict[str, Any], gone: frozenset[str], rule: str) -> str | None:
        """The reason to remove ``obj`` if a required reference points at a ``gone`` id; else
        delete its optional references to ``gone`` ids and return None."""
        kind = str(obj.get("type"))
        for key in sorted(_REQUIRED_REF | _REQUIRED_REF_BY_TYPE.get(kind, frozenset())):
            if _is_gone(obj.get(key), gone):
                return f"its {key} pointed at {obj[key]}, which is not released"
        for key in sorted(_REQUIRED_REF_LISTS):
            refs = obj.get(key)
            if isinstance(refs, list) and refs and all(_is_gone(ref, gone) for ref in refs):
                return f"its {key} pointed only at objects that are not released"
        alternatives = _AT_LEAST_ONE_REF.get(kind, ())
        present = [key for key in alternatives if key in obj]
        if present and all(_is_gone(obj[key], gone) for key in present):
            return f"none of {', '.join(alternatives)} points at a released object"
        object_id = str(obj.get("id"))
        for key in list(obj):
            value = obj[key]
            if key.endswith("_ref") and isinstance(value, str) and value in gone:
                del obj[key]
                self._refs.append(RemovedRef(object_id, key, value, rule))
            elif key.endswith("_refs") and isinstance(value, list):
                removed = [i for i, ref in enumerate(value) if isinstance(ref, str) and ref in gone]
                if not removed:
                    continue
                for index in removed:
                    self._refs.append(RemovedRef(object_id, key, value[index], rule))
                obj[key] = [ref for i, ref in enumerate(value) if i not in removed]
                _renumber_selectors(obj, key, removed)
                if not obj[key]:
                    del obj[key]
            elif isinstance(value, dict | list) and key != "granular_markings":
                self._drop_nested_refs(value, key, gone, object_id, rule)
        return None

    def _drop_nested_refs(
        self, value: Any, path: str, gone: frozenset[str], object_id: str, rule: str
    ) -> None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                self._drop_nested_refs(item, f"{path}[{index}]", gone, object_id, rule)
            return
        if not isinstance(value, dict):
            return
        for key in list(value):
            item = value[key]
            child = f"{path}.{key}"
            if key.endswith("_ref") and isinstance(item, str) and item in gone:
                del value[key]
                self._refs.append(RemovedRef(object_id, child, item, rule))
            elif key.endswith("_refs") and isinstance(item, list):
                kept = [ref for ref in item if not (isinstance(ref, str) and ref in gone)]
                for ref in item:
                    if isinstance(ref, str) and ref in gone:
                        self._refs.append(RemovedRef(object_id, child, ref, rule))
                if kept:
                    value[key] = kept
                else:
                    del value[key]
            else:
                self._drop_nested_refs(item, child, gone, object_id, rule)

    def _fix_selectors(self, obj: dict[str, Any], rule: str) -> None:
        granular = obj.get("granular_markings")
        if not isinstance(granular, list):
            return
        object_id = str(obj.get("id"))
        kept_markings: list[Any] = []
        for index, marking in enumerate(granular):
            selectors = marking.get("selectors") if isinstance(marking, dict) else None
            if not isinstance(selectors, list):
                kept_markings.append(marking)
                continue
            live = [s for s in selectors if isinstance(s, str) and _selects(obj, s)]
            for selector in selectors:
                if selector not in live:
                    self._properties.append(
                        RemovedProperty(
                            object_id,
                            f"granular_markings[{index}].selectors: {selector}",
                            rule,
                            "the selected property is not released",
                        )
                    )
            if live:
                marking["selectors"] = live
                kept_markings.append(marking)
        if len(kept_markings) != len(granular):
            if kept_markings:
                obj["granular_markings"] = kept_markings
            else:
                del obj["granular_markings"]


def _is_gone(value: object, gone: frozenset[str]) -> bool:
    return isinstance(value, str) and value in gone


def _ids(objects: list[dict[str, Any]]) -> list[str]:
    return [obj["id"] for obj in objects if isinstance(obj.get("id"), str)]


def _selects(obj: Mapping[str, Any], selector: str) -> bool:
    """Whether a STIX granular-marking selector (``"a.b.[0].c"``) names something in ``obj``."""
    value: Any = obj
    for part in selector.split("."):
        index = _INDEX.fullmatch(part)
        if index is not None:
            position = int(index.group(1))
            if not isinstance(value, list) or position >= len(value):
                return False
            value = value[position]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return False
    return True


def _renumber_selectors(obj: dict[str, Any], key: str, removed: list[int]) -> None:
    """Granular selectors into ``obj[key]`` follow its elements after ``removed`` are dropped;
    selectors of dropped elements are left dangling for :meth:`Cut._fix_selectors`."""
    granular = obj.get("granular_markings")
    if not isinstance(granular, list):
        return
    gone = set(removed)
    for marking in granular:
        selectors = marking.get("selectors") if isinstance(marking, dict) else None
        if not isinstance(selectors, list):
            continue
        for position, selector in enumerate(selectors):
            if not isinstance(selector, str) or not selector.startswith(f"{key}.["):
                continue
            head, _, rest = selector[len(key) + 1 :].partition(".")
            match = _INDEX.fullmatch(head)
            if match is None:
                continue
            old = int(match.group(1))
            if old in gone:
                new_selector = f"{key}.[removed]"
            else:
                new = old - sum(1 for i in removed if i < old)
                new_selector = f"{key}.[{new}]" + (f".{rest}" if rest else "")
            selectors[position] = new_selector


def bundle_diff(
    submitted: Mapping[str, Any],
    released: Mapping[str, Any] | None,
    *,
    tofile: str,
    context: int = 3,
) -> str:
    """A unified diff of two bundles pretty-printed as JSON with sorted keys ("" if equal).

    ``released`` None (a denied release) diffs against nothing: every line is removed.
    """
    before = _pretty(submitted)
    after = _pretty(released) if released is not None else []
    return "".join(
        difflib.unified_diff(before, after, fromfile="submitted", tofile=tofile, n=context)
    )


def _pretty(value: Mapping[str, Any]) -> list[str]:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return [line + "\n" for line in text.split("\n")]
