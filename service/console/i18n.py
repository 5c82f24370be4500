"""The console's two languages: every string of the interface in English and Arabic.

The strings live in ``service.console.catalog``, one module per area, each key with both
languages (``tests/service/console/test_i18n.py`` fails when a key used by a template or a page
is missing, or one of its languages is empty). Arabic pages are laid out right to left
(``dir="rtl"``); text that users or partners wrote is shown with ``dir="auto"`` whatever the
page's language. The language is the user's own (kept on the account), chosen on every page;
before login it comes from a cookie, else the browser's ``Accept-Language``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from service.console.catalog import MESSAGES

LANGUAGES = ("en", "ar")
DEFAULT = "en"
DIRECTION = {"en": "ltr", "ar": "rtl"}
NAMES = {"en": "English", "ar": "العربية"}


class MissingMessage(KeyError):
    """A key not in the catalog (a programming error: a test finds every key in use)."""


@dataclass(frozen=True, slots=True)
class Translator:
    """``t("key", name=value)``: the message in this language, formatted with ``str.format``."""

    language: str
    messages: Mapping[str, tuple[str, str]] = field(default_factory=lambda: MESSAGES)

    @property
    def direction(self) -> str:
        return DIRECTION[self.language]

    def __call__(self, key: str, /, **values: object) -> str:
        try:
            pair = self.messages[key]
        except KeyError:
            raise MissingMessage(key) from None
        text = pair[LANGUAGES.index(self.language)]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self.messages


def translator(language: str | None) -> Translator:
    return Translator(language if language in LANGUAGES else DEFAULT)


def negotiate(accept_language: str | None) -> str:
    """The first of the browser's preferred languages that the console has (RFC 9110 12.5.4:
    by q-value, then order), else English."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else DEFAULT
