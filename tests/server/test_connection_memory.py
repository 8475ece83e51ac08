"""A closed realtime connection is freed at once: nothing it scheduled (the token-expiry timer of each joined channel)
may keep it alive until its token expires, and nothing keyed by its channels stays behind. The soak's server grew by
every connection its nemesis cut.

The app runs in this process (uvicorn on a thread, as ``nbrealtime serve`` runs it) so that its objects can be
counted; the clients are real websockets and real kernels' rooms."""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import websockets.sync.client as ws_sync

import nbrealtime
from nbrealtime.server.app import ServerContext, create_app
from nbrealtime.server.config import ServerConfig
from nbrealtime.server.keys import ProjectKeys, load_or_create_keys
from nbrealtime.server.realtime.connection import Connection
from tests.client.support import Events, open_room, until_members
from tests.reliability.support import TcpProxy

WAIT = 20.0


@dataclass
class Served:
    url: str
    port: int
    keys: ProjectKeys
    context: ServerContext


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    keys = load_or_create_keys(tmp_path)
    servers: list[uvicorn.Server] = []
    contexts: list[ServerContext] = []

    def serve() -> None:  # the app opens its database on the thread that serves it
        app = create_app(ServerConfig(data_dir=tmp_path), keys)
        contexts.append(app.state.context)
        servers.append(uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                                     ws="websockets-sansio", lifespan="on")))  # fmt: skip
        servers[0].run()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not (servers and servers[0].started):
        assert time.monotonic() < deadline and thread.is_alive(), "the app did not start"
        time.sleep(0.02)  # polling a starting server
    port = servers[0].servers[0].sockets[0].getsockname()[1]
    yield Served(f"ws://127.0.0.1:{port}/realtime/v1/websocket", port, keys, contexts[0])
    servers[0].should_exit = True
    thread.join(WAIT)


def _joined(websocket: ws_sync.ClientConnection, ref: str) -> dict:
    while True:
        reply = json.loads(websocket.recv(timeout=WAIT))
        if reply.get("ref") == ref:
            return reply


def _live_connections() -> int:
    gc.collect()
    return sum(isinstance(thing, Connection) for thing in gc.get_objects())


def _until(condition: Callable[[], bool], what: Callable[[], str]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, what()
        time.sleep(0.05)  # the server finishes each close on its own thread


def _until_at_most(count: int) -> None:
    _until(lambda: _live_connections() <= count,
           lambda: f"{_live_connections() - count} closed connections still in memory")  # fmt: skip


def test_a_closed_connection_with_joined_channels_is_freed(served: Served) -> None:
    url, keys = served.url, served.keys
    before = _live_connections()
    for round_ in range(3):
        with ws_sync.connect(f"{url}?apikey={keys.anon_key}&vsn=1.0.0") as websocket:
            for topic in ("a", "b"):
                join = {"topic": f"realtime:{topic}", "event": "phx_join", "ref": f"{round_}{topic}",
                        "payload": {"config": {"broadcast": {"self": False}}}}  # fmt: skip
                websocket.send(json.dumps(join))
                reply = _joined(websocket, join["ref"])
                assert reply["event"] == "phx_reply" and reply["payload"]["status"] == "ok", reply
            _until_at_most(before + 1)  # this one: the earlier rounds' are gone
    _until_at_most(before)


def _server_state(context: ServerContext) -> dict[str, Any]:
    """Everything the server keeps per connection or channel, as sizes (read from another thread: retried if the
    server changed a dict while it was being copied)."""
    while True:
        try:
            hub, changes = context.hub, context.changes
            return {
                "connections": _live_connections(),
                "connection_count": context.realtime.connection_count,
                "topics": {key: len(members) for key, members in dict(hub._members).items()},
                "presence": {key: len(presence.state()) for key, presence in dict(hub._presence).items()},
                "change_subscriptions": len(changes._by_member),
                "deaf_members": len(changes._deaf_until),
            }
        except RuntimeError:  # "dictionary changed size during iteration"
            continue


def test_connections_reset_under_rooms_tables_and_presence_leave_nothing_behind(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rooms: list[nbrealtime.Room]
) -> None:
    """Kernels with a room (presence, notifications, members), a shared cell and a live table each, through a proxy
    that resets every connection, five times: once they are back, the server holds what it held before."""
    monkeypatch.setenv("NBREALTIME_DATA_DIR", str(tmp_path / "kernels"))
    proxy = TcpProxy(served.port)
    try:
        owner = nbrealtime.connect("resets", user="owner", url=proxy.url, key=served.keys.anon_key)
        rooms.append(owner)
        open_room(owner)
        member = nbrealtime.connect("resets", user="member", url=proxy.url, key=served.keys.anon_key)
        rooms.append(member)
        statuses = {room.me.name: Events() for room in rooms}
        for room in rooms:
            room.on_status(statuses[room.me.name].put)
            room.collection("readings")
            room.cell("notes")
            room.presence.update(cell="a")
        until_members(owner, lambda roster: {"owner", "member"} <= set(roster), "both in the roster")
        before = _server_state(served.context)
        assert before["connections"] == 2 and before["change_subscriptions"] > 0, before

        for cycle in range(5):
            assert proxy.sever() > 0
            for room in rooms:
                statuses[room.me.name].expect(lambda state: state != "connected", what=f"{room.me.name} dropped")
                statuses[room.me.name].expect(lambda state: state == "connected", what=f"{room.me.name} is back")
                room.presence.update(cell=f"cell-{cycle}")
            owner.send("after-reset", {"cycle": cycle})
        _until(lambda: _server_state(served.context) == before,
               lambda: f"before the resets {before}, after them {_server_state(served.context)}")  # fmt: skip
    finally:
        proxy.close()
