"""A shared notebook in real browsers: two JupyterLab servers ("two machines": own processes, root dirs, data dirs
and users), one embedded server, one Chromium page on each; typing, restructuring and running at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from nbrealtime.launcher import ServerProcess
from tests.browser.harness import JupyterLab, Lab, NotebookPage
from tests.jupyter.support import api, start_machines, until_on_disk

pytestmark = [pytest.mark.shared_notebook, pytest.mark.asyncio(loop_scope="session")]

MODEL = "window.jupyterapp.shell.currentWidget.content.model.sharedModel"
IDS = f"() => {MODEL}.cells.map((cell) => cell.id)"


@pytest.fixture(scope="module")
def machines(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[JupyterLab]]:
    yield from start_machines(server, tmp_path_factory)


def has_output(content: dict) -> bool:
    """Whether some cell of the notebook printed 42."""
    return any("42" in "".join(o.get("text", "")) for cell in content["cells"] for o in cell.get("outputs", []))


async def type_in_cell(page: NotebookPage, index: int, text: str) -> None:
    editor = page.page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content")
    await editor.click()
    await page.page.keyboard.press("Control+End")
    await page.page.keyboard.type(text, delay=30)


async def same_cells(pages: list[NotebookPage], what: str) -> list[str]:
    """Wait until every page shows the same cell ids, each once; return them."""
    ids = await pages[0].js(IDS)
    for page in pages:
        ids = await page.until(
            f"(want) => {{ const ids = ({IDS})(); return new Set(ids).size === ids.length"
            f" && JSON.stringify(ids) === JSON.stringify(want) && ids; }}",
            await pages[0].until(
                f"() => {{ const ids = ({IDS})(); return new Set(ids).size === ids.length && ids; }}", what=what
            ),
            what=what,
        )
    return ids


async def test_two_machines_type_restructure_and_run_in_one_notebook(
    machines: list[JupyterLab], browser: Any, server: ServerProcess, request: pytest.FixtureRequest
) -> None:
    ann_lab, ben_lab = (Lab(machine, browser, server, request.node.name) for machine in machines)
    ben_lab.room = room = ann_lab.room
    try:
        path = ann_lab.jupyter.write_notebook(f"{room}-shared", ["a = 1", "b = 2"])
        shared = await asyncio.to_thread(api, machines[0], "POST", f"{room}/notebooks", json={"path": path})
        assert shared.status_code == 201, shared.text
        opened = await asyncio.to_thread(api, machines[1], "POST", f"{room}/notebooks/{path}/open")
        assert opened.status_code == 200, opened.text
        pages = list(
            await asyncio.gather(ann_lab.open(path, run=False), ben_lab.open(opened.json()["path"], run=False))
        )

        # each sees the other as one of JupyterLab's own collaborators (awareness crosses the bridge)
        ben_name = await pages[1].until(f"() => {MODEL}.awareness.getLocalState()?.user?.name", what="ben's identity")
        await pages[0].until(
            f"(name) => [...{MODEL}.awareness.getStates().values()].some((state) => state.user?.name === name)",
            ben_name,
            what="ben among ann's collaborators",
        )

        # both type into the first cell at once: every character of both survives, on both pages
        await asyncio.gather(type_in_cell(pages[0], 0, "  # ann"), type_in_cell(pages[1], 0, "  # ben"))
        for page in pages:
            await page.until(
                f"() => {{ const s = {MODEL}.cells[0].getSource();"
                " return s.includes('# ann') && s.includes('# ben'); }",
                what="both people's typing in the first cell",
            )

        # cells added and moved on one side, deleted on the other
        await pages[0].js(
            f"() => {{ {MODEL}.insertCell(2, {{cell_type: 'markdown', source: '# added by ann'}});"
            f" {MODEL}.moveCell(0, 1); }}"
        )
        await pages[1].until(f"() => {MODEL}.cells.length === 3", what="ann's new cell on ben's page")
        ids = await same_cells(pages, "the same three cells, each once")
        await pages[1].js(f"(id) => {MODEL}.deleteCell({MODEL}.cells.findIndex((cell) => cell.id === id))", ids[0])
        await pages[0].until(f"(id) => !{MODEL}.cells.some((cell) => cell.id === id)", ids[0], what="ben's delete")
        assert len(await same_cells(pages, "two cells after the delete")) == 2

        # a cell run on ben's machine, in ben's kernel: its output and who ran it reach ann's page
        cell_id = await pages[1].start("print(6 * 7)")
        await pages[1].finish(cell_id)
        ran = await pages[0].until(
            f"""(id) => {{
                const cell = {MODEL}.cells.find((c) => c.id === id);
                const text = cell && cell.outputs.map((o) => o.text || '').join('');
                const stamp = cell && cell.getMetadata('nbrealtime');
                return text && text.includes('42') && stamp && stamp.ran_by ? stamp : false;
            }}""",
            cell_id,
            what="ben's output, marked with who ran it, on ann's page",
        )
        assert ran["ran_by"] == "ben"

        # kernel-side sharing: ann's kernel puts a notebook file in the room, ben's server opens it (with outputs)
        await asyncio.to_thread(until_on_disk, machines[0].root / path, has_output, machines[0], "the saved output")
        await pages[0].run(
            f"import nbrealtime\nkernel_room = nbrealtime.connect({room!r}, user='ann')\n"
            f"kernel_room.share_notebook({path!r}, name='from-kernel.ipynb').name"
        )
        late = await asyncio.to_thread(api, machines[1], "POST", f"{room}/notebooks/from-kernel.ipynb/open")
        assert late.status_code == 200, late.text
        assert has_output(json.loads((machines[1].root / late.json()["path"]).read_text()))
    finally:
        for lab in (ann_lab, ben_lab):
            await lab.close()
