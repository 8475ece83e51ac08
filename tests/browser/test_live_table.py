"""Live tables in the real browser: an inline edit is pending, then confirmed and flashes live in another notebook;
a write the backend refuses shows its error with Retry; a manual conflict is settled from the conflict panel."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.asyncio(loop_scope="session")

SEED = """tasks = room.collection("tasks")
for row in ({"id": "t1", "title": "Write the report", "done": False},
            {"id": "t2", "title": "Review the figures", "done": True}):
    tasks.insert(row).wait()"""
JOIN = """tasks = room.collection("tasks")
tasks.wait_until(lambda rows: len(rows) == 2, timeout=60)"""
NEW_TITLE = "Ship the report"

ROW = "([n, key]) => (window.__nbrt.tableRows(n) || []).find((r) => r.key === key) || null"


async def row(page, key: str, n: int = 0) -> dict | None:
    return await page.js(ROW, [n, key])


async def until_row(page, key: str, predicate: str, *, n: int = 0, what: str) -> dict:
    """Wait until the row ``key`` of the n-th table satisfies the JS ``predicate`` (a function of the row)."""
    expression = f"([n, key]) => {{ const r = ({ROW})([n, key]); return r && ({predicate})(r) ? r : false; }}"
    return await page.until(expression, [n, key], what=what)


def cell(page, key: str, column_index: int, n: int = 0):
    table = page.page.locator(".nbrt-table").nth(n)
    tr = table.locator("tbody tr.nbrt-row").filter(has=page.page.locator("td.nbrt-cell--key", has_text=key))
    return tr.locator(f"td:nth-child({column_index})")


async def test_an_inline_edit_is_pending_then_confirmed_and_flashes_in_the_other_view(lab):
    alice, bob = await lab.open_all(
        lab.notebook("alice", "alice", SEED, "tasks"), lab.notebook("bob", "bob", JOIN, "tasks")
    )
    for page in (alice, bob):
        shown = await until_row(page, "t1", "(r) => r.status === 'confirmed'", what="the seeded row t1")
        assert shown["cells"]["title"] == "Write the report" and shown["chip"] is None
    await bob.js("() => window.__nbrt.watchFlashes(0)")

    # Offline, as far as the table goes: the edit must stay pending until resume().
    await alice.run("tasks.pause()")
    title = await alice.js("() => window.__nbrt.tableColumn('title')")
    assert title > 0
    await cell(alice, "t1", title).dblclick()
    editor = alice.page.locator(".nbrt-table input.nbrt-cell-input")
    await expect(editor).to_be_focused()
    await expect(editor).to_have_value("Write the report")
    await alice.page.keyboard.type(NEW_TITLE)
    await alice.page.keyboard.press("Enter")

    pending = await until_row(alice, "t1", "(r) => r.status === 'pending'", what="alice's row to show pending")
    assert pending["chip"] == "pending" and pending["busy"]
    assert pending["cells"]["title"] == NEW_TITLE, "the edit is not shown at once"
    assert (await row(alice, "t2"))["status"] == "confirmed"
    await alice.screenshot(alice.page.locator(".nbrt-table-wrap").first, "live-table-pending-row")
    assert await alice.value("[tasks.status('t1'), tasks.pending_count]") == ["pending", 1]
    # Nothing left alice's kernel, so bob still has the old title.
    assert (await row(bob, "t1"))["cells"]["title"] == "Write the report"
    assert await bob.js("() => window.__nbrt.flashes()") == []

    await alice.run("tasks.resume()")
    confirmed = await until_row(alice, "t1", "(r) => r.status === 'confirmed'", what="alice's edit to be confirmed")
    assert confirmed["chip"] is None and not confirmed["busy"] and confirmed["cells"]["title"] == NEW_TITLE
    seen = await until_row(bob, "t1", f"(r) => r.cells.title === {NEW_TITLE!r}", what="alice's edit in bob's table")
    assert seen["status"] == "confirmed"
    flashes = await bob.until(
        "() => window.__nbrt.flashes().length ? window.__nbrt.flashes() : false", what="bob's row to flash"
    )
    assert [f["key"] for f in flashes] == ["t1"], flashes
    assert NEW_TITLE in flashes[0]["text"]
    assert await bob.value("tasks.row('t1')['title']") == NEW_TITLE
    assert alice.errors == [] and bob.errors == []


REFUSED = """notes = room.table("nbrt_notifications", filter=f"room=eq.{room.name}")
refused = notes.insert({"room": room.name, "recipient": room.me.id})  # no title: violates not-null
refused.wait()
print(refused.status, refused.key)"""


async def test_a_refused_write_shows_its_error_with_retry_and_discard(lab):
    alice = await lab.open(lab.notebook("alice", "alice", REFUSED, "notes"))
    assert await alice.value("refused.status") == "failed"
    key = await alice.value("refused.key")
    error = await alice.value("refused.error")
    assert error
    failed = await until_row(alice, key, "(r) => r.status === 'failed'", what="the refused insert, marked failed")
    assert failed["error"] == error
    assert failed["buttons"] == ["Retry", "Discard"]
    await alice.screenshot(alice.page.locator(".nbrt-table-wrap").first, "live-table-failed-row")

    # Retry sends it again: pending while the table is paused, then refused again with the same error.
    await alice.run("notes.pause()")
    await alice.page.locator(".nbrt-table button", has_text="Retry").click()
    await until_row(alice, key, "(r) => r.status === 'pending' && r.error === null", what="the retried write, pending")
    await alice.run("notes.resume()")
    again = await until_row(alice, key, "(r) => r.status === 'failed'", what="the retried write to fail again")
    assert again["error"] == error

    await alice.page.locator(".nbrt-table button", has_text="Discard").click()
    await alice.until("() => window.__nbrt.tableRows(0).length === 0", what="the discarded write to go")
    # Nothing is left to send again. (LiveTable.status() still answers "failed" for the key: discard() leaves the
    # store's failed mark; the view goes by what can still be retried.)
    assert await alice.value("[notes.retry(refused.key), notes.rows, notes.pending_count]") == [None, [], 0]


CONFLICT = """bob = nbrealtime.connect(room.name, user="bob")
mine = room.collection("plan", conflict="manual")
theirs = bob.collection("plan", conflict="manual")
mine.insert({"id": "r1", "title": "draft", "done": False, "owner": "alice"}).wait()
theirs.wait_until(lambda rows: len(rows) == 1)
theirs.pause()
bobs_write = theirs.update("r1", {"title": "Bob's title", "owner": "bob"})
mine.update("r1", {"title": "Alice's title", "done": True}).wait()
theirs.resume()
theirs.wait_until(lambda rows: bool(theirs.conflicts))"""


async def test_a_manual_conflict_is_kept_mine_from_the_panel_and_both_views_converge(lab):
    alice = await lab.open(lab.notebook("alice", "alice", CONFLICT, "mine", "theirs"))
    # Two LiveTablePanels: alice's (view 0) and bob's (view 1); only bob has a conflict.
    panels = alice.page.locator(".nbrt-conflicts")
    await expect(panels).to_have_count(2)
    await expect(panels.nth(0).locator(".nbrt-conflict")).to_have_count(0)
    card = panels.nth(1).locator(".nbrt-conflict")
    await expect(card).to_have_count(1)
    await expect(panels.nth(1).locator(".nbrt-conflicts-header")).to_have_text("1 conflict")
    await expect(card.locator(".nbrt-conflict-key")).to_have_text("r1")

    grid = await alice.js(
        """() => Object.fromEntries([...document.querySelectorAll('.nbrt-conflicts')[1]
              .querySelectorAll('.nbrt-conflict-grid tbody tr')].map((tr) =>
              [tr.querySelector('th').textContent, [...tr.querySelectorAll('td')].map((td) => td.textContent)]))"""
    )
    assert grid["title"] == ["draft", "Bob's title", "Alice's title"], grid
    assert grid["owner"] == ["alice", "bob", "alice"], grid
    assert grid["done"] == ["false", "false", "true"], grid
    disputed = await alice.js(
        "() => [...document.querySelectorAll('.nbrt-conflicts')[1].querySelectorAll('tr.nbrt-conflict-field th')]"
        ".map((th) => th.textContent)"
    )
    assert "title" in disputed and "done" not in disputed, disputed
    await alice.screenshot(panels.nth(1), "conflict-panel")

    await card.locator("button", has_text="Keep mine").click()
    await expect(panels.nth(1).locator(".nbrt-conflict")).to_have_count(0)
    await expect(panels.nth(1)).to_be_hidden()  # nothing left to settle: no empty panel under the table
    for n in (0, 1):
        await until_row(
            alice, "r1", "(r) => r.cells.title === \"Bob's title\" && r.status === 'confirmed'", n=n,
            what=f"view {n} to show bob's kept row",
        )  # fmt: skip
    views = await alice.js("() => [0, 1].map((n) => window.__nbrt.tableRows(n))")
    assert views[0] == views[1], views
    assert await alice.value("[theirs.conflicts, bobs_write.wait(), mine.rows == theirs.rows]") == [
        [],
        "confirmed",
        True,
    ]
    assert await alice.value("mine.row('r1')['owner']") == "bob"
