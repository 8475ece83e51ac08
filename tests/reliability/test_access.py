"""Access through realtime: the REST policy matrix replayed on the change-event path, private channels, bad tokens on
every path, the loopback-only bind and the private files.

"Receives nothing" is proven, not waited for: after the writes under test a row everyone may read is written to the
public ``guestbook`` table, and every subscriber waits for it. Changes are delivered in commit order on each socket,
so once the barrier is in, any event the subscriber was going to get is in too.
"""

from __future__ import annotations

import asyncio
import stat
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets.sync.client as ws_sync
from realtime import AsyncRealtimeClient, RealtimeSubscribeStates
from websockets.exceptions import InvalidStatus

import nbrealtime
from nbrealtime.launcher import ServerProcess, start_server
from tests.policy_cases import ACTORS, BUILTIN_CASES, CHANNEL_ACCESS, PolicyCase, resolve
from tests.reliability.support import (
    SCHEMA,
    SyncSocket,
    assert_log_clean,
    assert_no_traceback,
    bad_tokens,
    free_port,
    mint,
    rest_headers,
    ws_url,
)

ALICE = "0a11ce00-0000-4000-8000-00000000000a"
BOB = "0b0b0000-0000-4000-8000-00000000000b"
USER_IDS = {"A": ALICE, "B": BOB}
TABLES = (
    "nbrt_cell_updates", "nbrt_cells", "nbrt_collection_rows", "nbrt_notebook_updates", "nbrt_notebooks",
    "nbrt_notebook_outputs", "nbrt_notifications", "nbrt_profiles", "nbrt_room_members", "nbrt_rooms",
    "nbrt_room_invites",
)  # fmt: skip
KEYS = {
    "nbrt_profiles": ("id",), "nbrt_rooms": ("name",), "nbrt_room_members": ("room", "user_id"),
    "nbrt_notifications": ("id",), "nbrt_cells": ("room", "name"), "nbrt_cell_updates": ("seq",),
    "nbrt_collection_rows": ("room", "collection", "id"), "nbrt_room_invites": ("id",),
    "nbrt_notebooks": ("room", "id"), "nbrt_notebook_updates": ("seq",),
    "nbrt_notebook_outputs": ("room", "notebook", "id"),
}  # fmt: skip
OWNER_COLUMN = {"nbrt_profiles": "id", "nbrt_notifications": "sender"}
UPDATES = {
    "nbrt_profiles": {"color": "#000000"}, "nbrt_rooms": {"created_at": "2030-01-01T00:00:00+00:00"},
    "nbrt_room_members": {"name": "renamed"}, "nbrt_notifications": {"message": "edited"},
    "nbrt_cells": {"snapshot": "AAI="}, "nbrt_cell_updates": {"data": "BgA="},
    "nbrt_collection_rows": {"version": 7}, "nbrt_room_invites": {"revoked": True},
    "nbrt_notebooks": {"snapshot": "AAI="}, "nbrt_notebook_updates": {"data": "BgA="},
    "nbrt_notebook_outputs": {"bytes": 10},
}  # fmt: skip
# Filters a curious user might try on someone else's rows; none may widen what the policies allow.
HOSTILE_FILTERS = {
    "nbrt_notifications": [f"recipient=eq.{ALICE}", f"sender=eq.{ALICE}", f"recipient=in.({ALICE},{BOB})",
                           "id=neq.00000000-0000-4000-8000-000000000000", "room=eq.r1"],
    "nbrt_room_members": [f"user_id=eq.{ALICE}", "room=eq.r1", "room=neq.nowhere"],
    "nbrt_profiles": [f"id=eq.{ALICE}", "name=neq.nobody"],
    "nbrt_rooms": ["name=eq.r1", "name=neq.x"],
    "nbrt_cells": ["room=eq.r1", "name=neq.x"],
    "nbrt_cell_updates": ["room=eq.r1", "seq=neq.0", "seq=gt.-1"],
    "nbrt_collection_rows": ["room=eq.r1", "id=neq.0", "collection=eq.todos"],
    "nbrt_room_invites": ["room=eq.r1", "revoked=eq.false", "role=eq.editor"],
    "nbrt_notebooks": ["room=eq.r1", "id=neq.x"],
    "nbrt_notebook_updates": ["room=eq.r1", "seq=neq.0", "seq=gt.-1"],
    "nbrt_notebook_outputs": ["room=eq.r1", "id=neq.x", "bytes=gt.0"],
}  # fmt: skip


