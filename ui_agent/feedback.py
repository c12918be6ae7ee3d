"""How the console tells the agent what happened: one message at a time, never a traceback."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import streamlit as st

from ui_agent import console
from ui_common.client import ApiError


def guard(action: Callable[[], None], *, done: str | None = None) -> None:
    """Run a button's action; turn API refusals into a message instead of a traceback."""
    s = console.state()
    try:
        action()
    except ApiError as exc:
        if exc.status == 401:
            console.reset(("warning", "Your session expired; log in again."))
        else:
            s.flash = ("warning" if exc.status == 409 else "error", exc.detail)
    except httpx.HTTPError as exc:
        s.flash = ("error", console.describe(exc))
    else:
        if done:
            s.flash = ("success", done)


def flash() -> None:
    s = console.state()
    if s.flash:
        kind, text = s.flash
        {"error": st.error, "warning": st.warning, "success": st.success}.get(kind, st.info)(text)
        s.flash = None
