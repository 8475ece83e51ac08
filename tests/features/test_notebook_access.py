"""Roles over a shared notebook: a member demoted to viewer holds a read-only copy at once (and a modified client's
updates are refused by the room), a member removed holds a copy that no longer syncs either way."""

from __future__ import annotations

from pathlib import Path

import pytest
from postgrest.exceptions import APIError

import nbrealtime
from nbrealtime.features.shared_notebook import NOTEBOOK_EVENT, SharedNotebook
from nbrealtime.features.synced_doc import b64
from tests.client.support import Events
from tests.features.test_notebook_outputs import until
from tests.features.test_shared_notebook import code_cell, write_notebook

pytestmark = pytest.mark.shared_notebook

WAIT = 30.0


def source(notebook: SharedNotebook, index: int) -> str:
    return notebook.content["cells"][index]["source"]


def type_at_end(notebook: SharedNotebook, index: int, text: str) -> None:
    with notebook.edit() as ynotebook:
        cell_source = ynotebook.ycells[index]["source"]
        cell_source.insert(len(cell_source), text)


def barrier(sender: SharedNotebook, receiver: SharedNotebook, text: str) -> None:
    """An editor's typing in the second cell reaches ``receiver``: everything sent before it had its chance too."""
    type_at_end(sender, 1, text)
    until(receiver, lambda: source(receiver, 1).endswith(text), f"the barrier {text!r}")


def role_of(room: nbrealtime.Room, wanted: str | None) -> None:
    changed = Events()
    room.on_role(changed.put)
    if room.role != wanted:
        changed.expect(lambda role: role == wanted, timeout=WAIT, what=f"{room.me.name}'s role to become {wanted}")


def test_a_viewer_copy_is_read_only_and_a_removed_copy_stops_syncing(env, rooms, tmp_path: Path) -> None:
    ann = nbrealtime.connect("guarded", user="ann")  # the owner; the room is invite-only
    rooms.append(ann)
    ben = nbrealtime.connect(invite=ann.invite("editor"), user="ben")
    rooms.append(ben)
    cy = nbrealtime.connect(invite=ann.invite("editor"), user="cy")
    rooms.append(cy)
    shared = ann.share_notebook(write_notebook(tmp_path / "plan.ipynb", [code_cell("a", "a"), code_cell("b", "b")]))
    bens, cys = ben.notebook("plan.ipynb"), cy.notebook("plan.ipynb")
    type_at_end(bens, 0, " ben")
    until(shared, lambda: source(shared, 0) == "a ben", "ben's typing while an editor")

    ann.set_role("ben", "viewer")
    role_of(ben, "viewer")
    assert bens.read_only
    with pytest.raises(PermissionError, match="viewer"), bens.edit():
        pass
    with bens.lock, bens.doc.transaction():  # a modified client changes its copy anyway…
        bens.ynotebook.ycells[0]["source"].insert(0, "VIEWER ")
    update = bens.doc.get_update(shared.state_vector())
    ben.broadcast(NOTEBOOK_EVENT, {"notebook": bens.id, "update": b64(update)})  # …sends it on the channel…
    with pytest.raises(APIError):  # …and writes it into the update log: the row policies refuse
        ben.call(ben.rest("nbrt_notebook_updates").insert({"room": "guarded", "notebook": bens.id,
                                                          "data": b64(update)}).execute(), 15)  # fmt: skip
    barrier(cys, shared, " cy")
    assert "VIEWER" not in source(shared, 0) and "VIEWER" not in source(cys, 0)
    type_at_end(shared, 0, " ann")  # the viewer still receives
    until(bens, lambda: source(bens, 0).endswith(" ann"), "ann's typing on the viewer's copy")

    ann.remove("ben")
    role_of(ben, None)
    assert bens.stopped == "you were removed from room 'guarded'" and bens.read_only
    with pytest.raises(PermissionError, match="no longer syncs"), bens.edit():
        pass
    kept = bens.content
    type_at_end(shared, 0, " after")
    barrier(shared, cys, " last")
    until(cys, lambda: source(cys, 0).endswith(" after"), "ann's typing on cy's copy")
    assert bens.content == kept, "nothing reaches a removed member's copy, which stays as it was"
