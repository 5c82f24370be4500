"""docs/operations.md documents every node setting, and only settings that exist.

The settings table of section 4 lists one row per field of ``Settings``: a field added without a
row, or a row left behind for a field that was removed or renamed, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

from service.settings import Settings

OPERATIONS = Path(__file__).resolve().parents[1] / "docs" / "operations.md"
SETTINGS = f"{Settings.__module__}.{Settings.__qualname__}"
TABLE_HEADER = re.compile(r"^\|\s*setting\s*\|\s*environment variable\s*\|")
FIRST_CELL = re.compile(r"^\|\s*`([a-z0-9_]+)`\s*\|")


def _settings_table(text: str) -> list[str]:
    """The rows of the settings table (the one whose header starts ``| setting |``)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if TABLE_HEADER.match(line)]
    assert len(starts) == 1, (
        f"{OPERATIONS} should hold exactly one settings table "
        f"('| setting | environment variable | ...'), found {len(starts)}"
    )
    rows = []
    for line in lines[starts[0] + 2 :]:  # skip the header and the |---| line
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def _table_settings() -> dict[str, str]:
    """Setting name -> its whole row, as the table lists them."""
    rows = {}
    for row in _settings_table(OPERATIONS.read_text(encoding="utf-8")):
        match = FIRST_CELL.match(row)
        assert match, f"a settings row whose first cell is not a `setting_name`: {row!r}"
        rows[match.group(1)] = row
    return rows


def test_every_setting_is_documented_in_operations() -> None:
    """Each field is a row of the table, named in backticks (`token_ttl`)."""
    listed = _table_settings()
    missing = sorted(name for name in Settings.model_fields if name not in listed)
    assert not missing, (
        f"settings of {SETTINGS} missing from the settings table of {OPERATIONS}: "
        + ", ".join(missing)
    )


def test_the_operations_table_names_only_real_settings() -> None:
    unknown = sorted(name for name in _table_settings() if name not in Settings.model_fields)
    assert not unknown, (
        f"the settings table of {OPERATIONS} lists settings that {SETTINGS} does not have "
        "(removed or renamed?): " + ", ".join(unknown)
    )


def test_each_row_gives_the_environment_variable_of_its_setting() -> None:
    prefix = Settings.model_config.get("env_prefix", "")
    wrong = sorted(
        name
        for name, row in _table_settings().items()
        if f"`{prefix}{name.upper()}`" not in row.split("|")[2]
    )
    assert not wrong, (
        f"settings whose row in {OPERATIONS} does not name `{prefix}<SETTING>` as its "
        "environment variable: " + ", ".join(wrong)
    )
