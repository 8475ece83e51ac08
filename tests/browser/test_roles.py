"""A viewer in the real browser: the live table follows the room live but offers no edits, and says why."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

OWNER = """room.settings(open_to="signed_in", role="viewer")  # everyone else joins as a viewer
tasks = room.collection("tasks")
tasks.insert({"id": "t1", "title": "Write the report"}).wait()
tasks"""
VIEWER = """tasks = room.collection("tasks")
tasks.wait_until(lambda rows: len(rows) == 1, timeout=60)
tasks"""


async def test_a_viewer_sees_the_table_live_but_cannot_edit_it(lab):
    own_room = f"{lab.room}-own"  # not the test's open room: alice creates this one and owns it
    alice = await lab.open(lab.notebook("alice", "alice", OWNER, room=own_room))
    bob = await lab.open(lab.notebook("bob", "bob", VIEWER, room=own_room))
    assert await bob.value("room.role") == "viewer"
    await bob.until("() => document.querySelectorAll('.nbrt-table tbody tr.nbrt-row').length === 1", what="bob's row")
    assert await bob.page.locator(".nbrt-table td.nbrt-cell--editable").count() == 0
    assert await bob.page.locator(".nbrt-table .nbrt-add").count() == 0
    assert await alice.page.locator(".nbrt-table td.nbrt-cell--editable").count() > 0, "the owner's view is editable"
    reason = await bob.value("tasks.read_only")
    assert "viewer in room" in reason and "ask an owner" in reason

    await alice.run('tasks.update("t1", {"title": "Ship it"}).wait()')
    await bob.until(
        "() => [...document.querySelectorAll('.nbrt-table td')].some((td) => td.textContent === 'Ship it')",
        what="alice's edit to reach the viewer's table",
    )
