"""Shared-cell edit latency: one writer appends one character at a steady rate; N-1 readers time its arrival.

Three systems, the same layout for each — the writer in its own process, the readers spread over ``READER_PROCESSES``
processes, the server in another:

* ``nbrealtime``: kernels are ``nbrealtime.connect`` rooms (one Room — one websocket — per collaborator; the rooms of
  one process share its background loop) against ``nbrealtime serve``; the writer calls ``cell.insert``; a reader's
  clock stops in its ``cell.on_change`` callback.
* ``pycrdt-websocket`` (the peer): its ``WebsocketServer`` behind a ``websockets`` server; the clients are pycrdt
  ``Doc``s synced by pycrdt's ``Provider``; the writer inserts into a ``Text``; a reader's clock stops in
  ``Text.observe``.
* ``relay`` (the floor): a ``websockets`` server that forwards every message to the other clients, one ``await send``
  after another; the writer sends a 4-byte sequence number.

Latency = receive time in the reader's callback − time just before the writer's insert (CLOCK_MONOTONIC, shared by
all processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from common import BenchServer, Summary, Worker, all_expect, now_ns, open_room, wait_go

SYSTEMS = ("nbrealtime", "pycrdt-websocket", "relay")
RATE = 50.0  # edits per second
WARMUP = 25  # first edits not counted (default)
READER_PROCESSES = 2
STOP_GRACE = 2.0


@dataclass
class LatencyResult:
    system: str
    collaborators: int
    summary: Summary
    setup_seconds: float


def _split(items: list[Any], parts: int) -> list[list[Any]]:
    parts = max(1, min(parts, len(items)))
    return [items[i::parts] for i in range(parts)]


def paced(edits: int, rate: float, edit: Callable[[int], None]) -> list[int]:
    """Call ``edit(i)`` at ``rate`` per second (absolute schedule, no drift); return each call's start time."""
    sends: list[int] = []
    period = int(1e9 / rate)
    start = now_ns() + 50_000_000
    for i in range(edits):
        delay = (start + i * period - now_ns()) / 1e9
        if delay > 0:
            time.sleep(delay)
        sends.append(now_ns())
        edit(i)
    return sends


async def _apaced(edits: int, rate: float, edit: Callable[[int], Any]) -> list[int]:
    sends: list[int] = []
    period = int(1e9 / rate)
    start = now_ns() + 50_000_000
    for i in range(edits):
        delay = (start + i * period - now_ns()) / 1e9
        if delay > 0:
            await asyncio.sleep(delay)
        sends.append(now_ns())
        result = edit(i)
        if asyncio.iscoroutine(result):
            await result
    return sends


def _finish_readers(pipe: Any, records: list[tuple[int, int, int]], count: int, edits: int) -> None:
    """On "stop": wait (bounded) until every reader saw the last edit, then send what was recorded."""
    wait_go(pipe)
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline:
        if sum(1 for _, index, _ in records if index == edits - 1) >= count:
            break
        time.sleep(0.02)
    pipe.send(list(records))


async def _afinish_readers(pipe: Any, records: list[tuple[int, int, int]], count: int, edits: int) -> None:
    await asyncio.to_thread(wait_go, pipe)
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline:
        if sum(1 for _, index, _ in records if index == edits - 1) >= count:
            break
        await asyncio.sleep(0.02)
    pipe.send(list(records))


# ---------------------------------------------------------------------------------------------- nbrealtime


def retry(action: Callable[[], Any], attempts: int = 3) -> Any:
    """Joining 50 kernels at once sometimes meets a pooled HTTP connection that the server just closed
    (httpx.ReadError); a kernel's user would re-run the cell, so do that, a bounded number of times."""
    for attempt in range(attempts):
        try:
            return action()
        except Exception:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
    return None


def nbrt_readers(pipe: Any, *, url: str, key: str, room: str, names: list[str], edits: int) -> None:
    import nbrealtime

    records: list[tuple[int, int, int]] = []
    with ThreadPoolExecutor(8) as pool:
        rooms = list(pool.map(lambda name: retry(lambda: nbrealtime.connect(room, user=name, url=url, key=key)), names))
        cells = list(pool.map(lambda r: retry(lambda: r.cell("bench")), rooms))
    for reader, cell in enumerate(cells):
        cell.on_change(lambda text, reader=reader: records.append((reader, len(text) - 1, now_ns())))
    pipe.send("ready")
    _finish_readers(pipe, records, len(cells), edits)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda r: r.close(), rooms))