@pytest.fixture(scope="module")
def matrix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("matrix"), ["--port", "0", "--schema", str(SCHEMA)])
    yield process
    process.stop()


def _token(server: ServerProcess, actor: str) -> str | None:
    """The access token an actor's client uses (None: the socket's API key alone)."""
    if actor in USER_IDS:
        return mint(server, USER_IDS[actor])
    return None


def _key(server: ServerProcess, actor: str) -> str:
    return server.service_role_key if actor == "service_role" else server.anon_key


def _actor_headers(server: ServerProcess, actor: str) -> dict[str, str]:
    return rest_headers(server, _token(server, actor), apikey=_key(server, actor))


@dataclass
class Subscriber:
    """One actor's official Python realtime client, subscribed with ``on_postgres_changes``."""

    label: str
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    barriers: set[str] = field(default_factory=set)
    client: AsyncRealtimeClient | None = None

    async def open(self, server: ServerProcess, actor: str, bindings: list[tuple[str, str | None]]) -> None:
        self._arrived = asyncio.Event()
        self.client = AsyncRealtimeClient(
            f"{server.url}/realtime/v1", token=_key(server, actor), auto_reconnect=False, max_retries=1
        )
        await self.client.connect()
        token = _token(server, actor)
        if token is not None:
            await self.client.set_auth(token)
        channel = self.client.channel(f"matrix-{uuid.uuid4().hex[:8]}")
        for table, row_filter in bindings:
            channel.on_postgres_changes("*", self._record(table), table=table, filter=row_filter)
        channel.on_postgres_changes("INSERT", self._barrier, table="guestbook")
        states: asyncio.Queue[RealtimeSubscribeStates] = asyncio.Queue()
        await channel.subscribe(lambda state, _error: states.put_nowait(state))
        state = await asyncio.wait_for(states.get(), 10)
        assert state == RealtimeSubscribeStates.SUBSCRIBED, (self.label, state)

    def _record(self, table: str) -> Any:
        def callback(payload: dict[str, Any]) -> None:
            data = payload["data"]
            self.events.append((table, data["type"], data.get("record") or data.get("old_record") or {}))

        return callback

    def _barrier(self, payload: dict[str, Any]) -> None:
        self.barriers.add(payload["data"]["record"]["id"])
        self._arrived.set()

    async def wait_barrier(self, barrier: str, timeout: float = 15) -> None:
        async with asyncio.timeout(timeout):
            while barrier not in self.barriers:
                self._arrived.clear()
                await self._arrived.wait()

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()


@pytest.fixture
async def subscribers() -> AsyncIterator[list[Subscriber]]:
    opened: list[Subscriber] = []
    yield opened
    for subscriber in opened:
        await subscriber.close()


async def _barrier(http: httpx.AsyncClient, server: ServerProcess, subscribers: list[Subscriber]) -> None:
    barrier = str(uuid.uuid4())
    response = await http.post(
        f"{server.url}/rest/v1/guestbook", json={"id": barrier, "message": "barrier"}, headers=rest_headers(server)
    )
    assert response.status_code == 201, response.text
    await asyncio.gather(*(subscriber.wait_barrier(barrier) for subscriber in subscribers))


async def _reset(http: httpx.AsyncClient, server: ServerProcess) -> None:
    service = rest_headers(server, apikey=server.service_role_key)
    for table in TABLES:
        key = KEYS[table][0]
        response = await http.delete(f"{server.url}/rest/v1/{table}?{key}=not.is.null", headers=service)
        assert response.status_code == 204, response.text


