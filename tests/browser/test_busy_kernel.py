"""Typing in a shared cell never waits for a kernel: the typist's own kernel runs a 20 s cell the whole time.

Each keystroke must reach the other person's editor within a second, in both directions, because it leaves the page on
the browser's own realtime socket (DESIGN.md §3 "Browser link") rather than as a comm message the busy kernel would
only read after its cell. The kernel still gets every edit (it is a full peer), the browser's edits are in the
backend's log before the kernel is free again, and no access token ends up in the saved notebook.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from pycrdt import Doc, Text

pytestmark = pytest.mark.asyncio(loop_scope="session")

BUSY = "import time\nprint('busy', flush=True)\ntime.sleep(20)"
CONTAINS = "([n, text]) => (window.__nbrt.editorText(n) || '').includes(text)"
DIRECT = "() => window.__nbrt.editorReady(0) && document.querySelector('.nbrt-editor').dataset.path === 'direct'"
RUNNING = "(id) => window.__nbrt.cellRunning(window.__nbrt.cellById(id))"
SECOND = 1000  # ms: the bound for a keystroke to reach the other person


async def _type_each_within_a_second(typist, watcher, text: str, *, line: int) -> None:
    await typist.type_into_editor("", line=line)
    typed = ""
    for char in text:
        await typist.page.keyboard.type(char)
        typed += char
        await watcher.until(CONTAINS, [0, typed], timeout=SECOND, what=f"{typed!r} within a second")


def _logged_text(server, room: str, cell: str) -> str:
    """The cell's text as the backend's update log alone has it (what a late joiner would load)."""
    headers = {"apikey": server.service_role_key, "Authorization": f"Bearer {server.service_role_key}"}
    rows = httpx.get(
        f"{server.url}/rest/v1/nbrt_cell_updates",
        params={"room": f"eq.{room}", "cell": f"eq.{cell}", "select": "data", "order": "seq"},
        headers=headers,
    ).json()
    doc = Doc()
    text = doc.get("source", type=Text)
    for row in rows:
        doc.apply_update(base64.b64decode(row["data"]))
    return str(text)


async def test_keystrokes_reach_the_other_person_while_the_typists_kernel_is_busy(lab, server):
    seeded = "cell = room.cell('notes')\nif not cell.text:\n    cell.set('# alice:\\n# bob:\\n')\ncell"
    alice = await lab.open(lab.notebook("alice", "alice", seeded))
    bob = await lab.open(lab.notebook("bob", "bob", "room.cell('notes')"))
    for page in (alice, bob):
        await page.until(DIRECT, what="the editor synced, with its direct path to the room up")
        await page.until(CONTAINS, [0, "# bob:"], what="the seeded text")

    busy = await alice.start(BUSY)
    await alice.until(
        "(id) => window.__nbrt.cellOutputs(id).some((o) => (o.text || '').includes('busy'))",
        busy,
        what="alice's 20 s cell to start",
    )
    await _type_each_within_a_second(alice, bob, " typing while busy", line=0)
    await _type_each_within_a_second(bob, alice, " and back", line=1)
    assert await alice.js(RUNNING, busy), "alice's cell ended before the typing did; the test proves nothing"
    # Stored by alice's browser itself, while her kernel still cannot have done it.
    assert "typing while busy" in _logged_text(server, lab.room, "notes")
    assert await alice.js(RUNNING, busy)

    await alice.finish(busy, timeout=60_000)
    expected = "# alice: typing while busy\n# bob: and back\n"
    for page in (alice, bob):
        await page.until("([n, text]) => window.__nbrt.editorText(n) === text", [0, expected], what="convergence")
    for page in (alice, bob):
        assert await page.value("room.cell('notes').text") == expected

    await alice.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    await alice.until("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", what="the notebook saved")
    saved = (lab.jupyter.root / alice.path).read_text()
    assert alice.errors == [] and bob.errors == [], (alice.errors, bob.errors)
    assert "typing while busy" not in json.dumps(json.loads(saved)["metadata"])
    assert "eyJ" not in saved, "a token (JWT) was written into the saved notebook"


SEED_TASKS = """tasks = room.collection("tasks")
tasks.insert({"id": "t1", "title": "Write the report", "done": False}).wait()
tasks"""
JOIN_TASKS = """tasks = room.collection("tasks")
tasks.wait_until(lambda rows: len(rows) == 1, timeout=60)
tasks"""
PENDING = ".nbrt-table tr.nbrt-row--pending"


def row_where(predicate: str) -> str:
    """A JS function of a row key: the first table's row, once it satisfies ``predicate`` (JS, of the row ``r``)."""
    find = "(window.__nbrt.tableRows(0) || []).find((r) => r.key === key)"
    return f"(key) => {{ const r = {find}; return r && ({predicate}) ? r : false; }}"


