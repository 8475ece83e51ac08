"""Phoenix channel frames as the official Supabase clients speak them (PROTOCOL.md §1.2).

* serializer 1.0.0 (Python client, old JS): text frames holding a JSON object; the server sends exactly
  ``{"topic", "event", "payload", "ref"}``.
* serializer 2.0.0 (current JS): text frames holding ``[join_ref, ref, topic, event, payload]``; user broadcasts
  arrive as binary kind 3 and may leave as binary kind 4.

Pure encoding and decoding: no sockets here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["V1", "V2", "Frame", "ProtocolError", "decode", "encode", "serializer_for"]

V1 = "1.0.0"
V2 = "2.0.0"

KIND_USER_BROADCAST_PUSH = 3
KIND_USER_BROADCAST = 4
ENCODING_BINARY = 0
ENCODING_JSON = 1


class ProtocolError(ValueError):
    """A frame the server cannot understand; the message says why."""


@dataclass(slots=True)
class Frame:
    """One Phoenix message. For user broadcasts ``payload`` is ``{"type", "event", "payload"}``.

    ``binary`` holds the raw user payload when it arrived as bytes that are not JSON (kind 3, encoding 0); such a
    payload can only be relayed to 2.0.0 clients as kind 4.
    """

    topic: str
    event: str
    payload: Any
    ref: str | None = None
    join_ref: str | None = None
    binary: bytes | None = None


def serializer_for(vsn: str | None) -> str:
    """Pick the serializer from the ``vsn`` query parameter as Realtime does (``~> 1.0`` / ``~> 2.0``)."""
    if vsn is None or vsn == "" or vsn.startswith("1."):
        return V1
    if vsn.startswith("2."):
        return V2
    raise ProtocolError(f"unsupported serializer version {vsn!r} (1.0.0 or 2.0.0)")


def _optional_str(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ProtocolError(f"{name} must be a string or null")


def _required_str(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"missing {name}")
    return value


def decode(data: str | bytes, vsn: str) -> Frame:
    """Decode one client→server frame, or raise :class:`ProtocolError` if it has no usable shape.

    A frame that parses but lacks a topic or event decodes with ``""`` there, so the connection can answer it
    with an error reply (as Phoenix does) rather than drop the socket.
    """
    if isinstance(data, bytes):
        if vsn != V2:
            raise ProtocolError("binary frames need serializer 2.0.0")
        return _decode_user_broadcast_push(data)
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise ProtocolError(f"frame is not valid JSON: {error}") from None
    if vsn == V2:
        if not isinstance(message, list) or len(message) != 5:
            raise ProtocolError("a 2.0.0 frame must be [join_ref, ref, topic, event, payload]")
        join_ref, ref, topic, event, payload = message
    else:
        if not isinstance(message, dict):
            raise ProtocolError('a 1.0.0 frame must be an object {"topic", "event", "payload", "ref"}')
        join_ref, ref = message.get("join_ref"), message.get("ref")
        topic, event, payload = message.get("topic"), message.get("event"), message.get("payload")
    return Frame(
        topic=topic if isinstance(topic, str) else "",
        event=event if isinstance(event, str) else "",
        payload={} if payload is None else payload,
        ref=_optional_str(ref, "ref"),
        join_ref=_optional_str(join_ref, "join_ref"),
    )


def _decode_user_broadcast_push(data: bytes) -> Frame:
    header = 7
    if len(data) < header or data[0] != KIND_USER_BROADCAST_PUSH:
        kind = data[0] if data else None
        raise ProtocolError(f"unsupported binary frame kind {kind!r} (only 3, user broadcast push)")
    lengths = data[1:6]
    encoding = data[6]
    fields = []
    offset = header
    for length in lengths:
        if offset + length > len(data):
            raise ProtocolError("binary frame is shorter than its header says")
        fields.append(data[offset : offset + length])
        offset += length
    join_ref, ref, topic, event, metadata = (field.decode("utf-8", "replace") for field in fields)
    body = data[offset:]
    binary = None
    if encoding == ENCODING_JSON:
        try:
            user_payload = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise ProtocolError(f"broadcast payload is not valid JSON: {error}") from None
    elif encoding == ENCODING_BINARY:
        user_payload, binary = None, bytes(body)
    else:
        raise ProtocolError(f"unknown payload encoding {encoding}")
    payload: dict[str, Any] = {
        "type": "broadcast",
        "event": _required_str(event, "event"),
        "payload": user_payload,
    }
    if metadata:
        try:
            payload["meta"] = orjson.loads(metadata)
        except orjson.JSONDecodeError:
            raise ProtocolError("broadcast metadata is not valid JSON") from None
    return Frame(
        topic=_required_str(topic, "topic"),
        event="broadcast",
        payload=payload,
        ref=ref or None,
        join_ref=join_ref or None,
        binary=binary,
    )


def encode(frame: Frame, vsn: str) -> str | bytes:
    """Encode one server→client frame for a client of serializer ``vsn``."""
    if vsn == V1:
        return orjson.dumps(
            {"topic": frame.topic, "event": frame.event, "payload": frame.payload, "ref": frame.ref}
        ).decode()
    if frame.binary is not None:
        return _encode_user_broadcast(frame)
    return orjson.dumps([frame.join_ref, frame.ref, frame.topic, frame.event, frame.payload]).decode()


def _encode_user_broadcast(frame: Frame) -> bytes:
    topic = frame.topic.encode()
    event = str(frame.payload["event"]).encode()
    meta = orjson.dumps(frame.payload["meta"]) if frame.payload.get("meta") else b""
    if max(len(topic), len(event), len(meta)) > 255:
        raise ProtocolError("topic, event or metadata longer than 255 bytes cannot be sent as binary")
    assert frame.binary is not None
    header = struct.pack("BBBBB", KIND_USER_BROADCAST, len(topic), len(event), len(meta), ENCODING_BINARY)
    return header + topic + event + meta + frame.binary
