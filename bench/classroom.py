"""§8 A classroom: one presenter types and edits a table at a steady rate while V viewers are in the room.

The presenter is one ``nbrealtime.connect`` room in its own process: it appends a character to the shared cell
``lesson`` ``RATE`` times a second and, every ``TABLE_EVERY``-th keystroke, inserts a row into the live table
``board`` carrying the keystroke's number. Each viewer is a room of its own (one websocket, presence tracked, the
cell and the table open), ``VIEWERS_PER_PROCESS`` viewers to a process. Delivery latency = a viewer's callback − just
before the presenter's write (CLOCK_MONOTONIC, shared by all processes). The server's CPU time over the typing phase
(``/proc/PID/stat``) is divided by the deliveries made in it; RSS from ``/proc/PID/status``.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from common import BenchServer, Summary, Worker, all_expect, now_ns, open_room, rss_kib, wait_go, workers_stopped
from edit_latency import STOP_GRACE, paced, retry
from kernel_cost import cpu_seconds

RATE = 10.0  # keystrokes per second: a presenter typing steadily
TABLE_EVERY = 5  # every 5th keystroke also edits the table (2 table edits/s)
WARMUP = 5
VIEWERS_PER_PROCESS = 25


@dataclass(frozen=True)
class ClassroomResult:
    viewers: int
    processes: int
    cell: Summary
    table: Summary
    server_cpu_us_per_delivery: float
    server_rss_kib: tuple[int, int]  # before the viewers joined, after the typing
    viewer_process_rss_kib: float  # mean over the viewer processes
    presenter_rss_kib: int


def viewers(pipe: Any, *, url: str, key: str, room: str, names: list[str], keystrokes: int) -> None:
    """Viewer rooms in one process; records (viewer, "cell" | "table", index, received ns)."""
    import nbrealtime

    records: list[tuple[int, str, int, int]] = []
    with ThreadPoolExecutor(8) as pool:
        rooms = list(pool.map(lambda n: retry(lambda: nbrealtime.connect(room, user=n, url=url, key=key)), names))
        cells = list(pool.map(lambda r: retry(lambda: r.cell("lesson")), rooms))
        tables = list(pool.map(lambda r: retry(lambda: r.collection("board")), rooms))
    for viewer, (cell, table) in enumerate(zip(cells, tables, strict=True)):
        cell.on_change(lambda text, v=viewer: records.append((v, "cell", len(text) - 1, now_ns())))
        table.on_change(lambda _old, new, v=viewer: new and records.append((v, "table", new["seq"], now_ns())))
    pipe.send("ready")
    wait_go(pipe)
    last = {("cell", keystrokes - 1), ("table", (keystrokes - 1) // TABLE_EVERY * TABLE_EVERY)}
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline:  # until every viewer has the last keystroke and the last table edit
        if len({(v, kind, index) for v, kind, index, _ in records if (kind, index) in last}) >= 2 * len(names):
            break
        time.sleep(0.02)  # polling our own list, bounded by STOP_GRACE
    pipe.send((list(records), rss_kib(os.getpid())))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda r: r.close(), rooms))


def presenter(pipe: Any, *, url: str, key: str, room: str, keystrokes: int) -> None:
    import nbrealtime

    opened = retry(lambda: nbrealtime.connect(room, user="presenter", url=url, key=key))
    cell = retry(lambda: opened.cell("lesson"))
    board = retry(lambda: opened.collection("board"))
    pipe.send("ready")
    wait_go(pipe)
    table_sends: dict[int, int] = {}

    def keystroke(i: int) -> None:
        cell.insert(i, "x")
        if i % TABLE_EVERY == 0:
            table_sends[i] = now_ns()
            board.insert({"id": f"row{i}", "seq": i})  # a new row each time: no write supersedes another

    sends = paced(keystrokes, RATE, keystroke)
    pipe.send((sends, table_sends, rss_kib(os.getpid())))
    opened.close()


def measure(server: BenchServer, viewer_count: int, seconds: float) -> ClassroomResult:
    keystrokes = max(WARMUP + TABLE_EVERY, round(RATE * seconds))
    room = f"class{viewer_count}-{uuid.uuid4().hex[:8]}"
    open_room(server, room)
    common = {"url": server.url, "key": server.anon_key, "room": room, "keystrokes": keystrokes}
    processes = max(2, math.ceil(viewer_count / VIEWERS_PER_PROCESS))
    names = [f"viewer{i}" for i in range(viewer_count)]
    parts = [names[i::processes] for i in range(processes)]
    server_before = rss_kib(server.pid)
    with workers_stopped([Worker(viewers, names=part, **common) for part in parts]) as workers:
        all_expect(workers, 300)
        with workers_stopped([Worker(presenter, **common)]) as (writer,):
            writer.expect(120)
            cpu = cpu_seconds(server.pid)
            writer.send("go")
            sends, table_sends, presenter_rss = writer.expect(keystrokes / RATE + 60)
            for worker in workers:
                worker.send("stop")
            replies = all_expect(workers, 60)
            cpu = cpu_seconds(server.pid) - cpu
    records = []
    offset = 0
    for (part_records, _), part in zip(replies, parts, strict=True):
        records += [(viewer + offset, kind, index, t) for viewer, kind, index, t in part_records]
        offset += len(part)
    cell = _deliveries(dict(enumerate(sends)), records, "cell", viewer_count)
    table = _deliveries(table_sends, records, "table", viewer_count)
    delivered = cell.count + table.count
    return ClassroomResult(
        viewer_count,
        processes,
        cell,
        table,
        1e6 * cpu / delivered if delivered else float("nan"),
        (server_before, rss_kib(server.pid)),
        sum(rss for _, rss in replies) / len(replies),
        presenter_rss,
    )


def _deliveries(sends: dict[int, int], records: list[tuple[int, str, int, int]], kind: str, viewers: int) -> Summary:
    """First arrival of each counted write at each viewer; what never arrived is lost."""
    first: dict[tuple[int, int], int] = {}
    for viewer, got, index, received in records:
        if got == kind and index in sends:
            first.setdefault((viewer, index), received)
    counted = [i for i in sends if i >= WARMUP]
    values = [(t - sends[i]) / 1e6 for (_, i), t in first.items() if i >= WARMUP]
    return Summary.of(values, lost=viewers * len(counted) - len(values))
