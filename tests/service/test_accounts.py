"""Accounts over their life: an administrator disables, enables, sets a password, a role or a
clearance, and what the user held (tokens, console sessions) ends at once. Every attempt to keep
using what was ended is refused and recorded; the last administrator cannot be locked out."""

from __future__ import annotations

import pytest

from tests.service.console.conftest import Browser
from tests.service.test_drafts import EXPORT
from tests.service.test_enforcement import events
from tests.twonode import PASSWORD, TestNode

pytestmark = pytest.mark.anyio

NEW_PASSWORD = "a new and longer password 7"


def done(node: TestNode, action: str):
    """The changes that were made (refused ones are recorded too, as denied)."""
    return [e for e in events(node, action) if e.outcome == "allowed"]


async def _get(node: TestNode, headers: dict[str, str], path: str = "/api/v1/reports"):
    async with node.client() as c:
        return await c.get(path, headers=headers)


async def _admin(node: TestNode, admin: dict[str, str], username: str, action: str, body=None):
    async with node.client() as c:
        return await c.post(f"/api/v1/admin/users/{username}/{action}", json=body, headers=admin)


async def _login(node: TestNode, username: str, password: str = PASSWORD) -> int:
    async with node.client() as c:
        r = await c.post("/api/v1/auth/login", json={"username": username, "password": password})
        return r.status_code


async def test_disabling_a_user_ends_their_tokens_and_console_sessions_at_once(pinned):
    iq, _ = pinned
    admin, officer = await iq.login("admin"), await iq.login("officer")
    async with Browser(iq) as b:
        await b.login("officer")
        assert (await b.get("/console/reports")).status_code == 200
        assert (await _get(iq, officer)).status_code == 200
        r = await _admin(iq, admin, "officer", "disable")
        assert r.status_code == 200 and r.json()["disabled"] is True
        r = await _get(iq, officer)
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
        r = await b.get("/console/reports")
        assert r.status_code == 303 and "/console/login" in r.headers["location"]
    assert await _login(iq, "officer") == 401
    [disabled] = done(iq, "user.disable")
    assert disabled.actor == "admin" and disabled.object_id == "officer"
    assert "1 console sessions ended" in (disabled.reason or "")
    assert any("disabled" in (e.reason or "") for e in events(iq, "auth.token"))

    r = await _admin(iq, admin, "officer", "enable")
    assert r.status_code == 200 and r.json()["disabled"] is False
    assert (await _get(iq, officer)).status_code == 401  # ended for good, not paused
    assert (await _get(iq, await iq.login("officer"))).status_code == 200
    r = await _admin(iq, admin, "officer", "enable")
    assert r.status_code == 409 and r.json()["code"] == "not_disabled"


async def test_a_new_password_ends_every_token_issued_before(pinned):
    iq, _ = pinned
    admin, officer = await iq.login("admin"), await iq.login("officer")
    r = await _admin(iq, admin, "officer", "password", {"password": "short"})
    assert r.status_code == 400 and "at least" in r.json()["detail"]
    assert (await _get(iq, officer)).status_code == 200  # a refused change changes nothing
    r = await _admin(iq, admin, "officer", "password", {"password": NEW_PASSWORD})
    assert r.status_code == 200
    r = await _get(iq, officer)
    assert r.status_code == 401 and "ended" in str(events(iq, "auth.token")[-1].reason)
    assert await _login(iq, "officer") == 401
    assert await _login(iq, "officer", NEW_PASSWORD) == 200
    [changed] = done(iq, "user.passwd")
    assert changed.object_id == "officer" and NEW_PASSWORD not in (changed.reason or "")


async def test_a_role_change_ends_tokens_of_the_old_role(pinned):
    iq, _ = pinned
    admin, officer = await iq.login("admin"), await iq.login("officer")
    r = await _admin(iq, admin, "officer", "role", {"role": "releaser"})
    assert r.status_code == 200 and r.json()["role"] == "releaser"
    assert (await _get(iq, officer)).status_code == 401
    releaser = await iq.login("officer")
    assert (await _get(iq, releaser, "/api/v1/releases?state=held")).status_code == 200
    r = await _admin(iq, admin, "officer", "role", {"role": "releaser"})
    assert r.status_code == 409 and r.json()["code"] == "same_role"
    r = await _admin(iq, admin, "officer", "role", {"role": "overlord"})
    assert r.status_code == 400
    [changed] = done(iq, "user.set_role")
    assert (changed.reason or "").startswith("officer -> releaser")


