"""Fixtures for the browser tests: Debian's Chromium driven by Playwright for Python, against two
real ``liaison serve`` processes.

* ``chromium`` (session): the browser, launched from ``/usr/bin/chromium`` (or
  ``$LIAISON_TEST_CHROMIUM``; Playwright never downloads one here). Without Chromium or the
  ``playwright`` package the tests skip with the reason; under ``CI=true`` they fail instead,
  since CI must run them (``.ci/run`` installs Chromium). Pointing ``LIAISON_TEST_CHROMIUM`` at
  a missing path is how to see the skip.
* ``live`` (module): IQ (Baghdad) and SY (Damascus) as real servers on loopback ports
  (:class:`tests.faults.live.LiveNode`: fresh data dirs, SQLite, set up through
  ``clients.local``), pinned to each other, running the reference sharing policies of
  ``policies/examples`` (AMBER+STRICT waits for a releaser; sources are redacted), with users
  ``officer``, ``desk-chief`` (releaser), ``auditor`` and ``admin`` on each side, and short
  checkpoint and witness intervals so that a proof exists within seconds.
* ``open_console``: ``open_console(node, flow)`` gives a :class:`tests.browser.console.Console`
  (a browser context of its own); each is checked clean and closed when the test ends.

Screenshots go to ``test-output/console-screenshots/<flow>/`` (or under
``$LIAISON_TEST_SCREENSHOTS``), each flow's folder emptied of the previous run's first; the
folder, and what was noticed on the pages (``<flow>/noticed.txt``), is printed at the end of the
run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser.console import Console, Screenshots
from tests.faults.live import LiveNode

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ENV = "LIAISON_TEST_CHROMIUM"
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS_ENV = "LIAISON_TEST_SCREENSHOTS"
SCREENSHOTS = ROOT / "test-output" / "console-screenshots"
REFERENCE_POLICIES = ROOT / "policies" / "examples"
USERS = (("desk-chief", "releaser"), ("auditor", "auditor"), ("admin", "admin"))
"""Besides the ``officer`` every LiveNode has."""


def screenshot_folder() -> Path:
    return Path(os.environ.get(SCREENSHOTS_ENV) or SCREENSHOTS)


def unavailable(reason: str) -> None:
    """Skip, or fail under ``CI=true``: CI must run the browser tests."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true the browser tests must run (.ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    path = Path(os.environ.get(CHROMIUM_ENV) or CHROMIUM)
    if not path.is_file():
        unavailable(f"no Chromium at {path} (apt-get install chromium, or set {CHROMIUM_ENV})")
    # Root (CI, this container) cannot use Chromium's user-namespace sandbox.
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(path), args=args)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Iterator[Screenshots]:
    """The screenshot folder. Run in one process, the previous run's PNGs are removed first
    (under pytest-xdist each flow's folder is emptied when its flow starts, see Screenshots)."""
    folder = screenshot_folder()
    if "PYTEST_XDIST_WORKER" not in os.environ and folder.is_dir():
        for old in [*folder.glob("*/*.png"), *folder.glob(f"*/{Screenshots.NOTICED}")]:
            old.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    shots = Screenshots(folder)
    yield shots
    shots.write_notes()


class ConsoleNode(LiveNode):
    """A fault-test node with checkpoints and witnessing every 2 s (default: every minute), so
    that an auditor has a proof, cosigned, seconds after something happened."""

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(
            LIAISON_CHECKPOINT_INTERVAL_SECONDS="2",
            LIAISON_WITNESS_INTERVAL_SECONDS="2",
        )
        return env


@dataclass
class Pair:
    iq: ConsoleNode
    sy: ConsoleNode


def _reference_policies(node: LiveNode) -> None:
    """Replace the open test policies with the reference ones of ``policies/examples``."""
    policies = node.data_dir / "policies"
    for old in policies.glob("*.toml"):
        old.unlink()
    for reference in (REFERENCE_POLICIES / node.node_id).glob("*.toml"):
        shutil.copyfile(reference, policies / reference.name)


@pytest.fixture(scope="module")
def live(chromium: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("console")
    iq = ConsoleNode("IQ", "Baghdad", root, "sqlite")
    sy = ConsoleNode("SY", "Damascus", root, "sqlite")
    try:
        for node in (iq, sy):
            node.init()
            _reference_policies(node)
            for username, role in USERS:
                node.add_user(username, role)
            node.start()
        iq.pin(sy)
        sy.pin(iq)
        yield Pair(iq, sy)
    finally:
        iq.shutdown()
        sy.shutdown()
    problems = iq.log_problems() + sy.log_problems()
    assert not problems, "errors in the servers' logs:\n" + "\n".join(problems[-30:])


@pytest.fixture
def open_console(
    chromium: object, screenshots: Screenshots
) -> Iterator[Callable[[LiveNode, str], Console]]:
    opened: list[Console] = []

    def make(node: LiveNode, flow: str) -> Console:
        console = Console(chromium, node, flow, screenshots)  # type: ignore[arg-type]
        opened.append(console)
        return console

    yield make
    try:
        for console in opened:
            console.assert_clean()
    finally:
        for console in opened:
            console.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Where the screenshots are, when browser tests ran in this session."""
    ran = any(
        isinstance(report, pytest.TestReport)
        and report.when == "call"
        and report.nodeid.startswith("tests/browser/")
        for reports in terminalreporter.stats.values()
        for report in reports
    )
    folder = screenshot_folder()
    pngs = sorted(folder.glob("*/*.png")) if folder.is_dir() else []
    if ran and pngs:
        terminalreporter.write_sep("-", "console screenshots")
        terminalreporter.write_line(f"{len(pngs)} screenshots of the console in {folder}")
        for noticed in sorted(folder.glob(f"*/{Screenshots.NOTICED}")):
            terminalreporter.write_line(noticed.read_text(encoding="utf-8").rstrip())
