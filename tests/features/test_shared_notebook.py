"""Shared notebooks: YNotebooks bridged through rooms converge, and no fault duplicates or loses a cell."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jupyter_ydoc import YNotebook
from pycrdt import Doc

import nbrealtime
from nbrealtime.features.notebook_model import cell_ids, move_cell
from nbrealtime.features.shared_notebook import Diverged, SharedNotebook
from nbrealtime.launcher import ServerProcess
from tests.client.support import Events, open_room

pytestmark = pytest.mark.shared_notebook

CONVERGE = 30.0


def connect(room: str, user: str) -> nbrealtime.Room:
    """Join ``room``; whoever creates it (its owner) lets everyone signed in follow as editors (rooms are
    invite-only)."""
    joined = nbrealtime.connect(room, user=user)
    if joined.role == "owner":
        open_room(joined)
    return joined


def code_cell(cell_id: str, source: str = "") -> dict:
    return {"cell_type": "code", "id": cell_id, "metadata": {}, "source": source, "outputs": [],
            "execution_count": None}  # fmt: skip


def write_notebook(path: Path, cells: list[dict]) -> Path:
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def converged(notebooks: list[SharedNotebook], timeout: float = CONVERGE, *, repaired: bool = False) -> dict:
    """Wait (woken by change callbacks, with a deadline) until every copy holds the same notebook (and, if
    ``repaired``, every cell id once: copies repair duplicates a moment after they converge); return it."""
    changed = Events()
    for notebook in notebooks:
        notebook.on_change(changed.put)
    deadline = time.monotonic() + timeout

    def done() -> bool:
        contents = {json.dumps(notebook.content, sort_keys=True) for notebook in notebooks}
        ids = notebooks[0].cell_ids
        return len(contents) == 1 and (not repaired or len(ids) == len(set(ids)))

    while not done():
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"copies did not converge: {[notebook.cell_ids for notebook in notebooks]}"
        try:
            changed.expect(lambda _: True, timeout=min(remaining, 2.0))
        except AssertionError:
            for notebook in notebooks:  # a quiet moment: ask the others again, as a resubscribe does
                notebook._sync.request_sync()
    return notebooks[0].content


def test_shared_from_python_and_opened_by_a_late_joiner(env, rooms, tmp_path: Path) -> None:
    ann = connect("nb", user="ann")
    rooms.append(ann)
    path = write_notebook(tmp_path / "analysis.ipynb", [code_cell("a", "x = 1"), code_cell("b", "print(x)")])
    shared = ann.share_notebook(path)
    assert [info.name for info in ann.notebooks] == ["analysis.ipynb"]
    ben = connect("nb", user="ben")
    rooms.append(ben)
    opened = ben.notebook("analysis.ipynb")
    assert opened.cell_ids == ["a", "b"]
    assert YNotebook(opened.doc).get_cell(0)["source"] == "x = 1"
    with opened.edit() as notebook:
        notebook.append_cell(code_cell("c", "y = 2"))
    with shared.edit() as notebook:
        notebook.set_cell(0, source="x = 10")
    content = converged([shared, opened])
    assert [cell["id"] for cell in content["cells"]] == ["a", "b", "c"]
    assert content["cells"][0]["source"] == "x = 10"


def test_bad_file_is_one_clear_error(env, rooms, tmp_path: Path) -> None:
    ann = connect("nb", user="ann")
    rooms.append(ann)
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match=r"broken.ipynb is not a notebook \(not JSON"):
        ann.share_notebook(broken)
    with pytest.raises(LookupError, match="no notebook 'nope' in room 'nb'"):
        ann.notebook("nope")


def test_a_divergent_copy_is_refused_and_offline_edits_merge(env, rooms, tmp_path: Path) -> None:
    ann = connect("nb", user="ann")
    rooms.append(ann)
    shared = ann.share_notebook(write_notebook(tmp_path / "a.ipynb", [code_cell("a", "1")]))
    ben = connect("nb", user="ben")
    rooms.append(ben)
    # the same file loaded on its own (as a server reloading it from disk would): same cell ids, other history
    reloaded = Doc()
    YNotebook(reloaded).set(json.loads((tmp_path / "a.ipynb").read_text()))
    with pytest.raises(Diverged):
        ben.notebook("a.ipynb", doc=reloaded)
    copy = ben.notebook("a.ipynb")
    base = copy.state_vector()
    ben.close_notebook(copy)
    with copy.edit() as notebook:  # edited while not synced
        notebook.append_cell(code_cell("offline", "2"))
    rejoined = ben.notebook("a.ipynb", doc=copy.ynotebook, base=base)
    content = converged([shared, rejoined])
    assert [cell["id"] for cell in content["cells"]] == ["a", "offline"]


def test_concurrent_moves_of_one_cell_leave_one_copy(env, rooms, tmp_path: Path) -> None:
    ann, ben = (connect("nb", user=name) for name in ("ann", "ben"))
    rooms.extend([ann, ben])
    cells = [code_cell(name) for name in "abcd"]
    first = ann.share_notebook(write_notebook(tmp_path / "m.ipynb", cells))
    second = ben.notebook("m.ipynb")
    base = first.state_vector()
    ann.close_notebook(first)  # both move cell "a" while apart
    move_cell(first.ynotebook, 0, 3)
    move_cell(second.ynotebook, 0, 2)
    second._sync.settle()
    first = ann.notebook("m.ipynb", doc=first.ynotebook, base=base)
    content = converged([first, second], repaired=True)
    assert sorted(cell["id"] for cell in content["cells"]) == ["a", "b", "c", "d"]


@pytest.fixture
def restartable(server: ServerProcess, env) -> Iterator[list[ServerProcess]]:
    """The embedded server, which a test may restart (same port and data dir): the newest is ``[-1]``."""
    processes = [server]
    yield processes
    if processes[-1] is not server:
        processes[-1].stop()


EMPTY = {"metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), operations=st.integers(10, 30))
def test_random_edits_and_faults_converge_without_duplicated_or_lost_cells(
    restartable: list[ServerProcess], seed: int, operations: int
) -> None:
    """Three copies; random typing, inserts, deletes, moves, dropped connections, a copy restarted from its own
    history with offline edits, a copy reloaded from a file, embedded-server restarts. No cell id twice, and no
    cell that nobody deleted is lost."""
    rng = random.Random(seed)
    room_name = f"fuzz-{uuid.uuid4().hex[:10]}"  # hypothesis replays seeds: every example gets a fresh room
    rooms = [connect(room_name, user=name) for name in ("ann", "ben", "cy")]
    try:
        shared = rooms[0]._run(rooms[0].ashare_notebook({"cells": [code_cell("c0", "start")], **EMPTY}, "f.ipynb"), 30)
        copies = [shared, *(room.notebook("f.ipynb") for room in rooms[1:])]
        alive = {"c0"}
        for step in range(operations):
            who = rng.randrange(3)
            copy = copies[who]
            roll = rng.random()
            ids = copy.cell_ids
            if roll < 0.3 or not ids:
                alive.add(insert_cell(copy, rng, f"c{step}-{who}"))
            elif roll < 0.55:
                with copy.edit() as notebook:
                    notebook.ycells[rng.randrange(len(ids))]["source"].insert(0, f"<{who}.{step}>")
            elif roll < 0.65 and len(ids) > 1:
                with copy.edit() as notebook:
                    index = rng.randrange(len(ids))
                    alive.discard(ids[index])
                    del notebook.ycells[index]
            elif roll < 0.75:
                with copy.edit():
                    move_cell(copy.ynotebook, rng.randrange(len(ids)), rng.randrange(len(ids)))
            elif roll < 0.82:
                rooms[who].reconnect()
            elif roll < 0.9:
                # a Jupyter server restarted from its own store, edited while away: the offline edit merges
                base = copy.state_vector()
                rooms[who].close_notebook(copy)
                alive.add(insert_cell(copy, rng, f"off{step}-{who}"))
                copies[who] = rooms[who].notebook("f.ipynb", doc=copy.ynotebook, base=base)
            elif roll < 0.95:
                # a server that lost its store and reloaded the file: refused (kept aside), then opened afresh
                base = copy.state_vector()
                reloaded = Doc()
                YNotebook(reloaded).set(copy.content)
                rooms[who].close_notebook(copy)
                with pytest.raises(Diverged):
                    rooms[who].notebook("f.ipynb", doc=reloaded, base=base)
                copies[who] = rooms[who].notebook("f.ipynb")
            else:
                restartable[-1].stop()
                restartable.append(restartable[-1].restart())
        content = converged(copies, timeout=60)
        final_ids = [cell["id"] for cell in content["cells"]]
        assert len(final_ids) == len(set(final_ids)), f"duplicated cells: {final_ids}"
        assert alive <= set(final_ids), f"lost cells: {sorted(alive - set(final_ids))}"
        for copy in copies:
            assert cell_ids(copy.ynotebook) == final_ids
    finally:
        for room in rooms:
            room.close()


def insert_cell(copy: SharedNotebook, rng: random.Random, cell_id: str) -> str:
    with copy.edit() as notebook:
        notebook.ycells.insert(rng.randint(0, len(notebook.ycells)), notebook.create_ycell(code_cell(cell_id)))
    return cell_id


def test_a_run_travels_with_its_output_and_who_ran_it(env, rooms, tmp_path: Path) -> None:
    ann, ben = (connect("nb", user=name) for name in ("ann", "ben"))
    rooms.extend([ann, ben])
    shared = ann.share_notebook(write_notebook(tmp_path / "run.ipynb", [code_cell("a", "6 * 7")]))
    copy = ben.notebook("run.ipynb")
    ran = {**code_cell("a", "6 * 7"), "execution_count": 1,
           "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                        "data": {"text/plain": "42"}}]}  # fmt: skip
    changed = Events()
    shared.on_change(changed.put)  # before the run: its stamp may reach ann at once
    with copy.edit() as notebook:  # what ben's kernel and JupyterLab write into the document
        notebook.set_cell(0, ran)
    content = changed.expect(
        lambda c: "nbrealtime" in c["cells"][0]["metadata"], what="the run, stamped, on ann's side"
    )
    cell = content["cells"][0]
    assert cell["outputs"][0]["data"]["text/plain"] == "42" and cell["execution_count"] == 1
    assert cell["metadata"]["nbrealtime"]["ran_by"] == "ben"
    assert cell["metadata"]["nbrealtime"]["ran_at"].startswith("20")


def test_a_viewers_updates_are_refused_even_from_a_modified_client(env, rooms, tmp_path: Path) -> None:
    ann, ben = (connect("nb", user=name) for name in ("ann", "ben"))
    rooms.extend([ann, ben])
    shared = ann.share_notebook(write_notebook(tmp_path / "v.ipynb", [code_cell("a", "1")]))
    copy = ben.notebook("v.ipynb")
    viewer = ben.me.id
    shared.may_edit = copy.may_edit = lambda user_id: user_id != viewer  # what roles will decide (Room.may_edit)
    assert copy.read_only
    with pytest.raises(PermissionError, match="viewer"):
        copy.edit().__enter__()
    with copy.lock, copy.doc.transaction():  # a modified client: edits its copy and sends the update anyway
        copy.ynotebook.append_cell(code_cell("forged", "rm -rf"))
    arrived = Events()
    ann.on("sent", lambda data, _sender: arrived.put(data))
    copy._sync.publish(copy._sync.update_since())
    ben.send("sent", "done")
    arrived.expect(lambda data: data == "done")  # one sender's broadcasts arrive in order: the forged one came first
    ann.reconnect()  # and a catch-up from the log refuses it too
    ann.wait_connected()
    assert shared.cell_ids == ["a"]
    assert copy.cell_ids == ["a", "forged"]


def test_the_simulated_collaborator_types_adds_and_runs_in_a_shared_notebook(env, rooms, tmp_path: Path) -> None:
    from nbrealtime.demo import collaborator

    me = connect("nb-demo", user="me")
    rooms.append(me)
    shared = me.share_notebook(write_notebook(tmp_path / "demo.ipynb", [code_cell("a", "x = 1")]))
    ada = collaborator("nb-demo", "Ada", greet=False)
    try:
        shared.look("me", me.me.color)  # someone has it open: Ada waits for that, and appears among its collaborators
        me.request("notebook", {"name": "demo.ipynb", "when_seen": True}, reply="notebook_done", timeout=60)
        assert [user["name"] for user in shared.others] == ["Ada"]
        changed = Events()
        shared.on_change(changed.put)

        def ran(content: dict) -> bool:  # the run's output, then (a moment later) Ada's stamp on it
            cells = content["cells"]
            return len(cells) == 2 and bool(cells[1]["outputs"]) and "nbrealtime" in cells[1]["metadata"]

        content = shared.content
        if not ran(content):
            content = changed.expect(ran, what="Ada's run, stamped")
    finally:
        ada.stop()
    first, added = content["cells"]
    assert first["source"] == "# Ada was here\nx = 1"
    assert added["outputs"][0]["text"] == "hello from Ada\n" and added["execution_count"] == 1
    assert added["metadata"]["nbrealtime"]["ran_by"] == "Ada"
