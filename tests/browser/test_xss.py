"""Hostile user text (names, notifications, cell contents) renders as text in the real browser, never as markup."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.harness import NOT_PWNED

pytestmark = pytest.mark.asyncio(loop_scope="session")

NAME = "<img src=x onerror=window.__pwned=1>"
TITLE = "<img src=x onerror=window.__pwned=2>"
MESSAGE = "<svg onload=window.__pwned=3></svg><script>window.__pwned=4</script>"
SOURCE = "<img src=x onerror=window.__pwned=5><b>bold?</b>"


async def test_hostile_names_notifications_and_cell_text_render_as_text(lab):
    alice, mallory = await lab.open_all(
        lab.notebook("alice", "alice", "room.panel()", "room.cell('notes')"),
        lab.notebook("mallory", NAME, "room.panel()", "room.cell('notes')"),
    )
    await mallory.until("() => window.__nbrt.memberStatus('alice') === 'online'", what="mallory to see alice")
    await mallory.run(f"room.notify('alice', {TITLE!r}, {MESSAGE!r}, kind='error')")
    await mallory.until("() => window.__nbrt.editorReady(0)", what="mallory's editor")
    await mallory.type_into_editor(SOURCE, delay=10)

    # The name: a badge in alice's panel, mallory's own sync indicator, the caret label in alice's editor.
    await alice.until("(n) => window.__nbrt.memberStatus(n) === 'online'", NAME, what="mallory's badge")
    badge = alice.page.locator(".nbrt-presence li.nbrt-member:not(.nbrt-member--self)")
    await expect(badge).to_have_attribute("aria-label", f"{NAME}, Online, Role: editor")
    await expect(mallory.page.locator(".nbrt-sync-username")).to_have_text(NAME)
    # The notification: toast and list.
    toast = alice.page.locator(".nbrt-toasts .nbrt-toast")
    await expect(toast.locator(".nbrt-toast-title")).to_have_text(TITLE)
    await expect(toast.locator(".nbrt-toast-message")).to_have_text(MESSAGE)
    await expect(toast.locator(".nbrt-toast-meta")).to_have_text(f"from {NAME}")
    await alice.page.locator(".nbrt-bell").click()
    await expect(alice.page.locator(".nbrt-notif-title")).to_have_text(TITLE)
    await expect(alice.page.locator(".nbrt-notif-message")).to_have_text(MESSAGE)
    # The cell: the text itself, the remote caret and the "also editing" chip.
    await alice.until("(t) => window.__nbrt.editorText(0) === t", SOURCE, what="mallory's text in alice's editor")
    await alice.until("(n) => window.__nbrt.remoteCarets(0).includes(n)", NAME, what="mallory's caret label")
    await expect(alice.page.locator(".nbrt-editor-person .nbrt-person-name")).to_have_text(NAME)
    assert await alice.value("room.cell('notes').text") == SOURCE

    for page in (alice, mallory):
        found = await page.js(NOT_PWNED)
        assert found == {"pwned": None, "images": 0, "svgs": 0, "scripts": 0, "bold": 0}, f"{page}: {found}"
