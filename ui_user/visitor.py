"""The visitor's identity in the browser: the server-signed visitor id in a cookie.

`POST /api/rooms` hands out a signed visitor id (api/visitors.py); the chat keeps it in the
cookie `tandem_visitor` (the console never uses that name: cookies are shared across the
ports of one host) and, when the plain address is opened again, asks the API for the
visitor's open chat (`POST /api/visitors/resume`), or opens the next room with the same id.
The server never adopts an id it did not sign, so the cookie's value is never trusted as is.
"""

from __future__ import annotations

import json

import streamlit as st

COOKIE = "tandem_visitor"
MAX_AGE_SECONDS = 365 * 24 * 3600
_KEY = "visitor"
_WRITTEN = "visitor_written"
_TRIED = "visitor_tried"

_WRITE_JS = """<script>
document.cookie = %s + "=" + %s + "; Max-Age=%d; Path=/; SameSite=Lax";
</script>"""


def _cookie() -> str | None:
    """The cookie as the browser sent it when this session's page was opened."""
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # a test runner's context has no cookies
        return None
    return value if isinstance(value, str) and value else None


def current() -> str | None:
    """The visitor id this browser has: the one issued in this session, else its cookie."""
    value = st.session_state.get(_KEY)
    return value if isinstance(value, str) else _cookie()


def remember(visitor: str | None) -> None:
    """Keep the id the API issued; the next run writes it into the cookie."""
    if visitor:
        st.session_state[_KEY] = visitor


def write_cookie() -> None:
    """Store the issued id in the browser (once per new value)."""
    value = st.session_state.get(_KEY)
    if not isinstance(value, str) or value == _cookie() or st.session_state.get(_WRITTEN) == value:
        return
    st.html(
        _WRITE_JS % (json.dumps(COOKIE), json.dumps(value), MAX_AGE_SECONDS),
        unsafe_allow_javascript=True,
        width="content",
    )
    st.session_state[_WRITTEN] = value


def first_visit() -> bool:
    """True once per session: the moment to look for the visitor's open chat."""
    if st.session_state.get(_TRIED):
        return False
    st.session_state[_TRIED] = True
    return True
