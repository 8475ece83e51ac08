"""A bare realtime client: raw ``websockets`` speaking Phoenix serializer 1.0.0 (what realtime-py speaks).

Lighter than the official client, so the fan-out and scale benchmarks measure the server, not the clients. Like the
official client it offers permessage-deflate (``websockets``' default); the server declines it, as it does for real
kernels.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

import orjson
import websockets

__all__ = ["PhoenixSocket", "close_all"]


class PhoenixSocket:
    def __init__(self, websocket: Any) -> None:
        self.websocket = websocket
        self._refs = itertools.count(1)

    @classmethod
    async def connect(cls, ws_url: str, key: str, **options: Any) -> PhoenixSocket:
        websocket = await websockets.connect(f"{ws_url}?apikey={key}&vsn=1.0.0", max_size=None, **options)
        return cls(websocket)

    def next_ref(self) -> str:
        return str(next(self._refs))

    async def send(self, topic: str, event: str, payload: Any, ref: str | None = None) -> str:
        ref = ref or self.next_ref()
        frame = orjson.dumps({"topic": topic, "event": event, "payload": payload, "ref": ref})
        await self.websocket.send(frame.decode())  # a text frame: binary needs serializer 2.0.0
        return ref

    async def recv(self) -> dict[str, Any]:
        return orjson.loads(await self.websocket.recv())

    async def reply_to(self, ref: str) -> dict[str, Any]:
        """Read until the ``phx_reply`` to ``ref``; other frames are dropped."""
        while True:
            message = await self.recv()
            if message.get("event") == "phx_reply" and message.get("ref") == ref:
                return message

    async def join(self, channel: str, *, ack: bool = False, presence: bool = False) -> str:
        """Join ``realtime:channel``; return the topic."""
        topic = f"realtime:{channel}"
        config = {"broadcast": {"ack": ack, "self": False}, "presence": {"enabled": presence}, "private": False}
        ref = await self.send(topic, "phx_join", {"config": config})
        reply = await self.reply_to(ref)
        if reply["payload"]["status"] != "ok":
            raise RuntimeError(f"join refused: {reply}")
        return topic

    async def broadcast(self, topic: str, event: str, payload: Any) -> str:
        return await self.send(topic, "broadcast", {"type": "broadcast", "event": event, "payload": payload})

    async def heartbeat(self) -> str:
        return await self.send("phoenix", "heartbeat", {})

    async def close(self) -> None:
        """Close cleanly even with unread frames queued (a paused reader would never see the server's close)."""

        async def drain() -> None:
            with contextlib.suppress(Exception):
                async for _ in self.websocket:
                    pass

        drainer = asyncio.create_task(drain())
        with contextlib.suppress(Exception):
            await self.websocket.close()
        drainer.cancel()
        with contextlib.suppress(BaseException):
            await drainer


async def close_all(sockets: list[PhoenixSocket]) -> None:
    await asyncio.gather(*(socket.close() for socket in sockets))
