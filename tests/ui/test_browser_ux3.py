"""What is left of the chat-and-console walk, in Debian's chromium: with nobody online the user
leaves an email that reaches the console's Follow-ups; the console opens a chat at its first
unread message; and the console beeps on news only when its sound is switched on.

The follow-up test runs first: no other agent has logged in yet, so with Cleo away nobody is
online.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pytest

from tests.ui.stack import BOOT_MS, LIVE_MS, Stack, log_in, new_page
from ui_common.client import TandemClient

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
# Its own stack: the first test needs nobody online. Cleo goes away there and stays so.
STACK_AGENTS = {"Alice": "agent", "Bea": "agent", "Cleo": "agent"}

AI_MS = 15_000


def waiting_user(stack: Stack) -> tuple[str, TandemClient]:
    """A customer (through the API) who asked for a person: their room waits in the queue."""
    client = stack.api.client()
    session = client.create_room()
    client.token = session.token
    deadline = time.monotonic() + LIVE_MS / 1000
    # The console's first queue poll is what puts a just-logged-in agent online.
    while client.request_human(session.room_id).status != "waiting":
        assert time.monotonic() < deadline, "no agent came online"
        time.sleep(0.5)
    return session.room_id, client


def tall(label: str) -> str:
    """A message a dozen lines high, so that three of them do not fit in the window."""
    return "\n".join([label, *(f"{label}, line {n}" for n in range(2, 13))])


def test_nobody_online_the_user_leaves_an_email_that_reaches_the_follow_ups(
    stack: Stack, browser: Browser
) -> None:
    """Cleo is away, watching the Follow-ups page: the user's message shows there by itself."""
    from playwright.sync_api import expect

    agent = new_page(browser)
    log_in(agent, stack, "Cleo")
    sidebar = agent.get_by_test_id("stSidebar")
    sidebar.get_by_text("Away", exact=True).click()  # away: not online for customers
    expect(sidebar.get_by_role("switch", name="Away")).to_be_checked()
    nav = agent.get_by_test_id("stSidebarNav")
    nav.get_by_text("Follow-ups").click()
    main = agent.get_by_test_id("stMain")
    expect(main.get_by_text("No open follow-ups")).to_be_visible()

    user = new_page(browser)
    user.goto(stack.user.url)
    expect(user.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=BOOT_MS)
    user.get_by_role("button", name="Talk to a person").click()
    status = user.get_by_test_id("stBottom").get_by_test_id("stAlertContentWarning")
    expect(status).to_contain_text("No agents are online right now")
    form = user.get_by_test_id("stForm")
    expect(form.get_by_text("Leave your email and a message")).to_be_visible()
    form.get_by_role("textbox", name="Your email").fill("ann@example.com")
    form.get_by_role("textbox", name="Your message").fill("Order 77 is late.\nPlease call.")
    form.get_by_role("button", name="Send to the team").click()
    expect(user.get_by_test_id("stBottom")).to_contain_text("This chat has ended")
    expect(user.get_by_text("who will answer by email")).to_have_count(1)
    expect(user.get_by_test_id("stForm")).to_have_count(0)
    user.context.close()

    # No reload: the console's poll brings it in, and the menu counts it.
    expect(main.get_by_text(re.compile(r"ann@\W?example\.com"))).to_be_visible()
    expect(main.get_by_text("Order 77 is late.")).to_be_visible()
    expect(main.get_by_role("link", name="Reply by email")).to_have_attribute(
        "href", "mailto:ann@example.com"
    )
    expect(nav.get_by_text("Follow-ups (1)")).to_be_visible()
    main.get_by_role("button", name="Mark done").click()
    expect(nav.get_by_text("Follow-ups (1)")).to_have_count(0)
    agent.context.close()


