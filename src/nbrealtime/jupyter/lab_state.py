"""What the JupyterLab extension sees of nbrealtime, for one Jupyter server (docs/lab-api.md).

The server extension is a member of each room as the Jupyter server's user (the same identity as the user's kernels).
This object answers the lab API's questions (who am I, my rooms, a room's state) and carries out its actions, and it
keeps the live state of every room of this user while at least one websocket listens: changes arrive on nbrealtime's
callback thread, are handed to the server's loop, coalesced per room (at most one ``room`` frame per
:attr:`LabState.coalesce` seconds) and sent to every listener. No tornado in here: listeners are plain callables
that take a frame (a JSON-able dict).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nbrealtime.features.access import parse_invite
from nbrealtime.features.members import Member
from nbrealtime.features.room import Room
from nbrealtime.jupyter.account import Account
from nbrealtime.jupyter.lab_json import (
    NotebookRefs,
    invite_info_json,
    invite_json,
    member_json,
    notification_json,
    present_frame,
)
from nbrealtime.jupyter.rooms import ServerRooms

__all__ = ["ACTIVITIES", "Frame", "LabState"]

log = logging.getLogger("nbrealtime.jupyter")

Frame = dict[str, Any]
Listener = Callable[[Frame], None]
ACTIVITIES = ("editing", "running", "idle")
COALESCE = 0.1  # ≤ 10 room frames per second per room


@dataclass
class _Watch:
    """One room's live state, sent to the listeners."""

    room: Room
    stops: list[Callable[[], None]] = field(default_factory=list)
    dirty: set[str] = field(default_factory=set)
    timer: asyncio.TimerHandle | None = None
    last_flush: float = 0.0
    last_present: Frame | None = None
    access: Frame | None = None  # settings and invites, read when they change


