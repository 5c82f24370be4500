"""RFC 8785 canonical JSON and the strict parser: outside known answers, refusals, properties.

Known answers are read in place from ``/work/shared/vectors/rfc8785/`` (cyberphone's JCS test
data): ``input/*.json`` must canonicalise to the bytes of ``output/*.json`` of the same name.
"""

from __future__ import annotations

import enum
import json
import math
import struct
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.canonical import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DEPTH,
    _is_flat_jcs_safe,
    canonicalize,
    parse_canonical,
    parse_strict,
)
from crypto.errors import InputTooLarge, MalformedInput

SHARED = Path(__file__).resolve().parents[3] / "shared"
JCS_DIR = SHARED / "vectors" / "rfc8785"
ES6_FILE = JCS_DIR / "es6-number-samples.json"
MAX_SAFE = 2**53 - 1


def _require(path: Path) -> None:
    if not path.exists():
        pytest.fail(
            f"required test vectors not found: {path} (expected the shared vectors at "
            f"{SHARED}/vectors, see its README); these known answers must not be skipped",
            pytrace=False,
        )


def _missing(path: Path) -> Any:
    return pytest.param(path, id="vectors-missing")


def _fail_if_missing(case: object) -> None:
    """The stand-in param of a missing vector file fails the test with its path."""
    if isinstance(case, Path):
        _require(case)


# --- RFC 8785 reference cases ------------------------------------------------------------------


def _jcs_params() -> list[Any]:
    inputs = sorted((JCS_DIR / "input").glob("*.json"))
    if not inputs:
        return [_missing(JCS_DIR / "input")]
    return [pytest.param(path.name, id=path.stem) for path in inputs]


def _jcs_case(name: str) -> tuple[bytes, bytes]:
    _require(JCS_DIR / "input" / name)
    _require(JCS_DIR / "output" / name)
    return (JCS_DIR / "input" / name).read_bytes(), (JCS_DIR / "output" / name).read_bytes()


@pytest.mark.parametrize("name", _jcs_params())
def test_rfc8785_canonical_bytes(name: str | Path) -> None:
    _fail_if_missing(name)
    assert isinstance(name, str)
    source, expected = _jcs_case(name)
    assert canonicalize(parse_strict(source)) == expected


@pytest.mark.parametrize("name", _jcs_params())
def test_rfc8785_parse_canonical(name: str | Path) -> None:
    """The canonical output is accepted as is; the pretty-printed input is refused."""
    _fail_if_missing(name)
    assert isinstance(name, str)
    source, expected = _jcs_case(name)
    assert parse_canonical(expected) == parse_strict(source)
    assert source != expected  # every reference input is spelled differently
    with pytest.raises(MalformedInput):
        parse_canonical(source)


# --- ES6 number serialisation samples ----------------------------------------------------------


def _double(hex_bits: str) -> float:
    value: float = struct.unpack(">d", bytes.fromhex(hex_bits.rjust(16, "0")))[0]
    return value


def _es6_params() -> list[Any]:
    if not ES6_FILE.is_file():
        return [pytest.param(ES6_FILE, "", id="vectors-missing")]
    samples = json.loads(ES6_FILE.read_text(encoding="utf-8"))["samples"]
    params = []
    for hex_bits, expected in samples:
        marks = []
        if not math.isfinite(_double(hex_bits)):
            marks.append(pytest.mark.skip(reason="NaN/Infinity: RFC 8785 has no spelling for them"))
        params.append(pytest.param(hex_bits, expected, id=f"es6-{hex_bits}", marks=marks))
    return params


@pytest.mark.parametrize(("hex_bits", "expected"), _es6_params())
def test_es6_number_serialisation(hex_bits: str | Path, expected: str) -> None:
    _fail_if_missing(hex_bits)
    assert isinstance(hex_bits, str)
    assert canonicalize(_double(hex_bits)) == expected.encode("ascii")
    # also inside a structure, where the number is written by the same routine
    assert canonicalize({"n": [_double(hex_bits)]}) == b'{"n":[' + expected.encode() + b"]}"


# --- strict parser: refusals -------------------------------------------------------------------

