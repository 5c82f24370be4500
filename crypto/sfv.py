"""A small, strict RFC 8941 structured-field parser and serialiser, for RFC 9421 and RFC 9530.

Supported, as RFC 8941 defines them:

- Dictionaries (:func:`parse_dictionary`): the top-level type of ``Signature-Input``,
  ``Signature`` and ``Content-Digest``. Members are Items or Inner Lists, each with Parameters; a
  member without ``=`` is the Boolean true.
- Items (:func:`parse_item`), for RFC 9421 component identifiers such as ``"@method";req``, and a
  bare parameter list (:func:`parse_params`), such as ``;created=1;keyid="k"``.
- Bare items: Integers (1 to 15 digits), Strings (printable ASCII, ``\\"`` and ``\\\\`` escapes),
  Tokens (:class:`Token`), Byte Sequences and Booleans.
- Serialisation of bare items, parameters, items and inner lists (``serialize_*``), which is what
  the RFC 9421 signature base is built from.

Refused, although RFC 8941 would accept it (each raises :class:`~crypto.errors.MalformedInput`):

- Duplicate dictionary keys and duplicate parameters. RFC 8941 keeps the last value; for signed
  metadata that is an ambiguity (a component checked on one reading and signed on another), and
  an honest signer never repeats a key, so refusing costs nothing.
- Byte sequences that are not canonical padded base64: missing ``=`` padding or non-zero pad bits
  (RFC 8941 section 4.2.7 says parsers SHOULD NOT fail on these). One spelling per value, so two
  encodings of one signature or digest cannot pass byte comparisons differently.
- Decimals. Nothing in the profile uses them, so a decimal where an integer is expected is an error
  rather than a silent rounding. (Dates and display strings are RFC 9651 additions, not parsed.)
- Fields over :data:`MAX_FIELD_CHARS` characters, refused before parsing with
  :class:`~crypto.errors.InputTooLarge`. This is below RFC 8941's minimum supported sizes (for
  example 16384-byte byte sequences), and far above what a 64-byte signature or digest needs.
- Top-level Lists are not parsed: no field the profile reads is one.

Non-ASCII input is refused, as RFC 8941 also requires. Every failure raises a
:class:`~crypto.errors.CryptoError` subclass, never a bare ``ValueError`` or ``IndexError``.
The serialisers take values we built ourselves: a value with no serialisation raises
``ValueError`` (a bug of the caller, not input from a peer), and parameter keys are not checked.
"""

from __future__ import annotations

import base64
import binascii
import string
from dataclasses import dataclass
from typing import NoReturn

from crypto.errors import InputTooLarge, MalformedInput

MAX_FIELD_CHARS = 8192
"""Fields longer than this are refused unparsed."""

TCHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")
"""RFC 9110 ``tchar``: the characters of an HTTP token (methods, field names)."""

_MAX_INTEGER = 999_999_999_999_999
_KEY_START = frozenset(string.ascii_lowercase + "*")
_KEY_CHARS = frozenset(string.ascii_lowercase + string.digits + "_-.*")
_SF_TOKEN_CHARS = TCHARS | {":", "/"}
_B64_CHARS = frozenset(string.ascii_letters + string.digits + "+/=")


@dataclass(frozen=True)
class Token:
    """An RFC 8941 Token (kept apart from String, which has another serialisation)."""

    value: str


BareItem = bool | int | str | bytes | Token
Params = tuple[tuple[str, BareItem], ...]
"""Parameters in their order of appearance; a key without ``=`` has the value True."""


@dataclass(frozen=True)
class Item:
    value: BareItem
    params: Params = ()


@dataclass(frozen=True)
class InnerList:
    items: tuple[Item, ...]
    params: Params = ()


Member = Item | InnerList
"""A dictionary member value."""


