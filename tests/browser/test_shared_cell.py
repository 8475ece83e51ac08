"""A shared cell in the real browser: two people type at once while one kernel is busy; a late joiner agrees."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

SEED = "# alice:\n# bob:\n"
ALICE_WORDS = " apple banana cherry"
BOB_WORDS = " delta echo foxtrot"
EXPECTED = f"# alice:{ALICE_WORDS}\n# bob:{BOB_WORDS}\n"
LONG_CELL = "import time\nfor i in range(4):\n    print('working', i, flush=True)\n    time.sleep(2.5)"
TEXT = "([n, text]) => window.__nbrt.editorText(n) === text"
CONTAINS = "([n, text]) => (window.__nbrt.editorText(n) || '').includes(text)"


async def test_two_people_type_at_once_while_a_kernel_is_busy(lab):
    seeded = f"cell = room.cell('shared')\nif not cell.text:\n    cell.set({SEED!r})\ncell"
    alice = await lab.open(lab.notebook("alice", "alice", seeded))
    bob = await lab.open(lab.notebook("bob", "bob", "room.cell('shared')"))
    for page in (alice, bob):
        await page.until("() => window.__nbrt.editorReady(0)", what="the editor to sync")
        await page.until(TEXT, [0, SEED], what="the seeded text")

    busy = await bob.start(LONG_CELL)
    await bob.until(
        "(id) => window.__nbrt.cellOutputs(id).some((o) => (o.text || '').includes('working 0'))",
        busy,
        what="the long cell to start",
    )
    await asyncio.gather(
        alice.type_into_editor(ALICE_WORDS, line=0),
        bob.type_into_editor(BOB_WORDS, line=1),
    )
    # Bob's kernel is still busy, yet Alice's words reach Bob's editor (the kernel forwards from its loop thread).
    await bob.until(CONTAINS, [0, ALICE_WORDS], what="alice's words in bob's editor while his kernel is busy")
    assert await bob.js("(id) => window.__nbrt.cellRunning(window.__nbrt.cellById(id))", busy), (
        "the long cell ended before the test saw alice's words arrive; it proves nothing about a busy kernel"
    )
    await bob.finish(busy, timeout=60_000)

    for page in (alice, bob):
        await page.until(TEXT, [0, EXPECTED], what="both people's words, merged")
    for page in (alice, bob):
        assert await page.value("room.cell('shared').text") == EXPECTED

    await alice.until("() => window.__nbrt.remoteCarets(0).includes('bob')", what="bob's caret in alice's editor")
    await alice.screenshot(alice.page.locator(".nbrt-editor"), "shared-cell-editor")

    carol = await lab.open(lab.notebook("carol", "carol", "room.cell('shared')"))
    await carol.until("() => window.__nbrt.editorReady(0)", what="the late joiner's editor to sync")
    assert await carol.js("() => window.__nbrt.editorText(0)") == EXPECTED
    assert await carol.value("room.cell('shared').text") == EXPECTED
