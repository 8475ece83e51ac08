"""Two kernels (this process and a peer subprocess) in one room on the embedded server."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from realtime import AsyncRealtimeClient

import nbrealtime
from nbrealtime.launcher import ServerProcess
from tests.client.support import Events, Peer, open_room, until_members


def test_messages_both_ways_with_sender(rooms, peers, env) -> None:
    alice = nbrealtime.connect("lab", user="alice")
    rooms.append(alice)
    open_room(alice)
    inbox = Events()
    alice.on("greet", lambda payload, sender: inbox.put((payload, sender.name)))
    bob = Peer("lab", "bob", env)
    peers.append(bob)

    bob.do("send", event="greet", payload={"text": "hi alice"})
    assert inbox.expect(lambda item: True) == ({"text": "hi alice"}, "bob")

    alice.send("greet", ["any", "json", 1])
    message = bob.events.expect(lambda e: "message" in e, what="alice's message")
    assert (message["payload"], message["sender"]) == (["any", "json", 1], "alice")


def test_send_rejects_bad_events_and_payloads(rooms, env) -> None:
    room = nbrealtime.connect("lab", user="alice")
    rooms.append(room)
    with pytest.raises(ValueError, match="reserved"):
        room.send("nbrt:internal", {})
    with pytest.raises(TypeError, match="JSON"):
        room.send("x", {"not": object()})
    decorated = room.on("*")(lambda payload, sender: None)
    assert callable(decorated)


def test_same_user_keeps_identity_across_reconnects(rooms, env) -> None:
    first = nbrealtime.connect("lab", user="carol")
    first_id = first.me.id
    second = nbrealtime.connect("lab", user="carol")
    rooms.append(second)
    assert second.me.id == first_id
    assert first.status == "closed", "re-running connect() replaces the earlier connection"
    assert repr(second) == "<Room 'lab' as carol: connected, 1 here>"


def test_presence_cell_away_and_killed_peer(rooms, peers, env) -> None:
    alice = nbrealtime.connect("lab", user="alice")
    rooms.append(alice)
    open_room(alice)
    bob = Peer("lab", "bob", env, "2")
    peers.append(bob)
    until_members(alice, lambda m: "bob" in m and m["bob"].status == "online", "bob online")

    bob.do("presence", cell="cell-3", activity="editing")
    roster = until_members(alice, lambda m: m["bob"].cell == "cell-3", "bob in cell-3")
    assert roster["bob"].activity == "editing"
    until_members(alice, lambda m: m["bob"].status == "away", "bob away after idling")
    bob.do("presence", activity="typing")
    until_members(alice, lambda m: m["bob"].status == "online", "bob online again when active")

    bob.kill()
    roster = until_members(alice, lambda m: m["bob"].status == "offline", "bob offline after being killed")
    assert roster["bob"].last_seen is not None and roster["bob"].cell is None
    assert [m.name for m in alice.presence.members] == ["alice", "bob"], "online first"


def test_notifications_to_a_person_and_the_room(rooms, peers, env) -> None:
    alice = nbrealtime.connect("lab", user="alice")
    rooms.append(alice)
    open_room(alice)
    arrived = Events()
    alice.notifications.on_new(arrived.put)
    bob = Peer("lab", "bob", env)
    peers.append(bob)
    bob.do("notify", to="alice", title="Look at cell 3")
    notification = arrived.expect(lambda n: n.title == "Look at cell 3", what="the notification")
    assert notification.sender == "bob" and not notification.read
    assert alice.notifications.unread_count == 1

    alice.notifications.mark_read(notification.id)
    assert alice.notifications.unread_count == 0

    _wait_until_known(alice, "bob")
    alice.notify("room", "Meeting in 5")
    bob.events.expect(lambda e: e.get("notification") == "Meeting in 5", what="bob's room notification")

    with pytest.raises(ValueError, match="no member named 'zed'"):
        alice.notify("zed", "hello")


def test_unread_count_survives_restart_and_offline_delivery(rooms, peers, env) -> None:
    alice = nbrealtime.connect("lab", user="alice")
    open_room(alice)
    bob = Peer("lab", "bob", env)
    peers.append(bob)
    _wait_until_known(alice, "bob")
    alice.close()

    bob.do("notify", to="alice", title="while you were away")
    again = nbrealtime.connect("lab", user="alice")
    rooms.append(again)
    assert [n.title for n in again.notifications.unread] == ["while you were away"]
    again.notifications.mark_read(again.notifications.unread[0].id)
    again.close()
    third = nbrealtime.connect("lab", user="alice")
    rooms.append(third)
    assert third.notifications.unread_count == 0, "mark-as-read was persisted"


def test_server_restart_under_connected_rooms(server: ServerProcess, rooms, peers, env) -> None:
    alice = nbrealtime.connect("lab", user="alice")
    rooms.append(alice)
    open_room(alice)
    inbox = Events()
    alice.on("after", lambda payload, sender: inbox.put(payload))
    arrived = Events()
    alice.notifications.on_new(arrived.put)
    bob = Peer("lab", "bob", env)
    peers.append(bob)
    _wait_until_known(alice, "bob")
    statuses = Events()
    alice.on_status(statuses.put)

    server.kill()
    statuses.expect(lambda status: status == "reconnecting", what="alice to notice the server died")
    restarted = server.restart()
    try:
        statuses.expect(lambda status: status == "connected", timeout=60, what="alice to reconnect")
        bob.do("send", event="after", payload={"n": 1})
        assert inbox.expect(lambda item: True, timeout=60) == {"n": 1}
        bob.do("notify", to="alice", title="after restart")
        arrived.expect(lambda n: n.title == "after restart")
        assert [n.title for n in alice.notifications.all].count("after restart") == 1
        assert arrived.queue.empty(), "no duplicate notification callbacks"
    finally:
        restarted.stop()


def _wait_until_known(room: nbrealtime.Room, name: str) -> None:
    until_members(room, lambda members: name in members, f"{name} to be known")


def test_a_browser_reporting_away_directly_moves_its_own_kernel_too(rooms, peers, env, server) -> None:
    """The page broadcasts its user's activity on its own socket (it must not wait for a busy kernel): the others
    see it at once, and this user's kernel adopts the status so its next presence track agrees."""
    alice = nbrealtime.connect("lab", user="alice")
    rooms.append(alice)
    open_room(alice)
    bob = Peer("lab", "bob", env, "2")
    peers.append(bob)
    until_members(alice, lambda m: "bob" in m, "bob here")

    async def page_reports(status: str) -> None:
        page = AsyncRealtimeClient(f"{server.url}/realtime/v1", token=server.anon_key, auto_reconnect=False)
        await page.set_auth(alice.browser_link()["token"])
        await page.connect()
        config = {"broadcast": {"ack": True, "self": False}, "private": True}
        channel = page.channel(alice.browser_link()["topic"], {"config": config})
        joined = asyncio.Event()
        await channel.subscribe(lambda state, error: joined.set())
        await asyncio.wait_for(joined.wait(), 10)
        state = {"name": "alice", "status": status, "updated_at": datetime.now(UTC).isoformat()}
        await channel.send_broadcast("nbrt:presence", {"sender": alice.me.id, "data": state})
        await page.close()

    asyncio.run(page_reports("away"))
    bob.events.expect(
        lambda e: any(m["name"] == "alice" and m["status"] == "away" for m in e.get("members", [])),
        what="alice away on bob's side",
    )
    until_members(alice, lambda m: m["alice"].status == "away", "alice away in her own kernel")
    assert alice.presence.status == "away"
    asyncio.run(page_reports("online"))
    until_members(alice, lambda m: m["alice"].status == "online", "alice back in her own kernel")
    assert alice.presence.status == "online"


def test_every_channel_keeps_working_across_short_lived_tokens(start, rooms, monkeypatch) -> None:
    """A room's channel, its cells' channel and a table's all refresh one session: they must queue for it, not block
    the loop on the identity file's lock (which deadlocked the kernel at its first refresh)."""
    server = start("--jwt-expiry", "6")
    monkeypatch.setenv("NBREALTIME_DATA_DIR", str(server.data_dir))
    room = nbrealtime.connect("tokens", user="alice")
    rooms.append(room)
    cell = room.cell("notes")
    tasks = room.collection("tasks")
    first = room._auth.session.expires_at
    deadline = time.monotonic() + 40
    while room._auth.session.expires_at < first + 12:  # two lifetimes later
        assert time.monotonic() < deadline, "the session was not refreshed"
        time.sleep(0.2)
    room.send("still-here", {"ok": True})
    cell.set("fine")
    assert tasks.insert({"title": "after two refreshes"}).wait(timeout=20) == "confirmed"
    assert room.status == "connected"
