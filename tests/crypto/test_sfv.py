"""The strict RFC 8941 structured-field parser and serialiser (crypto.sfv), tested directly."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import InputTooLarge, MalformedInput
from crypto.sfv import (
    MAX_FIELD_CHARS,
    InnerList,
    Item,
    Token,
    parse_dictionary,
    parse_item,
    parse_params,
    serialize_bare,
    serialize_item,
    serialize_member,
    serialize_params,
)


def parse(text):
    return parse_dictionary(text, "test-field")


def value_of(text):
    """The bare value of the dictionary member ``a`` in ``a=<text>``."""
    member = parse(f"a={text}")["a"]
    assert isinstance(member, Item)
    assert member.params == ()
    return member.value


# --- Valid input --------------------------------------------------------------------------------


def test_inner_list_with_parameters():
    text = 'sig1=("@method" "signature";req;key="sig1");created=1618884473;keyid="k"'
    assert parse(text) == {
        "sig1": InnerList(
            (Item("@method"), Item("signature", (("req", True), ("key", "sig1")))),
            (("created", 1618884473), ("keyid", "k")),
        )
    }


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("a=()", ()),
        ("a=(  )", ()),
        ("a=(  1   2  )", (Item(1), Item(2))),
        ("a=(1;x 2;y=?0)", (Item(1, (("x", True),)), Item(2, (("y", False),)))),
    ],
)
def test_inner_list_spacing(text, items):
    assert parse(text) == {"a": InnerList(items)}


def test_dictionary_members_whitespace_and_bare_keys():
    assert parse("  a=1 ,\tb;x=2,  c=tok  ") == {
        "a": Item(1),
        "b": Item(True, (("x", 2),)),  # a key without '=' is the Boolean true
        "c": Item(Token("tok")),
    }
    assert list(parse("z=1, a=2, m=3")) == ["z", "a", "m"]  # order kept
    assert parse("") == {}
    assert parse("   ") == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('""', ""),
        ('"hello world"', "hello world"),
        (r'"a\"b"', 'a"b'),
        (r'"a\\b"', "a\\b"),
        (r'"\\\""', '\\"'),
        ('" !#~"', " !#~"),
    ],
)
def test_strings_and_escapes(text, expected):
    assert value_of(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("-0", 0),
        ("007", 7),
        ("999999999999999", 999_999_999_999_999),
        ("-999999999999999", -999_999_999_999_999),
    ],
)
def test_integer_bounds(text, expected):
    value = value_of(text)
    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("::", b""),
        (":aGVsbG8=:", b"hello"),
        (":aGk=:", b"hi"),
        (":AAECAw==:", bytes([0, 1, 2, 3])),
        (":" + base64.b64encode(bytes(range(256))).decode() + ":", bytes(range(256))),
    ],
)
def test_byte_sequences(text, expected):
    assert value_of(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("?1", True),
        ("?0", False),
        ("foo", Token("foo")),
        ("*", Token("*")),
        ("Foo123", Token("Foo123")),
        ("text/html", Token("text/html")),
        ("a:b!#$%&'*+-.^_`|~", Token("a:b!#$%&'*+-.^_`|~")),
    ],
)
def test_tokens_and_booleans(text, expected):
    value = value_of(text)
    assert value == expected
    assert type(value) is type(expected)


def test_keys():
    assert list(parse("*a=1, a_b-c.d*9=2, z=3")) == ["*a", "a_b-c.d*9", "z"]


def test_parse_item_and_params():
    assert parse_item('"signature";req;key="sig1"', "id") == Item(
        "signature", (("req", True), ("key", "sig1"))
    )
    assert parse_item('"@method"  ', "id") == Item("@method")  # trailing spaces are skipped
    assert parse_params(';created=1; keyid="k";alg', "p") == (
        ("created", 1),
        ("keyid", "k"),
        ("alg", True),
    )
    assert parse_params("", "p") == ()


def test_size_limit_boundary():
    exact = 'a="' + "x" * (MAX_FIELD_CHARS - 4) + '"'
    assert len(exact) == MAX_FIELD_CHARS
    assert value_of(exact[2:]) == "x" * (MAX_FIELD_CHARS - 4)
    with pytest.raises(InputTooLarge):
        parse(exact + " ")
    with pytest.raises(InputTooLarge):
        parse_item("1" + " " * MAX_FIELD_CHARS, "id")


# --- Refusals -----------------------------------------------------------------------------------


def _noncanonical(encoded):
    """The same bytes with a non-zero pad bit: a second spelling RFC 8941 would accept."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    head, tail = encoded.rstrip("="), encoded[len(encoded.rstrip("=")) :]
    flipped = alphabet[alphabet.index(head[-1]) ^ 1]
    return head[:-1] + flipped + tail


