"""Roles, tokens and error answers: forged roles and tokens are refused, every refusal is
recorded, and every error is RFC 9457 problem+json."""

from __future__ import annotations

import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from service.models import AuditEvent, Report, User
from tests.twonode import PASSWORD, REPORTS

pytestmark = pytest.mark.anyio
PROBLEM = "application/problem+json"


def _is_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"].endswith(body["code"])
    if code:
        assert body["code"] == code, body
    return body


def _events(node, action: str) -> list[AuditEvent]:
    with node.node.db.write() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


async def _submit(node, headers, body: bytes, to="SY"):
    async with node.client() as c:
        return await c.post(
            "/api/v1/reports",
            params={"to": to},
            content=body,
            headers={**headers, "content-type": "application/stix+json"},
        )


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("officer", "GET", "/api/v1/admin/users"),
        ("officer", "POST", "/api/v1/admin/partners"),
        ("officer", "GET", "/api/v1/audit/events"),
        ("auditor", "GET", "/api/v1/reports"),
        ("auditor", "GET", "/api/v1/inbox"),
        ("auditor", "POST", "/api/v1/reports"),
        ("admin", "GET", "/api/v1/inbox"),
        ("admin", "POST", "/api/v1/reports"),
    ],
)
async def test_roles_are_enforced_and_denials_recorded(pinned, role, method, path):
    iq, _ = pinned
    headers = await iq.login(role)
    async with iq.client() as c:
        response = await c.request(method, path, headers=headers, params={"to": "SY"}, json={})
    _is_problem(response, 403, "forbidden")
    denied = _events(iq, "auth.role")
    assert denied and denied[-1].actor == role and denied[-1].outcome == "denied"
    assert path in (denied[-1].reason or "")


async def test_auditor_reads_metadata_never_report_content(pinned):
    iq, _sy = pinned
    officer = await iq.login("officer")
    report = (await _submit(iq, officer, (REPORTS / "iq-cell-wadi7.json").read_bytes())).json()
    auditor = await iq.login("auditor")
    async with iq.client() as c:
        _is_problem(await c.get(f"/api/v1/reports/{report['id']}/bundle", headers=auditor), 403)
        _is_problem(await c.get(f"/api/v1/reports/{report['id']}", headers=auditor), 403)
        events = (await c.get("/api/v1/audit/events", headers=auditor)).json()
    assert any(e["action"] == "report.submit" and e["object_id"] == report["id"] for e in events)
    text = json.dumps(events)
    assert "WADI-7" not in text and "courier-relay" not in text


async def test_no_token_and_garbage_token_are_refused(pinned):
    iq, _ = pinned
    async with iq.client() as c:
        body = _is_problem(await c.get("/api/v1/reports"), 401, "unauthenticated")
        assert "log in" in body["detail"]
        r = await c.get("/api/v1/reports", headers={"Authorization": "Bearer not.a.token"})
        _is_problem(r, 401)
        assert r.headers["www-authenticate"] == "Bearer"
    assert len(_events(iq, "auth.token")) == 2


def _claims(node, **overrides):
    now = node.node.now()
    claims = {
        "iss": node.node_id,
        "aud": f"liaison:{node.node_id}:api",
        "sub": "auditor",
        "role": "admin",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "x" * 32,
    }
    claims.update(overrides)
    return claims


async def test_forged_tokens_are_refused(pinned):
    """A self-made admin token: another key, alg none, HS256 keyed with a guess, another node."""
    iq, sy = pinned
    attacker = Ed25519PrivateKey.generate()
    forged = [
        jwt.encode(_claims(iq), attacker, algorithm="EdDSA"),
        jwt.encode(_claims(iq), None, algorithm="none"),
        jwt.encode(_claims(iq), "secret" * 6, algorithm="HS256"),
    ]
    # A genuine token from SY is not valid at IQ (issuer and audience differ, and the key).
    forged.append((await sy.login("admin"))["Authorization"].split()[1])
    async with iq.client() as c:
        for token in forged:
            r = await c.get("/api/v1/admin/users", headers={"Authorization": f"Bearer {token}"})
            _is_problem(r, 401)


async def test_token_role_edited_by_its_holder_is_refused(pinned):
    """An auditor edits the role claim of a genuine token: the signature no longer verifies."""
    iq, _ = pinned
    token = (await iq.login("auditor"))["Authorization"].split()[1]
    header, payload, signature = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["role"] = "admin"
    edited = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    async with iq.client() as c:
        r = await c.get(
            "/api/v1/admin/users",
            headers={"Authorization": f"Bearer {header}.{edited}.{signature}"},
        )
    _is_problem(r, 401)


async def test_expired_token_is_refused(pinned, clock):
    iq, _ = pinned
    headers = await iq.login("officer")
    clock.advance(iq.node.settings.token_ttl + 1)
    async with iq.client() as c:
        _is_problem(await c.get("/api/v1/reports", headers=headers), 401)


async def test_token_of_a_demoted_or_disabled_user_is_refused(pinned):
    iq, _ = pinned
    headers = await iq.login("admin")
    with iq.node.db.write() as s:
        s.execute(update(User).where(User.username == "admin").values(role="officer"))
    async with iq.client() as c:
        _is_problem(await c.get("/api/v1/admin/users", headers=headers), 401)
    headers = await iq.login("officer")
    with iq.node.db.write() as s:
        s.execute(update(User).where(User.username == "officer").values(disabled=True))
    async with iq.client() as c:
        _is_problem(await c.get("/api/v1/reports", headers=headers), 401)


