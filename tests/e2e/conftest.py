"""Browser tests of the storefront: Debian's Chromium, driven by Playwright, against Django's live server.

Playwright's own browser download is never used: the tests launch the system Chromium (`make browser`
installs it; `CHROMIUM=/path/to/chromium` points elsewhere). Each test saves a full-page screenshot of
the page it ends on under `test-artifacts/e2e/` (ignored by git).

Playwright's sync API keeps an asyncio event loop running in the test thread, and Django refuses ORM
calls from a thread with a running loop. So the Playwright fixtures here are scoped to this package:
the loop, and `DJANGO_ALLOW_ASYNC_UNSAFE` which lets the tests read the database beside it, exist only
while the browser tests run, and every other test keeps Django's check.
"""

import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserType,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    sync_playwright,
)

from tests.factories import ProductFactory

ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
# Generous for a page load on a loaded CI machine, short enough that a broken page fails fast.
TIMEOUT_MS = 10_000


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: drives the storefront in a real browser against a live server")


# --- Playwright, for this package only --------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's options (--headed, --slowmo) plus the system Chromium."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"No Chromium at {CHROMIUM}: `make browser` installs it, or set CHROMIUM=/path/to/chromium.")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="package")
def playwright(_pw_api_request_contexts) -> Iterator[Playwright]:
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    pw = sync_playwright().start()
    if _pw_api_request_contexts:
        _pw_api_request_contexts.instrument(pw)
    try:
        yield pw
    finally:
        pw.stop()
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture(scope="package")
def browser_type(playwright, browser_name) -> BrowserType:
    if browser_name != "chromium":
        pytest.skip("The browser tests drive the system Chromium only.")
    return playwright.chromium


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args, browser_type):
    def launch(**kwargs) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser) -> Iterator[Browser]:
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def shop_url(live_server) -> str:
    """The live server by address: 127.0.0.1, so no lookup of "localhost" (which may try ::1 first)."""
    return live_server.url.replace("://localhost:", "://127.0.0.1:")


@pytest.fixture(scope="package")
def browser_context_args(shop_url, playwright):
    """Every page opens relative to the live server: `page.goto("/cart/")`."""
    return {"base_url": shop_url, "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def new_context(new_context):
    """pytest-playwright's contexts, with short timeouts so a broken page fails within seconds."""

    def make(**kwargs):
        context = new_context(**kwargs)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        return context

    return make


# --- The shop ---------------------------------------------------------------------------------


@pytest.fixture
def catalog(transactional_db):
    """The seed's two products (the live server sees them: transactional tests commit)."""
    return {
        "laptop": ProductFactory(sku="LAP-001", name="Laptop", price=Decimal("1000.00"), stock=10),
        "mouse": ProductFactory(sku="MOU-001", name="Mouse", price=Decimal("25.00"), stock=100),
    }


# The browser asks every site for /favicon.ico; the shop has none yet (test_page_assets.py fails for it alone).
MISSING_FAVICON = re.compile(r"/favicon\.ico\b")


@dataclass
class PageWatch:
    """What went wrong in the browser beside the test's own steps: console errors, page errors, failed
    requests, error responses, and any request that left the live server (every asset is vendored)."""

    allowed_hosts: set[str]
    problems: list[str] = field(default_factory=list)
    # Problems the test expects, e.g. the first of two submissions, which the browser cancels.
    ignored: list[re.Pattern] = field(default_factory=lambda: [MISSING_FAVICON])

    def attach(self, page: Page) -> Page:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self._problem(f"page error: {error}"))
        page.on("request", self._on_request)
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)
        return page

    def ignore(self, pattern: str) -> None:
        self.ignored.append(re.compile(pattern))

    def assert_clean(self) -> None:
        assert self.problems == [], "\n".join(self.problems)

    def _problem(self, description: str) -> None:
        if not any(pattern.search(description) for pattern in self.ignored):
            self.problems.append(description)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self._problem(f"console error: {message.text} at {message.location.get('url', '')}")

    def _on_request(self, request: Request) -> None:
        url = urlsplit(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in self.allowed_hosts:
            self._problem(f"request to another host: {request.method} {request.url}")

    def _on_request_failed(self, request: Request) -> None:
        self._problem(f"request failed: {request.method} {request.url} ({request.failure})")

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            self._problem(f"HTTP {response.status}: {response.request.method} {response.url}")


@pytest.fixture
def watch(shop_url) -> PageWatch:
    return PageWatch(allowed_hosts={urlsplit(shop_url).hostname})


@pytest.fixture
def page(context, watch) -> Page:
    """A page whose console errors and failed or outside requests are collected (`watch.assert_clean()`)."""
    return watch.attach(context.new_page())


@pytest.fixture(scope="package")
def artifacts_dir() -> Path:
    """test-artifacts/e2e/, emptied of the previous run's screenshots."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS_DIR.glob("*.png"):
        old.unlink()
    return ARTIFACTS_DIR


@pytest.fixture
def final_screenshot(artifacts_dir, new_context) -> Iterator:
    """`final_screenshot(page, name)`: when the test ends, passed or failed, save the page it ended on as
    test-artifacts/e2e/<name>.png (before the browser contexts close)."""
    pages: dict[str, Page] = {}
    yield lambda page, name: pages.__setitem__(name, page)
    for name, page in pages.items():
        try:
            page.screenshot(path=artifacts_dir / f"{name}.png", full_page=True)
        except Exception as error:  # a screenshot must not hide the test's own outcome
            warnings.warn(f"No screenshot {name}.png: {error}", stacklevel=1)
