"""``liaison report import``, ``liaison draft`` and ``liaison integration``, as an officer and an
administrator type them: what is printed, what is refused with which exit code, what is kept."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from service.models import Delivery, Draft
from tests.twonode import IMPORTS, PASSWORD

EXPORT = IMPORTS / "iq-opencti-courier-net.json"


@pytest.fixture
def as_user(cli, pinned):
    """``run(role, *argv)``: the CLI logged in to IQ as ``role`` (officer, admin, auditor)."""

    def run(role: str, *argv: str, **kw):
        env = {"LIAISON_URL": pinned.iq.url, "LIAISON_TOKEN_FILE": str(pinned.tmp / role)}
        return cli(*argv, env={**env, **kw.pop("env", {})}, transport=pinned.transport, **kw)

    for role in ("officer", "admin", "auditor"):
        assert run(role, "login", role, env={"LIAISON_PASSWORD": PASSWORD}).code == 0
    return run


def _drafts(pinned) -> list[Draft]:
    with pinned.iq.node.db.read() as session:
        return list(session.scalars(select(Draft)))


def _deliveries(pinned) -> int:
    with pinned.iq.node.db.read() as session:
        return len(list(session.scalars(select(Delivery.id))))


def test_import_prints_the_changes_and_keeps_the_draft_until_confirmed(as_user, pinned):
    done = as_user("officer", "report", "import", str(EXPORT), "--to", "SY")
    assert done.code == 1
    assert "Courier network NAHR-2 (fictional)" in done.out
    assert "the import changed" in done.out and "TLP 1.0" in done.out
    assert "1 objects carry no TLP marking" in done.out
    [draft] = _drafts(pinned)
    assert f"liaison draft submit {draft.id} --to SY --mark-unmarked TLP" in done.err
    assert draft.state == "open" and _deliveries(pinned) == 0

    # Marked but not confirmed, from a script (no terminal to ask): still kept, still not sent.
    done = as_user("officer", "draft", "submit", draft.id, "--to", "SY", "--mark-unmarked", "green")
    assert done.code == 1 and "changes not confirmed" in done.err
    assert _deliveries(pinned) == 0

    listed = as_user("officer", "draft", "list")
    assert listed.code == 0 and draft.id in listed.out and "TLP:AMBER" in listed.out
    done = as_user("officer", "draft", "submit", draft.id, "--to", "SY", "--mark-unmarked",
                   "green", "--yes")  # fmt: skip
    assert done.code == 0, done.err
    assert "submitted" in done.out and "SY:queued" in done.out
    assert _deliveries(pinned) == 1
    assert as_user("officer", "draft", "list", "--json").out.strip() == "[]"


def test_bad_files_and_roles_are_refused_plainly(as_user, pinned, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    done = as_user("officer", "report", "import", str(bad), "--to", "SY")
    assert done.code == 1 and done.out == ""
    assert "liaison:" in done.err and "Traceback" not in done.err
    done = as_user("officer", "report", "import", str(tmp_path / "missing.json"), "--to", "SY")
    assert done.code != 0 and "missing.json" in done.err
    done = as_user("auditor", "report", "import", str(EXPORT), "--to", "SY")
    assert done.code == 1 and "officer" in done.err.lower()
    done = as_user("officer", "draft", "show", "no-such-draft")
    assert done.code == 1 and "no draft" in done.err
    assert _drafts(pinned) == []


def test_integration_secret_is_printed_once_and_a_revoked_one_is_listed(as_user):
    made = as_user("admin", "integration", "add", "misp", "--partner", "SY", "--read",
                   "--clearance", "green", "--label", "MISP, CT desk", "--json")  # fmt: skip
    assert made.code == 0, made.err
    secret = json.loads(made.out)["secret"]
    assert secret.startswith("lx1_misp_") and len(secret) == len("lx1_misp_") + 43
    taken = as_user("admin", "integration", "add", "misp", "--partner", "SY", "--read",
                    "--clearance", "green")  # fmt: skip
    assert taken.code == 1 and "already exists" in taken.err and "Traceback" not in taken.err
    listed = as_user("admin", "integration", "list")
    assert listed.code == 0 and "misp" in listed.out and "MISP, CT desk" in listed.out
    assert secret not in listed.out
    refused = as_user("admin", "integration", "add", "red-feed", "--partner", "SY", "--read",
                      "--clearance", "red")  # fmt: skip
    assert refused.code != 0 and "red" in refused.err.lower()
    officer = as_user("officer", "integration", "add", "x", "--partner", "SY", "--read",
                      "--clearance", "green")  # fmt: skip
    assert officer.code == 1
    assert as_user("admin", "integration", "revoke", "misp").code == 0
    again = as_user("admin", "integration", "list", "--json")
    [row] = json.loads(again.out)
    assert row["name"] == "misp" and row["revoked_at"]