def test_the_console_opens_a_chat_at_its_first_unread_message(
    stack: Stack, browser: Browser
) -> None:
    from playwright.sync_api import expect

    agent = new_page(browser, height=600)
    log_in(agent, stack, "Alice")
    sidebar = agent.get_by_test_id("stSidebar")
    first_room, first = waiting_user(stack)
    sidebar.get_by_role("button", name="Take").click()
    bubbles = agent.get_by_test_id("stChatMessage")
    for n in range(1, 4):  # read while the chat is on screen
        first.send(first_room, f"Seen message {n}")
    expect(bubbles.filter(has_text="Seen message 3")).to_have_count(1)

    # Another chat takes the pane; meanwhile the first customer writes three long messages.
    second_room, _ = waiting_user(stack)
    expect(sidebar.get_by_role("button", name="Take")).to_be_visible()
    sidebar.get_by_role("button", name="Take").click()
    expect(agent.get_by_text(f"Chat {second_room[:6]}")).to_be_visible()
    for label in ("Unread one", "Unread two", "Unread three"):
        first.send(first_room, tall(label))
    option = sidebar.get_by_text(re.compile(rf"{first_room[:6]} \(3 new\)"))
    expect(option).to_be_visible()

    option.click()
    expect(agent.get_by_text(f"Chat {first_room[:6]}")).to_be_visible()
    marker = agent.locator("[data-tandem='unread']")
    expect(marker).to_have_count(1)
    opened = bubbles.filter(has_text="Unread one")
    expect(opened).to_be_in_viewport()
    agent.wait_for_timeout(1_500)  # the scroll script's last pass has run
    expect(marker).to_be_in_viewport()
    expect(opened).to_be_in_viewport()
    expect(bubbles.filter(has_text="Unread three")).not_to_be_in_viewport()  # not the bottom
    expect(bubbles.filter(has_text="Seen message 1")).not_to_be_in_viewport()  # nor the top

    # What arrives while the chat is open is followed at the bottom.
    first.send(first_room, "One more thing")
    newest = bubbles.filter(has_text="One more thing")
    expect(newest).to_have_count(1)
    expect(newest).to_be_in_viewport()
    agent.context.close()


def beeps(page: Page) -> int:
    return int(page.evaluate("window.tandemBeeps || 0"))


def test_the_console_beeps_on_news_only_with_its_sound_on(stack: Stack, browser: Browser) -> None:
    from playwright.sync_api import expect

    agent = new_page(browser)
    log_in(agent, stack, "Bea")
    sidebar = agent.get_by_test_id("stSidebar")
    switch = sidebar.get_by_role("switch", name="Sound on new messages")
    expect(switch).to_be_visible()
    expect(switch).not_to_be_checked()  # off by default

    # Off: a new request shows in the queue, and the page plays nothing.
    room, customer = waiting_user(stack)
    expect(sidebar.get_by_text(re.compile(r"Waiting \([1-9]"))).to_be_visible()
    agent.wait_for_timeout(2_000)
    assert beeps(agent) == 0

    sidebar.get_by_text("Sound on new messages").click()
    expect(switch).to_be_checked()
    waiting = sidebar.get_by_text(re.compile(r"Waiting \(\d+\)")).inner_text()
    assert beeps(agent) == 0  # switching on is not news

    # On: a new request beeps ...
    waiting_user(stack)
    expect(sidebar.get_by_text(waiting)).to_have_count(0)  # the queue grew
    agent.wait_for_function("(window.tandemBeeps || 0) >= 1", timeout=LIVE_MS)

    # ... and so does a customer writing in a chat the agent holds (the oldest request first).
    sidebar.get_by_role("button", name="Take").first.click()
    expect(agent.get_by_text(f"Chat {room[:6]}")).to_be_visible()
    agent.wait_for_timeout(2_000)  # taking brings the chat's history: that is no news
    before = beeps(agent)
    customer.send(room, "Are you there?")
    agent.wait_for_function(f"(window.tandemBeeps || 0) > {before}", timeout=LIVE_MS)

    # Off again: news, and silence.
    sidebar.get_by_text("Sound on new messages").click()
    expect(switch).not_to_be_checked()
    agent.wait_for_timeout(1_000)
    quiet = beeps(agent)
    waiting_user(stack)
    agent.wait_for_timeout(4_000)
    assert beeps(agent) == quiet
    agent.context.close()