def nbrt_writer(pipe: Any, *, url: str, key: str, room: str, edits: int, rate: float) -> None:
    import nbrealtime

    opened = retry(lambda: nbrealtime.connect(room, user="writer", url=url, key=key))
    cell = retry(lambda: opened.cell("bench"))
    pipe.send("ready")
    wait_go(pipe)
    sends = paced(edits, rate, lambda i: cell.insert(i, "x"))
    pipe.send(sends)
    opened.close()


# ---------------------------------------------------------------------------------------------- pycrdt-websocket


class _WsChannel:
    """pycrdt's ``Channel`` over a ``websockets`` connection (client or server side)."""

    def __init__(self, websocket: Any, path: str) -> None:
        self._websocket = websocket
        self._path = path

    @property
    def path(self) -> str:
        return self._path

    def __aiter__(self) -> _WsChannel:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.recv()
        except Exception:
            raise StopAsyncIteration() from None

    async def send(self, message: bytes) -> None:
        await self._websocket.send(message)

    async def recv(self) -> bytes:
        message = await self._websocket.recv()
        return message if isinstance(message, bytes) else message.encode()


def peer_server(pipe: Any) -> None:
    async def main() -> None:
        import websockets
        from pycrdt.websocket import WebsocketServer

        async with WebsocketServer(auto_clean_rooms=False) as crdt_server:

            async def handler(websocket: Any) -> None:
                await crdt_server.serve(_WsChannel(websocket, websocket.request.path))

            async with websockets.serve(handler, "127.0.0.1", 0, max_size=None, compression=None) as server:
                pipe.send(server.sockets[0].getsockname()[1])
                await asyncio.to_thread(wait_go, pipe, 3600)

    asyncio.run(main())


class _PeerClient:
    """A pycrdt ``Doc`` synced with the pycrdt-websocket server by pycrdt's ``Provider`` (started/stopped by hand:
    its context manager must be left in the task that entered it)."""

    def __init__(self) -> None:
        from pycrdt import Doc, Text

        self.doc = Doc()
        self.text = self.doc.get("source", type=Text)
        self.websocket: Any = None
        self.provider: Any = None
        self.task: asyncio.Task[None] | None = None

    async def open(self, port: int, room: str) -> _PeerClient:
        import websockets
        from pycrdt import Provider

        self.websocket = await websockets.connect(f"ws://127.0.0.1:{port}/{room}", max_size=None, compression=None)
        self.provider = Provider(self.doc, _WsChannel(self.websocket, room))
        self.task = asyncio.create_task(self.provider.start())
        await asyncio.wait_for(self.provider.synced.wait(), 30)
        return self

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.provider.stop()
        with contextlib.suppress(Exception):
            await self.websocket.close()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task


def peer_readers(pipe: Any, *, port: int, room: str, count: int, edits: int) -> None:
    async def main() -> None:
        records: list[tuple[int, int, int]] = []
        clients = [await _PeerClient().open(port, room) for _ in range(count)]  # one by one: joins race in YRoom

        def observer(reader: int, text: Any) -> Callable[[Any], None]:
            # one parameter only: pycrdt passes the transaction too to a callback that takes two
            return lambda _event: records.append((reader, len(text) - 1, now_ns()))

        # keep the subscriptions: pycrdt drops unreferenced ones
        subscriptions = [client.text.observe(observer(i, client.text)) for i, client in enumerate(clients)]
        pipe.send("ready")
        await _afinish_readers(pipe, records, count, edits)
        del subscriptions
        for client in clients:
            await client.close()

    asyncio.run(main())


def peer_writer(pipe: Any, *, port: int, room: str, edits: int, rate: float) -> None:
    async def main() -> None:
        client = await _PeerClient().open(port, room)
        pipe.send("ready")
        await asyncio.to_thread(wait_go, pipe)

        def edit(i: int) -> None:
            client.text.insert(i, "x")

        sends = await _apaced(edits, rate, edit)
        await asyncio.sleep(0.2)  # let the provider's sender task flush before the socket closes
        pipe.send(sends)
        await client.close()

    asyncio.run(main())


# ---------------------------------------------------------------------------------------------- relay floor


def relay_server(pipe: Any) -> None:
    async def main() -> None:
        import websockets

        clients: set[Any] = set()

        async def handler(websocket: Any) -> None:
            clients.add(websocket)
            try:
                async for message in websocket:
                    for other in list(clients):
                        if other is not websocket:
                            with contextlib.suppress(Exception):
                                await other.send(message)
            finally:
                clients.discard(websocket)

        async with websockets.serve(handler, "127.0.0.1", 0, max_size=None, compression=None) as server:
            pipe.send(server.sockets[0].getsockname()[1])
            await asyncio.to_thread(wait_go, pipe, 3600)

    asyncio.run(main())


