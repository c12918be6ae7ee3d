"""The statistics page on its own: what the AppTest drives, and a quick look for an analyst.

    TANDEM_STATS_EMAIL=... TANDEM_STATS_PASSWORD=... streamlit run ui_agent/stats_app.py

It uses `st.session_state.stats_token` when a caller (a test) put a JWT there, else logs in
once with the two variables above. The console draws the same page (its Stats page) for
analysts and admins.
"""

from __future__ import annotations

import os

import httpx
import streamlit as st

from ui_agent.stats_page import render
from ui_common.client import ApiError, TandemClient

st.set_page_config(page_title="Tandem statistics", page_icon=":material/bar_chart:", layout="wide")


def client() -> TandemClient | None:
    """One client per browser session (the CSV download runs after the script ends)."""
    token = st.session_state.get("stats_token")
    held: TandemClient | None = st.session_state.get("stats_client")
    if token and held is not None and held.token == token:
        return held
    if token:
        st.session_state.stats_client = TandemClient(
            token=str(token), forwarded_for=st.context.ip_address
        )
        return st.session_state.stats_client
    email = os.environ.get("TANDEM_STATS_EMAIL")
    password = os.environ.get("TANDEM_STATS_PASSWORD")
    if not email or not password:
        st.error("Set TANDEM_STATS_EMAIL and TANDEM_STATS_PASSWORD (an analyst or admin).")
        return None
    api = TandemClient(forwarded_for=st.context.ip_address)
    try:
        st.session_state.stats_token = api.login(email, password)
    except (ApiError, httpx.HTTPError) as exc:
        st.error(f"Login failed: {getattr(exc, 'detail', exc)}")
        api.close()
        return None
    st.session_state.stats_client = api
    return api


api = client()
if api is not None:
    render(api)