async def test_failed_logins_are_recorded_and_answer_the_same(pinned):
    iq, _ = pinned
    async with iq.client() as c:
        wrong = await c.post("/api/v1/auth/login", json={"username": "officer", "password": "x"})
        absent = await c.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
        ok = await c.post("/api/v1/auth/login", json={"username": "officer", "password": PASSWORD})
    assert _is_problem(wrong, 401, "login_failed") == _is_problem(absent, 401, "login_failed")
    assert ok.status_code == 200
    outcomes = [(e.actor, e.outcome) for e in _events(iq, "auth.login")]
    assert ("officer", "denied") in outcomes and ("nobody", "denied") in outcomes
    assert outcomes[-1] == ("officer", "allowed")


async def test_unmarked_and_malformed_stix_get_422_with_the_validators_messages(pinned):
    iq, _ = pinned
    officer = await iq.login("officer")
    unmarked = json.loads((REPORTS / "iq-cell-wadi7.json").read_bytes())
    for obj in unmarked["objects"]:
        obj.pop("object_marking_refs", None)
    body = _is_problem(
        await _submit(iq, officer, json.dumps(unmarked).encode()), 422, "tlp_missing"
    )
    assert body["errors"]
    broken = json.loads((REPORTS / "iq-cell-wadi7.json").read_bytes())
    del broken["objects"][3]["pattern"]
    body = _is_problem(await _submit(iq, officer, json.dumps(broken).encode()), 422, "stix_invalid")
    assert any("pattern" in m for m in body["errors"])
    body = _is_problem(await _submit(iq, officer, b'{"type": "bundle", "type": "x"}'), 422)
    assert any("duplicate" in m for m in body["errors"])
    denials = [e for e in _events(iq, "report.submit") if e.outcome == "denied"]
    assert len(denials) == 3
    with iq.node.db.write() as s:
        assert s.scalars(select(Report)).all() == []  # nothing stored


async def test_unknown_partner_and_oversize_reports_are_refused(pinned):
    iq, _ = pinned
    officer = await iq.login("officer")
    report = (REPORTS / "iq-cell-wadi7.json").read_bytes()
    _is_problem(await _submit(iq, officer, report, to="XX"), 404)
    big = b" " * (iq.node.settings.max_report_bytes + 1)
    _is_problem(await _submit(iq, officer, big), 413)


async def test_framework_errors_are_problems_too(pinned):
    iq, _ = pinned
    async with iq.client() as c:
        _is_problem(await c.get("/no/such/path"), 404)
        _is_problem(await c.delete("/api/v1/auth/login"), 405)
        body = _is_problem(await c.post("/api/v1/auth/login", json={"username": 5}), 422)
        assert body["errors"]


async def test_unexpected_errors_are_opaque_500s(pinned):
    iq, _ = pinned

    @iq.app.get("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    import httpx

    transport = httpx.ASGITransport(app=iq.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=iq.url) as c:
        body = _is_problem(await c.get("/boom"), 500, "internal")
    assert "secret" not in body["detail"] and "reference" in body["detail"]


async def test_report_content_is_encrypted_at_rest_and_bound_to_its_row(pinned):
    iq, _ = pinned
    officer = await iq.login("officer")
    first = (await _submit(iq, officer, (REPORTS / "iq-cell-wadi7.json").read_bytes())).json()
    second = (await _submit(iq, officer, (REPORTS / "iq-cell-wadi7.json").read_bytes())).json()
    with iq.node.db.write() as s:
        rows = {r.id: r for r in s.scalars(select(Report))}
        assert all(b"WADI-7" not in r.body_ct for r in rows.values())
        # Nor does any other column hold the report's words (the title is sealed too).
        for row in rows.values():
            for column in row.__table__.columns:
                value = getattr(row, column.key)
                assert "WADI-7" not in (
                    value.decode("latin-1") if isinstance(value, bytes) else str(value)
                )
        # An insider swaps the two ciphertexts: neither opens under the other's row.
        a, b = rows[first["id"]], rows[second["id"]]
        a.body_ct, b.body_ct = b.body_ct, a.body_ct
    async with iq.client() as c:
        r = await c.get(f"/api/v1/reports/{first['id']}/bundle", headers=officer)
    _is_problem(r, 500, "at_rest_corrupted")


async def test_health_and_node_info_are_public(pinned):
    iq, _ = pinned
    async with iq.client() as c:
        assert (await c.get("/healthz")).json()["status"] == "ok"
        info = (await c.get("/api/v1/node")).json()
    assert info["node_id"] == "IQ" and len(info["fingerprint"].split()) == 12


async def test_repeated_failed_logins_make_the_account_wait(pinned, clock):
    """After five failures even the right password is refused until the wait is over, and each
    further failure doubles the wait; a success resets the count."""
    iq, _ = pinned
    async with iq.client() as c:

        async def attempt(password):
            return await c.post(
                "/api/v1/auth/login", json={"username": "officer", "password": password}
            )

        for _ in range(5):
            _is_problem(await attempt("guess"), 401, "login_failed")
        # Fifth failure reached the limit: the right password now waits 30 s.
        body = _is_problem(await attempt(PASSWORD), 429, "login_throttled")
        assert "try again in" in body["detail"]
        clock.advance(31)
        _is_problem(await attempt("guess"), 401, "login_failed")  # sixth failure: wait 60 s
        clock.advance(31)
        _is_problem(await attempt(PASSWORD), 429, "login_throttled")
        clock.advance(30)
        assert (await attempt(PASSWORD)).status_code == 200
        assert (await attempt("guess")).status_code == 401  # count restarted from zero
        assert (await attempt(PASSWORD)).status_code == 200
    throttled = [e for e in _events(iq, "auth.login") if "too many" in (e.reason or "")]
    assert len(throttled) == 2
