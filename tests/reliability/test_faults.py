"""Faults: the server SIGKILLed under load, connections cut by a proxy, a frozen client, a broken disk.

After each fault: everything resumes, every durable write (a notification row) exists exactly once on the server and
reaches its recipient exactly once, and presence tells the truth.
"""

from __future__ import annotations

import os
import resource
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

import nbrealtime
from nbrealtime.launcher import ServerProcess, start_server
from tests.client.support import Events, Peer, until_members
from tests.reliability.support import (
    WAIT,
    Bystander,
    Inbox,
    SyncSocket,
    TcpProxy,
    assert_log_clean,
    assert_no_traceback,
    fresh_client_works,
    log_mark,
    rest_headers,
)

NAMES = ("alice", "bob", "carol")


def _all_online(names: tuple[str, ...]) -> Any:
    return lambda roster: all(name in roster and roster[name].status == "online" for name in names)


def _peer_sees_online(peer: Peer, names: tuple[str, ...], what: str) -> None:
    peer.events.expect(
        lambda e: "members" in e and {m["name"] for m in e["members"] if m["status"] == "online"} >= set(names),
        timeout=60,
        what=what,
    )


def _events_of(peer: Peer) -> list[dict[str, Any]]:
    """Everything the peer reported that no expect() consumed yet."""
    while not peer.events.queue.empty():
        peer.events.seen.append(peer.events.queue.get_nowait())
    return list(peer.events.seen)


def _rows(server: ServerProcess, table: str, query: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.url}/rest/v1/{table}?{query}", headers=rest_headers(server, apikey=server.service_role_key)
    )
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------------------------------------------- (a) SIGKILL


