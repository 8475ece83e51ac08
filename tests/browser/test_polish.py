"""Details a user sees: avatar initials of a symbol-laden name, a remote caret's label on the first line, the
notification drop-down floating unclipped, and Escape closing the drop-down after a mark-read redrew it."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.asyncio(loop_scope="session")

ADA = "<Ada> (Lovelace)"
# A second connection in the same kernel: Ada is in alice's room, has her own editor of the same shared cell.
SECOND = f"ada = nbrealtime.connect(room.name, user={ADA!r})"


async def test_initials_first_line_caret_label_drop_down_overlay_and_escape_after_mark_read(lab):
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

    # The drop-down: open, not clipped by the output area, Escape works after mark-read redrew the list.
    await alice.run("ada.notify('alice', 'Look at cell 3', 'The loss explodes after epoch 2')")
    badge = alice.page.locator(".nbrt-notifications .nbrt-badge")
    await expect(badge).to_have_text("1", timeout=20_000)
    bell = alice.page.locator(".nbrt-bell")
    await bell.click()
    panel = alice.page.locator(".nbrt-notifications .nbrt-panel")
    await expect(panel).to_be_visible()
    await expect(panel.locator(".nbrt-notif")).to_have_count(1)
    # It floats (position: fixed) over the notebook: on screen whole, clipped by no output area, covered by nothing.
    assert await alice.js("() => window.__nbrt.overlayShown(document.querySelector('.nbrt-notifications .nbrt-panel'))")
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


TABLES = """tasks = room.collection("tasks")
for row in ({"id": "t1", "title": "Write the report for the quarterly review", "done": False},
            {"id": "t2", "title": "Review", "done": True}):
    tasks.insert(row).wait()
