"""Views tell the truth about a closed room and a dead kernel: the panel says so, nobody is shown online, the live
table turns read-only with a notice and keeps what was being typed; a busy kernel is not mistaken for a dead one."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.asyncio(loop_scope="session")

SETUP = """ada = nbrealtime.connect(room.name, user="ada")
tasks = room.collection("tasks")
tasks.insert({"id": "t1", "title": "Write the report", "done": False}).wait()"""
LABEL = "() => (document.querySelector('.nbrt-room-panel .nbrt-sync-label') || {}).textContent"
NOTICE = ".nbrt-table-panel .nbrt-notice"
EDITABLE = "() => window.__nbrt.editorReady(0)"


async def statuses(page) -> dict[str, str]:
    return {m["name"]: m["status"] for m in await page.js("() => window.__nbrt.members()")}


async def test_a_closed_room_looks_closed_and_keeps_a_draft(lab):
    alice = await lab.open(lab.notebook("alice", "alice", SETUP, "room.panel()", "tasks", "room.cell('notes')"))
    await alice.until("() => window.__nbrt.memberStatus('ada') === 'online'", what="ada online in the panel")
    await alice.until(EDITABLE, what="the shared cell editable")
    await expect(alice.page.locator(NOTICE)).to_be_hidden()
    await expect(alice.page.locator(".nbrt-table-panel .nbrt-conflicts")).to_be_hidden()

    # A row being added when the room closes: what was typed must stay in view, not vanish nor go nowhere.
    await alice.page.locator(".nbrt-add").click()
    title = alice.page.locator(".nbrt-add-row input[aria-label='New title']")
    await title.fill("typed before close")

    await alice.run("room.close()")
    await alice.until(f"() => ({LABEL})() === 'Room closed'", what="the panel to say the room is closed")
    await alice.until(
        "() => window.__nbrt.members().every((m) => m.status === 'offline')", what="every badge to turn offline"
    )
    assert set(await statuses(alice)) == {"alice", "ada"}
    await expect(alice.page.locator(".nbrt-presence-summary")).to_have_text("nobody online · room closed")
    notice = alice.page.locator(NOTICE)
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("room is closed")
    await expect(alice.page.locator(".nbrt-add")).to_have_count(0)
    await expect(alice.page.locator(".nbrt-row-delete")).to_have_count(0)
    await expect(alice.page.locator(".nbrt-table-panel tbody input")).to_have_count(0)  # no inline edit, no checkbox
    await expect(title).to_have_value("typed before close")
    await expect(title).to_have_attribute("readonly", "")
    await expect(alice.page.locator(".nbrt-add-row button", has_text="Add")).to_be_disabled()
    # The shared cell too: read-only with the reason, and off the room's channel.
    await alice.until(f"() => !({EDITABLE})()", what="the shared cell to turn read-only")
    await expect(alice.page.locator(".nbrt-editor .nbrt-notice")).to_contain_text("room is closed")
    await alice.until("() => document.querySelector('.nbrt-editor').dataset.path === 'kernel'", what="link left")
    await alice.screenshot(alice.page.locator(".jp-Notebook"), "closed-room")
    assert await alice.value("tasks.rows") == [{"id": "t1", "title": "Write the report", "done": False}]


async def test_a_busy_kernel_stays_live_and_a_killed_kernel_is_shown_as_gone(lab):
    alice = await lab.open(lab.notebook("alice", "alice", SETUP, "room.panel()", "tasks", "room.cell('notes')"))
    await alice.until(f"() => ({LABEL})() === 'Synced'", what="the panel to say synced")
    stale = ".nbrt-sync--stale"
    await alice.js("(s) => window.__nbrt.watchFor(s)", stale)
    # Longer than three missed heartbeats (3 s each): a cell that runs is a kernel that lives.
    await alice.run("import time\ntime.sleep(11)", timeout=40_000)
    assert not await alice.js("(s) => window.__nbrt.seenEver(s)", stale), "a busy kernel was shown as gone"

    pid = await alice.value("os.getpid() if (os := __import__('os')) else 0")
    await asyncio.to_thread(os.kill, pid, signal.SIGKILL)
    await alice.until(f"() => ({LABEL})() === 'Kernel not answering'", what="the panel to notice the dead kernel")
    await alice.until(
        "() => window.__nbrt.members().every((m) => m.status === 'offline')", what="every badge to turn offline"
    )
    await expect(alice.page.locator(".nbrt-presence-summary")).to_contain_text("kernel not answering")
    await expect(alice.page.locator(NOTICE)).to_contain_text("kernel is not answering")
    await expect(alice.page.locator(".nbrt-add")).to_have_count(0)
    await alice.until(f"() => !({EDITABLE})()", what="the shared cell to turn read-only")
    await expect(alice.page.locator(".nbrt-editor .nbrt-notice")).to_contain_text("kernel is not answering")
    await alice.screenshot(alice.page.locator(".jp-Notebook"), "dead-kernel")


async def test_a_kernel_shut_down_is_shown_as_gone(lab):
    alice = await lab.open(lab.notebook("alice", "alice", "room.panel()"))
    await alice.until(f"() => ({LABEL})() === 'Synced'", what="the panel to say synced")
    await asyncio.to_thread(lab.jupyter.shutdown_kernels)
    # The kernel closes its rooms on the way out, then its heartbeats stop; when JupyterLab starts a new kernel its
    # widget manager drops the old models and their views. Any of these is the truth; a live-looking panel is not.
    outcome = await alice.until(
        f"""() => {{ if (!document.querySelector('.nbrt-room-panel')) return 'removed';
            const label = ({LABEL})(); return ['Room closed', 'Kernel not answering'].includes(label) && label; }}""",
        what="the panel to say the kernel or its room is gone (or to be removed)",
    )
    if outcome != "removed":
        await alice.until(
            "() => window.__nbrt.members().every((m) => m.status === 'offline')", what="every badge to turn offline"
        )
