"""Submitted STIX 2.1 reports: the one parser that turns a liaison officer's bytes into a report.

``validate_report`` is the only way submitted STIX enters the service. It checks, in this order
(each step assumes the previous ones passed, so a later error means the earlier checks held):

1. size: at most ``max_bytes`` bytes                                   -> ``StixTooLarge``
2. strict JSON (``crypto.canonical.parse_strict``): no duplicate keys, NaN, lone surrogates, big
   integers, nesting deeper than ``max_depth``                         -> ``StixInvalid``
3. shape: an object with ``"type": "bundle"``, a string ``id`` and a non-empty ``objects`` list of
   objects that each have a string ``type`` and ``id``; STIX 2.1 only (no ``spec_version`` other
   than ``"2.1"``, which the validator would otherwise accept as 2.0 content)     -> ``StixInvalid``
   at most ``max_objects`` objects                                     -> ``StixTooLarge``
4. stix2-validator 3.3.2, the whole bundle in one call (its "MUST" checks are errors, its
   "SHOULD" checks warnings returned on success)                       -> ``StixInvalid``
5. TLP (rules below)                       -> ``StixInvalid``, ``TlpMissing``, ``TlpConflict``

TLP rules
---------
* A TLP marking is a marking-definition id that is one of the five TLP 2.0 well-known ids, one of
  the four STIX 2.1 built-in TLP 1.0 ids (mapped WHITE->CLEAR, GREEN, AMBER, RED), or the id of a
  marking-definition object in the bundle that carries the TLP 2.0 extension
  (``extensions[TLP2_EXTENSION_ID]["tlp_2_0"]``).
* Marking-definition objects for the well-known ids need not be in the bundle: the ids are well
  known, and the meaning of an id never depends on what the sender ships with it. If the bundle
  does include one, its content must say what the id says (the TLP 2.0 extension value, or
  ``definition_type: "tlp"`` with the TLP 1.0 colour, and a ``name`` equal to the label if it has
  one); anything else is a relabelled marking, an attack on every reader that trusts the name or
  the content rather than the id, and raises ``StixInvalid``. So do a ``definition_type: "tlp"``
  object under a non-built-in id (STIX 2.1 section 7.2.1.4 requires the built-in ids), an unknown
  ``tlp_2_0`` value, an upper-case spelling of a well-known TLP id, and a non-TLP marking
  definition whose name claims to be TLP.
* Every object except marking definitions must carry a TLP marking in its own
  ``object_marking_refs``; granular markings alone do not count, since they cover only the
  selected properties. Otherwise ``TlpMissing``, naming up to ten of the objects.
* One object whose ``object_marking_refs`` hold TLP markings of different levels, or two
  marking-definition objects with the same id that define different levels, are ambiguous:
  ``TlpConflict``. The same level twice (a TLP 1.0 and a TLP 2.0 AMBER, as dual-marking producers
  emit) is fine.
* The report's TLP is the highest (most restrictive) level referenced anywhere: every object's
  ``object_marking_refs`` and every ``granular_markings[].marking_ref``, marking definitions
  included. ``tlp_source`` is ``"tlp2"`` if a TLP 2.0 marking at that level is referenced, else
  ``"tlp1-mapped"``.

The validator does no network access with the options used here: it fetches a schema over HTTP
only for an ``http(s)`` ``$ref``, its bundled schemas use relative references only, and custom
schema directories (the only other source of references) are not used. A test runs it with sockets
disabled. Validation is CPU-bound (a few milliseconds per object): call it from a worker thread in
an async server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from crypto.canonical import canonicalize, parse_strict
from crypto.errors import InputTooLarge, MalformedInput
from policies.tlp import (
    TLP,
    TLP1_BUILTINS,
    TLP1_MARKING_IDS,
    TLP2_EXTENSION_ID,
    TLP2_MARKING_IDS,
)
from service.reports.validator import ValidationOptions, install, validate_instance
from service.reports.validator import errors as validator_errors

install()  # the library's schema validators, built once per schema (service.reports.validator)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_OBJECTS",
    "MAX_MESSAGES",
    "TLP",
    "TLP1_MARKING_IDS",
    "TLP2_EXTENSION_ID",
    "TLP2_MARKING_IDS",
    "StixError",
    "StixInvalid",
    "StixTooLarge",
    "TlpConflict",
    "TlpMissing",
    "TlpSource",
    "ValidatedReport",
    "validate_report",
]

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_OBJECTS = 10_000
MAX_MESSAGES = 100
"""At most this many messages are kept in an error (plus one line counting the rest)."""
MAX_NAMED_OBJECTS = 10
"""``TlpMissing`` and ``TlpConflict`` name at most this many objects."""

TlpSource = Literal["tlp2", "tlp1-mapped"]


# --- errors -------------------------------------------------------------------------------------


class StixError(Exception):
    """Base of the errors of this module: submitted STIX that is refused.

        StixError
         ├── StixInvalid      stix_invalid    not JSON, not a STIX 2.1 bundle, validator errors,
         │                                    a relabelled TLP marking definition
         ├── TlpMissing       tlp_missing     objects without a TLP marking
         ├── TlpConflict      tlp_conflict    an ambiguous TLP level
         └── StixTooLarge     stix_too_large  over the byte or object-count limit

    ``code`` is stable (logs, audit records, API clients); ``detail`` is one line saying what
    failed; ``messages`` are the individual human findings (validator errors, object ids), at most
    ``MAX_MESSAGES`` of them plus a line counting the rest.
    """

    code: ClassVar[str] = "stix_error"

    def __init__(self, detail: str, *, messages: Iterable[str] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.messages: list[str] = _capped(list(messages))

    def diagnostics(self) -> str:
        """A human explanation: the code, the detail and each message on its own line."""
        return "\n".join([f"{self.code}: {self.detail}", *(f"  - {m}" for m in self.messages)])


class StixInvalid(StixError):
    code: ClassVar[str] = "stix_invalid"


class TlpMissing(StixError):
    """Objects carry no TLP marking; ``object_ids`` names up to ``MAX_NAMED_OBJECTS`` of them."""

    code: ClassVar[str] = "tlp_missing"

    def __init__(self, detail: str, *, object_ids: Sequence[str] = ()) -> None:
        named = tuple(object_ids[:MAX_NAMED_OBJECTS])
        messages = [f"{oid}: no TLP marking in object_marking_refs" for oid in named]
        if len(object_ids) > len(named):
            messages.append(f"... and {len(object_ids) - len(named)} more unmarked objects")
        super().__init__(detail, messages=messages)
        self.object_ids = named


class TlpConflict(StixError):
    code: ClassVar[str] = "tlp_conflict"


class StixTooLarge(StixError):
    code: ClassVar[str] = "stix_too_large"


def _capped(messages: list[str]) -> list[str]:
    if len(messages) <= MAX_MESSAGES:
        return messages
    return [*messages[:MAX_MESSAGES], f"... and {len(messages) - MAX_MESSAGES} more"]


# --- TLP ----------------------------------------------------------------------------------------


# TLP itself (the levels and the well-known ids) is defined once, in policies.tlp, and re-exported
# here under the names this module has always had.
_TLP1_BUILTINS = TLP1_BUILTINS

_TLP1_COLOURS: Mapping[str, TLP] = {colour: level for colour, level in _TLP1_BUILTINS.values()}
_TLP2_VALUES = frozenset(level.value for level in TLP)
_WELL_KNOWN_LOWER = {mid.lower(): mid for mid in (*TLP2_MARKING_IDS, *TLP1_MARKING_IDS)}
_LOOKS_LIKE_TLP = re.compile(r"\s*tlp\s*:", re.IGNORECASE)

_Marking = tuple[TLP, TlpSource]


# --- the validated report -----------------------------------------------------------------------


@dataclass(frozen=True)
class ValidatedReport:
    """A submitted bundle that passed every check of :func:`validate_report`.

    ``canonical`` (RFC 8785) is the authoritative form to sign, hash and store; ``bundle`` is its
    parsed value, to be treated as read-only.
    """

    bundle: dict[str, Any]
    canonical: bytes
    bundle_id: str
    tlp: TLP
    object_count: int
    object_types: tuple[str, ...]
    warnings: tuple[str, ...]
    tlp_source: TlpSource


def parse_input(data: bytes, *, max_bytes: int, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Submitted bytes as strict JSON, size first (not yet checked as STIX).

    Raises:
        StixTooLarge: more than ``max_bytes`` bytes.
        StixInvalid: not strict JSON (the parser's message), or nested deeper than ``max_depth``.
    """
    if len(data) > max_bytes:
        raise StixTooLarge(f"STIX input of {len(data)} bytes exceeds the limit of {max_bytes}")
    try:
        return parse_strict(data, max_bytes=max_bytes, max_depth=max_depth)
    except InputTooLarge as exc:
        raise StixTooLarge(exc.message) from exc
    except MalformedInput as exc:
        raise StixInvalid("the input is not acceptable JSON", messages=[exc.message]) from exc


