"""A transfer between two agents and the supervisor board, in a real browser (Debian's chromium
via Playwright), the timed refreshes included.

Alice takes a chat and transfers it to Ben with a note; Ben's console shows the new chat by
itself, with the note, and the customer is told. An admin's Board page shows Ben holding it,
unanswered, and takes it over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.ui.stack import Stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
STACK_SHARED = True  # the chat ends held by Root: out of the queue other modules look at
STACK_AGENTS = {"Alice": "agent", "Ben": "agent", "Root": "admin"}

BOOT_MS = 30_000
LIVE_MS = 10_000


def console(browser: Browser, stack: Stack, name: str) -> Page:
    from playwright.sync_api import expect

    agent = stack.api.agents[name]
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(LIVE_MS)
    page.goto(stack.agent.url)
    expect(page.get_by_role("textbox", name="Email")).to_be_visible(timeout=BOOT_MS)
    page.get_by_role("textbox", name="Email").fill(agent.email)
    page.get_by_role("textbox", name="Password").fill(agent.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("stSidebar").get_by_text("Waiting (")).to_be_visible()
    return page


def test_transfer_between_two_agents_and_the_board(stack: Stack, browser: Browser) -> None:
    from playwright.sync_api import expect

    alice = console(browser, stack, "Alice")
    ben = console(browser, stack, "Ben")  # polling: online, with room for chats
    session, user = stack.api.user_room("My parcel is damaged")
    assert user.request_human(session.room_id).status == "waiting"

    sidebar = alice.get_by_test_id("stSidebar")
    sidebar.get_by_role("button", name="Take").click()
    bubbles = alice.get_by_test_id("stChatMessage")
    expect(bubbles.filter(has_text="My parcel is damaged")).to_have_count(1)

    alice.get_by_role("button", name="Transfer").first.click()
    popover = alice.get_by_test_id("stPopoverBody")
    expect(popover).to_be_visible()
    popover.get_by_role("combobox").click()
    alice.get_by_role("option", name="Ben · 0/3 chats").click()
    note = popover.get_by_role("textbox")
    note.fill("Photo received, replacement approved")
    note.press("Enter")
    popover.get_by_role("button", name="Transfer").click()
    expect(alice.get_by_text("Chat transferred.")).to_be_visible()

    # Ben's console shows it by itself, with the note; the customer was told.
    expect(ben.get_by_text("New chat for you", exact=False)).to_be_visible()
    expect(ben.get_by_text("replacement approved", exact=False).first).to_be_visible()
    expect(
        ben.get_by_test_id("stChatMessage").filter(has_text="My parcel is damaged")
    ).to_have_count(1)
    texts = [m.text for m in user.messages(session.room_id)]
    assert texts[-1] == "You're being transferred to Ben."
    assert all("replacement" not in t for t in texts)

    # The board: Ben holds it; the admin takes it over.
    user.send(session.room_id, "Any news?")
    root = console(browser, stack, "Root")
    root.get_by_test_id("stSidebar").get_by_role("link", name="Board").click()
    expect(root.get_by_text("Supervisor board")).to_be_visible(timeout=BOOT_MS)
    row = root.get_by_text(f"{session.room_id[:6]} · Ben · unanswered", exact=False)
    expect(row).to_be_visible()
    root.get_by_role("button", name="Take over").click()
    expect(root.get_by_text("You took the chat over", exact=False)).to_be_visible()
    assert user.messages(session.room_id)[-1].text == "You're being transferred to Root."
    for page in (alice, ben, root):
        page.context.close()
