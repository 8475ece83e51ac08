"""Interop with the official, unpatched ``@supabase/supabase-js`` (pinned in package.json) run by node.

Each scenario is a node script in ``tests/js/`` that prints what it observes as JSON lines (``{"type": ...}``);
``tests/js/peer.js`` is driven line by line over stdin for the Python <-> JS scenarios. The Python side uses the
official ``supabase`` client (vsn 1.0.0) in the same channels. Synchronisation is always on observed events.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from realtime import AsyncRealtimeChannel
from supabase import AsyncClient, acreate_client

from nbrealtime.launcher import ServerProcess
from tests import query_cases, relation_cases
from tests.realtime_support import Inbox, close_client, subscribed
from tests.server.rest_support import headers

ROOT = Path(__file__).resolve().parents[2]
JS_DIR = ROOT / "tests" / "js"
SUPABASE_JS_VERSION = "2.109.0"
SCRIPT_TIMEOUT = 40.0  # outer bound; each script has its own, shorter deadline (NBRT_JS_TIMEOUT_MS)
WAIT = 10.0

JsonLine = dict[str, Any]


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the supabase-js interop tests need node >= 20")
    installed = ROOT / "node_modules" / "@supabase" / "supabase-js" / "package.json"
    if not installed.exists():
        pytest.fail("node_modules is missing: run `npm ci` at the repository root (scripts/setup.sh does)")
    version = json.loads(installed.read_text())["version"]
    assert version == SUPABASE_JS_VERSION, f"installed supabase-js {version}, expected {SUPABASE_JS_VERSION}"
    return node


def _parse(stdout: bytes) -> list[JsonLine]:
    lines = []
    for raw in stdout.decode().splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            lines.append({"type": "unparsed", "text": raw})
    return lines


@dataclass
class NodeRun:
    """The outcome of one node script: exit code, its JSON lines and stderr."""

    returncode: int
    lines: list[JsonLine]
    stderr: str

    def of(self, kind: str) -> list[JsonLine]:
        return [line for line in self.lines if line.get("type") == kind]

    def one(self, kind: str) -> JsonLine:
        found = self.of(kind)
        assert len(found) == 1, f"expected one {kind!r} line, got {found}\n{self}"
        return found[0]

    def __str__(self) -> str:
        output = "\n".join(json.dumps(line) for line in self.lines)
        return f"exit code {self.returncode}\n--- stdout ---\n{output}\n--- stderr ---\n{self.stderr}"


async def run_node(script: str, server: ServerProcess, *args: str, timeout: float = SCRIPT_TIMEOUT) -> NodeRun:
    """Run ``tests/js/<script>`` against ``server`` to completion; fail the test unless it exits 0."""
    process = await asyncio.create_subprocess_exec(
        _node(),
        str(JS_DIR / script),
        server.url,
        server.anon_key,
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        stdout, stderr = await process.communicate()
        pytest.fail(f"{script} did not finish within {timeout} s\n{NodeRun(-9, _parse(stdout), stderr.decode())}")
    run = NodeRun(process.returncode or 0, _parse(stdout), stderr.decode())
    assert run.returncode == 0, f"{script} failed: {run}"
    assert run.of("done"), f"{script} ended without a done line: {run}"
    return run


@dataclass
class NodePeer:
    """``tests/js/peer.js`` as a running process: send it commands, await the lines it prints."""

    process: asyncio.subprocess.Process
    seen: list[JsonLine] = field(default_factory=list)
    _unread: list[JsonLine] = field(default_factory=list)

    async def command(self, cmd: str, **fields: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **fields}).encode() + b"\n")
        await self.process.stdin.drain()

    async def expect(self, kind: str, timeout: float = WAIT, **fields: Any) -> JsonLine:
        """The next line of type ``kind`` whose ``fields`` equal the given values; earlier non-matching lines stay
        available to later calls."""

        def matches(line: JsonLine) -> bool:
            return line.get("type") == kind and all(line.get(name) == value for name, value in fields.items())

        for index, line in enumerate(self._unread):
            if matches(line):
                return self._unread.pop(index)
        assert self.process.stdout is not None
        ended = False
        try:
            async with asyncio.timeout(timeout):
                while not ended:
                    raw = await self.process.stdout.readline()
                    line = _parse(raw)[0] if raw else {"type": "eof"}
                    self.seen.append(line)
                    if matches(line):
                        return line
                    self._unread.append(line)
                    ended = line["type"] in ("eof", "error")
        except TimeoutError:
            pass
        if not ended:
            pytest.fail(f"JS peer: no {kind} line with {fields} within {timeout} s; seen: {self.seen}")
        assert self.process.stderr is not None
        stderr = (await self.process.stderr.read()).decode()  # the peer failed or exited: its stderr is complete
        pytest.fail(f"JS peer ended before a {kind} line with {fields}; seen: {self.seen}\n--- stderr ---\n{stderr}")

    async def exit(self) -> int:
        """Tell the peer to exit (no unsubscribe, no untrack: its socket just goes away)."""
        await self.command("exit")
        await self.expect("exit")
        return await self.process.wait()


@asynccontextmanager
async def js_peer(server: ServerProcess, topic: str, presence_key: str) -> AsyncIterator[NodePeer]:
    """Start ``peer.js`` in ``topic`` and wait until it is SUBSCRIBED; always reaped afterwards."""
    process = await asyncio.create_subprocess_exec(
        _node(),
        str(JS_DIR / "peer.js"),
        server.url,
        server.anon_key,
        topic,
        presence_key,
        cwd=ROOT,
        env={**os.environ, "NBRT_JS_TIMEOUT_MS": "60000"},  # the whole test drives it; expect() has its own timeouts
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    peer = NodePeer(process)
    try:
        await peer.expect("ready")
        yield peer
    finally:
        if process.returncode is None:
            process.kill()
        assert process.stdout is not None and process.stderr is not None and process.stdin is not None
        process.stdin.close()
        await process.stdout.read()
        await process.stderr.read()
        await process.wait()


@asynccontextmanager
async def python_client(server: ServerProcess) -> AsyncIterator[AsyncClient]:
    client = await acreate_client(server.url, server.anon_key)
    try:
        yield client
    finally:
        await close_client(client)


def python_channel(client: AsyncClient, topic: str, presence_key: str = "") -> AsyncRealtimeChannel:
    return client.channel(
        topic,
        {
            "config": {
                "broadcast": {"ack": True, "self": False},
                "presence": {"key": presence_key, "enabled": bool(presence_key)},
                "private": False,
            }
        },
    )


# --------------------------------------------------------------------------------------------------- scenarios


async def test_js_joins_with_vsn2_and_gets_its_own_acked_binary_broadcast(server: ServerProcess) -> None:
    run = await run_node("broadcast_self.js", server)

    client = run.one("client")
    assert client["vsn"] == "2.0.0"
    assert "vsn=2.0.0" in client["endpoint"]
    assert [line["status"] for line in run.of("status")] == ["SUBSCRIBED"]
    assert run.one("send")["status"] == "ok"  # ack: true -> the server replied to the push ref
    message = run.one("broadcast")["message"]
    assert message["event"] == "echo"
    assert message["payload"] == {"n": 1, "text": "héllo from js", "nested": {"list": [1, 2, 3]}}
    done = run.one("done")
    assert done["sent_binary_kinds"] == [3], "supabase-js 2.109 sends broadcasts as binary kind 3"
    # Realtime relays a kind-3 push to 2.0.0 members as kind 4; a JSON text broadcast is accepted by JS too
    # (PROTOCOL.md §8.2). Other binary kinds would crash realtime-js's decoder (P5).
    assert set(done["received_binary_kinds"]) <= {4}
    assert all(refs == [None, None] for refs in done["text_broadcast_refs"]), "broadcasts are fastlane: no refs (P6)"
    assert len(done["received_binary_kinds"]) + len(done["text_broadcast_refs"]) == 1


async def test_python_and_js_broadcast_to_each_other(server: ServerProcess) -> None:
    topic = "interop-broadcast"
    from_js = Inbox()
    async with python_client(server) as client, js_peer(server, topic, "js-user") as peer:
        channel = python_channel(client, topic)
        channel.on_broadcast("from-js", from_js)
        await subscribed(channel)

        await peer.command("send", event="from-js", payload={"text": "hi python", "n": 1})
        assert (await peer.expect("sent"))["status"] == "ok"
        message = await from_js.next()
        assert message["event"] == "from-js"
        assert message["payload"] == {"text": "hi python", "n": 1}

        await channel.send_broadcast("from-py", {"text": "hi js", "n": [2, 3]})
        received = await peer.expect("broadcast", event="from-py")
        assert received["payload"] == {"text": "hi js", "n": [2, 3]}

        assert from_js.empty(), "self: false on the JS side; nothing else was sent"
        await peer.exit()


async def test_presence_between_python_and_js(server: ServerProcess) -> None:
    topic = "interop-presence"
    joins, leaves = Inbox(), Inbox()
    async with python_client(server) as client, js_peer(server, topic, "js-user") as peer:
        channel = python_channel(client, topic, presence_key="py-user")
        channel.on_presence_join(lambda key, current, new: joins((key, new)))
        channel.on_presence_leave(lambda key, current, left: leaves((key, left)))
        await subscribed(channel)

        await channel.track({"name": "Python", "kind": "kernel"})
        seen_by_js = await peer.expect("presence_join", key="py-user")
        assert [{k: v for k, v in p.items() if k != "presence_ref"} for p in seen_by_js["presences"]] == [
            {"name": "Python", "kind": "kernel"}
        ]
        assert all(p["presence_ref"] for p in seen_by_js["presences"])
        await peer.expect("presence_sync", keys=["py-user"])

        await peer.command("track", state={"name": "JS", "kind": "browser"})
        assert (await peer.expect("tracked"))["status"] == "ok"
        key, new = await joins.until(lambda item: item[0] == "js-user")
        assert [{k: v for k, v in p.items() if k != "presence_ref"} for p in new] == [{"name": "JS", "kind": "browser"}]
        await peer.expect("presence_sync", keys=["js-user", "py-user"])
        assert set(channel.presence_state()) == {"js-user", "py-user"}

        await peer.command("untrack")
        assert (await peer.expect("untracked"))["status"] == "ok"
        key, left = await leaves.next()
        assert key == "js-user" and left[0]["name"] == "JS"
        assert set(channel.presence_state()) == {"py-user"}

        # Tracked again, then the process dies without untracking: its socket closing must count as a leave.
        await peer.command("track", state={"name": "JS", "kind": "browser", "again": True})
        assert (await peer.expect("tracked"))["status"] == "ok"
        await joins.until(lambda item: item[0] == "js-user")
        assert await peer.exit() == 0
        key, left = await leaves.next()
        assert key == "js-user" and left[0]["again"] is True
        assert set(channel.presence_state()) == {"py-user"}


async def test_js_socket_survives_fast_heartbeats(server: ServerProcess) -> None:
    run = await run_node("heartbeat.js", server, "300", "6")

    assert run.one("client")["heartbeat_interval_ms"] == 300
    done = run.one("done")
    assert done["heartbeats"].get("ok", 0) >= 6
    assert set(done["heartbeats"]) <= {"sent", "ok"}, f"heartbeat trouble: {done['heartbeats']}"
    assert done["opened"] == 1, f"the socket reconnected: closes {done['closes']}"
    assert done["closes"] == []
    assert done["channel_errors"] == 0
    assert done["joins"] == 1
    assert done["connected"] is True
    assert done["heartbeat_frames"]["unanswered"] == 0
    assert done["heartbeat_frames"]["sent"] >= 6
    # V2 heartbeat reply: [null, <same ref>, "phoenix", "phx_reply", {"status": "ok", "response": {}}]
    assert [json.loads(reply) for reply in done["heartbeat_replies"]] == [
        [None, "phx_reply", {"status": "ok", "response": {}}]
    ]
    assert all(line["latency"] is None or line["latency"] < 300 for line in run.of("heartbeat"))


async def test_js_http_send_and_rest_fallback_reach_a_subscriber(server: ServerProcess) -> None:
    run = await run_node("http_send.js", server)

    assert run.one("http_send")["result"] == {"success": True}
    assert run.one("send")["status"] == "ok"
    messages = {line["message"]["event"]: line["message"] for line in run.of("broadcast")}
    assert messages["via-http-send"]["payload"] == {"n": 1, "text": "single"}
    assert messages["via-rest"]["payload"] == {"n": 2, "text": "batch"}
    responses = run.one("done")["responses"]
    assert responses == [
        {"method": "POST", "path": "/realtime/v1/api/broadcast/js-http/events/via-http-send", "status": 202},
        {"method": "POST", "path": "/realtime/v1/api/broadcast", "status": 202},
    ]


async def test_batch_broadcast_endpoint_answers_exactly_202(server: ServerProcess) -> None:
    """The JS REST fallback accepts any 2xx; the real server (and ``http_send``) use exactly 202."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post(
            "/realtime/v1/api/broadcast",
            headers={"apikey": server.anon_key, "Authorization": f"Bearer {server.anon_key}"},
            json={"messages": [{"topic": "nobody-listens", "event": "e", "payload": {"a": 1}, "private": False}]},
        )
    assert response.status_code == 202
    assert response.content == b""


