"""§6 Keystroke to screen in a real browser: nbrealtime's shared cell and live table vs jupyter-collaboration.

One Debian Chromium, one JupyterLab (with jupyter-collaboration switched on, so its notebooks are its own shared
documents), two browser contexts = two people. One clock: every page stamps with ``performance.timeOrigin +
performance.now()``, the same base in all pages of one browser. The typing page records each keydown
(``bench/browser_probe.js``); the other page's MutationObserver sees its editor grow and takes the time in the next
animation frame. Both directions, with the typist's kernel idle and running a cell. The floor is the same probe on a
local echo (keydown → input → mirror element → next frame, no network): what the driver itself adds.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import Summary
from tests.browser.harness import JupyterLab, Lab, NotebookPage, launch_chromium, require_tools

PROBE = Path(__file__).with_name("browser_probe.js")
INTERVAL = 0.1  # s between keystrokes: a brisk typist (10 characters/s)
ARRIVAL_MS = 15_000  # how long the last keystroke may take to show before the rest count as lost
BUSY = "import time\nprint('busy', flush=True)\ntime.sleep(600)"
DIRECT = "() => window.__nbrt.editorReady(0) && document.querySelector('.nbrt-editor').dataset.path === 'direct'"
NBRT_EDITOR = ".nbrt-editor .cm-content"
JUPYTER_CELL = ".jp-Notebook .jp-Cell .jp-InputArea .cm-content"  # querySelector: the first cell's editor
SEED_CELL = "cell = room.cell('bench')\nif not cell.text:\n    cell.set('start')\ncell"
SEED_TABLE = """tasks = room.collection("tasks")
if tasks.row("t1") is None:
    tasks.insert({"id": "t1", "title": "start"}).wait()
