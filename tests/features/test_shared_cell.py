"""Shared cells: concurrent typing converges, nothing typed is lost, late joiners and restarts catch up."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbrealtime
from nbrealtime.launcher import ServerProcess
from tests.client.support import Events, Peer, open_room

CONVERGE = 30.0


def converged(cells: list[nbrealtime.SharedCell], timeout: float = CONVERGE) -> str:
    """Wait until every replica shows the same text (change callbacks wake us; no fixed sleeps) and return it."""
    changed = Events()
    for cell in cells:
        cell.on_change(changed.put)
    deadline = time.monotonic() + timeout
    while len({cell.text for cell in cells}) != 1:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"replicas did not converge: {[cell.text for cell in cells]}"
        try:
            changed.expect(lambda _: True, timeout=remaining)
        except AssertionError:
            continue
    return cells[0].text


def until_text(cell: nbrealtime.SharedCell, predicate, timeout: float = CONVERGE) -> str:
    changed = Events()
    cell.on_change(changed.put)
    if not predicate(cell.text):
        changed.expect(predicate, timeout, what=f"text of {cell.name!r} (now {cell.text!r})")
    return cell.text


@pytest.fixture
def trio(env) -> Iterator[list[nbrealtime.Room]]:
    opened = [nbrealtime.connect("cells", user="ann")]
    open_room(opened[0])
    opened += [nbrealtime.connect("cells", user=name) for name in ("ben", "cy")]
    yield opened
    for room in opened:
        room.close()


def test_two_kernels_type_at_once_and_neither_loses_a_character(rooms, peers, env) -> None:
    alice = nbrealtime.connect("cells", user="alice")
    rooms.append(alice)
    cell = alice.cell("notes")
    bob = Peer("cells", "bob", env, invite=alice.invite())
    peers.append(bob)
    bob.do("cell_watch", cell="notes")
    words = ("one ", "two ", "three ")
    for word in words:
        cell.insert(len(cell.text), f"alice-{word}")
        bob.do("cell_insert", cell="notes", index=0, text=f"bob-{word}")
    expected_length = sum(len(f"alice-{w}") + len(f"bob-{w}") for w in words)
    seen_by_bob = bob.events.expect(
        lambda e: e.get("cell") == "notes" and len(e["text"]) == expected_length, what="bob to have every word"
    )["text"]
    text = until_text(cell, lambda text: text == seen_by_bob)
    for word in words:
        assert f"alice-{word}" in text and f"bob-{word}" in text


def test_set_is_a_minimal_diff_that_keeps_concurrent_typing(trio) -> None:
    ann, ben, _ = (room.cell("doc") for room in trio)
    ann.set("def f():\n    return 1\n")
    converged([ann, ben])
    ben.insert(0, "# ben was here\n")
    ann.set(ann.text.replace("return 1", "return 2"))
    text = converged([ann, ben])
    assert "# ben was here" in text and "return 2" in text


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), operations=st.integers(10, 40))
def test_random_concurrent_edits_from_three_kernels_converge(trio, seed: int, operations: int) -> None:
    rng = random.Random(seed)
    cell_name = f"fuzz-{uuid.uuid4().hex[:12]}"  # hypothesis replays seeds: every example needs a fresh cell
    cells = [room.cell(cell_name) for room in trio]
    inserted: set[str] = set()
    deleted: set[str] = set()
    for step in range(operations):
        who = rng.randrange(3)
        cell = cells[who]
        roll = rng.random()
        if roll < 0.65 or not cell.text:
            token = f"<{who}.{step}>"
            positions = [0, len(cell.text), *(i + 1 for i, ch in enumerate(cell.text) if ch == ">")]
            cell.insert(rng.choice(positions), token)
            inserted.add(token)
        elif roll < 0.9:
            with cell.transaction():  # remote edits must not move the text between index() and delete()
                tokens = sorted(t for t in inserted - deleted if t in cell.text)
                if tokens:
                    token = rng.choice(tokens)
                    cell.delete(cell.text.index(token), len(token))
                    deleted.add(token)
        else:
            trio[who].reconnect()  # a dropped connection: updates sent meanwhile come back through sync
    text = converged(cells)
    assert sorted(t for t in inserted - deleted) == sorted(t for t in inserted if t in text)
    assert not any(token in text for token in deleted)


def test_everything_typed_survives_a_full_restart(server: ServerProcess, env) -> None:
    room = nbrealtime.connect("cells", user="ann")
    open_room(room)
    cell = room.cell("persist", language="markdown")
    for n in range(50):
        cell.insert(len(cell.text), f"line {n}\n")
    room.close()
    server.stop()
    again = server.restart()
    try:
        later = nbrealtime.connect("cells", user="dora")
        try:
            restored = later.cell("persist")
            assert restored.text == "".join(f"line {n}\n" for n in range(50))
        finally:
            later.close()
    finally:
        again.stop()


def test_late_joiner_after_ten_thousand_edits(trio) -> None:
    ann = trio[0].cell("long")
    for n in range(10_000):
        ann.insert(len(ann.text), "abcdefghij"[n % 10])
    converged([ann, trio[1].cell("long")])
    trio[0].close()  # flushes the log; compaction has kept it short
    late = nbrealtime.connect("cells", user="eve")
    try:
        started = time.perf_counter()
        text = late.cell("long").text
        print(f"late joiner loaded 10,000 edits in {1000 * (time.perf_counter() - started):.0f} ms")
        assert text == "abcdefghij" * 1000
    finally:
        late.close()


def test_run_executes_the_current_text(trio) -> None:
    cell = trio[0].cell("code")
    cell.set("answer = 41 + 1\n")
    assert cell.run()["answer"] == 42
    assert repr(cell) == "<SharedCell 'code' (python, 16 chars): 'answer = 41 + 1\\n'>"


def test_a_cell_opened_right_after_someone_typed_has_their_text_once_synced(env, rooms) -> None:
    """Edits reach the log in 100 ms batches: one opened in between gets them from the typist's answer."""
    alice = nbrealtime.connect("fresh", user="alice")
    rooms.append(alice)
    open_room(alice)
    bob = nbrealtime.connect("fresh", user="bob")
    rooms.append(bob)
    alice.cell("notes").set("typed a moment ago\n")
    opened = bob.cell("notes")  # the log may not have it yet
    assert opened.wait_synced(timeout=10), "alice, who has the cell open, did not answer"
    assert opened.text == "typed a moment ago\n"
    lonely = bob.cell("nobody-else-has-this")
    assert not lonely.wait_synced(timeout=0.5), "an answer came from nobody"