class _Parser:
    def __init__(self, text: str, field: str) -> None:
        if len(text) > MAX_FIELD_CHARS:
            raise InputTooLarge(f"{field} is longer than {MAX_FIELD_CHARS} characters")
        if not text.isascii():
            raise MalformedInput(f"{field} is not ASCII")
        self.text, self.pos, self.field = text, 0, field

    def fail(self, why: str) -> NoReturn:
        raise MalformedInput(f"{self.field}: {why} at offset {self.pos}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self, chars: str) -> None:
        while self.peek() and self.peek() in chars:
            self.pos += 1

    def end(self) -> None:
        self.skip(" ")
        if self.pos != len(self.text):
            self.fail("trailing characters")

    def dictionary(self) -> dict[str, Member]:
        out: dict[str, Member] = {}
        self.skip(" ")
        while self.peek():
            key = self.key()
            if key in out:
                self.fail(f"duplicate key {key!r}")
            if self.peek() == "=":
                self.pos += 1
                out[key] = self.inner_list() if self.peek() == "(" else self.item()
            else:
                out[key] = Item(True, self.params())
            self.skip(" \t")
            if not self.peek():
                break
            if self.peek() != ",":
                self.fail("expected ','")
            self.pos += 1
            self.skip(" \t")
            if not self.peek():
                self.fail("trailing comma")
        return out

    def inner_list(self) -> InnerList:
        self.pos += 1
        items: list[Item] = []
        while True:
            self.skip(" ")
            if self.peek() == ")":
                self.pos += 1
                return InnerList(tuple(items), self.params())
            items.append(self.item())
            if self.peek() not in (" ", ")") or not self.peek():
                self.fail("inner list not delimited")

    def item(self) -> Item:
        value = self.bare()
        return Item(value, self.params())

    def params(self) -> Params:
        out: dict[str, BareItem] = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip(" ")
            key = self.key()
            if key in out:
                self.fail(f"duplicate parameter {key!r}")
            value: BareItem = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare()
            out[key] = value
        return tuple(out.items())

    def key(self) -> str:
        start = self.pos
        if self.peek() not in _KEY_START or not self.peek():
            self.fail("key must start with a lower-case letter or '*'")
        while self.peek() and self.peek() in _KEY_CHARS:
            self.pos += 1
        return self.text[start : self.pos]

    def bare(self) -> BareItem:
        char = self.peek()
        if char == "-" or (char and char in string.digits):
            return self.integer()
        if char == '"':
            return self.string()
        if char == ":":
            return self.byte_sequence()
        if char == "?":
            value = self.text[self.pos + 1 : self.pos + 2]
            if value not in ("0", "1") or not value:
                self.fail("boolean must be ?0 or ?1")
            self.pos += 2
            return value == "1"
        if char and (char.isalpha() or char == "*"):
            start = self.pos
            while self.peek() and self.peek() in _SF_TOKEN_CHARS:
                self.pos += 1
            return Token(self.text[start : self.pos])
        self.fail("not a bare item")

    def integer(self) -> int:
        start = self.pos
        if self.peek() == "-":
            self.pos += 1
        digits = self.pos
        while self.peek() and self.peek() in string.digits:
            self.pos += 1
        if not 1 <= self.pos - digits <= 15:
            self.fail("integer must have 1 to 15 digits")
        if self.peek() == ".":
            self.fail("decimals are not accepted")
        return int(self.text[start : self.pos])

    def string(self) -> str:
        self.pos += 1
        out: list[str] = []
        while True:
            char = self.peek()
            self.pos += 1
            if char == "\\":
                escaped = self.peek()
                if escaped not in ('"', "\\") or not escaped:
                    self.fail("bad escape in string")
                out.append(escaped)
                self.pos += 1
            elif char == '"':
                return "".join(out)
            elif not char or not " " <= char <= "~":
                self.fail("unterminated string or control character")
            else:
                out.append(char)

    def byte_sequence(self) -> bytes:
        end = self.text.find(":", self.pos + 1)
        if end < 0:
            self.fail("unterminated byte sequence")
        encoded = self.text[self.pos + 1 : end]
        if not set(encoded) <= _B64_CHARS:
            self.fail("byte sequence is not base64")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedInput(f"{self.field}: byte sequence is not base64") from exc
        # One spelling per value: two encodings of one signature would defeat byte comparisons.
        if base64.b64encode(data).decode("ascii") != encoded:
            self.fail("byte sequence is not canonical base64")
        self.pos = end + 1
        return data


# --- Parsing ----------------------------------------------------------------------------------


def parse_dictionary(text: str, field: str) -> dict[str, Member]:
    """Parse a Dictionary field; ``field`` names it in error messages.

    Raises:
        InputTooLarge: ``text`` is over :data:`MAX_FIELD_CHARS` characters.
        MalformedInput: anything else RFC 8941 or this module (see above) refuses.
    """
    parser = _Parser(text, field)
    out = parser.dictionary()
    parser.end()
    return out


def parse_item(text: str, field: str) -> Item:
    """Parse one Item with its parameters, such as ``"signature";req;key="sig1"``.

    Leading spaces are not skipped, trailing ones are. Raises as :func:`parse_dictionary`.
    """
    parser = _Parser(text, field)
    item = parser.item()
    parser.end()
    return item


def parse_params(text: str, field: str) -> Params:
    """Parse a parameter list on its own, such as ``;created=1;keyid="k"`` (empty text: none).

    Leading spaces are not skipped, trailing ones are. Raises as :func:`parse_dictionary`.
    """
    parser = _Parser(text, field)
    params = parser.params()
    parser.end()
    return params


# --- Serialisation ----------------------------------------------------------------------------


def serialize_bare(value: BareItem) -> str:
    """Serialize one bare item; ValueError for values that have no serialization (our bug)."""
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        if abs(value) > _MAX_INTEGER:
            raise ValueError("integer out of RFC 8941 range")
        return str(value)
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    if isinstance(value, Token):
        text = value.value
        if (
            not text
            or not (text[0].isalpha() or text[0] == "*")
            or not set(text) <= _SF_TOKEN_CHARS
        ):
            raise ValueError(f"invalid token {text!r}")
        return text
    if not all(" " <= char <= "~" for char in value):
        raise ValueError(f"string {value!r} has characters outside printable ASCII")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serialize_params(params: Params) -> str:
    return "".join(f";{k}" if v is True else f";{k}={serialize_bare(v)}" for k, v in params)


def serialize_item(item: Item) -> str:
    return serialize_bare(item.value) + serialize_params(item.params)


def serialize_member(member: Member) -> str:
    """Serialize a dictionary member value: an Item or an Inner List."""
    if isinstance(member, Item):
        return serialize_item(member)
    items = " ".join(serialize_item(i) for i in member.items)
    return f"({items}){serialize_params(member.params)}"
