"""The quickstart's views in marimo, beside JupyterLab: the room panel (one anywidget), presence badges, the bell and
a toast inside the widget's own DOM, a live table and the shared cell's editor each left as a cell's last expression,
syncing both ways."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.harness import KERNEL_MS, NBRT_ERROR, VIEWPORT, WAIT_MS, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")

CONTAINS = "([n, text]) => (window.__nbrt.editorText(n) || '').includes(text)"

NOTEBOOK = """
import marimo

app = marimo.App()


@app.cell
def _():
    import nbrealtime

    room = nbrealtime.connect({room!r}, user="mia")
    return (room,)


@app.cell
def _(room):
    room.panel()
    return


@app.cell
def _(room):
    tasks = room.collection("tasks")
    tasks.wait_until(lambda rows: len(rows) == 1, timeout=60)
    tasks
    return (tasks,)


@app.cell
def _(room):
    room.cell("analysis")
    return


if __name__ == "__main__":
    app.run()
"""


class Marimo:
    """``marimo run`` (headless, no token) on a generated notebook, its kernel pointed at the test's server."""

    def __init__(self, path: Path, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = path.with_suffix(".log")
        command = [sys.executable, "-m", "marimo", "run", str(path), "--headless", "--no-token", "-p", str(self.port)]
        env = {**os.environ, "NBREALTIME_DATA_DIR": str(data_dir)}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=path.parent)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"marimo exited with {self.process.returncode}:\n{self.log.read_text()}", pytrace=False)
            try:
                if httpx.get(self.url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # polling a starting process's port
        self.stop()
        pytest.fail(f"marimo did not answer within 60 s:\n{self.log.read_text()}", pytrace=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def marimo_for(tmp_path: Path) -> Iterator:
    started: list[Marimo] = []

    def start(room: str, data_dir: Path) -> Marimo:
        path = tmp_path / "views.py"
        path.write_text(textwrap.dedent(NOTEBOOK).format(room=room))
        started.append(Marimo(path, data_dir))
        return started[-1]

    yield start
    for process in started:
        process.stop()


async def test_the_quickstart_views_render_and_sync_in_marimo_beside_jupyterlab(lab, marimo_for):
    seed = 'tasks = room.collection("tasks")\ntasks.insert({"id": "t1", "title": "Draft", "done": False}).wait()'
    alice = await lab.open(lab.notebook("alice", "alice", seed, "room.panel()", "room.cell('analysis')"))
    app = await asyncio.to_thread(marimo_for, lab.room, lab.server.data_dir)

    context = await lab.browser.new_context(viewport=VIEWPORT)
    lab.contexts.append(context)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on("console", lambda m: m.type == "error" and errors.append(f"console: {m.text}"))
    await page.goto(app.url, timeout=KERNEL_MS)

    # One anywidget for the room panel (marimo refuses widget containers), with badges for both people.
    panel = page.locator(".nbrt-room-panel")
    await expect(panel).to_have_count(1, timeout=KERNEL_MS)
    await expect(panel.locator(".nbrt-sync-label")).to_have_text("Synced", timeout=WAIT_MS)
    online = panel.locator(".nbrt-member[data-name='alice'] .nbrt-status--online")
    await expect(online).to_have_count(1, timeout=WAIT_MS)
    await alice.until("() => window.__nbrt.memberStatus('mia') === 'online'", what="mia (marimo) in alice's panel")

    # A notification: the badge, and a toast inside the widget's own DOM, styled (marimo styles the shadow root).
    await alice.run('room.notify("mia", "Hello from JupyterLab")')
    await expect(panel.locator(".nbrt-badge")).to_have_text("1", timeout=WAIT_MS)
    toast = panel.locator(".nbrt-toasts .nbrt-toast", has_text="Hello from JupyterLab")
    await expect(toast).to_be_visible()
    assert await toast.evaluate("(e) => getComputedStyle(e.parentElement).position") == "fixed"
    assert await toast.evaluate("(e) => getComputedStyle(e).borderLeftWidth") == "4px"

    # The live table, left as a cell's last expression, syncs both ways.
    table = page.locator(".nbrt-table-panel .nbrt-table")
    await expect(table.locator("td", has_text="Draft")).to_have_count(1, timeout=WAIT_MS)
    await alice.run("tasks.update('t1', {'title': 'From JupyterLab'}).wait()")
    await expect(table.locator("td", has_text="From JupyterLab")).to_have_count(1, timeout=WAIT_MS)
    await table.locator("input[type=checkbox]").click()
    await alice.run("tasks.wait_until(lambda rows: rows[0]['done'] is True, timeout=30)")

    # The shared cell's editor: its runtimes (CodeMirror/Yjs, the realtime link) load from blob: URLs in marimo's page
    # too, it becomes editable on the page's own link, and what is typed on either side reaches the other.
    editor = page.locator(".nbrt-editor")
    await expect(editor).to_have_count(1, timeout=WAIT_MS)
    await expect(editor.locator(".cm-content[contenteditable='true']")).to_have_count(1, timeout=WAIT_MS)
    await expect(editor).not_to_have_class(re.compile(r"nbrt-editor--syncing"), timeout=WAIT_MS)
    await expect(editor).to_have_attribute("data-path", "direct", timeout=WAIT_MS)
    await alice.until("() => window.__nbrt.editorReady(0)", what="the shared cell editable in JupyterLab")
    await editor.locator(".cm-content").click()
    await page.keyboard.press("Control+End")
    await page.keyboard.type("typed in marimo", delay=40)
    await alice.until(CONTAINS, [0, "typed in marimo"], what="marimo's words in JupyterLab's editor")
    await alice.type_into_editor(" and in JupyterLab")
    await expect(editor.locator(".cm-content")).to_contain_text("typed in marimo and in JupyterLab", timeout=WAIT_MS)
    assert await alice.value("room.cell('analysis').text") == "typed in marimo and in JupyterLab"

    caused = [error for error in errors if NBRT_ERROR.search(error)]
    assert not caused, f"browser errors caused by nbrealtime in marimo: {caused}"
    shots = os.environ.get("NBRT_SCREENSHOT_DIR")
    if shots:
        await page.screenshot(path=str(Path(shots) / "marimo.png"))
