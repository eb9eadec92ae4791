"""A real browser for UI tests: Debian's Chromium driven by Playwright.

Chromium comes from Debian (`apt-get install chromium`), never from a
Playwright download. Where it is missing the browser tests skip with a
reason, except when PANTRY_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else shutil.which("chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def page(live_server):
    if not CHROMIUM:
        if os.environ.get("PANTRY_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required here (PANTRY_REQUIRE_BROWSER=1) but /usr/bin/chromium is missing")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # The live server runs in a thread of this process; Playwright's sync API
    # runs an event loop, which makes Django's async-safety check misfire.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(15000)
        page.console_errors = []
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
        yield page
        context.close()
        browser.close()


def login(page, live_server, username: str, password: str = "correct horse battery staple") -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def csp_violations(page) -> list[str]:
    return [e for e in page.console_errors if "Content Security Policy" in e]
