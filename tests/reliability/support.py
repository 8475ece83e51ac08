"""Tools for the reliability suite: a fault-injecting TCP proxy, a bystander client, tokens and crash detectors.

Everything talks to real server subprocesses on loopback. Nothing here sleeps to synchronise: waits are on
events, queues or sockets, each with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import websockets.sync.client as ws_sync
from websockets.exceptions import ConnectionClosed

from nbrealtime.launcher import ServerProcess

WAIT = 20.0
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/', "site-packages")
SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "todos.toml"


# ---------------------------------------------------------------------------------------------------- tokens


def jwt_secret(server: ServerProcess) -> str:
    return json.loads((server.data_dir / "keys.json").read_text())["jwt_secret"]


def mint(
    server: ServerProcess,
    sub: str | None = None,
    *,
    role: str = "authenticated",
    lifetime: int = 3600,
    secret: str | None = None,
    **extra: Any,
) -> str:
    """A token as the auth service would issue it (or, with ``secret``, as a forger would)."""
    claims = {"role": role, "aud": "authenticated", "exp": int(time.time()) + lifetime, "sub": sub or str(uuid.uuid4())}
    claims.update(extra)
    return jwt.encode(claims, secret or jwt_secret(server), algorithm="HS256")


def unsigned(claims: dict[str, Any]) -> str:
    """An ``alg: none`` token: a forgery that must never pass."""
    return jwt.encode(claims, key=None, algorithm="none")


def bad_tokens(server: ServerProcess, sub: str) -> dict[str, str]:
    """Every kind of token that must be refused, by name."""
    now = int(time.time())
    good = mint(server, sub)
    return {
        "alg-none": unsigned({"role": "service_role", "exp": now + 3600, "sub": sub}),
        "wrong-secret": mint(server, sub, role="service_role", secret="not-the-secret-" + "x" * 40),
        "expired": mint(server, sub, lifetime=-60),
        "no-role": jwt.encode({"exp": now + 3600, "sub": sub}, jwt_secret(server), algorithm="HS256"),
        "no-exp": jwt.encode({"role": "authenticated", "sub": sub}, jwt_secret(server), algorithm="HS256"),
        "unknown-role": mint(server, sub, role="postgres"),
        "truncated": good[: len(good) - 7],
        "garbage": "eyJhbGciOiJIUzI1NiJ9.not-json.x",
        "tampered": _tamper(good),
    }


def _tamper(token: str) -> str:
    """The payload of a valid token swapped for one claiming service_role, keeping the old signature."""
    import base64

    header, _, signature = token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps({"role": "service_role", "exp": 4102444800}).encode())
    return f"{header}.{payload.decode().rstrip('=')}.{signature}"


def rest_headers(server: ServerProcess, token: str | None = None, *, apikey: str | None = None) -> dict[str, str]:
    return {
        "apikey": apikey or server.anon_key,
        "Authorization": f"Bearer {token or apikey or server.anon_key}",
    }


# ---------------------------------------------------------------------------------------------------- crash detectors


def assert_no_traceback(text: str | bytes | bytearray | memoryview | None, where: str = "a response") -> None:
    if text is None:
        return
    if not isinstance(text, str):
        text = bytes(text).decode("utf-8", "replace")
    for marker in TRACEBACK_MARKERS:
        assert marker not in text, f"{where} leaks a Python traceback: {text[:500]!r}"


def server_log(server: ServerProcess) -> str:
    return (server.data_dir / "server.log").read_text(errors="replace")


def log_mark(server: ServerProcess) -> int:
    return len(server_log(server))


def assert_log_clean(server: ServerProcess, since: int = 0) -> None:
    """No unhandled exception was logged: every one is a crash of some request or connection."""
    text = server_log(server)[since:]
    assert "Traceback (most recent call last)" not in text, f"the server logged a crash:\n{text[-4000:]}"


def assert_alive(server: ServerProcess) -> None:
    assert server.process.poll() is None, f"the server exited with {server.process.returncode}"
    response = httpx.get(f"{server.url}/health", timeout=10)
    assert response.status_code == 200 and response.json()["status"] == "ok"


# ---------------------------------------------------------------------------------------------------- raw sockets


def ws_url(server: ServerProcess, key: str | None = None, vsn: str = "1.0.0", base: str | None = None) -> str:
    root = (base or server.url).replace("http://", "ws://")
    return f"{root}/realtime/v1/websocket?apikey={key or server.anon_key}&vsn={vsn}"


class SyncSocket:
    """A hand-driven Phoenix socket (serializer 1.0.0 or 2.0.0) over the websockets sync client."""

    def __init__(self, server: ServerProcess, key: str | None = None, vsn: str = "1.0.0", **options: Any) -> None:
        self.vsn = vsn
        self.connection = ws_sync.connect(ws_url(server, key, vsn), open_timeout=WAIT, **options)
        self._ref = 0
        self.received: list[Any] = []

    def __enter__(self) -> SyncSocket:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.close()

    def next_ref(self) -> str:
        self._ref += 1
        return str(self._ref)

    def push(self, topic: str, event: str, payload: Any, ref: str | None = None, join_ref: str | None = None) -> str:
        ref = ref or self.next_ref()
        if self.vsn == "2.0.0":
            self.connection.send(json.dumps([join_ref, ref, topic, event, payload]))
        else:
            self.connection.send(
                json.dumps({"topic": topic, "event": event, "payload": payload, "ref": ref, "join_ref": join_ref})
            )
        return ref

    def send_raw(self, data: str | bytes) -> None:
        self.connection.send(data)

    def receive(self, timeout: float = WAIT) -> Any:
        data = self.connection.recv(timeout=timeout)
        assert_no_traceback(data, "a realtime frame")
        if isinstance(data, bytes):
            return data
        message = json.loads(data)
        if self.vsn == "2.0.0":
            join_ref, ref, topic, event, payload = message
            message = {"join_ref": join_ref, "ref": ref, "topic": topic, "event": event, "payload": payload}
        self.received.append(message)
        return message

    def receive_until(self, predicate: Callable[[Any], bool], timeout: float = WAIT) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; last frames {self.received[-5:]}")
            message = self.receive(remaining)
            if predicate(message):
                return message

    def reply_to(self, ref: str, timeout: float = WAIT) -> dict[str, Any]:
        return self.receive_until(
            lambda m: isinstance(m, dict) and m["event"] == "phx_reply" and m["ref"] == ref, timeout
        )

    def join(self, topic: str, config: dict[str, Any] | None = None, access_token: str | None = None) -> dict:
        ref = self.next_ref()
        payload: dict[str, Any] = {"config": config or {}}
        if access_token is not None:
            payload["access_token"] = access_token
        self.push(f"realtime:{topic}", "phx_join", payload, ref=ref, join_ref=ref)
        return self.reply_to(ref)

    def heartbeat(self, timeout: float = WAIT) -> None:
        """Round-trip a heartbeat: proves the connection is still served."""
        ref = self.push("phoenix", "heartbeat", {})
        reply = self.reply_to(ref, timeout)
        assert reply["payload"]["status"] == "ok"


def close_info(connection: ws_sync.ClientConnection) -> tuple[int | None, str]:
    """The close code and reason the server sent (None if the socket is still open)."""
    frame = connection.protocol.close_rcvd
    return (frame.code, frame.reason) if frame is not None else (None, "")


def drain_until_closed(sock: SyncSocket, timeout: float = WAIT) -> list[Any]:
    """Read until the server closes the socket (or ``timeout``); every frame is checked for tracebacks."""
    frames = []
    deadline = time.monotonic() + timeout
    with contextlib.suppress(ConnectionClosed, TimeoutError):
        while time.monotonic() < deadline:
            frames.append(sock.receive(max(0.01, deadline - time.monotonic())))
    return frames


class Bystander:
    """An unrelated subscriber that must keep receiving broadcasts whatever other clients do."""

    def __init__(self, server: ServerProcess, topic: str = "bystander") -> None:
        self.server = server
        self.topic = topic
        self.socket = SyncSocket(server)
        reply = self.socket.join(topic, {"broadcast": {"self": False}})
        assert reply["payload"]["status"] == "ok", reply
        self._count = 0

    def check(self, timeout: float = WAIT) -> None:
        """Broadcast over HTTP to the bystander's topic and see it arrive on its socket."""
        self._count += 1
        marker = f"{uuid.uuid4()}"
        response = httpx.post(
            f"{self.server.url}/realtime/v1/api/broadcast",
            headers=rest_headers(self.server),
            json={"messages": [{"topic": self.topic, "event": "check", "payload": {"marker": marker}}]},
            timeout=timeout,
        )
        assert response.status_code == 202, response.text
        self.socket.receive_until(
            lambda m: (
                isinstance(m, dict)
                and m["event"] == "broadcast"
                and m["payload"].get("payload", {}).get("marker") == marker
            ),
            timeout,
        )

    def close(self) -> None:
        self.socket.close()


