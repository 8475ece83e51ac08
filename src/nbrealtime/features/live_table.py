"""``room.table(name)`` / ``room.collection(name)``: rows that change live, your own edits shown at once.

A write is laid over the view immediately (pending), stored in the durable outbox, then sent; the server's answer
confirms it, or rolls it back with the error kept on its handle, or reports a conflict that the table's strategy
(lww / merge / manual / a function) settles. The outbox survives disconnects and kernel restarts; writes are
idempotent, so a retry after a lost reply is applied once. Remote changes arrive through ``postgres_changes`` and are
rebased under pending writes; every (re)subscribe re-reads the rows (buffering events meanwhile).

All state lives on the background loop; the public methods are thin synchronous wrappers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbrealtime.client.connection import ChannelSpec, PostgresBinding, SupervisedChannel
from nbrealtime.features.callbacks import CallbackList
from nbrealtime.features.table_backend import META, Outcome, RowBackend
from nbrealtime.features.view import HasView
from nbrealtime.sync import (
    ClockDriftError,
    Conflict,
    Deferred,
    HybridClock,
    OptimisticStore,
    Outbox,
    RowChange,
    Timestamp,
    Write,
    resolve,
    strategy,
)

if TYPE_CHECKING:
    from nbrealtime.features.room import Room

__all__ = ["LiveTable", "WriteHandle"]

log = logging.getLogger("nbrealtime.table")

RETRY_CHECK_SECONDS = 1.0


class WriteHandle:
    """Returned at once by every write: ``status`` pending → confirmed | failed, ``error``, ``wait()``."""

    def __init__(self, write: Write, settled: threading.Event) -> None:
        self._write = write
        self._settled = settled

    @property
    def status(self) -> str:
        return self._write.status

    @property
    def error(self) -> str | None:
        return self._write.error

    @property
    def key(self) -> Any:
        return self._write.key

    @property
    def stamp(self) -> Timestamp:
        """The write's hybrid-logical-clock stamp: what last-writer-wins compares."""
        return self._write.stamp

    def wait(self, timeout: float = 30.0) -> str:
        """Block until the server has settled the write; return its status (raises TimeoutError)."""
        if not self._settled.wait(timeout):
            raise TimeoutError(f"write on {self.key!r} still pending after {timeout} s")
        return self.status

    def __repr__(self) -> str:
        return f"<Write {self._write.op} {self.key!r}: {self.status}>"


@dataclass
class _Pending:
    settled: threading.Event


