"""One realtime websocket per backend and user in this process, shared by every channel (rooms, cells, tables).

Supabase counts concurrent connections per project (200 on the free plan), and a Phoenix socket multiplexes any
number of channels, so a kernel needs one socket however many tables it opens (DESIGN.md §3 "Connections").  Each
:class:`~nbrealtime.client.connection.SupervisedChannel` still supervises its own channel; the socket under them is
made here, replaced once when it dies (however many channels noticed), and closed when its last channel leaves.
"""

from __future__ import annotations

import asyncio
import contextlib

from realtime import AsyncRealtimeChannel, AsyncRealtimeClient

__all__ = ["SharedSocket", "open_sockets", "shared_socket"]

CONNECT_TIMEOUT = 10
LEAVE_TIMEOUT = 2

_sockets: dict[tuple[str, str, str], SharedSocket] = {}


class SharedSocket:
    """The websocket of one (realtime URL, API key, user): the official client, connected on demand."""

    def __init__(self, key: tuple[str, str, str]) -> None:
        self.key = key
        self.client: AsyncRealtimeClient | None = None
        self.generation = 0
        self.users = 0
        self._lock = asyncio.Lock()

    @property
    def realtime_url(self) -> str:
        return self.key[0]

    async def connected(self, token: str) -> tuple[AsyncRealtimeClient, int]:
        """The live client (connecting a new socket if there is none) signed in with ``token``, and its generation."""
        async with self._lock:
            client = self.client
            if client is None or not client.is_connected:
                await self._drop()
                client = AsyncRealtimeClient(self.realtime_url, token=self.key[1], auto_reconnect=False, max_retries=1)
                await client.set_auth(token)
                await asyncio.wait_for(client.connect(), CONNECT_TIMEOUT)
                self.client = client
                self.generation += 1
            elif client.access_token != token:
                await client.set_auth(token)  # pushes the fresh token to every channel of this user
            return client, self.generation

    async def broken(self, generation: int) -> None:
        """A channel saw socket ``generation`` die: drop it once, whoever reports it first."""
        async with self._lock:
            if generation == self.generation:
                await self._drop()

    async def leave(self, channel: AsyncRealtimeChannel) -> None:
        """Take one channel off the socket without closing the socket (the official client would, for its last)."""
        channel.subscribe_callback = None
        channel.rejoin_timer.reset()  # a dead channel must not rejoin on its own and displace its successor
        client = self.client
        if client is None or client.channels.get(channel.topic) is not channel:
            return
        if client.is_connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(channel.unsubscribe(), LEAVE_TIMEOUT)
        if client.channels.get(channel.topic) is channel:
            del client.channels[channel.topic]

    async def release(self) -> None:
        """One channel supervisor is done with the socket; the last one closes it."""
        self.users -= 1
        if self.users <= 0:
            if _sockets.get(self.key) is self:
                del _sockets[self.key]
            async with self._lock:
                await self._drop()

    async def _drop(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            for channel in client.channels.values():
                channel.subscribe_callback = None
                channel.rejoin_timer.reset()
            with contextlib.suppress(Exception):
                await client.close()


def shared_socket(realtime_url: str, api_key: str, user_id: str) -> SharedSocket:
    """The socket for this backend and user (made on first use); the caller must :meth:`SharedSocket.release` it."""
    key = (realtime_url, api_key, user_id)
    socket = _sockets.get(key)
    if socket is None:
        socket = _sockets[key] = SharedSocket(key)
    socket.users += 1
    return socket


def open_sockets() -> int:
    """How many realtime websockets this process holds open (for tests and measurements)."""
    return sum(socket.client is not None and socket.client.is_connected for socket in _sockets.values())
