"""The lab extension in the real browser (issue #16): JupyterLab servers signed in as different users ("machines")
against the folder's embedded server, a page per person showing JupyterLab itself (the extension needs no notebook
open), the room sidebar found by its accessible names, and JupyterLab's own notification centre.

A person's kernel is this test process's ``nbrealtime.connect(..., user=…)`` (the same identity as that user's
JupyterLab: one data dir); a third person is a kernel only. Waiting is Playwright's
auto-waiting ``expect`` and event-driven waits with deadlines, never a sleep.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from playwright.async_api import expect

import nbrealtime
from nbrealtime.features.room import Room
from nbrealtime.launcher import ServerProcess
from tests.browser.harness import HELPERS, KERNEL_MS, VIEWPORT, WAIT_MS, HarnessError, JupyterLab, NotebookPage
from tests.client.support import WAIT
from tests.jupyter.support import lab_api

USERS = ("alice", "bob")
SIDEBAR = "nbrealtime-rooms"
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def start_machines(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, JupyterLab]]:
    """A fixture body: one JupyterLab per user, each in its own home and root dir (two "machines"); stopped after."""
    labs: dict[str, JupyterLab] = {}
    try:
        for user in USERS:
            try:
                labs[user] = JupyterLab.in_home(tmp_path_factory.mktemp(f"lab-{user}"), server, user)
            except HarnessError as error:
                pytest.fail(str(error), pytrace=False)
        yield labs
    finally:
        for lab in labs.values():
            lab.stop()


class LabView(NotebookPage):
    """One person's JupyterLab page with the room sidebar open."""

    @property
    def sidebar(self) -> Any:
        return self.page.locator(f"#{SIDEBAR}")

    def room(self, name: str) -> Any:
        return self.sidebar.locator(f'section.nbrt-lab-room[data-room="{name}"]')

    def member(self, room: str, name: str) -> Any:
        """A member's row, found by the name it shows (plus " (you)" on one's own row)."""
        return (
            self.room(room).locator("li.nbrt-lab-member").filter(has=self.page.locator(".nbrt-lab-name", has_text=name))
        )

    async def join(self, invite: str) -> None:
        field = self.sidebar.get_by_label("Invite link or text to join a room")
        await field.fill(invite)
        await field.press("Enter")

    def expected_error(self, text: str, *, required: bool = True) -> None:
        """Errors the test caused on purpose (the browser logs a refused request, a socket to a stopped server): not
        counted against nbrealtime; ``required``: at least one must be there."""
        matching = [error for error in self.nbrt_errors if text in error]
        assert matching or not required, f"no browser error with {text!r}: {self.errors}"
        self.nbrt_errors = [error for error in self.nbrt_errors if text not in error]

    async def set_theme(self, theme: str) -> None:
        await self.js("(name) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: name})",
                      THEMES[theme])  # fmt: skip
        await self.until("(light) => document.body.dataset.jpThemeLight === light", str(theme == "light").lower(),
                         what=f"the {theme} theme")  # fmt: skip

    def bell(self) -> Any:
        """The notification centre's count in JupyterLab's status bar."""
        return self.page.locator(".jp-Notification-Status")


