"""Fixtures of the real-browser tests over ``harness.py`` (Debian's Chromium, Playwright, JupyterLab).

Session-scoped (expensive): one embedded ``nbrealtime serve`` (this folder's ``server``), one JupyterLab whose
kernels find that server through ``$NBREALTIME_DATA_DIR``, one Chromium. Per test (cheap): a unique room name,
generated notebooks, one browser context per participant, and every kernel shut down afterwards (their rooms close
at kernel exit, so nobody lingers in the next test's presence).

Waiting is always on a condition with a deadline (``page.wait_for_function`` on ``window.__nbrt`` predicates from
``pagehelpers.js``, Playwright's auto-waiting ``expect``), never a fixed sleep. A missing Chromium, Playwright or
JupyterLab is a setup failure, not a skip. With ``NBRT_SCREENSHOT_DIR`` set, :meth:`NotebookPage.screenshot` writes
PNGs there.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from nbrealtime.launcher import ServerProcess, start_server
from tests.browser.harness import HarnessError, JupyterLab, Lab, launch_chromium, require_tools
from tests.browser.labui import People, nbrealtime_tracebacks, people_of, start_machines


@contextlib.contextmanager
def _setup_failure() -> Iterator[None]:
    """A harness that cannot run fails the test setup with its one-paragraph reason (no traceback)."""
    try:
        yield
    except HarnessError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One embedded server for the whole folder (JupyterLab's kernels are pointed at it when JupyterLab starts);
    tests stay apart by using their own room names."""
    process = start_server(tmp_path_factory.mktemp("nbrt-server"))
    yield process
    process.stop()


@pytest.fixture(scope="session")
def jupyter_lab(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    with _setup_failure():
        require_tools()
        lab = JupyterLab.in_home(tmp_path_factory.mktemp("jupyterlab"), server)
    yield lab
    lab.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    with _setup_failure():
        require_tools()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        with _setup_failure():
            chromium = await launch_chromium(playwright)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def lab(
    jupyter_lab: JupyterLab, browser: Any, server: ServerProcess, request: pytest.FixtureRequest
) -> AsyncIterator[Lab]:
    opened = Lab(jupyter_lab, browser, server, request.node.name)
    try:
        yield opened
    finally:
        for page in opened.pages:
            if page.errors:
                print(f"{page.path}: {len(page.errors)} browser errors, last: {page.errors[-5:]}")
        await opened.close()
    caused = {page.path: page.nbrt_errors for page in opened.pages if page.nbrt_errors}
    if caused:
        pytest.fail(f"browser errors caused by nbrealtime: {caused}", pytrace=False)


@pytest.fixture(scope="module")
def lab_machines(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, JupyterLab]]:
    """The lab extension's tests (#16): a JupyterLab per user (alice, bob), shared by a module's tests; once stopped,
    neither may have logged a traceback through nbrealtime (the lab API answers every error in one sentence)."""
    with _setup_failure():
        require_tools()
    running = start_machines(server, tmp_path_factory)
    labs = next(running)
    yield labs
    next(running, None)  # stops them
    ours = [block for lab in labs.values() for block in nbrealtime_tracebacks(lab.log_path.read_text(errors="replace"))]
    assert not ours, "\n\n".join(ours)


@pytest_asyncio.fixture(loop_scope="session")
async def people(
    lab_machines: dict[str, JupyterLab], browser: Any, env: dict[str, str], request: pytest.FixtureRequest
) -> AsyncIterator[People]:
    async for opened in people_of(lab_machines, browser, env, request.node.name):
        yield opened
