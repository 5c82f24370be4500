"""The SDK's boundary: problem+json becomes ApiError, and no httpx exception leaks out."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from clients.errors import ApiError, ConnectionFailed, LiaisonError, NotLoggedIn, UsageError
from clients.sdk import LiaisonClient
from tests.twonode import PASSWORD


def client_answering(handler, token: str | None = "t0ken") -> LiaisonClient:
    return LiaisonClient("https://iq.example/", token, transport=httpx.MockTransport(handler))


def problem(status: int, code: str, detail: str, **extra) -> httpx.Response:
    body = {"type": f"https://liaison.invalid/problems/{code}", "title": "x", "status": status,
            "detail": detail, "code": code, **extra}  # fmt: skip
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


def test_a_problem_becomes_an_api_error_with_its_fields():
    client = client_answering(
        lambda request: problem(422, "tlp_missing", "no TLP", errors=["a: x", "b: y"])
    )
    with pytest.raises(ApiError) as caught:
        client.submit_report(b"{}", ["SY"])
    assert (caught.value.status, caught.value.code) == (422, "tlp_missing")
    assert caught.value.detail == "no TLP" and caught.value.errors == ["a: x", "b: y"]


def test_an_error_that_is_not_problem_json_still_becomes_an_api_error():
    client = client_answering(lambda request: httpx.Response(502, text="<html>bad gateway"))
    with pytest.raises(ApiError) as caught:
        client.list_reports()
    assert (caught.value.status, caught.value.code) == (502, "http_error")
    assert caught.value.detail == "the node answered HTTP 502"


def test_a_success_that_is_not_json_is_an_api_error():
    client = client_answering(lambda request: httpx.Response(200, text="hello"))
    with pytest.raises(ApiError, match="not JSON"):
        client.list_reports()


def test_redirects_are_not_followed_with_the_token():
    seen = []

    def handler(request):
        seen.append(request.url)
        return httpx.Response(308, headers={"location": "https://elsewhere.example/api/v1/inbox"})

    with pytest.raises(ApiError, match=r"redirects to https://elsewhere\.example"):
        client_answering(handler).inbox()
    assert len(seen) == 1


def test_a_refused_token_is_not_logged_in_but_a_failed_login_is_an_api_error():
    client = client_answering(lambda request: problem(401, "unauthenticated", "invalid token"))
    with pytest.raises(NotLoggedIn):
        client.inbox()
    login = client_answering(lambda r: problem(401, "login_failed", "wrong username or password"))
    with pytest.raises(ApiError) as caught:
        login.login("officer", "x")
    assert caught.value.status == 401 and not isinstance(caught.value, NotLoggedIn)


def test_no_token_is_not_logged_in_without_sending_anything():
    def handler(request):
        raise AssertionError("nothing may be sent without a token")

    with pytest.raises(NotLoggedIn, match="run liaison login"):
        client_answering(handler, token=None).list_reports()


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("garbage"),
        httpx.ReadError("reset"),
        httpx.ProxyError("proxy"),
        httpx.UnsupportedProtocol("gopher"),
    ],
)
def test_httpx_errors_never_leak(exc):
    def handler(request):
        raise exc

    with pytest.raises(LiaisonError) as caught:
        client_answering(handler).list_reports()
    assert isinstance(caught.value, ConnectionFailed)
    assert not isinstance(caught.value, httpx.HTTPError)
    assert caught.value.__cause__ is exc
    assert str(caught.value).startswith("cannot connect to https://iq.example")


def test_ids_are_quoted_into_one_path_segment():
    paths = []

    def handler(request):
        paths.append(request.url.raw_path)
        return httpx.Response(200, json={})

    client = client_answering(handler)
    client.get_report("../admin/users")
    client.get_inbound("a/b?c#d")
    assert paths == [b"/api/v1/reports/..%2Fadmin%2Fusers", b"/api/v1/inbox/a%2Fb%3Fc%23d"]


def test_submit_sends_the_bundle_as_stix_to_each_partner():
    requests = []

    def handler(request):
        requests.append(request)
        return httpx.Response(201, json={"id": "r1"})

    assert client_answering(handler).submit_report(b'{"type": "bundle"}', ["SY", "JO"]) == {
        "id": "r1"
    }
    (request,) = requests
    assert request.url.params.get_list("to") == ["SY", "JO"]
    assert request.headers["content-type"] == "application/stix+json;version=2.1"
    assert request.headers["authorization"] == "Bearer t0ken"
    assert request.content == b'{"type": "bundle"}'


@pytest.mark.parametrize("url", ["iq.example", "ftp://iq.example", "http://", "http://h:99999"])
def test_an_invalid_base_url_is_a_usage_error(url):
    with pytest.raises(UsageError):
        LiaisonClient(url)


def test_audit_filters_are_checked_and_passed():
    seen = []

    def handler(request):
        seen.append(dict(request.url.params))
        return httpx.Response(200, json=[])

    client = client_answering(handler)
    assert client.audit_events(action="auth.login", outcome=None, limit=5) == []
    assert seen == [{"action": "auth.login", "limit": "5"}]
    naive, aware = datetime(2025, 1, 31, 8), datetime(2025, 1, 31, 8, tzinfo=UTC)
    client.audit_events(object_id="r1", since=naive, until=aware, include_unsequenced=True)
    assert seen[-1] == {
        "object_id": "r1",
        "since": "2025-01-31T08:00:00+00:00",
        "until": "2025-01-31T08:00:00+00:00",
        "include_unsequenced": "true",
    }
    with pytest.raises(TypeError):
        client.audit_events(after_id=3)  # the filter of old, gone with the Merkle log


def test_iter_audit_events_pages_by_after_seq_and_stops_at_the_unsequenced():
    log = [{"seq": i} for i in range(7)] + [{"seq": None, "id": 99}]
    asked = []

    def handler(request):
        params = request.url.params
        after, limit = int(params["after_seq"]), int(params["limit"])
        asked.append((after, limit))
        page = [e for e in log if e["seq"] is not None and e["seq"] > after][:limit]
        if params.get("include_unsequenced") == "true" and len(page) < limit:
            page += [e for e in log if e["seq"] is None][: limit - len(page)]
        return httpx.Response(200, json=page)

    client = client_answering(handler)
    assert list(client.iter_audit_events(page_size=3, include_unsequenced=True)) == log
    assert asked == [(-1, 3), (2, 3), (5, 3)]
    asked.clear()
    assert [e["seq"] for e in client.iter_audit_events(limit=4, page_size=3)] == [0, 1, 2, 3]
    assert asked == [(-1, 3), (2, 1)]


def test_iter_audit_events_refuses_pages_of_one():
    # The node records each page read: pages of one record would never reach the end.
    with pytest.raises(ValueError, match="at least 2"):
        next(client_answering(lambda request: httpx.Response(200, json=[])).iter_audit_events(
            page_size=1))  # fmt: skip


def test_iter_audit_events_refuses_a_node_that_repeats_a_page():
    client = client_answering(lambda request: httpx.Response(200, json=[{"seq": 0}, {"seq": 1}]))
    with pytest.raises(ApiError, match="out of order"):
        list(client.iter_audit_events(page_size=2))


def test_audit_answers_of_the_wrong_shape_are_api_errors():
    client = client_answering(lambda request: httpx.Response(200, json={"not": "a list"}))
    with pytest.raises(ApiError, match="not a list"):
        client.audit_events()
    with pytest.raises(ApiError, match="not a JSON object"):
        client_answering(lambda request: httpx.Response(200, json=[])).audit_keys()


def test_the_sdk_against_a_node(cluster):
    """One pass through the real API in-process, as a script would use the SDK."""
    with LiaisonClient(cluster.iq.url, transport=cluster.transport) as admin:
        token = admin.login("admin", PASSWORD)
        assert token and admin.token == token
        assert admin.node_info()["node_id"] == "IQ"
        admin.add_user("erin", "officer", "erin's long password")
        assert "erin" in {u["username"] for u in admin.list_users()}
        assert admin.list_partners() == []
        with pytest.raises(ApiError) as caught:
            admin.add_user("erin", "officer", "erin's long password")
        assert (caught.value.status, caught.value.code) == (409, "conflict")


def test_problem_extension_members_reach_the_api_error():
    decisions = [
        {"partner": "SY", "outcome": "deny", "rule": "outbound.max_tlp", "reason": "too high"},
        {"partner": "JO", "outcome": "allow", "rule": "outbound.allow", "reason": "fine"},
    ]
    denied = client_answering(
        lambda r: problem(403, "policy_denied", "denied", decisions=decisions, instance="/x")
    )
    with pytest.raises(ApiError) as caught:
        denied.submit_report(b"{}", ["SY", "JO"])
    assert caught.value.extra == {"decisions": decisions}
    assert caught.value.decisions() == decisions

    decision = {"allowed": False, "rule": "access.clearance", "reason": "not cleared"}
    refused = client_answering(lambda r: problem(403, "access_denied", "no", decision=decision))
    with pytest.raises(ApiError) as caught:
        refused.get_inbound("i1")
    assert caught.value.decisions() == [decision]

    plain = client_answering(lambda r: problem(404, "not_found", "no", decisions="garbage"))
    with pytest.raises(ApiError) as caught:
        plain.get_release("r1", "SY")
    assert caught.value.decisions() == []


def test_review_and_release_requests():
    seen = []

    def handler(request):
        seen.append((request.method, request.url.raw_path, request.content))
        return httpx.Response(200, json=[] if request.method == "GET" else {})

    client = client_answering(handler)
    client.list_releases(state="held", partner="SY", limit=5)
    client.list_releases()
    client.inbox(status="quarantined")
    client.get_release("../r", "S/Y")
    client.approve_release("r1", "SY", note="ok")
    client.refuse_release("r1", "SY")
    client.accept_quarantined("i1")
    client.reject_quarantined("i1", note="no")
    assert seen == [
        ("GET", b"/api/v1/releases?limit=5&offset=0&state=held&partner=SY", b""),
        ("GET", b"/api/v1/releases?limit=100&offset=0", b""),
        ("GET", b"/api/v1/inbox?limit=100&offset=0&status=quarantined", b""),
        ("GET", b"/api/v1/reports/..%2Fr/releases/S%2FY", b""),
        ("POST", b"/api/v1/reports/r1/releases/SY/approve", b'{"note":"ok"}'),
        ("POST", b"/api/v1/reports/r1/releases/SY/refuse", b"{}"),
        ("POST", b"/api/v1/inbox/i1/accept", b"{}"),
        ("POST", b"/api/v1/inbox/i1/reject", b'{"note":"no"}'),
    ]


def test_add_user_sends_a_clearance_only_when_given():
    bodies = []

    def handler(request):
        bodies.append(json.loads(request.content))
        return httpx.Response(201, json={})

    client = client_answering(handler)
    client.add_user("gina", "officer", "pw", clearance="green")
    client.add_user("al", "auditor", "pw")
    assert bodies == [
        {"username": "gina", "role": "officer", "password": "pw", "clearance": "green"},
        {"username": "al", "role": "auditor", "password": "pw"},
    ]
