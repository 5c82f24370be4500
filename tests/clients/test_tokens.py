"""Token storage: 0600 files keyed by node URL, refused when others can read them."""

from __future__ import annotations

import json
import os
import stat

import pytest

from clients import tokens
from clients.errors import NotLoggedIn


def test_the_file_is_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        path = tokens.save_token(
            "http://iq.test", "abc", username="officer", role="officer", expires_in=900
        )
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tokens.load_token("http://iq.test") == "abc"


def test_one_file_per_node_url(tmp_path):
    names = {
        tokens.token_path(url).name
        for url in (
            "http://iq.test",
            "http://iq.test:8600",
            "https://iq.test",
            "https://iq.test/node-a",
            "https://iq.test/node-b",
        )
    }
    assert len(names) == 5
    assert tokens.token_path("http://iq.test:8600").name == "token-iq.test-8600"


def test_xdg_config_home_is_respected(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert tokens.token_path("http://iq.test") == tmp_path / "xdg" / "liaison" / "token-iq.test-80"


def test_a_token_for_another_url_or_expired_is_no_token(tmp_path, monkeypatch):
    monkeypatch.setenv("LIAISON_TOKEN_FILE", str(tmp_path / "shared"))
    tokens.save_token("http://iq.test", "abc", username="u", role="officer", expires_in=900)
    assert tokens.load_token("http://sy.test") is None
    tokens.save_token("http://iq.test", "abc", username="u", role="officer", expires_in=-1)
    assert tokens.load_token("http://iq.test") is None


def test_a_damaged_file_is_no_token(tmp_path, monkeypatch):
    path = tmp_path / "token"
    monkeypatch.setenv("LIAISON_TOKEN_FILE", str(path))
    path.write_text("{not json")
    path.chmod(0o600)
    assert tokens.load_token("http://iq.test") is None
    path.write_text(json.dumps(["a list"]))
    assert tokens.load_token("http://iq.test") is None


def test_a_file_others_can_read_is_refused(tmp_path):
    path = tokens.save_token("http://iq.test", "abc", username="u", role="r", expires_in=900)
    path.chmod(0o640)
    with pytest.raises(NotLoggedIn, match="accessible by others"):
        tokens.load_token("http://iq.test")


def test_the_environment_overrides_the_file(monkeypatch):
    monkeypatch.setenv("LIAISON_TOKEN", "from-env")
    assert tokens.load_token("http://iq.test") == "from-env"


def test_delete(tmp_path):
    tokens.save_token("http://iq.test", "abc", username="u", role="r", expires_in=900)
    assert tokens.delete_token("http://iq.test") is True
    assert tokens.delete_token("http://iq.test") is False
