"""What both Streamlit apps share: the HTTP client, the API's shapes, how a chat is drawn.

`ui_user` and `ui_agent` import this package and never each other.
"""
