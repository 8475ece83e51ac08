"""§7 What nbrealtime costs a kernel: connections, threads, RSS and idle CPU, stage by stage.

A spawned Python process stands for the kernel (no ipykernel around it, so every number is nbrealtime's own): it
imports nbrealtime, then joins one room, then opens three live tables (collections) and two shared cells in it. At
each stage the kernel sits idle while this process reads ``/proc/PID`` at the start and end of a fixed window: its
threads, RSS, established TCP connections (sockets of the process matched to ``/proc/net/tcp``) and CPU time.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import Worker, rss_kib, wait_go

STAGES = ("nbrealtime imported", "one room", "+ 3 tables and 2 shared cells")
TABLES = 3
CELLS = 2


@dataclass(frozen=True)
class Stage:
    name: str
    connections: int
    threads: int
    rss_kib: int
    cpu_percent: float  # of one core, over the idle window


def kernel(pipe: Any, *, url: str, key: str, room: str) -> None:
    """The kernel: one stage per "go", reporting "ready" after each (runs in the spawned process)."""
    import nbrealtime

    pipe.send("ready")
    wait_go(pipe)
    opened = nbrealtime.connect(room, user="kernel", url=url, key=key)
    pipe.send("ready")
    wait_go(pipe)
    kept = [opened.collection(f"table{i}") for i in range(TABLES)] + [opened.cell(f"cell{i}") for i in range(CELLS)]
    pipe.send("ready")
    wait_go(pipe)
    opened.close()
    pipe.send(len(kept))


def measure(server: Any, idle_seconds: float) -> list[Stage]:
    worker = Worker(kernel, url=server.url, key=server.anon_key, room=f"cost-{time.monotonic_ns() % 10**9}")
    stages = []
    try:
        for name in STAGES:
            if worker.expect(120) != "ready":
                raise RuntimeError(f"the kernel did not reach {name!r}")
            stages.append(_idle_stage(name, worker.process.pid, idle_seconds))
            worker.send("go")
        worker.expect(60)
    finally:
        worker.stop()
    return stages


def _idle_stage(name: str, pid: int, seconds: float) -> Stage:
    cpu = cpu_seconds(pid)
    started = time.monotonic()
    time.sleep(seconds)  # the measurement window itself: the kernel is left alone this long
    cpu = (cpu_seconds(pid) - cpu) / (time.monotonic() - started)
    return Stage(name, _connections(pid), _threads(pid), rss_kib(pid), 100 * cpu)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (in clock ticks of 10 ms)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime (fields 14, 15 of stat)


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def _connections(pid: int) -> int:
    """Established TCP connections held by the process."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    established = 0
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and fields[9] in inodes:
                established += 1
    return established
