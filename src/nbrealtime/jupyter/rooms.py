"""The rooms this Jupyter server is in: one :class:`~nbrealtime.features.room.Room` per room name, shared by the
notebook bridge and the lab API.

``nbrealtime.connect`` replaces an earlier connection of the same user to the same room in one process, so two
parts of the server extension joining on their own would close each other's room: they ask this registry instead.
A room stays open while anyone holds it; once the last holder lets go it is closed after ``linger`` seconds (a page
reload releases and takes it again at once, and should not make its user blink offline).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import nbrealtime
from nbrealtime.features.room import Room

__all__ = ["ServerRooms", "rooms_for"]

log = logging.getLogger("nbrealtime.jupyter")

ROOMS_SETTING = "nbrealtime_rooms"
LINGER = 30.0


def rooms_for(serverapp: Any) -> ServerRooms:
    """This Jupyter server's one registry (made on first use, on the server's loop)."""
    settings = serverapp.web_app.settings
    if settings.get(ROOMS_SETTING) is None:
        settings[ROOMS_SETTING] = ServerRooms()
    return settings[ROOMS_SETTING]


class ServerRooms:
    """Rooms by name, joined on first use as the server's user, closed a while after the last holder left."""

    def __init__(self, linger: float = LINGER) -> None:
        self.linger = linger
        self._rooms: dict[str, Room] = {}
        self._holders: dict[str, set[object]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._closing: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def opened(self, name: str) -> Room | None:
        """The room if it is open here now (never joins)."""
        room = self._rooms.get(name)
        return room if room is not None and room.status != "closed" else None

    async def get(self, name: str, holder: object, *, invite: str | None = None) -> Room:
        """The room ``name``, joined if needed (with ``invite``, an invite's text), held by ``holder``."""
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            room = self.opened(name)
            if room is None:
                options = {"invite": invite} if invite is not None else {}
                room = self._rooms[name] = await nbrealtime.aconnect(name, **options)
            self._holders.setdefault(name, set()).add(holder)
            timer = self._closing.pop(name, None)
            if timer is not None:
                timer.cancel()
        return room

    def release(self, name: str, holder: object) -> None:
        """``holder`` no longer needs the room; the last one out closes it after :attr:`linger` seconds."""
        holders = self._holders.get(name)
        if holders is None or holder not in holders:
            return
        holders.discard(holder)
        if not holders and name not in self._closing:
            self._closing[name] = asyncio.get_running_loop().call_later(self.linger, self._close_soon, name)

    def _close_soon(self, name: str) -> None:
        task = asyncio.get_running_loop().create_task(self._close_unheld(name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close_unheld(self, name: str) -> None:
        async with self._locks.setdefault(name, asyncio.Lock()):
            self._closing.pop(name, None)
            if self._holders.get(name):
                return
            room = self._rooms.pop(name, None)
            if room is not None:
                with contextlib.suppress(Exception):
                    await room.aclose()

    async def close(self) -> None:
        for timer in self._closing.values():
            timer.cancel()
        self._closing.clear()
        for name, room in list(self._rooms.items()):
            try:
                await room.aclose()
            except Exception as error:
                log.info("nbrealtime: could not close room %s cleanly: %s", name, error)
        self._rooms.clear()
        self._holders.clear()
