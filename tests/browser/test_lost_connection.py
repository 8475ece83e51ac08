"""A lost connection in the real browser: the embedded server dies under an open notebook. The panel says offline,
badges stop claiming anyone is online ("connection lost"), the live table shows its "queued" notice and an edit made
meanwhile stays pending; once the server is back on the same data dir and port, everything is live again and the
queued edit is confirmed by the backend.

The server is this module's own (it gets killed), not the folder's shared one.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import expect

from nbrealtime.launcher import ServerProcess, start_server
from tests.browser.harness import JupyterLab, Lab

pytestmark = pytest.mark.asyncio(loop_scope="session")

SETUP = """ada = nbrealtime.connect(room.name, user="ada")
tasks = room.collection("tasks")
tasks.insert({"id": "t1", "title": "Write the report", "done": False}).wait()"""
LABEL = "() => (document.querySelector('.nbrt-room-panel .nbrt-sync-label') || {}).textContent"
NOTICE = ".nbrt-table-panel .nbrt-notice"
SUMMARY = ".nbrt-room-panel .nbrt-presence-summary"
NEW_TITLE = "Written offline"
ROW = "(key) => (window.__nbrt.tableRows(0) || []).find((r) => r.key === key) || null"
# What Chromium itself logs for a socket or request to a server that is down (console, not a page error): expected.
UNREACHABLE = re.compile(r"^console: .*net::ERR_CONNECTION_REFUSED")


class Backend:
    """This module's server; :meth:`kill` and :meth:`restart` replace it in place (same data dir and port)."""

    def __init__(self, process: ServerProcess) -> None:
        self.process = process

    def kill(self) -> None:
        self.process.kill()

    def restart(self) -> None:
        self.process = self.process.restart()


@pytest.fixture(scope="module")
def backend_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Backend, JupyterLab]]:
    backend = Backend(start_server(tmp_path_factory.mktemp("lost-connection-server"), ["--port", "0"]))
    jupyter = JupyterLab.in_home(tmp_path_factory.mktemp("lost-connection-lab"), backend.process)
    yield backend, jupyter
    jupyter.stop()
    backend.process.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def lab(backend_lab: tuple[Backend, JupyterLab], browser: Any) -> AsyncIterator[Lab]:
    backend, jupyter = backend_lab
    opened = Lab(jupyter, browser, backend.process, "lost-connection")
    try:
        yield opened
    finally:
        await opened.close()
    caused = {p.path: [e for e in p.nbrt_errors if not UNREACHABLE.search(e)] for p in opened.pages}
    caused = {path: errors for path, errors in caused.items() if errors}
    if caused:
        pytest.fail(f"browser errors caused by nbrealtime: {caused}", pytrace=False)


async def until_row(page, predicate: str, *, what: str) -> dict:
    expression = f"(key) => {{ const r = ({ROW})(key); return r && ({predicate})(r) ? r : false; }}"
    return await page.until(expression, "t1", what=what)


async def test_a_lost_connection_shows_offline_queues_an_edit_and_recovers(lab, backend_lab):
    backend, _ = backend_lab
    alice = await lab.open(lab.notebook("alice", "alice", SETUP, "room.panel()", "tasks"))
    await alice.until(f"() => ({LABEL})() === 'Synced'", what="the panel to say synced")
    for name in ("alice", "ada"):
        await alice.until(f"() => window.__nbrt.memberStatus({name!r}) === 'online'", what=f"{name} online")
    await until_row(alice, "(r) => r.status === 'confirmed'", what="the seeded row")
    await expect(alice.page.locator(NOTICE)).to_be_hidden()
    await expect(alice.page.locator(SUMMARY)).to_have_text("2 online · you: editor")

    await asyncio.to_thread(backend.kill)

    # Offline, said plainly; nobody vouched for; the table still editable, with its "queued" notice.
    await alice.until(f"() => ({LABEL})().startsWith('Offline')", what="the panel to say offline")
    await alice.until(
        "() => window.__nbrt.members().every((m) => m.status === 'offline')", what="every badge to turn offline"
    )
    await expect(alice.page.locator(SUMMARY)).to_have_text("nobody online · connection lost")
    notice = alice.page.locator(NOTICE)
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("queued")
    await expect(alice.page.locator(".nbrt-table-panel .nbrt-add")).to_have_count(1)

    # An edit made meanwhile: shown at once, pending in the page and in the kernel's outbox, not dropped.
    title = await alice.js("() => window.__nbrt.tableColumn('title')")
    assert title > 0
    tr = alice.page.locator(".nbrt-table tbody tr.nbrt-row").filter(
        has=alice.page.locator("td.nbrt-cell--key", has_text="t1")
    )
    await tr.locator(f"td:nth-child({title})").dblclick()
    editor = alice.page.locator(".nbrt-table input.nbrt-cell-input")
    await expect(editor).to_be_focused()
    await alice.page.keyboard.press("Control+A")
    await alice.page.keyboard.type(NEW_TITLE)
    await alice.page.keyboard.press("Enter")
    pending = await until_row(alice, "(r) => r.status === 'pending'", what="the edit to show as pending")
    assert pending["chip"] == "pending" and pending["cells"]["title"] == NEW_TITLE
    queued = await alice.value("[tasks.status('t1'), tasks.pending_count, tasks.row('t1')['title']]")
    assert queued == ["pending", 1, NEW_TITLE], "the edit made while offline did not reach the kernel's outbox"
    await alice.until(f"() => ({LABEL})() === 'Offline (1 queued)'", what="the panel to count the queued edit")
    await alice.screenshot(alice.page.locator(".jp-Notebook"), "lost-connection")
    assert (await until_row(alice, "(r) => true", what="the row"))["status"] == "pending", "the edit was dropped"

    await asyncio.to_thread(backend.restart)
    lab.server = backend.process

    # Live again: synced, both people online, no notice, and the queued edit confirmed by the backend.
    await alice.until(f"() => ({LABEL})() === 'Synced'", what="the panel to say synced again")
    for name in ("alice", "ada"):
        await alice.until(f"() => window.__nbrt.memberStatus({name!r}) === 'online'", what=f"{name} online again")
    await expect(alice.page.locator(SUMMARY)).to_have_text("2 online · you: editor")
    await expect(alice.page.locator(NOTICE)).to_be_hidden()
    confirmed = await until_row(alice, "(r) => r.status === 'confirmed'", what="the queued edit to be confirmed")
    assert confirmed["chip"] is None and confirmed["cells"]["title"] == NEW_TITLE
    assert await alice.value("[tasks.status('t1'), tasks.pending_count]") == ["confirmed", 0]
    # The backend has it: a connection that was never offline reads it from the server.
    await alice.run(
        "fresh = nbrealtime.connect(room.name, user='bo').collection('tasks')\n"
        f"fresh.wait_until(lambda rows: [r['title'] for r in rows] == [{NEW_TITLE!r}], timeout=30)"
    )
    assert await alice.value("fresh.row('t1')['title']") == NEW_TITLE
