"""Plain text frames without websockets' frame code (api/ws_text_frames.py): the frames it reads
arrive as websockets would have delivered them, and everything else reaches websockets' parser
untouched, even a frame that TCP cut in two; the frames it writes are websockets' own, byte for
byte, and only where websockets would write them that way."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN
from websockets.server import ServerProtocol

from api import ws_text_frames
from api.ws_text_frames import text_frame, text_frames, writable
from tests.api.realtime.test_ws_protocol import lean_server, new_room

HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def framed(text: str | bytes, *, opcode: Opcode = Opcode.TEXT, fin: bool = True) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return Frame(opcode, data, fin).serialize(mask=True)


def opened(max_size: int | None = 1 << 20) -> ServerProtocol:
    """A server connection after a real handshake, as uvicorn holds it."""
    conn = ServerProtocol(max_size=max_size)
    conn.receive_data(HANDSHAKE)
    (request,) = conn.events_received()
    conn.send_response(conn.accept(request))  # type: ignore[arg-type]
    conn.data_to_send()
    assert conn.state is OPEN
    return conn


def test_websockets_still_keeps_what_the_reader_reads() -> None:
    assert ws_text_frames.supported(), "websockets changed: update api/ws_text_frames.py"


def test_whole_text_frames_are_read_and_the_rest_left_for_websockets() -> None:
    conn = opened()
    long = "é" * 300  # 600 bytes: the 16-bit length form
    third = framed("three")
    texts, rest = text_frames(conn, framed("one") + framed(long) + third[:4])
    assert texts == ["one", long] and rest == third[:4]
    conn.receive_data(rest)  # websockets' parser now holds half a frame ...
    assert text_frames(conn, third[4:]) == ([], third[4:])  # ... so it reads the rest
    conn.receive_data(third[4:])
    assert [event.data for event in conn.events_received()] == [b"three"]  # type: ignore[union-attr]
    assert text_frames(conn, framed("four")) == (["four"], b"")  # between frames again


@pytest.mark.parametrize(
    "data",
    [
        framed(b"\xff\xfe"),  # not UTF-8: websockets and uvicorn close with 1007
        Frame(Opcode.TEXT, b"unmasked").serialize(mask=False),  # 1002
        framed("x" * 2000),  # past max_size: 1009
        framed("start", fin=False) + framed("end", opcode=Opcode.CONT),  # a fragmented message
        framed(b"\x00", opcode=Opcode.BINARY),
        framed(b"", opcode=Opcode.PING),
        framed("x" * 70_000),  # the 64-bit length form
    ],
    ids=["bad-utf8", "unmasked", "too-big", "fragmented", "binary", "ping", "64-bit-length"],
)
def test_anything_but_a_plain_text_frame_goes_to_websockets(data: bytes) -> None:
    conn = opened(max_size=1000)
    assert text_frames(conn, data) == ([], data)
    assert text_frames(conn, framed("ok") + data) == (["ok"], data)


def test_nothing_is_read_past_a_fragment_websockets_is_assembling() -> None:
    conn = opened()
    conn.receive_data(framed("start", fin=False))
    end = framed("end", opcode=Opcode.CONT)
    plain = framed("x")
    assert text_frames(conn, plain) == ([], plain)
    conn.receive_data(end)
    assert [event.data for event in conn.events_received()] == [b"start", b"end"]  # type: ignore[union-attr]


async def test_frames_in_any_cut_reach_the_app_in_order(sqlite_url: str) -> None:
    """Through a real server: messages written whole, several to one write, cut mid-header and
    mid-payload, around a fragmented message and a protocol ping, are all stored in the order
    sent; then a frame that is not UTF-8 closes the socket with 1007, as before."""
    async with lean_server(sqlite_url) as (_, base, ws_base):
        room_id, token = await new_room(base)
        async with websockets.connect(f"{ws_base}/ws/rooms/{room_id}?token={token}") as conn:
            assert json.loads(await conn.recv())["type"] == "room"

            def message(n: int) -> str:
                return json.dumps({"type": "message", "text": f"m{n}", "client_id": f"c{n}"})

            stream = b"".join(framed(message(n)) for n in range(6))
            head, tail = message(6)[:9], message(6)[9:]
            stream += framed(head, fin=False) + framed(tail, opcode=Opcode.CONT)
            stream += framed(b"are you there", opcode=Opcode.PING) + framed(message(7))
            one = len(framed(message(0)))
            cuts = sorted({1, 2, 5, one, one + 3, 2 * one + 40, len(stream) - 1})
            for start, stop in zip([0, *cuts], [*cuts, len(stream)], strict=True):
                conn.transport.write(stream[start:stop])
                await asyncio.sleep(0.01)
            stored: list[str] = []
            async with asyncio.timeout(10):
                while len(stored) < 8:
                    frame = json.loads(await conn.recv())
                    if frame["type"] == "message" and frame["message"]["sender"] == "user":
                        stored.append(frame["message"]["client_id"])
            assert stored == [f"c{n}" for n in range(8)]
            conn.transport.write(framed(b"\xff\xfe"))
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                async with asyncio.timeout(5):
                    while True:
                        await conn.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70_000])
def test_a_written_text_frame_is_the_one_websockets_writes(size: int) -> None:
    payload = ("é" * size).encode()[:size]
    conn = opened()
    assert writable(conn)
    conn.send_text(payload)
    assert conn.data_to_send() == [text_frame(payload)]


def test_frames_are_left_to_websockets_when_it_would_write_them_otherwise() -> None:
    conn = opened()
    conn.send_text(b"start", fin=False)  # a fragmented message being sent
    assert not writable(conn)
    conn.send_continuation(b"end", fin=True)
    conn.data_to_send()
    assert writable(conn)
    conn.send_ping(b"")  # written but not yet handed to the transport: keep the order
    assert not writable(conn)
    conn.data_to_send()
    conn.receive_data(Frame(Opcode.CLOSE, b"\x03\xe8").serialize(mask=True))  # closing
    assert not writable(conn)


async def test_texts_of_every_length_reach_the_client_whole(sqlite_url: str) -> None:
    """Through a real server, a user's messages of sizes around the frame's length forms (one
    byte and two; the longest message allowed is far below the eight-byte form), in several
    scripts, come back as the client's parser reads them."""
    texts = ["hi", "ü" * 70, "語" * 40, "x" * 4000, "🙂" * 4000, '"' * 4000]
    async with lean_server(sqlite_url) as (_, base, ws_base):
        room_id, token = await new_room(base)
        async with websockets.connect(
            f"{ws_base}/ws/rooms/{room_id}?token={token}", max_size=1 << 20
        ) as conn:
            assert json.loads(await conn.recv())["type"] == "room"
            for n, text in enumerate(texts):
                await conn.send(json.dumps({"type": "message", "text": text, "client_id": f"c{n}"}))
            got: list[str] = []
            async with asyncio.timeout(10):
                while len(got) < len(texts):
                    frame = json.loads(await conn.recv())
                    if frame["type"] == "message" and frame["message"]["sender"] == "user":
                        got.append(frame["message"]["text"])
            assert got == texts
            await conn.send(json.dumps({"type": "ping"}))  # a frame under 126 bytes
            assert json.loads(await conn.recv()) == {"type": "pong"}
