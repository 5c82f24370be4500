"""Policy files: the one parser that turns a TOML policy file into a :class:`Policy`.

A policy file is TOML, ``format = "liaison-policy/1"``, one file per partner
(``<partner>.toml`` by convention); ``docs/policies.md`` is the reference of every key.
Validation collects every problem of a file, each located at the line and column of the key it
concerns (syntax errors where ``tomllib`` found them), and raises one :class:`PolicyInvalid`
listing them all; a node refuses to start on it. A policy's version is the SHA-256 of the file's
bytes.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar, cast

from policies.errors import NoPolicy, PolicyInvalid, Problem
from policies.locator import Locator
from policies.markings import NODE_ID
from policies.model import (
    ALWAYS_ALLOWED_TYPES,
    PROTECTED_PROPERTIES,
    InboundRules,
    OutboundRules,
    Policy,
    Redaction,
    Releasability,
    RequiredMarking,
    ThirdParty,
)
from policies.tlp import TLP, parse_tlp

__all__ = [
    "EXAMPLES_DIR",
    "FORMAT",
    "MAX_POLICY_BYTES",
    "load_policy",
    "load_policy_dir",
    "parse_policy",
    "policy_for",
]

FORMAT = "liaison-policy/1"
"""The only ``format`` this version reads."""

MAX_POLICY_BYTES = 1024 * 1024
"""A policy file larger than this is refused unread (policies are a few kilobytes)."""

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
"""The example policies shipped with the project: ``examples/<node>/<partner>.toml``."""

_STIX_TYPE = re.compile(r"[a-z0-9][a-z0-9-]{1,248}[a-z0-9]")
_PROPERTY = re.compile(r"[a-z0-9_]{3,250}")
_PREFIX = re.compile(r"[a-z0-9_]{1,249}")
_VOCABULARY = re.compile(r"[a-z0-9][a-z0-9-]{0,249}")
_MARKING_ID = re.compile(
    r"marking-definition--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
_TOMLLIB_WHERE = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")

_TOP_KEYS = ("format", "node", "partner", "description", "outbound", "inbound")
_OUTBOUND_KEYS = (
    "max_tlp",
    "red_recipients",
    "allowed_types",
    "releasability",
    "tearline",
    "two_person_min_tlp",
    "third_party",
    "redact",
)
_REDACT_KEYS = ("properties", "property_prefixes", "object_types", "identity_classes")
_INBOUND_KEYS = ("accepted_types", "max_bytes", "required_markings", "max_tlp")
_RELEASABILITY: tuple[Releasability, ...] = ("honour", "require-rel-to")
_THIRD_PARTY: tuple[ThirdParty, ...] = ("never", "originator-marking")
_REQUIRED_MARKINGS: tuple[RequiredMarking, ...] = ("tlp", "rel-to")
_TLP_LEVELS = ", ".join(level.value for level in TLP)

_T = TypeVar("_T")
_Key = tuple[str, ...]


def parse_policy(data: bytes, *, source: str) -> Policy:
    """Parse and check the bytes of one policy file; ``source`` names it in errors and in
    ``Policy.source``.

    Raises:
        PolicyInvalid: larger than ``MAX_POLICY_BYTES``, not UTF-8, not TOML, or breaking the
            format (unknown or missing keys, wrong types, values out of range, contradictions);
            every problem is listed with its line and column.
    """
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyInvalid(
            [Problem(source, None, None, "", f"larger than {MAX_POLICY_BYTES} bytes")]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PolicyInvalid([Problem(source, line, None, "", "not UTF-8 text")]) from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyInvalid([_syntax_problem(source, text, exc)]) from exc
    reader = _Reader(source, Locator(text))
    policy = reader.policy(document, version="sha256:" + hashlib.sha256(data).hexdigest())
    if reader.problems or policy is None:
        raise PolicyInvalid(reader.sorted_problems())
    return policy


def load_policy(path: str | Path) -> Policy:
    """Read and parse one policy file (see :func:`parse_policy`).

    Raises:
        PolicyInvalid: the file cannot be read, or as :func:`parse_policy`.
    """
    source = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyInvalid(
            [Problem(source, None, None, "", f"cannot be read: {exc.strerror or exc}")]
        ) from exc
    return parse_policy(data, source=source)


def load_policy_dir(path: str | Path, *, node: str | None = None) -> dict[str, Policy]:
    """Load every ``*.toml`` file of a directory (not its subdirectories), keyed by partner id.

    All files must be policies of the same node, and of ``node`` when it is given; no partner may
    have two files. An empty directory gives an empty mapping: nothing is exchanged with anyone.

    Raises:
        PolicyInvalid: ``path`` is not a readable directory, or any file is invalid; the problems
            of every file are listed together (each with its file, line and column), as are
            duplicate partners and files for another node.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise PolicyInvalid([Problem(str(directory), None, None, "", "not a directory")])
    problems: list[Problem] = []
    loaded: list[Policy] = []
    for file in sorted(directory.glob("*.toml")):
        try:
            loaded.append(load_policy(file))
        except PolicyInvalid as exc:
            problems.extend(exc.problems)
    policies: dict[str, Policy] = {}
    expected_node = node if node is not None else (loaded[0].node if loaded else None)
    for policy in loaded:
        if policy.node != expected_node:
            problems.append(
                _located(
                    policy,
                    ("node",),
                    f"this file is a policy of node {policy.node!r}, the directory is for "
                    f"{expected_node!r}",
                )
            )
            continue
        first = policies.setdefault(policy.partner, policy)
        if first is not policy:
            problems.append(
                _located(
                    policy,
                    ("partner",),
                    f"a second policy for {policy.partner!r} (the first is {first.source})",
                )
            )
    if problems:
        raise PolicyInvalid(problems)
    return policies


