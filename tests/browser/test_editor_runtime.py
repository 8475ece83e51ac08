"""Editors on one page share one copy of the editor runtime (Yjs, CodeMirror) and one socket to the backend."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

RUNTIMES = "() => Object.keys(globalThis.__nbrealtime_runtimes || {}).map((id) => id.split('@')[0]).sort()"
SOCKETS = """async () => {
  const ids = Object.keys(globalThis.__nbrealtime_runtimes).filter((id) => id.startsWith('link@'));
  return (await globalThis.__nbrealtime_runtimes[ids[0]]).openSockets();
}"""


async def test_three_editors_load_the_runtimes_once_and_share_one_socket(lab):
    cells = [f"room.cell({name!r})" for name in ("a", "b", "c")]
    page = await lab.open(lab.notebook("three", "alice", *cells))
    for n in range(3):
        await page.until(f"() => window.__nbrt.editorReady({n})", what=f"editor {n} to sync")
    await page.until(
        "() => [...document.querySelectorAll('.nbrt-editor')].every((e) => e.dataset.path === 'direct')",
        what="every editor's direct path up",
    )
    assert await page.js(RUNTIMES) == ["editor", "link"]
    sockets = await page.js(SOCKETS)
    assert len(sockets) == 1, sockets
    assert sockets[0]["topics"] == [f"nbrt:{lab.room}:cells"], "the editors share the shared cells' channel"
    assert page.errors == [], page.errors
