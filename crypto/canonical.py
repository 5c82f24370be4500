"""Canonical JSON (RFC 8785, JCS) and the strict parser for everything that is signed.

``canonicalize`` produces the exact bytes that are signed, hashed or bound into HPKE ``info``.
It delegates to the ``rfc8785`` package, which passes every reference vector of the RFC (the
standard library's ``json.dumps(sort_keys=True)`` does not: number formatting and the UTF-16 key
order of characters outside the BMP differ), except for flat objects of ASCII keys and string,
boolean, null or safe-integer values (envelope headers, for instance), where the standard library's
output is byte for byte the same and several times faster.

``parse_strict`` is the only way signed JSON enters this package. Python's ``json`` module silently
keeps the last of duplicate keys and accepts ``NaN``/``Infinity``; a signature over one reading of
the bytes while the code acts on another is the classic canonicalisation attack, so both are
refused, as are input over a size limit, nesting deeper than a set limit, lone surrogates and
integers outside the IEEE-754 exact range (which JCS cannot reproduce).
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

from crypto.errors import InputTooLarge, MalformedInput

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64
_MAX_SAFE_INTEGER = 2**53 - 1

JSONValue = Any
"""A value of dict, list, str, int, float, bool and None (kept as Any for readability)."""


# Fast path. For a flat object whose keys are ASCII strings and whose values are str, bool, None or
# integers within 2**53 - 1, the standard library's compact, sorted, non-ASCII-escaping output is
# exactly RFC 8785: such integers are plain decimal in both, ASCII keys sort the same by code point
# as by UTF-16 code unit, and both escape only the quote, the backslash and U+0000 to U+001F (b, t,
# n, f and r short, the others as lowercase u00xx), writing everything else (DEL, U+2028, non-BMP)
# as UTF-8. Floats (number formatting), non-ASCII keys (UTF-16 order), nesting and anything else go
# to rfc8785; tests/crypto/test_canonical.py checks the two agree on every input the guard admits.
_FLAT_ENCODER = json.JSONEncoder(
    ensure_ascii=False, check_circular=False, sort_keys=True, separators=(",", ":")
)


def _is_flat_jcs_safe(value: JSONValue) -> bool:
    """``value`` is a dict the fast path writes exactly as RFC 8785 does (exact types only, so no
    subclass can bring its own ``__str__``/``__repr__``)."""
    if type(value) is not dict:
        return False
    for key, item in value.items():
        if type(key) is not str or not key.isascii():
            return False
        kind = type(item)
        if kind is int:
            if not -_MAX_SAFE_INTEGER <= item <= _MAX_SAFE_INTEGER:
                return False
        elif kind is not str and item is not None and kind is not bool:
            return False
    return True


def canonicalize(value: JSONValue) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``.

    Raises:
        MalformedInput: the value holds something JCS cannot express (NaN, an integer beyond 2**53,
            a non-string key, an unsupported type) or nests beyond the recursion limit.
    """
    if _is_flat_jcs_safe(value):
        try:
            return _FLAT_ENCODER.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 below refuses it with its own message
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise MalformedInput(f"value cannot be canonicalised (RFC 8785): {exc}") from exc


def _refuse_constant(name: str) -> None:
    raise MalformedInput(f"JSON constant {name} is not allowed")


def _pairs_without_duplicates(pairs: list[tuple[str, JSONValue]]) -> dict[str, JSONValue]:
    result: dict[str, JSONValue] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedInput(f"duplicate key {key!r} in JSON object")
        result[key] = value
    return result


def _parse_int(text: str) -> int | float:
    """Integers up to 2**53 - 1 stay ``int``. Larger ones are JSON numbers, that is IEEE-754
    doubles (RFC 8785 section 3.2.2.3), and JCS writes large doubles as integer literals (1e16 as
    ``10000000000000000``): such a literal is accepted as ``float`` only when it is exactly how JCS
    writes that double, so each value has one spelling and no reader can take it for another
    integer (``9007199254740993`` is refused: as a double it is ``9007199254740992``). More than 21
    digits is never JCS output and is refused before conversion, which also keeps Python's
    4300-digit limit from surfacing as a ValueError."""
    if len(text.lstrip("-")) > 21:
        raise MalformedInput(f"integer {text[:32]}... has too many digits")
    value = int(text)
    if abs(value) <= _MAX_SAFE_INTEGER:
        return value
    as_double = float(text)
    if rfc8785.dumps(as_double) != text.encode("ascii"):
        raise MalformedInput(f"integer {text} is not exactly representable as an IEEE-754 double")
    return as_double


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise MalformedInput(f"number {text[:32]} overflows a double")
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_tree(value: JSONValue, max_depth: int, check_strings: bool) -> None:
    """One iterative walk: refuse nesting deeper than ``max_depth`` and, when the text held a
    surrogate escape, lone surrogates (``"\\ud800"``), which have no UTF-8 and so no canonical
    form. Iterative, so hostile depth cannot exhaust the Python stack here."""
    stack: list[tuple[JSONValue, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise MalformedInput(f"JSON nesting deeper than {max_depth} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif check_strings and isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise MalformedInput("JSON string holds a lone surrogate") from exc


def parse_strict(
    data: bytes | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> JSONValue:
    """Parse JSON text, refusing anything whose meaning could be ambiguous.

    Raises:
        InputTooLarge: more than ``max_bytes`` bytes.
        MalformedInput: invalid UTF-8 or JSON, a duplicate object key, NaN or Infinity, nesting
            deeper than ``max_depth``, an integer beyond 2**53 - 1, or a lone surrogate.
    """
    size = len(data) if not isinstance(data, str) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InputTooLarge(f"JSON input of {size} bytes exceeds the limit of {max_bytes}")
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedInput(f"JSON input is not valid UTF-8: {exc.reason}") from exc
    else:
        text = data
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs_without_duplicates,
            parse_constant=_refuse_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except json.JSONDecodeError as exc:
        raise MalformedInput(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        # The C scanner stops at the recursion limit, far deeper than any limit we set.
        raise MalformedInput(f"JSON nesting deeper than {max_depth} levels") from exc
    _check_tree(value, max_depth, check_strings=_SURROGATE_ESCAPE.search(text) is not None)
    return value


def parse_canonical(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> JSONValue:
    """Parse ``data`` strictly and require it to be in RFC 8785 canonical form already.

    Used for headers that are bound into signatures and HPKE ``info`` byte for byte: accepting only
    the canonical spelling means there is exactly one byte string for each header.

    Raises:
        MalformedInput: as :func:`parse_strict`, or the bytes are not canonical.
    """
    value = parse_strict(data, max_bytes=max_bytes, max_depth=max_depth)
    if canonicalize(value) != bytes(data):
        raise MalformedInput("JSON is not in RFC 8785 canonical form")
    return value
