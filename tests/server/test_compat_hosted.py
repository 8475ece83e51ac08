"""``nbrealtime serve --compat hosted``: DELETEs unfiltered and cut to the primary key for everyone subscribed, and
events lost in the first moments after SUBSCRIBED (``docs/compat-hosted.md``) — through the official Python client."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from supabase import acreate_client

from nbrealtime.launcher import ServerProcess
from tests.realtime_support import Inbox, subscribed
from tests.server.rest_support import ALICE, BOB, headers, mint

ITEMS = Path(__file__).with_name("rest_items.toml")
ROWS = "nbrt_collection_rows"


def _service(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/rest/v1", headers=headers(server, server.service_role_key))


async def _listen(server: ServerProcess, table: str, row_filter: str | None, token: str | None = None):
    client = await acreate_client(server.url, server.anon_key)
    if token:
        await client.realtime.set_auth(token)
    inbox = Inbox()
    channel = client.channel(f"watch-{table}-{time.monotonic_ns()}")
    channel.on_postgres_changes("*", inbox, table=table, filter=row_filter)
    await subscribed(channel)
    return client, inbox


@pytest.mark.parametrize("mode", ["strict", "hosted"])
async def test_deletes_of_rows_a_subscriber_cannot_read(start: Callable[..., ServerProcess], mode: str) -> None:
    server = start("--compat", mode, "--subscribe-gap-ms", "0")
    row = {"room": "alices", "collection": "c", "id": "r1", "data": {"secret": 1}}
    with _service(server) as http:
        http.post("/nbrt_room_members", json={"room": "alices", "user_id": ALICE}).raise_for_status()
        http.post(f"/{ROWS}", json=row).raise_for_status()
    bob, bob_inbox = await _listen(server, ROWS, "room=eq.bobs", mint(server, BOB))  # another room, no membership
    alice, alice_inbox = await _listen(server, ROWS, "room=eq.alices", mint(server, ALICE))
    try:
        with _service(server) as http:
            http.delete(f"/{ROWS}?room=eq.alices&id=eq.r1").raise_for_status()
            http.post(f"/{ROWS}", json={**row, "id": "r2"}).raise_for_status()  # then an INSERT only Alice sees
        seen = await alice_inbox.next()
        assert seen["data"]["type"] == "DELETE"
        expected_old = {"room": "alices", "collection": "c", "id": "r1"} if mode == "hosted" else None
        if mode == "hosted":
            assert seen["data"]["old_record"] == expected_old  # only the primary key, even for its reader
            leaked = await bob_inbox.next()
            assert (leaked["data"]["type"], leaked["data"]["old_record"]) == ("DELETE", expected_old)
        else:
            assert seen["data"]["old_record"]["data"] == {"secret": 1}
        assert (await alice_inbox.next())["data"]["type"] == "INSERT"
        assert bob_inbox.empty()  # the INSERT is filtered and checked in both modes
    finally:
        await bob.realtime.close()
        await alice.realtime.close()


async def test_events_right_after_subscribed_are_lost(start: Callable[..., ServerProcess]) -> None:
    gap = 1.5
    server = start("--schema", str(ITEMS), "--compat", "hosted", "--subscribe-gap-ms", str(int(gap * 1000)))
    started = time.monotonic()  # the server's window opens after this, when it registers the binding
    client, inbox = await _listen(server, "items", None)
    try:
        with _service(server) as http:
            http.post("/items", json={"name": "lost"}).raise_for_status()
            assert time.monotonic() - started < gap, "the machine was too slow to write inside the window"
            arrived = await _write_until_delivered(http, inbox, deadline=started + gap + 10)
        assert arrived["data"]["record"]["name"] != "lost"  # commit order is delivery order: "lost" never came
    finally:
        await client.realtime.close()


async def _write_until_delivered(http: httpx.Client, inbox: Inbox, *, deadline: float) -> Any:
    """Insert rows until one is delivered (the window has closed); the first event that arrives."""
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        http.post("/items", json={"name": f"after-{attempt}"}).raise_for_status()
        try:
            return await inbox.next(timeout=0.25)
        except TimeoutError:
            continue
    raise AssertionError("no event arrived after the window")


async def test_strict_mode_has_no_window(start: Callable[..., ServerProcess]) -> None:
    server = start("--schema", str(ITEMS))
    client, inbox = await _listen(server, "items", None)
    try:
        with _service(server) as http:
            http.post("/items", json={"name": "first"}).raise_for_status()
        assert (await inbox.next())["data"]["record"]["name"] == "first"
    finally:
        await client.realtime.close()
