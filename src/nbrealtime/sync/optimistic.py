"""The optimistic view of a live table: confirmed server rows with my pending writes laid over them.

The store keeps two things apart and derives the view from them, one key at a time:

* **server state** — the last confirmed row per key with its version and HLC stamp (plus a tombstone per deleted key).
  Server rows only ever move forward: a row with a lower version never replaces a higher one, and a key deleted at
  version *v* ignores rows with version ≤ *v*. This is what makes it safe to mix a catch-up read, HTTP replies and the
  change feed in any order (DESIGN §5.1). Versions must therefore keep growing per key, also across delete and
  re-insert; rows without a version (tables with no version column) are always taken.
* **pending writes** — my writes in the order they were made. The view of a key is its server row with the pending
  writes on that key applied in order, so a remote change is rebased *under* my pending writes, never lost, and a
  failed write is simply taken out (rollback) while later writes stay laid over the server row.

Every mutating call returns the :class:`RowChange` list of what the view did, for the table's callbacks; a change of
bookkeeping columns alone (the version and stamp a confirmation brings) is not reported as a change. Nothing here
does I/O or threads; each call costs O(pending writes on the touched key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from .clock import Timestamp
from .conflicts import Conflict, Resolved
from .types import Row, Status
from .writes import RowChange, Write

__all__ = ["OptimisticStore", "RowChange", "Write"]


@dataclass(frozen=True, slots=True)
class _Confirmed:
    row: Row
    version: int | None
    stamp: Timestamp | None


@dataclass(frozen=True, slots=True)
class _Tomb:
    version: int | None
    stamp: Timestamp | None


class OptimisticStore:
    """Server state + pending overlay for one table, keyed by the ``key`` column.

    ``version_field`` and ``stamp_field`` name the row columns that carry the row version and its HLC stamp (encoded
    text or a :class:`Timestamp`); ``write_id_field``, if the backend records it, the id of the write that produced
    the row, so that the change event of my own write confirms it even before the HTTP reply arrives. Set any of
    them to None when the table has no such column. These bookkeeping columns stay in the rows of the view but are
    left out of conflicts, which compare data.

    ``on_settle(write)`` is called whenever a write leaves the pending state (confirmed — also by its own change
    event or a catch-up read — or failed), after later writes on its key got their new ``base_version``: the one
    place to acknowledge the outbox entry, re-persist those later writes, and wake whoever waits on the write.
    It must not call back into the store's mutating methods.
    """

    def __init__(
        self,
        key: str = "id",
        *,
        version_field: str | None = "version",
        stamp_field: str | None = "hlc",
        write_id_field: str | None = None,
        on_settle: Callable[[Write], None] | None = None,
    ) -> None:
        self.key = key
        self.version_field = version_field
        self.stamp_field = stamp_field
        self.write_id_field = write_id_field
        self.on_settle = on_settle
        self._meta = {name for name in (version_field, stamp_field, write_id_field) if name is not None}
        self._server: dict[Any, _Confirmed] = {}
        self._tombs: dict[Any, _Tomb] = {}
        self._view: dict[Any, Row] = {}
        self._pending: dict[Any, list[Write]] = {}
        self._queue: dict[Write, None] = {}
        self._by_id: dict[str, Write] = {}
        self._failed: dict[Any, str] = {}
        self._open: dict[str, tuple[Conflict, _Confirmed | None]] = {}

    # ------------------------------------------------------------------------------------------------ reading

    @property
    def rows(self) -> list[Row]:
        """The optimistic view (copies), in the order keys first appeared."""
        return [dict(row) for row in self._view.values()]

    def row(self, key: Any) -> Row | None:
        """One row of the view (a copy), or None."""
        row = self._view.get(key)
        return None if row is None else dict(row)

    def server_row(self, key: Any) -> Row | None:
        """The confirmed server row (a copy), or None — what a rollback goes back to."""
        confirmed = self._server.get(key)
        return None if confirmed is None else dict(confirmed.row)

    def version(self, key: Any) -> int | None:
        """The confirmed server version of a key (None: no row, or no version column)."""
        confirmed = self._server.get(key)
        return None if confirmed is None else confirmed.version

    def status(self, key: Any) -> Status:
        """Pending while a write on the key is unsettled, else failed if the last settled one failed."""
        if self._pending.get(key):
            return "pending"
        return "failed" if key in self._failed else "confirmed"

    def error(self, key: Any) -> str | None:
        """The error of the last failed write on the key, until a later write on it is confirmed."""
        return self._failed.get(key)

    def forget_failure(self, key: Any) -> list[RowChange]:
        """The user dismissed the key's failed write: it is confirmed (or absent) again, without its error."""
        self._failed.pop(key, None)
        return self._refresh([key])

    def pending_writes(self) -> list[Write]:
        """Unsettled writes in the order they were made."""
        return list(self._queue)

    def write(self, write_id: str) -> Write | None:
        """A pending write by id."""
        return self._by_id.get(write_id)

    def open_conflicts(self) -> list[Conflict]:
        """Conflicts built by :meth:`conflict` and not yet settled by :meth:`resolve_conflict`."""
        return [conflict for conflict, _ in self._open.values()]

    # ------------------------------------------------------------------------------------------------ server side

    def load(self, rows: Iterable[Row], *, complete: bool = True) -> list[RowChange]:
        """Take a (catch-up) read. With ``complete``, keys the read does not contain were deleted meanwhile.

        Subscribe first and apply change events that arrive during the read after it: they are deduplicated by
        version, so nothing is lost and nothing is applied twice.
        """
        touched: dict[Any, None] = {}
        for row in rows:
            key = self._key_of(row)
            touched[key] = None
            self._absorb(key, row)
            self._confirm_echo(key, row)
        if complete:
            for key in [key for key in self._server if key not in touched]:
                confirmed = self._server[key]
                self._absorb_deletion(key, confirmed.version, None)
                touched[key] = None
        return self._refresh(touched)

    def apply_remote(self, event: str, row: Row, *, stamp: Timestamp | None = None) -> list[RowChange]:
        """A server change: ``event`` INSERT/UPDATE with the new row, or DELETE with the old row (key at least).

        Also the way to feed the store an authoritative row from an HTTP reply (e.g. the current row a conflict
        reply carries). ``stamp`` overrides the row's stamp column; for a DELETE it is the stamp of the deletion,
        if the backend knows it (else a deletion counts as newest in conflicts, see ``conflicts``).
        """
        kind = event.upper()
        key = self._key_of(row)
        if kind in ("INSERT", "UPDATE"):
            self._absorb(key, row, stamp)
            self._confirm_echo(key, row)
        elif kind == "DELETE":
            self._absorb_deletion(key, self._version_of(row), stamp)
        else:
            raise ValueError(f"unknown change event {event!r}; expected INSERT, UPDATE or DELETE")
        return self._refresh([key])

    # ------------------------------------------------------------------------------------------------ my writes

    def apply_local(self, write: Write) -> list[RowChange]:
        """Lay a new write over the view now; sets its ``base_version`` and ``base`` from the current state."""
        self._check_new(write)
        write.base_version = self.version(write.key)
        write.base = self._view.get(write.key)
        return self._lay(write)

    def restore(self, write: Write) -> list[RowChange]:
        """Re-lay a write from the outbox after a restart, keeping the base it was made on (so conflicts that
        happened while we were away are still detected by the server)."""
        self._check_new(write)
        return self._lay(write)

    def confirm(self, write_id: str, server_row: Row | None = None) -> list[RowChange]:
        """The server applied the write; ``server_row`` is the row it now has (None for a delete).

        Unknown or already settled ids are ignored (a reply and the change event may both confirm a write); a row
        given with them is still taken as server state.
        """
        write = self._by_id.get(write_id)
        if write is None:
            if server_row is None:
                return []
            key = self._key_of(server_row)
            self._absorb(key, server_row)
            return self._refresh([key])
        key = write.key
        if server_row is not None:
            self._absorb(key, server_row)
            produced = self._version_of(server_row)
        elif write.op == "delete":
            self._absorb_deletion(key, write.base_version, write.stamp)
            produced = None
        else:
            # No row in the reply: take the write as the server row, with an unknown version.
            confirmed = self._server.get(key)
            row = write.apply_to(None if confirmed is None else confirmed.row)
            if row is not None:
                self._server[key] = _Confirmed(row, None, write.stamp)
            produced = None
        self._confirmed(write, produced)
        return self._refresh([key])

    def fail(self, write_id: str, error: str) -> list[RowChange]:
        """The server rejected the write for good: roll it back; later writes stay laid over the server row."""
        write = self._by_id.get(write_id)
        if write is None:
            return []
        self._settle(write, "failed", error)
        self._failed[write.key] = error
        if self.on_settle is not None:
            self.on_settle(write)
        return self._refresh([write.key])

    # ------------------------------------------------------------------------------------------------ conflicts

    def conflict(self, write_id: str) -> Conflict:
        """The conflict between a pending write the server rejected as stale and the current server row.

        Feed the server's current row (or deletion) through :meth:`apply_remote` first if the reply carried it.
        """
        write = self._pending_write(write_id)
        against = self._server.get(write.key)
        if against is not None:
            theirs, theirs_stamp = self._data(against.row), against.stamp
        else:
            tomb = self._tombs.get(write.key)
            theirs, theirs_stamp = None, None if tomb is None else tomb.stamp
        conflict = Conflict(
            key=write.key,
            base=None if write.base is None else self._data(write.base),
            mine=None if (wanted := self._wanted(write)) is None else self._data(wanted),
            theirs=theirs,
            mine_stamp=write.stamp,
            theirs_stamp=theirs_stamp,
            write_id=write.id,
        )
        self._open[write.id] = (conflict, against)
        return conflict

    def resolve_conflict(self, conflict: Conflict, resolved: Resolved) -> tuple[Write, list[RowChange]]:
        """Apply a strategy's (or a person's) resolution to the conflicting write.

        If the server already holds the resolved row, the write is settled as confirmed. Otherwise the same
        :class:`Write` object is rewritten in place — a fresh id (a new idempotency key: the server never applied the
        old one), the resolved row as payload, based on the server row the conflict was computed against — and stays
        pending in its place; replace the old outbox entry with it (``Outbox.replace``). Capture ``write.id`` before
        calling if you need the old id.
        """
        write = self._by_id.get(conflict.write_id or "")
        opened = self._open.get(conflict.write_id or "")
        if write is None or opened is None or opened[0] is not conflict:
            raise ValueError(f"conflict {conflict.id} on key {conflict.key!r} is not open (already settled?)")
        del self._open[write.id]
        against = opened[1]
        row = resolved.row
        if row is not None:
            if row.get(self.key, write.key) != write.key:
                raise ValueError(f"a resolution cannot change the key: {row.get(self.key)!r} != {write.key!r}")
            row = {**row, self.key: write.key}
        if row == (None if against is None else self._data(against.row)):
            self._confirmed(write, None, bump=False)
            return write, self._refresh([write.key])
        del self._by_id[write.id]
        write.id = str(uuid4())
        self._by_id[write.id] = write
        write.op = "delete" if row is None else "insert" if against is None else "update"
        write.values = row or {}
        write.stamp = resolved.stamp
        write.base = None if against is None else against.row
        write.base_version = None if against is None else against.version
        return write, self._refresh([write.key])

    # ------------------------------------------------------------------------------------------------ internals

    def _check_new(self, write: Write) -> None:
        if write.status != "pending" or write.id in self._by_id:
            raise ValueError(f"{write!r} was already applied")
        if write.op in ("insert", "upsert") and write.values.get(self.key) != write.key:
            raise ValueError(f"an {write.op} must carry its key in column {self.key!r} = {write.key!r}")
        if write.op == "update" and write.values.get(self.key, write.key) != write.key:
            raise ValueError(f"an update cannot change the key column {self.key!r}")

    def _lay(self, write: Write) -> list[RowChange]:
        self._pending.setdefault(write.key, []).append(write)
        self._queue[write] = None
        self._by_id[write.id] = write
        confirmed = self._server.get(write.key)
        if confirmed is not None and self._write_id_of(confirmed.row) == write.id:
            self._confirmed(write, confirmed.version)  # restored after a crash, but the server already has it
        return self._refresh([write.key])

    def _pending_write(self, write_id: str) -> Write:
        write = self._by_id.get(write_id)
        if write is None:
            raise ValueError(f"no pending write {write_id!r}")
        return write

    def _confirm_echo(self, key: Any, row: Row) -> None:
        write = self._by_id.get(self._write_id_of(row) or "")
        if write is not None and write.key == key:
            self._confirmed(write, self._version_of(row))

    def _confirmed(self, write: Write, produced: int | None, *, bump: bool = True) -> None:
        self._settle(write, "confirmed", None)
        self._failed.pop(write.key, None)
        # Later writes on the key that expected the same version were laid on top of this one: now they expect
        # the version it produced (not after a conflict settled without writing: the server row did not move).
        if bump:
            for later in self._pending.get(write.key, ()):
                if later.base_version == write.base_version:
                    later.base_version = produced
        if self.on_settle is not None:
            self.on_settle(write)

    def _settle(self, write: Write, status: Status, error: str | None) -> None:
        queue = self._pending[write.key]
        queue.remove(write)
        if not queue:
            del self._pending[write.key]
        del self._queue[write]
        del self._by_id[write.id]
        self._open.pop(write.id, None)
        write.status, write.error = status, error

    def _absorb(self, key: Any, row: Row, stamp: Timestamp | None = None) -> None:
        version = self._version_of(row)
        current = self._server.get(key)
        if current is not None and _lower(version, current.version):
            return
        tomb = self._tombs.get(key)
        known = tomb is not None and tomb.version is not None and version is not None
        if current is None and known and version <= tomb.version:
            return  # a row from before a deletion we already know of
        self._server[key] = _Confirmed(dict(row), version, stamp or self._stamp_of(row))
        self._tombs.pop(key, None)

    def _absorb_deletion(self, key: Any, version: int | None, stamp: Timestamp | None) -> None:
        current = self._server.get(key)
        if current is not None and _lower(version, current.version):
            return  # the row was re-created after this deletion
        self._server.pop(key, None)
        self._tombs[key] = _Tomb(version, stamp)

    def _refresh(self, keys: Iterable[Any]) -> list[RowChange]:
        changes = []
        for key in dict.fromkeys(keys):
            old = self._view.get(key)
            confirmed = self._server.get(key)
            new = None if confirmed is None else confirmed.row
            for write in self._pending.get(key, ()):
                new = write.apply_to(new)
            if new is None:
                self._view.pop(key, None)
            else:
                self._view[key] = new
            if old is None and new is not None:
                changes.append(RowChange("insert", key, None, dict(new)))
            elif old is not None and new is None:
                changes.append(RowChange("delete", key, dict(old), None))
            elif old is not None and new is not None and self._data(old) != self._data(new):
                changes.append(RowChange("update", key, dict(old), dict(new)))
        return changes

    def _wanted(self, write: Write) -> Row | None:
        """The whole row a write asks for, on top of the row it was made on."""
        if write.op == "delete":
            return None
        return write.apply_to(write.base if write.base is not None else {self.key: write.key})

    def _data(self, row: Row) -> Row:
        return {name: value for name, value in row.items() if name not in self._meta}

    def _key_of(self, row: Row) -> Any:
        try:
            return row[self.key]
        except (KeyError, TypeError):
            raise ValueError(f"row has no key column {self.key!r}: {row!r}") from None

    def _version_of(self, row: Row) -> int | None:
        return None if self.version_field is None else row.get(self.version_field)

    def _stamp_of(self, row: Row) -> Timestamp | None:
        value = None if self.stamp_field is None else row.get(self.stamp_field)
        if value is None or isinstance(value, Timestamp):
            return value
        return Timestamp.decode(value) if value else None  # '' is the column default: no stamp yet

    def _write_id_of(self, row: Row) -> str | None:
        return None if self.write_id_field is None else row.get(self.write_id_field)


def _lower(a: int | None, b: int | None) -> bool:
    """a < b when both versions are known; unknown versions never count as older."""
    return a is not None and b is not None and a < b