def fresh_client_works(server: ServerProcess) -> None:
    """A brand-new client connects, joins, gets presence state and its own broadcast back."""
    topic = f"fresh-{uuid.uuid4().hex[:8]}"
    with SyncSocket(server, vsn="2.0.0") as sock:
        reply = sock.join(topic, {"broadcast": {"self": True, "ack": True}, "presence": {"key": "me"}})
        assert reply["payload"] == {"status": "ok", "response": {"postgres_changes": []}}
        ref = sock.push(f"realtime:{topic}", "broadcast", {"type": "broadcast", "event": "e", "payload": {"n": 1}},
                        join_ref=reply["join_ref"])  # fmt: skip
        seen: dict[str, Any] = {}

        def both(message: Any) -> bool:
            if message["event"] == "broadcast":
                seen["broadcast"] = message["payload"]
            elif message["event"] == "phx_reply" and message["ref"] == ref:
                seen["ack"] = message["payload"]["status"]
            return len(seen) == 2

        sock.receive_until(both)
        assert seen == {"broadcast": {"type": "broadcast", "event": "e", "payload": {"n": 1}}, "ack": "ok"}


# ---------------------------------------------------------------------------------------------------- TCP proxy


class _Pipe:
    def __init__(self, client: asyncio.StreamWriter, upstream: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream = upstream
        self.websocket = False

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            transport = writer.transport
            if not transport.is_closing():
                transport.abort()


class TcpProxy:
    """A loopback TCP proxy on its own thread that can sever every connection or cut a frame in half.

    ``sever()`` resets all current connections (new ones are accepted as usual). ``truncate_next(direction)`` arms a
    one-shot fault: the next websocket chunk in ``direction`` ("down" = server→client, "up" = client→server) of at
    least ``min_bytes`` is forwarded only halfway, then that connection is reset.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.loop = asyncio.new_event_loop()
        self.pipes: set[_Pipe] = set()
        self.accepted = 0
        self.truncated = threading.Event()
        self._truncate: tuple[str, int] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(WAIT):
            raise RuntimeError("proxy did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._server = self.loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    def _call(self, function: Callable[[], Any]) -> Any:
        async def run() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(WAIT)

    def websocket_count(self) -> int:
        return self._call(lambda: sum(pipe.websocket for pipe in self.pipes))

    def sever(self) -> int:
        """Reset every open connection; return how many."""

        def cut() -> int:
            pipes = list(self.pipes)
            for pipe in pipes:
                pipe.abort()
            self.pipes.clear()
            return len(pipes)

        return self._call(cut)

    def truncate_next(self, direction: str, min_bytes: int = 64) -> None:
        assert direction in ("up", "down")
        self.truncated.clear()

        def arm() -> None:
            self._truncate = (direction, min_bytes)

        self._call(arm)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        pipe = _Pipe(writer, up_writer)
        self.pipes.add(pipe)
        await asyncio.gather(self._pump(pipe, reader, up_writer, "up"), self._pump(pipe, up_reader, writer, "down"))
        self.pipes.discard(pipe)

    async def _pump(self, pipe: _Pipe, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, way: str) -> None:
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                if way == "up" and b"GET /realtime/v1/websocket" in chunk[:200]:
                    pipe.websocket = True
                armed = self._truncate
                if armed and pipe.websocket and armed[0] == way and len(chunk) >= armed[1]:
                    self._truncate = None
                    writer.write(chunk[: len(chunk) // 2])
                    with contextlib.suppress(Exception):
                        await writer.drain()
                    pipe.abort()
                    self.truncated.set()
                    break
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            pipe.abort()

    def close(self) -> None:
        def stop() -> None:
            for pipe in list(self.pipes):
                pipe.abort()
            self._server.close()

        with contextlib.suppress(Exception):
            self._call(stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(WAIT)
        if not self._thread.is_alive():
            self.loop.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """A thread-safe list of events with a wait-for-predicate (no sleeping)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()
        self.items: list[Any] = []

    def put(self, item: Any) -> None:
        self._queue.put(item)

    def _pull(self, timeout: float) -> bool:
        try:
            self.items.append(self._queue.get(timeout=timeout))
            return True
        except queue.Empty:
            return False

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = WAIT, what: str = "an event") -> Any:
        deadline = time.monotonic() + timeout
        checked = 0
        while True:
            for item in self.items[checked:]:
                if predicate(item):
                    return item
            checked = len(self.items)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._pull(remaining):
                raise AssertionError(f"timed out waiting for {what}; saw {self.items[-8:]}")

    def drain(self) -> list[Any]:
        while self._pull(0):
            pass
        return list(self.items)