@pytest.mark.parametrize(
    "text",
    [
        # Accepted by RFC 8941, refused here.
        "a=1, a=2",  # duplicate key (RFC 8941: last wins)
        "a=1, b=2, a",
        "a=1;x;x=2",  # duplicate parameter
        "a=(1;x=1;x=2)",  # duplicate parameter on an inner-list item
        "a=(1);x;x",  # duplicate parameter on an inner list
        "a=1.5",  # decimal
        "a=-0.1",
        "a=:aGVsbG8:",  # missing '=' padding
        f"a=:{_noncanonical('aGk=')}:",  # non-zero pad bits
        f"a=:{_noncanonical('aGVsbG8=')}:",
        # Refused by RFC 8941 too.
        "a=1,",  # trailing comma
        "a=1 b=2",  # missing comma
        "a=1,,b=2",
        "A=1",  # keys are lower case
        "1a=1",
        "-a=1",
        "a=",  # no value
        "a=1;",  # parameter without a key
        "a=1;X=1",
        "a=1234567890123456",  # 16 digits
        "a=-1234567890123456",
        "a=-",
        "a=--1",
        'a="abc',  # unterminated string
        'a="a\\b"',  # only \" and \\ may be escaped
        'a="a\\',
        'a="a\tb"',  # control character in a string
        'a="a\x7fb"',
        "a=:aGk=",  # unterminated byte sequence
        "a=:a-_=:",  # base64url is not base64
        "a=:a=b=:",
        "a=?",
        "a=?2",
        "a=?true",
        "a=(1 2",  # unterminated inner list
        "a=(1",
        'a=(1"x")',  # inner-list items not separated
        "a=(1,2)",
        "a=((1))",  # inner lists do not nest
        "a=@1",  # dates (RFC 9651) are not parsed
        'a=%"x"',  # display strings (RFC 9651) are not parsed
        "a=1 junk",
        "a=caf\u00e9",  # non-ASCII
        "\u00e9=1",
    ],
)
def test_refusals(text):
    with pytest.raises(MalformedInput):
        parse(text)


@pytest.mark.parametrize(
    ("parse_one", "text"),
    [
        (parse_item, ' "x"'),  # leading spaces are not skipped outside a dictionary
        (parse_item, '"x" "y"'),
        (parse_item, ""),
        (parse_params, "created=1"),  # parameters start with ';'
        (parse_params, ";a=1;a=1"),
        (parse_params, ";a=1 junk"),
    ],
)
def test_item_and_params_refusals(parse_one, text):
    with pytest.raises(MalformedInput):
        parse_one(text, "f")


@given(st.text(max_size=200))
def test_arbitrary_text_raises_only_malformed_input(text):
    for parse_one in (parse_dictionary, parse_item, parse_params):
        with contextlib.suppress(MalformedInput):
            parse_one(text, "f")


# --- Serialisation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "?1"),
        (False, "?0"),
        (0, "0"),
        (-999_999_999_999_999, "-999999999999999"),
        (b"", "::"),
        (b"hello", ":aGVsbG8=:"),
        (Token("text/html"), "text/html"),
        (Token("*"), "*"),
        ("", '""'),
        ('a"b\\c', r'"a\"b\\c"'),
    ],
)
def test_serialize_bare(value, text):
    assert serialize_bare(value) == text


@pytest.mark.parametrize(
    "value",
    [
        1_000_000_000_000_000,
        -1_000_000_000_000_000,
        Token(""),
        Token("1a"),
        Token("a b"),
        Token("caf\u00e9"),
        "line\nbreak",
        "caf\u00e9",
    ],
)
def test_serialize_bare_refuses_values_without_a_serialisation(value):
    with pytest.raises(ValueError):
        serialize_bare(value)


def test_serialize_members():
    assert serialize_params((("req", True), ("key", "sig1"), ("n", 0), ("f", False))) == (
        ';req;key="sig1";n=0;f=?0'
    )
    assert serialize_member(InnerList(())) == "()"
    member = InnerList((Item("@method"), Item("x", (("req", True),))), (("created", 1),))
    assert serialize_member(member) == '("@method" "x";req);created=1'
    assert serialize_member(Item(b"\x00", (("a", Token("b")),))) == ":AA==:;a=b"


@pytest.mark.parametrize(
    "text",
    [
        'sig1=("@method" "signature";req;key="sig1");created=1;keyid="k";alg="ed25519"',
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
        "a=?0;b;c=-5, d=(tok *x);e=:AA==:",
    ],
)
def test_canonical_text_round_trips(text):
    members = parse(text)
    assert ", ".join(f"{k}={serialize_member(v)}" for k, v in members.items()) == text


_keys = st.from_regex(r"[a-z*][a-z0-9_.*-]{0,8}", fullmatch=True)
_bare = st.one_of(
    st.booleans(),
    st.integers(-999_999_999_999_999, 999_999_999_999_999),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30),
    st.binary(max_size=40),
    st.from_regex(r"[A-Za-z*][A-Za-z0-9!#$%&'*+.^_`|~:/-]{0,10}", fullmatch=True).map(Token),
)
_params = st.dictionaries(_keys, _bare, max_size=4).map(lambda d: tuple(d.items()))


@given(_bare, _params)
def test_serialised_items_parse_back_to_themselves(value, params):
    item = Item(value, params)
    parsed = parse_item(serialize_item(item), "f")
    assert parsed == item
    # bool is an int in Python, so equality alone would not tell True from 1.
    assert [type(v) for v in (parsed.value, *dict(parsed.params).values())] == [
        type(v) for v in (value, *dict(params).values())
    ]
