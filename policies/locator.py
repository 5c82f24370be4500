"""Where a key of a TOML document is written: the line and column an error should point at.

``tomllib`` returns values without positions, so this module scans the source text for table
headers (``[outbound.redact]``) and assignments (``max_tlp = ...``, dotted or quoted keys too),
and maps each full key path to the line and column of its key. It understands what policy files
use: comments, multi-line arrays (their values are not mistaken for keys, and a problem inside one
points at the key's line) and multi-line strings. Keys inside inline tables are not indexed; a
problem there points at the inline table's key.
"""

from __future__ import annotations

import json
import re

__all__ = ["Locator"]

_BARE = r"[A-Za-z0-9_-]+"
_BASIC = r'"(?:[^"\\\n]|\\.)*"'
_LITERAL = r"'[^'\n]*'"
_KEY = rf"(?:{_BARE}|{_BASIC}|{_LITERAL})"
_DOTTED = rf"{_KEY}(?:[ \t]*\.[ \t]*{_KEY})*"
_HEADER = re.compile(rf"[ \t]*\[\[?[ \t]*({_DOTTED})[ \t]*\]\]?")
_ASSIGN = re.compile(rf"[ \t]*({_DOTTED})[ \t]*=")
_PART = re.compile(_KEY)

Path = tuple[str, ...]
Position = tuple[int, int]


class Locator:
    """The positions of the keys and table headers of one TOML document."""

    def __init__(self, text: str) -> None:
        self._keys: dict[Path, Position] = {}
        self._tables: dict[Path, Position] = {}
        self._scan(text)

    def find(self, path: Path) -> tuple[int | None, int | None]:
        """The (line, column) of the key at ``path``, 1-based.

        A key that is not written (a missing required key, a key inside an inline table) points
        at its nearest written ancestor: a key or a ``[table]`` header. The document's top level
        has no position: (None, None).
        """
        for end in range(len(path), 0, -1):
            prefix = path[:end]
            if prefix in self._keys:
                return self._keys[prefix]
            if prefix in self._tables:
                return self._tables[prefix]
        return None, None

    def _scan(self, text: str) -> None:
        table: Path = ()
        closing: str | None = None  # the delimiter of the multi-line string we are inside
        for number, line in enumerate(text.splitlines(), start=1):
            if closing is not None:
                if closing in line:
                    closing = None
                continue
            header = _HEADER.match(line)
            if header and _rest_is_comment(line[header.end() :]):
                table = _split(header.group(1))
                self._tables.setdefault(table, (number, header.start(1) + 1))
                continue
            assign = _ASSIGN.match(line)
            if assign is None:
                continue
            path = table + _split(assign.group(1))
            position = (number, assign.start(1) + 1)
            self._keys.setdefault(path, position)
            for end in range(len(table) + 1, len(path)):  # a dotted key defines its tables
                self._tables.setdefault(path[:end], position)
            closing = _opens_multiline_string(line[assign.end() :])


def _split(dotted: str) -> Path:
    parts: list[str] = []
    for part in _PART.findall(dotted):
        if part.startswith('"'):
            try:
                parts.append(json.loads(part))
            except ValueError:  # a TOML escape JSON lacks (\e, \UXXXXXXXX): close enough
                parts.append(part[1:-1])
        elif part.startswith("'"):
            parts.append(part[1:-1])
        else:
            parts.append(part)
    return tuple(parts)


def _rest_is_comment(rest: str) -> bool:
    stripped = rest.strip()
    return not stripped or stripped.startswith("#")


def _opens_multiline_string(value: str) -> str | None:
    for delimiter in ('"""', "'''"):
        if value.lstrip().startswith(delimiter) and value.count(delimiter) == 1:
            return delimiter
    return None
