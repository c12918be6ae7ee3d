"""Security headers on every HTTP response, as plain ASGI (BaseHTTPMiddleware would buffer
the NDJSON and CSV streams).

- `X-Content-Type-Options: nosniff`: a message or transcript is never sniffed into HTML.
- `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`: nothing here is meant to be framed,
  and no URL of ours (room ids) leaves in a Referer.
- `Cache-Control: no-store` on the responses that carry a token (login, a new room, a
  resumed one), so no
  browser or proxy cache keeps one.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
TOKEN_RESPONSES = {
    ("POST", "/api/auth/token"),
    ("POST", "/api/rooms"),
    ("POST", "/api/visitors/resume"),
    ("POST", "/api/auth/sessions"),
    ("POST", "/api/auth/sessions/token"),
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = (scope["method"], scope["path"].rstrip("/")) in TOKEN_RESPONSES

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if no_store:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