async def test_a_table_edit_made_in_a_busy_notebook_lands_at_once(lab):
    alice, bob = await lab.open_all(lab.notebook("alice", "alice", SEED_TASKS), lab.notebook("bob", "bob", JOIN_TASKS))
    for page in (alice, bob):
        await page.until(row_where("r.status === 'confirmed'"), "t1", what="the seeded row")
    busy = await alice.start(BUSY)
    await alice.until(
        "(id) => window.__nbrt.cellOutputs(id).some((o) => (o.text || '').includes('busy'))",
        busy,
        what="alice's 20 s cell to start",
    )
    table = alice.page.locator(".nbrt-table").first
    title = await alice.js("() => window.__nbrt.tableColumn('title')")
    await table.locator("tbody tr.nbrt-row").first.locator(f"td:nth-child({title})").dblclick()
    await alice.page.keyboard.press("Control+A")
    await alice.page.keyboard.type("Ship it")
    await alice.js("(s) => window.__nbrt.watchFor(s)", PENDING)
    await alice.page.keyboard.press("Enter")

    # The pending mark may last only as long as the write takes: record it, however briefly it shows.
    await alice.until("(s) => window.__nbrt.seenEver(s)", PENDING, timeout=SECOND, what="the pending mark at once")
    shown = row_where("r.cells.title === 'Ship it' && r.status === 'confirmed'")
    await bob.until(shown, "t1", timeout=SECOND, what="the edit on bob's page within a second")
    await alice.until(shown, "t1", timeout=5 * SECOND, what="alice's edit confirmed while her kernel is busy")
    assert await alice.js(RUNNING, busy), "alice's cell ended before the edit landed; the test proves nothing"

    await alice.finish(busy, timeout=60_000)
    for page in (alice, bob):
        assert await page.value("tasks.row('t1')['title']") == "Ship it"
    assert await alice.value("tasks.pending_count") == 0
    assert alice.errors == [] and bob.errors == [], (alice.errors, bob.errors)


JOINED = """async (topic) => {
  const ids = Object.keys(globalThis.__nbrealtime_runtimes || {}).filter((id) => id.startsWith('link@'));
  if (!ids.length) return false;
  const sockets = (await globalThis.__nbrealtime_runtimes[ids[0]]).openSockets();
  return sockets.some((s) => s.joined.includes(topic));
}"""
HIDE_TAB = """() => {
  Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
  document.dispatchEvent(new Event('visibilitychange'));
}"""


async def test_leaving_the_tab_of_a_busy_notebook_shows_as_away_at_once(lab):
    alice = await lab.open(lab.notebook("alice", "alice", "room.panel()"))
    bob = await lab.open(lab.notebook("bob", "bob", "room.panel()"))
    await bob.until("() => window.__nbrt.memberStatus('alice') === 'online'", what="alice online on bob's page")
    await alice.until(JOINED, f"nbrt:{lab.room}", what="alice's page on the room channel itself")
    busy = await alice.start(BUSY)
    await alice.until(
        "(id) => window.__nbrt.cellOutputs(id).some((o) => (o.text || '').includes('busy'))",
        busy,
        what="alice's 20 s cell to start",
    )
    await alice.js(HIDE_TAB)
    # The kernel path would take until the cell ends (20 s); the page's own socket takes a debounce and a hop.
    await bob.until("() => window.__nbrt.memberStatus('alice') === 'away'", timeout=5 * SECOND, what="alice away")
    assert await alice.js(RUNNING, busy), "alice's cell ended before bob saw her away; the test proves nothing"
    await alice.finish(busy, timeout=60_000)
    assert await alice.value("room.presence.status") == "away", "alice's kernel did not adopt her page's report"
