"""The soak's nemesis: seeded, bounded faults, one at a time, each logged with when it began, ended and healed.

Faults: SIGKILL the embedded server and start it again on the same port and data dir after a short outage; SIGSTOP
a worker process (several kernels at once) and SIGCONT it a few seconds later; reset every TCP connection between
the clients and the server (the clients reach the server through a loopback proxy that can cut them); restart the
Jupyter server that holds a room's notebook through the bridge (``soak_lab.py``), if there is one. After each
fault the nemesis waits until every member reports its room connected again before it draws the next one, so the
windows never overlap and a failure can be attributed to the fault whose window it falls in.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

KINDS = ("server_kill", "sigstop", "cut", "jupyter_restart")
GRACE = 2.0  # seconds after a member is connected again during which its failures still count as the fault's


@dataclass
class Fault:
    kind: str
    target: str
    start: float
    end: float = 0.0
    healed: float = 0.0  # every member connected again (end if the fault dropped nobody)
    note: str = ""
    pids: list[int] = field(default_factory=list)  # the worker processes it froze (sigstop), else all


class StatusLog:
    """Each member's room status changes, as the workers report them: when did a fault drop whom, and when were
    they back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, list[tuple[float, str]]] = {}
        self.changed = threading.Condition(self._lock)

    def add(self, user: str, state: str, t: float) -> None:
        with self.changed:
            self._events.setdefault(user, []).append((t, state))
            self.changed.notify_all()

    def all_connected(self, users: list[str]) -> bool:
        with self._lock:
            return all(self._events.get(u) and self._events[u][-1][1] == "connected" for u in users)

    def wait_all_dropped(self, users: list[str], since: float, timeout: float) -> bool:
        """Until each of ``users`` has reported a status other than connected after ``since`` (a fault that drops
        every connection is noticed a moment later: until then their last status is the one from before)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                if all(any(t >= since and s != "connected" for t, s in self._events.get(u, [])) for u in users):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)

    def wait_all_connected(self, users: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                if all(self._events.get(u) and self._events[u][-1][1] == "connected" for u in users):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)

    def back_at(self, user: str, since: float, until: float) -> float | None:
        """When ``user`` was connected again after a drop that began in [since, until]; None if it did not drop."""
        with self._lock:
            events = list(self._events.get(user, []))
        dropped = next((t for t, s in events if since <= t <= until and s != "connected"), None)
        if dropped is None:
            return None
        return next((t for t, s in events if t >= dropped and s == "connected"), float("inf"))


class Nemesis:
    """Draws a fault every ``every`` seconds on average (seeded), between ``begin`` and ``until`` (monotonic)."""

    def __init__(self, *, seed: int, every: float, server: Any, proxy: Any, workers: dict[int, list[str]],
                 status: StatusLog, log: Callable[[str], None], server_until: float, lab: Any = None,
                 kinds: tuple[str, ...] = KINDS) -> None:  # fmt: skip
        self.rng = random.Random(seed)
        self.every = every
        self.server = server
        self.proxy = proxy
        self.workers = workers  # pid → the members it hosts
        self.status = status
        self.log = log
        self.server_until = server_until  # no server kills after this (so the last server lives long enough)
        self.lab = lab
        self.kinds = kinds
        self.faults: list[Fault] = []
        self.servers = [server]  # each incarnation, first to last
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def members(self) -> list[str]:
        return [user for users in self.workers.values() for user in users]

    def start(self, until: float) -> None:
        self._thread = threading.Thread(target=self._run, args=(until,), name="nemesis", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(180)

    def _run(self, until: float) -> None:
        while not self._stop.wait(self.rng.uniform(0.5 * self.every, 1.5 * self.every)):
            if time.monotonic() >= until:
                return
            kinds = [k for k in self.kinds if k != "server_kill" or time.monotonic() < self.server_until]
            fault = self._inject(self.rng.choice([k for k in kinds if k != "jupyter_restart" or self.lab]))
            if fault.kind in ("server_kill", "cut") and not self.status.wait_all_dropped(self.members, fault.start, 30):
                fault.note += "; not every member noticed it"
            healed = self.status.wait_all_connected(self.members, 120)
            fault.healed = time.monotonic()
            if not healed:
                fault.note += "; not everyone reconnected within 120 s"
            self.log(
                f"{fault.start:.1f} {fault.kind} {fault.target}: lifted after {fault.end - fault.start:.1f} s, "
                f"everyone connected {fault.healed - fault.end:.1f} s later {fault.note}"
            )

    def _inject(self, kind: str) -> Fault:
        if kind == "server_kill":
            down = self.rng.uniform(1.0, 5.0)
            fault = Fault(kind, "server", time.monotonic())
            self.faults.append(fault)
            self.server.kill()
            self._stop.wait(down)  # the outage itself
            self.server = self.server.restart(timeout=60)
            self.servers.append(self.server)
            fault.note = f"down {down:.1f} s"
        elif kind == "sigstop":
            pid = self.rng.choice(sorted(self.workers))
            frozen = self.rng.uniform(2.0, 8.0)
            fault = Fault(kind, f"worker {pid} ({len(self.workers[pid])} members)", time.monotonic(), pids=[pid])
            self.faults.append(fault)
            os.kill(pid, signal.SIGSTOP)
            self._stop.wait(frozen)
            os.kill(pid, signal.SIGCONT)
        elif kind == "jupyter_restart":
            fault = Fault(kind, f"JupyterLab (bridge, {self.lab.room})", time.monotonic())
            self.faults.append(fault)
            self.lab.restart(self.server)
        else:
            fault = Fault(kind, "every client connection", time.monotonic())
            self.faults.append(fault)
            fault.note = f"{self.proxy.sever()} connections reset"
        fault.end = time.monotonic()
        return fault

    def members_hit(self, fault: Fault) -> list[str]:
        if fault.kind == "sigstop":
            return [user for pid in fault.pids for user in self.workers[pid]]
        if fault.kind == "jupyter_restart":
            return []  # no member's operations go through it
        return self.members

    def excused(self, user: str, start: float, end: float) -> Fault | None:
        """The fault whose window, for ``user``, overlaps [start, end]: from a second before it began until GRACE
        after ``user`` was connected again (or after it was lifted, if it did not drop ``user``)."""
        for fault in self.faults:
            if user not in self.members_hit(fault):
                continue
            back = self.status.back_at(user, fault.start - 1.0, (fault.healed or time.monotonic()) + 1.0)
            closes = max(fault.end, back if back is not None else 0.0) + GRACE
            if start <= closes and end >= fault.start - 1.0:
                return fault
        return None
