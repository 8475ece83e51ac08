"""The embedded server's SQLite database: WAL, durable commits, and no fsync on the event loop.

``synchronous=FULL`` makes a write durable before its response is sent, but a commit then waits for the disk — and
the event loop that fans out every realtime message must not wait with it. So the data API runs its statements on
one database thread (:meth:`Database.run`), and each thread gets its own connection: WAL lets the loop's readers
(row policies of change events, auth) see every committed write without blocking the writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

__all__ = ["Database"]

T = TypeVar("T")


class Database:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._setups: list[Callable[[sqlite3.Connection], None]] = []
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbrealtime-db")
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
        """Run ``function(*args)`` on the database thread: statements, commit and fsync off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on this thread's connection: committed when the block ends, rolled back if it
        raises."""
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
