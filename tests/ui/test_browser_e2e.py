"""The whole story in a real browser (Debian's chromium via Playwright), timed refresh included.

A user chats with the AI and asks for a person; an agent logs in, sees the request appear,
takes it; both exchange messages, each seeing the other's appear by itself; the agent leaves
and the AI answers again. With TANDEM_SCREENSHOTS=1 it saves docs/user-chat.png and
docs/agent-console.png.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from tests.ui.stack import ROOT, Stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

pytestmark = pytest.mark.browser
STACK_SHARED = True  # its rooms end up out of the queue: no other module sees them waiting
STACK_AGENTS = {"Alice": "agent"}

BOOT_MS = 30_000  # first page load: Streamlit starts a session and runs the script
LIVE_MS = 8_000  # something the other side did shows by itself (polls: 1 s / 1.5 s)
AI_MS = 15_000


def _shot(page: Page, name: str) -> None:
    """Streamlit scrolls inside the page, so a tall viewport is what gets the whole chat in."""
    if os.environ.get("TANDEM_SCREENSHOTS") == "1":
        size = page.viewport_size
        page.set_viewport_size({"width": 1280, "height": 1180})
        page.mouse.move(640, 400)
        page.mouse.wheel(0, 20_000)  # the newest messages, as a person would see them
        page.wait_for_timeout(700)
        page.screenshot(path=str(ROOT / "docs" / name))
        if size is not None:
            page.set_viewport_size(size)


def test_user_agent_story(stack: Stack, browser: Browser) -> None:
    from playwright.sync_api import expect

    alice = stack.api.agents["Alice"]
    size: ViewportSize = {"width": 1280, "height": 860}
    user = browser.new_context(viewport=size).new_page()
    agent = browser.new_context(viewport=size).new_page()
    user.set_default_timeout(LIVE_MS)
    agent.set_default_timeout(LIVE_MS)

    # The user talks to the AI.
    user.goto(stack.user.url)
    user_input = user.get_by_test_id("stChatInputTextArea")
    expect(user_input).to_be_visible(timeout=BOOT_MS)
    expect(user.get_by_text("AI assistant", exact=True)).to_be_visible()
    user_input.fill("How do I return an item?")
    user_input.press("Enter")
    bubbles = user.get_by_test_id("stChatMessage")
    expect(bubbles.filter(has_text="How do I return an item?")).to_have_count(1)
    expect(bubbles).to_have_count(2, timeout=AI_MS)  # the question and the answer
    assert "token" not in user.url  # the visitor cookie keeps the conversation

    # The agent logs in: the console's queue poll puts them online.
    agent.goto(stack.agent.url)
    expect(agent.get_by_role("textbox", name="Email")).to_be_visible(timeout=BOOT_MS)
    agent.get_by_role("textbox", name="Email").fill(alice.email)
    agent.get_by_role("textbox", name="Password").fill(alice.password)
    agent.get_by_role("button", name="Log in").click()
    sidebar = agent.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Nobody is waiting.")).to_be_visible()

    # The user asks for a person; the request appears in the console by itself.
    user.get_by_role("button", name="Talk to a person").click()
    expect(user.get_by_text("Waiting for an agent — you are #1")).to_be_visible()
    take = sidebar.get_by_role("button", name="Take")
    expect(take).to_be_visible()
    expect(sidebar.get_by_text("Waiting (1)")).to_be_visible()
    _shot(agent, "agent-queue.png")
    take.click()

    # The whole history, the AI part included; the user sees who joined.
    agent_bubbles = agent.get_by_test_id("stChatMessage")
    expect(agent_bubbles.filter(has_text="How do I return an item?")).to_have_count(1)
    expect(agent_bubbles).to_have_count(2)
    expect(user.get_by_text("Chatting with Alice")).to_be_visible()

    # The user is typing when Alice's message arrives: the draft survives the redraw.
    user_input.fill("I bought it last")
    agent_input = agent.get_by_test_id("stChatInputTextArea")
    agent_input.fill("Hi, I'm Alice. Happy to help with your return.")
    agent_input.press("Enter")
    expect(bubbles.filter(has_text="Happy to help with your return")).to_have_count(1)
    expect(user_input).to_have_value("I bought it last")
    user_input.fill("I bought it last week, order 1234.")
    user_input.press("Enter")
    expect(agent_bubbles.filter(has_text="order 1234")).to_have_count(1)
    _shot(user, "user-chat.png")
    _shot(agent, "agent-console.png")

    # Alice leaves: the AI is back and answers again.
    agent.get_by_role("button", name="Leave chat").click()
    expect(user.get_by_text("AI assistant", exact=True)).to_be_visible()
    expect(user.get_by_text("left the chat", exact=False)).to_be_visible()
    from_ai = user.get_by_role("group", name="Chat message from assistant")
    answers = from_ai.count()
    user_input.fill("How long does a refund take?")
    user_input.press("Enter")
    expect(from_ai).to_have_count(answers + 1, timeout=AI_MS)
    _shot(user, "user-chat-ai-back.png")
    user.context.close()
    agent.context.close()
