"""The server extension's registry of rooms: one connection per room however many parts of the server use it, kept
while anyone holds it, closed a while after the last lets go (a page reload in between keeps it)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from nbrealtime.jupyter.rooms import ServerRooms

pytestmark = pytest.mark.lab_ui


async def test_one_connection_per_room_closed_after_the_last_holder_lets_go(env: dict[str, str]) -> None:
    rooms = ServerRooms(linger=600)  # long enough that nothing closes before the test says so
    name = f"reg-{uuid.uuid4().hex[:8]}"
    bridge, lab = object(), object()
    room = await rooms.get(name, bridge)
    assert await rooms.get(name, lab) is room and rooms.opened(name) is room
    rooms.release(name, bridge)
    rooms.release(name, lab)
    assert await rooms.get(name, lab) is room  # taken again within the linger: the same connection
    closed = asyncio.Event()
    loop = asyncio.get_running_loop()
    room.on_status(lambda status: loop.call_soon_threadsafe(closed.set) if status == "closed" else None)
    rooms.linger = 0.01
    rooms.release(name, lab)
    await asyncio.wait_for(closed.wait(), 30)
    assert rooms.opened(name) is None
    again = await rooms.get(name, lab)  # joined anew when needed again
    assert again is not room and again.status == "connected"
    await rooms.close()
    assert again.status == "closed"