notes = room.table("nbrt_notifications", filter=f"room=eq.{room.name}")
refused = notes.insert({"room": room.name, "recipient": room.me.id})  # no title: violates not-null
refused.wait()"""
LONG = "\n".join(f"line {i} of a message far too long for a toast" for i in range(15))
# What the page shows behind an element: the first ancestor background that is not transparent.
BACKDROP = """(el) => { for (let a = el.parentElement; a; a = a.parentElement) {
  const bg = getComputedStyle(a).backgroundColor; if (bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') return bg; }
  return null; }"""
WIDTHS = (
    "() => [...document.querySelectorAll('.nbrt-table')[0].querySelectorAll('thead th')].map((th) => th.offsetWidth)"
)
OVERLAP = """([a, b]) => { const r = document.querySelector(a).getBoundingClientRect();
  const s = document.querySelector(b).getBoundingClientRect();
  return Math.max(0, Math.min(r.right, s.right) - Math.max(r.left, s.left)) *
         Math.max(0, Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top)); }"""


async def test_table_toasts_badge_presence_and_drop_down_polish(lab):
    alice = await lab.open(lab.notebook("alice", "alice", SECOND, "room.panel()", TABLES, "tasks", "notes"))
    await alice.until("(n) => window.__nbrt.memberStatus(n) === 'online'", ADA, what="ada's badge")

    # Same first letter, told apart; details in a hover card of the widget's own, not a native title tooltip.
    members = {m["name"]: m for m in await alice.js("() => window.__nbrt.members()")}
    assert members["alice"]["initials"] != members[ADA]["initials"], members
    badge = alice.page.locator(f".nbrt-member[data-name='{ADA}']")
    assert await badge.get_attribute("title") is None
    await badge.hover()
    card = alice.page.locator(".nbrt-room-panel .nbrt-member-card")
    await expect(card).to_be_visible()
    await expect(card).to_contain_text(ADA)
    await expect(card).to_contain_text("Online")

    # Booleans: an enabled checkbox at full contrast that one click toggles.
    box = alice.page.locator(".nbrt-table").first.locator("input[type=checkbox]").first
    await expect(box).to_be_enabled()
    before = await alice.js(WIDTHS)
    await box.click()
    await alice.until("() => window.__nbrt.tableRows(0)[0].cells.done === 'true'", what="one click to toggle")
    await alice.until("() => window.__nbrt.tableRows(0).every((r) => r.status === 'confirmed')", what="confirmed")
    assert await alice.value("tasks.row('t1')['done']") is True
    # Column widths hold across updates (a pending chip came and went, a long title gets short).
    await alice.run("tasks.update('t1', {'title': 'Short'}).wait()")
    await alice.until("() => window.__nbrt.tableRows(0)[0].cells.title === 'Short'", what="the short title")
    after = await alice.js(WIDTHS)
    assert all(abs(a - b) <= 1 for a, b in zip(after, before, strict=True)), f"columns moved: {before} → {after}"

    # A refused write: the whole error is shown, wrapped, not cut off; no "No conflicts" under the tables.
    error = await alice.value("refused.error")
    shown = alice.page.locator(".nbrt-table").nth(1).locator(".nbrt-row-error")
    await expect(shown).to_have_text(error)
    room = await alice.js(
        "() => window.__nbrt.clipRoom(document.querySelectorAll('.nbrt-table')[1].querySelector('.nbrt-row-error'))"
    )
    assert min(room.values()) >= 0, f"the row error is cut off: {room}"
    assert await shown.evaluate("(e) => e.scrollWidth <= e.clientWidth")
    await expect(alice.page.get_by_text("No conflicts")).to_have_count(0)

    # Dark theme variables: the sticky status column has the notebook's colour, not a lighter strip.
    await alice.js("() => { const s = document.body.style; s.setProperty('--jp-layout-color0', '#111111');"
                   " s.setProperty('--jp-layout-color1', '#212121'); }")  # fmt: skip
    status = alice.page.locator(".nbrt-table").first.locator("tbody td.nbrt-row-status").first
    assert await status.evaluate("(e) => getComputedStyle(e).backgroundColor") == "rgb(17, 17, 17)"
    assert await status.evaluate(BACKDROP) in ("rgb(17, 17, 17)", None)
    await alice.screenshot(alice.page.locator(".nbrt-table-panel").first, "table-dark-status-column")
    await alice.js("() => { document.body.style.removeProperty('--jp-layout-color0');"
                   " document.body.style.removeProperty('--jp-layout-color1'); }")  # fmt: skip

    # Twelve long notifications: at most three toasts, clamped, inside the widget, covering under a third.
    await alice.run(
        f"for i in range(12):\n    ada.notify('alice', f'Build {{i}} finished with a long title', {LONG!r})"
    )
    badge_el = alice.page.locator(".nbrt-room-panel .nbrt-badge")
    await expect(badge_el).to_have_text("12", timeout=20_000)
    toasts = alice.page.locator(".nbrt-room-panel .nbrt-toasts .nbrt-toast")
    await expect(toasts).to_have_count(3)
    height = await alice.js("() => document.querySelector('.nbrt-toasts').getBoundingClientRect().height")
    assert height <= 900 / 3, f"the toasts cover {height} px of a 900 px window"
    await alice.screenshot(alice.page.locator(".jp-Notebook"), "toasts-clamped")
    # The two-digit count sits beside the bell, not over it.
    assert await alice.js(OVERLAP, [".nbrt-bell .nbrt-icon", ".nbrt-room-panel .nbrt-badge"]) == 0

    # The drop-down floats over the notebook: opening it moves no cell.
    below = "() => document.querySelectorAll('.jp-Notebook .jp-Cell')[2].getBoundingClientRect().top"
    await alice.page.locator(".nbrt-bell").click()
    panel = alice.page.locator(".nbrt-room-panel .nbrt-panel")
    await expect(panel).to_be_visible()
    opened = await alice.js(below)
    assert await alice.js("() => window.__nbrt.overlayShown(document.querySelector('.nbrt-room-panel .nbrt-panel'))")
    await alice.page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    assert await alice.js(below) == opened
