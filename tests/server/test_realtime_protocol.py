"""The Phoenix protocol on a raw websocket: exact frames, malformed input, limits."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import websockets

from nbrealtime.launcher import ServerProcess
from tests.server.rest_support import mint

WAIT = 10.0


class RawSocket:
    """A websocket speaking serializer 1.0.0 or 2.0.0 by hand."""

    def __init__(self, connection: websockets.ClientConnection, vsn: str) -> None:
        self.connection = connection
        self.vsn = vsn
        self._ref = 0

    def next_ref(self) -> str:
        self._ref += 1
        return str(self._ref)

    async def push(self, topic: str, event: str, payload: Any, ref: str | None = None, join_ref: str | None = None):
        ref = ref or self.next_ref()
        if self.vsn == "2.0.0":
            await self.connection.send(json.dumps([join_ref, ref, topic, event, payload]))
        else:
            await self.connection.send(
                json.dumps({"topic": topic, "event": event, "payload": payload, "ref": ref, "join_ref": join_ref})
            )
        return ref

    async def receive(self) -> Any:
        data = await asyncio.wait_for(self.connection.recv(), WAIT)
        if isinstance(data, bytes):
            return data
        message = json.loads(data)
        if self.vsn == "2.0.0":
            join_ref, ref, topic, event, payload = message
            return {"join_ref": join_ref, "ref": ref, "topic": topic, "event": event, "payload": payload}
        return message

    async def receive_until(self, predicate: Callable[[Any], bool]) -> Any:
        async with asyncio.timeout(WAIT):
            while True:
                message = await self.receive()
                if predicate(message):
                    return message

    async def reply_to(self, ref: str) -> dict[str, Any]:
        return await self.receive_until(lambda m: isinstance(m, dict) and m["event"] == "phx_reply" and m["ref"] == ref)

    async def join(self, topic: str, config: dict[str, Any] | None = None) -> str:
        ref = self.next_ref()
        await self.push(f"realtime:{topic}", "phx_join", {"config": config or {}}, ref=ref, join_ref=ref)
        reply = await self.reply_to(ref)
        assert reply["payload"]["status"] == "ok", reply
        return ref


@asynccontextmanager
async def raw_socket(server: ServerProcess, vsn: str = "1.0.0") -> AsyncIterator[RawSocket]:
    url = server.url.replace("http", "ws") + f"/realtime/v1/websocket?apikey={server.anon_key}&vsn={vsn}"
    async with websockets.connect(url) as connection:
        yield RawSocket(connection, vsn)


async def test_heartbeat_replies_in_both_serializers(server: ServerProcess) -> None:
    async with raw_socket(server) as v1:
        await v1.connection.send(json.dumps({"event": "heartbeat", "payload": {}, "topic": "phoenix", "ref": None}))
        reply = await v1.receive()
        assert reply == {
            "topic": "phoenix",
            "event": "phx_reply",
            "payload": {"status": "ok", "response": {}},
            "ref": None,
        }
    async with raw_socket(server, "2.0.0") as v2:
        await v2.connection.send(json.dumps([None, "9", "phoenix", "heartbeat", {}]))
        assert json.loads(await v2.connection.recv()) == [
            None,
            "9",
            "phoenix",
            "phx_reply",
            {"status": "ok", "response": {}},
        ]


async def test_join_reply_echoes_postgres_bindings_with_stable_integer_ids(server: ServerProcess) -> None:
    binding = {"event": "INSERT", "schema": "public", "table": "nbrt_notifications", "filter": "kind=eq.info"}
    async with raw_socket(server) as first, raw_socket(server) as second:
        replies = []
        for socket in (first, second):
            ref = socket.next_ref()
            config = {"postgres_changes": [binding]}
            await socket.push("realtime:feed", "phx_join", {"config": config}, ref=ref, join_ref=ref)
            replies.append(await socket.reply_to(ref))
        bindings = [reply["payload"]["response"]["postgres_changes"][0] for reply in replies]
        assert bindings[0] == bindings[1]
        assert {k: v for k, v in bindings[0].items() if k != "id"} == binding
        assert isinstance(bindings[0]["id"], int) and 0 < bindings[0]["id"] < 2**27


async def test_malformed_json_closes_only_that_socket(server: ServerProcess) -> None:
    async with raw_socket(server) as bad, raw_socket(server) as good, raw_socket(server) as sender:
        await good.join("room")
        await sender.join("room")
        await bad.connection.send("{not json")
        closed = None
        try:
            await asyncio.wait_for(bad.connection.recv(), WAIT)
        except websockets.ConnectionClosed as error:
            closed = error
        assert closed is not None and closed.rcvd.code == 1007 and "malformed frame" in closed.rcvd.reason
        await sender.push("realtime:room", "broadcast", {"type": "broadcast", "event": "e", "payload": {"ok": 1}})
        message = await good.receive_until(lambda m: m["event"] == "broadcast")
        assert message["payload"]["payload"] == {"ok": 1}


async def test_unknown_event_and_missing_topic_get_errors_and_keep_the_connection(server: ServerProcess) -> None:
    async with raw_socket(server) as socket:
        join_ref = await socket.join("room")
        ref = await socket.push("realtime:room", "dance", {}, join_ref=join_ref)
        assert (await socket.reply_to(ref))["payload"] == {
            "status": "error",
            "response": {"reason": "unknown event 'dance'"},
        }
        await socket.connection.send(json.dumps({"event": "broadcast", "payload": {}, "ref": "77"}))
        assert (await socket.reply_to("77"))["payload"]["response"] == {"reason": "unmatched topic"}
        ref = await socket.push("realtime:not-joined", "broadcast", {"event": "x", "payload": {}})
        assert (await socket.reply_to(ref))["payload"]["response"] == {"reason": "unmatched topic"}
        ref = await socket.push("realtime:", "phx_join", {"config": {}})
        assert "TopicNameRequired" in (await socket.reply_to(ref))["payload"]["response"]["reason"]
        ref = await socket.push("phoenix", "heartbeat", {})
        assert (await socket.reply_to(ref))["payload"]["status"] == "ok"


async def test_leave_replies_then_closes_with_the_join_ref(server: ServerProcess) -> None:
    async with raw_socket(server, "2.0.0") as socket:
        join_ref = await socket.join("room")
        ref = await socket.push("realtime:room", "phx_leave", {}, join_ref=join_ref)
        reply = await socket.reply_to(ref)
        assert (reply["join_ref"], reply["payload"]["status"]) == (join_ref, "ok")
        close = await socket.receive()
        assert (close["event"], close["ref"], close["join_ref"]) == ("phx_close", join_ref, join_ref)


async def test_duplicate_join_closes_the_old_channel(server: ServerProcess) -> None:
    async with raw_socket(server, "2.0.0") as socket:
        first = await socket.join("room")
        second_ref = socket.next_ref()
        await socket.push("realtime:room", "phx_join", {"config": {}}, ref=second_ref, join_ref=second_ref)
        close = await socket.receive_until(lambda m: m["event"] == "phx_close")
        assert close["join_ref"] == first
        reply = await socket.reply_to(second_ref)
        assert reply["join_ref"] == second_ref and reply["payload"]["status"] == "ok"


def kind3(join_ref: str, ref: str, topic: str, event: str, payload: bytes, encoding: int) -> bytes:
    fields = [join_ref.encode(), ref.encode(), topic.encode(), event.encode(), b""]
    return struct.pack("BBBBBBB", 3, *(len(f) for f in fields), encoding) + b"".join(fields) + payload


async def test_binary_broadcasts_relay_as_kind_4_to_v2_and_json_to_v1(server: ServerProcess) -> None:
    async with raw_socket(server, "2.0.0") as sender, raw_socket(server, "2.0.0") as v2, raw_socket(server) as v1:
        join_ref = await sender.join("room", {"broadcast": {"ack": True}})
        await v2.join("room")
        await v1.join("room")
        await sender.connection.send(kind3(join_ref, "50", "realtime:room", "greet", b'{"hi":1}', 1))
        assert (await sender.reply_to("50"))["payload"]["status"] == "ok"
        text = await v2.receive_until(lambda m: isinstance(m, dict) and m["event"] == "broadcast")
        assert text["payload"] == {"type": "broadcast", "event": "greet", "payload": {"hi": 1}}
        as_v1 = await v1.receive_until(lambda m: m["event"] == "broadcast")
        assert as_v1 == {
            "topic": "realtime:room",
            "event": "broadcast",
            "payload": {"type": "broadcast", "event": "greet", "payload": {"hi": 1}},
            "ref": None,
        }
        await sender.connection.send(kind3(join_ref, "51", "realtime:room", "blob", b"\x00\x01raw", 0))
        frame = await v2.receive_until(lambda m: isinstance(m, bytes))
        topic, event = b"realtime:room", b"blob"
        assert frame == struct.pack("BBBBB", 4, len(topic), len(event), 0, 0) + topic + event + b"\x00\x01raw"
        await sender.push(
            "realtime:room", "broadcast", {"type": "broadcast", "event": "after", "payload": {}}, join_ref=join_ref
        )
        follow = await v1.receive_until(lambda m: m["event"] == "broadcast")
        assert follow["payload"]["event"] == "after", "1.0.0 clients never see binary-only payloads"


async def test_payload_size_limit(start) -> None:
    server = start("--max-payload-kb", "1")
    async with raw_socket(server) as socket:
        join_ref = await socket.join("room", {"broadcast": {"ack": True}})
        big = {"type": "broadcast", "event": "e", "payload": {"blob": "x" * 2000}}
        ref = await socket.push("realtime:room", "broadcast", big, join_ref=join_ref)
        assert (await socket.reply_to(ref))["payload"] == {
            "status": "error",
            "response": {"error": "payload_size_exceeded"},
        }
        small = {"type": "broadcast", "event": "e", "payload": {"blob": "x"}}
        ref = await socket.push("realtime:room", "broadcast", small, join_ref=join_ref)
        assert (await socket.reply_to(ref))["payload"]["status"] == "ok"


async def test_message_rate_limit_shuts_the_channel(start) -> None:
    server = start("--max-messages-per-second", "5")
    async with raw_socket(server) as socket:
        join_ref = await socket.join("room")
        for n in range(10):
            await socket.push("realtime:room", "broadcast", {"event": "e", "payload": {"n": n}}, join_ref=join_ref)
        system = await socket.receive_until(lambda m: m["event"] == "system")
        assert system["payload"] == {
            "channel": "room",
            "extension": "system",
            "message": "Too many messages per second",
            "status": "error",
        }
        assert (await socket.receive())["event"] == "phx_close"
        ref = await socket.push("phoenix", "heartbeat", {})
        assert (await socket.reply_to(ref))["payload"]["status"] == "ok", "the socket itself stays open"


async def test_channels_per_connection_limit(start) -> None:
    server = start("--max-channels", "2")
    async with raw_socket(server) as socket:
        await socket.join("a")
        await socket.join("b")
        ref = await socket.push("realtime:c", "phx_join", {"config": {}})
        reply = await socket.reply_to(ref)
        assert reply["payload"] == {
            "status": "error",
            "response": {"reason": "ChannelRateLimitReached: Too many channels"},
        }


async def test_presence_call_limit(start) -> None:
    server = start("--max-presence-calls", "2")
    async with raw_socket(server) as socket:
        join_ref = await socket.join("room")
        for n in range(2):
            ref = await socket.push(
                "realtime:room", "presence", {"event": "track", "payload": {"n": n}}, join_ref=join_ref
            )
            assert (await socket.reply_to(ref))["payload"]["status"] == "ok"
        await socket.push("realtime:room", "presence", {"event": "track", "payload": {"n": 3}}, join_ref=join_ref)
        system = await socket.receive_until(lambda m: m["event"] == "system")
        assert system["payload"]["message"] == "Client presence rate limit exceeded"


async def test_bad_presence_payload_and_bad_access_token(server: ServerProcess) -> None:
    async with raw_socket(server) as socket:
        join_ref = await socket.join("room")
        ref = await socket.push("realtime:room", "presence", {"event": "track", "payload": [1, 2]}, join_ref=join_ref)
        assert (await socket.reply_to(ref))["payload"]["response"] == {"reason": "Presence track payload must be a map"}
        await socket.push("realtime:room", "access_token", {"access_token": "not.a.jwt"}, join_ref=join_ref)
        system = await socket.receive_until(lambda m: m["event"] == "system")
        assert system["payload"]["status"] == "error" and "valid JWT" in system["payload"]["message"]
        assert (await socket.receive())["event"] == "phx_close"


async def test_a_channel_is_shut_when_its_token_expires_unless_refreshed(server: ServerProcess) -> None:
    """As Supabase Realtime: a client that stops refreshing its token stops receiving (a page left open for hours
    must refresh; this is what makes the browser tests of refresh mean something)."""
    async with raw_socket(server) as stale, raw_socket(server) as fresh:
        for socket in (stale, fresh):
            ref = socket.next_ref()
            join = {"config": {}, "access_token": mint(server, "u-1", lifetime=2)}
            await socket.push("realtime:expiring", "phx_join", join, ref=ref, join_ref=ref)
            assert (await socket.reply_to(ref))["payload"]["status"] == "ok"
        await fresh.push(
            "realtime:expiring", "access_token", {"access_token": mint(server, "u-1", lifetime=60)}, join_ref="1"
        )
        shut = await stale.receive_until(lambda m: isinstance(m, dict) and m["event"] == "system")
        assert shut["payload"]["status"] == "error"
        assert "Token has expired" in shut["payload"]["message"]
        assert (await stale.receive())["event"] == "phx_close"
        # The refreshed channel outlived the first token: it still receives.
        async with raw_socket(server) as sender:
            await sender.join("expiring")
            await sender.push("realtime:expiring", "broadcast", {"type": "broadcast", "event": "e", "payload": {}})
        message = await fresh.receive_until(lambda m: isinstance(m, dict) and m["event"] == "broadcast")
        assert message["payload"]["event"] == "e"
