"""More of what a person notices, in a real browser (Debian's chromium via Playwright): the
console stays logged in across a reload until logout, without the token in the URL or in any
cookie.

Every wait is bounded and generous: the machine is shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.ui.stack import CHROMIUM_ARGS, Stack, chromium_path, require_chromium, running_stack
from ui_agent.remember import COOKIE

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

BOOT_MS = 30_000
LIVE_MS = 10_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_chromium()
    with running_stack(tmp_path_factory.mktemp("ux2")) as live:
        live.api.add_agent("Alice")
        yield live


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Browser]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=LIVE_MS)
    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def console_cookie(page: Page) -> str | None:
    for cookie in page.context.cookies():
        if cookie["name"] == COOKIE:
            return str(cookie["value"])
    return None


def test_the_console_stays_logged_in_across_a_reload_until_logout(
    stack: Stack, browser: Browser
) -> None:
    from playwright.sync_api import expect

    agent = stack.api.agents["Alice"]
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.set_default_timeout(LIVE_MS)
    page.goto(stack.agent.url)
    expect(page.get_by_role("textbox", name="Email")).to_be_visible(timeout=BOOT_MS)
    page.get_by_role("textbox", name="Email").fill(agent.email)
    page.get_by_role("textbox", name="Password").fill(agent.password)
    page.get_by_role("button", name="Log in").click()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text(agent.name)).to_be_visible()
    page.wait_for_function(f"document.cookie.includes({COOKIE!r} + '=')", timeout=LIVE_MS)
    secret = console_cookie(page)
    assert secret and secret.count(".") < 2  # a session secret, not a JWT

    page.reload()
    expect(sidebar.get_by_text(agent.name)).to_be_visible(timeout=BOOT_MS)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert "token" not in page.url

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.wait_for_function(f"!document.cookie.includes({COOKIE!r} + '=')", timeout=LIVE_MS)
    page.reload()
    expect(page.get_by_role("textbox", name="Email")).to_be_visible(timeout=BOOT_MS)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)

    # The secret is revoked, not just forgotten by this browser: put it back, still logged out.
    page.context.add_cookies([{"name": COOKIE, "value": secret, "url": stack.agent.url}])
    page.reload()
    expect(page.get_by_role("textbox", name="Email")).to_be_visible(timeout=BOOT_MS)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    page.context.close()