async def test_a_lower_clearance_applies_at_the_next_request(pinned):
    iq, _ = pinned
    admin, officer = await iq.login("admin"), await iq.login("officer")
    async with iq.client() as c:
        r = await c.post("/api/v1/drafts", content=EXPORT, headers=officer)  # TLP:AMBER
        draft = r.json()["id"]
        assert (await c.get(f"/api/v1/drafts/{draft}", headers=officer)).status_code == 200
    r = await _admin(iq, admin, "officer", "clearance", {"clearance": "green"})
    assert r.status_code == 200 and r.json()["clearance"] == "green"
    r = await _get(iq, officer, f"/api/v1/drafts/{draft}")  # the same token
    assert r.status_code == 403 and r.json()["code"] == "access_denied"
    r = await _admin(iq, admin, "auditor", "clearance", {"clearance": "green"})
    assert r.status_code == 400 and "no clearance" in r.json()["detail"]
    r = await _admin(iq, admin, "officer", "clearance", {"clearance": "ultraviolet"})
    assert r.status_code == 400
    assert [(e.reason or "") for e in done(iq, "user.set_clearance")] == ["amber+strict -> green"]


async def test_the_last_administrator_cannot_be_disabled_or_demoted(pinned):
    iq, _ = pinned
    admin = await iq.login("admin")
    r = await _admin(iq, admin, "admin", "disable")
    assert r.status_code == 409 and r.json()["code"] == "last_admin"
    r = await _admin(iq, admin, "admin", "role", {"role": "auditor"})
    assert r.status_code == 409 and r.json()["code"] == "last_admin"
    [refused] = events(iq, "user.disable")  # the refusal is recorded, with why
    assert refused.outcome == "denied" and "last enabled administrator" in (refused.reason or "")
    assert [e.outcome for e in events(iq, "user.set_role")] == ["denied"]
    assert (await _get(iq, admin, "/api/v1/admin/users")).status_code == 200
    iq.add_user("second-admin", "admin")
    r = await _admin(iq, admin, "admin", "disable")
    assert r.status_code == 200
    assert (await _get(iq, admin, "/api/v1/admin/users")).status_code == 401
    second = await iq.login("second-admin")
    r = await _admin(iq, second, "second-admin", "disable")
    assert r.status_code == 409 and r.json()["code"] == "last_admin"


async def test_only_an_administrator_changes_accounts(pinned):
    iq, _ = pinned
    officer, auditor = await iq.login("officer"), await iq.login("auditor")
    for headers in (officer, auditor):
        changes = (("disable", None), ("password", {"password": NEW_PASSWORD}),
                   ("role", {"role": "admin"}), ("clearance", {"clearance": "red"}))  # fmt: skip
        for action, body in changes:
            r = await _admin(iq, headers, "officer", action, body)
            assert r.status_code == 403, (action, r.text)
    assert {e.actor for e in events(iq, "auth.role")} == {"officer", "auditor"}
    assert await _login(iq, "officer") == 200  # nothing changed
    admin = await iq.login("admin")
    r = await _admin(iq, admin, "nobody-here", "disable")
    assert r.status_code == 404


async def test_a_token_of_an_older_generation_is_refused_however_it_was_made(pinned):
    iq, _ = pinned
    admin = await iq.login("admin")
    await _admin(iq, admin, "officer", "password", {"password": NEW_PASSWORD})
    node = iq.node
    for generation in (0, 2, -1):
        token, _ = node.tokens.issue(username="officer", role="officer", now=node.now(),
                                     generation=generation)  # fmt: skip
        r = await _get(iq, {"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, generation
    token, _ = node.tokens.issue(username="officer", role="officer", now=node.now(), generation=1)
    assert (await _get(iq, {"Authorization": f"Bearer {token}"})).status_code == 200
