"""The visitor's conversation survives in the browser, not in the URL: in Debian's chromium,
reopening the plain address of the user chat shows the chat still open; another browser does
not; once the chat is over the plain address starts a new one for the same visitor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.ui.stack import BOOT_MS, LIVE_MS, Stack
from ui_user.visitor import COOKIE

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.browser
STACK_SHARED = True

AI_MS = 15_000


def open_plain(context: BrowserContext, stack: Stack) -> Page:
    from playwright.sync_api import expect

    page = context.new_page()
    page.set_default_timeout(LIVE_MS)
    page.goto(stack.user.url)  # the plain address: no room, no token
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=BOOT_MS)
    return page


def visitor_cookie(context: BrowserContext) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == COOKIE), None)


def test_reopening_the_plain_address_keeps_the_chat(stack: Stack, browser: Browser) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = open_plain(context, stack)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("Is my order 5521 on its way?")
    box.press("Enter")
    bubbles = page.get_by_test_id("stChatMessage")
    expect(bubbles.filter(has_text="order 5521")).to_have_count(1, timeout=AI_MS)
    expect(bubbles).to_have_count(2, timeout=AI_MS)  # the question and the AI's answer
    page.wait_for_function(f"document.cookie.includes('{COOKIE}=')", timeout=LIVE_MS)
    issued = visitor_cookie(context)
    assert issued and "." in issued  # the server's signed id, not one the page made up
    page.close()

    again = open_plain(context, stack)
    kept = again.get_by_test_id("stChatMessage")
    expect(kept.filter(has_text="order 5521")).to_have_count(1, timeout=LIVE_MS)
    expect(kept).to_have_count(2)

    # Another browser (no cookie) at the same address starts fresh.
    stranger = browser.new_context(viewport={"width": 1280, "height": 800})
    other = open_plain(stranger, stack)
    expect(other.get_by_text("Hi! I'm the Tandem assistant")).to_be_visible()
    expect(other.get_by_test_id("stChatMessage").filter(has_text="order 5521")).to_have_count(0)
    stranger.close()

    # Once the chat is over, the plain address starts a new chat for the same visitor.
    again.get_by_role("button", name="End chat").click()
    expect(again.get_by_text("How did we do?")).to_be_visible()
    again.close()
    fresh = open_plain(context, stack)
    expect(fresh.get_by_text("Hi! I'm the Tandem assistant")).to_be_visible()
    expect(fresh.get_by_test_id("stChatMessage").filter(has_text="order 5521")).to_have_count(0)
    box = fresh.get_by_test_id("stChatInputTextArea")
    box.fill("A new question")
    box.press("Enter")
    expect(fresh.get_by_test_id("stChatMessage")).to_have_count(2, timeout=AI_MS)
    assert visitor_cookie(context) == issued
    context.close()


def test_the_address_carries_no_token_and_start_a_new_chat_leaves(
    stack: Stack, browser: Browser
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = open_plain(context, stack)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("Can I pay by invoice?")
    box.press("Enter")
    bubbles = page.get_by_test_id("stChatMessage")
    expect(bubbles).to_have_count(2, timeout=AI_MS)
    page.wait_for_function(f"document.cookie.includes('{COOKIE}=')", timeout=LIVE_MS)
    assert "token" not in page.url and "room=" not in page.url, page.url

    page.reload()  # a reload of the plain address keeps the chat
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=BOOT_MS)
    expect(bubbles.filter(has_text="pay by invoice")).to_have_count(1)
    assert "token" not in page.url and "room=" not in page.url, page.url

    # "Start a new chat" leaves it: the greeting, and it does not come back on the next visit.
    page.get_by_role("button", name="Start a new chat").click()
    expect(page.get_by_text("Hi! I'm the Tandem assistant")).to_be_visible()
    expect(bubbles.filter(has_text="pay by invoice")).to_have_count(0)
    page.close()
    fresh = open_plain(context, stack)
    expect(fresh.get_by_text("Hi! I'm the Tandem assistant")).to_be_visible()
    expect(fresh.get_by_test_id("stChatMessage").filter(has_text="pay by invoice")).to_have_count(0)
    expect(fresh.get_by_role("button", name="Start a new chat")).to_have_count(0)  # no chat yet
    context.close()
