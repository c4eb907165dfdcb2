"""Browser-test fixtures: Playwright for Python driving Debian's Chromium (never a downloaded one).

Tests that use `page` are skipped, with a message saying how to enable them, when
/usr/bin/chromium is missing. Screenshots go to test-artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("TIERDESK_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class PageProblems:
    """What the page did that a test should fail on: dialogs, script errors, CSP reports."""

    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def assert_none(self) -> None:
        assert not self.dialogs, f"dialogs opened: {self.dialogs}"
        assert not self.page_errors, f"script errors: {self.page_errors}"
        assert not self.console_errors, f"console errors: {self.console_errors}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM}; run 'apt-get install chromium' to enable them")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@dataclass
class BrowserSession:
    page: Any
    base_url: str
    problems: PageProblems

    def go(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def login(self, email: str, password: str) -> None:
        self.go("/login/")
        self.page.fill("#id_username", email)
        self.page.fill("#id_password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def open_session(browser: Any, base_url: str) -> BrowserSession:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=base_url)
    page = context.new_page()
    problems = PageProblems()

    def on_dialog(dialog: Any) -> None:
        problems.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
    page.on("console", lambda msg: problems.console_errors.append(msg.text) if msg.type == "error" else None)
    return BrowserSession(page=page, base_url=base_url, problems=problems)


@pytest.fixture
def session(browser: Any, live_server: Any) -> Iterator[BrowserSession]:
    """A fresh browser context against the live test server; fails the test on page problems."""
    yield from _session(browser, live_server)


def _session(browser: Any, live_server: Any) -> Iterator[BrowserSession]:
    current = open_session(browser, live_server.url)
    yield current
    current.page.context.close()
    current.problems.assert_none()


@pytest.fixture
def second_session(browser: Any, live_server: Any) -> Iterator[BrowserSession]:
    """Another person (or the same person in another window) in the same test."""
    yield from _session(browser, live_server)


@pytest.fixture
def third_session(browser: Any, live_server: Any) -> Iterator[BrowserSession]:
    yield from _session(browser, live_server)
