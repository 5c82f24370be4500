"""Policy files: the shipped examples load, broken files are refused with the right line."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from policies import (
    EXAMPLES_DIR,
    TLP,
    NoPolicy,
    PolicyInvalid,
    load_policy,
    load_policy_dir,
    parse_policy,
    policy_for,
)

GOOD = """\
format = "liaison-policy/1"
node = "IQ"
partner = "SY"

[outbound]
max_tlp = "amber"
"""


def parse(text: str) -> object:
    return parse_policy(textwrap.dedent(text).encode(), source="policies/IQ/SY.toml")


def refused(text: str) -> PolicyInvalid:
    with pytest.raises(PolicyInvalid) as caught:
        parse(text)
    return caught.value


# --- what loads ---------------------------------------------------------------------------------


def test_the_shipped_examples_load() -> None:
    iq = load_policy_dir(EXAMPLES_DIR / "IQ", node="IQ")
    sy = load_policy_dir(EXAMPLES_DIR / "SY", node="SY")
    assert set(iq) == {"SY"} and set(sy) == {"IQ"}
    to_sy, to_iq = iq["SY"], sy["IQ"]
    assert (to_sy.node, to_sy.partner, to_sy.outbound.max_tlp) == ("IQ", "SY", TLP.AMBER_STRICT)
    assert to_sy.outbound.redact.property_prefixes == ("x_source_",)
    assert to_sy.outbound.redact.identity_classes == {"individual"}
    assert to_sy.outbound.two_person_min_tlp is TLP.AMBER_STRICT
    assert to_sy.outbound.third_party == "never"
    assert to_sy.inbound.max_bytes == 5 * 1024 * 1024
    assert to_iq.outbound.max_tlp is TLP.RED and to_iq.outbound.red_recipients == {"IQ"}
    assert to_iq.outbound.third_party == "originator-marking"


def test_defaults() -> None:
    policy = parse(GOOD)
    assert policy.outbound.red_recipients == frozenset()
    assert policy.outbound.allowed_types is None
    assert policy.outbound.releasability == "honour"
    assert policy.outbound.tearline is None
    assert policy.outbound.two_person_min_tlp is None
    assert policy.outbound.third_party == "never"
    assert policy.inbound.accepted_types is None
    assert policy.inbound.required_markings == {"tlp"}
    assert policy.description == ""


def test_version_is_the_hash_of_the_bytes() -> None:
    first = parse(GOOD)
    assert first.version == "sha256:" + hashlib.sha256(GOOD.encode()).hexdigest()
    assert first.short_version == first.version[:23]
    assert parse(GOOD).version == first.version
    assert parse(GOOD + "# a comment\n").version != first.version


def test_dotted_keys_inline_tables_and_tearline() -> None:
    policy = parse(
        GOOD.split("[outbound]")[0]
        + 'outbound.max_tlp = "amber"\n'
        + 'outbound.tearline = "marking-definition--7ea71e1e-0000-4000-8000-000000000001"\n'
        + 'outbound.redact = { property_prefixes = ["x_source_"] }\n'
    )
    assert policy.outbound.tearline == "marking-definition--7ea71e1e-0000-4000-8000-000000000001"
    assert policy.outbound.redact.property_prefixes == ("x_source_",)


# --- what is refused, and where -----------------------------------------------------------------

BROKEN = [
    # id, text, line, column, key, words in the message
    ("syntax-unclosed-at-end", GOOD + 'allowed_types = ["indicator"\n', 7, None, "",
     "Unclosed array (TOML syntax)"),
    ("syntax-error", GOOD + "allowed_types = [\n 'a'\n 'b',\n]\n", 9, 2, "", "TOML syntax"),
    ("syntax-bad-value", GOOD.replace('"amber"', "amber"), 6, 11, "", "Invalid value"),
    ("unknown-key", GOOD + "max_tpl = 'green'\n", 7, 1, "outbound.max_tpl",
     'did you mean "max_tlp"'),
    ("unknown-table", GOOD + "[outbound.redaction]\nproperties = []\n", 7, 2,
     "outbound.redaction", "unknown key"),
    ("bad-tlp", GOOD.replace('"amber"', '"purple"'), 6, 1, "outbound.max_tlp",
     "'purple' is not a TLP level (clear, green, amber, amber+strict, red)"),
    ("wrong-type", GOOD + "allowed_types = 'indicator'\n", 7, 1, "outbound.allowed_types",
     "expected an array of strings, got a string"),
    ("wrong-element-type", GOOD + "allowed_types = [\n  'indicator',\n  3,\n]\n", 7, 1,
     "outbound.allowed_types", "found an integer"),
    ("missing-max-tlp", GOOD.replace('max_tlp = "amber"\n', ""), 5, 2, "outbound.max_tlp",
     "required key is missing"),
    ("missing-outbound", GOOD.split("[outbound]")[0], None, None, "outbound",
     "required key is missing"),
    ("wrong-format", GOOD.replace("/1", "/2"), 1, 1, "format", "is not supported"),
    ("bad-node-id", GOOD.replace('"IQ"', '"I Q"'), 2, 1, "node", "not a node id"),
    ("policy-with-itself", GOOD.replace('"SY"', '"IQ"'), 3, 1, "partner", "with itself"),
    ("red-not-named", GOOD.replace('"amber"', '"red"'), 6, 1, "outbound.max_tlp",
     'red_recipients = ["SY"]'),
    ("red-recipient-other", GOOD.replace('"amber"', '"red"')
     + 'red_recipients = ["SY", "JO"]\n', 7, 1, "outbound.red_recipients", "names 'JO'"),
    ("red-named-below-red", GOOD + 'red_recipients = ["SY"]\n', 7, 1,
     "outbound.red_recipients", "TLP:RED would still be refused"),
    ("two-person-above-max", GOOD + 'two_person_min_tlp = "red"\n', 7, 1,
     "outbound.two_person_min_tlp", "above max_tlp"),
    ("releasability-choice", GOOD + 'releasability = "ignore"\n', 7, 1,
     "outbound.releasability", "not one of: honour, require-rel-to"),
    ("third-party-choice", GOOD + 'third_party = "always"\n', 7, 1, "outbound.third_party",
     "not one of: never, originator-marking"),
    ("tearline-true", GOOD + "tearline = true\n", 7, 1, "outbound.tearline",
     "expected false or a marking-definition id"),
    ("protected-property", GOOD + "[outbound.redact]\nproperties = ['created', 'x_ok']\n", 8, 1,
     "outbound.redact.properties", "cannot be redacted"),
    ("prefix-hits-protected", GOOD + "[outbound.redact]\nproperty_prefixes = ['na']\n", 8, 1,
     "outbound.redact.property_prefixes", "would redact required properties (name)"),
    ("redact-markings", GOOD + "[outbound.redact]\nobject_types = ['marking-definition']\n", 8, 1,
     "outbound.redact.object_types", "cannot be redacted"),
    ("bad-type-name", GOOD + "allowed_types = ['Indicator']\n", 7, 1, "outbound.allowed_types",
     "not a STIX type name"),
    ("max-bytes-bool", GOOD + "[inbound]\nmax_bytes = true\n", 8, 1, "inbound.max_bytes",
     "expected an integer, got a boolean"),
    ("max-bytes-zero", GOOD + "[inbound]\nmax_bytes = 0\n", 8, 1, "inbound.max_bytes",
     "not a positive number"),
    ("required-marking-kind", GOOD + "[inbound]\nrequired_markings = ['tlp', 'pap']\n", 8, 1,
     "inbound.required_markings", "'pap' is not a marking kind"),
    ("inline-table-points-at-key", GOOD + "redact = { object_types = ['Note'] }\n", 7, 1,
     "outbound.redact.object_types", "not a STIX type name"),
    ("dotted-key-table", GOOD.split("[outbound]")[0] + "outbound.max_tlp = 'red'\n", 5, 1,
     "outbound.max_tlp", "red_recipients"),
    ("nested-unknown-dotted", GOOD + "redact.x.y = 1\n", 7, 1, "outbound.redact.x",
     "unknown key"),
    ("after-multiline-string", 'description = """\nmax_tlp = "x"\n"""\n' + GOOD
     + "max_tlp2 = 1\n", 10, 1, "outbound.max_tlp2", "unknown key"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "line", "column", "key", "words"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_broken_file_points_at_the_line(
    text: str, line: int | None, column: int | None, key: str, words: str
) -> None:
    error = refused(text)
    assert (error.line, error.column, error.key) == (line, column, key), str(error)
    assert words in error.message
    assert error.path == "policies/IQ/SY.toml"
    expected = (
        "policies/IQ/SY.toml" + (f":{line}" if line else "") + (f":{column}" if column else "")
    )
    assert str(error).startswith(expected + ": ")
    assert error.code == "policy_invalid"


def test_the_documented_message_shape() -> None:
    error = refused(GOOD.replace('"amber"', '"purple"'))
    assert str(error) == (
        "policies/IQ/SY.toml:6:1: outbound.max_tlp: 'purple' is not a TLP level "
        "(clear, green, amber, amber+strict, red)"
    )


def test_every_problem_of_a_file_is_listed_in_line_order() -> None:
    error = refused(
        GOOD.replace('"amber"', '"purple"')
        + "bogus = 1\n[inbound]\nmax_bytes = -5\nmax_tlp = 'blue'\n"
    )
    assert [(p.line, p.key) for p in error.problems] == [
        (6, "outbound.max_tlp"),
        (7, "outbound.bogus"),
        (9, "inbound.max_bytes"),
        (10, "inbound.max_tlp"),
    ]
    assert error.diagnostics().startswith("policy_invalid: 4 problems in sharing policies\n  ")


def test_not_utf8_points_at_the_line() -> None:
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(GOOD.encode() + b"description = '\xff'\n", source="x.toml")
    assert (caught.value.line, caught.value.message) == (7, "not UTF-8 text")


def test_oversized_file_is_refused_unread() -> None:
    with pytest.raises(PolicyInvalid, match="larger than"):
        parse_policy(b"#" * (1024 * 1024 + 1), source="x.toml")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyInvalid, match="cannot be read"):
        load_policy(tmp_path / "missing.toml")


# --- directories --------------------------------------------------------------------------------


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


def test_a_directory_is_keyed_by_partner(tmp_path: Path) -> None:
    write(tmp_path, "SY.toml", GOOD)
    write(tmp_path, "JO.toml", GOOD.replace('"SY"', '"JO"'))
    write(tmp_path, "README.txt", "not a policy")
    policies = load_policy_dir(tmp_path, node="IQ")
    assert set(policies) == {"SY", "JO"}
    assert policies["JO"].source == str(tmp_path / "JO.toml")
    assert policy_for(policies, "JO") is policies["JO"]
    with pytest.raises(NoPolicy) as caught:
        policy_for(policies, "LB")
    assert caught.value.partner == "LB"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert load_policy_dir(empty) == {}  # nothing is exchanged with anyone


def test_a_duplicate_partner_is_refused_naming_both_files(tmp_path: Path) -> None:
    write(tmp_path, "SY.toml", GOOD)
    write(tmp_path, "SY-copy.toml", GOOD + "# copied\n")
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_dir(tmp_path)
    (problem,) = caught.value.problems
    assert problem.path == str(tmp_path / "SY.toml")  # sorted: "SY-copy" < "SY."
    assert (problem.line, problem.key) == (3, "partner")
    assert str(tmp_path / "SY-copy.toml") in problem.message


def test_every_bad_file_is_named(tmp_path: Path) -> None:
    write(tmp_path, "JO.toml", GOOD.replace('"SY"', '"JO"').replace('"amber"', '"blue"'))
    write(tmp_path, "LB.toml", GOOD.replace('"SY"', '"LB"') + "extra = 1\n")
    write(tmp_path, "SY.toml", GOOD)
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_dir(tmp_path)
    assert [(Path(p.path).name, p.line) for p in caught.value.problems] == [
        ("JO.toml", 6),
        ("LB.toml", 7),
    ]


def test_files_of_another_node_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "SY.toml", GOOD)
    write(
        tmp_path,
        "IQ.toml",
        GOOD.replace('"IQ"', '"SY"', 1).replace('partner = "SY"', 'partner = "IQ"'),
    )
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_dir(tmp_path, node="IQ")
    (problem,) = caught.value.problems
    assert (Path(problem.path).name, problem.line, problem.key) == ("IQ.toml", 2, "node")


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(PolicyInvalid, match="not a directory"):
        load_policy_dir(tmp_path / "nowhere")
