"""``room.share_notebook(path)``, ``room.notebooks``, ``room.notebook(ref)``: whole notebooks in a room.

A shared notebook is a jupyter_ydoc ``YNotebook`` — the document JupyterLab itself edits — travelling exactly as a
shared cell does (:mod:`nbrealtime.features.synced_doc`). The room's document is the truth: a copy that joins with
content of its own merges it only when it continues the history it last synced, and otherwise is refused with
:class:`Diverged` so its owner keeps it aside (docs/shared-notebooks.md).
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_ydoc import YNotebook
from pycrdt import Awareness, Doc

from nbrealtime.features.callbacks import CallbackList
from nbrealtime.features.notebook_model import (
    JoinAction,
    as_notebook,
    cell_ids,
    classify_join,
    content_of,
    drop_duplicate_cells,
    execution_counts,
    new_room_doc,
    stamp_runs,
)
from nbrealtime.features.notebook_outputs import OmittedOutput, output_limit, replace_oversize_outputs, screen_after
from nbrealtime.features.synced_doc import DocBackend, DocKind, DocThread, SyncedDoc, b64, unb64

__all__ = [
    "DEFAULT_OUTPUTS",
    "KERNEL_ORIGIN",
    "NOTEBOOK_EVENTS",
    "OUTPUTS_TABLE",
    "Diverged",
    "NotebookInfo",
    "Outputs",
    "SharedNotebook",
    "fetch_output",
    "find_notebook",
    "list_notebooks",
    "open_notebook",
    "read_notebook_file",
    "share_notebook",
]

log = logging.getLogger("nbrealtime.notebook")

NOTEBOOK_EVENT = "nbrt:notebook"
NOTEBOOK_SYNC_EVENT = "nbrt:notebook-sync"
AWARENESS_EVENT = "nbrt:notebook-awareness"
NOTEBOOK_EVENTS = (NOTEBOOK_EVENT, NOTEBOOK_SYNC_EVENT, AWARENESS_EVENT)
NOTEBOOK_KIND = DocKind(
    NOTEBOOK_EVENT, NOTEBOOK_SYNC_EVENT, "notebook", "nbrt_notebooks", "id", "nbrt_notebook_updates", "notebook"
)
OUTPUTS_TABLE = "nbrt_notebook_outputs"
EMPTY_STATE = b"\x00"  # the state vector of an empty document
KERNEL_ORIGIN = f"kernel:{uuid.uuid4().hex[:12]}"
"""Where outputs omitted by this process came from (a Jupyter server names itself instead)."""


class Diverged(Exception):
    """A local copy whose content does not continue the room's document: keep it aside, never merge it in."""


@dataclass(frozen=True)
class NotebookInfo:
    """A notebook shared in a room, as listed by ``room.notebooks``."""

    id: str
    name: str
    shared_by: str | None
    created_at: str | None


@dataclass(frozen=True)
class Outputs:
    """How a copy treats outputs: ``limit`` (bytes of nbformat JSON; None: ``$NBREALTIME_OUTPUT_LIMIT`` or 1 MB)
    above which an output that appears here is kept out of the shared document, and ``origin``, the name of what
    holds it (this kernel, or a Jupyter server)."""

    limit: int | str | None = None
    origin: str = KERNEL_ORIGIN


DEFAULT_OUTPUTS = Outputs()