def test_sigkill_and_restart_under_several_clients(server: ServerProcess, env, peers, rooms) -> None:
    for name in NAMES:
        peers.append(Peer("lab", name, env))
        if len(peers) == 1:
            peers[0].do("open")
    by_name = dict(zip(NAMES, peers, strict=True))
    dave = nbrealtime.connect("lab", user="dave")
    rooms.append(dave)
    everyone = (*NAMES, "dave")
    until_members(dave, _all_online(everyone), "everyone online before the fault", timeout=60)
    dave_inbox, dave_notes, statuses = Events(), Events(), Events()
    dave.on("*", lambda payload, sender: dave_inbox.put((sender.name, payload)))
    dave.notifications.on_new(dave_notes.put)
    dave.on_status(statuses.put)
    for index, name in enumerate(NAMES):
        by_name[name].do("notify", to=NAMES[(index + 1) % 3], title=f"before from {name}")
    for index, name in enumerate(NAMES):
        by_name[NAMES[(index + 1) % 3]].events.expect(lambda e, n=name: e.get("notification") == f"before from {n}")

    server.kill()
    statuses.expect(lambda status: status == "reconnecting", what="dave to notice the server died")
    for peer in peers:  # forget presence seen before the kill: only rosters built by the new server count
        peer.events.seen = [event for event in _events_of(peer) if "members" not in event]
    restarted = server.restart()
    try:
        # Written while the clients are still reconnecting: catch-up read or change event, but exactly once.
        during = {
            "id": str(uuid.uuid4()), "room": "lab", "recipient": peers[1].user_id, "sender": peers[0].user_id,
            "title": "written during the reconnect",
        }  # fmt: skip
        response = httpx.post(
            f"{restarted.url}/rest/v1/nbrt_notifications",
            json=during,
            headers=rest_headers(restarted, apikey=restarted.service_role_key),
        )
        assert response.status_code == 201, response.text
        statuses.expect(lambda status: status == "connected", timeout=60, what="dave to reconnect")

        # Broadcasts are not queued for absent members (as in Supabase), so first wait until everyone has rejoined:
        # a roster from the new server with all four online means all four tracked there, i.e. have joined.
        for name in NAMES:
            _peer_sees_online(by_name[name], everyone, f"{name} to see everyone back")
        until_members(dave, _all_online(everyone), "dave to see everyone back", timeout=60)
        for name in NAMES:
            by_name[name].do("send", event="after", payload={"from": name})
        for name in NAMES:
            dave_inbox.expect(lambda item, n=name: item == (n, {"from": n}), timeout=60, what=f"{name}'s message")
            for other in NAMES:
                if other != name:
                    by_name[other].events.expect(
                        lambda e, n=name: e.get("message") and e["sender"] == n, timeout=60, what=f"{name} → {other}"
                    )
        for index, name in enumerate(NAMES):
            by_name[name].do("notify", to=NAMES[(index + 1) % 3], title=f"after from {name}")
            by_name[name].do("notify", to="dave", title=f"to dave from {name}")
        # A last notification to each peer, after everything else: once it has arrived, any duplicate would have too.
        for name in NAMES:
            dave.notify(name, "marker")
        for name in NAMES:
            by_name[name].events.expect(lambda e: e.get("notification") == "marker", timeout=60)
            dave_notes.expect(lambda n, who=name: n.title == f"to dave from {who}", timeout=60)

        for index, name in enumerate(NAMES):
            titles = [e["notification"] for e in _events_of(by_name[name]) if "notification" in e]
            sender = NAMES[(index - 1) % 3]
            assert titles.count(f"after from {sender}") == 1, (name, titles)
            assert f"before from {sender}" not in titles, f"{name} was re-notified of an old notification: {titles}"
        bob_titles = [e["notification"] for e in _events_of(by_name["bob"]) if "notification" in e]
        assert bob_titles.count(during["title"]) == 1, bob_titles
        assert [n.title for n in dave.notifications.all].count("to dave from alice") == 1
        assert dave_notes.queue.empty(), "no duplicate notification callbacks in dave's kernel"
        for title in ["marker", during["title"], *(f"{w} from {n}" for n in NAMES for w in ("before", "after"))]:
            rows = _rows(restarted, "nbrt_notifications", f"title=eq.{title}&select=id,recipient")
            expected = 3 if title == "marker" else 1
            assert len(rows) == expected, (title, rows)

        # Presence is rebuilt from scratch by the new server: everybody is back, nobody twice.
        roster = until_members(dave, _all_online(everyone), "everyone online after the restart", timeout=60)
        assert sorted(roster) == sorted(everyone)
        for name in NAMES:
            latest = [event["members"] for event in _events_of(by_name[name]) if "members" in event]
            if latest:  # the newest roster a peer reported lists each member once, all online
                assert sorted((m["name"], m["status"]) for m in latest[-1]) == [(n, "online") for n in sorted(everyone)]
        assert_log_clean(restarted)
    finally:
        for room in rooms:
            room.close()
        rooms.clear()
        restarted.stop()


# ---------------------------------------------------------------------------------------------------- (b) TCP proxy


@pytest.fixture
def proxy(server: ServerProcess):
    running = TcpProxy(server.port)
    yield running
    running.close()


def _status_log(room: nbrealtime.Room) -> Events:
    statuses = Events()
    room.on_status(statuses.put)
    return statuses


