"""A socket's corked writes (api/corked_transport.py), over a real loopback connection: what a
pass of the loop writes reaches the peer without anything else to push it, in order, and
everything written before a close arrives before the connection ends."""

from __future__ import annotations

import asyncio

from api.corked_transport import CorkedTransport


async def test_corked_writes_arrive_in_order_and_all_before_the_close() -> None:
    received = bytearray()
    ended = asyncio.Event()
    grew = asyncio.Event()

    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            received.extend(chunk)
            grew.set()
        ended.set()
        writer.close()

    server = await asyncio.start_server(peer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    corked = CorkedTransport(transport, loop)
    try:
        frames = [f"frame {n};".encode() for n in range(50)]
        for frame in frames[:25]:
            corked.write(frame)
        assert corked.get_write_buffer_size() >= sum(map(len, frames[:25]))
        # Nothing else is written or closed: the pass ends, and the frames go by themselves.
        async with asyncio.timeout(5):
            while len(received) < sum(map(len, frames[:25])):
                grew.clear()
                await grew.wait()
        assert bytes(received) == b"".join(frames[:25])

        for frame in frames[25:]:
            corked.write(frame)
        corked.close()  # in the same pass: the close must not overtake them
        async with asyncio.timeout(5):
            await ended.wait()
        assert bytes(received) == b"".join(frames)
    finally:
        transport.abort()
        server.close()
        await server.wait_closed()
