"""The bridge between this Jupyter server's live notebooks (jupyter-server-ydoc) and rooms.

The server extension is one more room member (signed in as the Jupyter server's user). Sharing hands the live
document's history to the room; opening writes the room's notebook to disk *and* into jupyter-server-ydoc's update
store before the document is loaded, so the live document starts with the room's history instead of a reload from
the file (whose client-id-0 history would clash with the room's: notebook_model explains why). A file in the way is
kept aside as ``<name> (local copy).ipynb``, never merged in (docs/shared-notebooks.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_server.utils import ensure_async
from jupyter_server_ydoc.utils import JUPYTER_COLLABORATION_EVENTS_URI
from jupyter_ydoc import YNotebook
from pycrdt import Doc
from pycrdt.store import YDocNotFound

from nbrealtime.features.access import AccessDenied
from nbrealtime.features.room import Room
from nbrealtime.features.shared_notebook import Diverged, NotebookInfo, Outputs, SharedNotebook, find_notebook
from nbrealtime.features.synced_doc import b64, unb64
from nbrealtime.jupyter import BRIDGE_SETTING, LINKS_FILE
from nbrealtime.jupyter.identity import NbRealtime, server_id
from nbrealtime.jupyter.rooms import rooms_for

__all__ = ["NotebookBridge", "bridge_for"]

log = logging.getLogger("nbrealtime.jupyter")

_creating = asyncio.Lock()


async def bridge_for(serverapp: Any) -> NotebookBridge:
    """This Jupyter server's one bridge (made on first use, on the server's loop)."""
    settings = serverapp.web_app.settings
    async with _creating:
        if settings.get(BRIDGE_SETTING) is None:
            settings[BRIDGE_SETTING] = NotebookBridge(serverapp)
    return settings[BRIDGE_SETTING]


@dataclass
class Link:
    """A file on this server that is a room's notebook, and the state it last had (proof of shared history)."""

    room: str
    id: str
    path: str
    base: str  # base64 state vector