def policy_for(policies: Mapping[str, Policy], partner: str) -> Policy:
    """The policy for ``partner``.

    Raises:
        NoPolicy: none is loaded; nothing may be released to the partner or accepted from it.
    """
    try:
        return policies[partner]
    except KeyError:
        raise NoPolicy(partner) from None


# --- internals ----------------------------------------------------------------------------------


def _syntax_problem(source: str, text: str, exc: tomllib.TOMLDecodeError) -> Problem:
    message = str(exc)
    where = _TOMLLIB_WHERE.search(message)
    if where is None:
        return Problem(source, None, None, "", message)
    if where.group(1) is None:  # "at end of document"
        line, column = max(1, text.count("\n") + (0 if text.endswith("\n") else 1)), None
    else:
        line, column = int(where.group(1)), int(where.group(2))
    return Problem(source, line, column, "", message[: where.start()] + " (TOML syntax)")


def _located(policy: Policy, key: _Key, message: str) -> Problem:
    """A problem with a loaded policy's key, located by re-reading its file."""
    try:
        text = Path(policy.source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    line, column = Locator(text).find(key)
    return Problem(policy.source, line, column, ".".join(key), message)


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime | date | time):
        return "a date or time"
    return type(value).__name__


class _Reader:
    """Reads a parsed document against the format, collecting located problems."""

    def __init__(self, source: str, locator: Locator) -> None:
        self.source = source
        self.locator = locator
        self.problems: list[Problem] = []

    def problem(self, key: _Key, message: str) -> None:
        line, column = self.locator.find(key)
        self.problems.append(Problem(self.source, line, column, ".".join(key), message))

    def sorted_problems(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.line or 0, p.column or 0, p.key, p.message))

    # --- the document ---------------------------------------------------------------------------

    def policy(self, document: dict[str, Any], *, version: str) -> Policy | None:
        self.known_keys(document, (), _TOP_KEYS)
        fmt = self.string(document, ("format",), required=True)
        if fmt is not None and fmt != FORMAT:
            self.problem(("format",), f"{fmt!r} is not supported (expected {FORMAT!r})")
        node = self.node_id(document, ("node",))
        partner = self.node_id(document, ("partner",))
        if node is not None and node == partner:
            self.problem(("partner",), "a node has no sharing policy with itself")
        description = self.string(document, ("description",)) or ""

        outbound_table = self.table(document, ("outbound",), required=True)
        outbound = self.outbound(outbound_table, partner) if outbound_table is not None else None
        inbound_table = self.table(document, ("inbound",))
        inbound = self.inbound(inbound_table if inbound_table is not None else {})
        if fmt != FORMAT or node is None or partner is None or outbound is None:
            return None
        return Policy(
            node=node,
            partner=partner,
            outbound=outbound,
            inbound=inbound,
            version=version,
            source=self.source,
            description=description,
        )

    def outbound(self, table: dict[str, Any], partner: str | None) -> OutboundRules | None:
        path: _Key = ("outbound",)
        self.known_keys(table, path, _OUTBOUND_KEYS)
        max_tlp = self.tlp(table, (*path, "max_tlp"), required=True)
        red_recipients = self.string_set(table, (*path, "red_recipients"), self.check_node_id)
        red_recipients = red_recipients or frozenset()
        if partner is not None:
            for name in sorted(red_recipients - {partner}):
                self.problem(
                    (*path, "red_recipients"),
                    f"names {name!r}, but this file is the policy for {partner!r}: only the "
                    "partner of the file may be named",
                )
        if max_tlp is TLP.RED and partner is not None and partner not in red_recipients:
            self.problem(
                (*path, "max_tlp"),
                f'"red": TLP:RED goes only to named recipients; also set red_recipients = '
                f'["{partner}"], or lower max_tlp',
            )
        if max_tlp is not None and max_tlp is not TLP.RED and partner in red_recipients:
            self.problem(
                (*path, "red_recipients"),
                f"names {partner!r} but max_tlp is {max_tlp.value!r}: TLP:RED would still be "
                'refused; set max_tlp = "red" or empty the list',
            )
        allowed_types = self.string_set(table, (*path, "allowed_types"), self.check_type)
        releasability = self.choice(
            table, (*path, "releasability"), _RELEASABILITY, default="honour"
        )
        tearline = self.tearline(table, (*path, "tearline"))
        two_person = self.tlp(table, (*path, "two_person_min_tlp"))
        if two_person is not None and max_tlp is not None and two_person > max_tlp:
            self.problem(
                (*path, "two_person_min_tlp"),
                f"{two_person.value!r} is above max_tlp {max_tlp.value!r}: no release could "
                "ever reach it",
            )
        third_party = self.choice(table, (*path, "third_party"), _THIRD_PARTY, default="never")
        redact_table = self.table(table, (*path, "redact"))
        redact = self.redaction(redact_table if redact_table is not None else {})
        if max_tlp is None:
            return None
        return OutboundRules(
            max_tlp=max_tlp,
            red_recipients=red_recipients,
            allowed_types=allowed_types,
            releasability=releasability,
            tearline=tearline,
            two_person_min_tlp=two_person,
            third_party=third_party,
            redact=redact,
        )

    def redaction(self, table: dict[str, Any]) -> Redaction:
        path: _Key = ("outbound", "redact")
        self.known_keys(table, path, _REDACT_KEYS)
        properties = self.string_set(table, (*path, "properties"), self.check_property)
        prefixes = self.string_set(table, (*path, "property_prefixes"), self.check_prefix)
        object_types = self.string_set(table, (*path, "object_types"), self.check_redacted_type)
        classes = self.string_set(table, (*path, "identity_classes"), self.check_vocabulary)
        return Redaction(
            properties=properties or frozenset(),
            property_prefixes=tuple(sorted(prefixes or ())),
            object_types=object_types or frozenset(),
            identity_classes=classes or frozenset(),
        )

    def inbound(self, table: dict[str, Any]) -> InboundRules:
        path: _Key = ("inbound",)
        self.known_keys(table, path, _INBOUND_KEYS)
        accepted = self.string_set(table, (*path, "accepted_types"), self.check_type)
        max_bytes = self.positive_int(table, (*path, "max_bytes"))
        required = self.string_set(table, (*path, "required_markings"), self.check_marking_kind)
        max_tlp = self.tlp(table, (*path, "max_tlp"))
        return InboundRules(
            accepted_types=accepted,
            max_bytes=max_bytes,
            required_markings=(
                frozenset({"tlp"})
                if required is None
                else frozenset(cast(RequiredMarking, name) for name in required)
            ),
            max_tlp=max_tlp,
        )

    # --- typed values ---------------------------------------------------------------------------

    def known_keys(self, table: dict[str, Any], path: _Key, known: tuple[str, ...]) -> None:
        for key in table:
            if key in known:
                continue
            hint = difflib.get_close_matches(key, known, n=1)
            suggestion = f'did you mean "{hint[0]}"? ' if hint else ""
            self.problem(
                (*path, key), f"unknown key ({suggestion}expected one of: {', '.join(known)})"
            )

    def value(
        self, table: dict[str, Any], key: _Key, kind: type[_T], what: str, *, required: bool
    ) -> _T | None:
        if key[-1] not in table:
            if required:
                self.problem(key, "required key is missing")
            return None
        value = table[key[-1]]
        # bool is an int in Python; TOML keeps them apart, and so do we
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem(key, f"expected {what}, got {_describe(value)}")
            return None
        return value

    def table(
        self, table: dict[str, Any], key: _Key, *, required: bool = False
    ) -> dict[str, Any] | None:
        return self.value(table, key, dict, "a table", required=required)

    def string(self, table: dict[str, Any], key: _Key, *, required: bool = False) -> str | None:
        return self.value(table, key, str, "a string", required=required)

    def node_id(self, table: dict[str, Any], key: _Key) -> str | None:
        value = self.string(table, key, required=True)
        if value is None:
            return None
        message = self.check_node_id(value)
        if message:
            self.problem(key, message)
            return None
        return value

    def tlp(self, table: dict[str, Any], key: _Key, *, required: bool = False) -> TLP | None:
        value = self.string(table, key, required=required)
        if value is None:
            return None
        level = parse_tlp(value)
        if level is None:
            self.problem(key, f"{value!r} is not a TLP level ({_TLP_LEVELS})")
        return level

    def choice(
        self, table: dict[str, Any], key: _Key, choices: tuple[_T, ...], *, default: _T
    ) -> _T:
        value = self.string(table, key)
        if value is None:
            return default
        for choice in choices:
            if value == choice:
                return choice
        self.problem(key, f"{value!r} is not one of: {', '.join(map(str, choices))}")
        return default

    def positive_int(self, table: dict[str, Any], key: _Key) -> int | None:
        value = self.value(table, key, int, "an integer", required=False)
        if value is not None and value <= 0:
            self.problem(key, f"{value} is not a positive number of bytes")
            return None
        return value

    def tearline(self, table: dict[str, Any], key: _Key) -> str | None:
        if key[-1] not in table or table[key[-1]] is False:
            return None
        value = table[key[-1]]
        if not isinstance(value, str) or not _MARKING_ID.fullmatch(value):
            self.problem(
                key,
                f"expected false or a marking-definition id, got {_describe(value)}"
                + (f" {value!r}" if isinstance(value, str | bool) else ""),
            )
            return None
        return value

    def string_set(
        self, table: dict[str, Any], key: _Key, check: Callable[[str], str | None]
    ) -> frozenset[str] | None:
        values = self.value(table, key, list, "an array of strings", required=False)
        if values is None:
            return None
        good: set[str] = set()
        for item in values:
            if not isinstance(item, str):
                self.problem(key, f"expected an array of strings, found {_describe(item)}")
                continue
            message = check(item)
            if message:
                self.problem(key, message)
            else:
                good.add(item)
        return frozenset(good)

    # --- checks of one string: None if fine, else the message ------------------------------------

    @staticmethod
    def check_node_id(value: str) -> str | None:
        if NODE_ID.fullmatch(value):
            return None
        return f"{value!r} is not a node id (letters, digits, '.', '_', '-'; at most 63)"

    @staticmethod
    def check_type(value: str) -> str | None:
        if _STIX_TYPE.fullmatch(value):
            return None
        return f"{value!r} is not a STIX type name (3-250 of a-z, 0-9 and '-')"

    @staticmethod
    def check_redacted_type(value: str) -> str | None:
        if value in ALWAYS_ALLOWED_TYPES:
            return (
                f"{value!r} cannot be redacted: marking definitions are kept exactly while a "
                "released object references them"
            )
        return _Reader.check_type(value)

    @staticmethod
    def check_property(value: str) -> str | None:
        if not _PROPERTY.fullmatch(value):
            return f"{value!r} is not a STIX property name (3-250 of a-z, 0-9 and '_')"
        if value in PROTECTED_PROPERTIES:
            return (
                f"{value!r} is required by STIX 2.1 or by liaison and cannot be redacted; redact "
                "the object type instead"
            )
        return None

    @staticmethod
    def check_prefix(value: str) -> str | None:
        if not _PREFIX.fullmatch(value):
            return f"{value!r} is not a property-name prefix (a-z, 0-9 and '_')"
        hits = sorted(name for name in PROTECTED_PROPERTIES if name.startswith(value))
        if hits:
            return f"{value!r} would redact required properties ({', '.join(hits[:3])})"
        return None

    @staticmethod
    def check_vocabulary(value: str) -> str | None:
        if _VOCABULARY.fullmatch(value):
            return None
        return f"{value!r} is not an identity class (a-z, 0-9 and '-', e.g. 'individual')"

    @staticmethod
    def check_marking_kind(value: str) -> str | None:
        if value in _REQUIRED_MARKINGS:
            return None
        return f"{value!r} is not a marking kind ({', '.join(_REQUIRED_MARKINGS)})"