class SharedNotebook:
    """One notebook of a room, bound to a pycrdt ``Doc`` (a fresh one, or a Jupyter server's live document)."""

    def __init__(self, backend: DocBackend, room: str, info: NotebookInfo, document: Doc | YNotebook,
                 in_doc_thread: DocThread | None = None, outputs: Outputs = DEFAULT_OUTPUTS) -> None:  # fmt: skip
        self.id = info.id
        self.name = info.name
        self.info = info
        self.ynotebook = as_notebook(document)
        self.doc = doc = self.ynotebook.ydoc
        self._sync = SyncedDoc(backend, room, info.id, NOTEBOOK_KIND, doc, head_row={"name": info.name},
                               auto_settle=True, in_doc_thread=in_doc_thread)  # fmt: skip
        self._in_doc_thread = self._sync._in_doc_thread
        self.lock = self._sync.lock
        self._on_change: CallbackList[dict[str, Any]] = CallbackList(f"notebook {info.name!r}")
        self._on_others: CallbackList[list[dict[str, Any]]] = CallbackList(f"notebook {info.name!r} collaborators")
        self._who = str(getattr(backend, "user_name", backend.user_id))
        self.last_state = self.doc.get_state()  # as of the last change (read where the document lives)
        self._runs = execution_counts(self.ynotebook)
        self._sync.on_settled.add(self._after_change)
        self._awareness: Awareness | None = None
        self._awareness_subscription: str | None = None
        self._remote_clients: set[int] = set()
        self._applying_awareness = False
        self.output_limit = output_limit(outputs.limit)
        self.origin = outputs.origin
        self._omitted: dict[str, OmittedOutput] = {}  # outputs this copy kept out, by id (shown from here at once)
        self._unstored: list[OmittedOutput] = []
        self._sync.screen = self._omit_large_outputs
        self._sync.screen_after = screen_after(self.output_limit)
        self.stopped: str | None = None  # why this copy no longer syncs (removed from the room), or None

    def __repr__(self) -> str:
        return f"<SharedNotebook {self.name!r} ({len(self.cell_ids)} cells)>"

    @property
    def may_edit(self) -> Callable[[str], bool]:
        """The permission hook: ``may_edit(user_id)`` is False for someone whose updates must be refused."""
        return self._sync.may_edit

    @may_edit.setter
    def may_edit(self, check: Callable[[str], bool]) -> None:
        self._sync.may_edit = check

    @property
    def content(self) -> dict[str, Any]:
        """The notebook as nbformat JSON."""
        with self.lock:
            return content_of(self.ynotebook)

    @property
    def cell_ids(self) -> list[str]:
        with self.lock:
            return cell_ids(self.ynotebook)

    @property
    def pending_count(self) -> int:
        return self._sync.pending_count

    def state_vector(self) -> bytes:
        return self._sync.state_vector()

    @contextlib.contextmanager
    def edit(self) -> Iterator[YNotebook]:
        """Change the notebook from Python in one transaction: ``with nb.edit() as ynb: ynb.append_cell({...})``."""
        if self.stopped is not None:
            raise PermissionError(f"{self.name!r} no longer syncs: {self.stopped}")
        if self.read_only:
            raise PermissionError(f"you are a viewer of {self.name!r}: it opens read-only")
        with self.lock, self.doc.transaction():
            yield self.ynotebook
        self._sync.settle()

    def on_change(self, callback: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        """Call ``callback(content)`` after every change, local or remote."""
        return self._on_change.add(callback)

    def stop(self, reason: str) -> None:
        """Stop syncing for good (``reason`` says why, in :attr:`stopped`): nothing more goes out or comes in."""
        self.stopped = reason
        self._in_doc_thread(self.detach)

    def detach(self) -> None:
        """Stop syncing this copy (it stays as it is)."""
        self._sync.detach()
        if self._awareness is not None and self._awareness_subscription is not None:
            self._awareness.unobserve(self._awareness_subscription)
            self._awareness_subscription = None

    # ------------------------------------------------------------------ outputs above the limit

    def output(self, output_id: str) -> dict[str, Any]:
        """The full output a placeholder stands for (nbformat JSON): from this copy if it was kept out here, else
        from the room (``LookupError`` if the room has no such output)."""
        kept = self._omitted.get(output_id)
        if kept is not None:
            return kept.output
        backend = self._sync.backend
        return backend.call(fetch_output(backend, self._sync.room, self.id, output_id), 30)

    def kept_output(self, output_id: str) -> dict[str, Any] | None:
        """The output if this copy kept it out (no network), else None."""
        kept = self._omitted.get(output_id)
        return kept.output if kept is not None else None

    def _omit_large_outputs(self) -> None:
        """Where the document lives, before local changes go out: outputs above the limit become placeholders (a
        read-only copy sends nothing, so it keeps its outputs whole)."""
        if self.read_only:
            return
        omitted = replace_oversize_outputs(
            self.ynotebook, self.output_limit, self._sync.room, self.id, self._who, self.origin
        )
        if omitted:
            self._omitted.update((item.id, item) for item in omitted)
            self._unstored.extend(omitted)
            self._sync.backend.run_soon(self._store_outputs())

    async def _store_outputs(self) -> None:
        """Save omitted outputs in the room (kept for the next flush if the backend is away)."""
        while self._unstored:
            item = self._unstored.pop(0)
            try:
                await self._sync.backend.rest(OUTPUTS_TABLE).upsert(item.row(), returning="minimal").execute()
            except Exception as error:
                log.info("notebook %r: could not store an omitted output yet (%s); will retry", self.name, error)
                self._unstored.insert(0, item)
                return

    # ------------------------------------------------------------------ awareness (cursors, selections, who)

    def share_awareness(self, awareness: Awareness) -> None:
        """Bridge a Jupyter room's awareness: the states of people here go to the room, those of people elsewhere
        come in as more collaborators of this document (so JupyterLab shows their cursors as its own)."""
        self._awareness = awareness
        self._awareness_subscription = awareness.observe(self._on_awareness)

    def _on_awareness(self, topic: str, change: tuple[dict[str, Any], Any]) -> None:
        if topic != "update" or self._awareness is None:
            return
        ids = [client for key in ("added", "updated", "removed") for client in change[0].get(key, [])]
        if self._applying_awareness:
            self._remote_clients.update(ids)
            return
        ours = [client for client in ids if client not in self._remote_clients]
        if ours:
            self._send_awareness(ours)

    def _send_our_awareness(self) -> None:
        assert self._awareness is not None
        ours = [client for client in self._awareness.states if client not in self._remote_clients]
        if ours:
            self._send_awareness(ours)

    def look(self, name: str, color: str) -> None:
        """Show up as a collaborator of this notebook (in JupyterLab, as its own collaborators do) from a copy that
        has no browser: a kernel, the demo's simulated colleague."""
        if self._awareness is None:
            self.share_awareness(Awareness(self.doc))
        awareness = self._awareness
        assert awareness is not None
        initials = "".join(part[0] for part in name.split()[:2]).upper() or "?"
        user = {"username": name, "name": name, "display_name": name, "initials": initials, "color": color,
                "avatar_url": None}  # fmt: skip
        self._in_doc_thread(lambda: awareness.set_local_state({"user": user}))

    @property
    def others(self) -> list[dict[str, Any]]:
        """The users of other copies who have this notebook open (their awareness ``user`` states), once
        :meth:`look` made this copy one of the collaborators."""
        if self._awareness is None:
            return []
        states = dict(self._awareness.states)
        return [states[client]["user"] for client in self._remote_clients if states.get(client, {}).get("user")]

    def on_others(self, callback: Callable[[list[dict[str, Any]]], None]) -> Callable[[list[dict[str, Any]]], None]:
        """Call ``callback(others)`` when someone's awareness state arrives (see :attr:`others`)."""
        return self._on_others.add(callback)

    def _send_awareness(self, clients: list[int]) -> None:
        assert self._awareness is not None
        update = b64(self._awareness.encode_awareness_update(clients))
        self._sync.backend.broadcast(AWARENESS_EVENT, {"notebook": self.id, "update": update})

    def _apply_awareness(self, update: bytes) -> None:
        def apply() -> None:
            if self._awareness is None:
                return
            known = set(self._remote_clients)
            self._applying_awareness = True
            try:
                self._awareness.apply_awareness_update(update, "local")  # "local": jupyter's room relays it
            finally:
                self._applying_awareness = False
            if self._remote_clients - known:  # someone new: tell them who is here (they tell us once, in turn)
                self._send_our_awareness()
            self._on_others.fire(self.others)

        self._in_doc_thread(apply)

    @property
    def read_only(self) -> bool:
        """True for a viewer (or someone removed): this copy's edits are not sent (and others refuse them anyway)."""
        return self.stopped is not None or not self.may_edit(self._sync.backend.user_id)

    def _after_change(self, local: bool) -> None:
        # Where the document lives (a Jupyter server's loop): it may not be read from another thread mid-change.
        def repair() -> None:
            with self.lock:
                dropped = drop_duplicate_cells(self.ynotebook)
                stamped = stamp_runs(self.ynotebook, self._runs, self._who) if local else 0
                if not local:
                    self._runs.update(execution_counts(self.ynotebook))
                self.last_state = self.doc.get_state()
                content = content_of(self.ynotebook)
            if dropped or stamped:
                self._sync.settle()
            self._on_change.fire(content)

        self._in_doc_thread(repair)

    # ------------------------------------------------------------------ room wiring (background loop)

    async def attach(self, base: bytes | None) -> JoinAction:
        """Join the room's document with this copy (see :func:`classify_join`); raise :class:`Diverged` if the
        copy must be kept aside. Local edits made since ``base`` (the last sync) are sent as ordinary updates."""
        scratch = SyncedDoc(self._sync.backend, self._sync.room, self.id, NOTEBOOK_KIND)
        head = await scratch.read_head()
        if head is None:
            raise LookupError(f"notebook {self.id!r} is not shared in room {self._sync.room!r}")
        await scratch.load(head)
        scratch.detach()
        room_update = scratch.update_since()
        with self.lock:
            action = classify_join(self.doc, room_update, base)
            if action is JoinAction.DIVERGED:
                raise Diverged(f"this copy of {self.name!r} does not continue the room's document")
            room_state = scratch.state_vector()
        await self._sync.load(head)
        if action is JoinAction.MERGE:
            await self._sync.send_screened(room_state)
        self._sync.request_sync()
        return action

    async def catch_up(self) -> None:
        """Read log rows saved since the last one seen."""
        await self._sync.catch_up()

    async def resubscribed(self) -> None:
        await self._sync.resubscribed()
        if self._awareness is not None:  # who is here, for those who joined while we were away
            self._send_our_awareness()

    async def flush(self) -> None:
        await self._store_outputs()
        await self._sync.flush()

    async def compact(self) -> None:
        await self._sync.compact()

    def on_remote(self, event: str, data: dict[str, Any], sender: str) -> None:
        if self.stopped is not None:
            return
        if event == AWARENESS_EVENT:
            self._apply_awareness(unb64(data["update"]))
        else:
            self._sync.on_remote(event, data, sender)


def read_notebook_file(path: str | Path) -> dict[str, Any]:
    """An .ipynb file as nbformat JSON, with a one-line error for what is not one."""
    path = Path(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not a notebook (not JSON: {error.msg} at line {error.lineno})") from None
    if not isinstance(content, dict) or not isinstance(content.get("cells"), list):
        raise ValueError(f"{path} is not a notebook (no list of cells)")
    for cell in content["cells"]:
        if isinstance(cell, dict):
            cell.setdefault("id", uuid.uuid4().hex[:8])
    return content


def _info(row: dict[str, Any]) -> NotebookInfo:
    return NotebookInfo(str(row["id"]), str(row["name"]), row.get("shared_by"), row.get("created_at"))


async def share_notebook(
    backend: DocBackend,
    room: str,
    name: str,
    content: dict[str, Any] | Doc | YNotebook,
    in_doc_thread: DocThread | None = None,
    outputs: Outputs = DEFAULT_OUTPUTS,
) -> SharedNotebook:
    """Put a notebook in the room as a new document (its own id: sharing twice gives two notebooks).

    ``content`` is nbformat JSON (a fresh document is built from it) or a live document whose history becomes the
    room's, so that copy stays bridged without a second set of cells. Outputs above the limit are kept out first.
    """
    doc = content if isinstance(content, Doc | YNotebook) else new_room_doc(content)
    info = NotebookInfo(uuid.uuid4().hex, name, backend.user_id, None)
    notebook = SharedNotebook(backend, room, info, doc, in_doc_thread, outputs)
    await notebook._sync.create_head()
    await notebook._sync.send_screened(EMPTY_STATE)
    await notebook.flush()
    return notebook


def find_notebook(known: list[NotebookInfo], ref: str, room: str) -> NotebookInfo:
    """The one notebook of ``known`` whose id or name is ``ref`` (a ``LookupError`` that says what there is)."""
    matches = [info for info in known if ref in (info.id, info.name)]
    if not matches:
        names = ", ".join(sorted({info.name for info in known})) or "none yet"
        raise LookupError(f"no notebook {ref!r} in room {room!r} (shared there: {names})")
    if len(matches) > 1:
        raise LookupError(f"{len(matches)} notebooks named {ref!r} in room {room!r}: open one by id")
    return matches[0]


async def list_notebooks(backend: DocBackend, room: str) -> list[NotebookInfo]:
    found = (
        await backend.rest("nbrt_notebooks")
        .select("id,name,shared_by,created_at")
        .eq("room", room)
        .order("created_at")
        .execute()
    )
    return [_info(row) for row in found.data]


async def open_notebook(
    backend: DocBackend,
    room: str,
    ref: str,
    doc: Doc | YNotebook | None = None,
    *,
    base: bytes | None = None,
    in_doc_thread: DocThread | None = None,
    outputs: Outputs = DEFAULT_OUTPUTS,
) -> SharedNotebook:
    """Open the room's notebook ``ref`` (id or name) into ``doc`` (a fresh document by default)."""
    info = find_notebook(await list_notebooks(backend, room), ref, room)
    notebook = SharedNotebook(backend, room, info, doc if doc is not None else Doc(), in_doc_thread, outputs)
    try:
        await notebook.attach(base)
    except BaseException:
        notebook.detach()
        raise
    return notebook


async def fetch_output(backend: DocBackend, room: str, notebook: str, output_id: str) -> dict[str, Any]:
    """An omitted output from the room's table (the row policies decide who may read it)."""
    found = (
        await backend.rest(OUTPUTS_TABLE)
        .select("output")
        .eq("room", room)
        .eq("notebook", notebook)
        .eq("id", output_id)
        .execute()
    )
    if not found.data:
        raise LookupError(f"no output {output_id!r} of notebook {notebook!r} in room {room!r}")
    return dict(found.data[0]["output"])