def _key_filter(table: str, row: dict[str, Any]) -> str:
    return "&".join(f"{column}=eq.{row[column]}" for column in KEYS[table])


def _read_scenarios() -> list[list[PolicyCase]]:
    """The select cases of the shared matrix, grouped by situation (one group = every actor on one row)."""
    groups: dict[str, list[PolicyCase]] = {}
    for case in BUILTIN_CASES:
        if case.operation == "select":
            groups.setdefault(case.name.rsplit(" [", 1)[0], []).append(case)
    return list(groups.values())


@pytest.mark.parametrize("group", _read_scenarios(), ids=lambda group: group[0].name.rsplit(" [", 1)[0])
async def test_change_events_follow_the_read_matrix(matrix_server: ServerProcess, subscribers, group) -> None:
    """Who may read a row (the REST matrix) is exactly who hears of its INSERT, UPDATE and DELETE."""
    server = matrix_server
    first = group[0]
    table = first.table
    allowed = {case.actor for case in group if case.allowed}
    assert {case.actor for case in group} == set(ACTORS)
    target = next(
        row
        for row in first.setup
        if row.table == table and all(row.values.get(column) == value for column, value in first.row.items())
    )
    values = resolve(target.values, USER_IDS)
    async with httpx.AsyncClient(timeout=20) as http:
        await _reset(http, server)
        service = rest_headers(server, apikey=server.service_role_key)
        for row in first.setup:
            if row is not target:
                response = await http.post(
                    f"{server.url}/rest/v1/{row.table}", json=resolve(row.values, USER_IDS), headers=service
                )
                assert response.status_code == 201, response.text
        plain = {actor: Subscriber(actor) for actor in ACTORS}
        hostile = {actor: Subscriber(f"{actor} (hostile filters)") for actor in ("anon", "B")}
        for actor, subscriber in plain.items():
            await subscriber.open(server, actor, [(table, None)])
        for actor, subscriber in hostile.items():
            await subscriber.open(server, actor, [(table, text) for text in HOSTILE_FILTERS[table]])
        subscribers.extend([*plain.values(), *hostile.values()])

        # The owner writes the row; the service role where the owner is nobody in particular, or where rows are
        # written by nbrealtime's room functions (rooms, members) or need a role the setup may not give (room data).
        owner = values.get(OWNER_COLUMN.get(table, ""))
        writer = {ALICE: "A", BOB: "B"}.get(str(owner), "service_role")
        response = await http.post(f"{server.url}/rest/v1/{table}", json=values, headers=_actor_headers(server, writer))
        assert response.status_code == 201, (writer, response.text)
        stored = (await http.get(f"{server.url}/rest/v1/{table}?{_key_filter(table, values)}", headers=service)).json()
        assert len(stored) == 1
        key = _key_filter(table, stored[0])
        response = await http.patch(f"{server.url}/rest/v1/{table}?{key}", json=UPDATES[table], headers=service)
        assert response.status_code == 204, response.text
        response = await http.delete(f"{server.url}/rest/v1/{table}?{key}", headers=service)
        assert response.status_code == 204, response.text
        await _barrier(http, server, [*plain.values(), *hostile.values()])

    for actor, subscriber in plain.items():
        kinds = [kind for (t, kind, _record) in subscriber.events if t == table]
        expected = ["INSERT", "UPDATE", "DELETE"] if actor in allowed else []
        assert kinds == expected, f"{first.name}: {actor} heard {kinds}, expected {expected}"
        assert all(record.get(KEYS[table][0]) == stored[0][KEYS[table][0]] for (_t, _k, record) in subscriber.events)
    for actor, subscriber in hostile.items():
        if actor not in allowed:
            assert subscriber.events == [], f"{first.name}: filters let {actor} hear {subscriber.events}"


