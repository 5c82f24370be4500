"""A person at the web console, in Chromium: one browser context (its own cookies) per user,
logged in through the login form, watched for what must never happen, photographed page by page.

:class:`Console` watches every page it opens and keeps, as problems that fail the test:

* a JavaScript dialog (``alert``, ``confirm``, ``prompt``): the console has no script, so a
  dialog can only be injected script running;
* an uncaught script error, an error in the browser console, a Content-Security-Policy violation
  (reported by a ``securitypolicyviolation`` listener that Playwright installs in every document,
  outside the page's CSP), and a stylesheet, image or other sub-resource that failed to load.

Inside :meth:`Console.deliberate_violations` (the test injects script itself, to see the CSP stop
it) violations are collected apart instead.

Screenshots: :meth:`Console.shoot` saves the page in its current language as
``<folder>/<flow>/<NN>-<page>.<lang>.png``; :meth:`Console.shoot_both` also switches to the
other language with the header's language form, saves that, and switches back.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults.live import PASSWORD, LiveNode

try:  # the tests skip (or fail under CI=true) without it: see conftest.chromium
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Locator, Page, Request
    from playwright.sync_api import Response as PageResponse
except ImportError:  # pragma: no cover - playwright not installed
    Browser = ConsoleMessage = Dialog = Locator = Page = Request = PageResponse = Any

SESSION_COOKIE = "__Host-liaison-session"
ACTION_TIMEOUT_MS = 15_000
WAIT_SECONDS = 60.0
"""How long to reload a page waiting for the nodes to get somewhere (delivery, a checkpoint)."""
VIEWPORT = {"width": 1280, "height": 900}
CSP_MARK = "CSP violation:"
# Installed by Playwright in every document before the page's own content (CDP, not a <script>:
# the page's CSP does not apply to it). Reports violations where the console handler sees them.
WATCH_CSP = f"""
document.addEventListener("securitypolicyviolation", (e) => {{
  console.error(`{CSP_MARK} ${{e.effectiveDirective}} blocked ${{e.blockedURI || "inline"}}`
                + ` in ${{e.documentURI}} (${{e.sourceFile || "-"}}:${{e.lineNumber}})`);
}});
"""


OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const main = document.querySelector("main");
  const sticking = [];
  for (const el of main ? main.querySelectorAll("*") : []) {
    const box = el.getBoundingClientRect();
    const out = box.right > width + 1 || box.left < -1;
    if (el.children.length === 0 && box.width > 0 && out) {
      const text = (el.textContent || "").trim().slice(0, 40);
      sticking.push(`<${el.tagName.toLowerCase()}> "${text}"`);
      if (sticking.length === 2) break;
    }
  }
  const words = main ? main.innerText.split(/\\s+/).filter((w) => w.length > 48) : [];
  const longest = [...new Set(words)].sort((a, b) => b.length - a.length).slice(0, 2);
  return [document.documentElement.scrollWidth - width, sticking, longest];
}"""
"""How far the page is wider than the window, and a few of the elements sticking out."""


class Screenshots:
    """The folder of PNGs a person looks at: ``<root>/<flow>/<NN>-<page>.<lang>.png``, and
    ``<root>/<flow>/noticed.txt`` when something looked wrong (a page wider than the window).

    A flow's folder is emptied when this process first writes to it: each flow (test) runs in
    one process, while pytest-xdist may run other flows in other processes at the same time.
    """

    NOTICED = "noticed.txt"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.taken: list[Path] = []
        self.notes: dict[str, list[str]] = {}
        self._numbers: dict[str, int] = {}

    def next_number(self, flow: str) -> int:
        if flow not in self._numbers:
            folder = self.root / flow
            for old in [*folder.glob("*.png"), folder / self.NOTICED]:
                old.unlink(missing_ok=True)
            self._numbers[flow] = 0
        self._numbers[flow] += 1
        return self._numbers[flow]

    def path(self, flow: str, number: int, name: str, language: str) -> Path:
        folder = self.root / flow
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{number:02d}-{name}.{language}.png"
        self.taken.append(path)
        return path

    def notice(self, flow: str, text: str) -> None:
        self.notes.setdefault(flow, []).append(text)

    def write_notes(self) -> None:
        for flow, notes in self.notes.items():
            (self.root / flow / self.NOTICED).write_text("\n".join(notes) + "\n", "utf-8")


