"""uvicorn's websockets-sansio protocol with less kept per connection (10,000 idle sockets).

The stock class gives every connection an `asyncio.Queue` (four deques, ~3 KiB) and an
`asyncio.Event` for what is, per socket, one reader and a flag; keeps the handshake's request
and response objects (headers parsed twice) for as long as the socket lives; and has ~40
attributes, past what CPython shares between instance dicts. `LeanWebSocketsProtocol` keeps
the same code paths (it only overrides `__init__` and drops the handshake objects once used)
with slots, an inbox that holds a deque only while a message waits, and a plain gate. It also
reads a client's plain text frames itself and writes its own (`api.ws_text_frames`:
websockets' frame code costs more CPU than storing a chat message) and pauses reading only
once `PAUSE_READING_AT` messages wait for the app, not after every one (two system calls per
message).

It relies on uvicorn's internals: `compatible()` checks that the stock class still sets
exactly the attributes this one sets up; if not, `WebSocketProtocol` is the stock class (and a
warning says so), and tests/api/realtime/test_ws_protocol.py fails until this is updated.
Serve with `ws=WebSocketProtocol` (or `--ws api.ws_protocol:WebSocketProtocol`).
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import logging
import textwrap
from collections import deque
from collections.abc import Callable
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.http11 import Request
from websockets.server import ServerProtocol

from api import ws_text_frames
from api.corked_transport import CorkedTransport

log = logging.getLogger(__name__)

STOCK_ATTRIBUTES = frozenset(
    {
        "config", "app", "loop", "logger", "root_path", "asgi_version", "app_state",
        "connections", "tasks", "default_headers", "transport", "server", "client", "scheme",
        "queue", "handshake_initiated", "handshake_complete", "close_sent", "disconnected",
        "close_timer", "close_timeout", "initial_response", "conn", "read_paused", "writable",
        "ping_interval", "ping_timeout", "ping_timer", "pong_timer", "pending_ping_payload",
        "ping_sent_at", "last_ping_rtt", "frames", "curr_msg_data_type", "request", "response",
        "scope",
    }
)  # fmt: skip
"""Every `self.<name> = ...` in uvicorn 0.54's WebSocketsSansIOProtocol."""
INIT_ATTRIBUTES = STOCK_ATTRIBUTES - {"request", "response", "scope"}
"""The ones its `__init__` sets (the others are set by `handle_connect`)."""
SEND_TEXT_NOW = "tandem.send_text_now"
"""The scope extension with the socket's `send_text_now` (only on the lean protocol)."""
TAKE_TEXT_NOW = "tandem.take_text_now"
"""The scope extension with the socket's `take_texts_with`: the app's reader may take a
client's text frame as it is read, instead of being woken for it (only on the lean protocol)."""
PAUSE_READING_AT = 32
"""Messages read and waiting for the app before the socket stops reading (backpressure)."""