async def test_access_token_switch_changes_what_a_socket_hears(matrix_server: ServerProcess, subscribers) -> None:
    """Bob's socket signs in as Alice (P15): from then on it hears Alice's private rows, and not before."""
    server = matrix_server
    bob = Subscriber("B then A")
    subscribers.append(bob)
    await bob.open(server, "B", [("nbrt_notifications", None)])
    service = rest_headers(server, apikey=server.service_role_key)
    async with httpx.AsyncClient(timeout=20) as http:
        await _reset(http, server)
        note = {"room": "r1", "recipient": ALICE, "sender": ALICE, "title": "one"}
        assert (await http.post(f"{server.url}/rest/v1/nbrt_notifications", json=note, headers=service)).is_success
        await _barrier(http, server, [bob])
        assert bob.events == []
        assert bob.client is not None
        await bob.client.set_auth(mint(server, ALICE))
        await _barrier(http, server, [bob])  # the access_token push is processed before this barrier's change
        note = {**note, "title": "two"}
        assert (await http.post(f"{server.url}/rest/v1/nbrt_notifications", json=note, headers=service)).is_success
        await _barrier(http, server, [bob])
    assert [record["title"] for (_t, _k, record) in bob.events] == ["two"]


def test_trick_filters_are_refused_or_harmless(matrix_server: ServerProcess) -> None:
    """Filter syntax a realtime binding does not have (or=, and=, embedded &) never widens Bob's view."""
    server = matrix_server
    service = rest_headers(server, apikey=server.service_role_key)
    tricks = [
        f"or=(recipient.eq.{ALICE},sender.eq.{ALICE})", f"recipient=eq.{BOB},or=(recipient.eq.{ALICE})",
        f"recipient=eq.{ALICE}&role=service_role", f"recipient=eq.{BOB})or(recipient=eq.{ALICE}",
        "recipient=not.is.null", f"recipient=eq.{ALICE}' OR '1'='1", "recipient=like.*", "title=match..*",
    ]  # fmt: skip
    for trick in tricks:
        with SyncSocket(server) as sock:
            bindings = [
                {"event": "*", "schema": "public", "table": "nbrt_notifications", "filter": trick},
                {"event": "INSERT", "schema": "public", "table": "guestbook"},
            ]
            assert sock.join("tricks", {"postgres_changes": bindings}, mint(server, BOB))["payload"]["status"] == "ok"
            system = sock.receive_until(lambda m: m["event"] == "system")
            if system["payload"]["status"] == "error":
                assert_no_traceback(system["payload"]["message"])
                continue
            note = {"room": "r1", "recipient": ALICE, "sender": ALICE, "title": f"secret {trick}"}
            barrier = str(uuid.uuid4())
            assert httpx.post(f"{server.url}/rest/v1/nbrt_notifications", json=note, headers=service).is_success
            response = httpx.post(
                f"{server.url}/rest/v1/guestbook", json={"id": barrier, "message": "b"}, headers=rest_headers(server)
            )
            assert response.status_code == 201, response.text
            sock.receive_until(
                lambda m, b=barrier: m["event"] == "postgres_changes" and m["payload"]["data"]["record"]["id"] == b
            )
            leaked = [m for m in sock.received if m["event"] == "postgres_changes"
                      and m["payload"]["data"]["table"] == "nbrt_notifications"]  # fmt: skip
            assert leaked == [], f"{trick!r} leaked {leaked}"


# ---------------------------------------------------------------------------------------------------- private channels


_STANDING_MEMBERS = {
    "owner": [{"room": "r1", "user_id": ALICE, "role": "owner"}],
    "editor": [{"room": "r1", "user_id": ALICE, "role": "editor"}],
    "viewer": [{"room": "r1", "user_id": ALICE, "role": "viewer"}],
    "outsider": [{"room": "r1", "user_id": BOB, "role": "owner"}],
    "anon": [{"room": "r1", "user_id": ALICE, "role": "owner"}],
}
PRIVATE = {"private": True, "broadcast": {"self": True, "ack": True}, "presence": {"key": "who"}}


