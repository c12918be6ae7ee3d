"""The Follow-ups page as `st.navigation` runs it (a script, run on every rerun of the page)."""

from ui_agent import followups

followups.render()