async def test_js_unsubscribe_resolves_ok(server: ServerProcess) -> None:
    run = await run_node("unsubscribe.js", server)

    unsubscribe = run.one("unsubscribe")
    assert unsubscribe["result"] == "ok"
    assert unsubscribe["state"] == "closed"
    # realtime-js resolves 'ok' locally once phx_leave is sent; the server's answer is checked on the wire.
    reply = run.one("leave_reply")
    assert reply["payload"] == {"status": "ok", "response": {}}
    assert reply["ref"] == reply["leave_ref"]
    close = run.one("phx_close")
    assert close["payload"] == {}
    assert close["ref"] == close["join_ref"] == close["join_ref_sent"], "phx_close carries ref = join_ref"
    done = run.one("done")
    assert done["closed_callback"] is True
    assert done["server_events"] == ["phx_reply", "phx_reply", "phx_close"]


async def test_js_anonymous_sign_in_then_join_with_user_token(server: ServerProcess) -> None:
    run = await run_node("auth_anonymous.js", server)

    signed_in = run.one("signed_in")
    assert signed_in["is_anonymous"] is True
    assert signed_in["role"] == "authenticated"
    assert signed_in["sub"] == signed_in["user_id"]
    assert signed_in["realtime_has_user_token"] is True
    assert run.one("joined")["join_carried_user_token"] is True
    assert run.one("send")["status"] == "ok"
    assert run.one("broadcast")["message"]["payload"] == {"from": signed_in["user_id"]}

    forged = run.one("forged_join")
    assert forged["join_carried_forged_token"] is True
    assert forged["status"] == "CHANNEL_ERROR", "a join whose access_token has a bad signature must be refused"
    assert "signature" in forged["error"].lower()


