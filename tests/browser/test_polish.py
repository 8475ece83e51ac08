"""Details a user sees: avatar initials of a symbol-laden name, a remote caret's label on the first line, the
notification drop-down's shadow, and Escape closing the drop-down after a mark-read redrew it."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.asyncio(loop_scope="session")

ADA = "<Ada> (Lovelace)"
# A second connection in the same kernel: Ada is in alice's room, has her own editor of the same shared cell.
SECOND = f"ada = nbrealtime.connect(room.name, user={ADA!r})"


async def test_initials_first_line_caret_label_drop_down_shadow_and_escape_after_mark_read(lab):
    alice = await lab.open(
        lab.notebook("alice", "alice", SECOND, "room.panel()", "room.cell('notes')", "ada.cell('notes')")
    )

    # Initials from letters, not from "<" and "(".
    await alice.until("(n) => window.__nbrt.memberStatus(n) === 'online'", ADA, what="ada's badge")
    members = {m["name"]: m for m in await alice.js("() => window.__nbrt.members()")}
    assert members[ADA]["initials"] == "AL", members[ADA]

    # Ada types on line 1: her caret's label in alice's editor is not cut off by the editor's top edge.
    for n in (0, 1):
        await alice.until("(n) => window.__nbrt.editorReady(n)", n, what=f"editor {n}")
    await alice.type_into_editor("print('hello')", n=1, delay=10)
    await alice.until("() => window.__nbrt.editorText(0) === \"print('hello')\"", what="ada's text in alice's editor")
    room = await alice.until(
        "(name) => window.__nbrt.caretLabelRoom(name, 0)", ADA, what="ada's caret label in alice's editor"
    )
    assert min(room.values()) >= -0.5, f"the caret label on line 1 is cut off: {room}"
    await alice.screenshot(alice.page.locator(".nbrt-editor").first, "caret-label-first-line")

    # The drop-down: open, shadow not clipped by the output area, Escape works after mark-read redrew the list.
    await alice.run("ada.notify('alice', 'Look at cell 3', 'The loss explodes after epoch 2')")
    badge = alice.page.locator(".nbrt-notifications .nbrt-badge")
    await expect(badge).to_have_text("1", timeout=20_000)
    bell = alice.page.locator(".nbrt-bell")
    await bell.click()
    panel = alice.page.locator(".nbrt-notifications .nbrt-panel")
    await expect(panel).to_be_visible()
    await expect(panel.locator(".nbrt-notif")).to_have_count(1)
    room = await alice.js("() => window.__nbrt.clipRoom(document.querySelector('.nbrt-notifications .nbrt-panel'))")
    # --nbrt-shadow is 0 2px 8px: it reaches 10 px below and 8 px to the sides.
    assert room["bottom"] >= 10 and room["right"] >= 8, f"the drop-down's shadow is clipped: {room}"
    await alice.screenshot(alice.page.locator(".nbrt-room-panel"), "notification-drop-down")

    await panel.locator(".nbrt-mark-read").click()
    await expect(badge).to_be_hidden()
    await alice.until(
        "() => document.querySelectorAll('.nbrt-notif.nbrt-pending, .nbrt-notif--unread').length === 0",
        what="the read to be confirmed (the list redrawn without the clicked button)",
    )
    await expect(panel.locator(".nbrt-mark-read")).to_have_count(0)
    await alice.page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(bell).to_be_focused()
    await expect(bell).to_have_attribute("aria-expanded", "false")
