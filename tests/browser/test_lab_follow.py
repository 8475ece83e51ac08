"""Follow mode, presenter mode and people in the notebook, in real browsers: three people (ann, ben, cy) on three
JupyterLab servers ("machines") with nbrealtime's lab extension, one embedded server, shared room notebooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from nbrealtime.launcher import ServerProcess
from tests.browser.harness import JupyterLab, NotebookPage
from tests.browser.lab_team import SIDEBAR, Team, make_team, start_team_machines

pytestmark = [pytest.mark.lab_ui, pytest.mark.asyncio(loop_scope="session")]

TALK = ["# the talk", "x = 1", "y = x + 1", "print(y)"]


@pytest.fixture(scope="module")
def machines(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, JupyterLab]]:
    yield from start_team_machines(server, tmp_path_factory, ("fia", "gus", "hal"))


@pytest_asyncio.fixture(loop_scope="session")
async def team(
    machines: dict[str, JupyterLab],
    browser: Any,
    server: ServerProcess,
    env: dict[str, str],
    request: pytest.FixtureRequest,
) -> AsyncIterator[Team]:
    """The room (made by ann's kernel in this process, on the test server that ``env`` points it at)."""
    async for team in make_team(machines, browser, server, request.node.name, {"ben": "editor", "cy": "editor"}):
        yield team


async def view(page: NotebookPage) -> dict:
    return await page.js("() => window.__lab.view()")


async def click_cell(page: NotebookPage, index: int) -> str:
    """Select the cell at ``index`` as a person does (a click on its prompt); its id."""
    panel = await page.js("() => window.jupyterapp.shell.currentWidget.id")
    await page.page.locator(f"[id='{panel}'] .jp-Notebook .jp-Cell").nth(index).locator(".jp-InputPrompt").click()
    return await page.until(
        "(index) => { const v = window.__lab.view(); return v && v.active === v.cells[index] && v.active; }",
        index,
        what=f"cell {index} to be active",
    )


async def follows(page: NotebookPage, path: str, cell: str, what: str) -> None:
    """Wait until ``page`` shows ``path`` with ``cell`` active and highlighted as the followed one."""
    await page.until(
        "([path, cell]) => { const v = window.__lab.view();"
        " return v && v.path === path && v.active === cell && v.followed === cell; }",
        [path, cell],
        what=what,
    )


async def bar(page: NotebookPage, text: str | None, *, resume: bool = False) -> None:
    await page.until(
        "([text, resume]) => { const b = window.__lab.bar();"
        " return text === null ? b === null : b !== null && b.text === text && b.resume === resume; }",
        [text, resume],
        what=f"the follow bar to read {text!r}",
    )


async def where_in_sidebar(page: NotebookPage, team: Team, user: str, text: str) -> None:
    """Wait until ``page``'s sidebar says where ``user`` is with ``text`` in it (their room frame arrived)."""
    await page.until(
        f"([room, id, text]) => {{ const row = document.querySelector("
        f"`{SIDEBAR} [data-room='${{room}}'] li[data-user='${{id}}'] .nbrt-lab-where`);"
        " return !!row && row.textContent.includes(text); }",
        [team.room, team.ids[user], text],
        what=f"the sidebar to show {user} at {text}",
    )


async def in_theme(page: NotebookPage, theme: str) -> None:
    await page.js("(theme) => window.__lab.command('apputils:change-theme', {theme})", theme)
    # and its splash screen gone: JupyterLab removes it on a timer, which fails if a second change showed it again
    await page.until(
        "(theme) => document.body.dataset.jpThemeName === theme && !document.getElementById('jupyterlab-splash')",
        theme,
        what=f"the {theme} theme",
    )


async def follow_in_sidebar(page: NotebookPage, team: Team, user: str) -> None:
    member = page.page.locator(f"{SIDEBAR} [data-room='{team.room}'] li[data-user='{team.ids[user]}']")
    await member.locator("button.nbrt-lab-member-main").click()


async def test_following_a_colleague_on_another_server_through_cell_and_notebook_moves(team: Team) -> None:
    talk = await asyncio.to_thread(team.share, "ann", "talk", TALK)
    second = await asyncio.to_thread(team.share, "ann", "second", ["a = 1", "b = 2", "c = 3"])
    scratch = team.machines["ben"].write_notebook(f"{team.room}-scratch", ["print('my own work')"])
    ann, ben = await asyncio.gather(team.page("ann", talk), team.page("ben", scratch))
    cells = (await view(ann))["cells"]

    # ben follows ann from the sidebar: the room notebook opens on his server (it was not there) at her cell
    at = await click_cell(ann, 2)
    await follow_in_sidebar(ben, team, "ann")
    await follows(ben, talk, at, "ben's view to open the talk at ann's cell")
    await bar(ben, f"Following {team.names['ann']}")

    # she moves; a cell she adds and steps into may reach ben's server after her position does
    await follows(ben, talk, await click_cell(ann, 0), "ben's view to follow ann to the first cell")
    await ann.page.keyboard.press("Escape")
    await click_cell(ann, 3)
    await ann.page.keyboard.press("b")
    added = await ann.until(
        "(before) => { const v = window.__lab.view(); return v.cells.length > before && v.active; }",
        len(cells),
        what="ann's new cell",
    )
    await follows(ben, talk, added, "ben's view to follow ann into the cell she added")

    # another room notebook: ann opens it, ben's view goes along
    await ann.js("(path) => window.__lab.command('docmanager:open', {path})", second)
    await ann.until("(path) => window.__lab.view()?.path === path", second, what="ann's second notebook")
    await follows(ben, second, await click_cell(ann, 1), "ben's view to follow ann into the second notebook")

    # a click of ben's own stops following: ann moves on without him
    await ben.screenshot(ben.page.locator("#main"), "lab-follow-light")
    mine = await click_cell(ben, 0)
    await bar(ben, f"Stopped following {team.names['ann']}", resume=True)
    await click_cell(ann, 2)
    await where_in_sidebar(ben, team, "ann", "cell 3")
    still = await view(ben)
    assert still["active"] == mine and still["followed"] is None

    # Resume catches up with her; a key pressed in the notebook stops it again; Stop ends it
    await ben.page.locator(".nbrt-follow-resume").click()
    await follows(ben, second, (await view(ann))["active"], "ben's view to catch up with ann after Resume")
    await bar(ben, f"Following {team.names['ann']}")
    await in_theme(ben, "JupyterLab Dark")
    await ben.screenshot(ben.page.locator("#main"), "lab-follow-dark")
    await in_theme(ben, "JupyterLab Light")
    await ben.js("() => window.jupyterapp.shell.currentWidget.content.node.focus()")
    await ben.page.keyboard.press("ArrowUp")
    await bar(ben, f"Stopped following {team.names['ann']}", resume=True)
    await ben.page.locator(".nbrt-follow-resume").click()
    await bar(ben, f"Following {team.names['ann']}")
    box = await ben.page.locator(
        f"[id='{await ben.js('() => window.jupyterapp.shell.currentWidget.id')}']"
    ).bounding_box()
    await ben.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await ben.page.mouse.wheel(0, 300)
    await bar(ben, f"Stopped following {team.names['ann']}", resume=True)
    await ben.page.locator(".nbrt-follow-stop").click()
    await bar(ben, None)


async def test_a_presenter_is_followed_by_one_and_declined_by_another(team: Team) -> None:
    talk = await asyncio.to_thread(team.share, "ann", "talk", TALK)
    pages = await asyncio.gather(
        team.page("ann", talk),
        *(
            team.page(user, team.machines[user].write_notebook(f"{team.room}-{user}-own", ["1 + 1"]))
            for user in ("ben", "cy")
        ),
    )
    ann, ben, cy = pages
    own_of_cy = (await view(cy))["path"]
    at = await click_cell(ann, 1)

    await ann.js("(room) => window.__lab.command('nbrealtime:present', {room})", team.room)
    question = f"{team.names['ann']} is presenting in {team.room}"
    toasts = {page: page.page.locator(".jp-Notification-Toast-info", has_text=question) for page in (ben, cy)}
    for toast in toasts.values():
        await toast.wait_for()
    await toasts[ben].get_by_role("button", name="Follow").click()
    await toasts[cy].get_by_role("button", name="Decline").click()
    await follows(ben, talk, at, "ben following the presenter")
    await bar(ben, f"Following {team.names['ann']}")
    await toasts[cy].wait_for(state="detached")

    await follows(ben, talk, await click_cell(ann, 3), "ben following the presenter to another cell")
    await where_in_sidebar(cy, team, "ann", "talk.ipynb")
    cy_view = await view(cy)
    assert cy_view["path"] == own_of_cy and cy_view["followed"] is None
    assert await cy.js("() => window.__lab.bar()") is None

    # presenting stops: ben stops following, nobody is asked any more
    await ann.js("(room) => window.__lab.command('nbrealtime:present', {room})", team.room)
    await bar(ben, None)
    await ben.until("() => window.__lab.view().followed === null", what="ben's highlight to go")
    assert await ann.js("() => window.__lab.bar()") is None


async def test_other_peoples_cells_and_who_ran_a_cell_show_on_another_server(team: Team) -> None:
    talk = await asyncio.to_thread(team.share, "ann", "talk", TALK)
    on_ben = await asyncio.to_thread(team.open_here, "ben", talk)
    ann, ben = await asyncio.gather(team.page("ann", talk), team.page("ben", on_ben, kernel=True))

    there = await click_cell(ben, 1)
    markers = await ann.until(
        "([cell, name]) => { const p = window.__lab.people(); return p[cell] && p[cell].includes(name) && p; }",
        [there, team.names["ben"]],
        what="ben's marker on his cell in ann's notebook",
    )
    assert markers == {there: [team.names["ben"]]}
    color = await ann.js(
        "() => getComputedStyle(document.querySelector('.nbrt-cell-person')).getPropertyValue('--nbrt-person-color')"
    )
    assert color.strip() == team.colors["ben"]
    ann_at = (await view(ann))["active"]
    seen_by_ben = await ben.until(
        "(cell) => { const p = window.__lab.people(); return p[cell] && p; }", ann_at, what="ann's marker for ben"
    )
    assert seen_by_ben == {ann_at: [team.names["ann"]]}, "each sees the others' markers, never their own"

    # ben runs the second cell in his own kernel: ann's copy says who ran it
    await ben.page.keyboard.press("Shift+Enter")
    stamp = await ann.until(
        "(cell) => (window.__lab.ranBy()[cell] || [])[0]", there, what="'ran by ben' on the cell in ann's notebook"
    )
    assert stamp.startswith(f"ran by {team.names['ben']}")
    await ann.until(
        "([cell, name]) => { const p = window.__lab.people();"
        " return !p[cell] && Object.values(p).flat().includes(name); }",
        [there, team.names["ben"]],
        what="ben's marker to move on with his active cell",
    )
