"""``room.cell(name)``: text that several people edit at once, merged character by character (CRDT).

The text is a pycrdt ``Text`` (the engine of JupyterLab's own collaboration). Every local change — typed in a
browser view or made from Python — is broadcast to the other kernels at once and appended, batched, to the update
log in the backend; the log is compacted into a snapshot now and then. Opening a cell loads snapshot + log tail, and
every (re)subscribe exchanges state vectors with the others, so a late joiner, a restarted kernel or a kernel that
missed messages during a disconnect ends with the same text (DESIGN.md §3, §5.4).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import difflib
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol

from pycrdt import Doc, Subscription, Text, TransactionEvent, merge_updates

from nbrealtime.features.callbacks import CallbackList
from nbrealtime.features.view import HasView

__all__ = ["CELL_EVENT", "CURSOR_EVENT", "SYNC_EVENT", "SharedCell"]

log = logging.getLogger("nbrealtime.cell")

CELL_EVENT = "nbrt:cell"
SYNC_EVENT = "nbrt:cell-sync"
CURSOR_EVENT = "nbrt:cursor"
FLUSH_SECONDS = 0.1
COMPACT_AFTER = 500
PAGE = 1000
NOT_OURS = ("remote", "store", "relayed")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


class CellBackend(Protocol):
    """What a cell needs from its room: broadcast, and the tables that persist it."""

    user_id: str

    def broadcast(self, event: str, payload: dict[str, Any]) -> None: ...

    def rest(self, name: str) -> Any: ...

    def run_soon(self, coroutine: Awaitable[None]) -> None: ...

    def pending_changed(self) -> None: ...

    def edit_refusal(self) -> str | None:
        """Why this user may not edit shared cells now (a viewer, a removed member), or None."""
        ...


class SharedCell(HasView):
    def __init__(self, backend: CellBackend, room: str, name: str, language: str) -> None:
        self._backend = backend
        self.room_object = backend
        self.room = room
        self.name = name
        self.language = language
        self._doc = Doc()
        self._text = self._doc.get("source", type=Text)
        self._lock = threading.RLock()
        self._applying: str | None = None
        self._subscription: Subscription = self._doc.observe(self._on_transaction)  # keep: pycrdt lesson §5.9
        self._committed: list[tuple[bytes, str | None]] = []
        self._unsaved: list[bytes] = []
        self._flush_scheduled = False
        self._log_seq = 0
        self._log_rows_since_snapshot = 0
        self._on_change: CallbackList[str] = CallbackList(f"cell {name!r}")
        self._views: CallbackList[bytes] = CallbackList(f"cell {name!r} view")
        self.cursors: dict[str, dict[str, Any]] = {}
        self._on_cursors: CallbackList[list[dict[str, Any]]] = CallbackList(f"cell {name!r} cursors")

    def __repr__(self) -> str:
        text = self.text
        preview = text if len(text) <= 40 else text[:37] + "..."
        return f"<SharedCell {self.name!r} ({self.language}, {len(text)} chars): {preview!r}>"

    # ------------------------------------------------------------------ public API

    @property
    def text(self) -> str:
        with self._lock:
            return str(self._text)

    def __str__(self) -> str:
        return self.text

    @contextlib.contextmanager
    def transaction(self) -> Iterator[SharedCell]:
        """Edits in the block form one change, and positions read in it stay valid: remote edits wait until it ends.

        ``with cell.transaction(): cell.delete(cell.text.index("old"), 3)`` is safe even while others type.
        """
        self._check_editable()
        with self._lock, self._doc.transaction():
            yield self
        self._settle()

    def insert(self, index: int, text: str) -> None:
        self._check_editable()
        with self._lock:
            if not 0 <= index <= len(self._text):
                raise IndexError(f"index {index} is outside the text (0…{len(self._text)})")
            self._text.insert(index, text)
        self._settle()

    def delete(self, index: int, length: int = 1) -> None:
        self._check_editable()
        with self._lock:
            if index < 0 or length < 0 or index + length > len(self._text):
                raise IndexError(f"cannot delete {length} characters at {index} of {len(self._text)}")
            del self._text[index : index + length]
        self._settle()

    def set(self, text: str) -> None:
        """Make the text equal to ``text`` by the smallest edits, so concurrent typing elsewhere survives."""
        self._check_editable()
        with self._lock, self._doc.transaction():
            current = str(self._text)
            matcher = difflib.SequenceMatcher(a=current, b=text, autojunk=False)
            for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
                if tag in ("replace", "delete"):
                    del self._text[i1:i2]
                if tag in ("replace", "insert"):
                    self._text.insert(i1, text[j1:j2])
        self._settle()

    def note_persisted(self) -> None:
        """A browser view stored a log row itself: count it toward the next compaction."""
        self._log_rows_since_snapshot += 1
        if self._log_rows_since_snapshot >= COMPACT_AFTER:
            self._log_rows_since_snapshot = 0
            self._backend.run_soon(self.compact())

    @property
    def pending_count(self) -> int:
        """Local edits not yet saved to the backend's log."""
        return len(self._unsaved)

    def on_change(self, callback: Callable[[str], None]) -> Callable[[str], None]:
        """Call ``callback(text)`` after every change, local or remote."""
        return self._on_change.add(callback)

    def run(self) -> Any:
        """Execute the cell's current text in this kernel (IPython if present, else this module's globals)."""
        source = self.text
        try:
            from IPython import get_ipython
        except ImportError:
            get_ipython = None  # type: ignore[assignment]
        shell = get_ipython() if get_ipython is not None else None
        if shell is not None:
            return shell.run_cell(source, store_history=False)
        namespace: dict[str, Any] = {"__name__": "__main__"}
        exec(compile(source, f"<shared cell {self.name}>", "exec"), namespace)
        return namespace

    execute = run

    # ------------------------------------------------------------------ CRDT exchange

    def state_vector(self) -> bytes:
        with self._lock:
            return self._doc.get_state()

    def update_since(self, state_vector: bytes | None = None) -> bytes:
        with self._lock:
            return self._doc.get_update(state_vector)

    def apply_update(self, update: bytes, origin: str) -> None:
        """Apply an update that came from ``origin``: "remote" (another kernel, already persisted by its author),
        "store" (the backend's log), "relayed" (a browser view that broadcast and persists it itself) or any other
        browser view (then it is ours to broadcast and persist)."""
        with self._lock:
            self._applying = origin
            try:
                self._doc.apply_update(update)
            finally:
                self._applying = None
        self._settle()

    def add_view(self, send: Callable[[bytes], None]) -> None:
        """A browser view that wants every update (echoed to all views, as ipywidgets' echo_update)."""
        self._views.add(send)

    def remove_view(self, send: Callable[[bytes], None]) -> None:
        self._views.remove(send)

    def on_cursors(self, callback: Callable[[list[dict[str, Any]]], None]) -> None:
        self._on_cursors.add(callback)

    def share_cursor(self, anchor: Any, head: Any, name: str, color: str) -> None:
        """Tell the others where this user's caret/selection is (yjs relative positions, relayed as they are)."""
        self._backend.broadcast(
            CURSOR_EVENT, {"cell": self.name, "anchor": anchor, "head": head, "name": name, "color": color}
        )

    # ------------------------------------------------------------------ room wiring (background loop)

    async def load(self) -> None:
        """Snapshot + log tail from the backend (a late joiner, a restarted kernel)."""
        table = self._backend.rest
        if self._backend.edit_refusal() is None:  # a viewer reads what editors created
            await (
                table("nbrt_cells")
                .upsert({"room": self.room, "name": self.name, "language": self.language}, ignore_duplicates=True)
                .execute()
            )
        found = (
            await table("nbrt_cells")
            .select("snapshot,snapshot_seq")
            .eq("room", self.room)
            .eq("name", self.name)
            .execute()
        )
        row = found.data[0] if found.data else {}
        if row.get("snapshot"):
            self.apply_update(_unb64(row["snapshot"]), "store")
        self._log_seq = max(self._log_seq, int(row.get("snapshot_seq") or 0))
        await self.catch_up()

    async def catch_up(self) -> None:
        """Apply log rows written since the last one seen (after a reconnect: what was persisted meanwhile)."""
        table = self._backend.rest
        while True:
            page = (
                await table("nbrt_cell_updates")
                .select("seq,data")
                .eq("room", self.room)
                .eq("cell", self.name)
                .gt("seq", self._log_seq)
                .order("seq")
                .limit(PAGE)
                .execute()
            )
            if not page.data:
                return
            self.apply_update(merge_updates(*(_unb64(r["data"]) for r in page.data)), "store")
            self._log_seq = int(page.data[-1]["seq"])
            self._log_rows_since_snapshot += len(page.data)
            if len(page.data) < PAGE:
                return

    def request_sync(self) -> None:
        """Sync step 1: ask the others for what we lack, telling them what we have."""
        self._backend.broadcast(SYNC_EVENT, {"cell": self.name, "sv": _b64(self.state_vector())})

    def on_remote(self, event: str, data: dict[str, Any], sender: str) -> None:
        """A cell broadcast from another kernel."""
        if event == CELL_EVENT:
            self.apply_update(_unb64(data["update"]), "remote")
        elif event == SYNC_EVENT:
            missing = self.update_since(_unb64(data["sv"]))
            if data.get("reply_to") is None:
                # Step 2: answer with what the requester lacks, and say what we have so it can answer in turn.
                self._backend.broadcast(
                    SYNC_EVENT,
                    {"cell": self.name, "sv": _b64(self.state_vector()), "reply_to": sender, "update": _b64(missing)},
                )
            elif data["reply_to"] == self._backend.user_id:
                if data.get("update"):
                    self.apply_update(_unb64(data["update"]), "remote")
                if missing and len(missing) > 2:
                    self._broadcast_update(missing)
        elif event == CURSOR_EVENT:
            self.cursors[sender] = {
                "client_id": sender,
                "name": str(data.get("name", "someone")),
                "color": str(data.get("color", "#888888")),
                "anchor": data.get("anchor"),
                "head": data.get("head"),
            }
            if data.get("anchor") is None:
                self.cursors.pop(sender, None)
            self._on_cursors.fire(list(self.cursors.values()))

    def forget_cursor(self, user_id: str) -> None:
        if self.cursors.pop(user_id, None) is not None:
            self._on_cursors.fire(list(self.cursors.values()))

    # ------------------------------------------------------------------ internals

    def _check_editable(self) -> None:
        reason = self._backend.edit_refusal()
        if reason is not None:
            raise PermissionError(reason)

    def _on_transaction(self, event: TransactionEvent) -> None:
        # Inside pycrdt's commit the document is borrowed: only record, and act in _settle() afterwards.
        self._committed.append((event.update, self._applying))

    def _settle(self) -> None:
        """After a change: broadcast and queue our own edits, echo every update to the views, tell callbacks."""
        with self._lock:
            committed, self._committed = self._committed, []
            text = str(self._text)
        if not committed:
            return
        for update, origin in committed:
            if origin not in NOT_OURS:
                self._broadcast_update(update)
                with self._lock:
                    self._unsaved.append(update)
                    schedule = not self._flush_scheduled
                    self._flush_scheduled = True
                if schedule:
                    self._backend.run_soon(self._flush_later())
                    self._backend.pending_changed()
            self._views.fire(update)
        self._on_change.fire(text)

    def _broadcast_update(self, update: bytes) -> None:
        self._backend.broadcast(CELL_EVENT, {"cell": self.name, "update": _b64(update)})

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        """Persist the batched local updates as one log row; kept for the next try if the backend is away."""
        with self._lock:
            self._flush_scheduled = False
            if not self._unsaved:
                return
            batch, self._unsaved = self._unsaved, []
        merged = merge_updates(*batch)
        try:
            await (
                self._backend.rest("nbrt_cell_updates")
                .insert({"room": self.room, "cell": self.name, "data": _b64(merged)}, returning="minimal")
                .execute()
            )
        except Exception as error:
            log.info("cell %r: could not save edits yet (%s); will retry", self.name, error)
            with self._lock:
                self._unsaved.insert(0, merged)
            return
        self._log_rows_since_snapshot += 1
        self._backend.pending_changed()
        if self._log_rows_since_snapshot >= COMPACT_AFTER:
            await self.compact()

    async def compact(self) -> None:
        """Fold the log into the snapshot: snapshot covers every row up to the newest seq, then those rows go."""
        table = self._backend.rest
        newest = (
            await table("nbrt_cell_updates")
            .select("seq")
            .eq("room", self.room)
            .eq("cell", self.name)
            .order("seq", desc=True)
            .limit(1)
            .execute()
        )
        if not newest.data:
            return
        await self.catch_up()  # the snapshot must contain every row it claims to cover
        upto = int(newest.data[0]["seq"])
        snapshot = _b64(self.update_since())
        stored = (
            await table("nbrt_cells")
            .update({"snapshot": snapshot, "snapshot_seq": upto})
            .eq("room", self.room)
            .eq("name", self.name)
            .lt("snapshot_seq", upto)
            .execute()
        )
        if stored.data:
            await (
                table("nbrt_cell_updates")
                .delete()
                .eq("room", self.room)
                .eq("cell", self.name)
                .lte("seq", upto)
                .execute()
            )
        self._log_rows_since_snapshot = 0
