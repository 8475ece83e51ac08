"""nbrealtime notifications in JupyterLab's own notification centre (#16), in the real browser: a kernel's
notification is a JupyterLab toast counted by the status-bar bell, and read state agrees both ways between
JupyterLab and the recipient's kernel (``room.notifications``)."""

from __future__ import annotations

import asyncio
import re

import nbformat
import pytest
from playwright.async_api import expect

from tests.browser.harness import NOT_PWNED
from tests.browser.labui import People, unread_count_reaches
from tests.jupyter.support import api, lab_api

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.lab_ui]

HOSTILE_NAME = "<img src=x onerror=window.__pwned=1>"
HOSTILE_TITLE = "<img src=x onerror=window.__pwned=2>"
HOSTILE_MESSAGE = "<svg onload=window.__pwned=3></svg>"


async def test_a_kernels_notification_is_a_jupyterlab_toast_and_read_state_agrees_both_ways(people: People) -> None:
    await people.read_everything("alice")  # before this room exists
    alice_kernel = await people.kernel("alice")
    carol = await people.kernel("carol", invite=await asyncio.to_thread(alice_kernel.invite, "editor"))
    await asyncio.to_thread(carol.notify, "alice", "While you were away", "the data moved")
    await unread_count_reaches(alice_kernel, 1)
    alice = await people.lab("alice", sidebar=False)
    # what was there before the page is in the centre and the bell's count, without a toast
    await expect(alice.bell()).to_have_text("1")
    await expect(alice.page.locator(".Toastify__toast")).to_have_count(0)
    earlier = await asyncio.to_thread(alice_kernel.notifications.wait_for, lambda n: n.title == "While you were away")
    await asyncio.to_thread(alice_kernel.notifications.mark_read, earlier.id)
    await expect(alice.bell()).to_have_text("0")

    await asyncio.to_thread(carol.notify, "alice", "Look at cell 3", "The loss explodes after epoch 2", kind="warning")
    toast = alice.page.locator(".Toastify__toast", has_text="Look at cell 3")
    await expect(toast).to_have_text("Look at cell 3: The loss explodes after epoch 2 — carolMark read")
    await expect(toast).to_have_class(re.compile(r"\bjp-Notification-Toast-warning\b"))
    await expect(alice.bell()).to_have_text("1")
    await unread_count_reaches(alice_kernel, 1)

    # read in JupyterLab (the toast's "Mark read") → read in alice's kernel
    await toast.get_by_role("button", name="Mark read").click()
    await unread_count_reaches(alice_kernel, 0)
    await expect(toast).to_have_count(0)
    await expect(alice.bell()).to_have_text("0")

    # read in alice's kernel → gone from JupyterLab
    await asyncio.to_thread(carol.notify, "alice", "Standup", "in five minutes")
    second = alice.page.locator(".Toastify__toast", has_text="Standup")
    await expect(second).to_be_visible()
    await expect(alice.bell()).to_have_text("1")
    item = await asyncio.to_thread(alice_kernel.notifications.wait_for, lambda n: n.title == "Standup")
    await asyncio.to_thread(alice_kernel.notifications.mark_read, item.id)
    await expect(second).to_have_count(0)
    await expect(alice.bell()).to_have_text("0")

    # dismissed in JupyterLab's notification centre (its ×) → read in alice's kernel too
    await asyncio.to_thread(carol.notify, "alice", "Lunch", "at noon", kind="success")
    await expect(alice.bell()).to_have_text("1")
    await unread_count_reaches(alice_kernel, 1)
    await alice.bell().click()
    centre = alice.page.locator(".jp-Notification-Center")
    entry = centre.locator(".jp-Notification-List-Item", has_text="Lunch: at noon — carol")
    await expect(entry).to_be_visible()
    await entry.get_by_role("button", name="Dismiss notification").click()
    await unread_count_reaches(alice_kernel, 0)
    await expect(entry).to_have_count(0)

    # the centre's "Dismiss all notifications" → every one read in alice's kernel
    for title in ("First", "Second"):
        await asyncio.to_thread(carol.notify, "alice", title, "of two")
    await unread_count_reaches(alice_kernel, 2)
    await expect(centre.locator(".jp-Notification-List-Item")).to_have_count(2)
    await centre.locator('[title="Dismiss all notifications"]').click()
    await unread_count_reaches(alice_kernel, 0)
    await expect(alice.bell()).to_have_text("0")


async def test_go_to_cell_opens_the_room_notebook_at_the_cell_and_the_others_see_where_you_are(
    people: People,
) -> None:
    room = people.room_name
    await people.read_everything("bob")  # before this room exists
    alice_kernel = await people.kernel("alice")
    joined = lab_api(people.machines["bob"], "POST", "rooms/join",
                     json={"invite": str(await asyncio.to_thread(alice_kernel.invite, "editor"))})  # fmt: skip
    assert joined.status_code == 200, joined.text
    carol = await people.kernel("carol", invite=await asyncio.to_thread(alice_kernel.invite, "editor"))
    alice_lab = people.machines["alice"]
    path = alice_lab.write_notebook(f"{room}-analysis", ["a = 1", "b = 2", "c = 3"])
    shared = api(alice_lab, "POST", f"{room}/notebooks", json={"path": path})
    assert shared.status_code == 201, shared.text
    notebook = shared.json()
    third_cell = nbformat.read(alice_lab.root / path, as_version=4).cells[2].id

    alice = await people.lab("alice")
    bob = await people.lab("bob", sidebar=False)
    await asyncio.to_thread(carol.notify, "bob", "Check this", "c is wrong", notebook=notebook["id"], cell=third_cell)
    toast = bob.page.locator(".Toastify__toast", has_text="Check this")
    await toast.get_by_role("button", name="Go to cell").click()
    # not open on bob's server yet: the lab API opens it there, then JupyterLab shows it with the cell active
    opened = await bob.until(
        "(cell) => { const p = window.__nbrt.panel(); const c = p && p.content.activeCell;"
        " return c && c.model.id === cell && p.context.path; }",
        third_cell,
        what="the room notebook open at carol's cell",
    )
    assert opened.endswith(".ipynb")
    await expect(bob.page.locator(".jp-Notebook .jp-Cell.jp-mod-active")).to_contain_text("c = 3")
    # going there is not reading it: it stays in bob's centre until he marks it read
    await expect(bob.bell()).to_have_text("1")

    # bob's JupyterLab tells the room where he is: alice's sidebar shows the notebook
    await expect(alice.member(room, "bob").locator(".nbrt-lab-where")).to_have_text(notebook["name"])


async def test_hostile_names_and_notifications_render_as_text_in_the_sidebar_and_the_toast(people: People) -> None:
    room = people.room_name
    await people.read_everything("alice")  # before this room exists
    alice_kernel = await people.kernel("alice")
    mallory = await people.kernel(HOSTILE_NAME, invite=await asyncio.to_thread(alice_kernel.invite, "editor"))
    alice = await people.lab("alice")
    await expect(alice.room(room).locator(".nbrt-lab-name", has_text=HOSTILE_NAME)).to_have_text(HOSTILE_NAME)
    await asyncio.to_thread(mallory.notify, "alice", HOSTILE_TITLE, HOSTILE_MESSAGE)
    toast = alice.page.locator(".Toastify__toast", has_text=HOSTILE_TITLE)
    await expect(toast).to_contain_text(f"{HOSTILE_TITLE}: {HOSTILE_MESSAGE} — {HOSTILE_NAME}")
    assert await alice.js(NOT_PWNED) == {"pwned": None, "images": 0, "svgs": 0, "scripts": 0, "bold": 0}