tasks"""
JOIN_TABLE = """tasks = room.collection("tasks")
tasks.wait_until(lambda rows: "t1" in {r["id"] for r in rows}, timeout=60)
tasks"""
LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Row:
    system: str
    direction: str
    kernel: str
    summary: Measured | None  # None: not measured (note says why)
    note: str = ""


def measure(server: Any, keystrokes: int, table_edits: int) -> list[Row]:
    """Every browser row of one run: the echo floor, both systems × both directions × idle/busy, the live table."""
    require_tools()
    return asyncio.run(_measure(server, keystrokes, table_edits))


async def _measure(server: Any, keystrokes: int, table_edits: int) -> list[Row]:
    from playwright.async_api import async_playwright

    home = Path(tempfile.mkdtemp(prefix="nbrt-bench-lab-"))
    (home / "root").mkdir()
    jupyter = await asyncio.to_thread(JupyterLab, home / "root", home, server.process, collaborative=True)
    try:
        async with async_playwright() as playwright:
            chromium = await launch_chromium(playwright)
            try:
                return await _all_rows(jupyter, chromium, server, keystrokes, table_edits)
            finally:
                await chromium.close()
    finally:
        await asyncio.to_thread(jupyter.stop)
        shutil.rmtree(home, ignore_errors=True)


async def _all_rows(jupyter: JupyterLab, chromium: Any, server: Any, keystrokes: int, edits: int) -> list[Row]:
    rows: list[Row] = []
    lab = Lab(jupyter, chromium, server.process, "bench-cell", scripts=(PROBE,))
    try:
        alice = await lab.open(lab.notebook("alice", "alice", SEED_CELL))
        bob = await lab.open(lab.notebook("bob", "bob", "room.cell('bench')"))
        for page in (alice, bob):
            await page.until(DIRECT, what="the shared cell synced, with its direct path up")
        rows.append(Row("floor: local echo, no network", "same page", "—", await _echo(alice, keystrokes)))
        rows.append(Row("floor: bare websocket relay", "A → B", "—", await _relayed(alice, bob, keystrokes)))
        rows += await _both_ways("nbrealtime shared cell", alice, bob, NBRT_EDITOR, keystrokes)
    finally:
        await lab.close()

    lab = Lab(jupyter, chromium, server.process, "bench-collab", scripts=(PROBE,))
    try:
        path = jupyter.write_notebook(f"{lab.room}-collab", ["start"])
        alice = await lab.open(path, run=False)
        bob = await lab.open(path, run=False)
        for page in (alice, bob):
            await page.until(f"() => document.querySelector({JUPYTER_CELL!r})", what="the shared notebook's cell")
        rows += await _both_ways("jupyter-collaboration", alice, bob, JUPYTER_CELL, keystrokes)
    finally:
        await lab.close()

    rows.append(Row("nbrealtime shared notebook", "both", "—", None, "not yet: waits for issue #15"))

    lab = Lab(jupyter, chromium, server.process, "bench-table", scripts=(PROBE,))
    try:
        alice = await lab.open(lab.notebook("alice", "alice", SEED_TABLE))
        bob = await lab.open(lab.notebook("bob", "bob", JOIN_TABLE))
        rows.append(Row("nbrealtime live table (Enter → row)", "A → B", "idle", await _table_edits(alice, bob, edits)))
    finally:
        await lab.close()
    return rows


async def _both_ways(system: str, alice: NotebookPage, bob: NotebookPage, editor: str, count: int) -> list[Row]:
    rows = []
    for busy in (False, True):
        for typist, watcher, direction in ((alice, bob, "A → B"), (bob, alice, "B → A")):
            kernel = "busy" if busy else "idle"
            async with _kernel_busy(typist, busy) as held:
                summary = await _keystrokes(typist, watcher, editor, count)
                note = "" if await held() else "the typist's cell ended before the typing did"
            rows.append(Row(system, direction, kernel, summary, note))
            print(f"  browser {system:<24} {direction} kernel {kernel}: {_line(summary)}", flush=True)
    return rows


def _line(s: Summary) -> str:
    return f"p50 {s.p50:.1f} ms  p99 {s.p99:.1f} ms  n {s.count}  lost {s.lost}"


@contextlib.asynccontextmanager
async def _kernel_busy(page: NotebookPage, busy: bool) -> AsyncIterator[Callable[[], Awaitable[bool]]]:
    """With ``busy``, the page's kernel runs a long cell for the duration (interrupted after); yields a check that
    the kernel is still as asked."""
    if not busy:

        async def idle() -> bool:
            return True

        yield idle
        return
    cell = await page.start(BUSY)
    await page.until(
        "(id) => window.__nbrt.cellOutputs(id).some((o) => (o.text || '').includes('busy'))",
        cell,
        what="the busy cell to start",
    )

    async def running() -> bool:
        return bool(await page.js("(id) => window.__nbrt.cellRunning(window.__nbrt.cellById(id))", cell))

    try:
        yield running
    finally:
        await page.js("() => { window.__nbrt.panel().sessionContext.session.kernel.interrupt(); }")
        await page.until("(id) => window.__nbrt.cellResult(id)", cell, what="the busy cell to stop")


async def _focus_end(page: NotebookPage, editor: str) -> None:
    await page.page.locator(f"{editor} .cm-line").first.click()
    await page.page.keyboard.press("End")


async def _keystrokes(typist: NotebookPage, watcher: NotebookPage, editor: str, count: int) -> Measured:
    """Type ``count`` letters at a steady pace at the end of the first line; latency per keystroke."""
    assert await watcher.js("(s) => window.__probe.watchEditor(s)", editor), f"no editor {editor} on the watcher"
    await _focus_end(typist, editor)
    await typist.js("() => window.__probe.armKeys()")
    return await _paced(typist, watcher, count, lambda i: typist.page.keyboard.type(LETTERS[i % len(LETTERS)]))


async def _echo(page: NotebookPage, count: int) -> Measured:
    await page.js("() => window.__probe.echo()")
    await page.js("() => window.__probe.armKeys()")
    summary = await _paced(page, page, count, lambda i: page.page.keyboard.type(LETTERS[i % len(LETTERS)]))
    await page.js("() => window.__probe.clear()")
    print(f"  browser floor (local echo): {_line(summary)}", flush=True)
    return summary


async def _relayed(typist: NotebookPage, watcher: NotebookPage, count: int) -> Measured:
    """The same keystrokes through a bare websocket relay in this process: the two-page network floor."""
    async with _relay() as url:
        await watcher.js("(url) => window.__probe.relay(url, 'receive')", url)
        await typist.js("(url) => window.__probe.relay(url, 'send')", url)
        await typist.js("() => window.__probe.armKeys()")
        summary = await _paced(typist, watcher, count, lambda i: typist.page.keyboard.type(LETTERS[i % len(LETTERS)]))
        for page in (typist, watcher):
            await page.js("() => window.__probe.clear()")
    print(f"  browser floor (websocket relay): {_line(summary)}", flush=True)
    return summary


@contextlib.asynccontextmanager
async def _relay() -> AsyncIterator[str]:
    """A websocket relay on a free loopback port: every message goes to every other connection, nothing else."""
    import websockets

    peers: set[Any] = set()

    async def forward(websocket: Any) -> None:
        peers.add(websocket)
        try:
            async for message in websocket:
                for other in [p for p in peers if p is not websocket]:
                    await other.send(message)
        finally:
            peers.discard(websocket)

    async with websockets.serve(forward, "127.0.0.1", 0, compression=None) as server:
        yield f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}"


async def _paced(
    typist: NotebookPage, watcher: NotebookPage, count: int, press: Callable[[int], Awaitable[None]]
) -> Measured:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(count):
        await press(i)
        await asyncio.sleep(max(0.0, start + (i + 1) * INTERVAL - loop.time()))  # the typing rate, not a wait
    with contextlib.suppress(AssertionError):  # what has not arrived by then is counted as lost
        await watcher.until("(n) => window.__probe.arrivals.filter((t) => t).length >= n", count, timeout=ARRIVAL_MS)
    return _summary(await typist.js("() => window.__probe.keys"), await watcher.js("() => window.__probe.arrivals"))


@dataclass
class Measured(Summary):
    """A summary that keeps its samples (for the plot of the distributions)."""

    values: tuple[float, ...] = field(default=(), repr=False)


def _summary(keys: list[float], arrivals: list[float | None]) -> Measured:
    latencies = [arrivals[k] - t for k, t in enumerate(keys) if k < len(arrivals) and arrivals[k]]
    return Measured(**vars(Summary.of(latencies, lost=len(keys) - len(latencies))), values=tuple(latencies))


async def _table_edits(alice: NotebookPage, bob: NotebookPage, count: int) -> Measured:
    """Edit the title of row t1 in alice's table ``count`` times; Enter → the new title in bob's table."""
    await alice.js("() => window.__probe.armKeys('Enter')")
    await bob.js("() => { window.__probe.arrivals = []; }")
    for i in range(count):
        title = f"edit-{i:04d}"
        shown = f"(root) => [...root.querySelectorAll('tr.nbrt-row')].some((r) => r.textContent.includes({title!r}))"
        assert await bob.js("([s, p]) => window.__probe.watchUntil(s, p)", [".nbrt-table", shown])
        column = await alice.js("() => window.__nbrt.tableColumn('title')")
        table = alice.page.locator(".nbrt-table").first
        row = table.locator("tbody tr.nbrt-row").filter(has=alice.page.locator("td.nbrt-cell--key", has_text="t1"))
        await row.locator(f"td:nth-child({column})").dblclick()
        editor = alice.page.locator(".nbrt-table input.nbrt-cell-input")
        await editor.wait_for()
        await editor.fill(title)
        await alice.page.keyboard.press("Enter")
        await bob.until("(n) => window.__probe.arrivals.length >= n", i + 1, what=f"{title} in bob's table")
    summary = _summary(await alice.js("() => window.__probe.keys"), await bob.js("() => window.__probe.arrivals"))
    print(f"  browser live table: {_line(summary)}", flush=True)
    return summary