def validate_report(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_objects: int = DEFAULT_MAX_OBJECTS,
) -> ValidatedReport:
    """Check submitted bytes as a TLP-marked STIX 2.1 bundle (see the module docstring).

    Raises:
        StixTooLarge: more than ``max_bytes`` bytes or more than ``max_objects`` objects.
        StixInvalid: not strict JSON (the parser's message), nested deeper than ``max_depth``, not
            a non-empty STIX 2.1 bundle, errors from stix2-validator (each message prefixed with
            the object id where the validator knows it), input the validator cannot process, or a
            TLP marking definition whose content contradicts its id.
        TlpMissing: objects (other than marking definitions) without a TLP marking.
        TlpConflict: an object marked with two TLP levels, or a TLP marking id defined twice with
            different levels.

    A broken validator installation (``SchemaInvalidError``, e.g. schemas missing) is not the
    submitter's fault and is not translated: it propagates as a server error.
    """
    unverified = parse_input(data, max_bytes=max_bytes, max_depth=max_depth)
    objects = _check_shape(unverified, max_objects)
    try:
        canonical = canonicalize(unverified)
    except MalformedInput as exc:  # parse_strict already refuses what JCS cannot express
        raise StixInvalid("the bundle cannot be canonicalised", messages=[exc.message]) from exc

    warnings = _run_validator(unverified)
    tlp, source = _report_tlp(objects)
    bundle: dict[str, Any] = unverified
    return ValidatedReport(
        bundle=bundle,
        canonical=canonical,
        bundle_id=bundle["id"],
        tlp=tlp,
        object_count=len(objects),
        object_types=tuple(sorted({obj["type"] for obj in objects})),
        warnings=tuple(warnings),
        tlp_source=source,
    )


