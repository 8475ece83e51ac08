"""The durable write queue: every local write is on disk before the user's call returns, until the server has it.

One SQLite file (stdlib ``sqlite3``, WAL mode, ``synchronous=FULL``: a committed enqueue survives a killed process
and a power cut). Entries keep their queue order (``seq``); :meth:`Outbox.due` hands out, per row, only the oldest
unsettled entry — a later write on a row is not sent before the earlier one is acknowledged, failed for good or
discarded — and FIFO across rows. A send whose outcome is unknown is retried with the same write id, which is the
idempotency key the server deduplicates by, so "retry after a lost reply" applies the write once.

Retries back off exponentially with full jitter: after the n-th failed attempt the entry waits a uniform random
time in ``[0, min(cap, base * 2**(n-1))]`` (spreads reconnect storms; AWS architecture blog "Exponential Backoff And
Jitter"). Entries the server rejects for good are kept, state ``failed``, for the UI, and no longer block their row.

Every failure to persist raises :class:`OutboxError` naming the file and the cause: nothing is dropped silently.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["Entry", "Outbox", "OutboxError"]

EntryState = Literal["queued", "sent", "failed"]
_REQUIRED = ("id", "table", "key", "op")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tbl TEXT NOT NULL,
    row_key TEXT NOT NULL,
    record TEXT NOT NULL,
    created REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_row ON outbox (tbl, row_key, seq);
"""
_COLUMNS = "seq, id, record, created, state, attempts, next_at, error"


class OutboxError(RuntimeError):
    """The outbox could not be opened or written; the message says which file and why."""


@dataclass(frozen=True)
class Entry:
    """One queued write: the record as enqueued plus its delivery state."""

    seq: int
    id: str
    record: dict[str, Any]
    created: float
    state: EntryState
    attempts: int
    next_at: float
    error: str | None

    @property
    def table(self) -> str:
        return self.record["table"]

    @property
    def key(self) -> Any:
        return self.record["key"]

    @property
    def op(self) -> str:
        return self.record["op"]


