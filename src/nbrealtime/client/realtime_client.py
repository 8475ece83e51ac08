"""The official realtime client, with a receive loop that hands broadcasts to their channel without pydantic.

realtime-py validates every incoming frame against a pydantic union of all its message kinds, and builds two debug
lines with the message's ``repr`` even when debug logging is off (an f-string is formatted before ``logger.debug``
looks at the level). For a broadcast, the frame of every shared-cell keystroke, that was about a quarter of a reader
kernel's busy time (bench/README.md, "Reader kernels' time"). A broadcast's payload is plain JSON in realtime-py's
model too (``BroadcastPayload`` is a TypedDict), so a well-formed broadcast goes from orjson straight to its channel's
broadcast callbacks, as ``AsyncRealtimeChannel._handle_message`` would call them. Every other frame, and any broadcast
not of exactly that shape, takes the client's own path. ``supabase`` is pinned, and with it the client this follows.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import websockets
from pydantic import ValidationError
from realtime import AsyncRealtimeClient
from realtime.exceptions import NotConnectedError
from realtime.message import ServerMessageAdapter

__all__ = ["RealtimeClient", "as_broadcast"]

log = logging.getLogger(__name__)

META_TYPES = {"replayed": bool, "id": str}  # realtime-py's BroadcastMeta


class RealtimeClient(AsyncRealtimeClient):
    async def _listen(self) -> None:
        """realtime-py's receive loop (2.34) with :meth:`_receive` for its parsing; closing is handled as there."""
        ws_connection = self._ws_connection
        if not ws_connection:
            raise NotConnectedError("_listen")
        try:
            async for frame in ws_connection:
                self._receive(frame)
        except websockets.exceptions.ConnectionClosedError as error:
            await self._on_connect_error(error)
        else:
            # A clean close (1000/1001) ends the iteration without raising; close() clears _ws_connection first,
            # so a connection still current here was closed by the server.
            if self._ws_connection is not ws_connection:
                return
            if self.auto_reconnect:
                await self._reconnect(ws_connection.protocol.close_exc)
            else:
                self._ws_connection = None
                self._set_channels_errored(ws_connection.protocol.close_exc)

    def _receive(self, frame: str | bytes) -> None:
        broadcast = as_broadcast(frame)
        if broadcast is not None:
            topic, payload = broadcast
            channel = self.channels.get(topic)
            if channel is not None:
                for callback in channel.broadcast_callbacks:
                    callback(payload)
            return
        try:
            message = ServerMessageAdapter.validate_json(frame)
        except ValidationError as error:
            log.error("Unrecognized message format %r\n%s", frame, error)
            return
        channel = self.channels.get(message.topic)
        if channel is not None:
            channel._handle_message(message)


def as_broadcast(frame: str | bytes) -> tuple[str, dict[str, Any]] | None:
    """``(topic, payload)`` of a frame realtime-py would parse as a broadcast, with the payload it would deliver;
    None for anything else, or a broadcast whose shape is not exactly the one it accepts (the client's path decides)."""
    try:
        message = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None
    if type(message) is not dict or message.get("event") != "broadcast" or message.get("ref", False) is not None:
        return None
    topic, payload = message.get("topic"), message.get("payload")
    if type(topic) is not str or type(payload) is not dict:
        return None
    if type(payload.get("event")) is not str or type(payload.get("payload")) is not dict:
        return None
    delivered = {"event": payload["event"], "payload": payload["payload"]}
    if "meta" in payload:
        meta = _meta(payload["meta"])
        if meta is None:
            return None
        delivered["meta"] = meta
    return topic, delivered


def _meta(meta: Any) -> dict[str, Any] | None:
    """``meta`` as realtime-py's BroadcastMeta keeps it (its two keys), or None where it would convert or refuse."""
    if type(meta) is not dict:
        return None
    kept = {key: meta[key] for key in META_TYPES if key in meta}
    return kept if all(type(value) is META_TYPES[key] for key, value in kept.items()) else None