class NotebookBridge:
    """Shares, lists and opens room notebooks for one Jupyter server; keeps the opened ones live."""

    def __init__(self, serverapp: Any) -> None:
        self._app = serverapp
        self._ydoc = serverapp.web_app.settings["jupyter_server_ydoc"]
        self._contents = serverapp.contents_manager
        self._root = Path(serverapp.root_dir)
        self._loop = asyncio.get_running_loop()
        self._rooms = rooms_for(serverapp)  # shared with the lab API: one connection per room
        self._open: dict[tuple[str, str], SharedNotebook] = {}
        self._links_path = self._root / LINKS_FILE
        self._links = self._read_links()
        self._links_lock = threading.Lock()
        self._opening: dict[str, asyncio.Lock] = {}  # per room: two opens of one notebook at once would both write it
        self._outputs = Outputs(NbRealtime(parent=serverapp).output_limit, server_id(serverapp))
        serverapp.event_logger.add_listener(schema_id=JUPYTER_COLLABORATION_EVENTS_URI, listener=self.on_document_event)

    # ------------------------------------------------------------------ API

    async def list(self, room: str) -> list[dict[str, Any]]:
        """The room's notebooks; once this user was removed from it, the copies this server still has (stopped)."""
        try:
            infos = await (await self._room(room)).alist_notebooks()
        except AccessDenied:
            infos = [notebook.info for (name, _), notebook in self._open.items() if name == room]
            if not infos:
                raise
        return [self._describe(room, info) for info in infos]

    async def share(self, room: str, path: str) -> dict[str, Any]:
        """Put the notebook at ``path`` (relative to the server root) in ``room``; this copy stays live."""
        if not await ensure_async(self._contents.file_exists(path)):
            raise FileNotFoundError(f"no notebook {path!r} on this server")
        live = await self._live(path)
        notebook = await (await self._room(room)).ashare_notebook(
            live, Path(path).name, in_doc_thread=self._in_doc_thread, outputs=self._outputs
        )
        self._keep(room, notebook, path)
        return self._describe(room, notebook.info)

    async def open(self, room: str, ref: str) -> dict[str, Any]:
        """Make the room's notebook ``ref`` (id or name) a live file on this server; return where it is. Opens in one
        room take turns: a second open of a notebook finds it open (a follower's click and a restore at once)."""
        async with self._opening.setdefault(room, asyncio.Lock()):
            return await self._open_notebook(room, ref)

    async def _open_notebook(self, room: str, ref: str) -> dict[str, Any]:
        joined = await self._room(room)
        info = find_notebook(await joined.alist_notebooks(), ref, room)
        key = (room, info.id)
        link = self._links.get(key)
        bridged = self._open.get(key)
        if bridged is not None and link is not None:
            if bridged.stopped is None and await self._live(link.path) is bridged.ynotebook:
                return {**self._describe(room, info), "kept_aside": None}
            # jupyter-server-ydoc let the document go and loaded it again, or this user was let back in: re-attach
            del self._open[key]
            await joined.aclose_notebook(bridged)
        replica = await joined.aopen_notebook(info.id)  # the room's document, in memory
        await joined.aclose_notebook(replica)
        path = link.path if link is not None else replica.name
        kept_aside = None
        if await ensure_async(self._contents.file_exists(path)):
            if link is not None:
                await self._settle_file(path)
                try:
                    notebook = await self._attach(joined, replica.id, path, unb64(link.base))
                except Diverged:
                    pass
                else:
                    self._keep(room, notebook, path)
                    return {**self._describe(room, notebook.info), "kept_aside": None}
            kept_aside = await self._keep_aside(path)
        await self._materialise(path, replica)
        notebook = await self._attach(joined, replica.id, path, replica.state_vector())
        self._keep(room, notebook, path)
        return {**self._describe(room, notebook.info), "kept_aside": kept_aside}

    async def on_document_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        """jupyter-server-ydoc's room lifecycle: when it lets a room notebook's document go ("clean": its last
        browser left) or loads one afresh ("initialize"), bridge the new live document at once, so the file keeps
        syncing with nobody looking at it and nothing waits for the next ``open``."""
        if data.get("action") not in ("clean", "initialize"):
            return
        for link in list(self._links.values()):
            key = (link.room, link.id)
            if link.path == data.get("path") and key in self._open and self._open[key].stopped is None:
                try:
                    await self.open(link.room, link.id)
                except Exception as error:
                    log.warning("nbrealtime: could not re-attach %s of room %s: %s", link.path, link.room, error)

    async def output(self, room: str, notebook_id: str, output_id: str) -> dict[str, Any]:
        """An output kept out of a room notebook for its size: at once if it appeared here, else from the room."""
        bridged = self._open.get((room, notebook_id))
        kept = bridged.kept_output(output_id) if bridged is not None else None
        if kept is not None:
            return kept
        return await (await self._room(room)).anotebook_output(notebook_id, output_id)

    async def restore(self) -> None:
        """After a restart: bring every notebook this server had open back to life (offline edits merge; a file
        that no longer continues the room's document is kept aside)."""
        for room, notebook_id in list(self._links):
            try:
                await self.open(room, notebook_id)
            except Exception as error:
                log.warning("nbrealtime: could not reopen notebook %s of room %s: %s", notebook_id, room, error)

    def paths(self, room: str) -> dict[str, str]:
        """Where each of the room's notebooks opened here is on this server: ``{notebook id: path}``."""
        return {link.id: link.path for link in list(self._links.values()) if link.room == room}

    async def close(self) -> None:
        for (room, _), notebook in list(self._open.items()):
            joined = self._rooms.opened(room)  # a room that removed this user has closed: nothing to flush
            if joined is not None:
                await joined.aclose_notebook(notebook)
            else:
                notebook.detach()
        self._open.clear()
        await self._rooms.close()

    # ------------------------------------------------------------------ internals

    async def _room(self, name: str) -> Room:
        """The room, held for as long as this server runs (its notebooks stay live)."""
        return await self._rooms.get(name, self)

    async def _attach(self, joined: Room, notebook_id: str, path: str, base: bytes) -> SharedNotebook:
        """Bridge the live document of ``path`` to the room's notebook (see ``SharedNotebook.attach``)."""
        return await joined.aopen_notebook(
            notebook_id, doc=await self._live(path), base=base, in_doc_thread=self._in_doc_thread, outputs=self._outputs
        )

    def _in_doc_thread(self, function: Any) -> None:
        """A live document is read and changed only on the Jupyter server's own loop, inside a task (its room's
        observers start anyio tasks), in the order asked."""
        if self._in_loop():
            function()
            return

        async def run() -> None:
            function()

        asyncio.run_coroutine_threadsafe(run(), self._loop)

    def _in_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop and asyncio.current_task() is not None
        except RuntimeError:
            return False

    async def _live(self, path: str) -> Any:
        document = await self._ydoc.get_document(
            path=path, content_type="notebook", file_format="json", copy=False, create=True
        )
        if document is None:
            raise RuntimeError(f"jupyter-server-ydoc has no live document for {path!r}")
        return document

    async def _settle_file(self, path: str) -> None:
        """Before jupyter-server-ydoc loads ``path`` (a restart): a file that merely lags behind its update store — a
        server stopped mid-edit saved it up to a second before the store's last updates — is brought up to the store.
        Otherwise the load would rebuild the document from the file, a new history that no longer continues the
        room's, and the file would be kept aside for nothing. A file changed after the store's last update is someone's
        own edit: it is left as it is (and kept aside if it diverged)."""
        live = await self._ydoc.get_document(path=path, content_type="notebook", file_format="json", copy=False)
        if live is not None:
            return  # loaded already: the live document is what counts
        stored, last_update = Doc(), None
        async with self._update_store(path) as store:
            try:
                async for update, _metadata, timestamp in store.read():
                    stored.apply_update(update)
                    last_update = timestamp
            except YDocNotFound:
                return
        content = YNotebook(stored).get()
        model = await ensure_async(self._contents.get(path, content=True, type="notebook"))
        if last_update is None or model["content"] == content or model["last_modified"].timestamp() > last_update:
            return
        log.info("nbrealtime: %s was saved before its last live edits: brought up to them before reopening", path)
        await ensure_async(self._contents.save({"type": "notebook", "format": "json", "content": content}, path))

    async def _materialise(self, path: str, replica: SharedNotebook) -> None:
        """Write the room's notebook to ``path`` and its history into jupyter-server-ydoc's store for that file."""
        model = {"type": "notebook", "format": "json", "content": replica.content}
        await ensure_async(self._contents.save(model, path))
        async with self._update_store(path) as store:
            await store.write(replica.ynotebook.ydoc.get_update())

    def _update_store(self, path: str) -> Any:
        """jupyter-server-ydoc's update store of the notebook at ``path`` (named by the file's id, as it names it)."""
        file_id = self._app.web_app.settings["file_id_manager"].index(path)
        return self._ydoc.ystore_class(path=f".notebook:{file_id}.y", log=self._ydoc.log)

    async def _keep_aside(self, path: str) -> str:
        """Rename a file in the way to ``<stem> (local copy)[ n].ipynb`` (its live document, if any, follows)."""
        stem, suffix = Path(path).stem, Path(path).suffix
        parent = Path(path).parent
        for n in range(1, 1000):
            label = " (local copy)" if n == 1 else f" (local copy {n})"
            candidate = str(parent / f"{stem}{label}{suffix}")
            if not await ensure_async(self._contents.file_exists(candidate)):
                await ensure_async(self._contents.rename(path, candidate))
                log.info("nbrealtime: kept %s aside as %s (it is not the room's notebook)", path, candidate)
                return candidate
        raise RuntimeError(f"too many local copies of {path!r}")

    def _keep(self, room: str, notebook: SharedNotebook, path: str) -> None:
        self._open[(room, notebook.id)] = notebook
        if notebook.ynotebook.awareness is not None:
            notebook.share_awareness(notebook.ynotebook.awareness)
        self._links[(room, notebook.id)] = Link(room, notebook.id, path, b64(notebook.state_vector()))
        self._write_links()
        notebook.on_change(lambda _content: self._remember_base(room, notebook))

    def _remember_base(self, room: str, notebook: SharedNotebook) -> None:
        link = self._links.get((room, notebook.id))
        if link is not None:
            link.base = b64(notebook.last_state)
            self._write_links()

    def _describe(self, room: str, info: NotebookInfo) -> dict[str, Any]:
        link = self._links.get((room, info.id))
        bridged = self._open.get((room, info.id))
        return {
            "id": info.id,
            "name": info.name,
            "room": room,
            "shared_by": info.shared_by,
            "created_at": info.created_at,
            "path": link.path if link is not None else None,
            "live": bridged is not None and bridged.stopped is None,
            "read_only": bridged is not None and bridged.read_only,
            "reason": bridged.stopped if bridged is not None else None,
        }

    def _read_links(self) -> dict[tuple[str, str], Link]:
        try:
            rows = json.loads(self._links_path.read_text(encoding="utf-8"))
            return {(row["room"], row["id"]): Link(**row) for row in rows}
        except (OSError, ValueError, TypeError, KeyError):
            return {}

    def _write_links(self) -> None:
        with self._links_lock:
            rows = [dict(link.__dict__) for link in self._links.values()]
            temporary = self._links_path.with_suffix(".tmp")
            temporary.write_text(json.dumps(rows, indent=1), encoding="utf-8")
            temporary.replace(self._links_path)