class Outbox:
    """A write queue in one SQLite file (``":memory:"`` for a throwaway queue); safe to share between threads.

    ``base`` and ``cap`` (seconds) shape the backoff; ``rng`` makes the jitter reproducible; ``max_bytes`` caps the
    file (a full outbox refuses new writes loudly, exactly like a full disk).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        base: float = 0.5,
        cap: float = 60.0,
        rng: random.Random | None = None,
        max_bytes: int | None = None,
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError(f"backoff needs 0 < base <= cap, got base={base!r} cap={cap!r}")
        self.path = path if str(path) == ":memory:" else Path(path)
        self.base, self.cap = base, cap
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._db = self._open(max_bytes)

    def _open(self, max_bytes: int | None) -> sqlite3.Connection:
        try:
            if isinstance(self.path, Path):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"cannot open the write outbox at {self.path}: {exc}") from exc
        try:
            db.execute("PRAGMA busy_timeout = 5000")
            if isinstance(self.path, Path):
                mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode != "wal":
                    raise sqlite3.OperationalError(f"journal_mode is {mode!r}, WAL refused")
            db.execute("PRAGMA synchronous = FULL")
            if max_bytes is not None:
                page = db.execute("PRAGMA page_size").fetchone()[0]
                db.execute(f"PRAGMA max_page_count = {max(1, int(max_bytes) // page)}")
            db.executescript(_SCHEMA)
            # A send whose outcome we never learnt (the process died) is simply due again: same id, applied once.
            db.execute("UPDATE outbox SET state = 'queued' WHERE state = 'sent'")
        except sqlite3.Error as exc:
            db.close()
            raise OutboxError(f"cannot open the write outbox at {self.path}: {exc}") from exc
        return db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------------ writing

    def enqueue(self, record: dict[str, Any]) -> str:
        """Persist a write record (``id``, ``table``, ``key``, ``op``, and e.g. ``payload``, ``stamp``,
        ``base_version``, ``created``) and return its id once it is on disk. Enqueuing an id again is a no-op."""
        missing = [name for name in _REQUIRED if record.get(name) is None]
        if missing:
            raise ValueError(f"an outbox record needs {', '.join(missing)}: {record!r}")
        text, row_key = _dumps(record), _dumps(record["key"])
        created = float(record.get("created") or 0.0)
        with self._write(f"queue write {record['id']}"):
            self._db.execute(
                "INSERT OR IGNORE INTO outbox (id, tbl, row_key, record, created) VALUES (?, ?, ?, ?, ?)",
                (record["id"], record["table"], row_key, text, created),
            )
        return record["id"]

    def replace(self, old_id: str, record: dict[str, Any]) -> bool:
        """Swap an entry for a rewritten write (after a conflict) in the same queue position, due at once."""
        if record.get("id") is None or record.get("key") is None:
            raise ValueError(f"an outbox record needs id and key: {record!r}")
        with self._write(f"replace write {old_id} by {record['id']}") as db:
            cursor = db.execute(
                "UPDATE outbox SET id = ?, record = ?, state = 'queued', attempts = 0, next_at = 0, error = NULL "
                "WHERE id = ?",
                (record["id"], _dumps(record), old_id),
            )
        return cursor.rowcount == 1

    def sent(self, entry_id: str) -> bool:
        """The entry is in flight: not due again until :meth:`retry_later` (or a restart)."""
        return self._update(entry_id, "state = 'sent'", ())

    def acknowledged(self, entry_id: str) -> bool:
        """The server has the write: forget it. Unknown ids are ignored (a reply and an echo may both ack)."""
        return self._delete(entry_id, "acknowledge")

    def discard(self, entry_id: str) -> bool:
        """Drop an entry without sending it (the user gave up on it, or dismissed a failed one)."""
        return self._delete(entry_id, "discard")

    def retry_later(self, entry_id: str, error: str, now: float) -> float | None:
        """Count a failed attempt and schedule the next one; returns the delay chosen (None: unknown id)."""
        with self._write(f"reschedule write {entry_id}") as db:
            row = db.execute("SELECT attempts FROM outbox WHERE id = ? AND state != 'failed'", (entry_id,)).fetchone()
            if row is None:
                return None
            attempts = row[0] + 1
            delay = self._rng.uniform(0.0, self.ceiling(attempts))
            db.execute(
                "UPDATE outbox SET state = 'queued', attempts = ?, next_at = ?, error = ? WHERE id = ?",
                (attempts, now + delay, error, entry_id),
            )
        return delay

    def failed_permanently(self, entry_id: str, error: str) -> bool:
        """The server rejected the write for good: keep it for the UI, never send it again."""
        return self._update(entry_id, "state = 'failed', error = ?", (error,))

    def ceiling(self, attempts: int) -> float:
        """The longest wait after ``attempts`` failed attempts: base, 2·base, 4·base … capped."""
        return min(self.cap, self.base * 2.0 ** max(0, attempts - 1))

    # ------------------------------------------------------------------------------------------------ reading

    def due(self, now: float) -> list[Entry]:
        """Entries to send now: the oldest unsettled entry of each row, if queued and its wait is over; FIFO."""
        return self._select(
            "WHERE o.state = 'queued' AND o.next_at <= ? AND NOT EXISTS (SELECT 1 FROM outbox p WHERE "
            "p.tbl = o.tbl AND p.row_key = o.row_key AND p.seq < o.seq AND p.state != 'failed')",
            (now,),
        )

    def pending(self) -> list[Entry]:
        """Every unacknowledged entry that may still be sent, in queue order (to re-lay after a restart)."""
        return self._select("WHERE o.state != 'failed'", ())

    def failed(self) -> list[Entry]:
        """Entries the server rejected for good, oldest first."""
        return self._select("WHERE o.state = 'failed'", ())

    def get(self, entry_id: str) -> Entry | None:
        found = self._select("WHERE o.id = ?", (entry_id,))
        return found[0] if found else None

    @property
    def pending_count(self) -> int:
        """How many writes are still to be delivered (for "Offline (N pending)")."""
        with self._read("count entries"):
            return self._db.execute("SELECT count(*) FROM outbox WHERE state != 'failed'").fetchone()[0]

    # ------------------------------------------------------------------------------------------------ internals

    def _select(self, where: str, args: tuple[Any, ...]) -> list[Entry]:
        with self._read("read entries"):
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM outbox o {where} ORDER BY o.seq", args).fetchall()
        return [
            Entry(seq, entry_id, json.loads(record), created, state, attempts, next_at, error)
            for seq, entry_id, record, created, state, attempts, next_at, error in rows
        ]

    def _update(self, entry_id: str, assignments: str, args: tuple[Any, ...]) -> bool:
        with self._write(f"update write {entry_id}") as db:
            cursor = db.execute(f"UPDATE outbox SET {assignments} WHERE id = ?", (*args, entry_id))
        return cursor.rowcount == 1

    def _delete(self, entry_id: str, what: str) -> bool:
        with self._write(f"{what} write {entry_id}") as db:
            cursor = db.execute("DELETE FROM outbox WHERE id = ?", (entry_id,))
        return cursor.rowcount == 1

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One immediate transaction; any SQLite failure becomes an OutboxError and nothing is half-done."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise OutboxError(f"could not {action} in the outbox at {self.path}: {exc} (nothing changed)") from exc

    @contextmanager
    def _read(self, action: str) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except sqlite3.Error as exc:
                raise OutboxError(f"could not {action} from the outbox at {self.path}: {exc}") from exc


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"outbox records must be JSON: {exc}") from exc