async def test_js_data_api_and_postgres_changes_respect_room_policies(server: ServerProcess) -> None:
    run = await run_node("table_changes.js", server, "js-table-room")
    assert run.one("joined")["result"] == {"room": "js-table-room", "role": "owner", "created": True}
    refusal = run.one("outsider_join")["error"]
    assert refusal["code"] == "42501" and "invite-only" in refusal["message"], refusal
    events = [line["payload"] for line in run.lines if line["type"] == "event"]
    assert [event["eventType"] for event in events] == ["INSERT", "UPDATE", "DELETE"]
    assert events[0]["new"]["data"] == {"title": "hi"} and events[0]["table"] == "nbrt_collection_rows"
    assert events[1]["new"]["data"] == {"title": "bye"} and events[1]["old"]["data"] == {"title": "hi"}
    assert events[2]["old"]["id"] == "a" and events[2]["new"] == {}
    assert run.one("selected") == {"type": "selected", "count": 1, "titles": ["bye"]}
    assert run.one("outsider_read")["rows"] == 0, "RLS: a non-member reads none of the room's rows"
    assert run.one("outsider_events")["count"] == 0, "and receives none of its change events"


async def test_js_data_api_filters_paths_and_embedding(start: Callable[..., ServerProcess], tmp_path: Path) -> None:
    schema = tmp_path / "schema.toml"
    schema.write_text(query_cases.SCHEMA + relation_cases.SCHEMA_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    server = start("--schema", str(schema))
    with httpx.Client(base_url=f"{server.url}/rest/v1", headers=headers(server, server.service_role_key)) as http:
        http.post("/docs", json=list(query_cases.ROWS)).raise_for_status()
    run = await run_node("data_api.js", server)
    found = {line["name"]: line["ids"] for line in run.of("ids")}
    assert found == {
        "contains": [1],
        "contains json": [4],
        "contained by": [1, 2, 5],
        "overlaps": [1, 4],
        "like any": [1, 2, 4],
        "text search": [4],
        "websearch": [2, 4],
        "json path filter": [2],
        "not": [4, 5],
        "or": [2, 4],
    }
    data = {line["name"]: line["data"] for line in run.of("rows")}
    assert data["paths and casts"] == [{"id": 2, "title": "x", "k": 2, "n": "10"}]
    assert data["embedding"] == [
        {"id": 10, "writer": {"name": "Ada"}, "editor": {"name": "Grace"}},
        {"id": 11, "writer": {"name": "Grace"}, "editor": None},
    ]
    assert data["inner with embedded filter"] == [{"name": "Ada", "posts": [{"id": 10, "stars": 5}]}]
    assert run.one("refused") == {"type": "refused", "name": "ambiguous", "code": "PGRST201", "status": 300}
    assert run.one("constraints") == {"type": "constraints", "fk": "23503", "check": "23514", "status": 409}


async def test_js_auth_admin_for_the_service_role_only(server: ServerProcess) -> None:
    run = await run_node("auth_admin.js", server, server.service_role_key)
    assert run.one("created") == {"type": "created", "email": "js@example.com", "metadata": {"n": 1}}
    assert run.one("listed") == {"type": "listed", "count": 1, "total": 2, "nextPage": 2, "lastPage": 2}
    assert run.one("updated") == {"type": "updated", "metadata": {"m": 2}, "plan": "pro"}
    assert run.one("gone") == {"type": "gone", "status": 404, "code": "user_not_found"}
    assert run.one("refused") == {"type": "refused", "status": 403, "code": "not_admin"}
