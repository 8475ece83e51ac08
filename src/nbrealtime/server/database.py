"""The embedded server's SQLite database: WAL, durable commits, and no fsync on the event loop.

``synchronous=FULL`` makes a write durable before its response is sent, but a commit then waits for the disk — and
the event loop that fans out every realtime message must not wait with it. So the data API runs its statements on
one database thread (:meth:`Database.run`), and each thread gets its own connection: WAL lets the loop's readers
(row policies of change events, auth) see every committed write without blocking the writer.

Group commit: when requests queue up behind a commit, the database thread runs the waiting ones in one transaction,
each in its own savepoint (a failing request rolls back only its own statements), and commits — one fsync — before
any of them is answered. Nothing is answered or published before it is durable; if that commit fails, every request
of the group fails with the error. A lone request runs exactly as before: its own BEGIN … COMMIT.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["Database"]

T = TypeVar("T")

GROUP_LIMIT = 64  # requests committed together at most
_SAVEPOINT = "nbrt_request"


@dataclass(slots=True)
class _Job:
    function: Callable[..., Any]
    args: tuple[object, ...]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    ok: bool = False
    result: Any = field(default=None)


def _settle(jobs: list[_Job]) -> None:
    """On the event loop: answer the jobs in the order they ran (change events are then published in commit order)."""
    for job in jobs:
        if job.future.done():  # the request was cancelled (its client went away): its write stands, as before
            continue
        if job.ok:
            job.future.set_result(job.result)
        else:
            job.future.set_exception(job.result)


class Database:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._setups: list[Callable[[sqlite3.Connection], None]] = []
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)

    @property
    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
            connection.row_factory = sqlite3.Row
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=5000"):
                connection.execute(f"PRAGMA {pragma}")
            with self._lock:
                for setup in self._setups:
                    setup(connection)
                self._connections.append(connection)
            self._local.connection = connection
        return connection

    def on_connect(self, setup: Callable[[sqlite3.Connection], None]) -> None:
        """Run ``setup`` on every connection, open or future (e.g. to register SQL functions)."""
        with self._lock:
            self._setups.append(setup)
            opened = list(self._connections)
        for connection in opened:
            setup(connection)

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Run ``function(*args)`` on the database thread: statements, commit and fsync off the event loop.

        The result arrives once what ``function`` wrote is committed (possibly together with other requests')."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the database is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="nbrealtime-db", daemon=True)
                self._thread.start()
        self._jobs.put(_Job(function, args, loop, future))
        return await future

    # ------------------------------------------------------------------ the database thread

    def _serve(self) -> None:
        try:
            self._serve_jobs()
        finally:  # SQLite connections are closed by the thread that opened them
            connection = getattr(self._local, "connection", None)
            if connection is not None:
                with self._lock:
                    if connection in self._connections:
                        self._connections.remove(connection)
                connection.close()

    def _serve_jobs(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            group = [job]
            stop = False
            while len(group) < GROUP_LIMIT:
                try:
                    queued = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if queued is None:
                    stop = True
                    break
                group.append(queued)
            self._run_group(group)
            if stop:
                return

    def _run_group(self, group: list[_Job]) -> None:
        if len(group) == 1:
            self._call(group[0])
        else:
            self._run_together(group)
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for job in group:
            by_loop.setdefault(job.loop, []).append(job)
        for loop, jobs in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(_settle, jobs)

    @staticmethod
    def _call(job: _Job) -> None:
        if job.future.cancelled():  # its request is gone before it started (as an executor skips such work)
            job.result, job.ok = asyncio.CancelledError(), False
            return
        try:
            job.result, job.ok = job.function(*job.args), True
        except BaseException as error:
            job.result, job.ok = error, False

    def _run_together(self, group: list[_Job]) -> None:
        """One transaction for the group, a savepoint per job (:meth:`transaction` sees ``self._local.grouped``)."""
        connection = self.connection
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            for job in group:  # cannot even start one: run them one by one, each with its own outcome
                self._call(job)
            return
        self._local.grouped = True
        ran: list[_Job] = []
        try:
            for job in group:
                self._call(job)
                ran.append(job)
                if not connection.in_transaction:
                    break  # SQLite rolled the whole transaction back (disk full, I/O error): stop here
        finally:
            self._local.grouped = False
        failure: sqlite3.Error | None = None
        if connection.in_transaction:
            try:
                connection.execute("COMMIT")
            except sqlite3.Error as error:
                failure = error
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
        else:
            last = ran[-1].result
            failure = last if isinstance(last, sqlite3.Error) else sqlite3.OperationalError("the transaction was lost")
        if failure is not None:  # nothing of the group was committed: no job may report success
            for job in ran:
                if job.ok:
                    job.result, job.ok = sqlite3.OperationalError(str(failure)), False
        rest = group[len(ran) :]
        if len(rest) == 1:
            self._call(rest[0])
        elif rest:
            self._run_together(rest)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on this thread's connection: committed when the block ends, rolled back if it
        raises. Inside a group (:meth:`run`) it is a savepoint, committed with the group."""
        connection = self.connection
        if getattr(self._local, "grouped", False):
            connection.execute(f"SAVEPOINT {_SAVEPOINT}")
            try:
                yield connection
            except BaseException:
                try:
                    if connection.in_transaction:
                        connection.execute(f"ROLLBACK TO {_SAVEPOINT}")
                        connection.execute(f"RELEASE {_SAVEPOINT}")
                except sqlite3.Error:  # never commit half a request: the whole group fails instead
                    with contextlib.suppress(sqlite3.Error):
                        connection.execute("ROLLBACK")
                raise
            connection.execute(f"RELEASE {_SAVEPOINT}")
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        self._jobs.put(None)
        if thread is not None:
            thread.join()
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