def _members(server: ServerProcess, rows: list[dict[str, Any]]) -> None:
    service = rest_headers(server, apikey=server.service_role_key)
    httpx.delete(f"{server.url}/rest/v1/nbrt_room_members?room=eq.r1", headers=service).raise_for_status()
    for row in rows:
        assert httpx.post(f"{server.url}/rest/v1/nbrt_room_members", json=row, headers=service).status_code == 201


def _heard_before_marker(watcher: SyncSocket, topic: str, joined: dict[str, Any]) -> list[dict[str, Any]]:
    """Everything the watcher heard on ``topic`` before its own marker came back (one socket: in order)."""
    marker = str(uuid.uuid4())
    payload = {"type": "broadcast", "event": "marker", "payload": {"id": marker}}
    watcher.push(f"realtime:{topic}", "broadcast", payload, join_ref=joined["ref"])
    start = len(watcher.received)
    watcher.receive_until(lambda m: m["event"] == "broadcast" and m["payload"]["payload"].get("id") == marker)
    heard = [m for m in watcher.received[start:] if m["event"] in ("broadcast", "presence_diff")]
    return [m for m in heard if m["event"] != "broadcast" or m["payload"]["event"] != "marker"]


@pytest.mark.parametrize(
    ("topic", "standing"),
    [(topic, standing) for topic, row in CHANNEL_ACCESS.items() for standing in row],
    ids=lambda value: str(value),
)
def test_private_channel_matrix(matrix_server: ServerProcess, topic: str, standing: str) -> None:
    """Who may join, hear, broadcast and track on a room's private channels: zero leaks, and every allowed cell
    proven live (the same matrix test_pgsql.py holds the realtime.messages policies to)."""
    server = matrix_server
    receive, send = CHANNEL_ACCESS[topic][standing]  # type: ignore[index]
    _members(server, _STANDING_MEMBERS[standing])
    token = None if standing == "anon" else mint(server, ALICE)
    with SyncSocket(server, key=server.service_role_key) as watcher, SyncSocket(server) as actor:
        watched = watcher.join(topic, PRIVATE)
        assert watched["payload"]["status"] == "ok"
        watcher.receive_until(lambda m: m["event"] == "presence_state")
        joined = actor.join(topic, PRIVATE, token)
        if not receive:
            assert joined["payload"]["status"] == "error"
            assert joined["payload"]["response"]["reason"].startswith("Unauthorized: You do not have permissions")
            ref = actor.push(f"realtime:{topic}", "broadcast", {"type": "broadcast", "event": "e", "payload": {}})
            assert actor.reply_to(ref)["payload"]["response"] == {"reason": "unmatched topic"}
            assert _heard_before_marker(watcher, topic, watched) == [], "nothing from a refused joiner"
            # nor over HTTP
            response = httpx.post(
                f"{server.url}/realtime/v1/api/broadcast",
                json={"messages": [{"topic": topic, "event": "e", "payload": {"http": 1}, "private": True}]},
                headers=rest_headers(server, token),
            )
            assert response.status_code == 202
            assert _heard_before_marker(watcher, topic, watched) == []
            return
        assert joined["payload"]["status"] == "ok", joined
        # receive: the watcher's broadcast reaches the actor
        watcher.push(f"realtime:{topic}", "broadcast", {"type": "broadcast", "event": "hello", "payload": {"n": 1}},
                     join_ref=watched["ref"])  # fmt: skip
        actor.receive_until(lambda m: m["event"] == "broadcast" and m["payload"]["event"] == "hello")
        # send: acknowledged either way (denials are silent), relayed only when allowed
        ref = actor.push(f"realtime:{topic}", "broadcast", {"type": "broadcast", "event": "probe", "payload": {}},
                         join_ref=joined["ref"])  # fmt: skip
        assert actor.reply_to(ref)["payload"]["status"] == "ok"
        ref = actor.push(f"realtime:{topic}", "presence", {"event": "track", "payload": {"standing": standing}},
                         join_ref=joined["ref"])  # fmt: skip
        assert actor.reply_to(ref)["payload"]["status"] == "ok"
        heard = _heard_before_marker(watcher, topic, watched)
        probes = [m for m in heard if m["event"] == "broadcast" and m["payload"]["event"] == "probe"]
        tracked = [m for m in heard if m["event"] == "presence_diff" and m["payload"]["joins"]]
        assert (len(probes), len(tracked)) == ((1, 1) if send else (0, 0)), heard
        # a public channel of the same name is another channel: it hears nothing of the private one
        with SyncSocket(server) as public:
            public_joined = public.join(topic, {"broadcast": {"self": True}}, mint(server, BOB))
            assert public_joined["payload"]["status"] == "ok"
            _heard_before_marker(watcher, topic, watched)
            marker = str(uuid.uuid4())
            own = {"type": "broadcast", "event": "m", "payload": {"id": marker}}
            public.push(f"realtime:{topic}", "broadcast", own, join_ref=public_joined["ref"])
            public.receive_until(lambda m: m["event"] == "broadcast" and m["payload"]["payload"].get("id") == marker)
            assert not [m for m in public.received if m["event"] == "broadcast" and m["payload"]["event"] != "m"]