REFUSED: dict[str, bytes | str] = {
    "duplicate-top-level": '{"a":1,"a":2}',
    "duplicate-same-value": '{"a":1,"a":1}',
    "duplicate-nested": '{"x":{"b":true,"b":false}}',
    "duplicate-in-array": '[{"k":null},{"k":1,"k":2}]',
    "duplicate-by-escape": '{"a":1,"\\u0061":2}',
    "nan": "NaN",
    "nan-in-array": "[1,NaN]",
    "infinity": "Infinity",
    "minus-infinity": "-Infinity",
    "infinity-value": '{"x":Infinity}',
    "float-overflow": "1e400",
    "negative-float-overflow": "-1e400",
    "integer-2**53+1": str(2**53 + 1),
    "integer-minus-2**53-1": str(-(2**53) - 1),
    "integer-huge": "1" + "0" * 30,
    "integer-beyond-nested": '{"n":[9007199254740993]}',
    "lone-high-surrogate": '"\\ud800"',
    "lone-low-surrogate": '"\\udc00"',
    "reversed-surrogates": '"\\ude02\\ud83d"',
    "lone-surrogate-key": '{"\\ud800":1}',
    "lone-surrogate-nested": '[["ok","\\udbff"]]',
    "invalid-utf8": b'"\xff"',
    "overlong-utf8": b'"\xc0\xaf"',
    "cesu-surrogate-utf8": b'"\xed\xa0\x80"',
    "truncated-utf8": b'"\xe2\x82"',
    "trailing-garbage": "{} x",
    "trailing-second-value": "{}{}",
    "trailing-number": "1 2",
    "trailing-bracket": "[1]]",
    "empty-bytes": b"",
    "empty-str": "",
    "whitespace-only": " \n\t",
    "utf8-bom": b"\xef\xbb\xbf{}",
    "unquoted-key": "{a:1}",
    "single-quotes": "{'a':1}",
    "trailing-comma": "[1,]",
    "raw-control-char": '"\x01"',
    "leading-zero": "01",
    "unterminated": '{"a":',
}


@pytest.mark.parametrize("data", REFUSED.values(), ids=REFUSED.keys())
def test_parse_strict_refuses(data: bytes | str) -> None:
    with pytest.raises(MalformedInput):
        parse_strict(data)


ACCEPTED: dict[str, tuple[bytes | str, Any]] = {
    "max-safe-integer": (str(MAX_SAFE), MAX_SAFE),
    "min-safe-integer": (str(-MAX_SAFE), -MAX_SAFE),
    "surrogate-pair": ('"\\ud83d\\ude02"', "\U0001f602"),
    "escaped-nul": ('"\\u0000"', "\x00"),
    "same-key-in-siblings": ('[{"a":1},{"a":2}]', [{"a": 1}, {"a": 2}]),
    "same-key-nested": ('{"a":{"a":1}}', {"a": {"a": 1}}),
    "brackets-in-strings": ('"[[[[{{{{"', "[[[[{{{{"),
    "scalar": (b"true", True),
    "bytes-utf8": ('{"é":"ü"}'.encode(), {"é": "ü"}),
}


