"""A viewer in the real browser: the live table follows the room live but offers no edits, and says why."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.asyncio(loop_scope="session")

OWNER = """room.settings(open_to="signed_in", role="viewer")  # everyone else joins as a viewer
tasks = room.collection("tasks")
tasks.insert({"id": "t1", "title": "Write the report"}).wait()
tasks"""
DIRECT = "() => window.__nbrt.editorReady(0) && document.querySelector('.nbrt-editor').dataset.path === 'direct'"
SYNCED = "() => !document.querySelector('.nbrt-editor').classList.contains('nbrt-editor--syncing')"
CONTAINS = "([n, text]) => (window.__nbrt.editorText(n) || '').includes(text)"
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
    notice = bob.page.locator(".nbrt-table-wrap > .nbrt-notice")  # above the table, in the page's words
    await expect(notice).to_be_visible()
    await expect(notice).to_have_text(reason)
    await bob.screenshot(bob.page.locator(".nbrt-table-wrap"), "viewer-table")
    await expect(alice.page.locator(".nbrt-table-wrap > .nbrt-notice")).to_be_hidden()  # the owner may edit

    await alice.run('tasks.update("t1", {"title": "Ship it"}).wait()')
    await bob.until(
        "() => [...document.querySelectorAll('.nbrt-table td')].some((td) => td.textContent === 'Ship it')",
        what="alice's edit to reach the viewer's table",
    )


async def test_a_viewer_watches_a_shared_cell_but_cannot_type_in_it(lab):
    own_room = f"{lab.room}-cells"
    owner = "room.settings(open_to='signed_in', role='viewer')\ncell = room.cell('notes')\ncell.set('# plan\\n')\ncell"
    alice = await lab.open(lab.notebook("alice", "alice", owner, room=own_room))
    bob = await lab.open(lab.notebook("bob", "bob", "room.cell('notes')", room=own_room))
    await alice.until(DIRECT, what="alice's editor on its direct path")
    await bob.until(SYNCED, what="bob's editor synced")
    assert not await bob.js("() => window.__nbrt.editorReady(0)"), "a viewer's editor accepts typing"
    notice = bob.page.locator(".nbrt-editor .nbrt-notice")
    await expect(notice).to_contain_text("viewer in room")

    await alice.type_into_editor("step one")
    await bob.until(CONTAINS, [0, "step one"], what="alice's typing to reach the viewer")
    # Typing into it changes nothing, here or anywhere (a modified client would meet the server: test_access.py).
    await bob.page.locator(".nbrt-editor .cm-content").click()
    await bob.page.keyboard.type("forged")
    assert "forged" not in await alice.value("room.cell('notes').text")
