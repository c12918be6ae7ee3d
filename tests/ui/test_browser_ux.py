"""What a person notices, in a real browser (Debian's chromium via Playwright): the chat follows
the newest message, the tab title counts what waits, a dashboard with nothing to show says so,
and across an API restart the connection indicator comes and goes while typed text survives.

Every wait is bounded; the indicator's 3-second promise is checked with a margin for a loaded
machine (a poll tick, then the redraw).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pytest

from tests.ui.conftest import restart_api, stop
from tests.ui.stack import LIVE_MS, Stack, log_in, new_page, open_user_chat
from ui_common.view import OFFLINE_TEXT
from ui_user.visitor import COOKIE as VISITOR_COOKIE

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
STACK_AGENTS = {"Alice": "agent", "Ada": "admin"}  # its own stack: the empty dashboard comes first

AI_MS = 15_000
INDICATOR_MS = 3_000 + 2_000  # the promise (3 s) plus a margin for a loaded 2-core machine


def ask(page: Page, text: str, answered: int) -> None:
    """Send `text`, the `answered`-th question of a fresh chat, and wait for its answer as
    stored: then the chat holds exactly 2 × `answered` bubbles, the last one with its time (the
    streamed bubble has none; a question sent while it streams would be stored unanswered)."""
    from playwright.sync_api import expect

    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")
    bubbles = page.get_by_test_id("stChatMessage")
    expect(bubbles.filter(has_text=text)).to_have_count(1, timeout=AI_MS)
    expect(bubbles).to_have_count(2 * answered, timeout=AI_MS)
    expect(bubbles.last).to_contain_text(re.compile(r"\d\d:\d\d\s*$"), timeout=AI_MS)


def test_an_empty_dashboard_says_so(stack: Stack, browser: Browser) -> None:
    """First in the module: nobody has chatted yet."""
    from playwright.sync_api import expect

    page = new_page(browser)
    log_in(page, stack, "Ada")
    page.get_by_test_id("stSidebarNav").get_by_text("Stats").click()
    expect(page.get_by_text("No conversation started in this period")).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(0)
    expect(page.get_by_text("0.000000")).to_have_count(0)
    page.context.close()


def test_the_user_chat_follows_the_newest_message(stack: Stack, browser: Browser) -> None:
    from playwright.sync_api import expect

    page = new_page(browser, height=600)  # short: three answers do not fit
    open_user_chat(page, stack)
    box = page.get_by_test_id("stChatInputTextArea")
    # The browser stops typing at /api/config's limit and shows a counter: a paste or a
    # message over the limit is never sent to be refused (nor cut) by the API.
    box.fill("x" * 3998)
    box.press_sequentially("abcd")
    expect(box).to_have_value(re.compile(r"^x{3998}ab$"))  # the last two keys were refused
    expect(page.get_by_test_id("stChatInput")).to_contain_text("4000/4000")  # the counter
    box.fill("")
    for n, question in enumerate(
        ("How do I return an item?", "How long is a refund?", "Do you ship abroad?"), 1
    ):
        ask(page, question, n)
    bubbles = page.get_by_test_id("stChatMessage")
    expect(bubbles.last).to_be_in_viewport()
    expect(bubbles.filter(has_text="Do you ship abroad?")).to_be_in_viewport()
    # and the first one has scrolled away: the page really is longer than the window
    expect(bubbles.first).not_to_be_in_viewport()

    # The reader scrolls up to read; what arrives meanwhile does not pull them down, a button
    # says it came and takes them to it.
    page.mouse.move(640, 250)
    page.mouse.wheel(0, -20_000)
    expect(bubbles.first).to_be_in_viewport()
    jump = page.locator("[data-tandem='jump']")
    expect(jump).to_be_hidden()
    visitor = next(c["value"] for c in page.context.cookies() if c["name"] == VISITOR_COOKIE)
    session = stack.api.client().resume(visitor)  # the same visitor in another tab
    assert session is not None
    other_tab = stack.api.client(session.token)
    other_tab.send(session.room_id, "Also, can I pay by invoice?")
    expect(bubbles.filter(has_text="pay by invoice")).to_have_count(1)
    expect(jump).to_be_visible()
    expect(jump).to_contain_text(re.compile(r"\d+ new messages?"))
    page.wait_for_timeout(1_000)  # the follow script's last pass has run
    expect(bubbles.first).to_be_in_viewport()
    expect(bubbles.filter(has_text="pay by invoice")).not_to_be_in_viewport()
    jump.click()
    expect(bubbles.filter(has_text="pay by invoice")).to_be_in_viewport()
    expect(jump).to_be_hidden()

    # Back at the bottom, the chat follows again by itself.
    expect(bubbles).to_have_count(8, timeout=AI_MS)  # the AI answered the other tab too
    other_tab.send(session.room_id, "And to Norway?")
    newest = bubbles.filter(has_text="And to Norway?")
    expect(newest).to_have_count(1)
    expect(newest).to_be_in_viewport()
    expect(jump).to_be_hidden()
    page.context.close()


def test_the_console_counts_in_the_tab_title_and_opens_at_the_newest(
    stack: Stack, browser: Browser
) -> None:
    from playwright.sync_api import expect

    agent = new_page(browser, height=600)
    log_in(agent, stack, "Alice")
    expect(agent).to_have_title("Tandem console")
    user = new_page(browser)
    open_user_chat(user, stack)
    for n, question in enumerate(
        ("How do I return an item?", "How long is a refund?", "Can I change my address?"), 1
    ):
        ask(user, question, n)
    user.get_by_role("button", name="Talk to a person").click()
    expect(agent).to_have_title("(1) Tandem console", timeout=LIVE_MS)  # by itself, polled
    agent.get_by_test_id("stSidebar").get_by_role("button", name="Take").click()
    expect(agent).to_have_title("Tandem console")
    bubbles = agent.get_by_test_id("stChatMessage")
    expect(bubbles.filter(has_text="Can I change my address?")).to_have_count(1)
    expect(bubbles.last).to_be_in_viewport()
    # A new message from the customer lands at the bottom, in view.
    box = user.get_by_test_id("stChatInputTextArea")
    box.fill("Line one\nLine two")
    box.press("Enter")
    newest = bubbles.filter(has_text="Line two")
    expect(newest).to_have_count(1)
    expect(newest).to_be_in_viewport()
    expect(newest.get_by_text("Line one")).to_be_visible()
    user.context.close()
    agent.context.close()


def test_the_indicator_comes_and_goes_across_an_api_restart(stack: Stack, browser: Browser) -> None:
    from playwright.sync_api import expect

    user = new_page(browser)
    open_user_chat(user, stack)
    ask(user, "How do I return an item?", 1)
    chats = new_page(browser)
    log_in(chats, stack, "Alice")
    stats = new_page(browser)
    log_in(stats, stack, "Ada")
    stats.get_by_test_id("stSidebarNav").get_by_text("Stats").click()
    expect(stats.get_by_role("heading", name="Statistics")).to_be_visible()
    pages = (user, chats, stats)
    for page in pages:
        expect(page.get_by_text(OFFLINE_TEXT)).to_have_count(0)

    stop(stack.api.process)
    gone = time.monotonic()
    for page in pages:
        expect(page.get_by_text(OFFLINE_TEXT)).to_be_visible(timeout=INDICATOR_MS)
    assert time.monotonic() - gone < INDICATOR_MS / 1000 + 1

    # Typed while the API is away: the text stays, marked as not sent.
    box = user.get_by_test_id("stChatInputTextArea")
    box.fill("Is my parcel lost?")
    box.press("Enter")
    unsent = user.get_by_test_id("stChatMessage").filter(has_text="Is my parcel lost?")
    expect(unsent.get_by_text("Not sent", exact=False)).to_be_visible()

    restart_api(stack.api)
    back = time.monotonic()
    for page in pages:
        expect(page.get_by_text(OFFLINE_TEXT)).to_have_count(0, timeout=INDICATOR_MS)
    assert time.monotonic() - back < INDICATOR_MS / 1000 + 1

    # Retry sends it once (same client_id), and the assistant answers it.
    unsent.get_by_role("button", name="Retry").click()
    sent = user.get_by_test_id("stChatMessage").filter(has_text="Is my parcel lost?")
    expect(sent.get_by_text("Not sent", exact=False)).to_have_count(0, timeout=AI_MS)
    expect(sent).to_have_count(1)
    for page in pages:
        page.context.close()
