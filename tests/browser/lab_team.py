"""A room of three people, each on their own JupyterLab "machine" with nbrealtime's lab extension, for the lab
extension's browser tests: the first ("ann" to the tests) owns the room; the others ("ben", "cy") joined through the
lab API by invite. Each person gets Chromium pages through a harness :class:`Lab` of their machine, with
``labhelpers.js`` (``window.__lab``) injected.

Each test module signs its people in under names of its own: a user is a member of every room of the earlier tests,
and a JupyterLab joins all of its user's rooms when its page connects.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import nbrealtime
from nbrealtime.launcher import ServerProcess
from tests.browser.harness import JupyterLab, Lab, NotebookPage
from tests.jupyter.support import api, lab_api, start_machines

HELPERS = Path(__file__).with_name("labhelpers.js")
PEOPLE = ("ann", "ben", "cy")
"""How the tests call the three people, whatever names they sign in with."""
SIDEBAR = "#nbrealtime-rooms"


@dataclass
class Team:
    room: str
    machines: dict[str, JupyterLab]
    labs: dict[str, Lab]
    ids: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    colors: dict[str, str] = field(default_factory=dict)

    def share(self, user: str, name: str, cells: list[str]) -> str:
        """A notebook written on ``user``'s machine and shared in the room through their lab API; its path."""
        machine = self.machines[user]
        path = machine.write_notebook(f"{self.room}-{name}", cells)
        shared = api(machine, "POST", f"{self.room}/notebooks", json={"path": path})
        assert shared.status_code == 201, shared.text
        return path

    def open_here(self, user: str, path: str) -> str:
        """The room notebook named ``path`` made a file on ``user``'s machine (the API call); its path there."""
        opened = api(self.machines[user], "POST", f"{self.room}/notebooks/{path}/open")
        assert opened.status_code == 200, opened.text
        return opened.json()["path"]

    async def page(self, user: str, path: str, *, kernel: bool = False) -> NotebookPage:
        """A browser of ``user`` with ``path`` open (``kernel``: and its kernel idle), the room in the sidebar."""
        page = await self.labs[user].open(path, run=False, kernel=kernel)
        await page.js("() => window.jupyterapp.shell.activateById('nbrealtime-rooms')")
        await page.until(
            f"(room) => !!document.querySelector(`{SIDEBAR} [data-room='${{room}}'] .nbrt-lab-member`)",
            self.room,
            what=f"{user}'s sidebar to list the room",
        )
        return page

    def browser_errors(self) -> dict[str, list[str]]:
        return {page.path: page.errors for lab in self.labs.values() for page in lab.pages if page.errors}

    async def close(self) -> None:
        for lab in self.labs.values():
            await lab.close()


def start_team_machines(
    server: ServerProcess, tmp_path_factory: pytest.TempPathFactory, names: tuple[str, str, str]
) -> Iterator[dict[str, JupyterLab]]:
    """A fixture body: the three people's JupyterLabs, signed in as ``names``, by what the tests call them."""
    for machines in start_machines(server, tmp_path_factory, names):
        yield dict(zip(PEOPLE, machines, strict=True))


async def make_team(
    machines: dict[str, JupyterLab], browser: Any, server: ServerProcess, test_name: str, roles: dict[str, str]
) -> AsyncIterator[Team]:
    """A fixture body: ann's kernel makes the room (she owns it), invites the others with ``roles`` and leaves; at the
    end, any console error of the pages fails the test."""
    owner_name = (await asyncio.to_thread(lab_api, machines["ann"], "GET", "me")).json()["name"]
    owner = await asyncio.to_thread(nbrealtime.connect, f"lab-{uuid.uuid4().hex[:8]}", user=owner_name)
    try:
        for user, role in roles.items():
            joined = await asyncio.to_thread(
                lab_api, machines[user], "POST", "rooms/join", json={"invite": str(owner.invite(role))}
            )
            assert joined.status_code == 200, joined.text
    finally:
        await asyncio.to_thread(owner.close)
    team = Team(owner.name, machines, {})
    for user, machine in machines.items():
        me = (await asyncio.to_thread(lab_api, machine, "GET", "me")).json()
        team.ids[user], team.names[user], team.colors[user] = me["user_id"], me["name"], me["color"]
        team.labs[user] = Lab(machine, browser, server, test_name, (HELPERS,))
        team.labs[user].room = team.room
    try:
        yield team
    finally:
        errors = team.browser_errors()
        await team.close()
    assert not errors, f"browser console errors: {errors}"