def _check_shape(value: Any, max_objects: int) -> list[dict[str, Any]]:
    """Step 3: what the validator assumes (it crashes rather than reports on other shapes)."""
    if not isinstance(value, dict):
        raise StixInvalid(
            "not a STIX bundle", messages=[f"expected a JSON object, got {_json_type(value)}"]
        )
    if value.get("type") != "bundle":
        raise StixInvalid(
            "not a STIX bundle", messages=[f"'type' is {value.get('type')!r}, expected 'bundle'"]
        )
    problems: list[str] = []
    if not isinstance(value.get("id"), str):
        problems.append("bundle: 'id' must be a string")
    if "spec_version" in value and value["spec_version"] != "2.1":
        problems.append(
            f"bundle: spec_version {value['spec_version']!r}: only STIX 2.1 is accepted"
        )
    objects = value.get("objects")
    if not isinstance(objects, list) or not objects:
        problems.append("bundle: 'objects' must be a non-empty list")
        raise StixInvalid("not a valid STIX 2.1 bundle", messages=problems)
    if len(objects) > max_objects:
        raise StixTooLarge(f"bundle of {len(objects)} objects exceeds the limit of {max_objects}")
    for index, obj in enumerate(objects):
        where = f"objects[{index}]"
        if not isinstance(obj, dict):
            problems.append(f"{where}: expected a JSON object, got {_json_type(obj)}")
            continue
        if not isinstance(obj.get("type"), str) or not isinstance(obj.get("id"), str):
            problems.append(f"{where}: 'type' and 'id' must be strings")
            continue
        spec_version = obj.get("spec_version", "2.1")
        if spec_version != "2.1":
            problems.append(
                f"{obj['id']}: spec_version {spec_version!r}: only STIX 2.1 is accepted"
            )
    if problems:
        raise StixInvalid("not a valid STIX 2.1 bundle", messages=problems)
    return objects


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _run_validator(bundle: dict[str, Any]) -> list[str]:
    """Step 4: stix2-validator on the whole bundle in one call; its warnings are returned."""
    options = ValidationOptions(version="2.1", strict=False, silent=True)
    try:
        result = validate_instance(bundle, options)
    except validator_errors.SchemaInvalidError:
        raise
    except validator_errors.ValidationError as exc:
        raise StixInvalid("the bundle failed STIX 2.1 validation", messages=[str(exc)]) from exc
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
        # The validator's custom checks assume each property has its specified type and crash on
        # others (e.g. "created": 5); that is a property of the input, not a server fault.
        raise StixInvalid(
            "the bundle failed STIX 2.1 validation",
            messages=[
                "the STIX validator could not process the bundle, a property probably has the "
                f"wrong type ({type(exc).__name__}: {exc})"
            ],
        ) from exc
    if not result.is_valid:
        errors = [str(error) for error in result.errors]
        raise StixInvalid(
            f"the bundle failed STIX 2.1 validation ({len(errors)} errors)", messages=errors
        )
    return [str(warning) for warning in result.warnings]


