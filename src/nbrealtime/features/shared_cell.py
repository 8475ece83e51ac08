"""``room.cell(name)``: text that several people edit at once, merged character by character (CRDT).

The text is a pycrdt ``Text`` (the engine of JupyterLab's own collaboration). Every local change — typed in a
browser view or made from Python — is broadcast to the other kernels at once and appended, batched, to the update
log in the backend; the log is compacted into a snapshot now and then. Opening a cell loads snapshot + log tail, and
every (re)subscribe exchanges state vectors with the others, so a late joiner, a restarted kernel or a kernel that
missed messages during a disconnect ends with the same text (DESIGN.md §3, §5.4).
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from pycrdt import Text

from nbrealtime.features.callbacks import CallbackList
from nbrealtime.features.synced_doc import DocBackend, DocKind, SyncedDoc
from nbrealtime.features.view import HasView

__all__ = ["CELL_EVENT", "CURSOR_EVENT", "SYNC_EVENT", "SharedCell"]

CELL_EVENT = "nbrt:cell"
SYNC_EVENT = "nbrt:cell-sync"
CURSOR_EVENT = "nbrt:cursor"
CELL_KIND = DocKind(CELL_EVENT, SYNC_EVENT, "cell", "nbrt_cells", "name", "nbrt_cell_updates", "cell")


class CellBackend(DocBackend, Protocol):
    """What a cell needs from its room: a synced document's backend, and who may edit."""

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
        self._sync = SyncedDoc(backend, room, name, CELL_KIND, head_row={"language": language})
        self._doc = self._sync.doc
        self._text = self._doc.get("source", type=Text)
        self._lock = self._sync.lock
        # Views and change callbacks subscribe to the document's own lists: relaying through lists of ours cost a
        # second hand-off to the dispatcher thread per remote edit, even with nobody listening.
        self._view_relays: dict[Callable[[bytes], None], Callable[[tuple[bytes, str | None]], None]] = {}
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
        self._sync.settle()

    def insert(self, index: int, text: str) -> None:
        self._check_editable()
        with self._lock:
            if not 0 <= index <= len(self._text):
                raise IndexError(f"index {index} is outside the text (0…{len(self._text)})")
            self._text.insert(index, text)
        self._sync.settle()

    def delete(self, index: int, length: int = 1) -> None:
        self._check_editable()
        with self._lock:
            if index < 0 or length < 0 or index + length > len(self._text):
                raise IndexError(f"cannot delete {length} characters at {index} of {len(self._text)}")
            del self._text[index : index + length]
        self._sync.settle()

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
        self._sync.settle()

    def wait_synced(self, timeout: float = 5.0) -> bool:
        """Wait until another participant has answered this cell's sync request (their latest edits, even those not
        saved yet, are then here); False if nobody with the cell open answered in time. For code that opens a cell
        and edits it at once relative to what others just typed."""
        return self._sync.answered.wait(timeout)

    def note_persisted(self) -> None:
        """A browser view stored a log row itself: count it toward the next compaction."""
        self._sync.note_persisted()

    @property
    def pending_count(self) -> int:
        """Local edits not yet saved to the backend's log."""
        return self._sync.pending_count

    def on_change(self, callback: Callable[[str], None]) -> Callable[[str], None]:
        """Call ``callback(text)`` after every change, local or remote."""
        self._sync.on_settled.add(lambda _local: callback(self.text))
        return callback

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
        return self._sync.state_vector()

    def update_since(self, state_vector: bytes | None = None) -> bytes:
        return self._sync.update_since(state_vector)

    def apply_update(self, update: bytes, origin: str) -> None:
        """Apply an update from ``origin`` (see :meth:`SyncedDoc.apply_update`; a browser view's own origin makes
        it ours to broadcast and persist)."""
        self._sync.apply_update(update, origin)

    def add_view(self, send: Callable[[bytes], None]) -> None:
        """A browser view that wants every update (echoed to all views, as ipywidgets' echo_update)."""

        def relay(item: tuple[bytes, str | None]) -> None:
            send(item[0])

        self._view_relays[send] = relay
        self._sync.on_update.add(relay)

    def remove_view(self, send: Callable[[bytes], None]) -> None:
        relay = self._view_relays.pop(send, None)  # by equality: a bound method is a new object on every access
        if relay is not None:
            self._sync.on_update.remove(relay)

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
        if self._backend.edit_refusal() is None:  # a viewer reads what editors created
            await self._sync.create_head()
        await self._sync.load()

    async def catch_up(self) -> None:
        """Read log rows saved since the last one seen."""
        await self._sync.catch_up()

    async def resubscribed(self) -> None:
        await self._sync.resubscribed()

    def request_sync(self) -> None:
        self._sync.request_sync()

    async def flush(self) -> None:
        await self._sync.flush()

    async def compact(self) -> None:
        await self._sync.compact()

    def on_remote(self, event: str, data: dict[str, Any], sender: str) -> None:
        """A cell broadcast from another kernel."""
        if event != CURSOR_EVENT:
            self._sync.on_remote(event, data, sender)
            return
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

    def _check_editable(self) -> None:
        reason = self._backend.edit_refusal()
        if reason is not None:
            raise PermissionError(reason)