class LabState:
    """One per Jupyter server: this user's rooms, their state and live changes, the lab API's actions."""

    def __init__(self, rooms: ServerRooms, paths: Callable[[str], Mapping[str, str]], *,
                 coalesce: float = COALESCE, server: str | None = None) -> None:  # fmt: skip
        self._rooms = rooms
        self._server = server  # this Jupyter server's id: the origin of the outputs it keeps out (shared notebooks)
        self._paths = paths  # room -> {notebook id: path on this server}
        self.coalesce = coalesce
        self._loop = asyncio.get_running_loop()
        self._account: Account | None = None
        self._account_lock = asyncio.Lock()
        self._listeners: list[Listener] = []
        self._watches: dict[str, _Watch] = {}
        self._watch_lock = asyncio.Lock()
        self._names: dict[str, dict[str, str]] = {}  # room -> {notebook id: name}
        self._memberships: list[dict[str, Any]] | None = None  # as last sent to the listeners
        self._watching_memberships = False
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ who and where

    async def me(self) -> dict[str, Any]:
        return {**(await self._signed_in()).me(), "server_id": self._server}

    async def rooms(self) -> list[dict[str, Any]]:
        return await (await self._signed_in()).memberships()

    async def join(self, invite: Any) -> dict[str, Any]:
        """Redeem an invite (its text as ``room.invite()`` shows it); ``{room, role}``."""
        if not isinstance(invite, str):
            raise ValueError('send {"invite": "nbrt-invite:ROOM:TOKEN"}, the invite text an owner sent you')
        name, _token = parse_invite(invite)
        holder = object()
        room = await self._rooms.get(name, holder, invite=invite.strip())
        try:
            await self._rooms_changed()
        finally:
            self._rooms.release(name, holder)
        return {"room": name, "role": room.role}

    # ------------------------------------------------------------------ one room

    async def room_state(self, name: str) -> Frame:
        async with self._using(name) as room:
            return await self._room_state(room)

    async def create_invite(self, name: str, role: Any, expires_in: Any, uses: Any) -> Frame:
        if not isinstance(role, str):
            raise ValueError('an invite needs a "role": "editor" or "viewer"')
        if expires_in is not None and (isinstance(expires_in, bool) or not isinstance(expires_in, int | float)
                                       or expires_in <= 0):  # fmt: skip
            raise ValueError("expires_in is a positive number of seconds (or null: never expires)")
        if uses is not None and (isinstance(uses, bool) or not isinstance(uses, int)):
            raise ValueError("uses is a positive number of joins (or null: unlimited)")
        async with self._using(name) as room:
            invite = await room.ainvite(role, expires=expires_in, uses=uses)
        self._mark(name, "access")
        return invite_json(invite)

    async def revoke_invite(self, name: str, invite_id: str) -> None:
        async with self._using(name) as room:
            try:
                await room.arevoke(invite_id)
            except ValueError as error:  # the invite is not there
                raise LookupError(str(error)) from None
        self._mark(name, "access")

    async def set_role(self, name: str, user_id: str, role: Any) -> Frame:
        if not isinstance(role, str):
            raise ValueError('send {"role": "owner" | "editor" | "viewer"}')
        async with self._using(name) as room:
            member = self._member(room, user_id)
            await room.aset_role(user_id, role)
            refs = await self._refs(room, [member.notebook])
        self._mark(name, "access")
        return {**member_json(member, room.me.id, refs), "role": role}

    async def remove_member(self, name: str, user_id: str) -> None:
        async with self._using(name) as room:
            self._member(room, user_id)
            await room.aremove(user_id)
        self._mark(name, "access")

    async def settings(self, name: str, open_to: Any, role: Any) -> dict[str, str]:
        for value, what in ((open_to, "open_to"), (role, "role")):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{what} is a string (see room.settings())")
        async with self._using(name) as room:
            settings = await room.asettings(open_to=open_to, role=role)
        self._mark(name, "access")
        return settings

    async def notifications(self, name: str) -> list[Frame]:
        async with self._using(name) as room:
            return (await self._notifications_frame(room))["notifications"]

    async def mark_read(self, name: str, ids: Any, everything: Any) -> dict[str, int]:
        """Mark notifications read in the room (so every kernel and JupyterLab of this user sees it); ``{unread}``."""
        if everything is not True and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
            raise ValueError('send {"ids": ["<notification id>", …]} or {"all": true}')
        async with self._using(name) as room:
            notifications = room.notifications
            if everything is True:
                await notifications.amark_all_read()
            else:
                known = {item.id for item in notifications.all}
                missing = [i for i in ids if i not in known]
                if missing:
                    raise LookupError(f"no notification {missing[0]!r} for you in room {name!r}")
                for notification_id in ids:
                    await notifications.amark_read(notification_id)
            return {"unread": notifications.unread_count}

    async def where(self, name: str, path: Any, cell: Any, activity: Any) -> None:
        """Where this user is in JupyterLab: a local path becomes the room notebook it is (if it is one)."""
        for value, what in ((path, "path"), (cell, "cell")):
            if value is not None and (not isinstance(value, str) or len(value) > 4096):
                raise ValueError(f"{what} is a string or null")
        if activity not in (*ACTIVITIES, None):
            raise ValueError(f"activity is one of {', '.join(ACTIVITIES)} or null")
        by_path = {local: notebook_id for notebook_id, local in self._paths(name).items()}
        notebook = by_path.get(path.lstrip("/")) if path is not None else None
        async with self._using(name) as room:
            await room.presence.aset_where(notebook=notebook, cell=cell, activity=activity)

    async def present(self, name: str, on: Any) -> None:
        """Start or stop presenting: everyone in the room is asked to follow this user (owners and editors)."""
        if not isinstance(on, bool):
            raise ValueError('send {"on": true} to present, {"on": false} to stop')
        async with self._using(name) as room:
            if on:
                room.access.require("room_editor", "present to the room")
            await room.presence.aset_presenting(on)

    # ------------------------------------------------------------------ watching

    async def subscribe(self, listener: Listener) -> None:
        """Send ``listener`` the hello and every room's state, then every change until :meth:`unsubscribe`."""
        memberships = await self.rooms()
        listener({"type": "hello", "me": await self.me(), "rooms": memberships})
        async with self._watch_lock:
            self._listeners.append(listener)  # from here on it hears every change (each a whole state)
            self._memberships = memberships
            for name in [m["room"] for m in memberships if m["room"] not in self._watches]:
                try:
                    await self._watch(name)
                except Exception as error:  # the other rooms still work
                    log.warning("nbrealtime: could not join room %s for JupyterLab: %s", name, error)
                    listener({"type": "error", "message": f"nbrealtime could not join room {name!r}: {error}"})
            if not self._watching_memberships:
                self._watching_memberships = True
                on_loop = self._loop.call_soon_threadsafe
                await (await self._signed_in()).watch_memberships(lambda: on_loop(self._spawn, self._rooms_changed()))
            watches = list(self._watches.values())
        for watch in watches:
            listener(await self._room_frame(watch))
            listener(await self._notifications_frame(watch.room))
            present = await self._present_frame(watch.room)
            if present["presenter"] is not None:
                listener(present)
            if watch.last_present is None:  # else the others may not have heard of this one yet: the flush tells
                watch.last_present = present

    def unsubscribe(self, listener: Listener) -> None:
        """Stop sending to ``listener``; once the last is gone, this user is no longer anywhere in JupyterLab (nor
        presenting), and the rooms are let go (closed after the registry's linger)."""
        if listener in self._listeners:
            self._listeners.remove(listener)
        if not self._listeners:
            self._spawn(self._let_go())

    async def _let_go(self) -> None:
        async with self._watch_lock:
            if self._listeners:
                return  # a page reloaded: someone listens again
            for name in list(self._watches):
                watch = self._watches.pop(name)
                self._stop(watch)
                with contextlib.suppress(Exception):
                    await watch.room.presence.aset_where(notebook=None, cell=None, activity=None)
                    await watch.room.presence.aset_presenting(False)
                self._rooms.release(name, self)

    # ------------------------------------------------------------------ internals

    async def _signed_in(self) -> Account:
        async with self._account_lock:
            if self._account is None:
                self._account = await Account.open()
        return self._account

    @contextlib.asynccontextmanager
    async def _using(self, name: str) -> AsyncIterator[Room]:
        """The room, joined for this call (it lingers a while after): 404 for a room this user is not in."""
        watched = self._watches.get(name)
        if watched is not None and watched.room.role is not None:
            yield watched.room
            return
        if not await (await self._signed_in()).memberships(name):
            raise LookupError(f"you are not a member of room {name!r} (join it with an invite)")
        holder = object()
        room = await self._rooms.get(name, holder)
        try:
            yield room
        finally:
            self._rooms.release(name, holder)

    @staticmethod
    def _member(room: Room, user_id: str) -> Member:
        for member in room.members:
            if member.id == user_id:
                return member
        raise LookupError(f"no member {user_id!r} in room {room.name!r}")

    async def _refs(self, room: Room, notebook_ids: Iterable[str | None]) -> NotebookRefs:
        """Names and local paths of the room notebooks named (the names are read again when one is new)."""
        names = self._names.get(room.name, {})
        if any(notebook_id is not None and notebook_id not in names for notebook_id in notebook_ids):
            names = {info.id: info.name for info in await room.alist_notebooks()}
            self._names[room.name] = names
        return NotebookRefs(names, self._paths(room.name))

    async def _room_state(self, room: Room, access: Frame | None = None) -> Frame:
        """The room's state; ``access`` (its settings and invites) as :meth:`_access` read it, or read now."""
        access = access if access is not None else await self._access(room)
        members = room.members
        refs = await self._refs(room, [member.notebook for member in members])
        return {
            "room": room.name,
            "role": room.role,
            "settings": access["settings"],
            "members": [member_json(member, room.me.id, refs) for member in members],
            "invites": access["invites"],
        }

    @staticmethod
    async def _access(room: Room) -> Frame:
        invites = await room.ainvites() if room.role == "owner" else []
        return {"settings": await room.asettings(), "invites": [invite_info_json(invite) for invite in invites]}

    async def _room_frame(self, watch: _Watch, *, fresh_access: bool = False) -> Frame:
        """A ``room`` frame; settings and invites are read again only when they changed (presence changes often)."""
        if fresh_access or watch.access is None:
            watch.access = await self._access(watch.room)
        return {"type": "room", **await self._room_state(watch.room, watch.access)}

    async def _notifications_frame(self, room: Room) -> Frame:
        items = room.notifications.all
        refs = await self._refs(room, [item.notebook for item in items])
        return {
            "type": "notifications",
            "room": room.name,
            "notifications": [notification_json(item, room.name, refs) for item in items],
            "unread": room.notifications.unread_count,
        }

    async def _present_frame(self, room: Room) -> Frame:
        members = room.members
        return present_frame(room.name, members, await self._refs(room, [member.notebook for member in members]))

    async def _watch(self, name: str) -> None:
        """Join the room for the listeners and follow its changes (the watch lock is held)."""
        room = await self._rooms.get(name, self)
        watch = self._watches[name] = _Watch(room)

        def on_loop(function: Callable[..., None]) -> Callable[..., None]:
            return lambda *args: self._loop.call_soon_threadsafe(function, *args)

        def listen(on: Callable[[Any], Any], off: Callable[[Any], None], callback: Callable[..., None]) -> None:
            on(callback)
            watch.stops.append(lambda: off(callback))

        presence, access, notifications = room.presence, room.access, room.notifications
        listen(presence.on_change, presence.off_change, on_loop(lambda _members: self._mark(name, "room")))
        listen(access.on_role, access.off_role, on_loop(lambda role: self._role_changed(name, role)))
        listen(access.on_change, access.off_change, on_loop(lambda _table: self._mark(name, "access")))
        listen(notifications.on_change, notifications.off_change, on_loop(lambda _: self._mark(name, "notifications")))
        listen(
            notifications.on_new, notifications.off_new, on_loop(lambda item: self._spawn(self._send_new(room, item)))
        )

    def _stop(self, watch: _Watch) -> None:
        for stop in watch.stops:
            stop()
        if watch.timer is not None:
            watch.timer.cancel()

    def _role_changed(self, name: str, role: str | None) -> None:
        if role is not None:
            self._mark(name, "access")  # an owner sees invites, the others not
            return
        watch = self._watches.pop(name, None)  # removed from the room
        if watch is not None:
            self._stop(watch)
            self._rooms.release(name, self)
        self._spawn(self._rooms_changed())

    async def _rooms_changed(self) -> None:
        """This user's rooms may have changed (joined anywhere, removed): tell the listeners if they did, and watch
        the new ones."""
        async with self._watch_lock:
            if not self._listeners:
                return
            memberships = await self.rooms()
            if memberships == self._memberships:
                return
            self._memberships = memberships
            names = {m["room"] for m in memberships}
            for name in [name for name in self._watches if name not in names]:
                self._stop(self._watches.pop(name))
                self._rooms.release(name, self)
            joined = [name for name in names if name not in self._watches]
            for name in joined:
                await self._watch(name)
        self._broadcast({"type": "rooms", "rooms": memberships})
        for name in joined:
            self._mark(name, "room")
            self._mark(name, "notifications")

    async def _send_new(self, room: Room, item: Any) -> None:
        refs = await self._refs(room, [item.notebook])
        self._broadcast(
            {"type": "notification", "room": room.name, "notification": notification_json(item, room.name, refs)}
        )

    def _mark(self, name: str, what: str) -> None:
        """Something of the room changed (``what``: "room" — presence, members —, "access" — settings, invites, your
        role — or "notifications"): send it within :attr:`coalesce` seconds, with whatever else changes."""
        watch = self._watches.get(name)
        if watch is None:
            return
        watch.dirty.add(what)
        if watch.timer is None:
            delay = max(0.0, watch.last_flush + self.coalesce - time.monotonic())
            watch.timer = self._loop.call_later(delay, lambda: self._spawn(self._flush(watch)))

    async def _flush(self, watch: _Watch) -> None:
        watch.timer = None
        watch.last_flush = time.monotonic()
        dirty, watch.dirty = watch.dirty, set()
        if self._watches.get(watch.room.name) is not watch:
            return
        if dirty & {"room", "access"}:
            self._broadcast(await self._room_frame(watch, fresh_access="access" in dirty))
            present = await self._present_frame(watch.room)
            if present != watch.last_present:
                watch.last_present = present
                self._broadcast(present)
        if "notifications" in dirty:
            self._broadcast(await self._notifications_frame(watch.room))

    def _broadcast(self, frame: Frame) -> None:
        for listener in list(self._listeners):
            listener(frame)

    def _spawn(self, coroutine: Any) -> None:
        async def guarded() -> None:
            try:
                await coroutine
            except Exception as error:
                log.warning("nbrealtime: the lab's live state failed: %s", error)
                self._broadcast({"type": "error", "message": f"nbrealtime could not update the room's state: {error}"})

        task = self._loop.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
