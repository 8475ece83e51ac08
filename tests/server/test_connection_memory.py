"""A closed realtime connection is freed at once: nothing it scheduled (the token-expiry timer of each joined channel)
may keep it alive until its token expires. The soak's server grew by every connection its nemesis cut.

The app runs in this process (uvicorn on a thread, as ``nbrealtime serve`` runs it) so that its objects can be
counted; the clients are real websockets."""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
import websockets.sync.client as ws_sync

from nbrealtime.server.app import create_app
from nbrealtime.server.config import ServerConfig
from nbrealtime.server.keys import ProjectKeys, load_or_create_keys
from nbrealtime.server.realtime.connection import Connection

WAIT = 20.0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, ProjectKeys]]:
    keys = load_or_create_keys(tmp_path)
    servers: list[uvicorn.Server] = []

    def serve() -> None:  # the app opens its database on the thread that serves it
        app = create_app(ServerConfig(data_dir=tmp_path), keys)
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
    yield f"ws://127.0.0.1:{port}/realtime/v1/websocket", keys
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


def _until_at_most(count: int) -> None:
    deadline = time.monotonic() + WAIT
    while _live_connections() > count:
        assert time.monotonic() < deadline, f"{_live_connections() - count} closed connections still in memory"
        time.sleep(0.05)  # the server finishes each close on its own thread


def test_a_closed_connection_with_joined_channels_is_freed(served: tuple[str, ProjectKeys]) -> None:
    url, keys = served
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
