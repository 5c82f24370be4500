"""Every string of the console in both languages: a key a template or a page uses must be in
the catalog, with English and Arabic, the same placeholders in both, and the Arabic in Arabic."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from policies import TLP
from service.auth import ROLES
from service.console import i18n
from service.console.catalog import MESSAGES
from service.reports import RELATIONSHIP_TYPES, DeliveryState, InboundStatus, ReleaseOutcome
from service.reports.compose import (
    DOCUMENT_KINDS,
    FACILITY_KINDS,
    INDICATOR_KINDS,
    PERSON_STATUSES,
)

CONSOLE = Path(i18n.__file__).resolve().parent
LITERAL = re.compile(r"""\bt\(\s*["']([a-z0-9_+-]+\.[a-z0-9_.+-]+)["']\s*[,)]""")
ARABIC = re.compile("[\u0600-\u06ff]")


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*CONSOLE.rglob("*.html"), *CONSOLE.rglob("*.py")]:
        keys |= set(LITERAL.findall(path.read_text(encoding="utf-8")))
    return keys


def test_the_scan_finds_the_keys_in_use():
    assert {"login.submit", "frame.logout", "compose.submit"} <= used_keys()


def test_every_key_in_use_is_in_the_catalog():
    assert sorted(used_keys() - set(MESSAGES)) == []


FAMILIES = {
    "state.": [s.value for s in DeliveryState],
    "outcome.": [o.value for o in ReleaseOutcome],
    "inbound.": [s.value for s in InboundStatus],
    "tlp.": [level.value for level in TLP],
    "tlp.help.": [level.value for level in TLP],
    "role.": list(ROLES),
    "status.": list(PERSON_STATUSES),
    "document.": list(DOCUMENT_KINDS),
    "facility.": list(FACILITY_KINDS),
    "indicator.": list(INDICATOR_KINDS),
    "relation.": list(RELATIONSHIP_TYPES),
}


@pytest.mark.parametrize("prefix", FAMILIES)
def test_keys_built_from_a_value_exist_for_every_value(prefix):
    assert [v for v in FAMILIES[prefix] if prefix + v not in MESSAGES] == []


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_both_languages_are_there_with_the_same_placeholders(key):
    english, arabic = MESSAGES[key]
    assert english.strip() and arabic.strip()
    assert fields(english) == fields(arabic)
    if not key.startswith(("tlp.", "app.name")) and ARABIC.search(english) is None:
        plain = re.sub(r"\{[a-z_]+\}|TLP[:\w+.]*|STIX[\s\d.]*|IPv[46]|URL|MD5|SHA-\d+|JSON|IQ|KiB",
                       "", arabic)  # fmt: skip
        assert ARABIC.search(plain), f"{key}: the Arabic text has no Arabic in it"


def test_the_browser_language_is_negotiated():
    assert i18n.negotiate("ar-IQ,ar;q=0.9,en;q=0.5") == "ar"
    assert i18n.negotiate("fr-FR, en;q=0.4, ar;q=0.3") == "en"
    assert i18n.negotiate("en;q=0.2, ar;q=0.8") == "ar"
    assert i18n.negotiate("de, fr") == "en"
    assert i18n.negotiate(None) == "en"
    assert i18n.negotiate("ar;q=0") == "en"


def test_a_missing_key_is_an_error_not_a_blank():
    with pytest.raises(i18n.MissingMessage):
        i18n.translator("ar")("no.such.key")
