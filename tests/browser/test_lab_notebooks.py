"""Room notebooks in JupyterLab, in real browsers on three JupyterLab servers with nbrealtime's lab extension: the
"Share notebook in a room…" and "Open a shared notebook…" commands, a viewer's read-only notebook, and the
placeholder of a large output."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from nbrealtime.launcher import ServerProcess
from tests.browser.harness import JupyterLab, NotebookPage
from tests.browser.lab_team import Team, make_team, start_team_machines
from tests.jupyter.support import api

pytestmark = [pytest.mark.lab_ui, pytest.mark.shared_notebook, pytest.mark.asyncio(loop_scope="session")]

OMITTED = "application/vnd.nbrealtime.omitted+json"


@pytest.fixture(scope="module")
def machines(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, JupyterLab]]:
    yield from start_team_machines(server, tmp_path_factory, ("dee", "eli", "fay"))


@pytest_asyncio.fixture(loop_scope="session")
async def team(
    machines: dict[str, JupyterLab],
    browser: Any,
    server: ServerProcess,
    env: dict[str, str],
    request: pytest.FixtureRequest,
) -> AsyncIterator[Team]:
    """Ann's room (made by her kernel in this process): ben an editor, cy a viewer."""
    async for team in make_team(machines, browser, server, request.node.name, {"ben": "editor", "cy": "viewer"}):
        yield team


async def choose(page: NotebookPage, label: str, option: str) -> None:
    """Answer JupyterLab's "pick one" dialog titled ``label``: the first option that starts with ``option``."""
    title = page.page.locator(".jp-Dialog-header", has_text=re.compile(f"^{re.escape(label)}$"))
    dialog = page.page.locator(".jp-Dialog").filter(has=title)
    select = dialog.locator("select")
    await select.locator("option").first.wait_for(state="attached")
    options = await select.locator("option").all_text_contents()
    chosen = next((text for text in options if text.startswith(option)), None)
    assert chosen is not None, f"{option!r} is not offered in {label!r}: {options}"
    await select.select_option(label=chosen)
    await dialog.locator("button.jp-mod-accept").click()
    await dialog.wait_for(state="detached")


async def toast(page: NotebookPage, text: str) -> str:
    found = page.page.locator(".jp-toast-message", has_text=text)
    await found.first.wait_for()
    return await found.first.text_content() or ""


async def test_sharing_by_command_and_opening_by_command_on_another_server(team: Team) -> None:
    ann_machine, ben_machine = team.machines["ann"], team.machines["ben"]
    report = ann_machine.write_notebook(f"{team.room}-report", ["r = 1", "print(r)"])
    ben_machine.write_notebook(f"{team.room}-report", ["print('ben has his own report')"])
    scratch = ben_machine.write_notebook(f"{team.room}-scratch", ["1 + 1"])
    ann, ben = await asyncio.gather(team.page("ann", report), team.page("ben", scratch))

    # ann shares the notebook in front of her, from the notebook toolbar's Share button
    await ann.page.locator(".jp-NotebookPanel-toolbar [data-jp-item-name='nbrealtime-share'] button").click()
    await choose(ann, "Share notebook in a room", team.room)
    assert (await toast(ann, "is shared in")) == f"{report} is shared in {team.room}."
    listed = (await asyncio.to_thread(api, ann_machine, "GET", f"{team.room}/notebooks")).json()
    assert [(item["name"], item["path"]) for item in listed] == [(report, report)]

    # ben opens it from the palette command; his own file of that name is kept aside, and he is told so
    await ben.js("() => window.__lab.command('nbrealtime:open-shared-notebook')")
    await choose(ben, "Open a shared notebook", team.room)
    await choose(ben, f"Open a shared notebook from {team.room}", report)
    await ben.until("(path) => window.__lab.view()?.path === path", report, what="ben's copy of the report")
    await ben.until(
        "(want) => JSON.stringify(window.__lab.sources()) === JSON.stringify(want)",
        ["r = 1", "print(r)"],
        what="the room's cells in ben's copy",
    )
    kept = await toast(ben, "is kept as")
    aside = kept.split("is kept as ", 1)[1].rstrip(".")
    assert kept == f"Your own {report} was different: it is kept as {aside}."
    own = json.loads((ben_machine.root / aside).read_text())
    assert ["".join(cell["source"]) for cell in own["cells"]] == ["print('ben has his own report')"]


