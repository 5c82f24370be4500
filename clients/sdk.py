"""The Python SDK of a liaison node's officer, auditor and admin API (synchronous, httpx).

    with LiaisonClient("https://iq.example", token) as node:
        report = node.submit_report(path.read_bytes(), to=["SY"])

Every method raises only :mod:`clients.errors`: :class:`ApiError` when the node answers with an
error (its RFC 9457 problem+json parsed into ``status``, ``code``, ``detail`` and ``errors``, and
any other member into ``extra``, such as the ``decisions`` of a sharing-policy refusal),
:class:`NotLoggedIn` when there is no token or the node refuses it, :class:`ConnectionFailed` when
the node cannot be reached, :class:`UsageError` for an invalid base URL. Redirects are not
followed, so a token is only ever sent to the URL it was issued for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from clients.errors import ApiError, ConnectionFailed, NotLoggedIn, UsageError

STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
DEFAULT_TIMEOUT = 30.0
_AUDIT_FILTERS = frozenset(
    {"action", "actor", "object_id", "object_type", "outcome", "since", "until", "after_seq",
     "limit", "include_unsequenced"}
)  # fmt: skip
MAX_AUDIT_PAGE = 5000
"""The most records the node returns in one page of ``GET /api/v1/audit/events``."""
MAX_CHECKPOINTS = 100_000
"""The most checkpoints the node lists in one answer (it has no cursor for more)."""
_PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "code", "errors", "instance"})


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
        extra: dict[str, Any] = {}
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
            extra = {k: v for k, v in body.items() if k not in _PROBLEM_MEMBERS}
        if status == 401 and auth:
            return NotLoggedIn("the node refused the token: it expired or is no longer valid")
        return ApiError(status, code, detail, errors=errors, extra=extra)

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

        Each partner's sharing policy decides what it receives: every entry of ``deliveries``
        has its ``outcome`` (``allow``, ``redact`` or ``hold``) and ``state`` (``held`` waits
        for a releaser's approval, and has no ``seq`` yet).

        Raises:
            ApiError: 422 with the validator's messages in ``errors`` for invalid or unmarked
                STIX; 404 for a partner that is not pinned; 403 ``policy_denied`` when a policy
                denies the release to any partner (nothing is submitted; ``extra["decisions"]``
                holds every partner's decision record).
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

    def inbox(
        self, *, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Received reports the caller may read: the inbox (``status`` None or ``accepted``),
        the quarantine (``quarantined``: held by the inbound policy for review) or
        ``rejected`` ones, newest first."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status is not None:
            params["status"] = status
        result: list[dict[str, Any]] = self._request("GET", "/api/v1/inbox", params=params)
        return result

    def get_inbound(self, inbound_id: str) -> dict[str, Any]:
        """A received report's metadata and inbound decision: ``status``, ``rule``, ``reason``,
        ``findings`` (no content).

        Raises:
            ApiError: 403 ``access_denied`` above the caller's clearance (``extra["decision"]``).
        """
        result: dict[str, Any] = self._request("GET", f"/api/v1/inbox/{_segment(inbound_id)}")
        return result

    def accept_quarantined(self, inbound_id: str, note: str | None = None) -> dict[str, Any]:
        """Accept a quarantined report into the inbox; ``note`` goes to the audit log.

        Raises:
            ApiError: 409 ``not_quarantined``; 403 ``access_denied`` when the caller may not
                read the report (accepting needs reading).
        """
        return self._review(f"/api/v1/inbox/{_segment(inbound_id)}/accept", note)

    def reject_quarantined(self, inbound_id: str, note: str | None = None) -> dict[str, Any]:
        """Reject a quarantined report: it stays stored, out of the inbox for good.

        Raises:
            ApiError: 409 ``not_quarantined``.
        """
        return self._review(f"/api/v1/inbox/{_segment(inbound_id)}/reject", note)

    # -- releases (the sharing-policy decision per report and partner) --

    def list_releases(
        self,
        *,
        state: str | None = None,
        partner: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Releases of submitted reports, newest first, with the decision behind each; filter
        by ``state`` (``held``: waiting for a releaser) and ``partner``. Auditors get no
        ``title``."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if state is not None:
            params["state"] = state
        if partner is not None:
            params["partner"] = partner
        result: list[dict[str, Any]] = self._request("GET", "/api/v1/releases", params=params)
        return result

    def get_release(self, report_id: str, partner: str) -> dict[str, Any]:
        """One release in full: the ``decision`` record (every rule's step, every removal), the
        ``diff`` from the submitted bundle to what the partner receives, and that ``released``
        bundle (None when withheld). Recorded by the node as a read.

        Raises:
            ApiError: 404 no such release; 403 ``access_denied`` above the caller's clearance.
        """
        result: dict[str, Any] = self._request("GET", self._release_path(report_id, partner))
        return result

    def approve_release(
        self, report_id: str, partner: str, note: str | None = None
    ) -> dict[str, Any]:
        """Approve a held release (releaser role, not the submitter). The node decides again
        with the policy loaded now and queues the release, or withholds it if that denies.

        Raises:
            ApiError: 403 ``two_person`` (not a releaser, or the submitter), 409 ``not_held``,
                403 ``policy_denied`` (the policy now denies it: withheld), 403
                ``access_denied`` (above the caller's clearance).
        """
        return self._review(self._release_path(report_id, partner) + "/approve", note)

    def refuse_release(
        self, report_id: str, partner: str, note: str | None = None
    ) -> dict[str, Any]:
        """Refuse a held release (releaser role, not the submitter): it is withheld for good.

        Raises:
            ApiError: 403 ``two_person``, 409 ``not_held``.
        """
        return self._review(self._release_path(report_id, partner) + "/refuse", note)

    @staticmethod
    def _release_path(report_id: str, partner: str) -> str:
        return f"/api/v1/reports/{_segment(report_id)}/releases/{_segment(partner)}"

    def _review(self, path: str, note: str | None) -> dict[str, Any]:
        body = {} if note is None else {"note": note}
        result: dict[str, Any] = self._request("POST", path, json_body=body)
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

    def add_user(
        self, username: str, role: str, password: str, clearance: str | None = None
    ) -> dict[str, Any]:
        """Create a user. Officers and releasers read reports up to ``clearance`` (a TLP level:
        ``clear``, ``green``, ``amber``, ``amber+strict``, ``red``; the node's default when
        None); other roles take none.

        Raises:
            ApiError: 400 invalid name, role, clearance or a weak password; 409 a taken name.
        """
        body: dict[str, Any] = {"username": username, "role": role, "password": password}
        if clearance is not None:
            body["clearance"] = clearance
        result: dict[str, Any] = self._request("POST", "/api/v1/admin/users", json_body=body)
        return result

    # -- drafts (imports, and what platforms posted over TAXII) --

    def import_draft(self, data: bytes) -> dict[str, Any]:
        """Import a bundle or envelope as a draft; returns it with the normaliser's changes."""
        return _object(self._request("POST", "/api/v1/drafts", content=data,
                                     content_type="application/stix+json"))  # fmt: skip

    def list_drafts(self, *, state: str = "open", limit: int = 100) -> list[dict[str, Any]]:
        params = {"state": state, "limit": limit}
        return _list_of_objects(self._request("GET", "/api/v1/drafts", params=params))

    def get_draft(self, draft_id: str) -> dict[str, Any]:
        return _object(self._request("GET", f"/api/v1/drafts/{_segment(draft_id)}"))

    def get_draft_bundle(self, draft_id: str) -> dict[str, Any]:
        return _object(self._request("GET", f"/api/v1/drafts/{_segment(draft_id)}/bundle"))

    def submit_draft(
        self,
        draft_id: str,
        to: list[str],
        *,
        mark_unmarked: str | None = None,
        confirm_changes: bool = False,
    ) -> dict[str, Any]:
        """Submit a draft as a report (the changes must be confirmed if the import made any)."""
        body = {"to": to, "mark_unmarked": mark_unmarked, "confirm_changes": confirm_changes}
        path = f"/api/v1/drafts/{_segment(draft_id)}/submit"
        return _object(self._request("POST", path, json_body=body))

    def discard_draft(self, draft_id: str) -> dict[str, Any]:
        return _object(self._request("POST", f"/api/v1/drafts/{_segment(draft_id)}/discard"))

    # -- integrations (admin) --

    def add_integration(
        self,
        name: str,
        *,
        partners: list[str],
        read: bool,
        write: bool,
        clearance: str,
        collections: list[str] | None = None,
        label: str = "",
    ) -> dict[str, Any]:
        """Create a TAXII credential; the answer carries its secret, this once."""
        body = {
            "name": name,
            "partners": partners,
            "read": read,
            "write": write,
            "clearance": clearance,
            "collections": collections or [],
            "label": label,
        }
        return _object(self._request("POST", "/api/v1/admin/integrations", json_body=body))

    def list_integrations(self) -> list[dict[str, Any]]:
        return _list_of_objects(self._request("GET", "/api/v1/admin/integrations"))

    def revoke_integration(self, name: str) -> dict[str, Any]:
        path = f"/api/v1/admin/integrations/{_segment(name)}/revoke"
        return _object(self._request("POST", path))

    def list_users(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/api/v1/admin/users")
        return result

    def _user_action(
        self, username: str, action: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        path = f"/api/v1/admin/users/{_segment(username)}/{action}"
        return _object(self._request("POST", path, json_body=body))

    def disable_user(self, username: str) -> dict[str, Any]:
        """Disable an account; its tokens and console sessions end at once.

        Raises:
            ApiError: 404 no such user; 409 already disabled, or the last administrator.
        """
        return self._user_action(username, "disable")

    def enable_user(self, username: str) -> dict[str, Any]:
        return self._user_action(username, "enable")

    def set_password(self, username: str, password: str) -> dict[str, Any]:
        """Set a user's password; their tokens and console sessions end at once."""
        return self._user_action(username, "password", {"password": password})

    def set_role(self, username: str, role: str) -> dict[str, Any]:
        """Change a user's role; their tokens and console sessions end at once."""
        return self._user_action(username, "role", {"role": role})

    def set_clearance(self, username: str, clearance: str) -> dict[str, Any]:
        return self._user_action(username, "clearance", {"clearance": clearance})

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

    def suspend_partner(
        self, node_id: str, *, compromised_since: str | None = None, reason: str = ""
    ) -> dict[str, Any]:
        """Suspend a partner whose keys may be in other hands (admin): nothing is sent to it,
        nothing it signs is accepted; with ``compromised_since`` (RFC 3339), what it signed from
        then on goes back to quarantine.

        Raises:
            ApiError: 404 no such partner; 409 already suspended; 422 a malformed time.
        """
        body: dict[str, Any] = {"reason": reason}
        if compromised_since is not None:
            body["compromised_since"] = compromised_since
        path = f"/api/v1/admin/partners/{_segment(node_id)}/suspend"
        return _object(self._request("POST", path, json_body=body))

    def reload_keys(self) -> dict[str, Any]:
        """Make the node read its key file again after a rotation (admin)."""
        return _object(self._request("POST", "/api/v1/admin/node/reload-keys"))

    def data_keys(self) -> dict[str, Any]:
        """Which data keys seal what, and how far the re-seal after a rotation has gone (admin)."""
        return _object(self._request("GET", "/api/v1/admin/node/data-keys"))

    def partner_damage(self, node_id: str, since: str) -> dict[str, Any]:
        """What a partner's keys copied at ``since`` (RFC 3339) could expose or forge (admin)."""
        path = f"/api/v1/admin/partners/{_segment(node_id)}/damage"
        return _object(self._request("GET", path, params={"since": since}))

    def resume_partner(self, node_id: str) -> dict[str, Any]:
        """End a partner's suspension (admin): the held deliveries go out."""
        path = f"/api/v1/admin/partners/{_segment(node_id)}/resume"
        return _object(self._request("POST", path))

    def repin_partner(self, node_id: str, url: str, fingerprint: str) -> dict[str, Any]:
        """Pin a partner's new signing identity (admin): the node fetches its key document from
        ``url`` and pins it if ``fingerprint`` matches; what its old keys signed since a recorded
        compromise is distrusted.

        Raises:
            ApiError: 422 ``fingerprint_mismatch`` (nothing changed), 409 ``same_key``, 404 no
                such partner, 502 unreachable.
        """
        path = f"/api/v1/admin/partners/{_segment(node_id)}/repin"
        body = {"url": url, "fingerprint": fingerprint}
        return _object(self._request("POST", path, json_body=body))

    def remove_partner(self, node_id: str) -> dict[str, Any]:
        """End the partnership (admin): undelivered reports withdrawn, records kept.

        Raises:
            ApiError: 404 no such partner; 409 ``already_removed``.
        """
        path = f"/api/v1/admin/partners/{_segment(node_id)}/remove"
        return _object(self._request("POST", path))

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
        """One page of the audit log in log order (``seq``), each record with the leaf hash the
        node's Merkle tree holds for it (``leaf_hash``, base64url) and ``at_us``.

        Filters: ``action`` (exact, or a prefix ending with ``*``), ``actor``, ``object_id``,
        ``object_type``, ``outcome`` (allowed, denied, error), ``since`` and ``until`` (datetimes
        or ISO 8601 strings; a naive datetime is taken as UTC), ``after_seq`` (default -1),
        ``limit`` (at most 5000, default 200), ``include_unsequenced`` (records written outside
        the log follow the others). None leaves a filter out.

        Raises:
            TypeError: an unknown filter (a programming error, not a node error).
            ApiError: 422 for an invalid filter value.
        """
        unknown = set(filters) - _AUDIT_FILTERS
        if unknown:
            raise TypeError(f"unknown audit filters: {', '.join(sorted(unknown))}")
        params = {k: _param(v) for k, v in filters.items() if v is not None}
        return _list_of_objects(self._request("GET", "/api/v1/audit/events", params=params))

    def iter_audit_events(
        self, *, limit: int | None = None, page_size: int = MAX_AUDIT_PAGE, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        """Every record that matches ``filters`` (as :meth:`audit_events`), page by page by
        ``after_seq``; at most ``limit`` of them (None: all).

        Records without a place in the log (``include_unsequenced``) come after the last
        sequenced one, and only as many as fit in that last page: the API has no cursor for them.

        The node records each page read as a record of its own (``audit.read``), at the end of
        the log: reading to the end includes those of the earlier pages.

        Raises:
            TypeError: an unknown filter.
            ValueError: ``page_size`` below 2.
            ApiError: the node answers out of order (the same page twice), or an error.
        """
        if page_size < 2:
            # The node records every read of the log, one record a page: pages of one would
            # chase their own records for ever.
            raise ValueError("page_size must be at least 2")
        after = filters.pop("after_seq", None)
        after = -1 if after is None else after
        remaining = limit
        while remaining is None or remaining > 0:
            size = page_size if remaining is None else min(page_size, remaining)
            page = self.audit_events(**filters, after_seq=after, limit=size)
            yield from page
            if remaining is not None:
                remaining -= len(page)
            sequenced = [e.get("seq") for e in page if e.get("seq") is not None]
            if len(page) < size or len(sequenced) < len(page):
                return  # the last page (or the unsequenced records after it)
            last = sequenced[-1]
            if not isinstance(last, int) or isinstance(last, bool) or last <= after:
                raise ApiError(200, "bad_response", "the node's audit pages are out of order")
            after = last

    def start_audit_export(self) -> dict[str, Any]:
        """Tell the node an export starts (it records ``audit.export``); its answer holds the
        log's ``size`` now, every ``checkpoints`` entry (as :meth:`audit_checkpoints`) and the
        ``keys`` (as :meth:`audit_keys`). The records follow through :meth:`iter_audit_events`."""
        return _object(self._request("POST", "/api/v1/audit/exports"))

    def audit_keys(self) -> dict[str, Any]:
        """The keys to check the log with: ``node_id``, ``checkpoint_key`` (a C2SP verifier key),
        ``identity`` (``ed25519``, ``ml_dsa_65``, base64url), ``fingerprint`` and ``witnesses``
        (per partner: ``cosignature_key``, ``identity``, ``fingerprint``). Unverified:
        :func:`clients.auditcheck.check_keys` checks them against a fingerprint."""
        return _object(self._request("GET", "/api/v1/audit/keys"))

    def audit_checkpoints(self, *, limit: int = MAX_CHECKPOINTS) -> list[dict[str, Any]]:
        """The checkpoints the node signed, smallest first (``size``, ``root``, ``signed_at``,
        ``note``, ``cosignatures`` as ``[{witness, line}]``, ``cosigned_note``)."""
        return _list_of_objects(
            self._request("GET", "/api/v1/audit/checkpoints", params={"limit": limit})
        )

    def latest_audit_checkpoint(self) -> dict[str, Any]:
        """The largest checkpoint signed so far.

        Raises:
            ApiError: 404 ``no_checkpoint`` before the first.
        """
        return _object(self._request("GET", "/api/v1/audit/checkpoints/latest"))

    def sign_audit_checkpoint(self) -> dict[str, Any]:
        """Have the node sign a checkpoint of its log now (or get the latest, if it covers it).

        Raises:
            ApiError: 404 ``empty_log`` when there is nothing to sign.
        """
        return _object(self._request("POST", "/api/v1/audit/checkpoints"))

    def audit_proof(self, seq: int, *, size: int | None = None) -> dict[str, Any]:
        """A ``liaison-audit-proof/1`` document: record ``seq``, its RFC 9162 inclusion proof in
        the checkpoint of ``size`` (default the latest), that checkpoint with its cosignatures,
        and the keys; everything :func:`clients.auditcheck.check_proof` needs offline.

        Raises:
            ApiError: 404 ``no_record``, ``no_checkpoint`` or ``not_checkpointed``.
        """
        params = {} if size is None else {"size": size}
        path = f"/api/v1/audit/proof/{_segment(str(seq))}"
        return _object(self._request("GET", path, params=params))

    def audit_consistency(self, first: int, second: int) -> dict[str, Any]:
        """The RFC 9162 consistency proof between the node's checkpoints of two sizes."""
        params = {"from": first, "to": second}
        return _object(self._request("GET", "/api/v1/audit/consistency", params=params))

    def audit_self_check(self) -> dict[str, Any]:
        """The node's own verification of its log (``ok``, ``records``, ``failure``...). An
        auditor should not rely on it: ``liaison audit verify`` repeats it client-side."""
        return _object(self._request("GET", "/api/v1/audit/verify"))

    def audit_alerts(self) -> list[dict[str, Any]]:
        """Evidence the node found, as a witness, that a partner's log shrank or forked."""
        return _list_of_objects(self._request("GET", "/api/v1/audit/alerts"))

    def audit_reconcile(self, partner: str) -> dict[str, Any]:
        """What the node sent ``partner`` against what the partner signed as received, and the
        reverse: ``sent`` (``matched``, ``pending``), ``received`` (``matched``) and
        ``discrepancies`` (``direction``, ``message_id``, ``seq``, ``kind``, ``detail``).

        Raises:
            ApiError: 404 for a partner that is not pinned; an error status when the node
                cannot ask it (unreachable, or its answer does not verify).
        """
        answer = self._request("GET", "/api/v1/audit/reconcile", params={"partner": partner})
        return _object(answer)


def _param(value: Any) -> Any:
    """A query value: datetimes as ISO 8601 with their offset (naive ones taken as UTC)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return value


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(200, "bad_response", "the node's answer is not a JSON object")
    return value


def _list_of_objects(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ApiError(200, "bad_response", "the node's answer is not a list of JSON objects")
    return value
