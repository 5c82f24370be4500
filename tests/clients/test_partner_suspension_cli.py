"""``liaison partner suspend|resume`` as an administrator types them after finding a copied key
file, and the plain refusals around them."""

from __future__ import annotations

import json

import pytest

from tests.twonode import PASSWORD


@pytest.fixture
def admin(cli, pinned):
    def run(*argv: str, **kw):
        env = {"LIAISON_URL": pinned.iq.url, "LIAISON_TOKEN_FILE": str(pinned.tmp / "admin")}
        return cli(*argv, env={**env, **kw.pop("env", {})}, transport=pinned.transport, **kw)

    assert run("login", "admin", env={"LIAISON_PASSWORD": PASSWORD}).code == 0
    return run


def test_suspend_list_and_resume(admin):
    done = admin("partner", "suspend", "SY", "--compromised-since", "2026-01-01T00:00:00Z",
                 "--reason", "copied key file")  # fmt: skip
    assert done.code == 0, done.err
    assert "suspended SY" in done.out and "0 received reports back to quarantine" in done.out
    listed = admin("partner", "list")
    assert listed.code == 0 and "suspended" in listed.out
    [row] = json.loads(admin("partner", "list", "--json").out)
    assert row["suspended_reason"] == "copied key file" and row["compromised_since"]
    again = admin("partner", "suspend", "SY")
    assert again.code == 1 and "already suspended" in again.err
    done = admin("partner", "resume", "SY")
    assert done.code == 0 and "resumed SY" in done.out
    assert "active" in admin("partner", "list").out


def test_a_malformed_time_or_unknown_partner_is_a_plain_refusal(admin):
    bad = admin("partner", "suspend", "SY", "--compromised-since", "last tuesday")
    assert bad.code == 1 and "Traceback" not in bad.err and bad.err.startswith("liaison:")
    unknown = admin("partner", "resume", "ZZ")
    assert unknown.code == 1 and "ZZ" in unknown.err
    assert "active" in admin("partner", "list").out


def test_the_damage_report_reads_plainly(admin):
    done = admin("partner", "damage", "SY", "--since", "2026-01-01T00:00:00Z")
    assert done.code == 0, done.err
    assert "if SY's keys were copied at 2026-01-01" in done.out
    assert "sealed to them since then (readable with the copy): none" in done.out
    as_json = admin("partner", "damage", "SY", "--since", "2026-01-01T00:00:00Z", "--json")
    assert json.loads(as_json.out)["signed"] == []
    missing = admin("partner", "damage", "SY")
    assert missing.code == 2 and "--since" in missing.err


def test_repin_and_remove_read_plainly(admin, pinned):
    from crypto.fingerprint import fingerprint
    from tests.service.test_repin import new_identity

    wrong = admin("partner", "repin", "SY", "--fingerprint", "0" * 60)
    assert wrong.code == 1 and "does not match the fingerprint" in wrong.err
    fresh = new_identity(pinned.sy)  # SY made new keys; its admins read the fingerprint out
    done = admin("partner", "repin", "SY", "--fingerprint", fingerprint(fresh.signing.public))
    assert done.code == 0, done.err
    assert "re-pinned SY" in done.out and "0 undelivered envelopes" in done.out
    [row] = json.loads(admin("partner", "list", "--json").out)
    assert row["fingerprint"] == fingerprint(fresh.signing.public)
    assert len(row["previous_fingerprints"]) == 1
    unconfirmed = admin("partner", "remove", "SY")
    assert unconfirmed.code == 2 and "--yes" in unconfirmed.err
    done = admin("partner", "remove", "SY", "--yes")
    assert done.code == 0 and "removed SY: 0 undelivered deliveries withdrawn" in done.out
    assert "removed" in admin("partner", "list").out
    again = admin("partner", "resume", "SY")
    assert again.code == 1 and "repin" in again.err
