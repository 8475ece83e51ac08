"""``nbrealtime.connect(room, user)`` and the :class:`Room` it returns: messages, presence, notifications.

Everything network-facing runs on the background loop; the public methods are synchronous wrappers (for notebook
cells) with ``a``-prefixed coroutine twins for code that already runs in an event loop.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import getpass
import json
import logging
import os
import queue
import re
import threading
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from nbrealtime.client.backend import Backend, resolve_backend
from nbrealtime.client.connection import ChannelSpec, NotConnected, PostgresBinding, SupervisedChannel, envelope
from nbrealtime.client.identity import IdentityStore
from nbrealtime.client.loop import BackgroundLoop, background_loop
from nbrealtime.client.session import AuthSession
from nbrealtime.client.state import ConnectionState
from nbrealtime.discovery import default_data_dir
from nbrealtime.features.access import Access, AccessDenied, Invite, InviteInfo, parse_invite
from nbrealtime.features.callbacks import CallbackList
from nbrealtime.features.live_table import LiveTable
from nbrealtime.features.members import Member, color_for
from nbrealtime.features.notifications import BACKLOG, KINDS, Notifications
from nbrealtime.features.presence import ACTIVITY_EVENT, Presence
from nbrealtime.features.shared_cell import CELL_EVENT, CURSOR_EVENT, SYNC_EVENT, SharedCell
from nbrealtime.features.shared_notebook import (
    DEFAULT_OUTPUTS,
    NOTEBOOK_EVENTS,
    NotebookInfo,
    Outputs,
    SharedNotebook,
    fetch_output,
    list_notebooks,
    open_notebook,
    read_notebook_file,
    share_notebook,
)
from nbrealtime.features.synced_doc import DocThread
from nbrealtime.features.table_backend import META, RowBackend, collection_backend, table_backend
from nbrealtime.features.view import HasView
from nbrealtime.schema import CELLS_CHANNEL, ROOM_CHANNEL, ROOM_INVITES_TABLE, ROOMS_TABLE

__all__ = ["Room", "aconnect", "connect", "user_name"]

log = logging.getLogger("nbrealtime.room")

T = TypeVar("T")
ROOM_NAME = re.compile(r"^[\w.-]{1,64}$")
INTERNAL_PREFIX = "nbrt:"
LAST_SEEN_EVERY = 60.0
MessageCallback = Callable[[Any, Member], None]
CELL_EVENTS = (CELL_EVENT, SYNC_EVENT, CURSOR_EVENT)

_open_rooms: dict[tuple[str, str, str], Room] = {}
_open_rooms_lock = threading.Lock()


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Room(HasView):
    """A room you are in. Create it with :func:`connect`."""

    def __init__(self, loop: BackgroundLoop, backend: Backend, name: str, auth: AuthSession, me: Member,
                 *, idle_after: float) -> None:  # fmt: skip
        self._loop = loop
        self.backend = backend
        self.name = name
        self._auth = auth
        self.me = me
        self.presence = Presence(loop, me, idle_after=idle_after)
        self.notifications = Notifications(
            loop, name, me.id, self._member_name, self._update_notification, on_pending=self.pending_changed
        )
        self.presence.room_object = self.notifications.room_object = self
        self._handlers: dict[str, CallbackList[Any]] = {}
        self._cells: dict[str, SharedCell] = {}
        self._notebooks: dict[str, SharedNotebook] = {}
        self._tables: dict[tuple[str, str], LiveTable] = {}
        self._on_status: CallbackList[str] = CallbackList("status")
        self._on_pending: CallbackList[int] = CallbackList("pending")
        self._channel: SupervisedChannel | None = None
        self._cells_channel: SupervisedChannel | None = None
        self.access = Access(self)
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_seen_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        here = sum(member.status != "offline" for member in self.presence.members)
        return f"<Room {self.name!r} as {self.me.name}: {self.status}, {here} here>"

    # ------------------------------------------------------------------ state

    @property
    def status(self) -> str:
        """connecting / connected / reconnecting / offline / token-expired / closed."""
        if self._closed or self._channel is None:
            return ConnectionState.CLOSED.value if self._closed else ConnectionState.CONNECTING.value
        return self._channel.state.value

    def panel(self) -> Any:
        """A widget with the room at a glance: sync state, presence badges, notifications."""
        return self._display_()

    def share(self) -> Any:
        """The share view: invites with copy buttons and members with their roles (owners may change them)."""
        from nbrealtime.widgets.share import ShareWidget  # like panel(): the view is reached for, never imported

        return ShareWidget(self)

    @property
    def pending_writes(self) -> int:
        """Writes made here that the backend has not confirmed yet (notifications, cells, live tables)."""
        return (
            self.notifications.pending_count
            + sum(cell.pending_count for cell in self._cells.values())
            + sum(notebook.pending_count for notebook in self._notebooks.values())
            + sum(table.pending_count for table in self._tables.values())
        )

    def on_pending(self, callback: Callable[[int], None]) -> Callable[[int], None]:
        """Call ``callback(pending_writes)`` when that number changes."""
        return self._on_pending.add(callback)

    def pending_changed(self) -> None:
        self._on_pending.fire(self.pending_writes)

    def on_status(self, callback: Callable[[str], None]) -> Callable[[str], None]:
        """Call ``callback(status)`` on every change of :attr:`status` (connected, reconnecting, offline, …)."""
        return self._on_status.add(callback)

    @property
    def user(self) -> Member:
        return self.me

    @property
    def members(self) -> list[Member]:
        return self.presence.members

    # ------------------------------------------------------------------ access (features/access.py)

    @property
    def role(self) -> str | None:
        """Your role here: owner, editor or viewer (None once you were removed)."""
        return self.access.role

    def on_role(self, callback: Callable[[str | None], None]) -> Callable[[str | None], None]:
        """Call ``callback(role)`` when an owner changes your role (``None``: you were removed from the room)."""
        return self.access.on_role(callback)

    def invite(self, role: str = "editor", *, expires: float | timedelta | None = None, uses: int | None = None
               ) -> Invite:  # fmt: skip
        """Owners: a new invite (``str(invite)`` is what to send), valid for ``expires`` seconds and ``uses`` joins."""
        return self._run(self.access.invite(role, expires, uses), 15)

    def invites(self) -> list[InviteInfo]:
        """Owners: every invite of this room, usable or not."""
        return self._run(self.access.invites(), 15)

    def revoke(self, invite: str | Invite | InviteInfo) -> None:
        """Owners: make an invite unusable (by the invite or its id)."""
        self._run(self.access.revoke(invite), 15)

    def settings(self, *, open_to: str | None = None, role: str | None = None) -> dict[str, str]:
        """Who may join without an invite: ``open_to="signed_in"`` lets anyone signed in join as ``role``;
        ``"invited"`` (the default) closes the room again. Without arguments, the current settings."""
        return self._run(self.access.settings(open_to, role), 15)

    def set_role(self, member: str, role: str) -> None:
        """Owners: make a member (by name or id) owner, editor or viewer; it applies to their kernel at once."""
        self._run(self.access.set_role(member, role), 15)

    def remove(self, member: str) -> None:
        """Owners: remove a member (by name or id): the server closes their channels and refuses their writes."""
        self._run(self.access.remove(member), 15)

    # coroutine twins of the above, for code that already runs in an event loop (the Jupyter server extension)

    async def ainvite(self, role: str = "editor", *, expires: float | timedelta | None = None,
                      uses: int | None = None) -> Invite:  # fmt: skip
        return await self._loop.bridge(self.access.invite(role, expires, uses))

    async def ainvites(self) -> list[InviteInfo]:
        return await self._loop.bridge(self.access.invites())

    async def arevoke(self, invite: str | Invite | InviteInfo) -> None:
        await self._loop.bridge(self.access.revoke(invite))

    async def asettings(self, *, open_to: str | None = None, role: str | None = None) -> dict[str, str]:
        return await self._loop.bridge(self.access.settings(open_to, role))

    async def aset_role(self, member: str, role: str) -> None:
        await self._loop.bridge(self.access.set_role(member, role))

    async def aremove(self, member: str) -> None:
        await self._loop.bridge(self.access.remove(member))

    def member_id(self, who: str) -> str:
        """The user id of a member given by id or (case-insensitive) name."""
        recipients = self._recipients(who)
        if len(recipients) > 1:
            raise ValueError(f"{len(recipients)} members of room {self.name!r} are named {who!r}: use their id")
        return recipients[0]

    async def rpc(self, function: str, args: dict[str, Any]) -> Any:
        """Call a database function of the backend (PostgREST's ``/rpc``)."""
        return (await self._auth.client.rpc(function, args).execute()).data

    def edit_refusal(self) -> str | None:
        return self.access.refusal("room_editor", "edit shared cells")

    # ------------------------------------------------------------------ messages

    def on(self, event: str, callback: MessageCallback | None = None) -> Any:
        """Call ``callback(payload, sender)`` for ``event`` ("*" for all); usable as ``@room.on("event")``."""
        _check_event(event, allow_wildcard=True)

        def register(function: MessageCallback) -> MessageCallback:
            self._handlers.setdefault(event, CallbackList(f"message {event!r}")).add(function)
            return function

        return register(callback) if callback is not None else register

    def wait_for(self, event: str, *, timeout: float = 30.0) -> tuple[Any, Member]:
        """Block until the next ``event`` message arrives; return ``(payload, sender)`` (handy in scripts/demos)."""
        return self.request(None, None, reply=event, timeout=timeout)

    def request(
        self, event: str | None, payload: Any = None, *, reply: str, timeout: float = 30.0
    ) -> tuple[Any, Member]:
        """Send ``event`` and wait for the first ``reply`` message (listening starts before sending, so a quick
        answer is never missed); return ``(payload, sender)``."""
        arrived: queue.Queue[tuple[Any, Member]] = queue.Queue()
        handler = self.on(reply, lambda data, sender: arrived.put((data, sender)))
        try:
            if event is not None:
                self.send(event, payload, timeout=timeout)
            return arrived.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no {reply!r} message within {timeout} s") from None
        finally:
            self._handlers[reply].remove(handler)

    def send(self, event: str, payload: Any = None, *, timeout: float = 10.0) -> None:
        """Broadcast ``payload`` (any JSON value) to everyone else in the room; returns once the server acked."""
        self._run(self._send(event, payload, timeout), timeout + 1)

    async def asend(self, event: str, payload: Any = None, *, timeout: float = 10.0) -> None:
        await self._loop.bridge(self._send(event, payload, timeout))

    async def _send(self, event: str, payload: Any, timeout: float) -> None:
        _check_event(event)
        try:
            json.dumps(payload)
        except (TypeError, ValueError) as error:
            raise TypeError(f"payload must be JSON-serialisable: {error}") from None
        self.presence.touch()
        await self._require_channel().send(event, envelope(self.me.id, payload), timeout)

    # ------------------------------------------------------------------ notifications

    def notify(self, to: str, title: str, message: str = "", *, kind: str = "info",
               notebook: str | SharedNotebook | None = None, cell: str | None = None) -> list[str]:  # fmt: skip
        """Notify a member (by name or user id) or everyone else in the room (``to="room"``); returns row ids.

        ``notebook`` (a room notebook, its id or name) and ``cell`` (a cell id) say what it is about: JupyterLab
        offers to go there."""
        return self._run(self._notify(to, title, message, kind, notebook, cell), 15)

    async def anotify(self, to: str, title: str, message: str = "", *, kind: str = "info",
                      notebook: str | SharedNotebook | None = None, cell: str | None = None) -> list[str]:  # fmt: skip
        return await self._loop.bridge(self._notify(to, title, message, kind, notebook, cell))

    async def _notify(self, to: str, title: str, message: str, kind: str, notebook: str | SharedNotebook | None,
                      cell: str | None) -> list[str]:  # fmt: skip
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if not isinstance(title, str) or not title.strip():
            raise ValueError("a notification needs a title")
        if cell is not None and (not isinstance(cell, str) or not cell):
            raise ValueError("cell is the id of a cell (a non-empty string)")
        recipients = self._recipients(to)
        about = {"notebook": await self._notebook_id(notebook) if notebook is not None else None, "cell": cell}
        rows = [
            {"id": str(uuid.uuid4()), "room": self.name, "recipient": recipient, "sender": self.me.id,
             "title": title, "message": message, "kind": kind, **about}
            for recipient in recipients
        ]  # fmt: skip
        if rows:
            await self._auth.client.table("nbrt_notifications").insert(rows, returning="minimal").execute()
        self.presence.touch()
        return [row["id"] for row in rows]

    async def _notebook_id(self, notebook: str | SharedNotebook) -> str:
        """The id of a room notebook given as itself, its id or its name (ValueError if the room has none such)."""
        if isinstance(notebook, SharedNotebook):
            return notebook.id
        infos = await list_notebooks(self, self.name)
        for info in infos:
            if notebook in (info.id, info.name):
                return info.id
        known = ", ".join(info.name for info in infos) or "none yet"
        raise ValueError(f"no notebook {notebook!r} in room {self.name!r} (its notebooks: {known})")

    def _recipients(self, to: str) -> list[str]:
        members = self.presence.members
        if to == "room":
            return [member.id for member in members if member.id != self.me.id]
        for member in members:
            if member.id == to:
                return [member.id]
        named = [member.id for member in members if member.name.casefold() == to.casefold()]
        if not named:
            known = ", ".join(sorted({member.name for member in members})) or "nobody yet"
            raise ValueError(f"no member named {to!r} in room {self.name!r} (known: {known})")
        return named

    # ------------------------------------------------------------------ shared cells

    def cell(self, name: str, *, language: str = "python") -> SharedCell:
        """The shared cell ``name`` of this room (created on first use), with everything typed in it so far."""
        if not isinstance(name, str) or not ROOM_NAME.match(name):
            raise ValueError("a cell name is 1 to 64 letters, digits, '_', '-' or '.'")
        existing = self._cells.get(name)
        if existing is not None:
            return existing
        return self._run(self._open_cell(name, language), 60)

    async def _open_cell(self, name: str, language: str) -> SharedCell:
        await self._ensure_documents_channel()
        cell = self._cells.get(name)
        if cell is None:
            cell = SharedCell(self, self.name, name, language)
            await cell.load()
            self._cells[name] = cell
            cell.request_sync()
        return cell

    # ------------------------------------------------------------------ shared notebooks

    def share_notebook(self, path: str | Path | dict[str, Any], *, name: str | None = None,
                       output_limit: int | str | None = None) -> SharedNotebook:  # fmt: skip
        """Put the notebook file at ``path`` (or nbformat JSON, with a ``name``) in the room, under its file name or
        ``name``; returns the room's copy, which others open with ``room.notebook(name)``. Outputs above
        ``output_limit`` (bytes, or "1MB"; default ``$NBREALTIME_OUTPUT_LIMIT`` or 1 MB) are stored aside and
        shared as placeholders."""
        if isinstance(path, dict):
            if name is None:
                raise ValueError("sharing nbformat JSON needs a name= for the room's notebook")
            content = path
        else:
            content = read_notebook_file(path)
        outputs = Outputs(output_limit)
        return self._run(self.ashare_notebook(content, name or Path(path).name, outputs=outputs), 60)

    async def ashare_notebook(self, content: dict[str, Any] | Any, name: str, *,
                              in_doc_thread: DocThread | None = None,
                              outputs: Outputs = DEFAULT_OUTPUTS) -> SharedNotebook:  # fmt: skip
        """Share nbformat JSON or a live document (whose history becomes the room's) as ``name``."""
        await self._loop.bridge(self._ensure_documents_channel())
        notebook = await self._loop.bridge(share_notebook(self, self.name, name, content, in_doc_thread, outputs))
        notebook.may_edit = self.may_edit
        self._notebooks[notebook.id] = notebook
        return notebook

    @property
    def notebooks(self) -> list[NotebookInfo]:
        """The notebooks shared in this room, oldest first."""
        return self._run(list_notebooks(self, self.name), 30)

    async def alist_notebooks(self) -> list[NotebookInfo]:
        return await self._loop.bridge(list_notebooks(self, self.name))

    def notebook(self, ref: str, *, doc: Any = None, base: bytes | None = None,
                 output_limit: int | str | None = None) -> SharedNotebook:  # fmt: skip
        """Open the room's notebook ``ref`` (id or name), live: a fresh document, or ``doc`` with content of its
        own (merged only if it continues ``base``, the state it last synced; else :class:`Diverged`). Outputs
        that appear in this copy above ``output_limit`` are shared as placeholders (as in :meth:`share_notebook`)."""
        return self._run(self.aopen_notebook(ref, doc=doc, base=base, outputs=Outputs(output_limit)), 60)

    async def aopen_notebook(self, ref: str, *, doc: Any = None, base: bytes | None = None,
                             in_doc_thread: DocThread | None = None,
                             outputs: Outputs = DEFAULT_OUTPUTS) -> SharedNotebook:  # fmt: skip
        await self._loop.bridge(self._ensure_documents_channel())
        notebook = await self._loop.bridge(
            open_notebook(self, self.name, ref, doc, base=base, in_doc_thread=in_doc_thread, outputs=outputs)
        )
        notebook.may_edit = self.may_edit
        previous = self._notebooks.pop(notebook.id, None)
        if previous is not None and previous is not notebook:
            previous.detach()
        self._notebooks[notebook.id] = notebook
        return notebook

    async def anotebook_output(self, notebook: str, output_id: str) -> dict[str, Any]:
        """An output kept out of notebook ``notebook`` (its id) because of its size, from the room."""
        return await self._loop.bridge(fetch_output(self, self.name, notebook, output_id))

    def close_notebook(self, notebook: SharedNotebook) -> None:
        """Stop syncing ``notebook`` here (what is unsaved is saved first); the copy stays as it is."""
        self._run(self.aclose_notebook(notebook), 15)

    async def aclose_notebook(self, notebook: SharedNotebook) -> None:
        if self._notebooks.get(notebook.id) is notebook:
            del self._notebooks[notebook.id]
            with contextlib.suppress(Exception):
                await self._loop.bridge(notebook.flush())
        notebook.detach()

    # ------------------------------------------------------------------ live tables

    def collection(self, name: str, *, conflict: Any = "lww") -> LiveTable:
        """Shared rows scoped to this room that need no SQL and no schema (stored in nbrealtime's own table)."""
        if not isinstance(name, str) or not ROOM_NAME.match(name):
            raise ValueError("a collection name is 1 to 64 letters, digits, '_', '-' or '.'")
        backend = collection_backend(self._auth.client, self.name, name)
        return self._open_table("collection", name, backend, conflict, {}, f"room=eq.{self.name}")

    def table(
        self,
        name: str,
        *,
        filter: str | None = None,
        key: str = "id",
        conflict: Any = "lww",
        versioned: bool | None = None,
    ) -> LiveTable:
        """Watch a table the backend already has (``filter`` like ``"owner=eq.<id>"``, one condition).

        With ``version``, ``hlc`` and ``write_id`` columns (``versioned``; detected from the rows when None) stale
        writes are detected and resolved by ``conflict``; without them the last write to arrive wins.
        """
        filters: dict[str, str] = {}
        if filter:
            column, separator, condition = filter.partition("=")
            if not separator or "." not in condition:
                raise ValueError(f"filter {filter!r} is not of the form column=operator.value")
            filters[column] = condition
        if versioned is None:
            versioned = self._run(self._has_version_columns(name), 30)
        backend = table_backend(self._auth.client, name, key, versioned=versioned)
        return self._open_table("table", name, backend, conflict, filters, filter)

    async def _has_version_columns(self, name: str) -> bool:
        sample = await self._auth.client.table(name).select("*").limit(1).execute()
        return bool(sample.data) and all(column in sample.data[0] for column in META)

    def _open_table(self, kind: str, name: str, backend: RowBackend, conflict: Any, filters: dict[str, str],
                    realtime_filter: str | None) -> LiveTable:  # fmt: skip
        existing = self._tables.get((kind, name))
        if existing is not None:
            return existing
        data_dir = self.backend.data_dir or default_data_dir()
        outbox = data_dir / "outbox" / IdentityStore.backend_folder(self.backend.url) / self.me.id

        def read_only() -> str | None:  # a room's collection follows the room's roles; a table, its own policies
            return self.access.refusal("room_editor", f"change collection {name!r}") if kind == "collection" else None

        live = LiveTable(self, name, backend, conflict=conflict, filters=filters,
                         outbox_path=outbox / f"{self.name}--{kind}--{name}.sqlite3", read_only=read_only)  # fmt: skip
        self._run(live.open(f"nbrt:{self.name}:{kind}:{name}", realtime_filter), 60)
        self._tables[(kind, name)] = live
        return live

    # ------------------------------------------------------------------ the browser's own path

    def browser_link(self) -> dict[str, Any] | None:
        """What a browser view needs to reach this room's channel and tables itself, as this user (DESIGN.md §3
        "Browser link"): the backend's URL and public key, the user's current access token, the room's topic.
        None once the room is closed. Views get it as a widget trait, which is not saved in the notebook."""
        channel = self._channel
        if self._closed or channel is None:
            return None
        return {
            "url": self.backend.url,
            "key": self.backend.key,
            "token": self._auth.access_token,
            "topic": channel.spec.topic,
            "cells_topic": CELLS_CHANNEL.topic(self.name),
            "private": bool(channel.spec.config.get("private")),
            "user": self.me.id,
            "name": self.me.name,
            "color": self.me.color,
            "room": self.name,
        }

    def on_browser_link(self, callback: Callable[[dict[str, Any] | None], None]) -> Callable[[], None]:
        """Call ``callback(browser_link())`` when it changes (a refreshed token, the room closed); returns the
        function that stops it."""

        def on_status(status: str) -> None:
            if status == ConnectionState.CLOSED.value:
                callback(None)

        stop_token = self._auth.on_token(lambda _token: callback(self.browser_link()))
        self._on_status.add(on_status)

        def stop() -> None:
            stop_token()
            self._on_status.remove(on_status)

        return stop

    # DocBackend: what shared cells and notebooks use of the room

    @property
    def user_id(self) -> str:
        return self.me.id

    @property
    def user_name(self) -> str:
        return self.me.name

    def may_edit(self, user_id: str) -> bool:
        """Whether ``user_id`` may change this room's shared documents: you, unless your role forbids it; anyone
        else unless the room knows them as a viewer (the server relays only editors' document messages anyway)."""
        if user_id == self.me.id:
            return self.edit_refusal() is None
        return self._member(user_id).role != "viewer"

    def broadcast(self, event: str, payload: dict[str, Any]) -> None:
        """Fire-and-forget broadcast from any thread; what a disconnect loses, the next sync recovers."""
        self.run_soon(self._post(event, payload))

    async def _post(self, event: str, payload: dict[str, Any]) -> None:
        shared_document = event in CELL_EVENTS or event in NOTEBOOK_EVENTS
        channel = self._cells_channel if shared_document else self._channel
        if channel is not None and channel.state == ConnectionState.CONNECTED:
            with contextlib.suppress(NotConnected):
                await channel.post(event, envelope(self.me.id, payload))

    def rest(self, name: str) -> Any:
        """A query builder for one backend table (the official client's ``table()``)."""
        return self._auth.client.table(name)

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coroutine`` on the room's loop from another thread and return its result."""
        return self._run(coroutine, timeout)

    def run_soon(self, coroutine: Coroutine[Any, Any, None]) -> None:
        if self._loop.in_loop_thread():
            task = self._loop.loop.create_task(coroutine)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self._loop.submit(coroutine)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Leave the room: others see you go offline; ``last_seen`` is saved."""
        if self._closed:
            return
        if self._loop.running:
            self._run(self._close(), 15)

    async def aclose(self) -> None:
        await self._loop.bridge(self._close())

    async def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._last_seen_task is not None:
            self._last_seen_task.cancel()
        self.presence.close()
        await self.notifications.flush()
        for cell in self._cells.values():
            await cell.flush()
        for notebook in self._notebooks.values():
            await notebook.flush()
        for table in self._tables.values():
            await table.close()
        try:
            await self._touch_membership()
        except Exception as error:
            log.info("could not save last_seen on close: %s", error)
        for channel in (self._cells_channel, self._channel):
            if channel is not None:
                await channel.close()
        await self._auth.close()
        with _open_rooms_lock:
            if _open_rooms.get(self._key) is self:
                del _open_rooms[self._key]

    def reconnect(self) -> None:
        """Drop the connection and let the supervisor rejoin (what a network blip does)."""
        self._require_channel().simulate_drop()

    def wait_connected(self, timeout: float = 30.0) -> None:
        channel = self._channel
        if channel is None:
            raise RuntimeError("the room is not open")
        self._run(channel.wait_connected(timeout), timeout + 1)

    # ------------------------------------------------------------------ internals

    @property
    def _key(self) -> tuple[str, str, str]:
        return (self.backend.url, self.name, self.me.name)

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        return self._loop.run(coroutine, timeout)

    def _require_channel(self) -> SupervisedChannel:
        if self._closed and self.access.role is None and self._channel is not None:
            raise AccessDenied(f"you are no longer a member of room {self.name!r}: ask an owner for a new invite")
        if self._closed or self._channel is None:
            raise RuntimeError(f"room {self.name!r} is closed")
        return self._channel

    def _member_name(self, user_id: str) -> str:
        return self._member(user_id).name

    def _member(self, user_id: str) -> Member:
        for member in self.presence.members:
            if member.id == user_id:
                return member
        return Member(user_id, "someone", color_for(user_id))

    async def _update_notification(self, notification_id: str, changes: dict[str, Any]) -> None:
        await self._auth.client.table("nbrt_notifications").update(changes).eq("id", notification_id).execute()

    def _dispatch(self, message: dict[str, Any]) -> None:
        """A broadcast arrived on the room channel (on the background loop)."""
        unpacked = _unpack(message)
        if unpacked is None:
            return
        event, sender, data = unpacked
        if event == ACTIVITY_EVENT:
            if isinstance(data, dict):
                self.presence.on_activity(sender, data)
            return
        if event.startswith(INTERNAL_PREFIX):  # cell edits here are not ours to apply: see _dispatch_cells
            return
        member = self._member(sender)
        for key in (event, "*"):
            handlers = self._handlers.get(key)
            if handlers is not None:
                handlers.fire(data, member)

    def _dispatch_cells(self, message: dict[str, Any]) -> None:
        """A broadcast arrived on the shared documents' channel, where the server relays editors' and owners'
        messages alone: shared cells and shared notebooks."""
        unpacked = _unpack(message)
        if unpacked is None or not isinstance(unpacked[2], dict):
            return
        event, sender, data = unpacked
        if event in CELL_EVENTS:
            cell = self._cells.get(data.get("cell"))
            if cell is not None:
                cell.on_remote(event, data, sender)
        elif event in NOTEBOOK_EVENTS:
            notebook = self._notebooks.get(data.get("notebook"))
            if notebook is not None:
                notebook.on_remote(event, data, sender)

    def _set_own_role(self, role: str | None) -> None:
        """Your role as the backend says. Removed: every notebook copy here stops syncing before anyone hears of
        it (it stays as it is). A demotion needs nothing more: ``may_edit`` asks the role each time, so a viewer's
        copy is read-only from now on."""
        if role is None:
            for notebook in list(self._notebooks.values()):
                notebook.stop(f"you were removed from room {self.name!r}")
        self.access.set_own_role(role)

    def _on_member_change(self, payload: dict[str, Any]) -> None:
        data = payload.get("data", {})
        record = data.get("record")
        if record:
            self.presence.on_member_row(record)
            if str(record.get("user_id")) == self.me.id:
                self._set_own_role(record.get("role"))
        elif data.get("type") == "DELETE":
            old = data.get("old_record") or {}
            self.presence.on_member_removed(str(old.get("user_id")))
            if str(old.get("user_id")) == self.me.id:
                self._set_own_role(None)
                self.run_soon(self._close())  # removed (or left elsewhere): the server has shut our channels

    async def _ensure_rows(self, invite: str | None) -> None:
        me = self.me
        await (
            self._auth.client.table("nbrt_profiles").upsert({"id": me.id, "name": me.name, "color": me.color}).execute()
        )
        await self.access.join(invite, me.name, me.color)

    async def _touch_membership(self) -> None:
        if self.access.role is None:
            return
        me = self.me
        row = {"name": me.name, "color": me.color, "last_seen": _now()}
        await (
            self._auth.client.table("nbrt_room_members")
            .update(row)
            .eq("room", self.name)
            .eq("user_id", me.id)
            .execute()
        )

    async def _catch_up(self) -> None:
        """After every (re)subscribe: members and notifications that changed while we were away."""
        client = self._auth.client
        members = await client.table("nbrt_room_members").select("*").eq("room", self.name).execute()
        for row in members.data:
            self.presence.on_member_row(row)
        mine = [row for row in members.data if str(row["user_id"]) == self.me.id]
        self._set_own_role(mine[0]["role"] if mine else None)
        notifications = (
            await client.table("nbrt_notifications")
            .select("*")
            .eq("recipient", self.me.id)
            .eq("room", self.name)
            .order("created_at", desc=True)
            .limit(BACKLOG)
            .execute()
        )
        first_load = self._last_seen_task is None
        self.notifications.load(notifications.data, live=not first_load)

    async def _on_subscribed(self) -> None:
        await self.presence.on_subscribed()
        await self._catch_up()
        if self._last_seen_task is None:
            self._last_seen_task = asyncio.create_task(self._keep_last_seen())

    async def _on_settled(self) -> None:
        """Hosted Supabase may have dropped change events right after SUBSCRIBED: read again what they carry."""
        await self._catch_up()
        for document in [*self._cells.values(), *self._notebooks.values()]:
            await document.catch_up()

    async def _keep_last_seen(self) -> None:
        while True:
            await asyncio.sleep(LAST_SEEN_EVERY)
            try:
                await self._touch_membership()
            except Exception as error:
                log.info("could not update last_seen: %s", error)

    async def _open(self, invite: str | None) -> None:
        await self._ensure_rows(invite)
        spec = ChannelSpec(
            topic=ROOM_CHANNEL.topic(self.name),
            config={
                "broadcast": {"ack": True, "self": False},
                "presence": {"key": self.me.id, "enabled": True},
                "private": True,
            },
            on_broadcast=self._dispatch,
            on_presence=self.presence.on_presence_state,
            postgres=[
                PostgresBinding(
                    "*", "nbrt_notifications", self.notifications.on_row_change, f"recipient=eq.{self.me.id}"
                ),
                PostgresBinding("*", "nbrt_room_members", self._on_member_change, f"room=eq.{self.name}"),
                # settings and invites (owners alone receive the latter): for views that show them live
                PostgresBinding("*", ROOMS_TABLE, self.access.on_row_change, f"name=eq.{self.name}"),
                PostgresBinding("*", ROOM_INVITES_TABLE, self.access.on_row_change, f"room=eq.{self.name}"),
            ],
        )
        channel = SupervisedChannel(
            f"{self.backend.url}/realtime/v1",
            self.backend.key,
            self._auth,
            spec,
            on_state=lambda state: self._on_status.fire(state.value),
            on_subscribed=self._on_subscribed,
            on_settled=self._on_settled,
        )
        self._channel = channel
        self.presence.attach(channel)
        await channel.start()

    async def _ensure_documents_channel(self) -> None:
        if self._cells_channel is None:
            await self._open_cells_channel()

    async def _open_cells_channel(self) -> None:
        """Shared-cell edits have their own private channel: members hear them, only editors' are relayed."""
        spec = ChannelSpec(
            topic=CELLS_CHANNEL.topic(self.name),
            config={"broadcast": {"ack": False, "self": False}, "presence": {"enabled": False}, "private": True},
            on_broadcast=self._dispatch_cells,
        )
        channel = SupervisedChannel(
            f"{self.backend.url}/realtime/v1", self.backend.key, self._auth, spec, on_subscribed=self._cells_subscribed
        )
        self._cells_channel = channel
        await channel.start()

    async def _cells_subscribed(self) -> None:
        """(Re)joined the shared documents' channel: catch up from the log and exchange state vectors."""
        for cell in list(self._cells.values()):
            await cell.resubscribed()
        for notebook in list(self._notebooks.values()):
            await notebook.resubscribed()


def find_open_room(name: str, *, role: str | None = None) -> Room | None:
    """A room of that name open in this process (in ``role``, if given): what demo helpers invite from."""
    with _open_rooms_lock:
        rooms = list(_open_rooms.values())
    return next((room for room in rooms if room.name == name and role in (None, room.role)), None)


@atexit.register
def _close_open_rooms() -> None:
    """Leave rooms at interpreter exit so others see us go (runs before the background loop stops)."""
    with _open_rooms_lock:
        rooms = list(_open_rooms.values())
    for room in rooms:
        with contextlib.suppress(Exception):
            room.close()


def _unpack(message: dict[str, Any]) -> tuple[str, str, Any] | None:
    """``(event, sender, data)`` of an nbrealtime broadcast, or None for anything else."""
    event = message.get("event")
    envelope = message.get("payload")
    if not isinstance(event, str) or not isinstance(envelope, dict) or "sender" not in envelope:
        return None
    return event, str(envelope["sender"]), envelope.get("data")


def _check_event(event: str, *, allow_wildcard: bool = False) -> None:
    if not isinstance(event, str) or not event:
        raise ValueError("an event name is a non-empty string")
    if event.startswith(INTERNAL_PREFIX):
        raise ValueError(f"event names starting with {INTERNAL_PREFIX!r} are reserved for nbrealtime")
    if event == "*" and not allow_wildcard:
        raise ValueError('"*" only listens to every event; send a named one')


def user_name(user: str | None) -> str:
    """Who connects: ``user``, else ``$NBREALTIME_USER``, else the login name (the Jupyter server extension too)."""
    name = user or os.environ.get("NBREALTIME_USER") or getpass.getuser()
    name = name.strip()
    if not name or len(name) > 64:
        raise ValueError("a user name is 1 to 64 characters")
    return name


async def _open_room(
    loop: BackgroundLoop, backend: Backend, room: str, name: str, idle_after: float, invite: str | None
) -> Room:
    store = IdentityStore(backend.data_dir or default_data_dir(), backend.url, name)
    auth = await AuthSession.open(backend.url, backend.key, store, name)
    me = Member(auth.user_id, name, color_for(auth.user_id), status="online")
    opened = Room(loop, backend, room, auth, me, idle_after=idle_after)
    try:
        await opened._open(invite)
    except BaseException:
        await opened._close()
        raise
    return opened


def connect(
    room: str | None = None,
    user: str | None = None,
    *,
    invite: str | Invite | None = None,
    url: str | None = None,
    key: str | None = None,
    idle_after: float = 300.0,
    timeout: float = 60.0,
) -> Room:
    """Join ``room`` as ``user`` (default: ``$NBREALTIME_USER`` or your login name).

    A room that does not exist yet is created with you as its owner; joining someone else's room needs an ``invite``
    (the text their ``room.invite()`` shows, which names the room: ``connect(invite=...)`` is enough) unless they
    opened it with ``room.settings(open_to="signed_in")``. A refusal raises :class:`AccessDenied` saying what to
    ask the owner for.

    The backend is ``url``/``key``, else ``SUPABASE_URL``/``SUPABASE_ANON_KEY``, else the embedded server (started
    if none is running). Re-running this in the same kernel replaces the earlier connection of the same user.
    """
    token = None
    if invite is not None:
        invited_to, token = parse_invite(str(invite))
        if room is not None and room != invited_to:
            raise ValueError(f"this invite is for room {invited_to!r}, not {room!r}")
        room = invited_to
    if not isinstance(room, str) or not ROOM_NAME.match(room):
        raise ValueError("a room name is 1 to 64 letters, digits, '_', '-' or '.'")
    name = user_name(user)
    backend = resolve_backend(url, key)
    loop = background_loop()
    with _open_rooms_lock:
        previous = _open_rooms.pop((backend.url, room, name), None)
    if previous is not None:
        previous.close()
    opened = loop.run(_open_room(loop, backend, room, name, idle_after, token), timeout)
    with _open_rooms_lock:
        _open_rooms[opened._key] = opened
    return opened


async def aconnect(room: str, user: str | None = None, **options: Any) -> Room:
    """:func:`connect` for code already running in an event loop."""
    return await asyncio.to_thread(connect, room, user, **options)
