"""A minimal HTTP/1.1 keep-alive client for the change-feed inserter, and the no-op endpoint that proves its headroom.

httpx topped out at 230–750 POST/s on this box (55 % of its time in its connection pool's bookkeeping), so the
benchmark measured its own client. This one does only what the benchmark needs: POST a small JSON body on one of N
keep-alive connections and read a response with a Content-Length. A connection idle for longer than ``IDLE_REOPEN``
seconds is reopened before use, so it never races the server's keep-alive timeout.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

IDLE_REOPEN = 2.0  # s; uvicorn closes idle keep-alive connections after 5 s


class HttpError(RuntimeError):
    """The server answered with a status outside 2xx, or closed the connection mid-response."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used = time.monotonic()

    def close(self) -> None:
        self.writer.close()


class RawPoster:
    """POST to one URL's host on up to ``connections`` keep-alive connections (one request in flight on each)."""

    def __init__(self, base_url: str, connections: int, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.idle: asyncio.LifoQueue[_Connection | None] = asyncio.LifoQueue()
        for _ in range(connections):
            self.idle.put_nowait(None)  # a slot; connected on first use

    async def post(self, path: str, body: bytes) -> int:
        """POST ``body`` (JSON) to ``path``; returns the status (2xx) or raises HttpError."""
        connection = await self.idle.get()
        try:
            if connection is not None and time.monotonic() - connection.used > IDLE_REOPEN:
                connection.close()
                connection = None
            if connection is None:
                connection = _Connection(*await asyncio.open_connection(self.host, self.port))
            head = (
                f"POST {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\ncontent-type: application/json\r\n"
                f"{self.headers}content-length: {len(body)}\r\n\r\n"
            )
            connection.writer.write(head.encode() + body)
            status = await _read_response(connection.reader)
            connection.used = time.monotonic()
        except BaseException:
            if connection is not None:
                connection.close()
            self.idle.put_nowait(None)
            raise
        self.idle.put_nowait(connection)
        if not 200 <= status < 300:
            raise HttpError(f"POST {path}: HTTP {status}")
        return status

    async def close(self) -> None:
        while not self.idle.empty():
            connection = self.idle.get_nowait()
            if connection is not None:
                connection.close()


async def _read_response(reader: asyncio.StreamReader) -> int:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        raise HttpError("the server closed the connection before answering") from error
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
        elif name.strip().lower() == "transfer-encoding":
            raise HttpError(f"unsupported transfer-encoding {value.strip()!r}")
    if length:
        await reader.readexactly(length)
    return status


# ---------------------------------------------------------------------------------------------- the no-op endpoint


def noop_server(pipe: Any) -> None:
    """Answer every request with ``201`` and no body, doing nothing else (runs in its own process); sends its port."""

    async def main() -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":", 1)[1])
                    if length:
                        await reader.readexactly(length)
                    writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        pipe.send(server.sockets[0].getsockname()[1])
        await asyncio.to_thread(pipe.recv)  # until the bench says stop

    asyncio.run(main())
