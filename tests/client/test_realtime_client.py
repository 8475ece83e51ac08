"""The receive loop's broadcast path: exactly what realtime-py would deliver, for every frame it takes."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import orjson
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from realtime.message import BroadcastMessage, ServerMessageAdapter

from nbrealtime.client.realtime_client import RealtimeClient, as_broadcast

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
PLACES = (
    "event",
    "topic",
    "ref",
    "payload",
    "payload.event",
    "payload.payload",
    "payload.meta",
    "meta.replayed",
    "meta.id",
)


@st.composite
def frames(draw: st.DrawFn) -> tuple[str, bool]:
    """A broadcast frame as the server sends one, and half the time with one place spoiled (removed, or any JSON)."""
    meta = draw(st.fixed_dictionaries({}, optional={"replayed": st.booleans(), "id": st.text(max_size=4)}))
    payload = {
        "type": "broadcast",
        "event": draw(st.text(max_size=5)),
        "payload": draw(st.dictionaries(st.text(), JSON)),
    }
    if draw(st.booleans()):
        payload["meta"] = meta
    message = {"event": "broadcast", "topic": draw(st.text(max_size=8)), "ref": None, "payload": payload}
    spoiled = draw(st.none() | st.sampled_from(PLACES))
    if spoiled is not None:
        *path, key = spoiled.split(".")
        place = {"payload": payload, "meta": meta}[path[0]] if path else message
        if draw(st.booleans()):
            place.pop(key, None)
        else:
            place[key] = draw(JSON)
    return orjson.dumps(message).decode(), spoiled is None


def _official(frame: str) -> Any:
    try:
        return ServerMessageAdapter.validate_json(frame)
    except ValidationError:
        return None


@given(frames())
def test_a_frame_taken_as_a_broadcast_is_delivered_as_realtime_py_would(example: tuple[str, bool]) -> None:
    frame, well_formed = example
    taken = as_broadcast(frame)
    assert taken is not None or not well_formed
    if taken is not None:
        message = _official(frame)
        assert isinstance(message, BroadcastMessage)
        assert taken == (message.topic, dict(message.payload))


def test_broadcasts_from_the_server_take_the_direct_path(server) -> None:
    """Every broadcast frame the embedded server sends (with and without meta, acked or not) is one the loop takes
    without pydantic, and the receiver's callback gets the sent payload."""

    class Recording(RealtimeClient):
        frames: ClassVar[list[str | bytes]] = []

        def _receive(self, frame: str | bytes) -> None:
            self.frames.append(frame)
            super()._receive(frame)

    async def exchange() -> list[dict[str, Any]]:
        url = f"{server.url}/realtime/v1"
        sender, receiver = RealtimeClient(url, token=server.anon_key), Recording(url, token=server.anon_key)
        received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        try:
            for client in (sender, receiver):
                await client.connect()
            inbox = receiver.channel("bench-direct", {"config": {"broadcast": {"self": False}}})
            inbox.on_broadcast("*", received.put_nowait)
            outbox = sender.channel("bench-direct", {"config": {"broadcast": {"ack": True}}})
            for channel in (inbox, outbox):
                joined = asyncio.Event()
                await channel.subscribe(lambda state, error, joined=joined: joined.set())
                await asyncio.wait_for(joined.wait(), 10)
            for n in range(3):
                await outbox.send_broadcast("edit", {"n": n, "text": "é\u2028"})
            return [await asyncio.wait_for(received.get(), 10) for _ in range(3)]
        finally:
            for client in (sender, receiver):
                await client.close()

    delivered = asyncio.run(exchange())
    assert [(m["event"], m["payload"]) for m in delivered] == [("edit", {"n": n, "text": "é\u2028"}) for n in range(3)]
    broadcasts = [frame for frame in Recording.frames if orjson.loads(frame)["event"] == "broadcast"]
    assert len(broadcasts) == 3
    assert all(as_broadcast(frame) is not None for frame in broadcasts)
