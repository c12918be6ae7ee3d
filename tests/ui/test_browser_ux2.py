"""More of what a person notices, in a real browser (Debian's chromium via Playwright): the
console stays logged in across a reload until logout, without the token in the URL or in any
cookie.

Every wait is bounded and generous: the machine is shared.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pytest

from tests.ui.stack import BOOT_MS, LIVE_MS, Stack
from ui_agent.remember import COOKIE

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
STACK_SHARED = True
STACK_AGENTS = {"Alice": "agent"}


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


MEASURE_JS = """() => {
  const box = (s) => {
    const e = document.querySelector(s);
    if (!e) return null;
    const r = e.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, height: r.height};
  };
  return {
    background: getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor,
    title: box('[data-testid=stMainBlockContainer] h1'),
    bottom: box('[data-testid=stBottom]'),
  };
}"""


def luminance(css_rgb: str) -> float:
    """0 (black) to 1 (white), from `rgb(r, g, b)`."""
    r, g, b = (int(part) for part in css_rgb[css_rgb.index("(") + 1 : -1].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_phone_chat_is_mostly_chat_and_follows_the_system_theme(
    stack: Stack, browser: Browser, scheme: Literal["light", "dark"]
) -> None:
    import os

    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(LIVE_MS)
    page.goto(stack.user.url)
    box = page.get_by_test_id("stChatInputTextArea")
    expect(box).to_be_visible(timeout=BOOT_MS)
    box.fill("How do I return an item?")
    box.press("Enter")
    expect(page.get_by_test_id("stChatMessage")).to_have_count(2, timeout=20_000)
    talk = page.get_by_role("button", name="Talk to a person")
    end = page.get_by_role("button", name="End chat")
    expect(end).to_be_enabled()
    page.wait_for_timeout(500)  # the last redraw settles

    shown = page.evaluate(MEASURE_JS)
    title, bottom = shown["title"], shown["bottom"]
    # Chrome: the title (with the space above it) and the pinned bar (status, buttons, box).
    assert title["bottom"] <= 100, shown
    assert bottom["height"] <= 200, shown
    assert title["bottom"] + bottom["height"] <= 0.33 * 844, shown
    talk_box, end_box = talk.bounding_box(), end.bounding_box()
    assert talk_box and end_box and abs(talk_box["y"] - end_box["y"]) < 2  # one row
    light = luminance(shown["background"])
    assert (light > 0.8) if scheme == "light" else (light < 0.2), shown
    if os.environ.get("TANDEM_SCREENSHOTS") == "1":
        name = "user-chat-phone.png" if scheme == "light" else "user-chat-phone-dark.png"
        page.screenshot(path=str(Path(__file__).resolve().parents[2] / "docs" / name))
    context.close()
