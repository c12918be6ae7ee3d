"""A socket's writes of one event-loop pass, sent in one system call.

An agent console follows every room it holds on one socket, so a write batch of the message
writer (api/writer.py) hands it a frame per message in the same pass of the loop, and each frame
was a `write` system call of its own. `CorkedTransport` keeps the bytes written during a pass
and sends them together as the loop's next callbacks run (`writelines`: one `writev`). Nothing
waits longer than that pass, and the order of bytes never changes: a close, or anything else
that could overtake them, sends what is kept first (an abort drops it, as it drops the
transport's own buffer). Figures: README, "corked socket writes".
"""

from __future__ import annotations

import asyncio
from typing import Any


class CorkedTransport:
    """What uvicorn's WebSocket protocol uses of a transport, with its writes corked."""

    __slots__ = ("_kept", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._kept: list[bytes] | None = None
        """Bytes written since the last flush; None when nothing is kept (no flush due)."""

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._kept is None:
            self._kept = [data]
            self._loop.call_soon(self.flush)
        else:
            self._kept.append(data)

    def flush(self) -> None:
        kept, self._kept = self._kept, None
        if not kept or self._transport.is_closing():
            return  # closed meanwhile: the peer is gone, as with a write after close
        if len(kept) == 1:
            self._transport.write(kept[0])
        else:
            self._transport.writelines(kept)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._kept = None
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def get_write_buffer_size(self) -> int:
        kept = sum(len(data) for data in self._kept) if self._kept else 0
        return kept + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        """Anything else uvicorn or a later version asks for: the transport's own, after what
        is kept (so nothing it does can overtake the kept bytes)."""
        self.flush()
        return getattr(self._transport, name)