class _View:
    """A browser view's side of a cell: a bound method is what the editor widget registers (a new object on every
    attribute access, so removal must go by equality)."""

    def __init__(self) -> None:
        self.updates = Events()

    def send(self, update: bytes) -> None:
        self.updates.put(update)


def test_a_removed_view_gets_no_more_updates_and_others_still_do(trio) -> None:
    ann, ben, _ = trio
    typed = ann.cell(f"views-{uuid.uuid4().hex[:6]}")
    watched = ben.cell(typed.name)
    leaving, staying = _View(), _View()
    watched.add_view(leaving.send)
    watched.add_view(staying.send)
    typed.insert(0, "a")
    leaving.updates.expect(lambda u: isinstance(u, bytes), what="the first update at the leaving view")
    staying.updates.expect(lambda u: isinstance(u, bytes), what="the first update at the staying view")
    watched.remove_view(leaving.send)
    typed.insert(1, "b")
    until_text(watched, lambda text: text == "ab")
    staying.updates.expect(lambda u: isinstance(u, bytes), what="the second update at the staying view")
    until_text(typed, lambda text: text == "ab")
    watched.insert(2, "c")  # a later local update too: once the staying view has it, the other would have
    staying.updates.expect(lambda u: isinstance(u, bytes), what="the third update at the staying view")
    assert leaving.updates.queue.empty() and not leaving.updates.seen, "a removed view was still sent updates"
