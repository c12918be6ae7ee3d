"""Retake the README's screenshots (`docs/*.png`) in Debian's chromium.

    .venv/bin/python tools/screenshots.py            # writes docs/*.png
    .venv/bin/python tools/screenshots.py --out /tmp/shots

Starts what `tandem up` starts (the API and both Streamlit apps, on free ports of 127.0.0.1,
with a scratch SQLite database and the shared Redis), plays one conversation the way a person
would (the AI answers, the user asks for a person, an agent takes the chat, replies and leaves
it to the AI) and photographs it; then the chat on a phone, light and dark. Everything it
started is stopped when it ends. Needs `apt-get install chromium` and the dev extras.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ui.stack import CHROMIUM_ARGS, Stack, chromium_path, running_stack  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

BOOT_MS = 45_000
LIVE_MS = 15_000
AI_MS = 30_000
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def shot(page: Page, path: Path, *, tall: bool = True) -> None:
    """Streamlit scrolls inside the page: a tall window gets the whole chat in, at its newest."""
    if tall:
        page.set_viewport_size({"width": 1280, "height": 1180})
    page.mouse.move(640, 400)
    page.mouse.wheel(0, 20_000)
    page.wait_for_timeout(900)
    page.screenshot(path=str(path))
    if tall:
        page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    print(f"wrote {path}")


def ask(page: Page, text: str) -> None:
    from playwright.sync_api import expect

    bubbles = page.get_by_test_id("stChatMessage")
    before = bubbles.count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")
    expect(bubbles.filter(has_text=text)).to_have_count(1, timeout=AI_MS)
    expect(bubbles).to_have_count(before + 2, timeout=AI_MS)  # and the AI's answer


def conversation(stack: Stack, browser: Browser, out: Path) -> None:
    from playwright.sync_api import expect

    alice = stack.api.add_agent("Alice")
    agent = browser.new_context(viewport=DESKTOP).new_page()  # type: ignore[arg-type]
    user = browser.new_context(viewport=DESKTOP).new_page()  # type: ignore[arg-type]
    for page in (agent, user):
        page.set_default_timeout(LIVE_MS)

    agent.goto(stack.agent.url)
    expect(agent.get_by_role("textbox", name="Email")).to_be_visible(timeout=BOOT_MS)
    agent.get_by_role("textbox", name="Email").fill(alice.email)
    agent.get_by_role("textbox", name="Password").fill(alice.password)
    agent.get_by_role("button", name="Log in").click()
    sidebar = agent.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Nobody is waiting.")).to_be_visible()

    user.goto(stack.user.url)
    expect(user.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=BOOT_MS)
    ask(user, "How do I return an item?")
    user.get_by_role("button", name="Talk to a person").click()
    expect(user.get_by_text("Waiting for an agent — you are #1")).to_be_visible()
    take = sidebar.get_by_role("button", name="Take")
    expect(take).to_be_visible()
    agent.wait_for_timeout(1_000)
    shot(agent, out / "agent-queue.png", tall=False)
    take.click()

    expect(user.get_by_text("Chatting with Alice")).to_be_visible()
    agent_box = agent.get_by_test_id("stChatInputTextArea")
    agent_box.fill("Hi, I'm Alice. Happy to help with your return.")
    agent_box.press("Enter")
    user_bubbles = user.get_by_test_id("stChatMessage")
    expect(user_bubbles.filter(has_text="Happy to help")).to_have_count(1)
    user_box = user.get_by_test_id("stChatInputTextArea")
    user_box.fill("I bought it last week, order 1234.")
    user_box.press("Enter")
    expect(agent.get_by_test_id("stChatMessage").filter(has_text="order 1234")).to_have_count(1)
    shot(user, out / "user-chat.png")
    shot(agent, out / "agent-console.png")

    agent.get_by_role("button", name="Leave chat").click()
    expect(user.get_by_text("AI assistant", exact=True)).to_be_visible()
    ask(user, "How long does a refund take?")
    shot(user, out / "user-chat-ai-back.png")
    agent.context.close()
    user.context.close()


def phone(stack: Stack, browser: Browser, out: Path) -> None:
    from playwright.sync_api import expect

    for scheme, name in (("light", "user-chat-phone.png"), ("dark", "user-chat-phone-dark.png")):
        context = browser.new_context(viewport=PHONE, color_scheme=scheme)  # type: ignore[arg-type]
        page = context.new_page()
        page.set_default_timeout(LIVE_MS)
        page.goto(stack.user.url)
        expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=BOOT_MS)
        ask(page, "How do I return an item?")
        page.wait_for_timeout(700)
        page.screenshot(path=str(out / name))
        print(f"wrote {out / name}")
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where the PNGs go")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    executable = chromium_path()
    if executable is None:
        sys.exit("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=LIVE_MS)
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_stack(Path(tmp)) as stack,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            conversation(stack, browser, args.out)
            phone(stack, browser, args.out)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