def test_connections_severed_and_frames_truncated_by_a_proxy(server, proxy, kernel_env, rooms) -> None:
    alice = nbrealtime.connect("cut", user="alice", url=proxy.url, key=server.anon_key)
    bob = nbrealtime.connect(invite=alice.invite(), user="bob", url=proxy.url, key=server.anon_key)
    rooms.extend([alice, bob])
    until_members(alice, _all_online(("alice", "bob")), "both online through the proxy")
    bob_inbox, bob_notes = Inbox(), Inbox()
    bob.on("*", lambda payload, sender: bob_inbox.put(payload))
    bob.notifications.on_new(bob_notes.put)
    alice_status, bob_status = _status_log(alice), _status_log(bob)
    assert proxy.websocket_count() == 2
    mark = log_mark(server)

    # 1. Every connection reset at once: both rooms notice, rejoin, and carry on.
    assert proxy.sever() >= 2
    for statuses in (alice_status, bob_status):
        statuses.expect(lambda s: s == "reconnecting", what="the drop to be noticed")
        statuses.expect(lambda s: s == "connected", timeout=60, what="the rejoin")
    alice.send("n", {"i": 1})
    bob_inbox.wait_for(lambda p: p == {"i": 1}, what="a message after the reset")
    alice.notify("bob", "after the reset")
    bob_notes.wait_for(lambda n: n.title == "after the reset")

    # 2. A server→client frame cut in half: the receiver drops that socket, rejoins, and never sees half a message.
    proxy.truncate_next("down", min_bytes=20_000)
    blob = secrets.token_urlsafe(75_000)  # incompressible: permessage-deflate must not shrink it below a chunk
    alice.send("big", {"blob": blob})
    assert proxy.truncated.wait(WAIT), "the big frame went through the proxy"
    bob_status.expect(lambda s: s == "reconnecting", what="bob to notice the cut")
    alice.notify("bob", "while bob was cut off")  # durable: reaches bob by change event or catch-up
    bob_status.expect(lambda s: s == "connected", timeout=60, what="bob to rejoin")
    alice.send("n", {"i": 2})
    bob_inbox.wait_for(lambda p: p == {"i": 2}, what="a message after the cut")
    bob_notes.wait_for(lambda n: n.title == "while bob was cut off")

    # 3. A client→server frame cut in half: the server drops only that socket; bob does not notice.
    bob_status.seen.clear()
    proxy.truncate_next("up", min_bytes=20_000)
    with pytest.raises(nbrealtime.AckTimeout):
        alice.send("big", {"blob": secrets.token_urlsafe(75_000)}, timeout=5)
    assert proxy.truncated.is_set()
    alice.wait_connected(60)
    alice.send("n", {"i": 3})
    bob_inbox.wait_for(lambda p: p == {"i": 3}, what="a message after the upstream cut")
    assert bob_status.queue.empty(), f"bob noticed alice's cut: {bob_status.queue.get_nowait()}"

    received = bob_inbox.drain()
    assert [p for p in received if isinstance(p, dict) and "i" in p] == [{"i": 1}, {"i": 2}, {"i": 3}]
    assert all(p.get("blob", blob) == blob for p in received), "a partial frame was delivered"
    titles = [n.title for n in bob.notifications.all]
    assert titles.count("after the reset") == 1 and titles.count("while bob was cut off") == 1, titles
    assert len([n for n in bob_notes.drain() if n.title == "while bob was cut off"]) == 1
    rows = _rows(server, "nbrt_notifications", "room=eq.cut&select=title")
    assert sorted(row["title"] for row in rows) == ["after the reset", "while bob was cut off"]
    assert_log_clean(server, mark)
    fresh_client_works(server)


# ---------------------------------------------------------------------------------------------------- (c) SIGSTOP


def test_frozen_client_recovers_and_others_keep_going(server: ServerProcess, env, peers, rooms) -> None:
    bob = Peer("ice", "bob", env)
    bob.do("open")
    carol = Peer("ice", "carol", env)
    peers.extend([bob, carol])
    alice = nbrealtime.connect("ice", user="alice")
    rooms.append(alice)
    until_members(alice, _all_online(("alice", "bob", "carol")), "everyone online")
    inbox, notes = Inbox(), Inbox()
    alice.on("*", lambda payload, sender: inbox.put((sender.name, payload)))
    alice.notifications.on_new(notes.put)

    os.kill(bob.process.pid, signal.SIGSTOP)
    try:
        for i in range(20):
            alice.send("while-frozen", {"i": i})
        carol.events.expect(lambda e: e.get("message") and e["payload"] == {"i": 19}, what="carol to keep receiving")
        carol.do("send", event="hello", payload={"from": "carol"})
        inbox.wait_for(lambda item: item == ("carol", {"from": "carol"}), what="carol's message while bob is frozen")
        carol.do("notify", to="bob", title="for frozen bob")
        carol.do("notify", to="alice", title="for alice")
        notes.wait_for(lambda n: n.title == "for alice")
        fresh_client_works(server)
    finally:
        os.kill(bob.process.pid, signal.SIGCONT)

    # Bob's socket survived the freeze: what was sent meanwhile is delivered, in order, exactly once.
    bob.events.expect(lambda e: e.get("notification") == "for frozen bob", what="bob's notification after thawing")
    bob.events.expect(lambda e: e.get("message") and e["payload"] == {"i": 19}, what="bob to catch up")
    frozen = [e["payload"]["i"] for e in _events_of(bob) if e.get("message") and "i" in (e["payload"] or {})]
    assert [*frozen, 19] == list(range(20)), frozen  # 19 itself was taken by the expect() above
    bob.do("send", event="thawed", payload={"from": "bob"})
    inbox.wait_for(lambda item: item == ("bob", {"from": "bob"}), what="bob's message after thawing")
    roster = until_members(alice, _all_online(("alice", "bob", "carol")), "bob online after thawing")
    assert sum(member.name == "bob" for member in roster.values()) == 1
    assert_log_clean(server)


