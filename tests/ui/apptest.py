"""Reading a Streamlit `AppTest` the way a person reads the page: texts, not element trees."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button

ROOT = Path(__file__).resolve().parents[2]
USER_APP = str(ROOT / "ui_user" / "app.py")
AGENT_APP = str(ROOT / "ui_agent" / "app.py")
TIMEOUT = 20.0


def plain(text: str) -> str:
    """Markdown as read: escapes and `:material/...:` icons dropped."""
    text = re.sub(r":material/[a-z_]+:\s*", "", text)
    return re.sub(r"\\(.)", r"\1", text)


def app(path: str) -> AppTest:
    return AppTest.from_file(path, default_timeout=TIMEOUT)


def bubbles(at: AppTest) -> list[tuple[str, str]]:
    """(name, text) of every chat bubble, top to bottom; name is user, assistant or the agent's."""
    out = []
    for message in at.chat_message:
        text = " ".join(plain(m.value) for m in message.markdown)
        out.append((message.name, text))
    return out


def captions(at: AppTest) -> list[str]:
    return [plain(c.value) for c in at.caption]


def alerts(at: AppTest) -> list[str]:
    """Texts of info/success/warning/error boxes, e.g. the user chat's status line."""
    found = [*at.info, *at.success, *at.warning, *at.error]
    return [plain(a.value) for a in found]


def button(at: AppTest, label: str) -> Button:
    """The first button with this label (keyless buttons have no other handle)."""
    for candidate in at.button:
        if candidate.label == label:
            return candidate
    raise AssertionError(f"no button {label!r}; buttons: {[b.label for b in at.button]}")


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