class People:
    """Who is in a test: JupyterLab pages per user and kernels (rooms opened in this process), in one room."""

    def __init__(self, machines: dict[str, JupyterLab], browser: Any, env: dict[str, str], test_name: str) -> None:
        self.machines = machines
        self.browser = browser
        self.env = env
        slug = re.sub(r"[^A-Za-z0-9]+", "-", test_name).strip("-")[:32]
        self.room_name = f"{slug}-{uuid.uuid4().hex[:6]}"
        self.views: list[LabView] = []
        self.contexts: list[Any] = []
        self.kernels: list[Room] = []

    async def lab(
        self, user: str, *, jupyter: JupyterLab | None = None, url: str = "/lab", sidebar: bool = True
    ) -> LabView:
        """``user``'s JupyterLab (or ``jupyter``, e.g. a Notebook 7 of theirs) in a fresh browser context and
        workspace, the sidebar opened by its tab."""
        context = await self.browser.new_context(viewport=VIEWPORT, permissions=["clipboard-read", "clipboard-write"])
        self.contexts.append(context)
        await context.add_init_script(path=str(HELPERS))
        view = LabView(self, await context.new_page(), f"{user}'s JupyterLab")
        self.views.append(view)
        jupyter = jupyter or self.machines[user]
        target = f"/lab/workspaces/{uuid.uuid4().hex[:10]}" if url == "/lab" else url
        await view.page.goto(f"{jupyter.url}{target}", timeout=KERNEL_MS)
        await view.until("() => window.jupyterapp && window.jupyterapp.started && document.querySelector('#main')",
                         timeout=KERNEL_MS, what="JupyterLab to start")  # fmt: skip
        await view.until("() => document.getElementById('nbrealtime-rooms') !== null", what="the room sidebar")
        if sidebar:
            await view.page.locator(f'.jp-SideBar [data-id="{SIDEBAR}"]').click()
            await view.sidebar.wait_for(state="visible")
        return view

    async def kernel(self, user: str, invite: object = None) -> Room:
        """``user``'s kernel in the test's room (the first one creates it and owns it)."""
        room = await asyncio.to_thread(
            lambda: nbrealtime.connect(self.room_name, user=user, invite=None if invite is None else str(invite))
        )
        self.kernels.append(room)
        return room

    async def read_everything(self, user: str) -> None:
        """Mark ``user``'s notifications read in every room of theirs (earlier tests' rooms included), through their
        JupyterLab's lab API: a test that counts notifications starts from none. Call it before the test's room
        exists: these calls join each room for a while, and a notification sent into a room the server extension is
        still joining can be missed by it (seen under load; see the branch's report)."""
        jupyter = self.machines[user]
        rooms = (await asyncio.to_thread(lab_api, jupyter, "GET", "rooms")).json()
        for room in rooms:
            path = f"rooms/{room['room']}/notifications/read"
            answer = await asyncio.to_thread(lab_api, jupyter, "POST", path, json={"all": True})
            assert answer.status_code == 200 and answer.json()["unread"] == 0, answer.text

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()
        for room in self.kernels:
            await asyncio.to_thread(room.close)


async def people_of(
    machines: dict[str, JupyterLab], browser: Any, env: dict[str, str], test_name: str
) -> AsyncIterator[People]:
    """A fixture body: the test's people; afterwards every page and kernel is closed, and a browser error nbrealtime
    caused fails the test."""
    opened = People(machines, browser, env, test_name)
    # a state that crosses the backend and a second server: the machine is shared, so Playwright's 5 s is too short
    expect.set_options(timeout=WAIT_MS)
    try:
        yield opened
    finally:
        expect.set_options(timeout=None)
        await opened.close()
    caused = {view.path: view.nbrt_errors for view in opened.views if view.nbrt_errors}
    if caused:
        pytest.fail(f"browser errors caused by nbrealtime: {caused}", pytrace=False)


async def unread_count_reaches(room: Room, count: int) -> None:
    """Wait (off the event loop, on the kernel's change events) until ``room`` has ``count`` unread notifications."""

    def wait() -> None:
        changed = threading.Event()
        callback = room.notifications.on_change(lambda _: changed.set())
        try:
            deadline = time.monotonic() + WAIT
            while room.notifications.unread_count != count:
                if not changed.wait(max(0.0, deadline - time.monotonic())):
                    unread = room.notifications.unread_count
                    raise AssertionError(f"{room.me.name}'s kernel kept {unread} unread notifications, not {count}")
                changed.clear()
        finally:
            room.notifications.off_change(callback)

    await asyncio.to_thread(wait)


def nbrealtime_tracebacks(log: str) -> list[str]:
    """The tracebacks in a Jupyter server's log that pass through nbrealtime (jupyter-server-ydoc logs one of its own
    when a server without real-time collaboration stops)."""
    blocks = re.findall(r"Traceback \(most recent call last\):\n(?:[ \t].*\n|\n)*.*", log)
    return [block for block in blocks if "nbrealtime" in block]