@pytest.mark.parametrize(("data", "expected"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_parse_strict_accepts(data: bytes | str, expected: Any) -> None:
    assert parse_strict(data) == expected


@pytest.mark.parametrize("opener", ["[", '{"a":'], ids=["arrays", "objects"])
def test_depth_limit(opener: str) -> None:
    closer = "]" if opener == "[" else "}"

    def nested(depth: int) -> str:
        return opener * depth + "0" + closer * depth

    assert parse_strict(nested(DEFAULT_MAX_DEPTH)) is not None
    with pytest.raises(MalformedInput):
        parse_strict(nested(DEFAULT_MAX_DEPTH + 1))
    parse_strict(nested(3), max_depth=3)
    with pytest.raises(MalformedInput):
        parse_strict(nested(4), max_depth=3)


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a":' * 100_000, "[{" * 50_000])
def test_hostile_nesting_is_malformed_not_recursion_error(text: str) -> None:
    for data in (text, text.encode()):
        with pytest.raises(MalformedInput):
            parse_strict(data)


def test_size_limit() -> None:
    body = b'"' + b"a" * 98 + b'"'
    assert parse_strict(body, max_bytes=100) == "a" * 98
    with pytest.raises(InputTooLarge):
        parse_strict(body + b" ", max_bytes=100)
    with pytest.raises(InputTooLarge):
        parse_strict(b" " * (DEFAULT_MAX_BYTES + 1))
    # the size check comes first: oversize garbage is "too large", not "malformed"
    with pytest.raises(InputTooLarge):
        parse_strict(b"\xff" * 101, max_bytes=100)


def test_size_limit_counts_utf8_bytes_of_str_input() -> None:
    text = '"' + "é" * 60 + '"'  # 62 characters, 122 UTF-8 bytes
    with pytest.raises(InputTooLarge):
        parse_strict(text, max_bytes=100)


@pytest.mark.parametrize("data", ["1" * 5000, "[" + "9" * 4400 + "]"], ids=["bare", "in-array"])
def test_very_long_integer_is_malformed(data: str) -> None:
    with pytest.raises(MalformedInput):
        parse_strict(data)


@pytest.mark.parametrize(
    "data",
    [b'{"b":1,"a":2}', b'{"a": 1}', b"1.0", b"1E2", b'"\\u0041"', b"{}\n", b" {}", b"-0"],
    ids=["key-order", "space", "float-spelling", "exponent", "escape", "newline", "lead", "neg0"],
)
def test_parse_canonical_refuses_non_canonical(data: bytes) -> None:
    parse_strict(data)  # valid JSON, only the spelling is wrong
    with pytest.raises(MalformedInput):
        parse_canonical(data)


# --- canonicalize refusals -----------------------------------------------------------------------

UNCANONICALISABLE: dict[str, Any] = {
    "nan": float("nan"),
    "nan-nested": {"a": [float("nan")]},
    "infinity": float("inf"),
    "minus-infinity": float("-inf"),
    "integer-2**53": 2**53,
    "integer-huge": 10**30,
    "non-str-key": {1: "a"},
    "bytes": b"x",
    "object": object(),
    "lone-surrogate": "\ud800",
}


@pytest.mark.parametrize("value", UNCANONICALISABLE.values(), ids=UNCANONICALISABLE.keys())
def test_canonicalize_refuses(value: Any) -> None:
    with pytest.raises(MalformedInput):
        canonicalize(value)


def test_canonicalize_deep_value_is_malformed() -> None:
    value: list[Any] = []
    for _ in range(5000):
        value = [value]
    with pytest.raises(MalformedInput):
        canonicalize(value)


@pytest.mark.parametrize(
    "value", [9007199254740994.0, 1e16, -1e20], ids=["2**53+2", "1e16", "-1e20"]
)
def test_large_integral_float_round_trips_as_double(value: float) -> None:
    """JCS prints these as integer literals beyond 2**53; the parser reads them back as the
    same doubles, so whatever is signed can always be parsed by the verifier."""
    parsed = parse_strict(canonicalize(value))
    assert parsed == value and isinstance(parsed, float)


# --- properties ----------------------------------------------------------------------------------

finite_floats = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE, max_value=MAX_SAFE)
    | finite_floats
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_round_trip_through_canonical_bytes(value: Any) -> None:
    data = canonicalize(value)
    assert parse_strict(data) == value
    assert parse_canonical(data) == value


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_canonicalize_is_idempotent_through_parse(value: Any) -> None:
    data = canonicalize(value)
    assert canonicalize(parse_strict(data)) == data


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_pretty_printed_json_canonicalises_to_the_same_bytes(value: Any) -> None:
    pretty = json.dumps(value, indent=2, ensure_ascii=True)
    assert canonicalize(parse_strict(pretty)) == canonicalize(value)


# --- the fast path for flat objects --------------------------------------------------------------
# canonicalize writes flat objects of ASCII keys and str / bool / None / safe-integer values with
# the standard library; it must give exactly rfc8785's bytes, and refuse exactly what rfc8785 does.


def _reference(value: Any) -> bytes | type[MalformedInput]:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError):
        return MalformedInput


def _ours(value: Any) -> bytes | type[MalformedInput]:
    try:
        return canonicalize(value)
    except MalformedInput:
        return MalformedInput


every_character = st.characters(exclude_categories=())  # controls, surrogates, non-BMP included
ascii_keys = st.text(st.characters(max_codepoint=0x7F, exclude_categories=()), max_size=12)
any_text = st.text(every_character, max_size=40)
flat_values = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE, max_value=MAX_SAFE)
    | st.sampled_from([0, -1, MAX_SAFE, -MAX_SAFE])
    | any_text
)


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(ascii_keys, flat_values, max_size=12))
def test_fast_path_matches_rfc8785(value: dict[str, Any]) -> None:
    assert _is_flat_jcs_safe(value)
    assert _ours(value) == _reference(value)


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(
        st.text(every_character, max_size=8),
        flat_values
        | finite_floats
        | st.integers()
        | st.lists(flat_values, max_size=3)
        | st.dictionaries(ascii_keys, flat_values, max_size=3),
        max_size=8,
    )
)
def test_flat_objects_outside_the_fast_path_match_rfc8785(value: dict[str, Any]) -> None:
    """Non-ASCII keys, floats, big integers and nesting: whichever path, rfc8785's answer."""
    assert _ours(value) == _reference(value)


