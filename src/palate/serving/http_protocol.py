"""uvicorn's httptools protocol with each response's head and body leaving in one write.

uvicorn writes a response's status line and headers, then its body, as two transport writes:
two ``send`` system calls and two TCP segments, and on loopback or a virtual NIC two wake-ups
of the reader. A ranking answer is a few kilobytes sent at once, so the second segment is pure
overhead; profiling a worker under Discovery load put ~8 % of its CPU in those sends. Here the
transport holds a write for the rest of the event-loop tick and joins it to the next one (as
Netty's flush consolidation does): the head waits for the body, which follows it in the same
tick, and both go out in one call. A write with nothing after it in its tick (a lone chunk of
a streamed response) still goes out at the end of that tick.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """A transport whose writes within one loop tick go out as one write.

    Everything but writing is the wrapped transport's; closing sends what is held first.
    """

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Hold ``data`` until the next write or the end of this tick, whichever is first."""
        if self._held is None:
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
            return
        joined, self._held = self._held + data, None
        self._transport.write(joined)

    def writelines(self, chunks: Any) -> None:
        """Like :meth:`write` with the chunks joined."""
        self.write(b"".join(chunks))

    def flush(self) -> None:
        """Send what is held now (a no-op when the next write took it already)."""
        if self._held is not None:
            held, self._held = self._held, None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        """Send what is held, then close."""
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        """Send what is held, then half-close."""
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        """Drop what is held with the connection."""
        self._held = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        """Bytes not yet sent, the held ones included."""
        held = 0 if self._held is None else len(self._held)
        return held + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` over a :class:`CoalescingTransport` (pass as uvicorn's ``http``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Wrap the connection's transport, then set up as uvicorn does."""
        wrapped = CoalescingTransport(transport, self.loop)
        super().connection_made(wrapped)  # type: ignore[arg-type]


UVICORN_OPTIONS: dict[str, Any] = {"http": CoalescingHttpToolsProtocol, "access_log": False}
"""How every Palate server runs uvicorn: this protocol, and no uvicorn access log (the
observability middleware logs each request). Pass to ``uvicorn.run`` or ``uvicorn.Config``."""
