"""Two views of one widget (the panel and a shared cell, each displayed twice in one notebook) stay identical."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.asyncio(loop_scope="session")

PANEL = ".nbrt-room-panel"
SAME = "([selector]) => window.__nbrt.snapshot(selector, 0) === window.__nbrt.snapshot(selector, 1)"


async def test_two_views_of_the_panel_and_of_a_shared_cell_stay_identical(lab):
    alice = await lab.open(
        lab.notebook("alice", "alice", "room.panel()", "room.panel()", "room.cell('twin')", "room.cell('twin')")
    )
    for n in (0, 1):
        await alice.until("(n) => window.__nbrt.editorReady(n)", n, what=f"editor view {n}")
    assert await alice.js("() => document.querySelectorAll('.nbrt-room-panel').length") == 2

    bob = await lab.peer("bob")  # joins after alice, so the presence state bob receives on joining has her
    for n in (0, 1):
        await alice.until("(n) => window.__nbrt.memberStatus('bob', n) === 'online'", n, what=f"bob in view {n}")

    await asyncio.to_thread(bob.do, "notify", to="alice", title="Twice?")
    badges = alice.page.locator(".nbrt-notifications .nbrt-badge")
    for n in (0, 1):
        await expect(badges.nth(n)).to_have_text("1")
    await expect(alice.page.locator(".nbrt-toasts .nbrt-toast")).to_have_count(1)  # one toast for two views

    await asyncio.to_thread(bob.do, "cell_insert", cell="twin", index=-1, text="bob: hello\n")
    await alice.until("() => window.__nbrt.editorText(1) === 'bob: hello\\n'", what="bob's text in view 1")
    await alice.type_into_editor("alice: hi", n=0)
    expected = "bob: hello\nalice: hi"
    for n in (0, 1):
        await alice.until("([n, t]) => window.__nbrt.editorText(n) === t", [n, expected], what=f"editor view {n}")
    assert await alice.value("room.cell('twin').text") == expected

    # Mark read from the second view: the first follows.
    second = alice.page.locator(".nbrt-notifications").nth(1)
    await second.locator(".nbrt-bell").click()
    await second.locator(".nbrt-mark-read").click()
    for n in (0, 1):
        await expect(badges.nth(n)).to_be_hidden()
    await second.locator(".nbrt-bell").click()  # closes it
    await expect(second.locator(".nbrt-panel")).to_be_hidden()
    await alice.until(
        "() => document.querySelectorAll('.nbrt-notif.nbrt-pending').length === 0", what="the read to be confirmed"
    )

    snapshots = await alice.js(f"() => [0, 1].map((n) => window.__nbrt.snapshot({PANEL!r}, n))")
    assert snapshots[0] == snapshots[1]
    assert "bob" in snapshots[0] and "Synced" in snapshots[0]
    # Each drop-down, opened in turn, lists the same.
    lists = []
    for n in (0, 1):
        view = alice.page.locator(".nbrt-notifications").nth(n)
        await view.locator(".nbrt-bell").click()
        await expect(view.locator(".nbrt-panel")).to_be_visible()
        lists.append(await alice.js("(n) => window.__nbrt.snapshot('.nbrt-notifications .nbrt-panel', n)", n))
        await view.locator(".nbrt-bell").click()
    assert lists[0] == lists[1]
    assert "Twice?" in lists[0] and "nbrt-notif--unread" not in lists[0]
