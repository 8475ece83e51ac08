"""Scale: idle connections held by one server, heartbeat replies while a room is busy, late joiners.

* Memory: the server's RSS (/proc/PID/status VmRSS) before and after opening C raw-protocol websockets (phoenix.py)
  from two client processes, then after each of them joined a channel of its own; per connection = growth / C.
* Heartbeat: with those C connections held, a probe connection sends ``phoenix`` heartbeats every 10 ms and times
  each reply — first with nothing else going on, then while a room of 100 subscribers receives 50 broadcasts/s of a
  cell-update-sized payload.
* Late joiner: a shared cell whose history is E one-character edits, stored as the product leaves it (compacted
  snapshot + a tail of log rows, 5 edits a row, as a writer flushing every 100 ms at 50 edits/s writes them); a fresh
  kernel process connects, then ``room.cell(name)`` is timed until it returns with the full text. The typist types
  runs at a cursor that jumps to a random place every 20 characters on average.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from common import BenchServer, Summary, Worker, all_expect, now_ns, rss_kib, wait_go
from phoenix import PhoenixSocket, close_all

CLIENT_PROCESSES = 2
BUSY_MEMBERS = 100
BUSY_RATE = 50.0
TAIL_ROWS = 250  # half of the cell's COMPACT_AFTER: the average tail a late joiner finds
EDITS_PER_ROW = 5
JUMP_EVERY = 20


@dataclass
class ScaleResult:
    connections: int
    kib_per_connection: float
    kib_per_joined_connection: float
    heartbeat_idle: Summary
    heartbeat_busy: Summary


@dataclass
class JoinerResult:
    edits: int
    seconds: float
    snapshot_bytes: int
    tail_rows: int


def holders(pipe: Any, *, ws_url: str, key: str, count: int, channel_prefix: str) -> None:
    """Open ``count`` sockets (say "open"), join one channel each on "join" (say "joined"), close on "stop"."""

    async def main() -> None:
        sockets: list[PhoenixSocket] = []
        for _ in range(count):
            sockets.append(await PhoenixSocket.connect(ws_url, key))
        pipe.send("open")
        await asyncio.to_thread(wait_go, pipe)
        for i, socket in enumerate(sockets):
            await socket.join(f"{channel_prefix}-{uuid.uuid4().hex[:6]}-{i}")
        pipe.send("joined")
        await asyncio.to_thread(wait_go, pipe, 600)
        await close_all(sockets)

    asyncio.run(main())


def busy_room(pipe: Any, *, ws_url: str, key: str, members: int, rate: float) -> None:
    """``members`` subscribers that read everything, and a publisher at ``rate``/s, until "stop"."""

    async def main() -> None:
        channel = f"busy-{uuid.uuid4().hex[:6]}"
        sockets = [await PhoenixSocket.connect(ws_url, key) for _ in range(members)]
        for socket in sockets:
            await socket.join(channel)
        publisher = await PhoenixSocket.connect(ws_url, key)
        topic = await publisher.join(channel)

        async def drain(socket: PhoenixSocket) -> None:
            async for _ in socket.websocket:
                pass

        readers = [asyncio.create_task(drain(s)) for s in sockets]
        update = base64.b64encode(random.randbytes(30)).decode()  # about one keystroke's pycrdt update
        pipe.send("ready")
        stop = asyncio.create_task(asyncio.to_thread(wait_go, pipe, 600))
        i = 0
        while not stop.done():
            await publisher.broadcast(topic, "nbrt:cell", {"sender": "bench", "data": {"cell": "c", "update": update}})
            i += 1
            await asyncio.sleep(1 / rate)
        for task in readers:
            task.cancel()
        await close_all([*sockets, publisher])

    asyncio.run(main())


async def _heartbeats(ws_url: str, key: str, seconds: float) -> list[float]:
    probe = await PhoenixSocket.connect(ws_url, key)
    rtts = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sent = now_ns()
        ref = await probe.heartbeat()
        await asyncio.wait_for(probe.reply_to(ref), 10)
        rtts.append((now_ns() - sent) / 1e6)
        await asyncio.sleep(0.01)
    await probe.close()
    return rtts


def measure_connections(server: BenchServer, connections: int, heartbeat_seconds: float) -> ScaleResult:
    parts = [connections // CLIENT_PROCESSES + (i < connections % CLIENT_PROCESSES) for i in range(CLIENT_PROCESSES)]
    time.sleep(0.5)
    before = rss_kib(server.pid)
    workers = [
        Worker(holders, ws_url=server.ws_url, key=server.anon_key, count=n, channel_prefix="idle") for n in parts
    ]
    busy: Worker | None = None
    try:
        all_expect(workers, 120)
        time.sleep(1.0)
        opened = rss_kib(server.pid)
        for worker in workers:
            worker.send("join")
        all_expect(workers, 120)
        time.sleep(1.0)
        joined = rss_kib(server.pid)
        idle = asyncio.run(_heartbeats(server.ws_url, server.anon_key, heartbeat_seconds))
        busy = Worker(busy_room, ws_url=server.ws_url, key=server.anon_key, members=BUSY_MEMBERS, rate=BUSY_RATE)
        busy.expect(120)
        time.sleep(0.5)
        loaded = asyncio.run(_heartbeats(server.ws_url, server.anon_key, heartbeat_seconds))
        return ScaleResult(
            connections,
            (opened - before) / connections,
            (joined - before) / connections,
            Summary.of(idle),
            Summary.of(loaded),
        )
    finally:
        for worker in [*workers, *([busy] if busy else [])]:
            worker.send("stop")
            worker.stop(30)


# ---------------------------------------------------------------------------------------------- late joiner


def _history(edits: int, seed: int = 7) -> tuple[bytes, list[bytes]]:
    """A cell typed one character per edit: (snapshot, tail rows of merged updates).

    The typist types at a cursor that jumps to a random place every ``JUMP_EVERY`` characters on average, so the
    history is not one run that the CRDT stores as a single item (adjacent inserts by one client merge; these
    mostly do not).
    """
    from pycrdt import Doc, Text, merge_updates

    rng = random.Random(seed)
    doc = Doc()
    text = doc.get("source", type=Text)
    tail_edits = min(edits, TAIL_ROWS * EDITS_PER_ROW)
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    cursor = 0
    for i in range(edits):
        if i == edits - tail_edits:
            snapshot = doc.get_update()
            updates.clear()
        if rng.random() < 1 / JUMP_EVERY:
            cursor = rng.randint(0, i)
        text.insert(cursor, rng.choice("abcdefghijklmnopqrstuvwxyz \n()="))
        cursor += 1
    if edits == tail_edits:
        snapshot = b""
    del subscription
    rows = [merge_updates(*updates[i : i + EDITS_PER_ROW]) for i in range(0, len(updates), EDITS_PER_ROW)]
    return snapshot, rows


def _store_cell(server: BenchServer, room: str, name: str, snapshot: bytes, rows: list[bytes]) -> None:
    import httpx

    key = server.service_key
    headers = {"apikey": key, "Authorization": f"Bearer {key}", "Prefer": "return=minimal"}
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
        cell = {"room": room, "name": name, "language": "python", "snapshot": b64(snapshot) if snapshot else None}
        http.post("/rest/v1/nbrt_cells", json=cell).raise_for_status()
        for i in range(0, len(rows), 100):
            batch = [{"room": room, "cell": name, "data": b64(row)} for row in rows[i : i + 100]]
            http.post("/rest/v1/nbrt_cell_updates", json=batch).raise_for_status()


def late_joiner(pipe: Any, *, url: str, key: str, room: str, cell: str) -> None:
    import nbrealtime

    opened = nbrealtime.connect(room, user="latecomer", url=url, key=key)
    started = now_ns()
    shared = opened.cell(cell)
    seconds = (now_ns() - started) / 1e9
    pipe.send((seconds, len(shared.text)))
    opened.close()


def measure_late_joiner(server: BenchServer, edits: int) -> JoinerResult:
    room, cell = f"late-{uuid.uuid4().hex[:8]}", f"c{edits}"
    snapshot, rows = _history(edits)
    _store_cell(server, room, cell, snapshot, rows)
    worker = Worker(late_joiner, url=server.url, key=server.anon_key, room=room, cell=cell)
    try:
        seconds, length = worker.expect(180)
    finally:
        worker.stop(30)
    if length != edits:
        raise RuntimeError(f"the late joiner saw {length} characters, not {edits}")
    return JoinerResult(edits, seconds, len(snapshot), len(rows))
