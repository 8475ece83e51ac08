"""Helpers for tests that drive the server with the official Python client."""

from __future__ import annotations

import asyncio
from typing import Any

from realtime import AsyncRealtimeChannel, RealtimeSubscribeStates
from supabase import AsyncClient

WAIT = 10.0


class Inbox:
    """Collects callback arguments so a test can await the next one (with a timeout) instead of sleeping."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    def __call__(self, *args: Any) -> None:
        self.queue.put_nowait(args[0] if len(args) == 1 else args)

    async def next(self, timeout: float = WAIT) -> Any:
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def until(self, predicate: Any, timeout: float = WAIT) -> Any:
        """The first item that satisfies ``predicate``; earlier ones are discarded."""
        async with asyncio.timeout(timeout):
            while True:
                item = await self.queue.get()
                if predicate(item):
                    return item

    def empty(self) -> bool:
        return self.queue.empty()


async def subscribed(channel: AsyncRealtimeChannel) -> list[tuple[RealtimeSubscribeStates, Exception | None]]:
    """Subscribe and return the states reported; fails the test unless the channel ends SUBSCRIBED."""
    states: list[tuple[RealtimeSubscribeStates, Exception | None]] = []
    await channel.subscribe(lambda state, error: states.append((state, error)))
    assert states and states[-1][0] == RealtimeSubscribeStates.SUBSCRIBED, states
    return states


async def close_client(client: AsyncClient) -> None:
    await client.realtime.close()


class PresenceWatcher:
    """Attach before subscribing (the Python client re-joins if presence callbacks are added later)."""

    def __init__(self, channel: AsyncRealtimeChannel) -> None:
        self.channel = channel
        self._changed = asyncio.Event()
        channel.on_presence_sync(self._changed.set)

    async def until(self, predicate: Any, timeout: float = WAIT) -> dict[str, Any]:
        """Wait until ``predicate(presence_state)`` holds and return that state."""
        async with asyncio.timeout(timeout):
            while not predicate(state := self.channel.presence_state()):
                self._changed.clear()
                await self._changed.wait()
        return state
