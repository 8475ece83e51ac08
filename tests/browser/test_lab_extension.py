"""The lab extension (#16) where it runs and where it does not: it loads in JupyterLab 4 and in Notebook 7 (the room
sidebar and nbrealtime's notifications there too), and with it disabled the widgets keep working as before."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import expect

from nbrealtime.launcher import ServerProcess
from tests.browser.harness import LAB_EXTENSION, JupyterLab, Lab
from tests.browser.labui import SIDEBAR, People

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.lab_ui]

PLUGINS = ("state", "navigator", "sidebar", "notifications", "where")
RECORD_LIVE_STATUS = """() => {
  const line = document.querySelector('.nbrt-lab-live');
  window.__liveSeen = [];
  new MutationObserver(() => window.__liveSeen.push(line.dataset.status)).observe(line, {attributes: true});
}"""
ACTIVATED = "(ids) => ids.every((id) => window.jupyterapp.isPluginActivated(id))"


@pytest.fixture(scope="module")
def notebook7(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """Notebook 7 (``jupyter notebook``) signed in as alice, beside the module's JupyterLabs."""
    notebook = JupyterLab.in_home(tmp_path_factory.mktemp("notebook7"), server, "alice", app="notebook")
    yield notebook
    notebook.stop()


@pytest.fixture(scope="module")
def lab_without_extension(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    lab = JupyterLab.in_home(tmp_path_factory.mktemp("no-extension"), server, lab_extension=False)
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def lab_without_server_extension(
    server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterLab]:
    lab = JupyterLab.in_home(tmp_path_factory.mktemp("no-server-extension"), server, "alice", server_extension=False)
    yield lab
    lab.stop()


async def test_jupyterlab_4_activates_every_plugin_of_the_extension(people: People) -> None:
    alice = await people.lab("alice")
    assert await alice.js(ACTIVATED, [f"{LAB_EXTENSION}:{plugin}" for plugin in PLUGINS])
    await expect(alice.sidebar.get_by_role("heading", name="Rooms")).to_be_visible()
    await expect(alice.sidebar.locator(".nbrt-lab-live")).to_have_text("Live")


async def test_the_sidebar_reconnects_after_its_jupyter_server_restarts(people: People) -> None:
    await people.kernel("alice")
    alice = await people.lab("alice")
    live = alice.sidebar.locator(".nbrt-lab-live")
    await expect(live).to_have_text("Live")
    await expect(alice.room(people.room_name)).to_be_visible()
    await alice.js(RECORD_LIVE_STATUS)
    await asyncio.to_thread(people.machines["alice"].restart)
    await alice.until("() => window.__liveSeen.includes('closed')", what="the sidebar to see its server go")
    await expect(live).to_have_text("Live")  # back on the same port, without a reload
    await expect(alice.member(people.room_name, "alice")).to_have_attribute("data-status", "online")
    assert (await alice.js("() => window.__liveSeen"))[-1] == "open"
    alice.expected_error("nbrealtime/api/live", required=False)  # a retry while the server was down


async def test_notebook_7_shows_the_room_sidebar_and_nbrealtime_notifications(
    people: People, notebook7: JupyterLab
) -> None:
    alice_kernel = await people.kernel("alice")
    carol = await people.kernel("carol", invite=await asyncio.to_thread(alice_kernel.invite, "editor"))
    path = notebook7.write_notebook("plain", ["1 + 1"])
    alice = await people.lab("alice", jupyter=notebook7, url=f"/notebooks/{path}", sidebar=False)
    assert await alice.js(ACTIVATED, [f"{LAB_EXTENSION}:{plugin}" for plugin in PLUGINS])
    await alice.js("(id) => window.jupyterapp.shell.activateById(id)", SIDEBAR)
    await expect(alice.sidebar).to_be_visible()
    await expect(alice.member(people.room_name, "carol")).to_contain_text("caroleditor")
    await asyncio.to_thread(carol.notify, "alice", "Hello from carol", "in Notebook 7")
    await expect(alice.page.locator(".Toastify__toast", has_text="Hello from carol")).to_be_visible()


async def test_without_the_lab_extension_the_widgets_keep_working(
    lab_without_extension: JupyterLab, browser: Any, server: ServerProcess, request: pytest.FixtureRequest
) -> None:
    lab = Lab(lab_without_extension, browser, server, request.node.name)
    try:
        page = await lab.open(lab.notebook("alice", "alice", "room.panel()"))
        assert not await page.js("(id) => window.jupyterapp.hasPlugin(id)", f"{LAB_EXTENSION}:state")
        await page.until("() => window.__nbrt.memberStatus('alice') === 'online'", what="alice online in the panel")
        await expect(page.page.locator(".nbrt-room-panel")).to_be_visible()
        await expect(page.page.locator(f"#{SIDEBAR}")).to_have_count(0)
        assert page.nbrt_errors == []
    finally:
        await lab.close()


async def test_a_jupyter_server_without_the_lab_api_is_said_once_in_the_sidebar(
    people: People, lab_without_server_extension: JupyterLab
) -> None:
    alice = await people.lab("alice", jupyter=lab_without_server_extension)
    await expect(alice.sidebar.locator(".nbrt-lab-live")).to_have_text(
        "Not available: this Jupyter server has no nbrealtime lab API (pip install 'nbrealtime[lab]')"
    )
    await expect(alice.sidebar.locator(".nbrt-lab-empty")).to_have_text("You are in no room yet.")
    alice.expected_error("status of 404 (Not Found)")  # the one probe of /nbrealtime/api/me; no websocket tried
    assert not [error for error in alice.errors if "WebSocket" in error]