class _Level(enum.IntEnum):
    HIGH = 3


class _Str(str):
    def __str__(self) -> str:
        return "other"


FAST_PATH_CASES: dict[str, Any] = {
    "empty": {},
    "envelope-header": {
        "v": 1,
        "suite": "X-Wing/HKDF-SHA256/ChaCha20Poly1305",
        "sender": "IQ",
        "seq": 0,
        "created": 1_764_374_400,
        "content_type": "application/stix+json;version=2.1",
    },
    "every-control-character": {"k": "".join(map(chr, range(0x20)))},
    "short-escapes": {"k": "\b\t\n\f\r"},
    "quote-and-backslash": {'"': '"\\', "\\": "\\u0041"},
    "del-not-escaped": {"k": "\x7f"},
    "line-and-paragraph-separators": {"k": "\u2028\u2029"},
    "slash-and-html": {"k": "</script>&'"},
    "latin1-and-bmp": {"k": "\x80\xa0\xff\u0100\ufeff\ufffe\uffff"},
    "non-bmp": {"k": "\U0001f600\U0010ffff"},
    "control-character-keys": {"\x00": 1, "\x1f": 2, "\x7f": 3, "": 4},
    "ascii-key-order": {"b": 1, "B": 2, "a": 3, "_": 4, "aa": 5, "a\x00": 6},
    "safe-integer-bounds": {"max": MAX_SAFE, "min": -MAX_SAFE, "zero": 0, "neg": -1},
    "booleans-and-null": {"t": True, "f": False, "n": None},
}


@pytest.mark.parametrize("value", FAST_PATH_CASES.values(), ids=FAST_PATH_CASES.keys())
def test_fast_path_targeted_cases(value: dict[str, Any]) -> None:
    assert _is_flat_jcs_safe(value)
    assert canonicalize(value) == rfc8785.dumps(value)


OUTSIDE_FAST_PATH: dict[str, Any] = {
    "non-ascii-key": {"\xe9": 1, "z": 2},
    "non-bmp-keys-utf16-order": {"\U0001f600": 1, "\ufb33": 2},
    "float": {"k": 1.0},
    "integer-2**53-1-plus-one": {"k": MAX_SAFE + 1},
    "integer-minus-2**53": {"k": -MAX_SAFE - 1},
    "nested-object": {"k": {"a": 1}},
    "list": {"k": [1]},
    "int-enum": {"k": _Level.HIGH},
    "str-subclass": {"k": _Str("x")},
    "non-str-key": {1: "a"},
    "bytes": {"k": b"x"},
    "not-a-dict": ["a"],
}


@pytest.mark.parametrize("value", OUTSIDE_FAST_PATH.values(), ids=OUTSIDE_FAST_PATH.keys())
def test_outside_the_fast_path_rfc8785_decides(value: Any) -> None:
    assert not _is_flat_jcs_safe(value)
    assert _ours(value) == _reference(value)


@pytest.mark.parametrize("text", ["\ud800", "a\udfff", "\udc00\ud800", "\ud83d"])
def test_fast_path_lone_surrogates_are_refused(text: str) -> None:
    value = {"k": text}
    assert _is_flat_jcs_safe(value)  # admitted by the guard, refused when encoding
    with pytest.raises(MalformedInput):
        canonicalize(value)
