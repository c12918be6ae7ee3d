"""Plain text frames read and written without websockets' frame code, in the case that is
nearly all traffic: whole, unfragmented text frames on an open connection with no extension.

websockets' sans-I/O parser is a chain of generators that runs a few dozen Python frames per
WebSocket frame; for a small chat message that is more CPU than storing it. `text_frames` takes
the frames it can read at the start of the received bytes and returns the rest, untouched, for
websockets' parser: anything else (a control frame, a fragment, a binary frame, an unmasked or
oversized frame, bad UTF-8, a frame cut in two by TCP) goes to websockets exactly as it came,
and it answers as it always has (pong, close 1002, 1007, 1009 ...).

`text_frame` is the other way: the bytes of a whole text frame from the server (unmasked,
FIN, no RSV bit), which websockets builds through a `Frame`, its checks and a `BytesIO`, once
per frame sent: more CPU than the rest of a message's way out to a socket.

It reads websockets' internals (the parser generator's place, its buffer); `supported()`
checks them once, and that websockets frames a text as `text_frame` does; without them every
byte goes through websockets.
"""

from __future__ import annotations

from types import GeneratorType
from typing import Any

from websockets.protocol import OPEN, Protocol
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets built without its C extension
    from websockets.utils import apply_mask

_FIN_TEXT = 0x81
"""First byte of a whole text frame: FIN, no RSV bits (no extension), opcode 1."""
_MASKED = 0x80
_AT_EOF = StreamReader.at_eof.__code__
_PARSE = Protocol.parse.__code__


def _between_frames(conn: ServerProtocol) -> bool:
    """The connection is open, nothing is buffered or pending, no fragmented message is in
    progress, and the parser waits for the first byte of a frame (in `parse`'s `at_eof`, not
    halfway through a frame whose first bytes it has consumed)."""
    if (
        conn.state is not OPEN
        or conn.extensions
        or conn.current_size is not None
        or conn.events
        or conn.parser_exc is not None
        or conn.reader.buffer
    ):
        return False
    outer: Any = None
    gen: Any = conn.parser
    while isinstance(inner := getattr(gen, "gi_yieldfrom", None), GeneratorType):
        outer, gen = gen, inner
    return gen.gi_code is _AT_EOF and outer is not None and outer.gi_code is _PARSE


def text_frames(conn: ServerProtocol, data: bytes) -> tuple[list[str], bytes]:
    """The texts of the whole masked text frames at the start of `data`, and the bytes after
    them, for websockets' parser. ([], data) unless the parser is between frames."""
    if not _between_frames(conn):
        return [], data
    limit = conn.max_message_size
    if conn.max_fragment_size is not None:
        limit = conn.max_fragment_size if limit is None else min(limit, conn.max_fragment_size)
    texts: list[str] = []
    pos, end = 0, len(data)
    while end - pos >= 6 and data[pos] == _FIN_TEXT and data[pos + 1] & _MASKED:
        size = data[pos + 1] & 0x7F
        head = pos + 2
        if size == 126:
            if end - pos < 8:
                break
            size = int.from_bytes(data[head : head + 2], "big")
            head += 2
        elif size == 127:
            break  # 64 KiB or more: far past a chat frame; websockets checks it
        stop = head + 4 + size
        if stop > end or (limit is not None and size > limit):
            break
        try:
            texts.append(apply_mask(data[head + 4 : stop], data[head : head + 4]).decode())
        except UnicodeDecodeError:
            break  # websockets' parser and uvicorn close with 1007
        pos = stop
    return texts, data[pos:]


def writable(conn: ServerProtocol) -> bool:
    """A whole text frame may be sent as `text_frame` builds it: the connection is open, no
    extension encodes frames, no fragmented message is being sent, nothing else is queued."""
    return (
        conn.state is OPEN
        and not conn.extensions
        and not conn.expect_continuation_frame
        and not conn.writes
    )


def text_frame(payload: bytes) -> bytes:
    """A server's whole text frame carrying `payload` (UTF-8), as websockets serializes it."""
    size = len(payload)
    if size < 126:
        return bytes((_FIN_TEXT, size)) + payload
    if size < 65536:
        return bytes((_FIN_TEXT, 126)) + size.to_bytes(2, "big") + payload
    return bytes((_FIN_TEXT, 127)) + size.to_bytes(8, "big") + payload


def supported() -> bool:
    """websockets still keeps what `text_frames` reads, where it reads it."""
    try:
        probe = ServerProtocol()
        probe.state = OPEN  # as after the handshake: the frame parser runs next
        probe.parser = Protocol.parse(probe)
        next(probe.parser)
        return (
            isinstance(probe.reader.buffer, bytearray)
            and hasattr(probe, "max_fragment_size")
            and _between_frames(probe)
            and writable(probe)
            and _frames_as_websockets(probe)
        )
    except Exception:  # any change of shape: read everything through websockets
        return False


def _frames_as_websockets(probe: ServerProtocol) -> bool:
    for size in (0, 125, 126, 65535, 65536):
        payload = b"x" * size
        probe.send_text(payload)
        if probe.data_to_send() != [text_frame(payload)]:
            return False
    return True
