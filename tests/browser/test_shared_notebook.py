"""A shared notebook in real browsers: two JupyterLab servers ("two machines": own processes, root dirs, data dirs
and users), one embedded server, one Chromium page on each; typing, restructuring and running at once."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from postgrest.exceptions import APIError

import nbrealtime
from nbrealtime.features.notebook_outputs import OMITTED_MIME
from nbrealtime.features.shared_notebook import NOTEBOOK_EVENT
from nbrealtime.features.synced_doc import b64
from nbrealtime.launcher import ServerProcess
from tests.browser.harness import JupyterLab, Lab, NotebookPage
from tests.features.test_notebook_outputs import stored_rows
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


async def test_a_viewer_on_another_machine_sees_the_editor_and_reaches_no_one(
    machines: list[JupyterLab], browser: Any, server: ServerProcess, request: pytest.FixtureRequest, monkeypatch: Any
) -> None:
    monkeypatch.setenv("NBREALTIME_DATA_DIR", str(server.data_dir))
    room = f"viewer-{uuid.uuid4().hex[:8]}"
    owner = await asyncio.to_thread(nbrealtime.connect, room, user="ann")  # invite-only, ann's; ben may only watch
    invite = await asyncio.to_thread(owner.invite, "viewer")
    ben = await asyncio.to_thread(nbrealtime.connect, invite=invite, user="ben")  # as ben's server signs in
    ann_lab, ben_lab = (Lab(machine, browser, server, request.node.name) for machine in machines)
    try:
        path = ann_lab.jupyter.write_notebook(f"{room}-watched", ["total = 1", "print(total)"])
        assert (await asyncio.to_thread(api, machines[0], "POST", f"{room}/notebooks", json={"path": path})).is_success
        opened = await asyncio.to_thread(api, machines[1], "POST", f"{room}/notebooks/{path}/open")
        assert opened.status_code == 200 and opened.json()["read_only"] is True, opened.text
        listed = (await asyncio.to_thread(api, machines[1], "GET", f"{room}/notebooks")).json()
        assert [(item["live"], item["read_only"]) for item in listed] == [(True, True)]
        editor, viewer = await asyncio.gather(ann_lab.open(path, run=False), ben_lab.open(path, run=False))

        await type_in_cell(editor, 0, "  # from ann")
        await viewer.until(f"() => {MODEL}.cells[0].getSource().includes('# from ann')", what="ann's typing")

        # ben's browser changes his copy (the lab extension keeps a viewer's cells read-only, see test_lab_notebooks.py:
        # this is a browser without it, or a modified one): it lands in his server's document and file, no further
        await viewer.js(f"() => {MODEL}.cells[0].setSource({MODEL}.cells[0].getSource() + '  # VIEWER TYPED')")
        await asyncio.to_thread(
            until_on_disk, machines[1].root / path, lambda c: "VIEWER" in "".join(c["cells"][0]["source"]),
            machines[1], "ben's typing on ben's disk",
        )  # fmt: skip

        # a modified client of ben's sends an update straight to the room's channel and into its update log
        copy = await asyncio.to_thread(ben.notebook, path)
        before = copy.state_vector()
        with copy.lock, copy.doc.transaction():
            copy.ynotebook.ycells[1]["source"].insert(0, "INJECTED ")
        update = copy.doc.get_update(before)
        ben.broadcast(NOTEBOOK_EVENT, {"notebook": copy.id, "update": b64(update)})
        row = {"room": room, "notebook": copy.id, "data": b64(update)}
        with pytest.raises(APIError):
            await asyncio.to_thread(ben.call, ben.rest("nbrt_notebook_updates").insert(row).execute(), 15)

        # ann types again; once that reaches ben, whatever ben sent earlier had its chance to reach ann
        await type_in_cell(editor, 1, "  # ann again")
        await viewer.until(f"() => {MODEL}.cells[1].getSource().includes('# ann again')", what="ann's second edit")
        text = await editor.js(f"() => {MODEL}.cells.map((cell) => cell.getSource()).join('\\n')")
        assert "VIEWER" not in text and "INJECTED" not in text
        logged = await asyncio.to_thread(owner.call, owner.rest("nbrt_notebook_updates").select("author")
                                         .eq("room", room).execute(), 15)  # fmt: skip
        assert ben.me.id not in {row["author"] for row in logged.data}, "no update of ben's reached the log"
    finally:
        for lab in (ann_lab, ben_lab):
            await lab.close()
        for joined in (owner, ben):
            await asyncio.to_thread(joined.close)


async def test_a_large_output_run_in_one_browser_reaches_the_other_as_a_placeholder(
    machines: list[JupyterLab], browser: Any, server: ServerProcess, request: pytest.FixtureRequest
) -> None:
    ann_lab, ben_lab = (Lab(machine, browser, server, request.node.name) for machine in machines)
    ben_lab.room = room = ann_lab.room
    marker = uuid.uuid4().hex
    try:
        path = ann_lab.jupyter.write_notebook(f"{room}-plots", ["x = 1"])
        assert (await asyncio.to_thread(api, machines[0], "POST", f"{room}/notebooks", json={"path": path})).is_success
        assert (await asyncio.to_thread(api, machines[1], "POST", f"{room}/notebooks/{path}/open")).is_success
        ann, ben = await asyncio.gather(ann_lab.open(path, run=False), ben_lab.open(path, run=False))
        image = f"'{marker[::-1]}'[::-1] + base64.b64encode(os.urandom(1_200_000)).decode()"  # only the output has it
        await ann.run(
            f"import base64, os\nfrom IPython.display import display\ndisplay({{'image/png': {image}}}, raw=True)"
        )

        about = await ben.until(
            f"""(mime) => {{
                const outputs = {MODEL}.cells.flatMap((cell) => cell.outputs || []);
                const found = outputs.find((output) => output.data && output.data[mime]);
                return found && found.data[mime];
            }}""",
            OMITTED_MIME,
            what="the placeholder on ben's page",
        )
        assert about["origin"].startswith("jupyter:") and about["ran_by"] == "ann" and about["bytes"] > 1_600_000
        held = await ann.js(f"() => JSON.stringify({MODEL}.toJSON())")
        assert marker not in held, "ann's own document holds the placeholder too (her server serves the original)"
        for lab in machines:  # ann's server from memory, ben's from the room
            fetched = await asyncio.to_thread(
                api, lab, "GET", f"{room}/notebooks/{about['notebook']}/outputs/{about['id']}"
            )
            assert fetched.status_code == 200 and fetched.json()["data"]["image/png"].startswith(marker)
        for table, column in (("nbrt_notebook_updates", "data"), ("nbrt_notebooks", "snapshot")):
            for row in await asyncio.to_thread(stored_rows, server, table, room):
                assert marker.encode() not in base64.b64decode(row[column] or ""), f"{table} carries the output"
    finally:
        for lab in (ann_lab, ben_lab):
            await lab.close()
