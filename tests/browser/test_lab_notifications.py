"""nbrealtime notifications in JupyterLab's own notification centre (#16), in the real browser: a kernel's
notification is a JupyterLab toast counted by the status-bar bell, and read state agrees both ways between
JupyterLab and the recipient's kernel (``room.notifications``)."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import expect

from tests.browser.labui import People, unread_count_reaches

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.lab_ui]


async def test_a_kernels_notification_is_a_jupyterlab_toast_and_read_state_agrees_both_ways(people: People) -> None:
    alice_kernel = await people.kernel("alice")
    carol = await people.kernel("carol", invite=await asyncio.to_thread(alice_kernel.invite, "editor"))
    alice = await people.lab("alice", sidebar=False)
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
