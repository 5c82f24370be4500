"""A browser for console tests: cookies, same-origin headers and each form's CSRF token, as a
real browser would send them, over the node's app in-process (``https``, so that ``__Host-``
cookies, which are Secure, are kept and sent)."""

from __future__ import annotations

import re
from html import unescape

import httpx

from tests.twonode import PASSWORD, TestNode

CSRF = re.compile(r'name="csrf" value="([^"]*)"')


class Browser:
    def __init__(self, node: TestNode, *, language: str = "en") -> None:
        self.node = node
        self.origin = f"https://{node.host}"
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=node.app, client=("198.51.100.9", 41000)),  # type: ignore[attr-defined]
            base_url=self.origin,
            headers={"Accept-Language": language, "User-Agent": "console-test"},
        )
        self.page = ""

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    @property
    def csrf(self) -> str:
        found = CSRF.search(self.page)
        assert found, "no form with a CSRF token on the last page"
        return unescape(found.group(1))

    async def get(self, path: str, **kwargs) -> httpx.Response:
        r = await self.http.get(path, headers={"Sec-Fetch-Site": "same-origin"}, **kwargs)
        if r.headers.get("content-type", "").startswith("text/html"):
            self.page = r.text
        return r

    async def follow(self, path: str) -> httpx.Response:
        r = await self.get(path)
        while r.status_code in (303, 307, 308):
            r = await self.get(r.headers["location"])
        return r

    async def post(
        self,
        path: str,
        data: dict | None = None,
        *,
        csrf: bool = True,
        files=None,
        headers: dict | None = None,
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf and "csrf" not in form:
            form["csrf"] = self.csrf
        sent = {"Origin": self.origin, "Sec-Fetch-Site": "same-origin", **(headers or {})}
        r = await self.http.post(path, data=form, files=files, headers=sent)
        if r.headers.get("content-type", "").startswith("text/html"):
            self.page = r.text
        return r

    async def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/console/login")
        r = await self.post("/console/login", {"username": username, "password": password})
        assert r.status_code == 303, r.text
        return await self.follow(r.headers["location"])
