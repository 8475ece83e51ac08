"""Bad input: fuzzed Phoenix frames, REST requests, JWTs and realtime filters; oversized payloads; floods.

After each example the server is alive, never shows a traceback (in a response, a frame, a close reason — or its
own log, where an unhandled exception is a crash of some request), and an unrelated subscriber keeps receiving.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import struct
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
import websockets.sync.client as ws_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidStatus

from nbrealtime import schema
from nbrealtime.launcher import ServerProcess, start_server
from tests.reliability.support import (
    SCHEMA,
    WAIT,
    Bystander,
    SyncSocket,
    assert_alive,
    assert_log_clean,
    assert_no_traceback,
    close_info,
    drain_until_closed,
    fresh_client_works,
    jwt_secret,
    mint,
    rest_headers,
    unsigned,
    ws_url,
)

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
ALICE = "0a11ce00-0000-4000-8000-00000000000a"
BOB = "0b0b0000-0000-4000-8000-00000000000b"
# Codes a server may close a socket with after bad input: normal, policy, invalid payload, too big, try later.
CLEAN_CLOSE_CODES = {1000, 1007, 1008, 1009, 1013}


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("fuzz"), ["--port", "0", "--schema", str(SCHEMA)])
    yield process
    process.stop()


@pytest.fixture(scope="module")
def bystander(fuzz_server: ServerProcess) -> Iterator[Bystander]:
    watcher = Bystander(fuzz_server)
    yield watcher
    watcher.close()


@pytest.fixture
def limited(start) -> ServerProcess:
    """A server with small limits, so floods and oversized payloads are cheap to produce."""
    return start(
        "--max-messages-per-second", "5",
        "--max-presence-calls", "3",
        "--max-channels", "3",
        "--max-payload-kb", "64",
    )  # fmt: skip


def after_each(server: ServerProcess, bystander: Bystander) -> None:
    assert server.process.poll() is None, "the server died"
    bystander.check()


# ---------------------------------------------------------------------------------------------------- Phoenix frames

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
topics = st.sampled_from(["realtime:fz", "realtime:", "phoenix", "", "realtime:bystander", "realtime:fz:" + "x" * 300])
events = st.sampled_from(["phx_join", "phx_leave", "broadcast", "presence", "access_token", "heartbeat", "phx_reply"])
refs = st.none() | st.text(max_size=6) | st.integers(-5, 10**20) | json_values
configs = st.fixed_dictionaries(
    {},
    optional={
        "broadcast": st.none() | st.fixed_dictionaries({}, optional={"self": json_values, "ack": json_values}),
        "presence": st.none() | st.fixed_dictionaries({}, optional={"key": json_values, "enabled": json_values}),
        "private": json_values,
        "postgres_changes": st.none()
        | st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "event": st.sampled_from(["*", "INSERT", "update", "BOGUS"]) | json_values,
                    "schema": st.sampled_from(["public", "auth"]) | json_values,
                    "table": st.sampled_from(["nbrt_notifications", "guestbook", "nope", "*"]) | json_values,
                    "filter": st.text(max_size=20) | json_values,
                    "select": json_values,
                },
            )
            | json_values,
            max_size=3,
        ),
    },
)
payloads = st.one_of(
    json_values,
    st.fixed_dictionaries({"config": configs}, optional={"access_token": json_values}),
    st.fixed_dictionaries(
        {"type": st.just("broadcast"), "event": st.text(max_size=10) | json_values, "payload": json_values}
    ),
    st.fixed_dictionaries(
        {"event": st.sampled_from(["track", "untrack", "TRACK", "other"]) | json_values, "payload": json_values}
    ),
    st.fixed_dictionaries({"access_token": st.text(max_size=30) | json_values}),
)
v1_frames = st.fixed_dictionaries(
    {},
    optional={
        "topic": topics | json_values,
        "event": events | json_values,
        "payload": payloads,
        "ref": refs,
        "join_ref": refs,
    },
) | st.dictionaries(st.text(max_size=8), json_values, max_size=5)
v2_frames = st.tuples(refs, refs, topics | json_values, events | json_values, payloads).map(list) | st.lists(
    json_values, max_size=7
)


@st.composite
def kind3_frames(draw: st.DrawFn) -> bytes:
    """Binary user-broadcast pushes with honest, lying or random header lengths."""
    fields = [
        draw(st.binary(max_size=6)),
        draw(st.binary(max_size=6)),
        draw(st.sampled_from([b"realtime:fz", b"realtime:bystander", b""]) | st.binary(max_size=20)),
        draw(st.binary(max_size=12)),
        draw(st.sampled_from([b"", b"{}", b'{"a":1}', b"[", b"\xff"]) | st.binary(max_size=10)),
    ]
    lengths = [len(field) for field in fields]
    if draw(st.booleans()):
        lengths = [draw(st.integers(0, 255)) for _ in fields]
    encoding = draw(st.sampled_from([0, 1, 2, 255]))
    kind = draw(st.sampled_from([3, 3, 3, 0, 1, 2, 4, 255]))
    body = draw(st.sampled_from([b"{}", b'{"x": [1, 2]}', b"null", b"", b"\x00\x01"]) | st.binary(max_size=40))
    frame = struct.pack("BBBBBBB", kind, *lengths, encoding) + b"".join(fields) + body
    return frame[: draw(st.integers(0, len(frame)))] if draw(st.integers(0, 9)) == 0 else frame


def _exercise(server: ServerProcess, vsn: str, frames: list[str | bytes], join_first: bool) -> None:
    """Send ``frames`` on one socket, then a heartbeat: the server answers it or closes cleanly."""
    with SyncSocket(server, vsn=vsn) as sock:
        if join_first:
            reply = sock.join("fz", {"broadcast": {"ack": True}, "presence": {"key": "fz"}})
            assert reply["payload"]["status"] == "ok"
        try:
            for frame in frames:
                sock.send_raw(frame)
            ref = sock.push("phoenix", "heartbeat", {})
            sock.reply_to(ref, timeout=10)
        except ConnectionClosed:
            code, reason = close_info(sock.connection)
            assert code in CLEAN_CLOSE_CODES, (code, reason)
            assert_no_traceback(reason, "a close reason")
        for message in sock.received:
            assert_no_traceback(json.dumps(message), "a frame")


@FUZZ
@given(frames=st.lists(v1_frames, min_size=1, max_size=4), join_first=st.booleans())
def test_fuzzed_v1_frames(fuzz_server: ServerProcess, bystander: Bystander, frames, join_first) -> None:
    _exercise(fuzz_server, "1.0.0", [json.dumps(frame) for frame in frames], join_first)
    after_each(fuzz_server, bystander)


@FUZZ
@given(frames=st.lists(v2_frames, min_size=1, max_size=4), join_first=st.booleans())
def test_fuzzed_v2_array_frames(fuzz_server: ServerProcess, bystander: Bystander, frames, join_first) -> None:
    _exercise(fuzz_server, "2.0.0", [json.dumps(frame) for frame in frames], join_first)
    after_each(fuzz_server, bystander)


@FUZZ
@given(frames=st.lists(kind3_frames(), min_size=1, max_size=3), join_first=st.booleans())
def test_fuzzed_binary_kind3_frames(fuzz_server: ServerProcess, bystander: Bystander, frames, join_first) -> None:
    _exercise(fuzz_server, "2.0.0", frames, join_first)
    after_each(fuzz_server, bystander)


@FUZZ
@given(
    data=st.text(max_size=60) | st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    vsn=st.sampled_from(["1.0.0", "2.0.0"]),
)
def test_fuzzed_garbage_text_frames(fuzz_server: ServerProcess, bystander: Bystander, data: str, vsn: str) -> None:
    _exercise(fuzz_server, vsn, [data], join_first=False)
    after_each(fuzz_server, bystander)


def test_no_crash_logged_by_frame_fuzzing(fuzz_server: ServerProcess, bystander: Bystander) -> None:
    """Runs after the fuzzers above (same module server): none of their frames crashed a connection."""
    assert_log_clean(fuzz_server)
    fresh_client_works(fuzz_server)
    bystander.check()


# ---------------------------------------------------------------------------------------------------- REST

TABLES = [*schema.builtin_tables(), "guestbook", "todos", "nope", "nbrt_rooms; drop table x"]
COLUMNS = sorted({column.name for table in schema.BUILTIN_TABLES for column in table.columns} | {"message", "user"})
OPERATOR_PREFIXES = [
    "eq.", "neq.", "gt.", "lt.", "gte.", "like.", "ilike.", "is.", "in.(", "in.", "cs.", "cd.", "fts.", "not.eq.",
    "not.", "match.", "imatch.", "isdistinct.", "", "eq.(", "any.", "eq(any).",
]  # fmt: skip
nasty_text = st.text(alphabet=st.sampled_from(list("ab01-_.,:()[]{}\"'\\*%$ \t=&?!@nulltrue")), max_size=24)
param_values = st.builds(lambda op, value: op + value, st.sampled_from(OPERATOR_PREFIXES), nasty_text) | nasty_text
param_keys = (
    st.sampled_from([*COLUMNS, "select", "order", "limit", "offset", "or", "and", "not.or", "columns", "on_conflict"])
    | nasty_text
)
prefer_headers = st.lists(
    st.sampled_from(
        ["return=representation", "return=minimal", "return=headers-only", "count=exact", "count=bogus",
         "resolution=merge-duplicates", "resolution=ignore-duplicates", "missing=default", "max-affected=1",
         "handling=strict", "tx=rollback", "max-affected=x", ""]
    ),
    max_size=3,
).map(lambda items: ", ".join(item for item in items if item))  # fmt: skip
accepts = st.sampled_from(
    ["application/json", "*/*", "application/vnd.pgrst.object+json", "text/csv", "application/vnd.pgrst.object",
     "application/geo+json", "bogus/type", ";;;"]
)  # fmt: skip


@FUZZ
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PATCH", "DELETE"]),
    table=st.sampled_from(TABLES),
    params=st.lists(st.tuples(param_keys, param_values), max_size=5),
    body=st.none() | json_values | st.binary(max_size=30),
    prefer=prefer_headers,
    accept=accepts,
    caller=st.sampled_from(["anon", "user", "service"]),
)
def test_fuzzed_rest_requests(
    fuzz_server: ServerProcess, bystander: Bystander, method, table, params, body, prefer, accept, caller
) -> None:
    token = {"anon": None, "user": mint(fuzz_server, ALICE), "service": fuzz_server.service_role_key}[caller]
    headers = {**rest_headers(fuzz_server, token), "Prefer": prefer, "Accept": accept}
    content = body if isinstance(body, bytes) else (None if body is None else json.dumps(body).encode())
    if content is not None:
        headers["Content-Type"] = "application/json"
    response = httpx.request(
        method, f"{fuzz_server.url}/rest/v1/{table}", params=params, content=content, headers=headers, timeout=WAIT
    )
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert_no_traceback(response.text)
    if response.status_code >= 400 and method != "HEAD":
        document = response.json()
        assert isinstance(document, dict) and "message" in document, document
    after_each(fuzz_server, bystander)


@FUZZ
@given(
    path=st.sampled_from(["/auth/v1/signup", "/auth/v1/token?grant_type=password", "/auth/v1/token?grant_type=x",
                          "/auth/v1/token?grant_type=refresh_token", "/auth/v1/user", "/auth/v1/logout",
                          "/realtime/v1/api/broadcast", "/realtime/v1/api/broadcast/fz/events/e"]),
    method=st.sampled_from(["POST", "PUT", "GET"]),
    body=json_values | st.binary(max_size=40),
)  # fmt: skip
def test_fuzzed_auth_and_broadcast_bodies(fuzz_server: ServerProcess, bystander: Bystander, path, method, body) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = httpx.request(
        method, fuzz_server.url + path, content=content, headers=rest_headers(fuzz_server), timeout=WAIT
    )
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert_no_traceback(response.text)
    after_each(fuzz_server, bystander)


def test_no_crash_logged_by_rest_fuzzing(fuzz_server: ServerProcess, bystander: Bystander) -> None:
    assert_log_clean(fuzz_server)
    assert_alive(fuzz_server)


# ---------------------------------------------------------------------------------------------------- JWTs

ROLES = ("anon", "authenticated", "service_role")


def _acceptable(token: str, secret: str) -> bool:
    """The oracle: an HS256 token signed with the project secret, unexpired, with a known string role."""
    try:
        options = {"require": ["exp", "role"], "verify_aud": False}  # Realtime does not check the audience
        claims = jwt.decode(token, secret, algorithms=["HS256"], options=options)
    except jwt.InvalidTokenError:
        return False
    except Exception:
        return False
    return isinstance(claims.get("role"), str) and claims["role"] in ROLES


@st.composite
def tokens(draw: st.DrawFn, secret: str) -> str:
    now = int(time.time())
    claims = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "role": st.sampled_from([*ROLES, "postgres", "", "SERVICE_ROLE"]) | json_values,
                "exp": st.sampled_from([now + 3600, now - 10, 0, 2**63, -1]) | json_values,
                "sub": st.sampled_from([ALICE, "", "not-a-uuid"]) | json_values,
                "aud": json_values,
                "iat": json_values,
                "nbf": st.sampled_from([now + 3600, now - 10]) | json_values,
            },
        )
    )
    how = draw(st.sampled_from(["right", "right", "wrong-secret", "none", "hs512", "truncated", "text", "tampered"]))
    try:
        if how == "none":
            return unsigned(claims)
        key = secret if how != "wrong-secret" else secret[::-1]
        token = jwt.encode(claims, key, algorithm="HS512" if how == "hs512" else "HS256")
    except (TypeError, ValueError, OverflowError):
        return draw(st.text(alphabet="abcXYZ0189-_.=", min_size=1, max_size=80))
    if how == "truncated":
        return token[: draw(st.integers(1, len(token) - 1))]
    if how == "text":
        return draw(st.text(alphabet="abcXYZ0189-_.=", min_size=1, max_size=80))
    if how == "tampered":
        header, payload, signature = token.split(".")
        return ".".join([header, payload[::-1], signature])
    return token


@pytest.fixture(scope="module")
def secret(fuzz_server: ServerProcess) -> str:
    return jwt_secret(fuzz_server)


@FUZZ
@given(data=st.data())
def test_fuzzed_jwts_on_every_path(fuzz_server: ServerProcess, bystander: Bystander, secret: str, data) -> None:
    token = data.draw(tokens(secret))
    good = _acceptable(token, secret)
    base = fuzz_server.url
    rest = httpx.get(f"{base}/rest/v1/guestbook", headers=rest_headers(fuzz_server, token), timeout=WAIT)
    assert rest.status_code == (200 if good else 401), (token, rest.status_code, rest.text)
    assert_no_traceback(rest.text)
    user = httpx.get(f"{base}/auth/v1/user", headers=rest_headers(fuzz_server, token), timeout=WAIT)
    assert user.status_code < 500, (token, user.status_code, user.text)
    assert good or user.status_code in (401, 403), (token, user.status_code, user.text)
    assert_no_traceback(user.text)
    http_broadcast = httpx.post(
        f"{base}/realtime/v1/api/broadcast/fz/events/e", json={}, headers=rest_headers(fuzz_server, token)
    )
    assert http_broadcast.status_code == (202 if good else 401), http_broadcast.text
    # The websocket: the key in the URL, then the token in a join and in an access_token push.
    try:
        with ws_sync.connect(ws_url(fuzz_server, key=quote(token, safe=""))) as socket_:
            socket_.close()
        assert good, f"the socket accepted {token!r}"
    except InvalidStatus as error:
        assert error.response.status_code == 401, error.response.status_code
        assert_no_traceback(error.response.body)
        assert not good or not token, f"a valid token was refused: {token!r}"
    with SyncSocket(fuzz_server) as sock:
        reply = sock.join("fz-jwt", {"private": False}, access_token=token)
        status = reply["payload"]["status"]
        assert status == ("ok" if good or not token or token.startswith("sb_") else "error"), (token, reply)
        if status == "ok":
            sock.push("realtime:fz-jwt", "access_token", {"access_token": token}, join_ref=reply["ref"])
            sock.heartbeat()
            if not good and token and not token.startswith("sb_"):
                raise AssertionError("unreachable: a bad token joined")
    after_each(fuzz_server, bystander)


def test_jwt_with_non_string_role_is_refused_not_a_crash(fuzz_server: ServerProcess, secret: str) -> None:
    """Regression: a signed token with ``role: ["x"]`` made verify_token raise TypeError (500 on REST and socket)."""
    mark = len((fuzz_server.data_dir / "server.log").read_text())
    for role in (["service_role"], {"r": 1}, 1):
        token = jwt.encode({"role": role, "exp": int(time.time()) + 60}, secret, algorithm="HS256")
        response = httpx.get(f"{fuzz_server.url}/rest/v1/guestbook", headers=rest_headers(fuzz_server, token))
        assert response.status_code == 401, response.text
        with pytest.raises(InvalidStatus) as refused:
            ws_sync.connect(ws_url(fuzz_server, key=token))
        assert refused.value.response.status_code == 401
    assert_log_clean(fuzz_server, mark)


# ---------------------------------------------------------------------------------------------------- filters

filter_columns = st.sampled_from(["recipient", "sender", "id", "room", "title", "read", "created_at", "nope", ""])
filter_ops = st.sampled_from(["eq", "neq", "in", "is", "gt", "like", "ilike", "match", "isdistinct", "not.eq", "or"])
filter_values = st.sampled_from([ALICE, BOB, "null", "true", f"({ALICE},{BOB})", "(", "0", "%", "*"]) | nasty_text
filters_text = st.builds(
    lambda column, op, value, tail: f"{column}={op}.{value}{tail}",
    filter_columns,
    filter_ops,
    filter_values,
    st.sampled_from(["", ",", f",recipient=eq.{BOB}", f",or=(recipient.eq.{ALICE})", ")", "&x=y"]),
) | st.text(max_size=30)


@FUZZ
@given(text=filters_text)
def test_fuzzed_realtime_filters_never_leak(fuzz_server: ServerProcess, bystander: Bystander, text: str) -> None:
    """Bob subscribes to notifications with any filter; a note from Alice to herself must never reach him."""
    with SyncSocket(fuzz_server, key=fuzz_server.anon_key) as sock:
        bindings = [
            {"event": "*", "schema": "public", "table": "nbrt_notifications", "filter": text},
            {"event": "INSERT", "schema": "public", "table": "guestbook"},
        ]
        reply = sock.join("fz-filter", {"postgres_changes": bindings}, access_token=mint(fuzz_server, BOB))
        assert reply["payload"]["status"] == "ok", reply
        system = sock.receive_until(lambda m: m["event"] == "system")
        assert system["payload"]["status"] in ("ok", "error"), system
        if system["payload"]["status"] == "error":
            assert_no_traceback(system["payload"]["message"])
            return
        service = rest_headers(fuzz_server, apikey=fuzz_server.service_role_key)
        note = {"room": "r", "recipient": ALICE, "sender": ALICE, "title": "private"}
        barrier = {"id": str(uuid.uuid4()), "message": "barrier"}
        assert httpx.post(f"{fuzz_server.url}/rest/v1/nbrt_notifications", json=note, headers=service).is_success
        assert httpx.post(f"{fuzz_server.url}/rest/v1/guestbook", json=barrier, headers=service).is_success
        sock.receive_until(
            lambda m: m["event"] == "postgres_changes" and m["payload"]["data"]["record"].get("id") == barrier["id"]
        )
        leaked = [
            m
            for m in sock.received
            if m["event"] == "postgres_changes" and m["payload"]["data"]["table"] != "guestbook"
        ]
        assert leaked == [], f"filter {text!r} leaked {leaked}"
    after_each(fuzz_server, bystander)


def test_no_crash_logged_by_token_and_filter_fuzzing(fuzz_server: ServerProcess, bystander: Bystander) -> None:
    assert_log_clean(fuzz_server)
    fresh_client_works(fuzz_server)


# ---------------------------------------------------------------------------------------------------- oversized


def test_oversized_payloads_are_refused_cleanly(limited: ServerProcess) -> None:
    bystander = Bystander(limited)
    big = secrets.token_urlsafe(100 * 1024)  # > 64 KiB, incompressible
    with SyncSocket(limited) as sock:
        reply = sock.join("big", {"broadcast": {"ack": True}, "presence": {"key": "k"}})
        ref = sock.push("realtime:big", "broadcast", {"type": "broadcast", "event": "e", "payload": {"b": big}})
        assert sock.reply_to(ref)["payload"] == {"status": "error", "response": {"error": "payload_size_exceeded"}}
        sock.heartbeat()  # the socket survives a refused broadcast
        sock.push("realtime:big", "presence", {"event": "track", "payload": {"b": big}}, join_ref=reply["ref"])
        system = sock.receive_until(lambda m: m["event"] == "system")
        assert system["payload"]["message"] == "Track message size exceeded"
        sock.receive_until(lambda m: m["event"] == "phx_close")
        sock.heartbeat()
    bystander.check()
    # A frame beyond the websocket's own limit closes that socket with 1009, and only that socket.
    with SyncSocket(limited, max_size=None) as sock:
        sock.join("big")
        huge = {"event": "e", "payload": {"b": secrets.token_urlsafe(2_000_000)}}
        sock.send_raw(json.dumps({"topic": "realtime:big", "event": "broadcast", "ref": "9", "payload": huge}))
        drain_until_closed(sock)
        assert close_info(sock.connection)[0] == 1009
    bystander.check()
    single = httpx.post(
        f"{limited.url}/realtime/v1/api/broadcast/big/events/e", json={"b": big}, headers=rest_headers(limited)
    )
    assert single.status_code == 413 and single.json() == {"message": "payload_size_exceeded"}
    rest = httpx.post(
        f"{limited.url}/rest/v1/nbrt_rooms",
        content=b'{"name": "' + b"m" * (11 * 1024 * 1024) + b'"}',
        headers={**rest_headers(limited), "Content-Type": "application/json"},
        timeout=60,
    )
    assert rest.status_code == 413 and rest.json()["code"] == "PGRST413"
    try:
        long_url = httpx.get(f"{limited.url}/rest/v1/nbrt_rooms?name=eq.{'x' * 60_000}", headers=rest_headers(limited))
    except httpx.RemoteProtocolError:
        pass  # the HTTP parser hung up on an oversized request line: a refusal without any body to leak
    else:
        assert long_url.status_code < 500 or long_url.status_code == 431
        assert_no_traceback(long_url.text)
    bystander.check()
    assert_log_clean(limited)
    bystander.close()


def test_batch_http_broadcast_respects_the_payload_limit(limited: ServerProcess) -> None:
    """Regression (found by this suite, fixed in fca669c): the batch endpoint accepted any size."""
    response = httpx.post(
        f"{limited.url}/realtime/v1/api/broadcast",
        json={"messages": [{"topic": "big", "event": "e", "payload": {"b": secrets.token_urlsafe(100 * 1024)}}]},
        headers=rest_headers(limited),
    )
    assert response.status_code == 413 and response.json() == {"message": "payload_size_exceeded"}


# ---------------------------------------------------------------------------------------------------- floods


def test_message_flood_shuts_only_the_flooding_channel(limited: ServerProcess) -> None:
    bystander = Bystander(limited)
    with SyncSocket(limited) as flooder, SyncSocket(limited) as listener, SyncSocket(limited) as talker:
        for sock in (flooder, listener, talker):
            sock.join("flood", {"broadcast": {"self": False}})
        for i in range(30):
            try:
                flooder.push("realtime:flood", "broadcast", {"type": "broadcast", "event": "f", "payload": {"i": i}})
            except ConnectionClosed:
                break
        system = flooder.receive_until(lambda m: m["event"] == "system")
        assert system["payload"] == {
            "channel": "flood", "extension": "system", "message": "Too many messages per second", "status": "error",
        }  # fmt: skip
        flooder.receive_until(lambda m: m["event"] == "phx_close")
        flooder.heartbeat()  # the socket itself is still served
        relayed = [m["payload"]["payload"]["i"] for m in _broadcasts(listener, "f", until=4)]
        assert relayed == [0, 1, 2, 3, 4], relayed
        talker.push("realtime:flood", "broadcast", {"type": "broadcast", "event": "t", "payload": {}})
        _broadcasts(listener, "t", until=None)
    bystander.check()
    assert_log_clean(limited)
    bystander.close()


def _broadcasts(sock: SyncSocket, event: str, until: int | None) -> list[dict[str, Any]]:
    """Broadcasts of ``event`` received, up to the one whose payload ``i`` is ``until`` (or the first one)."""
    got = []

    def done(message: Any) -> bool:
        if message["event"] == "broadcast" and message["payload"]["event"] == event:
            got.append(message)
            return until is None or message["payload"]["payload"].get("i") == until
        return False

    sock.receive_until(done)
    return got


def test_presence_and_channel_floods_are_limited(limited: ServerProcess) -> None:
    bystander = Bystander(limited)
    with SyncSocket(limited) as sock:
        reply = sock.join("p", {"presence": {"key": "me"}})
        refs = [
            sock.push("realtime:p", "presence", {"event": "track", "payload": {"n": n}}, join_ref=reply["ref"])
            for n in range(3)
        ]
        for ref in refs:
            assert sock.reply_to(ref)["payload"]["status"] == "ok"
        sock.push("realtime:p", "presence", {"event": "track", "payload": {"n": 4}}, join_ref=reply["ref"])
        system = sock.receive_until(lambda m: m["event"] == "system")
        assert system["payload"]["message"] == "Client presence rate limit exceeded"
        sock.receive_until(lambda m: m["event"] == "phx_close")
        for name in ("c1", "c2", "c3"):
            assert sock.join(name)["payload"]["status"] == "ok"
        refused = sock.join("c4")
        assert refused["payload"] == {
            "status": "error", "response": {"reason": "ChannelRateLimitReached: Too many channels"},
        }  # fmt: skip
        sock.heartbeat()
    bystander.check()
    bystander.close()


def test_connection_and_request_floods(limited: ServerProcess) -> None:
    bystander = Bystander(limited)
    sockets = [ws_sync.connect(ws_url(limited), open_timeout=WAIT) for _ in range(100)]
    try:
        bystander.check()
        fresh_client_works(limited)
    finally:
        for sock in sockets:
            sock.close()

    async def hammer() -> list[int]:
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100)) as client:
            requests = [
                client.get(f"{limited.url}/rest/v1/nbrt_rooms?name=eq.r{n}", headers=rest_headers(limited))
                for n in range(200)
            ]
            return [response.status_code for response in await asyncio.gather(*requests)]

    assert set(asyncio.run(hammer())) == {200}
    bystander.check()
    assert_log_clean(limited)
    bystander.close()


def test_slow_reader_does_not_hold_up_others(limited: ServerProcess, tmp_path: Path) -> None:
    """A socket that never reads (its buffers fill) must not delay broadcasts to the others on its topic."""
    import socket as socket_module

    raw = socket_module.create_connection(("127.0.0.1", limited.port))
    raw.setsockopt(socket_module.SOL_SOCKET, socket_module.SO_RCVBUF, 4096)
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    raw.sendall(
        f"GET /realtime/v1/websocket?apikey={limited.anon_key}&vsn=1.0.0 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert b"101" in raw.recv(4096).split(b"\r\n")[0]
    join = json.dumps({"topic": "realtime:slow", "event": "phx_join", "payload": {"config": {}}, "ref": "1"}).encode()
    raw.sendall(_masked_text_frame(join))
    bystander = Bystander(limited, topic="slow")
    payload = {"b": secrets.token_urlsafe(8_000)}
    started = time.monotonic()
    for n in range(80):
        response = httpx.post(
            f"{limited.url}/realtime/v1/api/broadcast",
            json={"messages": [{"topic": "slow", "event": "e", "payload": {**payload, "n": n}}] * 5},
            headers=rest_headers(limited),
        )
        assert response.status_code == 202
    bystander.check(timeout=WAIT)
    assert time.monotonic() - started < WAIT
    raw.close()
    bystander.close()
    assert_log_clean(limited)


def _masked_text_frame(data: bytes) -> bytes:
    mask = secrets.token_bytes(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(data))
    length = len(data)
    header = struct.pack("!BB", 0x81, 0x80 | length) if length < 126 else struct.pack("!BBH", 0x81, 0x80 | 126, length)
    return header + mask + masked