async def test_a_viewer_gets_the_room_notebook_read_only_with_a_banner(team: Team) -> None:
    lesson = await asyncio.to_thread(team.share, "ann", "lesson", ["lesson = 'intro'", "print(lesson)"])
    on_cy = await asyncio.to_thread(team.open_here, "cy", lesson)
    ann, cy = await asyncio.gather(team.page("ann", lesson), team.page("cy", on_cy))
    banner = await cy.until("() => window.__lab.banner()", what="the read-only banner")
    assert banner == f"Read-only: you are a viewer in {team.room}"
    assert await ann.js("() => window.__lab.banner()") is None, "the owner's copy is editable"

    # cy types into a cell, and in command mode tries to add, delete and run cells: nothing changes
    panel = await cy.js("() => window.jupyterapp.shell.currentWidget.id")
    cells = cy.page.locator(f"[id='{panel}'] .jp-Notebook .jp-Cell")
    await cells.nth(0).locator(".cm-content").click()
    await cy.page.keyboard.type("# cy was here", delay=20)
    await cy.page.keyboard.press("Escape")
    for key in ("a", "b", "d", "d", "x", "Shift+Enter"):
        await cy.page.keyboard.press(key)
    assert await cy.js("() => window.__lab.sources()") == ["lesson = 'intro'", "print(lesson)"]

    # what ann types still reaches cy's copy (so the copy is live, only not editable here), and nothing of cy's
    # reaches ann's
    ann_cells = ann.page.locator(".jp-Notebook .jp-Cell")
    await ann_cells.nth(1).locator(".cm-content").click()
    await ann.page.keyboard.press("Control+End")
    await ann.page.keyboard.type("  # from ann", delay=20)
    await cy.until(
        "() => window.__lab.sources()[1] === 'print(lesson)  # from ann'", what="ann's typing in cy's read-only copy"
    )
    assert await cy.js("() => window.__lab.sources()") == ["lesson = 'intro'", "print(lesson)  # from ann"]
    assert await ann.js("() => window.__lab.sources()") == ["lesson = 'intro'", "print(lesson)  # from ann"]


async def test_a_large_output_placeholder_says_what_was_left_out(team: Team) -> None:
    page = await team.page("ann", team.machines["ann"].write_notebook(f"{team.room}-plot", ["plot()"]))
    omitted = {
        "id": "out-1",
        "room": team.room,
        "notebook": "nb-1",
        "bytes": 3_210_000,
        "mime_types": ["image/png"],
        "ran_by": "<b>ben</b>",
        "origin": "another-server",
    }
    await page.js(
        """([mime, omitted]) => {
            const cell = window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells[0];
            cell.setOutputs([{output_type: 'display_data', metadata: {},
                              data: {[mime]: omitted, 'text/plain': 'a large output (image/png)'}}]);
        }""",
        [OMITTED, omitted],
    )
    placeholder = page.page.locator(".nbrt-omitted-placeholder")
    await placeholder.wait_for()
    assert await placeholder.locator(".nbrt-omitted-text").text_content() == (
        "Large output (3.2 MB, image/png) from <b>ben</b>"
    ), "the sender's name is text, never markup"
    assert await placeholder.locator("b").count() == 0
    assert await placeholder.get_by_role("button", name="Load").is_enabled()


async def test_a_large_output_travels_as_a_placeholder_and_loads_in_full(team: Team) -> None:
    big = await asyncio.to_thread(team.share, "ann", "big", ["n = 1_100_000"])
    on_ben = await asyncio.to_thread(team.open_here, "ben", big)
    ann, ben = await asyncio.gather(team.page("ann", big, kernel=True), team.page("ben", on_ben))

    # ann's kernel prints 1.1 MB: her own copy keeps a placeholder too, which loads at once (it came from her server)
    await ann.start("print('x' * 1_100_000, end='')")
    full = (
        "() => { const texts = [...document.querySelectorAll('.nbrt-omitted-output .jp-RenderedText')];"
        " return texts.length ? texts.map((e) => e.textContent.length) : false; }"
    )
    assert await ann.until(full, what="ann's own large output, loaded at once") == [1_100_000]

    # on ben's server it is a placeholder that says what it is; Load brings the output itself
    placeholder = ben.page.locator(".nbrt-omitted-placeholder")
    await placeholder.wait_for()
    assert await placeholder.locator(".nbrt-omitted-text").text_content() == (
        f"Large output (1.1 MB, text/plain (stdout)) from {team.names['ann']}"
    )
    await placeholder.get_by_role("button", name="Load").click()
    assert await ben.until(full, what="the large output on ben's page after Load") == [1_100_000]