# --- step 5: TLP --------------------------------------------------------------------------------


def _report_tlp(objects: list[dict[str, Any]]) -> _Marking:
    defined = _tlp_definitions(objects)

    def resolve(ref: object) -> _Marking | None:
        if not isinstance(ref, str):
            return None
        if ref in TLP2_MARKING_IDS:
            return TLP2_MARKING_IDS[ref], "tlp2"
        if ref in TLP1_MARKING_IDS:
            return TLP1_MARKING_IDS[ref], "tlp1-mapped"
        if ref.lower() in _WELL_KNOWN_LOWER:
            raise StixInvalid(
                "a TLP marking id is misspelt",
                messages=[f"{ref}: write the TLP marking id as {_WELL_KNOWN_LOWER[ref.lower()]}"],
            )
        return defined.get(ref)

    used: list[_Marking] = []
    unmarked: list[str] = []
    conflicts: list[str] = []
    for obj in objects:
        refs = obj.get("object_marking_refs")
        direct = [m for m in map(resolve, refs if isinstance(refs, list) else []) if m]
        levels = {level for level, _ in direct}
        if not levels and obj["type"] != "marking-definition":
            unmarked.append(obj["id"])
        if len(levels) > 1:
            names = ", ".join(level.label for level in sorted(levels))
            conflicts.append(f"{obj['id']}: object_marking_refs hold several TLP levels ({names})")
        used.extend(direct)
        granular = obj.get("granular_markings")
        for marking in granular if isinstance(granular, list) else []:
            found = resolve(marking.get("marking_ref")) if isinstance(marking, dict) else None
            if found:
                used.append(found)

    if unmarked:
        raise TlpMissing(
            f"{len(unmarked)} object(s) without a TLP marking; every object except marking "
            "definitions needs one in object_marking_refs",
            object_ids=unmarked,
        )
    if conflicts:
        raise TlpConflict(
            "objects are marked with more than one TLP level",
            messages=conflicts[:MAX_NAMED_OBJECTS],
        )
    top = max(level for level, _ in used)
    source: TlpSource = (
        "tlp2" if any(lvl is top and src == "tlp2" for lvl, src in used) else "tlp1-mapped"
    )
    return top, source


