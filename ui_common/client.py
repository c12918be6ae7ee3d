"""The one typed HTTP client both Streamlit apps use; they never import `api` or `db`.

Synchronous on purpose: Streamlit scripts run top to bottom in a thread, and `httpx.Client`
keeps a pooled connection per session. Rooms, messages and the account come back parsed
(`ui_common.models`); statistics and transcripts stay JSON, which the stats page lays out and
offers as downloads as they are.
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from ui_common.models import Agent, Message, Room

DEFAULT_API_URL = "http://127.0.0.1:8000"


def api_url() -> str:
    return os.environ.get("TANDEM_API_URL", DEFAULT_API_URL).rstrip("/")


class ApiError(Exception):
    """The API refused a request; `detail` is its message for a person."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True, slots=True)
class PublicConfig:
    """`GET /api/config`."""

    max_message_chars: int
    version: str


DEFAULT_CONFIG = PublicConfig(max_message_chars=4000, version="unknown")
"""What the apps assume while the API cannot be asked (its default limit)."""


@dataclass(frozen=True, slots=True)
class Session:
    room_id: str
    token: str
    visitor: str | None = None
    """The server-signed visitor id (kept by the user chat in its cookie)."""


class TandemClient:
    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str | None = None,
        forwarded_for: str | None = None,
        timeout: float = 15,
    ) -> None:
        self.base_url = (base_url or api_url()).rstrip("/")
        self.token = token
        # Streamlit's test runner hands the apps a mock context: only a real address is sent.
        self.forwarded_for = forwarded_for if isinstance(forwarded_for, str) else None
        """The browser's address: the API's per-visitor limits must not see every visitor as
        this app's own address (it trusts the header from `TANDEM_FORWARDED_ALLOW_IPS`)."""
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        # A Streamlit session just goes away; close the pooled connection when the client does.
        weakref.finalize(self, self._http.close)

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------ plumbing

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        return headers

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, headers=self._headers(), **kwargs)
        if response.status_code >= 400:
            raise ApiError(response.status_code, _detail(response))
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def config(self) -> PublicConfig:
        body = self.get("/api/config")
        return PublicConfig(
            max_message_chars=int(body["max_message_chars"]), version=str(body["version"])
        )

    def ping(self) -> None:
        """Raises httpx.HTTPError when the API does not answer (the connection indicator)."""
        self._http.get("/healthz", timeout=2).raise_for_status()

    # ------------------------------------------------------------ users

    def create_room(self, visitor: str | None = None) -> Session:
        body = self.request("POST", "/api/rooms", json={"visitor": visitor} if visitor else None)
        return Session(room_id=body["room"]["id"], token=body["token"], visitor=body.get("visitor"))

    def room(self, room_id: str) -> Room:
        return Room.from_json(self.get(f"/api/rooms/{room_id}"))

    def messages(self, room_id: str, *, after: int = 0, limit: int = 100) -> list[Message]:
        body = self.get(f"/api/rooms/{room_id}/messages", after=after, limit=limit)
        return [Message.from_json(m) for m in body["messages"]]

    def send(self, room_id: str, text: str, *, client_id: str | None = None) -> Message:
        body = self.request(
            "POST", f"/api/rooms/{room_id}/messages", json={"text": text, "client_id": client_id}
        )
        return Message.from_json(body)

    def send_streaming(
        self, room_id: str, text: str, *, client_id: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """The frames the message sets off, as they come (JSON objects, parsed by the caller):
        feed the `ai.delta` texts to `st.write_stream`."""
        with self._http.stream(
            "POST",
            f"/api/rooms/{room_id}/messages",
            params={"stream": "true"},
            json={"text": text, "client_id": client_id},
            headers=self._headers(),
        ) as response:
            if response.status_code >= 400:
                response.read()
                raise ApiError(response.status_code, _detail(response))
            for line in response.iter_lines():
                if line.strip():
                    yield json.loads(line)

    def request_human(self, room_id: str) -> Room:
        """The room afterwards: `waiting` when queued, still `ai` when no agent was online."""
        return Room.from_json(self.request("POST", f"/api/rooms/{room_id}/handoff"))

    def close_room(self, room_id: str) -> Room:
        return Room.from_json(self.request("POST", f"/api/rooms/{room_id}/close"))

    # ------------------------------------------------------------ agents

    def login(self, email: str, password: str) -> str:
        body = self.request(
            "POST", "/api/auth/token", data={"username": email, "password": password}
        )
        self.token = str(body["access_token"])
        return self.token

    def create_session(self) -> str:
        """A revocable "stay logged in" secret for this agent (not a JWT)."""
        return str(self.request("POST", "/api/auth/sessions")["session"])

    def session_login(self, secret: str) -> str:
        """Exchange a session secret for a fresh token (401 once it has ended)."""
        body = self.request("POST", "/api/auth/sessions/token", json={"session": secret})
        self.token = str(body["access_token"])
        return self.token

    def revoke_session(self, secret: str) -> None:
        self.request("POST", "/api/auth/sessions/revoke", json={"session": secret})

    def me(self) -> Agent:
        return Agent.from_json(self.get("/api/agents/me"))

    def queue(self) -> list[Room]:
        """Waiting rooms, oldest first; asking is also the console's presence heartbeat."""
        return [Room.from_json(r) for r in self.get("/api/queue")["rooms"]]

    def my_rooms(self) -> list[Room]:
        return [Room.from_json(r) for r in self.get("/api/agents/me/rooms")["rooms"]]

    def join(self, room_id: str) -> Room:
        return Room.from_json(self.request("POST", f"/api/rooms/{room_id}/join"))

    def leave(self, room_id: str) -> Room:
        return Room.from_json(self.request("POST", f"/api/rooms/{room_id}/leave"))

    def stats(self, **params: Any) -> dict[str, Any]:
        """The /api/stats JSON (its shape: docs/metrics.md)."""
        result: dict[str, Any] = self.get("/api/stats", **params)
        return result

    # ------------------------------------------------------------ analysts' exports

    def download(self, path: str, **params: Any) -> bytes:
        """A file the API sends as a download (CSV, JSON), as bytes for `st.download_button`."""
        query = {k: v for k, v in params.items() if v is not None}
        response = self._http.get(path, params=query, headers=self._headers())
        if response.status_code >= 400:
            raise ApiError(response.status_code, _detail(response))
        return response.content

    def stats_csv(self, **params: Any) -> bytes:
        """One CSV row per conversation; `from`/`to`/`tz` as for `stats` (pass from_=...)."""
        return self.download("/api/stats/conversations.csv", **self._period(params))

    def search_transcripts(self, q: str, **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.get("/api/stats/transcripts", q=q, **self._period(params))
        return result

    def transcript(self, room_id: str) -> dict[str, Any]:
        """The whole record (`room`, `messages`, `events`), kept as JSON for its download."""
        result: dict[str, Any] = self.get(f"/api/rooms/{room_id}/transcript.json")
        return result

    @staticmethod
    def _period(params: dict[str, Any]) -> dict[str, Any]:
        """`from` is a Python keyword: accept `from_` for it."""
        if "from_" in params:
            params = {**params, "from": params.pop("from_")}
        return params

    # ------------------------------------------------------------ team tools

    def saved_replies(self) -> list[dict[str, Any]]:
        """`[{"id","shortcut","title","text",...}]` by shortcut (agents and admins)."""
        replies: list[dict[str, Any]] = self.get("/api/replies")["replies"]
        return replies

    def create_saved_reply(self, shortcut: str, title: str, text: str) -> dict[str, Any]:
        """Admins only; ApiError 409 when the shortcut is taken."""
        body = {"shortcut": shortcut, "title": title, "text": text}
        created: dict[str, Any] = self.request("POST", "/api/replies", json=body)
        return created

    def update_saved_reply(
        self, reply_id: int, shortcut: str, title: str, text: str
    ) -> dict[str, Any]:
        body = {"shortcut": shortcut, "title": title, "text": text}
        updated: dict[str, Any] = self.request("PUT", f"/api/replies/{reply_id}", json=body)
        return updated

    def delete_saved_reply(self, reply_id: int) -> None:
        self.request("DELETE", f"/api/replies/{reply_id}")

    def notes(self, room_id: str) -> list[dict[str, Any]]:
        """The room's private notes, oldest first: `{"id","room_id","agent","text",...}`."""
        notes: list[dict[str, Any]] = self.get(f"/api/rooms/{room_id}/notes")["notes"]
        return notes

    def add_note(self, room_id: str, text: str) -> dict[str, Any]:
        note: dict[str, Any] = self.request(
            "POST", f"/api/rooms/{room_id}/notes", json={"text": text}
        )
        return note

    # ------------------------------------------------------------ ratings, visitors, history

    def resume(self, visitor: str) -> Session | None:
        """The visitor's open chat with a fresh token; None when it has none (or the id is
        not one the server signed)."""
        try:
            body = self.request("POST", "/api/visitors/resume", json={"visitor": visitor})
        except ApiError as exc:
            if exc.status in (401, 404):
                return None
            raise
        return Session(room_id=body["room"]["id"], token=body["token"], visitor=body["visitor"])

    def rating(self, room_id: str) -> dict[str, Any] | None:
        rating: dict[str, Any] | None = self.get(f"/api/rooms/{room_id}/rating")["rating"]
        return rating

    def rate(self, room_id: str, score: int, comment: str | None = None) -> dict[str, Any]:
        body = {"score": score, "comment": comment or None}
        rating: dict[str, Any] = self.request("POST", f"/api/rooms/{room_id}/rating", json=body)
        return rating

    def history(self, room_id: str) -> dict[str, Any]:
        """`{"count", "conversations": [transcript]}`: the visitor's earlier chats."""
        found: dict[str, Any] = self.get(f"/api/rooms/{room_id}/history")
        return found

    # ------------------------------------------------------------ follow-ups

    def leave_followup(self, room_id: str, email: str, text: str) -> dict[str, Any]:
        """The room's user, while no agent is online; the room is closed afterwards."""
        body = {"email": email, "text": text}
        left: dict[str, Any] = self.request("POST", f"/api/rooms/{room_id}/followup", json=body)
        return left

    def followups(self, state: str = "open") -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.get("/api/followups", state=state)["followups"]
        return found

    def followup_done(self, followup_id: int) -> dict[str, Any]:
        done: dict[str, Any] = self.request("POST", f"/api/followups/{followup_id}/done")
        return done


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        return response.text or response.reason_phrase
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(str(item.get("msg", item)) for item in detail)
    return str(detail)
