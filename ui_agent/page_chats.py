"""The Chats page as `st.navigation` runs it (a script, run on every rerun of the page)."""

from ui_agent import chats

chats.render()
