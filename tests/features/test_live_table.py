"""Live tables: optimistic writes, rollback, conflicts under each strategy, and a durable outbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import nbrealtime
from nbrealtime.launcher import ServerProcess
from tests.client.support import Events, Peer, open_room

WAIT = 20.0


def until_rows(table, predicate, what: str, timeout: float = WAIT) -> list[dict]:
    """Wait until ``predicate(table.rows)`` holds (woken by the table's change callbacks)."""
    changed = Events()
    table.on_change(lambda old, new: changed.put(None))
    if not predicate(table.rows):
        changed.expect(lambda _: predicate(table.rows), timeout, what)
    return table.rows


@pytest.fixture
def pair(env) -> Iterator[tuple[nbrealtime.Room, nbrealtime.Room]]:
    alice = nbrealtime.connect("tables", user="alice")
    open_room(alice)
    bob = nbrealtime.connect("tables", user="bob")
    yield alice, bob
    alice.close()
    bob.close()


def test_optimistic_insert_is_pending_then_confirmed_and_seen_live(pair) -> None:
    alice, bob = (room.collection("tasks") for room in pair)
    inserted = Events()
    bob.on_insert(lambda old, new: inserted.put(new))
    handle = alice.insert({"title": "write tests", "done": False})
    assert handle.status == "pending"
    assert alice.row(handle.key) == {"id": handle.key, "title": "write tests", "done": False}
    assert alice.status(handle.key) == "pending"
    assert handle.wait(WAIT) == "confirmed"
    assert alice.status(handle.key) == "confirmed"
    assert inserted.expect(lambda row: row["id"] == handle.key)["title"] == "write tests"
    assert repr(alice) == "<LiveTable 'tasks': 1 rows, 0 pending>"


def test_a_refused_write_rolls_back_and_keeps_its_error(pair) -> None:
    alice, _ = pair
    notes = alice.table("nbrt_notifications")
    handle = notes.insert({"room": "tables", "recipient": alice.me.id})  # no title: not null violated
    assert notes.row(handle.key) is not None, "shown at once"
    assert handle.wait(WAIT) == "failed"
    assert "null" in (handle.error or "")
    assert notes.row(handle.key) is None, "rolled back"
    assert notes.status(handle.key) == "failed" and notes.error(handle.key) == handle.error
    assert notes.failed[handle.key][1] == handle.error, "kept for a retry"
    notes.discard(handle.key)
    assert (notes.status(handle.key), notes.error(handle.key), notes.failed) == ("confirmed", None, {})


@pytest.mark.parametrize("strategy", ["lww", "merge"])
def test_concurrent_edits_of_one_row_converge(pair, strategy: str) -> None:
    alice, bob = (room.collection(f"board-{strategy}", conflict=strategy) for room in pair)
    key = alice.insert({"title": "draft", "done": False, "votes": 0}).key
    until_rows(bob, lambda rows: any(row["id"] == key for row in rows), "bob to see the row")
    first, second = bob.update(key, {"done": True}), alice.update(key, {"title": "final"})
    assert {first.wait(WAIT), second.wait(WAIT)} == {"confirmed"}
    until_rows(bob, lambda rows: rows == alice.rows, "both views to agree")
    row = alice.row(key)
    if strategy == "merge":
        assert row == {"id": key, "title": "final", "done": True, "votes": 0}, "one-sided changes both kept"
    else:
        assert row["title"] == "final", "the later write wins the whole row"


def test_a_stale_write_that_loses_under_lww_is_settled_not_left_pending(pair) -> None:
    alice, bob = (room.collection("stale", conflict="lww") for room in pair)
    key = alice.insert({"title": "draft"}).key
    bob.wait_until(lambda rows: len(rows) == 1)
    bob.pause()  # bob edits offline, on the version he has
    stale = bob.update(key, {"title": "bob's"})
    fresh = alice.update(key, {"title": "alice's"})
    assert fresh.wait(WAIT) == "confirmed"
    bob.resume()
    assert stale.wait(WAIT) == "confirmed", "settled either way: rewritten and applied, or already superseded"
    bob.wait_until(lambda rows: rows == alice.rows)
    # Concurrent writes (neither saw the other) are ordered by their HLC stamps, even within one millisecond.
    winner = "alice's" if fresh.stamp > stale.stamp else "bob's"
    assert alice.row(key)["title"] == winner and bob.pending_count == 0


def test_manual_conflicts_wait_in_the_list_until_resolved(pair) -> None:
    tables = [room.collection("manual", conflict="manual") for room in pair]
    key = tables[0].insert({"title": "draft"}).key
    until_rows(tables[1], lambda rows: any(row["id"] == key for row in rows), "bob to see the row")
    listed = Events()
    for table in tables:
        table.on_view(lambda table: listed.put(table) if table.conflicts else None)
    handles = [table.update(key, {"title": f"{room.me.name}'s"}) for table, room in zip(tables, pair, strict=True)]
    loser = listed.expect(lambda table: True, WAIT, "one side's write to conflict")  # both were based on "draft"
    conflict = loser.conflicts[0]
    mine = f"{loser.room.me.name}'s"
    assert conflict.mine["title"] == mine and conflict.theirs["title"] != mine
    assert conflict.base["title"] == "draft" and conflict.fields == ("title",)
    assert [handle.status for handle in handles].count("pending") == 1, "the parked write waits for a person"
    loser.resolve(conflict, "mine")
    assert {handle.wait(WAIT) for handle in handles} == {"confirmed"}
    for table in tables:
        until_rows(table, lambda rows: rows[0]["title"] == mine, "the resolution to reach everyone")
        assert table.conflicts == []


def test_writes_survive_a_dead_server_and_a_killed_kernel(server: ServerProcess, peers, env) -> None:
    writer = Peer("tables", "writer", env)
    peers.append(writer)
    writer.do("open")
    writer.do("collection_watch", name="queue")
    server.kill()
    keys = []
    for n in range(5):
        keys.append(writer.do("collection_insert", name="queue", values={"id": f"item-{n}", "n": n})["done"])
    writer.kill()  # the kernel dies with five writes queued and the server down
    restarted = server.restart()
    try:
        again = Peer("tables", "writer", env)  # a restarted kernel of the same user
        peers.append(again)
        again.do("collection_watch", name="queue")
        reader = nbrealtime.connect("tables", user="reader")
        try:
            table = reader.collection("queue")
            rows = until_rows(table, lambda rows: len(rows) == 5, "all five queued writes")
            assert sorted(row["n"] for row in rows) == [0, 1, 2, 3, 4], "each write arrived exactly once"
        finally:
            reader.close()
    finally:
        restarted.stop()