@dataclass
class Console:
    """One user's browser on one node's console."""

    browser: Browser
    node: LiveNode
    flow: str
    shots: Screenshots
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    _deliberate: bool = False

    def __post_init__(self) -> None:
        self.context = self.browser.new_context(
            viewport=VIEWPORT, locale="en-GB", accept_downloads=True
        )
        self.context.set_default_timeout(ACTION_TIMEOUT_MS)
        self.context.add_init_script(WATCH_CSP)
        self.page: Page = self.context.new_page()
        self.page.on("dialog", self._on_dialog)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self._problem(f"script error: {error}"))
        self.page.on("response", self._on_response)
        self.page.on("requestfailed", self._on_request_failed)

    # -- what is watched --

    def _problem(self, text: str) -> None:
        self.problems.append(f"{text} (on {self.page.url})")

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message!r}")
        self._problem(f"a {dialog.type} dialog fired: {dialog.message!r}")
        dialog.dismiss()

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if message.text.startswith("Failed to load resource"):
            # Chromium's line for any answer >= 400: documents are checked by goto/click with
            # the status they should have, sub-resources by _on_response (this also covers
            # /favicon.ico, which Chromium asks for on its own and the console does not serve).
            return
        if self._deliberate and (CSP_MARK in message.text or "Content Security" in message.text):
            self.violations.append(message.text)
            return
        self._problem(f"browser console error: {message.text}")

    def _on_response(self, response: PageResponse) -> None:
        request = response.request
        if response.status >= 400 and request.resource_type != "document":
            self._problem(f"{request.resource_type} {request.url} answered {response.status}")

    def _on_request_failed(self, request: Request) -> None:
        failure = request.failure or "?"
        if request.resource_type == "document" and "ERR_ABORTED" in failure:
            return  # a download, or a navigation replaced by the next one
        if self._deliberate and "ERR_BLOCKED_BY_CSP" in failure:
            self.violations.append(f"{request.url}: {failure}")
            return
        self._problem(f"{request.resource_type} {request.url} failed: {failure}")

    @contextlib.contextmanager
    def deliberate_violations(self) -> Iterator[list[str]]:
        """Collect CSP violations apart (the test provokes them on purpose) while inside."""
        self._deliberate = True
        try:
            yield self.violations
        finally:
            self._deliberate = False

    def assert_clean(self) -> None:
        assert not self.problems, f"{self.flow}: " + "\n".join(self.problems)

    # -- moving around --

    def url(self, path: str) -> str:
        return self.node.url + path

    def goto(self, path: str, *, status: int = 200) -> PageResponse:
        response = self.page.goto(self.url(path))
        assert response is not None, f"GET {path}: no response"
        self._expect_status(f"GET {path}", response, status)
        return response

    def through(self, action: Callable[[], Any], *, status: int = 200) -> PageResponse:
        """Run ``action`` (a click that submits a form or follows a link) and return the page
        it leads to, after any redirects, checking its status."""
        with self.page.expect_navigation() as navigation:
            action()
        response = navigation.value
        assert response is not None, f"{self.flow}: the action led nowhere"
        self._expect_status(f"{response.request.method} {response.url}", response, status)
        return response

    def click(self, locator: Locator, *, status: int = 200) -> PageResponse:
        return self.through(locator.click, status=status)

    def _expect_status(self, what: str, response: PageResponse, status: int) -> None:
        if response.status != status:
            main = self.page.locator("main")
            text = main.inner_text() if main.count() else ""
            raise AssertionError(f"{what} answered {response.status}, not {status}:\n{text}")

    def reload_until(self, selector: str, *, seconds: float = WAIT_SECONDS) -> Locator:
        """Reload the page until ``selector`` matches (a state the nodes reach on their own)."""
        deadline = time.monotonic() + seconds
        while True:
            found = self.page.locator(selector)
            if found.count():
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.flow}: {selector!r} did not appear on {self.page.url} within "
                    f"{seconds:.0f} s:\n{self.page.locator('main').inner_text()}\n"
                    f"server logs:\n{self.node.log_tail(lines=15)}"
                )
            time.sleep(0.5)
            response = self.page.reload()
            assert response is not None and response.status == 200, self.page.url

    # -- logging in, languages --

    def login(self, username: str, password: str = PASSWORD, *, language: str = "en") -> None:
        """Log in with the login form, then make sure the pages are in ``language`` (the
        account keeps the language its user chose last time)."""
        self.goto("/console/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.click(self.page.locator("main form button[type=submit]"))
        assert "/console/login" not in self.page.url, self.page.locator("main").inner_text()
        if self.language != language:
            self.switch(language)

    def session_cookie(self) -> dict[str, Any] | None:
        for cookie in self.context.cookies(self.node.url):
            if cookie["name"] == SESSION_COOKIE:
                return dict(cookie)
        return None

    @property
    def language(self) -> str:
        return self.page.locator("html").get_attribute("lang") or ""

    @property
    def direction(self) -> str:
        return self.page.locator("html").get_attribute("dir") or ""

    def switch(self, language: str, *, status: int = 200) -> None:
        """Choose ``language`` in the header's form (every page has it) and press the button:
        the same page comes back (with ``status``) in that language."""
        self.page.select_option("#language", language)
        self.click(self.page.locator("form:has(#language) button[type=submit]"), status=status)
        assert self.language == language, f"the page is in {self.language!r}, not {language!r}"
        assert self.direction == ("rtl" if language == "ar" else "ltr")

    # -- screenshots --

    def shoot(self, name: str, *, number: int | None = None) -> Path:
        """The whole page, as it is now, in its language."""
        number = number or self.shots.next_number(self.flow)
        path = self.shots.path(self.flow, number, name, self.language)
        self.page.screenshot(path=str(path), full_page=True)
        overflow, sticking, unbroken = self.page.evaluate(OVERFLOW)
        if overflow > 0:
            self.shots.notice(
                self.flow,
                f"{path.relative_to(self.shots.root)} ({self.page.url.removeprefix(self.node.url)}"
                f"): {overflow} px wider than the {VIEWPORT['width']} px window; sticking out: "
                f"{', '.join(sticking) or '-'}; longest unbreakable text: "
                f"{', '.join(w[:60] + '…' for w in unbroken) or '-'}",
            )
        return path

    def shoot_both(self, name: str, *, reopen: tuple[str, int] | None = None) -> None:
        """The page in its language, then in the other one, then back to the first: the header's
        switch comes back to the page it was pressed on (a GET page). With ``reopen`` (path,
        status), the page is opened again after each switch instead (an error page, whose
        switch only sets the language cookie and leads to the user's first page)."""
        number = self.shots.next_number(self.flow)
        first = self.language
        self.shoot(name, number=number)
        for language in ("ar" if first == "en" else "en", first):
            if reopen is None:
                self.switch(language)
            else:
                self.page.select_option("#language", language)
                self.click(self.page.locator("form:has(#language) button[type=submit]"))
                self.goto(reopen[0], status=reopen[1])
                assert self.language == language, f"{reopen[0]} is not in {language!r}"
            if language != first:
                self.shoot(name, number=number)

    def close(self) -> None:
        self.context.close()