def relay_readers(pipe: Any, *, port: int, count: int, edits: int) -> None:
    async def main() -> None:
        import websockets

        records: list[tuple[int, int, int]] = []
        sockets = [
            await websockets.connect(f"ws://127.0.0.1:{port}/", max_size=None, compression=None) for _ in range(count)
        ]

        async def read(reader: int, websocket: Any) -> None:
            with contextlib.suppress(Exception):
                async for message in websocket:
                    records.append((reader, struct.unpack("<I", message)[0], now_ns()))

        tasks = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets)]
        pipe.send("ready")
        await _afinish_readers(pipe, records, count, edits)
        for websocket in sockets:
            await websocket.close()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())


def relay_writer(pipe: Any, *, port: int, edits: int, rate: float) -> None:
    async def main() -> None:
        import websockets

        async with websockets.connect(f"ws://127.0.0.1:{port}/", max_size=None, compression=None) as websocket:
            pipe.send("ready")
            await asyncio.to_thread(wait_go, pipe)
            sends = await _apaced(edits, rate, lambda i: websocket.send(struct.pack("<I", i)))
            pipe.send(sends)

    asyncio.run(main())


# ---------------------------------------------------------------------------------------------- driver


def _latencies(sends: list[int], records: list[tuple[int, int, int]], readers: int, warmup: int) -> Summary:
    first: dict[tuple[int, int], int] = {}
    for reader, index, received in records:
        if 0 <= index < len(sends):
            first.setdefault((reader, index), received)
    values = [(t - sends[i]) / 1e6 for (_, i), t in first.items() if i >= warmup]
    expected = readers * (len(sends) - warmup)
    return Summary.of(values, lost=expected - len(values))


def measure(system: str, collaborators: int, edits: int, server: BenchServer, warmup: int = WARMUP,
            on_readers: Callable[[list[int]], None] | None = None) -> LatencyResult:  # fmt: skip
    """One run: 1 writer + (collaborators - 1) readers, ``edits`` edits at ``RATE`` per second; ``on_readers`` gets
    the reader processes' pids just before the first edit (``profile_readers.py`` attaches a profiler)."""
    readers = collaborators - 1
    room = f"lat{collaborators}-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    helpers: list[Worker] = []
    workers: list[Worker] = []
    try:
        if system == "nbrealtime":
            open_room(server, room)
            parts = _split([f"reader{i}" for i in range(readers)], READER_PROCESSES)
            common = {"url": server.url, "key": server.anon_key, "room": room}
            workers = [Worker(nbrt_readers, names=part, edits=edits, **common) for part in parts]
            all_expect(workers, 120)  # readers first: the writer's first edit must find them subscribed
            writer = Worker(nbrt_writer, edits=edits, rate=RATE, **common)
        else:
            server_target, readers_target, writer_target = {
                "pycrdt-websocket": (peer_server, peer_readers, peer_writer),
                "relay": (relay_server, relay_readers, relay_writer),
            }[system]
            helper = Worker(server_target)
            helpers.append(helper)
            port = helper.expect(30)
            extra = {"room": room} if system == "pycrdt-websocket" else {}
            parts = _split(list(range(readers)), READER_PROCESSES)
            workers = [Worker(readers_target, port=port, count=len(part), edits=edits, **extra) for part in parts]
            all_expect(workers, 60)
            writer = Worker(writer_target, port=port, edits=edits, rate=RATE, **extra)
        workers.append(writer)
        writer.expect(120)
        time.sleep(1.0)  # let join-time traffic (presence, state-vector sync) settle before timing
        setup = time.monotonic() - started
        if on_readers is not None:
            on_readers([worker.process.pid for worker in workers[:-1]])
        writer.send("go")
        sends = writer.expect(edits / RATE + 60)
        records: list[tuple[int, int, int]] = []
        offset = 0
        for worker in workers[:-1]:
            worker.send("stop")
        for worker, part in zip(workers[:-1], parts, strict=True):
            records.extend((reader + offset, index, t) for reader, index, t in worker.expect(30))
            offset += len(part)
        return LatencyResult(system, collaborators, _latencies(sends, records, readers, warmup), setup)
    finally:
        for helper in helpers:
            with contextlib.suppress(Exception):
                helper.send("stop")
        for worker in [*workers, *helpers]:
            worker.stop(20)
