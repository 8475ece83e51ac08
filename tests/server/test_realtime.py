"""Realtime through the official Python client: broadcast, presence, tokens, limits, HTTP broadcast."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest
from realtime import RealtimeSubscribeStates

from nbrealtime.launcher import ServerProcess
from tests.realtime_support import Inbox, PresenceWatcher, subscribed

PEER = Path(__file__).with_name("presence_peer.py")


def secret_of(server: ServerProcess) -> str:
    return json.loads((server.data_dir / "keys.json").read_text())["jwt_secret"]


def user_token(server: ServerProcess, sub: str, *, lifetime: int = 3600, secret: str | None = None) -> str:
    now = int(time.time())
    claims = {"sub": sub, "role": "authenticated", "aud": "authenticated", "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, secret or secret_of(server), algorithm="HS256")


async def test_broadcast_between_two_clients_with_ack_and_self(client_factory) -> None:
    alice, bob = await client_factory(), await client_factory()
    config = {"config": {"broadcast": {"ack": True, "self": True}}}
    alice_inbox, bob_inbox = Inbox(), Inbox()
    alice_channel = alice.channel("room1", config).on_broadcast("greet", alice_inbox)
    bob_channel = bob.channel("room1", config).on_broadcast("*", bob_inbox)
    await subscribed(alice_channel)
    await subscribed(bob_channel)

    await alice_channel.send_broadcast("greet", {"hello": "from alice"})
    assert (await bob_inbox.next())["payload"] == {"hello": "from alice"}
    assert (await alice_inbox.next())["payload"] == {"hello": "from alice"}, "self: true echoes to the sender"

    await bob_channel.send_broadcast("greet", {"hello": "from bob"})
    assert (await alice_inbox.next())["payload"] == {"hello": "from bob"}


async def test_without_self_the_sender_does_not_get_its_own_message(client_factory) -> None:
    alice, bob = await client_factory(), await client_factory()
    alice_inbox, bob_inbox = Inbox(), Inbox()
    alice_channel = alice.channel("quiet").on_broadcast("ping", alice_inbox)
    bob_channel = bob.channel("quiet").on_broadcast("ping", bob_inbox)
    await subscribed(alice_channel)
    await subscribed(bob_channel)
    await alice_channel.send_broadcast("ping", {"n": 1})
    await bob_channel.send_broadcast("ping", {"n": 2})
    assert (await bob_inbox.next())["payload"] == {"n": 1}
    assert (await alice_inbox.next())["payload"] == {"n": 2}
    assert alice_inbox.empty() and bob_inbox.empty()


async def test_presence_sync_join_update_and_leave(client_factory) -> None:
    alice, bob = await client_factory(), await client_factory()
    joins, leaves = Inbox(), Inbox()
    alice_channel = (
        alice.channel("lobby", {"config": {"presence": {"key": "alice"}}})
        .on_presence_join(lambda key, current, new: joins((key, new)))
        .on_presence_leave(lambda key, current, left: leaves((key, left)))
    )
    await subscribed(alice_channel)
    await alice_channel.track({"name": "Alice"})
    key, new = await joins.next()
    assert key == "alice" and new[0]["name"] == "Alice" and new[0]["presence_ref"]

    bob_channel = bob.channel("lobby", {"config": {"presence": {"key": "bob"}}})
    bob_view = PresenceWatcher(bob_channel)
    await subscribed(bob_channel)
    await bob_channel.track({"name": "Bob", "cell": 1})
    key, new = await joins.until(lambda item: item[0] == "bob")
    assert new[0]["cell"] == 1
    await bob_view.until(lambda state: set(state) == {"alice", "bob"})

    await bob_channel.track({"name": "Bob", "cell": 2})
    key, new = await joins.until(lambda item: item[0] == "bob")
    assert new[0]["cell"] == 2, "an update arrives as a join with the new meta"
    assert alice_channel.presence_state()["bob"][-1]["cell"] == 2
    assert len(alice_channel.presence_state()["bob"]) == 1, "the old meta left"
    key, left = await leaves.next()
    assert (key, left[0]["cell"]) == ("bob", 1), "an update also sends the old meta as a leave"

    await bob.remove_channel(bob_channel)
    key, left = await leaves.until(lambda item: item[0] == "bob")
    assert left[0]["cell"] == 2
    assert set(alice_channel.presence_state()) == {"alice"}


async def test_presence_of_a_killed_client_is_cleaned_up(server: ServerProcess, client_factory) -> None:
    alice = await client_factory()
    leaves = Inbox()
    channel = alice.channel("lobby", {"config": {"presence": {"key": "alice"}}}).on_presence_leave(
        lambda key, current, left: leaves(key)
    )
    view = PresenceWatcher(channel)
    await subscribed(channel)
    peer = subprocess.Popen(
        [sys.executable, str(PEER), server.url, server.anon_key, "lobby", "ghost"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert peer.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(peer.stdout.readline), 20)
        assert line.strip() == "tracked"
        await view.until(lambda state: "ghost" in state)
        peer.kill()
        assert await leaves.until(lambda key: key == "ghost") == "ghost"
        assert "ghost" not in channel.presence_state()
    finally:
        peer.kill()
        peer.wait()
        peer.stdout.close()


async def test_join_with_a_user_token_and_refuse_a_forged_one(server: ServerProcess, client_factory) -> None:
    client = await client_factory()
    await client.realtime.set_auth(user_token(server, "11111111-1111-1111-1111-111111111111"))
    await subscribed(client.channel("members"))

    forged = await client_factory()
    await forged.realtime.set_auth(user_token(server, "2", secret="not-the-secret-" * 3))
    states: list = []
    await forged.channel("members").subscribe(lambda state, error: states.append((state, error)))
    assert states[0][0] == RealtimeSubscribeStates.CHANNEL_ERROR
    assert "JwtSignatureError" in str(states[0][1])


async def test_forged_api_key_cannot_open_a_socket(server: ServerProcess) -> None:
    import websockets

    forged = user_token(server, "x", secret="wrong-secret-" * 4)
    url = server.url.replace("http", "ws") + f"/realtime/v1/websocket?apikey={forged}&vsn=1.0.0"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url):
            pass
    assert refused.value.response.status_code == 401
    assert "JwtSignatureError" in json.loads(refused.value.response.body)["error"]


async def test_private_room_needs_membership(server: ServerProcess, client_factory) -> None:
    anonymous = await client_factory()
    states: list = []
    await anonymous.channel("secret-room", {"config": {"private": True}}).subscribe(
        lambda state, error: states.append((state, error))
    )
    assert states[0][0] == RealtimeSubscribeStates.CHANNEL_ERROR
    assert "Unauthorized" in str(states[0][1])

    service = await client_factory(key=server.service_role_key)
    await subscribed(service.channel("secret-room", {"config": {"private": True}}))


async def test_http_broadcast_endpoints_reach_subscribers(server: ServerProcess, client_factory) -> None:
    client = await client_factory()
    inbox = Inbox()
    channel = client.channel("news").on_broadcast("headline", inbox)
    await subscribed(channel)
    headers = {"apikey": server.anon_key, "Authorization": f"Bearer {server.anon_key}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        batch = {"messages": [{"topic": "news", "event": "headline", "payload": {"n": 1}}]}
        assert (await http.post("/realtime/v1/api/broadcast", json=batch)).status_code == 202
        assert (await inbox.next())["payload"] == {"n": 1}
        single = await http.post("/realtime/v1/api/broadcast/news/events/headline", json={"n": 2})
        assert single.status_code == 202
        assert (await inbox.next())["payload"] == {"n": 2}
        bad = await http.post("/realtime/v1/api/broadcast", json={"messages": [{"topic": "news"}]})
        assert bad.status_code == 422 and "event" in bad.json()["message"]
        forged = await http.post("/realtime/v1/api/broadcast", json=batch, headers={"Authorization": "Bearer nonsense"})
        assert forged.status_code == 401
    await channel.http_send("headline", {"n": 3})
    assert (await inbox.next())["payload"] == {"n": 3}