class _Inbox:
    """What uvicorn uses of `asyncio.Queue` (`put_nowait`, `get`, `empty`), unbounded like
    it, without four deques per socket: a deque only while something waits in it."""

    __slots__ = ("_getters", "_items", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        """Its protocol's: on Python 3.11 each `get_running_loop()` is a getpid system call."""
        self._items: deque[Any] | None = None
        self._getters: list[asyncio.Future[None]] | None = None

    def empty(self) -> bool:
        return not self._items

    def reader_waiting(self) -> bool:
        """Nothing is queued and a reader waits: an item taken now is the one it waits for."""
        getters = self._getters
        if self._items or not getters:
            return False
        for getter in getters:  # noqa: SIM110  (a loop: no generator made per frame read)
            if not getter.done():
                return True
        return False

    def __len__(self) -> int:
        return len(self._items) if self._items else 0

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self._wake_one()

    def _wake_one(self, skip: asyncio.Future[None] | None = None) -> None:
        for getter in self._getters or ():
            if getter is not skip and not getter.done():
                getter.set_result(None)
                return

    async def get(self) -> Any:
        while not self._items:
            getter = self._loop.create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                if self._items and getter.done() and not getter.cancelled():
                    self._wake_one(skip=getter)  # woken, then cancelled: pass it on
                raise
            finally:
                self._getters.remove(getter)
                if not self._getters:
                    self._getters = None
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item


class _Gate:
    """What uvicorn uses of `asyncio.Event` for `writable` (`set`, `clear`, `wait`), with no
    deque until a send has to wait for the transport to drain."""

    __slots__ = ("_open", "_waiters")

    def __init__(self) -> None:
        self._open = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._open

    def set(self) -> None:
        self._open = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._open = False

    async def wait(self) -> None:
        if self._open:
            return
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


class LeanWebSocketsProtocol(WebSocketsSansIOProtocol):
    """The stock protocol, set up with less (see the module's docstring)."""

    __slots__ = (*sorted(STOCK_ATTRIBUTES), "take_text")

    def __init__(  # the stock __init__, minus the queue, the event and the spare objects
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()  # pragma: no cover
        self.config = config
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.logger = _LOGGER
        self.root_path = config.root_path
        self.asgi_version = config.asgi_version
        self.app_state = app_state
        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.default_headers = server_state.default_headers
        self.transport = None  # type: ignore[assignment]
        self.server = None
        self.client = None
        self.scheme = None  # type: ignore[assignment]
        self.queue = _Inbox(self.loop)  # type: ignore[assignment]
        self.handshake_initiated = False
        self.handshake_complete = False
        self.close_sent = False
        self.disconnected = False
        self.close_timer = None
        self.close_timeout = 10.0
        self.initial_response = None
        extensions = []
        if config.ws_per_message_deflate:
            extensions = [
                ServerPerMessageDeflateFactory(
                    server_max_window_bits=12,
                    client_max_window_bits=12,
                    compress_settings={"memLevel": 5},
                )
            ]
        self.conn = ServerProtocol(
            extensions=extensions, max_size=config.ws_max_size, logger=_LOGGER
        )
        self.read_paused = False
        self.writable = _Gate()  # type: ignore[assignment]
        self.ping_interval = config.ws_ping_interval
        self.ping_timeout = config.ws_ping_timeout
        self.ping_timer = None
        self.pong_timer = None
        self.pending_ping_payload = None
        self.ping_sent_at = 0.0
        self.last_ping_rtt = 0.0
        self.frames = []
        self.curr_msg_data_type = "bytes"
        self.request = None  # type: ignore[assignment]
        self.response = None  # type: ignore[assignment]
        self.take_text: Callable[[str], bool] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # A frame per message of a write batch, to a console holding many rooms: one writev.
        self.transport = CorkedTransport(self.transport, self.loop)  # type: ignore[assignment]

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if isinstance(extensions := self.scope.get("extensions"), dict):
            extensions[SEND_TEXT_NOW] = self.send_text_now  # type: ignore[assignment]
            extensions[TAKE_TEXT_NOW] = self.take_texts_with  # type: ignore[assignment]
        # The scope has what the app needs. websockets' parser keeps the request for as long
        # as the connection lives (a local of its generator): empty its headers instead.
        self.request = None  # type: ignore[assignment]
        event.headers.clear()

    def data_received(self, data: bytes) -> None:
        if _PLAIN_TEXT_FRAMES and self.handshake_complete and not self.close_sent:
            texts, data = ws_text_frames.text_frames(self.conn, data)
            take = self.take_text
            inbox: _Inbox = self.queue  # type: ignore[assignment]
            for text in texts:
                if take is not None and inbox.reader_waiting() and take(text):
                    continue  # handled as it was read: the app's reader still waits
                inbox.put_nowait({"type": "websocket.receive", "text": text})
            if texts and not self.read_paused and len(inbox) >= PAUSE_READING_AT:
                self.read_paused = True  # uvicorn's `receive` resumes once the app has read all
                self.transport.pause_reading()
            if not data:
                return
        super().data_received(data)

    async def send(self, message: Any) -> None:
        if (
            message["type"] == "websocket.send"
            and message.get("bytes") is None
            and (text := message.get("text")) is not None
            and self.send_text_now(text)
        ):
            return
        await super().send(message)
        if self.handshake_complete and self.response is not None:
            self.response = None  # type: ignore[assignment]  # sent (or refused): not needed

    def take_texts_with(self, take: Callable[[str], bool] | None) -> None:
        """While set, a plain text frame read while the app's reader waits with nothing
        queued goes to `take` first, which handles it now (True: the reader is not woken) or
        declines (False: it is queued as before). Taken only then, a frame can never pass one
        queued before it. The app reaches it through the scope's `TAKE_TEXT_NOW` extension."""
        self.take_text = take

    def send_text_now(self, text: str) -> bool:
        """What the stock `send` does for a text, without websockets' Frame and without
        awaiting, when that is all it would do; False when it would wait (flow control) or
        do more (closing, an extension): then await `send`. The app reaches it through the
        scope's `SEND_TEXT_NOW` extension."""
        if (
            _PLAIN_TEXT_FRAMES
            and self.writable.is_set()
            and self.handshake_complete
            and not (self.disconnected or self.close_sent or self.initial_response)
            and ws_text_frames.writable(self.conn)
        ):
            self.transport.write(ws_text_frames.text_frame(text.encode()))
            return True
        return False


_LOGGER = logging.getLogger("uvicorn.error")
_PLAIN_TEXT_FRAMES = ws_text_frames.supported()


def _assigned_to_self(code: object) -> frozenset[str] | None:
    """The `self.<name>` that `code` (a class or a function) assigns, read from its source;
    None if its source cannot be read."""
    try:
        source = textwrap.dedent(inspect.getsource(code))  # type: ignore[arg-type]
    except (OSError, TypeError):
        return None
    return frozenset(
        node.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


def stock_attributes() -> frozenset[str] | None:
    """The attributes the stock class assigns anywhere."""
    return _assigned_to_self(WebSocketsSansIOProtocol)


def stock_init_attributes() -> frozenset[str] | None:
    """The attributes the stock `__init__` assigns."""
    return _assigned_to_self(WebSocketsSansIOProtocol.__init__)


def compatible() -> bool:
    """The stock class sets up what this one does, no more and no less."""
    return stock_attributes() == STOCK_ATTRIBUTES and stock_init_attributes() == INIT_ATTRIBUTES


def _choose() -> type[WebSocketsSansIOProtocol]:
    if not _PLAIN_TEXT_FRAMES:
        log.warning(
            "websockets' frame code changed: every frame goes through it (more CPU per "
            "message); update api/ws_text_frames.py"
        )
    if compatible():
        return LeanWebSocketsProtocol
    log.warning(
        "uvicorn's websockets-sansio protocol changed (%s): serving with the stock one "
        "(more memory per socket); update api/ws_protocol.py",
        WebSocketsSansIOProtocol.__module__,
    )
    return WebSocketsSansIOProtocol


WebSocketProtocol = _choose()
"""What uvicorn serves WebSockets with: the lean protocol, or the stock one if uvicorn's
changed under it."""
