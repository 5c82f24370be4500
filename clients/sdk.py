"""The Python SDK of a liaison node's officer, auditor and admin API (synchronous, httpx).

    with LiaisonClient("https://iq.example", token) as node:
        report = node.submit_report(path.read_bytes(), to=["SY"])

Every method raises only :mod:`clients.errors`: :class:`ApiError` when the node answers with an
error (its RFC 9457 problem+json parsed into ``status``, ``code``, ``detail`` and ``errors``),
:class:`NotLoggedIn` when there is no token or the node refuses it, :class:`ConnectionFailed` when
the node cannot be reached, :class:`UsageError` for an invalid base URL. Redirects are not
followed, so a token is only ever sent to the URL it was issued for.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from clients.errors import ApiError, ConnectionFailed, NotLoggedIn, UsageError

STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
DEFAULT_TIMEOUT = 30.0
_AUDIT_FILTERS = frozenset({"action", "actor", "outcome", "after_id", "limit"})


def check_url(url: str) -> str:
    """Return ``url`` without a trailing slash if it is an http(s) URL with a host.

    Raises:
        UsageError: anything else.
    """
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError as exc:
        raise UsageError(f"invalid node URL {url!r}: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"invalid node URL {url!r}: use http(s)://host[:port]")
    if parts.query or parts.fragment:
        raise UsageError(f"invalid node URL {url!r}: no query or fragment")
    return url.rstrip("/")


def _segment(value: str) -> str:
    """A path segment: ids are quoted so that ``../admin`` cannot reach another endpoint."""
    return quote(str(value), safe="")


class LiaisonClient:
    """A session with one node. ``token`` is the bearer token from :meth:`login`, if any.

    ``transport`` replaces httpx's network transport (tests bind the client to in-process apps).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = check_url(base_url)
        self.token = token or None
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LiaisonClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the transport boundary: every httpx error is translated here --

    def _request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        params: Any = None,
        json_body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        raw: bool = False,
    ) -> Any:
        """The answer's JSON, or its bytes with ``raw``."""
        headers: dict[str, str] = {}
        if auth:
            if not self.token:
                raise NotLoggedIn()
            headers["Authorization"] = f"Bearer {self.token}"
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = self._http.request(
                method, path, params=params, json=json_body, content=content, headers=headers
            )
        except httpx.InvalidURL as exc:
            raise UsageError(f"invalid request URL: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise ConnectionFailed(f"cannot connect to {self.base_url}: timed out") from exc
        except httpx.HTTPError as exc:
            reason = str(exc) or exc.__class__.__name__
            raise ConnectionFailed(f"cannot connect to {self.base_url}: {reason}") from exc
        if response.status_code >= 400:
            raise self._error(response, auth=auth)
        if response.is_redirect:  # not followed: the token must not travel to another URL
            location = response.headers.get("location", "?")
            raise ApiError(
                response.status_code,
                "redirect",
                f"the node redirects to {location}: use the final URL as the node URL",
            )
        if raw:
            return response.content
        try:
            return response.json()
        except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError
            raise ApiError(
                response.status_code,
                "bad_response",
                f"the node answered HTTP {response.status_code} with a body that is not JSON",
            ) from exc

    def _error(self, response: httpx.Response, *, auth: bool) -> Exception:
        status = response.status_code
        code, detail, errors = "http_error", f"the node answered HTTP {status}", []
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            code = str(body.get("code") or code)
            detail = str(body.get("detail") or body.get("title") or detail)
            raw = body.get("errors")
            if isinstance(raw, list):
                errors = [e if isinstance(e, str) else json.dumps(e) for e in raw]
        if status == 401 and auth:
            return NotLoggedIn("the node refused the token: it expired or is no longer valid")
        return ApiError(status, code, detail, errors=errors)

    # -- officer --

    def authenticate(self, username: str, password: str) -> dict[str, Any]:
        """Log in; keeps the token and returns the whole answer (``access_token``,
        ``expires_in``, ``role``).

        Raises:
            ApiError: wrong username or password (status 401, code ``login_failed``).
        """
        answer: dict[str, Any] = self._request(
            "POST",
            "/api/v1/auth/login",
            auth=False,
            json_body={"username": username, "password": password},
        )
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise ApiError(200, "bad_response", "the login answer carries no token")
        self.token = token
        return answer

    def login(self, username: str, password: str) -> str:
        """Log in and return the bearer token (also kept for the following calls)."""
        return str(self.authenticate(username, password)["access_token"])

    def policy_check(self, data: bytes, partner: str) -> dict[str, Any]:
        """What ``partner`` would receive of this bundle, by which rule (nothing is submitted).

        Raises:
            ApiError: 422 for invalid STIX; 404 ``no_policy`` when no policy covers the partner.
        """
        result: dict[str, Any] = self._request(
            "POST",
            "/api/v1/policy/check",
            params={"partner": partner},
            content=data,
            content_type=STIX_MEDIA_TYPE,
        )
        return result

    def submit_report(self, data: bytes, to: list[str]) -> dict[str, Any]:
        """Submit a STIX 2.1 bundle for delivery to the partner node ids in ``to``.

        Raises:
            ApiError: 422 with the validator's messages in ``errors`` for invalid or unmarked
                STIX; 404 for a partner that is not pinned.
        """
        result: dict[str, Any] = self._request(
            "POST",
            "/api/v1/reports",
            params=[("to", node_id) for node_id in to],
            content=data,
            content_type=STIX_MEDIA_TYPE,
        )
        return result

    def list_reports(self, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request(
            "GET", "/api/v1/reports", params={"limit": limit, "offset": offset}
        )
        return result

    def get_report(self, report_id: str) -> dict[str, Any]:
        """A report's metadata and delivery state per partner (no content, not a read)."""
        result: dict[str, Any] = self._request("GET", f"/api/v1/reports/{_segment(report_id)}")
        return result

    def get_report_bundle(self, report_id: str) -> dict[str, Any]:
        """The submitted bundle itself (recorded by the node as a read)."""
        path = f"/api/v1/reports/{_segment(report_id)}/bundle"
        result: dict[str, Any] = self._request("GET", path)
        return result

    def inbox(self, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request(
            "GET", "/api/v1/inbox", params={"limit": limit, "offset": offset}
        )
        return result

    def get_inbound(self, inbound_id: str) -> dict[str, Any]:
        """A received report's metadata (no content)."""
        result: dict[str, Any] = self._request("GET", f"/api/v1/inbox/{_segment(inbound_id)}")
        return result

    def get_inbound_bundle(self, inbound_id: str) -> dict[str, Any]:
        """A received bundle; the node re-verifies the partner's signatures and records the read."""
        path = f"/api/v1/inbox/{_segment(inbound_id)}/bundle"
        result: dict[str, Any] = self._request("GET", path)
        return result

    # -- the node --

    def node_info(self) -> dict[str, Any]:
        """The node's id, name, fingerprint and public URL (no login needed)."""
        result: dict[str, Any] = self._request("GET", "/api/v1/node", auth=False)
        return result

    # -- admin --

    def add_user(self, username: str, role: str, password: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "POST",
            "/api/v1/admin/users",
            json_body={"username": username, "role": role, "password": password},
        )
        return result

    def list_users(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/api/v1/admin/users")
        return result

    def add_partner(
        self, node_id: str, url: str, fingerprint: str, name: str = ""
    ) -> dict[str, Any]:
        """Have the node fetch the partner's key document from ``url`` and pin it.

        Raises:
            ApiError: 422 ``fingerprint_mismatch`` when the document does not match
                ``fingerprint`` (nothing is pinned), 409 if already pinned, 502 if unreachable.
        """
        result: dict[str, Any] = self._request(
            "POST",
            "/api/v1/admin/partners",
            json_body={"node_id": node_id, "url": url, "fingerprint": fingerprint, "name": name},
        )
        return result

    def partner_status(self, node_id: str) -> dict[str, Any]:
        """Backlog, last success and error towards a partner, and what arrived from it (admin)."""
        path = f"/api/v1/admin/partners/{_segment(node_id)}/status"
        result: dict[str, Any] = self._request("GET", path)
        return result

    def list_partners(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/api/v1/admin/partners")
        return result

    def courier_export(self, partner: str, *, after: int = 0, limit: int | None = None) -> bytes:
        """The envelopes file for ``partner`` (docs/protocol.md section 8): its deliveries not yet
        acknowledged, sealed, with ``seq > after``; the node marks them sent by courier.

        Raises:
            ApiError: 404 for a partner that is not pinned; 409 ``partner_keys_expired`` when
                none of its pinned encryption keys is valid now.
        """
        body: dict[str, Any] = {"partner": partner, "after": after}
        if limit is not None:
            body["limit"] = limit
        data: bytes = self._request(
            "POST", "/api/v1/admin/courier/export", json_body=body, raw=True
        )
        return data

    def courier_import(self, data: bytes) -> dict[str, Any]:
        """Apply a courier file. For an envelopes file the answer holds ``received``,
        ``duplicates``, ``refused`` (``index`` and ``reason`` each) and ``receipts_file``, the
        receipts file to carry back; for a receipts file ``accepted``, ``unknown`` and
        ``invalid``. ``kind`` says which.

        Raises:
            ApiError: 422 for a file that is not a courier file for this node from a pinned
                partner (codes ``invalid_courier_file``, ``not_for_this_node``,
                ``unknown_partner``); 413 over the size limit.
        """
        result: dict[str, Any] = self._request(
            "POST",
            "/api/v1/admin/courier/import",
            content=data,
            content_type="application/json",
        )
        return result

    # -- auditor --

    def audit_events(self, **filters: Any) -> list[dict[str, Any]]:
        """Audit events, oldest first; filters: action, actor, outcome, after_id, limit.

        Raises:
            TypeError: an unknown filter (a programming error, not a node error).
        """
        unknown = set(filters) - _AUDIT_FILTERS
        if unknown:
            raise TypeError(f"unknown audit filters: {', '.join(sorted(unknown))}")
        params = {k: v for k, v in filters.items() if v is not None}
        result: list[dict[str, Any]] = self._request("GET", "/api/v1/audit/events", params=params)
        return result