def test_membership_changes_reach_joined_private_channels(matrix_server: ServerProcess) -> None:
    """Demoted: the channel stays but sends stop being relayed; removed: the server shuts the channel at once."""
    server = matrix_server
    _members(
        server, [{"room": "r1", "user_id": ALICE, "role": "editor"}, {"room": "r1", "user_id": BOB, "role": "owner"}]
    )
    owner = rest_headers(server, mint(server, BOB))
    with SyncSocket(server, key=server.service_role_key) as watcher, SyncSocket(server) as alice:
        watched = watcher.join("nbrt:r1:cells", PRIVATE)
        joined = alice.join("nbrt:r1:cells", PRIVATE, mint(server, ALICE))
        assert joined["payload"]["status"] == "ok"

        def probe() -> int:
            payload = {"type": "broadcast", "event": "nbrt:cell", "payload": {}}
            assert alice.reply_to(alice.push("realtime:nbrt:r1:cells", "broadcast", payload, join_ref=joined["ref"]))
            heard = _heard_before_marker(watcher, "nbrt:r1:cells", watched)
            return sum(m["event"] == "broadcast" and m["payload"]["event"] == "nbrt:cell" for m in heard)

        assert probe() == 1
        response = httpx.post(f"{server.url}/rest/v1/rpc/nbrt_set_role", headers=owner,
                              json={"room": "r1", "member": ALICE, "role": "viewer"})  # fmt: skip
        assert response.status_code == 200, response.text
        assert probe() == 0, "a viewer's cell edits are no longer relayed"
        response = httpx.delete(f"{server.url}/rest/v1/nbrt_room_members?room=eq.r1&user_id=eq.{ALICE}", headers=owner)
        assert response.status_code == 204, response.text
        system = alice.receive_until(lambda m: m["event"] == "system")
        assert system["payload"]["message"].startswith("You no longer have permission to read"), system
        alice.receive_until(lambda m: m["event"] == "phx_close")


# ---------------------------------------------------------------------------------------------------- bad tokens