def _tlp_definitions(objects: list[dict[str, Any]]) -> dict[str, _Marking]:
    """The TLP levels defined by marking-definition objects in the bundle, by id; checks that
    well-known ids are not relabelled and that no id is defined with two levels."""
    defined: dict[str, _Marking] = {}
    for obj in objects:
        if obj["type"] != "marking-definition":
            continue
        marking = _marking_definition_tlp(obj)
        if marking is None:
            continue
        previous = defined.setdefault(obj["id"], marking)
        if previous != marking:
            raise TlpConflict(
                "a TLP marking definition appears twice with different levels",
                messages=[f"{obj['id']}: defined as {previous[0].label} and {marking[0].label}"],
            )
    return defined


def _marking_definition_tlp(obj: dict[str, Any]) -> _Marking | None:
    """The TLP level a marking-definition object defines, or None if it is not a TLP marking.

    Raises StixInvalid when its content and id disagree or a TLP claim is malformed."""
    mid: str = obj["id"]
    claim2 = _tlp2_claim(obj)
    claim1 = _tlp1_claim(obj)
    name = obj.get("name")

    def relabelled(expected: str) -> StixInvalid:
        return StixInvalid(
            "a TLP marking definition does not match its well-known id",
            messages=[f"{mid}: the id means {expected}, the object says otherwise"],
        )

    if mid.lower() in _WELL_KNOWN_LOWER and mid not in _WELL_KNOWN_LOWER.values():
        raise StixInvalid(
            "a TLP marking id is misspelt",
            messages=[f"{mid}: write the TLP marking id as {_WELL_KNOWN_LOWER[mid.lower()]}"],
        )
    if mid in TLP2_MARKING_IDS:
        level = TLP2_MARKING_IDS[mid]
        if claim2 is not level or claim1 is not None or name not in (None, level.label):
            raise relabelled(level.label)
        return level, "tlp2"
    if mid in _TLP1_BUILTINS:
        colour, level = _TLP1_BUILTINS[mid]
        expected = "TLP:" + colour.upper()
        if claim1 is not level or claim2 is not None or name not in (None, expected):
            raise relabelled(f"{expected} (TLP 1.0)")
        return level, "tlp1-mapped"
    if claim1 is not None:
        raise StixInvalid(
            "a TLP 1.0 marking definition uses a non-standard id",
            messages=[f"{mid}: TLP 1.0 markings must use the STIX 2.1 built-in ids"],
        )
    looks_like_tlp = isinstance(name, str) and _LOOKS_LIKE_TLP.match(name) is not None
    if claim2 is not None:
        if looks_like_tlp and name != claim2.label:
            raise StixInvalid(
                "a TLP marking definition's name contradicts its level",
                messages=[f"{mid}: named {name!r} but defines {claim2.label}"],
            )
        return claim2, "tlp2"
    if looks_like_tlp:
        raise StixInvalid(
            "a marking definition is named like TLP but is not a TLP marking",
            messages=[f"{mid}: named {name!r} without a TLP definition"],
        )
    return None


def _tlp2_claim(obj: dict[str, Any]) -> TLP | None:
    extensions = obj.get("extensions")
    if not isinstance(extensions, dict) or TLP2_EXTENSION_ID not in extensions:
        return None
    extension = extensions[TLP2_EXTENSION_ID]
    value = extension.get("tlp_2_0") if isinstance(extension, dict) else None
    if isinstance(value, str) and value in _TLP2_VALUES:
        return TLP(value)
    raise StixInvalid(
        "a TLP 2.0 marking definition has an unknown level",
        messages=[f"{obj['id']}: tlp_2_0 is {value!r}, expected one of {sorted(_TLP2_VALUES)}"],
    )


def _tlp1_claim(obj: dict[str, Any]) -> TLP | None:
    if obj.get("definition_type") != "tlp":
        return None
    definition = obj.get("definition")
    colour = definition.get("tlp") if isinstance(definition, dict) else None
    if not isinstance(colour, str) or colour not in _TLP1_COLOURS:
        raise StixInvalid(
            "a TLP 1.0 marking definition has an unknown colour",
            messages=[f"{obj['id']}: definition.tlp is {colour!r}"],
        )
    return _TLP1_COLOURS[colour]