# ---------------------------------------------------------------------------------------------------- (d) disk


def _serve_command(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nbrealtime", "serve", "--data-dir", str(data_dir), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_data_dir_under_a_file_fails_without_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory")
    for data_dir in (blocker, blocker / "sub"):
        result = _serve_command(data_dir)
        assert result.returncode == 1, result
        assert_no_traceback(result.stderr + result.stdout, "serve's output")
        assert result.stderr.startswith("nbrealtime serve: "), result.stderr
    assert blocker.read_text() == "a file, not a directory"


def test_data_dir_that_is_a_file_is_named_in_the_error(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    result = _serve_command(blocker)
    assert "cannot listen" not in result.stderr and str(blocker) in result.stderr, result.stderr


def test_unopenable_database_is_a_clear_error(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "nbrealtime.sqlite3").mkdir(parents=True)
    result = _serve_command(data_dir)
    assert result.returncode == 1
    assert_no_traceback(result.stderr + result.stdout, "serve's output")
    assert "nbrealtime.sqlite3" in result.stderr


class DiskFull:
    """Make the server's files unable to grow (RLIMIT_FSIZE on its process: writes fail with EFBIG, as on a full
    disk, even for root); lifted again on exit."""

    def __init__(self, server: ServerProcess, headroom: int = 4096) -> None:
        self.pid = server.process.pid
        self.limit = max(path.stat().st_size for path in server.data_dir.iterdir() if path.is_file()) + headroom

    def __enter__(self) -> DiskFull:
        resource.prlimit(self.pid, resource.RLIMIT_FSIZE, (self.limit, resource.RLIM_INFINITY))
        return self

    def __exit__(self, *_: Any) -> None:
        resource.prlimit(self.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def _service(server: ServerProcess) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/rest/v1", headers=rest_headers(server, apikey=server.service_role_key), timeout=WAIT
    )


def test_disk_full_mid_run_loses_nothing_and_recovers(server: ServerProcess) -> None:
    bystander = Bystander(server)
    watcher = SyncSocket(server, key=server.service_role_key)
    watcher.join("rooms", {"postgres_changes": [{"event": "*", "schema": "public", "table": "nbrt_rooms"}]})
    with _service(server) as client:
        assert client.post("/nbrt_rooms", json={"name": "before"}).status_code == 201
        watcher.receive_until(lambda m: m["event"] == "postgres_changes")
        with DiskFull(server):
            failed = client.post("/nbrt_rooms", json={"name": "big-" + "x" * 300_000})
            assert 400 <= failed.status_code < 600 and failed.status_code not in (401, 403), failed.status_code
            assert_no_traceback(failed.text)
            # Reads and realtime keep working while the disk is full.
            assert [row["name"] for row in client.get("/nbrt_rooms?select=name").json()] == ["before"]
            bystander.check()
        assert client.post("/nbrt_rooms", json={"name": "after"}).status_code == 201
        change = watcher.receive_until(lambda m: m["event"] == "postgres_changes")
        assert change["payload"]["data"]["record"]["name"] == "after", "no change event for the failed write"
        assert sorted(row["name"] for row in client.get("/nbrt_rooms?select=name").json()) == ["after", "before"]
    bystander.check()
    bystander.close()
    watcher.close()
    server.stop()
    import sqlite3

    connection = sqlite3.connect(server.data_dir / "nbrealtime.sqlite3")
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert sorted(r[0] for r in connection.execute("SELECT name FROM nbrt_rooms")) == ["after", "before"]
    finally:
        connection.close()


def test_disk_full_write_answers_error_json(server: ServerProcess) -> None:
    mark = log_mark(server)
    with _service(server) as client, DiskFull(server):
        failed = client.post("/nbrt_rooms", json={"name": "big-" + "x" * 300_000})
    assert failed.headers["content-type"].startswith("application/json"), failed.text
    assert set(failed.json()) >= {"code", "message"}
    assert_log_clean(server, mark)


def test_second_server_started_on_a_killed_servers_data_dir_reuses_it(tmp_path: Path) -> None:
    """A SIGKILL leaves a stale lock file and discovery file behind; the next start must not be blocked by them."""
    first = start_server(tmp_path / "data")
    with _service(first) as client:
        assert client.post("/nbrt_rooms", json={"name": "kept"}).status_code == 201
    first.kill()
    assert (tmp_path / "data" / "server.json").exists(), "SIGKILL leaves the discovery file"
    second = first.restart()
    try:
        with _service(second) as client:
            assert [row["name"] for row in client.get("/nbrt_rooms?select=name").json()] == ["kept"]
    finally:
        second.stop()


def _flood_until_dropped(server: ServerProcess, topic: str) -> int:
    """HTTP-broadcast incompressible messages to the private room channel ``topic`` (as the service role) until the
    server gives up on a consumer that does not read (its log says so); return how many were sent."""
    log = server.data_dir / "server.log"
    sent = 0
    with httpx.Client(timeout=WAIT) as client:
        while "does not read its messages" not in log.read_text():
            assert sent < 200_000, "the server never noticed the frozen consumer"
            messages = [
                {"topic": topic, "event": "nbrt:flood", "payload": {"b": secrets.token_urlsafe(600)}, "private": True}
                for _ in range(500)
            ]  # each one different: permessage-deflate must not squeeze them into the buffers
            response = client.post(
                f"{server.url}/realtime/v1/api/broadcast",
                json={"messages": messages},
                headers=rest_headers(server, server.service_role_key),
            )
            assert response.status_code == 202, response.text
            sent += len(messages)
    return sent


def _presence_keys(server: ServerProcess, topic: str) -> set[str]:
    with SyncSocket(server, key=server.service_role_key) as sock:  # a room's channel is private
        sock.join(topic, {"presence": {"key": "observer"}, "private": True})
        return set(sock.receive_until(lambda m: m["event"] == "presence_state")["payload"])


def test_frozen_slow_consumer_is_given_up_and_others_are_unharmed(server: ServerProcess, env, peers) -> None:
    bob = Peer("slow", "bob", env)
    peers.append(bob)
    bystander = Bystander(server)
    assert _presence_keys(server, "nbrt:slow") == {bob.user_id}
    os.kill(bob.process.pid, signal.SIGSTOP)
    try:
        _flood_until_dropped(server, "nbrt:slow")
        bystander.check()
        fresh_client_works(server)
    finally:
        os.kill(bob.process.pid, signal.SIGCONT)
    assert_log_clean(server)
    bystander.close()


def test_frozen_slow_consumer_leaves_presence(server: ServerProcess, env, peers) -> None:
    bob = Peer("slow", "bob", env)
    peers.append(bob)
    os.kill(bob.process.pid, signal.SIGSTOP)
    try:
        _flood_until_dropped(server, "nbrt:slow")
        deadline = time.monotonic() + 8
        keys = _presence_keys(server, "nbrt:slow")
        while keys and time.monotonic() < deadline:  # re-read presence until the ghost is gone (or 8 s)
            keys = _presence_keys(server, "nbrt:slow")
        assert keys == set(), "the frozen client still haunts presence"
    finally:
        os.kill(bob.process.pid, signal.SIGCONT)