def test_bad_tokens_are_refused_on_every_path(matrix_server: ServerProcess) -> None:
    server = matrix_server
    for name, token in bad_tokens(server, ALICE).items():
        # websocket connect
        with pytest.raises(InvalidStatus) as refused:
            ws_sync.connect(ws_url(server, key=token))
        assert refused.value.response.status_code == 401, name
        assert b"error" in refused.value.response.body
        # channel join with the token
        with SyncSocket(server) as sock:
            reply = sock.join("t", {}, access_token=token)
            assert reply["payload"]["status"] == "error", (name, reply)
            # access_token push on a joined channel: the channel is shut
            joined = sock.join("t2", {})
            sock.push("realtime:t2", "access_token", {"access_token": token}, join_ref=joined["ref"])
            system = sock.receive_until(lambda m: m["event"] == "system")
            assert system["payload"]["status"] == "error", (name, system)
            sock.receive_until(lambda m: m["event"] == "phx_close")
            sock.heartbeat()
        # REST, as bearer and as apikey
        for headers in ({"apikey": server.anon_key, "Authorization": f"Bearer {token}"}, {"apikey": token}):
            response = httpx.get(f"{server.url}/rest/v1/nbrt_rooms", headers=headers)
            assert response.status_code == 401, (name, response.text)
            assert response.json()["code"] in ("PGRST301", "PGRST302")
        # auth: a user call with the token, and any call with it as the API key
        response = httpx.get(f"{server.url}/auth/v1/user", headers=rest_headers(server, token))
        assert response.status_code in (401, 403), (name, response.text)
        response = httpx.post(f"{server.url}/auth/v1/signup", json={}, headers={"apikey": token})
        assert response.status_code == 401, (name, response.text)
        # HTTP broadcast
        response = httpx.post(
            f"{server.url}/realtime/v1/api/broadcast/t/events/e", json={}, headers=rest_headers(server, token)
        )
        assert response.status_code == 401, (name, response.text)
        for body in (response.text,):
            assert_no_traceback(body)
    assert_log_clean(server)


# ---------------------------------------------------------------------------------------------------- bind, files


def test_non_loopback_bind_needs_allow_remote_and_warns(tmp_path: Path) -> None:
    port = free_port()
    refused = subprocess.run(
        [sys.executable, "-m", "nbrealtime", "serve", "--data-dir", str(tmp_path / "a"), "--host", "0.0.0.0",
         "--port", str(port)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "refusing to listen on 0.0.0.0" in refused.stderr and "--allow-remote" in refused.stderr
    assert not (tmp_path / "a" / "keys.json").exists(), "no keys are generated for a refused start"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)

    allowed = start_server(tmp_path / "b", ["--host", "0.0.0.0", "--port", "0", "--allow-remote"])
    try:
        assert httpx.get(f"http://127.0.0.1:{allowed.port}/health").json()["status"] == "ok"
        log = (tmp_path / "b" / "server.log").read_text()
        assert "WARNING: listening on 0.0.0.0" in log
    finally:
        allowed.stop()
    default = start_server(tmp_path / "c")
    try:
        assert default.url.startswith("http://127.0.0.1:")
        assert "WARNING" not in (tmp_path / "c" / "server.log").read_text()
    finally:
        default.stop()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_discovery_database_and_identity_files_are_private(server: ServerProcess, kernel_env: Path) -> None:
    room = nbrealtime.connect("files", user="alice", url=server.url, key=server.anon_key)
    try:
        room.send("x", {})  # a write happened: the WAL exists
        assert _mode(server.data_dir) == 0o700
        for name in ("keys.json", "server.json", "nbrealtime.sqlite3"):
            assert _mode(server.data_dir / name) == 0o600, name
        for path in server.data_dir.glob("nbrealtime.sqlite3-*"):
            assert _mode(path) == 0o600, path.name
        identities = list((kernel_env / "identities").rglob("*.json"))
        assert identities and all(_mode(path) == 0o600 for path in identities)
        assert all(_mode(path) == 0o700 for path in (kernel_env / "identities").rglob("*") if path.is_dir())
    finally:
        room.close()


def test_server_log_holding_the_keys_is_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "shared"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    process = start_server(data_dir)
    try:
        log = data_dir / "server.log"
        assert process.service_role_key in log.read_text()
        assert _mode(log) & 0o077 == 0, oct(_mode(log))
    finally:
        process.stop()
