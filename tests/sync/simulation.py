"""A simulated backend and clients wired from the real sync pieces, for the convergence properties.

The server is a small in-test class: rows with a version and the stamp and id of the write that produced them,
conditional writes (a write based on a stale version is rejected as a conflict, not applied), an idempotency cache
(a retried write that was already applied returns its first reply), tombstones for deleted rows (versions keep growing
across delete and re-insert), and one ordered change feed per subscriber.

A client is the wiring a ``LiveTable`` will do: ``OptimisticStore`` + ``HybridClock`` + ``Outbox`` (a real SQLite
file, reopened on restart) + a conflict ``Strategy``. Nothing of the sync package is mocked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbrealtime.sync import (
    ClockDriftError,
    Conflict,
    Deferred,
    HybridClock,
    OptimisticStore,
    Outbox,
    Resolved,
    Timestamp,
    Write,
    resolve,
    strategy,
)

TABLE = "items"
REJECTED = "BAD"  # a value the server's "policy" refuses for good


class World:
    """Shared virtual time (seconds); clients see it through their own skew."""

    def __init__(self) -> None:
        self.now = 1_732_540_000.0


@dataclass
class StoredRow:
    data: dict[str, Any]
    version: int
    stamp: Timestamp
    write_id: str
    live: bool = True

    def as_row(self, key: Any) -> dict[str, Any]:
        return {"id": key, **self.data, "version": self.version, "hlc": self.stamp.encode(), "write_id": self.write_id}


@dataclass
class Server:
    rows: dict[Any, StoredRow] = field(default_factory=dict)
    replies: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    applied_by: dict[str, str] = field(default_factory=dict)  # write id -> client name
    feeds: list[list[tuple[Any, ...]]] = field(default_factory=list)

    def subscribe(self) -> list[tuple[Any, ...]]:
        feed: list[tuple[Any, ...]] = []
        self.feeds.append(feed)
        return feed

    def unsubscribe(self, feed: list[tuple[Any, ...]]) -> None:
        self.feeds = [other for other in self.feeds if other is not feed]  # by identity: empty feeds are equal

    def live_rows(self) -> dict[Any, dict[str, Any]]:
        return {key: stored.as_row(key) for key, stored in self.rows.items() if stored.live}

    def handle(self, client: str, message: dict[str, Any]) -> tuple[Any, ...]:
        write_id = message["id"]
        if write_id in self.replies:
            return self.replies[write_id]  # idempotency: a retry of an applied write applies nothing
        op, key, values, base = message["op"], message["key"], message["values"], message["base_version"]
        if REJECTED in values.values():
            return ("error", "new row violates row-level security policy")
        stored = self.rows.get(key)
        live = stored is not None and stored.live
        if op == "delete" and not live:
            return self._applied(client, write_id, ("ok", None))  # already gone
        if op == "insert" and live:
            return self._conflict(key)
        if op in ("update", "delete") and (not live or stored.version != base):
            return self._conflict(key)
        if op == "upsert" and (stored.version if live else None) != base:
            return self._conflict(key)
        stamp = Timestamp.decode(message["stamp"])
        if op == "delete":
            stored.live, stored.stamp, stored.write_id = False, stamp, write_id
            self._publish(("DELETE", {"id": key, "version": stored.version}, stamp))
            return self._applied(client, write_id, ("ok", None))
        data = {name: value for name, value in values.items() if name != "id"}
        if live and op != "insert":
            data = {**stored.data, **data}
        version = 1 if stored is None else stored.version + 1
        event = "UPDATE" if live else "INSERT"
        self.rows[key] = StoredRow(data, version, stamp, write_id)
        row = self.rows[key].as_row(key)
        self._publish((event, row, None))
        return self._applied(client, write_id, ("ok", row))

    def _conflict(self, key: Any) -> tuple[Any, ...]:
        stored = self.rows.get(key)
        if stored is None:
            return ("conflict", "DELETE", {"id": key, "version": 0}, None)
        if not stored.live:
            return ("conflict", "DELETE", {"id": key, "version": stored.version}, stored.stamp)
        return ("conflict", "UPDATE", stored.as_row(key), None)

    def _applied(self, client: str, write_id: str, reply: tuple[Any, ...]) -> tuple[Any, ...]:
        self.replies[write_id] = reply
        self.applied_by[write_id] = client
        return reply

    def _publish(self, event: tuple[Any, ...]) -> None:
        for feed in self.feeds:
            feed.append(event)


class Client:
    """One notebook's live table, wired the way ``features/live_table.py`` is meant to wire it."""

    def __init__(
        self,
        name: str,
        server: Server,
        world: World,
        directory: Path,
        *,
        skew: float,
        spec: Any,
        rng: random.Random,
        echo: bool = True,
    ) -> None:
        self.name, self.server, self.world, self.skew, self.rng = name, server, world, skew, rng
        self.path = directory / f"{name}.outbox.db"
        self.strategy = strategy(spec)
        self.echo = echo  # does the store learn the write id from rows (so change events confirm our writes)?
        self.generation = 0
        self.conflicts: list[Conflict] = []  # deferred (manual) conflicts, as table.conflicts shows them
        self.rejections = 0  # conflict replies received
        self.deferred = 0  # conflicts handed to a person
        self.confirmed: set[str] = set()  # ids of our writes that were settled as confirmed
        self.drift_errors = 0
        self._start(load_first=True)

    # ---------------------------------------------------------------------------------------------- lifecycle

    def _start(self, *, load_first: bool) -> None:
        self.clock = HybridClock(f"{self.name}.{self.generation}", now=self._now, max_drift=600.0)
        self.store = OptimisticStore(write_id_field="write_id" if self.echo else None, on_settle=self._settled)
        self.outbox = Outbox(self.path, base=0.5, cap=8.0, rng=self.rng)
        self.feed = self.server.subscribe()
        self.cursor = 0
        restored = [Write.from_record(entry.record) for entry in self.outbox.pending()]
        if load_first:
            self.store.load(self.server.live_rows().values())
        for write in restored:
            self._observe(write.stamp)
            self.store.restore(write)
        if not load_first:
            self.store.load(self.server.live_rows().values())

    def restart(self, *, load_first: bool) -> None:
        """The kernel dies (no close, in-flight replies and deferred conflicts are lost) and starts again."""
        self.server.unsubscribe(self.feed)
        self.generation += 1
        self.conflicts = []
        abandoned = self.outbox
        self._start(load_first=load_first)
        abandoned.close()

    def close(self) -> None:
        self.outbox.close()

    def _now(self) -> float:
        return self.world.now + self.skew

    def _observe(self, stamp: Timestamp | None) -> None:
        if stamp is not None:
            try:
                self.clock.observe(stamp)
            except ClockDriftError:
                self.drift_errors += 1

    # ---------------------------------------------------------------------------------------------- user side

    def write(self, op: str, key: Any, values: dict[str, Any]) -> Write:
        view = self.store.row(key)
        if op == "insert" and view is not None:
            op = "update"
        elif op in ("update", "delete") and view is None:
            op = "insert"
        if op in ("insert", "upsert"):
            values = {**values, "id": key}
        if op == "delete":
            values = {}
        write = Write(op, key, values, self.clock.tick())  # type: ignore[arg-type]
        self.store.apply_local(write)
        self.outbox.enqueue(write.to_record(TABLE, created=self.world.now))
        return write

    def resolve_one(self, choice: int) -> bool:
        """A person settles the oldest deferred conflict: mine, theirs, a hand-made row, or delete."""
        if not self.conflicts:
            return False
        conflict = self.conflicts.pop(0)
        hand_made = {**(conflict.theirs or {}), **(conflict.mine or {}), "id": conflict.key, "by_hand": self.name}
        options: list[Any] = ["mine", "theirs", hand_made, None]
        self._apply_resolution(conflict, resolve(conflict, options[choice % len(options)]))
        return True

    # ---------------------------------------------------------------------------------------------- network side

    def deliver(self, count: int = 1) -> int:
        """Apply up to ``count`` change events from the feed, in order."""
        delivered = 0
        while delivered < count and self.cursor < len(self.feed):
            event, row, stamp = self.feed[self.cursor]
            self.cursor += 1
            delivered += 1
            self._observe(stamp if event == "DELETE" else Timestamp.decode(row["hlc"]))
            self.store.apply_remote(event, row, stamp=stamp)
        return delivered

    def send(self, fate: str = "ok") -> bool:
        """Send the first due outbox entry; ``fate`` may lose the request or the reply on the way."""
        due = self.outbox.due(self.world.now)
        if not due:
            return False
        entry = due[0]
        write = self.store.write(entry.id)
        if write is None:  # settled meanwhile (e.g. by the change event of our own write)
            self.outbox.acknowledged(entry.id)
            return True
        self.outbox.sent(entry.id)
        message = {
            "id": write.id,
            "op": write.op,
            "key": write.key,
            "values": write.values,
            "base_version": write.base_version,
            "stamp": write.stamp.encode(),
        }
        if fate == "lose_request":
            self.outbox.retry_later(entry.id, "timed out", self.world.now)
            return True
        reply = self.server.handle(self.name, message)
        if fate == "lose_reply":
            self.outbox.retry_later(entry.id, "connection reset", self.world.now)
            return True
        self._handle(write, reply)
        return True

    def _handle(self, write: Write, reply: tuple[Any, ...]) -> None:
        if reply[0] == "ok":
            self.confirmed.add(write.id)
            self.store.confirm(write.id, reply[1])
        elif reply[0] == "error":
            write_id = write.id
            self.store.fail(write_id, reply[1])
            self.outbox.failed_permanently(write_id, reply[1])
        else:
            _, event, row, stamp = reply
            self.rejections += 1
            self._observe(stamp if event == "DELETE" else Timestamp.decode(row["hlc"]))
            self.store.apply_remote(event, row, stamp=stamp)
            if self.store.write(write.id) is None:
                return  # the fresh row settled it (not expected here, but a real wiring must allow it)
            conflict = self.store.conflict(write.id)
            outcome = self.strategy.resolve(conflict)
            if isinstance(outcome, Deferred):
                self.deferred += 1
                self.conflicts.append(outcome.conflict)
            else:
                self._apply_resolution(conflict, outcome)

    def _apply_resolution(self, conflict: Conflict, resolved: Resolved) -> None:
        old_id = conflict.write_id
        assert old_id is not None
        write, _ = self.store.resolve_conflict(conflict, resolved)
        if write.status == "pending":
            self.outbox.replace(old_id, write.to_record(TABLE, created=self.world.now))

    def _settled(self, write: Write) -> None:
        """Store hook: a write left the pending state."""
        if write.status == "confirmed":
            self.outbox.acknowledged(write.id)
            self.confirmed.add(write.id)
        # Later writes on the row may now expect the version it produced: persist that for a restart.
        for later in self.store.pending_writes():
            if later.key == write.key and later.id != write.id:
                self.outbox.replace(later.id, later.to_record(TABLE, created=self.world.now))

    # ---------------------------------------------------------------------------------------------- checks

    @property
    def idle(self) -> bool:
        return self.cursor == len(self.feed) and self.outbox.pending_count == 0 and not self.conflicts

    def view(self) -> dict[Any, dict[str, Any]]:
        return {row["id"]: row for row in self.store.rows}
