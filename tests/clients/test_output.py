"""Human and JSON output: aligned tables, and nothing a partner wrote can drive the terminal."""

from __future__ import annotations

import json

from clients import output


def test_table_aligns_columns():
    text = output.table(("ID", "TLP", "TITLE"), [("r1", "TLP:AMBER", "a"), ("r22", "TLP:RED", "b")])
    assert text.splitlines() == [
        "ID   TLP        TITLE",
        "r1   TLP:AMBER  a",
        "r22  TLP:RED    b",
    ]


def test_clean_replaces_controls_and_bidi_overrides_and_cuts():
    assert output.clean("a\x1b[2Jb\x9bc\u202ed\ne") == "a?[2Jb?c?d e"
    assert output.clean("x" * 10, width=5) == "xxxx…"
    assert output.clean(None) == "-"
    assert output.clean("بغداد") == "بغداد"


def test_json_escapes_what_a_terminal_would_act_on_without_changing_the_value():
    value = {"title": "a\x1b]0;x\x07\x9b\u202e\u2028b", "city": "دمشق"}
    text = output.dumps_json(value)
    assert not any(ch in text for ch in "\x1b\x07\x9b\u202e\u2028")
    assert "دمشق" in text
    assert json.loads(text) == value


def test_when_formats_api_times_in_utc():
    assert output.when("2026-11-20T08:30:00.123456Z") == "2026-11-20 08:30:00Z"
    assert output.when("2026-11-20T11:30:00+03:00") == "2026-11-20 08:30:00Z"
    assert output.when(None) == "-"
