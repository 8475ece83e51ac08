"""Notifications in the real browser: a toast, the unread badge, mark-read through the drop-down."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.asyncio(loop_scope="session")

TITLE = "Look at cell 3"
MESSAGE = "The loss explodes after epoch 2 …"


async def test_a_notification_toasts_counts_unread_and_marks_read(lab):
    alice, bob = await lab.open_all(
        lab.notebook("alice", "alice", "room.panel()"), lab.notebook("bob", "bob", "room.panel()")
    )
    await bob.until("() => window.__nbrt.memberStatus('alice') === 'online'", what="bob to see alice")
    await expect(alice.page.locator(".nbrt-notifications .nbrt-badge")).to_be_hidden()

    await bob.run(f'room.notify("alice", {TITLE!r}, {MESSAGE!r}, kind="warning")')

    toast = alice.page.locator(".nbrt-toasts .nbrt-toast", has_text=TITLE)
    await expect(toast).to_be_visible(timeout=20_000)
    await toast.hover()  # pauses the auto-dismiss while we look
    await expect(toast).to_have_class("nbrt-toast nbrt-kind-warning")
    await expect(toast.locator(".nbrt-toast-message")).to_have_text(MESSAGE)
    await expect(toast.locator(".nbrt-toast-meta")).to_have_text("from bob")
    await alice.screenshot(toast, "toast")
    assert await bob.js("() => window.__nbrt.toastTitles()") == [], "the sender got its own toast"

    badge = alice.page.locator(".nbrt-notifications .nbrt-badge")
    await expect(badge).to_be_visible()
    await expect(badge).to_have_text("1")
    await expect(alice.page.locator(".nbrt-bell")).to_have_attribute("aria-label", "Notifications, 1 unread")

    await alice.page.locator(".nbrt-bell").click()
    row = alice.page.locator(".nbrt-notif-list .nbrt-notif", has_text=TITLE)
    await expect(row).to_have_class("nbrt-notif nbrt-kind-warning nbrt-notif--unread")
    await alice.screenshot(alice.page.locator(".nbrt-room-panel"), "panel-with-notifications")
    await row.locator(".nbrt-mark-read").click()

    await expect(badge).to_be_hidden()
    await expect(badge).to_have_text("0")
    # The kernel confirms: the row is neither unread nor pending any more, the toast is gone, the badge stays at 0.
    await expect(row).to_have_class("nbrt-notif nbrt-kind-warning", timeout=20_000)
    await expect(row).not_to_have_attribute("aria-busy", "true")
    await expect(toast).to_have_count(0)
    assert await alice.value("[room.notifications.unread_count, room.notifications.pending_count]") == [0, 0]
    await expect(badge).to_be_hidden()
    await expect(badge).to_have_text("0")
    await expect(alice.page.locator(".nbrt-bell")).to_have_attribute("aria-label", "Notifications")

    # Persisted: alice connecting from elsewhere finds nothing unread.
    elsewhere = await lab.peer("alice")
    assert elsewhere.unread_at_start == 0
