"""The console stays logged in across reloads: a revocable session secret in a cookie.

Not the JWT: after logging in the console asks the API for a session (`POST
/api/auth/sessions`) and keeps its secret in the browser as the cookie `tandem_console_session`
(cookies are shared by every port of a host, so the name is the console's own; the user chat
never reads it). On a new browser session Streamlit hands the page's cookies to the server
(`st.context.cookies`), and the secret is exchanged for a fresh token. Logging out revokes it
in the API and deletes the cookie; disabling the agent voids it. The token itself never
reaches the browser or the URL.
"""

from __future__ import annotations

import contextlib
import json

import httpx
import streamlit as st

from ui_agent import console
from ui_common.client import ApiError, TandemClient

COOKIE = "tandem_console_session"
MAX_AGE_SECONDS = 7 * 24 * 3600
"""The cookie's life; the API's own expiry (TANDEM_AGENT_SESSION_DAYS) decides in the end."""
SECRET_KEY = "console_session_secret"
TRIED_KEY = "console_session_tried"
WRITE_KEY = "console_session_write"

_COOKIE_JS = """<script>
(() => {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = %s + "=" + %s + "; Max-Age=" + %s + "; Path=/; SameSite=Strict" + secure;
})();
</script>"""


def restore() -> bool:
    """Once per browser session, before the login page: log in from the cookie. True when the
    console is now logged in."""
    s = console.state()
    if s.client is not None or st.session_state.get(TRIED_KEY):
        return False
    st.session_state[TRIED_KEY] = True
    secret = st.context.cookies.get(COOKIE)
    if not isinstance(secret, str) or not secret:  # AppTest has no browser: no cookies
        return False
    client = TandemClient(forwarded_for=st.context.ip_address)
    try:
        client.session_login(secret)
        s.me = client.me()
    except ApiError:
        st.session_state[WRITE_KEY] = ""  # ended (logout elsewhere, disabled): drop the cookie
        return False
    except httpx.HTTPError:
        return False  # the API is away: the login page shows; the next reload tries again
    s.client = client
    st.session_state[SECRET_KEY] = secret
    return True


def keep() -> None:
    """Right after a login with the password: ask for a session and have the page store it."""
    s = console.state()
    if s.client is None:
        return
    try:
        secret = s.client.create_session()
    except (ApiError, httpx.HTTPError):
        return  # logged in all the same; only a reload will ask again
    st.session_state[SECRET_KEY] = secret
    st.session_state[WRITE_KEY] = secret


def refresh() -> bool:
    """The token expired mid-session: a new one from the session, if it is still good."""
    s = console.state()
    secret = st.session_state.get(SECRET_KEY)
    if not secret or s.client is None:
        return False
    try:
        s.client.session_login(str(secret))
    except (ApiError, httpx.HTTPError):
        return False
    return True


def end() -> None:
    """Logout: revoke the session in the API and delete the cookie."""
    s = console.state()
    secret = st.session_state.pop(SECRET_KEY, None)
    if secret and s.client is not None:
        # The cookie goes anyway; a session the API did not hear about expires on its own.
        with contextlib.suppress(ApiError, httpx.HTTPError):
            s.client.revoke_session(str(secret))
    st.session_state[WRITE_KEY] = ""


def write_cookie() -> None:
    """Set (or, with an empty value, delete) the cookie in the page, once after a change."""
    value = st.session_state.pop(WRITE_KEY, None)
    if value is None:
        return
    age = MAX_AGE_SECONDS if value else 0
    script = _COOKIE_JS % (json.dumps(COOKIE), json.dumps(value), json.dumps(str(age)))
    st.html(script, unsafe_allow_javascript=True, width="content")