class LiveTable(HasView):
    def __init__(self, room: Room, name: str, backend: RowBackend, *, conflict: Any, filters: dict[str, str],
                 outbox_path: Path, read_only: Callable[[], str | None] = lambda: None) -> None:  # fmt: skip
        self.room = room
        self._read_only = read_only
        self.name = name
        self.key = backend.key
        self._backend = backend
        self._filters = filters
        self._strategy = strategy(conflict)
        self._clock = HybridClock(f"{room.me.id[:8]}-{uuid.uuid4().hex[:8]}")
        self._store = OptimisticStore(
            backend.key,
            version_field="version" if backend.versioned else None,
            stamp_field="hlc" if backend.versioned else None,
            write_id_field="write_id" if backend.versioned else None,
            on_settle=self._on_settle,
        )
        self._outbox = Outbox(outbox_path)
        self._lock = threading.RLock()  # the loop mutates the store; users and widgets read it from other threads
        self._waiters: dict[str, _Pending] = {}
        self._wake = asyncio.Event()
        self._paused = False
        self._buffer: list[tuple[str, dict[str, Any]]] | None = None
        self._callbacks = {kind: CallbackList(f"table {name!r} {kind}") for kind in ("insert", "update", "delete")}
        self._on_change: CallbackList[Any] = CallbackList(f"table {name!r} change")
        self._on_view: CallbackList[Any] = CallbackList(f"table {name!r} view")
        self._channel: SupervisedChannel | None = None
        self.closed = False
        self._sender: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<LiveTable {self.name!r}: {len(self._store.rows)} rows, {self.pending_count} pending>"

    # ------------------------------------------------------------------ reading

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The optimistic view: server rows with pending local writes laid over them."""
        with self._lock:
            return [self._public(row) for row in self._store.rows]

    def row(self, key: Any) -> dict[str, Any] | None:
        with self._lock:
            row = self._store.row(key)
        return None if row is None else self._public(row)

    def status(self, key: Any) -> str:
        with self._lock:
            return self._store.status(key)

    def error(self, key: Any) -> str | None:
        with self._lock:
            return self._store.error(key)

    @property
    def pending_count(self) -> int:
        with self._lock:
            return len(self._store.pending_writes())

    @property
    def conflicts(self) -> list[Conflict]:
        """Conflicts the manual strategy left to you; settle each with :meth:`resolve`."""
        with self._lock:
            return self._store.open_conflicts()

    def server_meta(self, key: Any) -> dict[str, Any]:
        """The confirmed row's version, stamp and write id (what a conditional write from a browser view needs)."""
        with self._lock:
            row = self._store.server_row(key)
        return {name: row.get(name) for name in META} if row is not None else {}

    @property
    def storage(self) -> dict[str, Any]:
        """Where and how the rows are stored: enough for a browser view to write a row as this table does."""
        backend = self._backend
        return {
            "table": backend.table,
            "key_column": backend.key,
            "scope": dict(backend.scope),
            "fields_column": backend.fields_column,
            "versioned": backend.versioned,
        }

    def _public(self, row: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in row.items() if name not in META}

    # ------------------------------------------------------------------ callbacks

    def on_insert(self, callback: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        return self._callbacks["insert"].add(callback)

    def on_update(self, callback: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        return self._callbacks["update"].add(callback)

    def on_delete(self, callback: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        return self._callbacks["delete"].add(callback)

    def on_change(self, callback: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        """``callback(old, new)`` for every change of the view (old None: inserted; new None: deleted)."""
        return self._on_change.add(callback)

    def on_view(self, callback: Callable[[LiveTable], None]) -> Callable[[LiveTable], None]:
        """``callback(table)`` when rows, statuses or conflicts changed (for widgets)."""
        return self._on_view.add(callback)

    def wait_until(self, predicate: Callable[[list[dict[str, Any]]], bool], *, timeout: float = 30.0) -> None:
        """Block until ``predicate(rows)`` holds (handy in scripts and demos)."""
        changed = threading.Event()
        self._on_view.add(lambda _table: changed.set())
        deadline = time.monotonic() + timeout
        while not predicate(self.rows):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"rows of {self.name!r} did not reach the expected state in {timeout} s")
            changed.wait(remaining)
            changed.clear()

    # ------------------------------------------------------------------ writes

    def insert(self, values: dict[str, Any]) -> WriteHandle:
        values = dict(values)
        values.setdefault(self.key, str(uuid.uuid4()))
        return self._write("insert", values[self.key], values)

    def upsert(self, values: dict[str, Any]) -> WriteHandle:
        if self.key not in values:
            raise ValueError(f"upsert needs the key column {self.key!r}")
        return self._write("upsert", values[self.key], dict(values))

    def update(self, key: Any, changes: dict[str, Any]) -> WriteHandle:
        if self._store.row(key) is None:
            raise KeyError(f"no row {key!r} in {self.name!r}")
        return self._write("update", key, dict(changes))

    def delete(self, key: Any) -> WriteHandle:
        if self._store.row(key) is None:
            raise KeyError(f"no row {key!r} in {self.name!r}")
        return self._write("delete", key, {})

    def pause(self) -> None:
        """Stop sending (writes keep queueing and showing as pending), as if offline; :meth:`resume` sends them."""
        self._paused = True
        self._view_changed()

    def resume(self) -> None:
        self._paused = False
        self.room._loop.call_soon(self._wake.set)
        self._view_changed()

    @property
    def paused(self) -> bool:
        return self._paused

    def resolve(self, conflict: Conflict, choice: Any) -> None:
        """Settle a manual conflict with "mine", "theirs" or the row to keep."""
        self.room._loop.run(self._resolve(conflict, resolve(conflict, choice)), 10)

    def retry(self, key: Any) -> WriteHandle | None:
        """Send the last failed write on ``key`` again (its error is shown until then)."""
        failed = [entry for entry in self._outbox.failed() if entry.key == key]
        if not failed:
            return None
        write = Write.from_record(failed[-1].record)
        self._outbox.discard(failed[-1].id)
        return self._write(write.op, key, write.values)

    def discard(self, key: Any) -> None:
        """Forget the failed writes on ``key`` (and the error shown for it)."""
        for entry in self._outbox.failed():
            if entry.key == key:
                self._outbox.discard(entry.id)
        self.room._loop.run(self._forget_failure(key), 10)

    async def _forget_failure(self, key: Any) -> None:
        self._emit(self._locked(self._store.forget_failure, key))

    @property
    def failed(self) -> dict[Any, tuple[dict[str, Any], str]]:
        """Key → (values, error) of the last write the backend refused for good on each key, kept for Retry."""
        found: dict[Any, tuple[dict[str, Any], str]] = {}
        for entry in self._outbox.failed():
            write = Write.from_record(entry.record)
            found[entry.key] = (dict(write.values), entry.error or self.error(entry.key) or "refused")
        return found

    @property
    def read_only(self) -> str | None:
        """Why you may not write here right now (e.g. you are a viewer in the room), or None."""
        return self._read_only()

    def _write(self, op: str, key: Any, values: dict[str, Any]) -> WriteHandle:
        reason = self._read_only()
        if reason is not None:
            raise PermissionError(reason)
        return self.room._loop.run(self._awrite(op, key, values), 10)

    async def _awrite(self, op: str, key: Any, values: dict[str, Any]) -> WriteHandle:
        write = Write(op, key, values, self._clock.tick())  # type: ignore[arg-type]
        settled = threading.Event()
        self._waiters[write.id] = _Pending(settled)
        self._emit(self._locked(self._store.apply_local, write))
        self._outbox.enqueue(write.to_record(self.name, time.time()))
        self.room.pending_changed()
        self._wake.set()
        return WriteHandle(write, settled)

    # ------------------------------------------------------------------ sending (background loop)

    async def _send_loop(self) -> None:
        # Not ``while True``: Python 3.11's wait_for swallows a cancel that lands as the wake-up does (a write made
        # just before close()), and the loop would then never end.
        while not self.closed:
            self._wake.clear()
            for entry in [] if self._paused else self._outbox.due(time.time()):
                await self._deliver(entry)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), RETRY_CHECK_SECONDS)

    async def _deliver(self, entry: Any) -> None:
        write = self._store.write(entry.id)
        if write is None:  # settled meanwhile (by its echo, a catch-up read, or a resolution)
            self._outbox.acknowledged(entry.id)
            return
        self._outbox.sent(entry.id)
        outcome = await self._backend.send(write, self._store.server_row(write.key))
        await self._settle(write, outcome)

    async def _settle(self, write: Write, outcome: Outcome) -> None:
        if outcome.kind == "applied":
            self._emit(self._locked(self._store.confirm, write.id, outcome.row))
        elif outcome.kind == "refused":
            self._outbox.failed_permanently(write.id, outcome.error or "refused")
            self._emit(self._locked(self._store.fail, write.id, outcome.error or "refused"))
        elif outcome.kind == "retry":
            self._outbox.retry_later(write.id, outcome.error or "", time.time())
        else:
            await self._conflict(write, outcome.row)
        self.room.pending_changed()

    async def _conflict(self, write: Write, current: dict[str, Any] | None) -> None:
        if current is not None:
            self._emit(self._locked(self._store.apply_remote, "UPDATE", current))
        else:
            self._emit(self._locked(self._store.apply_remote, "DELETE", {self.key: write.key}))
        if self._store.write(write.id) is None:
            return  # the current row confirmed it
        conflict = self._locked(self._store.conflict, write.id)
        decision = self._strategy.resolve(conflict)
        if isinstance(decision, Deferred):
            self._view_changed()  # parked: blocks later writes on the row until someone resolves it
            return
        await self._resolve(conflict, decision)

    async def _resolve(self, conflict: Conflict, resolved: Any) -> None:
        old_id = conflict.write_id or ""
        write, changes = self._locked(self._store.resolve_conflict, conflict, resolved)
        if write.id != old_id and old_id in self._waiters:  # rewritten with a new idempotency key
            self._waiters[write.id] = self._waiters.pop(old_id)
        if write.status == "pending":
            self._outbox.replace(old_id, write.to_record(self.name, time.time()))
        else:
            self._outbox.acknowledged(old_id)
        self._emit(changes)
        self._wake.set()

    def _on_settle(self, write: Write) -> None:
        """The store settled a write (reply, echo, catch-up or failure): acknowledge it and wake its handle."""
        if write.status == "confirmed":
            self._outbox.acknowledged(write.id)
        for later in self._store.pending_writes():
            if later.key == write.key:
                self._outbox.replace(later.id, later.to_record(self.name, time.time()))
        pending = self._waiters.pop(write.id, None)
        if pending is not None:
            pending.settled.set()

    # ------------------------------------------------------------------ remote changes (background loop)

    def _on_change_event(self, payload: dict[str, Any]) -> None:
        data = payload.get("data", {})
        kind = data.get("type", "")
        event = str(getattr(kind, "value", kind)).upper()  # the Python client hands an enum
        row = data.get("record") if event != "DELETE" else data.get("old_record")
        if not row or not self._backend.accepts(row):
            return
        if self._buffer is not None:
            self._buffer.append((event, row))
            return
        self._apply_remote(event, row)

    def _apply_remote(self, event: str, row: dict[str, Any]) -> None:
        view = self._backend.to_view(row)
        stamp = view.get("hlc")
        if stamp:
            with contextlib.suppress(ValueError, ClockDriftError):
                self._clock.observe(Timestamp.decode(stamp))
        self._emit(self._locked(self._store.apply_remote, event, view))
        self.room.pending_changed()

    async def _catch_up(self) -> None:
        """After every (re)subscribe: re-read the rows, with change events held until the read is in."""
        self._buffer = []
        try:
            rows = await self._backend.load(self._filters)
            self._emit(self._locked(self._store.load, rows, complete=True))
        finally:
            buffered, self._buffer = self._buffer or [], None
        for event, row in buffered:
            self._apply_remote(event, row)
        self._wake.set()

    # ------------------------------------------------------------------ lifecycle

    async def open(self, topic: str, realtime_filter: str | None) -> None:
        """Re-lay writes a previous kernel left in the outbox, subscribe, read the rows, start sending."""
        for entry in self._outbox.pending():
            write = Write.from_record(entry.record)
            with contextlib.suppress(ValueError, ClockDriftError):
                self._clock.observe(write.stamp)
            self._waiters[write.id] = _Pending(threading.Event())
            self._emit(self._locked(self._store.restore, write))
        spec = ChannelSpec(
            topic=topic,
            config={"broadcast": {"ack": False, "self": False}, "presence": {"enabled": False}, "private": False},
            postgres=[PostgresBinding("*", self._backend.table, self._on_change_event, realtime_filter)],
        )
        room = self.room
        self._channel = SupervisedChannel(
            f"{room.backend.url}/realtime/v1",
            room.backend.key,
            room._auth,
            spec,
            on_subscribed=self._catch_up,
            on_settled=self._catch_up,
        )
        await self._channel.start()
        self._sender = asyncio.create_task(self._send_loop(), name=f"nbrealtime table {self.name}")

    async def close(self) -> None:
        """Stop sending; what is still queued stays in the outbox for the next kernel."""
        self.closed = True
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        if self._channel is not None:
            await self._channel.close()
        self._outbox.close()

    # ------------------------------------------------------------------ internals

    def _locked(self, operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return operation(*args, **kwargs)

    def _emit(self, changes: list[RowChange]) -> None:
        for change in changes:
            old = None if change.old is None else self._public(change.old)
            new = None if change.new is None else self._public(change.new)
            self._callbacks[change.kind].fire(old, new)
            self._on_change.fire(old, new)
        self._view_changed()

    def _view_changed(self) -> None:
        self._on_view.fire(self)
