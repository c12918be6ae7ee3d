"""The supervisor board as `st.navigation` runs it (admins only)."""

from ui_agent import board

board.render()
