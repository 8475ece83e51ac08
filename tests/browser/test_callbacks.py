"""A room callback prints under the cell that registered it, not under whichever cell happens to be running."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

REGISTER = """import threading
got = threading.Event()

@room.on("ping")
def show(payload, sender):
    print("got", payload["n"], "from", sender.name)
    got.set()

print("registered")"""
# Running while the ping arrives: the case where output would go astray if it followed the current cell.
WAIT = """print("B waiting", flush=True)
assert got.wait(30), "no ping arrived"
print("B done")"""


def stdout(outputs: list[dict]) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


async def test_a_callback_prints_under_the_cell_that_registered_it(lab):
    alice = await lab.open(lab.notebook("alice", "alice", REGISTER))
    cell_a = await alice.js("() => window.__nbrt.cellIdAt(1)")
    assert stdout(await alice.js("(id) => window.__nbrt.cellOutputs(id)", cell_a)) == "registered\n"
    bob = await lab.peer("bob")

    cell_b = await alice.start(WAIT)
    await alice.until(
        "(id) => window.__nbrt.cellOutputs(id).some((o) => (o.text || '').includes('B waiting'))",
        cell_b,
        what="cell B to be running",
    )
    await asyncio.to_thread(bob.do, "send", event="ping", payload={"n": 7})
    outputs_b = await alice.finish(cell_b)

    await alice.until(
        "(id) => window.__nbrt.cellOutputs(id).some((o) => (o.text || '').includes('got 7'))",
        cell_a,
        what="the callback's print under cell A",
    )
    assert stdout(await alice.js("(id) => window.__nbrt.cellOutputs(id)", cell_a)) == "registered\ngot 7 from bob\n"
    assert stdout(outputs_b) == "B waiting\nB done\n", "the callback's output went to the running cell"
    shown = await alice.page.locator(".jp-Notebook .jp-CodeCell").nth(1).locator(".jp-OutputArea").inner_text()
    assert "got 7 from bob" in shown
