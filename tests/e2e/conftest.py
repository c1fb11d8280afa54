"""Browser tests: Playwright driving Debian's Chromium (no browser download).

Locally they skip when Chromium is missing; in CI (``CI=true``) a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM = os.environ.get("ANJU_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium not found at {CHROMIUM}; CI must install the Debian chromium package")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in a
    # thread with a running loop unless told that this is deliberate.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()
