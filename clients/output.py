"""What the CLI prints: aligned plain-text tables, key/value blocks and JSON.

Titles, names and bundles come from partners and from STIX producers, so nothing is written to the
terminal as received: control characters (ESC sequences could rewrite the screen or the title bar)
and bidirectional overrides (which can make text read differently from what it is) are replaced
in human output and escaped as ``\\uXXXX`` in JSON output, which leaves the JSON value unchanged.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# json.dumps already escapes U+0000..U+001F; these are the rest of what a terminal may act on.
_JSON_UNSAFE = re.compile("[\u007f-\u009f" + _BIDI + "\u2028\u2029]")


def _unsafe(ch: str) -> bool:
    return ch in _BIDI or unicodedata.category(ch) == "Cc"


def clean(value: object, *, width: int | None = None) -> str:
    """``value`` as one line of text safe for a terminal, cut to ``width`` characters."""
    text = "-" if value is None or value == "" else str(value)
    text = "".join(" " if ch in "\t\r\n" else ("?" if _unsafe(ch) else ch) for ch in text)
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def csv_cell(value: object, *, free_text: bool = True) -> str:
    """``value`` as a CSV cell: empty for None, terminal-unsafe characters replaced as
    :func:`clean` does (line breaks become spaces), and free text that a spreadsheet would run
    as a formula (``=``, ``+``, ``-``, ``@`` first) prefixed with ``'``, as OWASP advises.
    Values of a fixed alphabet (numbers, base64url hashes) are left as they are
    (``free_text=False``). ``--format json`` is the exact form."""
    if value is None:
        return ""
    text = clean(value) if value != "" else ""
    return "'" + text if free_text and text[:1] in ("=", "+", "-", "@") else text


def dumps_json(value: Any) -> str:
    """Pretty JSON with sorted keys, terminal-safe (see the module docstring)."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def when(value: object) -> str:
    """An API timestamp as ``YYYY-MM-DD HH:MM:SSZ`` (UTC), or ``-``."""
    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return clean(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Columns aligned with spaces; the last column is not padded."""
    cells = [[clean(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = []
    for row in [list(headers), *cells]:
        padded = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return "\n".join(lines)


def fields(pairs: Iterable[tuple[str, object]]) -> str:
    """A ``Label:  value`` block with the values aligned."""
    items = [(label, clean(value)) for label, value in pairs]
    width = max((len(label) for label, _ in items), default=0) + 1
    return "\n".join(f"{(label + ':').ljust(width)}  {value}" for label, value in items)


def plural(n: int, noun: str) -> str:
    """``1 record``, ``2 records``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
