"""The Stats page as `st.navigation` runs it (a script, run on every rerun of the page)."""

from ui_agent import console, stats_page
from ui_agent.feedback import flash

flash()
stats_page.render(console.state().api)
