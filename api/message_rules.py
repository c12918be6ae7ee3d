"""What a message must be before it is stored, the same on both transports: not empty, not
too long, not from an analyst. Checked before a message counts against its sender's rate;
HTTP answers the refusal with its status (`api/main.py`), a socket with an error frame."""

from __future__ import annotations

from db.models import Agent, Role

__all__ = ["MessageRefused", "check_message"]


class MessageRefused(Exception):
    """A message no transport may store: HTTP answers `status`, a socket an error frame `code`."""

    def __init__(self, code: str, detail: str, *, status: int) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status


def check_message(text: str, *, agent: Agent | None, max_chars: int) -> str:
    """The text as it is stored (trimmed), or why it is refused: the one rule both transports
    apply before a message counts against its sender's rate."""
    text = text.strip()
    if not text:
        raise MessageRefused("bad_frame", "The message is empty.", status=422)
    if len(text) > max_chars:
        detail = f"The message is {len(text)} characters long; the limit is {max_chars}."
        raise MessageRefused("too_long", detail, status=413)
    if agent is not None and agent.role is Role.analyst:
        raise MessageRefused("forbidden", "Analysts can read chats but not write.", status=403)
    return text
