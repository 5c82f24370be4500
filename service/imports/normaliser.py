"""The import normaliser: an OpenCTI, MISP or other STIX 2.1 export made ready for the validator.

:func:`normalise` sits in front of ``service.reports.stix.validate_report`` and never weakens it:
it rewrites only what it reads with certainty, says what it rewrote, and leaves everything else
for the validator to accept or refuse. In this order:

1. size and strict JSON, as the validator checks them         -> ``StixTooLarge``, ``StixInvalid``
2. a TAXII 2.1 envelope (``{"objects": [...]}``) is wrapped in a bundle with a fresh id; anything
   else must be a bundle with a non-empty ``objects`` list of objects with a string ``type`` and
   ``id``                                                      -> ``StixInvalid``
   at most ``max_objects`` objects                             -> ``StixTooLarge``
3. the source is recognised: ``"opencti"`` (``service.imports.opencti``), else ``"misp"``
   (``service.imports.misp``), else ``"stix"``
4. TLP 1.0 and OpenCTI TLP markings are replaced by TLP 2.0 ids, and for MISP, ``tlp:`` tags
   exported as labels become markings (``service.imports.markings``)
5. MISP person fields move to the ``x_liaison_`` properties (``service.imports.misp_person``),
   whatever relayed them: left as ``x_misp_`` properties, no sharing policy would redact them
6. replaced marking definitions that nothing references any more are dropped
7. objects that still carry no TLP marking are listed in ``unmarked``, and marked only when the
   officer chose a level (``mark_unmarked``); never silently

The result is RFC 8785 JSON of a new bundle: the input is never changed, and changes are listed
in that order (the envelope, then object by object, then the dropped definitions, then the
officer's markings). Normalising the result again leaves it as it is (only the fields that could
not be read are reported again), so a stored draft can be normalised again to be marked.

Pure: no database, no network, no clock; the fresh bundle id comes from ``new_uuid``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from crypto.canonical import canonicalize
from crypto.errors import MalformedInput
from policies.tlp import TLP, parse_tlp
from service.imports import markings, misp, misp_person, opencti
from service.imports.changes import ENVELOPE_WRAPPED, Change
from service.reports.stix import DEFAULT_MAX_DEPTH, StixInvalid, StixTooLarge, parse_input

__all__ = ["OFFICER_LEVELS", "Normalised", "Source", "normalise", "normalise_parsed"]

Source = Literal["opencti", "misp", "stix"]
OFFICER_LEVELS: tuple[str, ...] = tuple(level.value for level in TLP)
"""The values ``mark_unmarked`` takes: the TLP 2.0 levels, ``"clear"`` to ``"red"``."""


@dataclass(frozen=True)
class Normalised:
    """A normalised bundle, not yet validated: pass ``data`` to ``validate_report``.

    ``source`` is what the input was recognised as; ``changes`` every change made, in a stable
    order; ``unmarked`` the ids of the objects that still carry no TLP marking (empty when the
    officer chose a level for them)."""

    data: bytes
    source: Source
    changes: tuple[Change, ...]
    unmarked: tuple[str, ...]


def normalise(
    data: bytes,
    *,
    max_bytes: int,
    max_objects: int,
    mark_unmarked: str | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    new_uuid: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Normalised:
    """Normalise the bytes of an export (see the module docstring).

    ``mark_unmarked`` is the officer's explicit choice of a level (one of :data:`OFFICER_LEVELS`)
    for the objects without a TLP marking; without it they stay unmarked, and the validator will
    refuse them with ``TlpMissing``. The output can be a little larger than the input (a declared
    extension, a marking): the validator checks its size again.

    Raises:
        ValueError: ``mark_unmarked`` is not one of :data:`OFFICER_LEVELS`.
        StixTooLarge: more than ``max_bytes`` bytes, or more than ``max_objects`` objects.
        StixInvalid: not strict JSON (the parser's message), nested deeper than ``max_depth``,
            or neither a bundle nor a TAXII envelope with a non-empty ``objects`` list of objects
            that each have a string ``type`` and ``id``.
    """
    _officer_level(mark_unmarked)  # before the input: a bad argument is the caller's fault
    unverified = parse_input(data, max_bytes=max_bytes, max_depth=max_depth)
    return normalise_parsed(
        unverified, max_objects=max_objects, mark_unmarked=mark_unmarked, new_uuid=new_uuid
    )


def normalise_parsed(
    unverified: object,
    *,
    max_objects: int,
    mark_unmarked: str | None = None,
    new_uuid: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Normalised:
    """:func:`normalise` from step 2, for a value already parsed (strictly: JSON values only).
    ``unverified`` is not changed.

    Raises:
        ValueError: ``mark_unmarked`` is not one of :data:`OFFICER_LEVELS`.
        StixTooLarge: more than ``max_objects`` objects.
        StixInvalid: as :func:`normalise`, or a value JSON cannot express.
    """
    officer = _officer_level(mark_unmarked)
    bundle, changes = _bundle(unverified, max_objects, new_uuid)
    objects: list[dict[str, Any]] = bundle["objects"]
    source, misp_tags = _source(objects)
    table = markings.replacements(objects)
    tags = misp.tag_level if misp_tags else None
    rewritten: list[dict[str, Any]] = []
    for obj in objects:
        new, found = markings.remap(obj, table, tag_level=tags)
        if misp_person.is_person(new):  # x_misp_ fields are MISP's whoever relays them
            new, moved = misp_person.move_fields(new)
            found.extend(moved)
        rewritten.append(new)
        changes.extend(found)
    rewritten, dropped = markings.drop_replaced(rewritten, table)
    changes.extend(dropped)
    left = markings.unmarked(rewritten)
    if officer is not None and left:
        chosen = set(left)
        for index, obj in enumerate(rewritten):
            if obj["id"] in chosen:
                rewritten[index], change = markings.mark(obj, officer)
                changes.append(change)
        left = markings.unmarked(rewritten)
    try:
        data = canonicalize({**bundle, "objects": rewritten})
    except MalformedInput as exc:  # only a caller of normalise_parsed can pass such a value
        raise StixInvalid("the bundle cannot be canonicalised", messages=[exc.message]) from exc
    return Normalised(data=data, source=source, changes=tuple(changes), unmarked=tuple(left))


def _officer_level(value: str | None) -> TLP | None:
    if value is None:
        return None
    level = parse_tlp(value) if isinstance(value, str) else None
    if level is None:
        raise ValueError(f"mark_unmarked must be one of {', '.join(OFFICER_LEVELS)}, not {value!r}")
    return level


def _bundle(
    value: object, max_objects: int, new_uuid: Callable[[], uuid.UUID]
) -> tuple[dict[str, Any], list[Change]]:
    """Step 2: a new bundle dict (the objects themselves shared, not copied), and the change of
    wrapping an envelope."""
    if not isinstance(value, dict):
        raise StixInvalid(
            "not a STIX bundle or TAXII envelope", messages=["expected a JSON object"]
        )
    changes: list[Change] = []
    if "type" not in value and "objects" in value:
        objects = _objects(value.get("objects"), "envelope", max_objects)
        bundle: dict[str, Any] = {"type": "bundle", "id": f"bundle--{new_uuid()}"}
        extra = sorted(key for key in value if key != "objects")
        dropped = f"; its {', '.join(extra)} dropped (TAXII paging only)" if extra else ""
        detail = f"TAXII 2.1 envelope of {len(objects)} objects wrapped in {bundle['id']}{dropped}"
        changes.append(Change(None, ENVELOPE_WRAPPED, detail))
    elif value.get("type") == "bundle":
        objects = _objects(value.get("objects"), "bundle", max_objects)
        bundle = dict(value)
    else:
        raise StixInvalid(
            "not a STIX bundle or TAXII envelope",
            messages=[f"'type' is {value.get('type')!r}, expected 'bundle'"],
        )
    bundle["objects"] = objects
    return bundle, changes


def _objects(value: object, where: str, max_objects: int) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise StixInvalid(
            f"not a valid STIX 2.1 {where}",
            messages=[f"{where}: 'objects' must be a non-empty list"],
        )
    if len(value) > max_objects:
        raise StixTooLarge(f"bundle of {len(value)} objects exceeds the limit of {max_objects}")
    problems = [
        f"objects[{index}]: expected an object with string 'type' and 'id'"
        for index, obj in enumerate(value)
        if not (
            isinstance(obj, dict)
            and isinstance(obj.get("type"), str)
            and isinstance(obj.get("id"), str)
        )
    ]
    if problems:
        raise StixInvalid(f"not a valid STIX 2.1 {where}", messages=problems)
    return list(value)


def _source(objects: list[dict[str, Any]]) -> tuple[Source, bool]:
    """What the export is, and whether its labels are MISP tags.

    OpenCTI comes first: its exports may carry what it imported from MISP, never the reverse.
    Labels are read as MISP tags in a MISP export only, and the answer is decided on marks that
    normalising keeps (OpenCTI's properties outside the marking definitions it may drop), so that
    normalising a normalised bundle again changes nothing: a second pass must not find work the
    first one did not (service.drafts re-normalises a stored draft to mark it)."""
    content = any(
        opencti.has_opencti_properties(obj)
        for obj in objects
        if obj.get("type") != "marking-definition"
    )
    from_misp = any(misp.is_misp(obj) for obj in objects)
    if content or any(opencti.is_opencti(obj) for obj in objects):
        return "opencti", from_misp and not content
    return ("misp" if from_misp else "stix"), from_misp
