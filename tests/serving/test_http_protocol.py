"""Responses leave in one write: the coalescing transport over real sockets, and a real server."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from palate.serving.http_protocol import CoalescingTransport
from tests.servers import RunningServer


class CountingTransport:
    """Forwards to a real transport and counts its writes (a spy, not a stand-in)."""

    def __init__(self, real: asyncio.Transport) -> None:
        self.real = real
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.real.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


async def _connected() -> tuple[CountingTransport, socket.socket]:
    """A real asyncio transport over one end of a socket pair; the other end to read."""
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
    theirs.setblocking(False)
    return CountingTransport(transport), theirs  # type: ignore[arg-type]


async def _received(peer: socket.socket, size: int) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    while len(data) < size:
        chunk = await asyncio.wait_for(loop.sock_recv(peer, size - len(data)), 5)
        if not chunk:
            break
        data += chunk
    return data


def test_writes_of_one_tick_leave_as_one_write() -> None:
    async def scenario() -> tuple[list[bytes], bytes]:
        counting, peer = await _connected()
        transport = CoalescingTransport(counting, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n")
        assert counting.writes == []  # held until the body comes
        transport.write(memoryview(b"body"))
        received = await _received(peer, 42)
        peer.close()
        counting.real.close()
        return counting.writes, received

    writes, received = asyncio.run(scenario())
    assert writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbody"]
    assert received == writes[0]


def test_a_lone_write_goes_out_at_the_end_of_its_tick() -> None:
    async def scenario() -> tuple[list[bytes], bytes, int]:
        counting, peer = await _connected()
        transport = CoalescingTransport(counting, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"chunk")
        held = transport.get_write_buffer_size()
        received = await _received(peer, 5)  # yields to the loop: the tick ends
        peer.close()
        counting.real.close()
        return counting.writes, received, held

    writes, received, held = asyncio.run(scenario())
    assert (writes, received, held) == ([b"chunk"], b"chunk", 5)


def test_close_sends_what_is_held_and_abort_drops_it() -> None:
    async def scenario() -> tuple[bytes, bytes]:
        closed_counting, closed_peer = await _connected()
        loop = asyncio.get_running_loop()
        closing = CoalescingTransport(closed_counting, loop)  # type: ignore[arg-type]
        closing.write(b"last words")
        closing.close()
        said = await _received(closed_peer, 64)  # up to EOF
        aborted_counting, aborted_peer = await _connected()
        aborting = CoalescingTransport(aborted_counting, loop)  # type: ignore[arg-type]
        aborting.write(b"never sent")
        aborting.abort()
        unsaid = await _received(aborted_peer, 64)
        closed_peer.close()
        aborted_peer.close()
        return said, unsaid

    said, unsaid = asyncio.run(scenario())
    assert said == b"last words"
    assert unsaid == b""


@pytest.mark.parametrize("count", [1, 3])
def test_pipelined_requests_on_one_connection_get_whole_responses(
    server: RunningServer, count: int
) -> None:
    host, port = server.base_url.removeprefix("http://").split(":")
    request = f"GET /healthz HTTP/1.1\r\nhost: {host}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request * count)  # back to back, before any answer
        data = b""
        while data.count(b"HTTP/1.1 200") < count or not _complete(data, count):
            chunk = conn.recv(65536)
            assert chunk, f"connection closed after {data!r}"
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == count


def _complete(data: bytes, count: int) -> bool:
    """Whether ``data`` holds ``count`` whole responses (heads with content-length bodies)."""
    rest = data
    for _ in range(count):
        head, sep, tail = rest.partition(b"\r\n\r\n")
        if not sep:
            return False
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        if len(tail) < length:
            return False
        rest = tail[length:]
    return True
