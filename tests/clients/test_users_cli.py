"""``liaison user disable|enable|passwd|set-role|set-clearance`` as an administrator types them,
and what the changed user sees next: their saved token no longer works."""

from __future__ import annotations

import json

import pytest

from tests.twonode import PASSWORD

NEW_PASSWORD = "another long password 42"


@pytest.fixture
def as_user(cli, pinned):
    """``run(role, *argv)``: the CLI logged in to IQ as ``role`` (officer, admin)."""

    def run(role: str, *argv: str, **kw):
        env = {"LIAISON_URL": pinned.iq.url, "LIAISON_TOKEN_FILE": str(pinned.tmp / role)}
        return cli(*argv, env={**env, **kw.pop("env", {})}, transport=pinned.transport, **kw)

    for role in ("officer", "admin"):
        assert run(role, "login", role, env={"LIAISON_PASSWORD": PASSWORD}).code == 0
    return run


def test_an_administrator_ends_an_officers_access_and_gives_it_back(as_user):
    assert as_user("officer", "report", "list").code == 0
    done = as_user("admin", "user", "disable", "officer")
    assert done.code == 0 and "every token and console session ended" in done.out
    refused = as_user("officer", "report", "list")
    assert refused.code == 3 and "Traceback" not in refused.err  # 3: authentication
    listed = json.loads(as_user("admin", "user", "list", "--json").out)
    assert {u["username"]: u["disabled"] for u in listed}["officer"] is True
    again = as_user("admin", "user", "disable", "officer")
    assert again.code == 1 and "already disabled" in again.err

    assert as_user("admin", "user", "enable", "officer").code == 0
    done = as_user("admin", "user", "passwd", "officer", "--password-stdin",
                   stdin=NEW_PASSWORD + "\n")  # fmt: skip
    assert done.code == 0, done.err
    assert as_user("officer", "login", "officer", env={"LIAISON_PASSWORD": PASSWORD}).code == 3
    login = as_user("officer", "login", "officer", env={"LIAISON_PASSWORD": NEW_PASSWORD})
    assert login.code == 0
    assert as_user("officer", "report", "list").code == 0


def test_role_and_clearance_changes_and_their_refusals(as_user):
    done = as_user("admin", "user", "set-clearance", "officer", "GREEN")
    assert done.code == 0 and "clearance green" in done.out
    done = as_user("admin", "user", "set-role", "officer", "releaser", "--json")
    assert done.code == 0 and json.loads(done.out)["role"] == "releaser"
    assert as_user("officer", "report", "list").code == 3  # the token had the old role
    bad = as_user("admin", "user", "set-role", "officer", "overlord")
    assert bad.code == 2 and "invalid choice" in bad.err
    last = as_user("admin", "user", "disable", "admin")
    assert last.code == 1 and "last enabled administrator" in last.err
    nobody = as_user("admin", "user", "enable", "nobody-here")
    assert nobody.code == 1 and "no user" in nobody.err
    officer = as_user("officer", "user", "disable", "admin")
    assert officer.code != 0
