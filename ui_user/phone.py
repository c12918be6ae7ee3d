"""The chat on a phone (≤ 640 px wide): little of the screen on chrome, most on the chat.

Streamlit stacks columns one under the other on narrow screens, so the status line and the two
buttons took three rows above the message box, and the page title and its top margin another
fifth of the screen. These rules (style only, no script) keep the status on one compact row,
the two buttons side by side on the next, keep "Start a new chat" on the title's row, and
shrink the title and the top margin. Colours are left to the theme, so light and dark both
follow the visitor's system.
"""

from __future__ import annotations

import streamlit as st

PHONE_CSS = """<style>
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding-top: 3.25rem !important; }
  [data-testid="stMainBlockContainer"] h1 {
    font-size: 1.35rem !important; line-height: 1.3 !important; padding: 0 0 0.2rem !important;
  }
  [data-testid="stBottomBlockContainer"] {
    padding-top: 0.5rem !important; padding-bottom: 0.75rem !important;
  }
  [data-testid="stBottom"] [data-testid="stHorizontalBlock"] {
    flex-wrap: wrap !important; gap: 0.35rem !important;
  }
  [data-testid="stBottom"] [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] {
    flex: 1 1 0 !important; min-width: 0 !important; width: auto !important;
  }
  [data-testid="stBottom"] [data-testid="stHorizontalBlock"] > [data-testid="stColumn"]:first-child
  {
    flex: 1 1 100% !important;
  }
  [data-testid="stBottom"] [data-testid="stAlert"] [role="alert"],
  [data-testid="stBottom"] [data-testid="stAlertContainer"] {
    padding: 0.3rem 0.6rem !important; min-height: 0 !important;
  }
  [data-testid="stBottom"] [data-testid="stAlert"] p { font-size: 0.9rem !important; }
  [data-testid="stBottom"] button {
    min-height: 2.1rem !important; padding: 0.1rem 0.5rem !important;
  }
  [data-testid="stBottom"] [data-testid="stVerticalBlock"] { gap: 0.35rem !important; }
  .st-key-titlebar [data-testid="stHorizontalBlock"] {
    flex-wrap: nowrap !important; gap: 0.35rem !important;
  }
  .st-key-titlebar [data-testid="stColumn"] { min-width: 0 !important; width: auto !important; }
  .st-key-titlebar [data-testid="stColumn"]:first-child { flex: 1 1 0 !important; }
  .st-key-titlebar [data-testid="stColumn"]:last-child { flex: 0 0 auto !important; }
  .st-key-titlebar button { min-height: 2rem !important; padding: 0 0.3rem !important; }
}
</style>"""


def compact() -> None:
    st.html(PHONE_CSS)
