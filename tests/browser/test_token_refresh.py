"""A page left open outlives its access tokens: the kernel refreshes the user's session and hands each new token to the
page's own realtime socket, before the server shuts a channel whose token expired (as Supabase Realtime does).

The backend here signs 6-second tokens, so a few minutes of a real page's life pass in seconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from nbrealtime.launcher import ServerProcess, start_server
from tests.browser.harness import JupyterLab, Lab

pytestmark = pytest.mark.asyncio(loop_scope="session")

LIFETIME = 6
CONTAINS = "([n, text]) => (window.__nbrt.editorText(n) || '').includes(text)"
DIRECT = "() => window.__nbrt.editorReady(0) && document.querySelector('.nbrt-editor').dataset.path === 'direct'"
OUTLIVE_TOKENS = f"""
import time
first = room._auth.session.expires_at
deadline = time.monotonic() + 60
while room._auth.session.expires_at < first + 2 * {LIFETIME} and time.monotonic() < deadline:
    time.sleep(0.2)
print(room._auth.session.expires_at - first, room.status)
"""


@pytest.fixture(scope="module")
def short_token_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, JupyterLab]]:
    server = start_server(tmp_path_factory.mktemp("short-token-server"), ["--port", "0", "--jwt-expiry", str(LIFETIME)])
    jupyter = JupyterLab.in_home(tmp_path_factory.mktemp("short-token-lab"), server)
    yield server, jupyter
    jupyter.stop()
    server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def lab(short_token_lab: tuple[ServerProcess, JupyterLab], browser: Any) -> AsyncIterator[Lab]:
    server, jupyter = short_token_lab
    opened = Lab(jupyter, browser, server, "token-refresh")
    try:
        yield opened
    finally:
        await opened.close()


async def test_typing_goes_on_directly_after_the_first_tokens_expired(lab: Lab) -> None:
    alice = await lab.open(lab.notebook("alice", "alice", "room.cell('notes')"))
    bob = await lab.open(lab.notebook("bob", "bob", "room.cell('notes')"))
    for page in (alice, bob):
        await page.until(DIRECT, what="the editor's direct path up")

    waited = (await alice.stdout(OUTLIVE_TOKENS)).split()
    assert float(waited[0]) >= 2 * LIFETIME and waited[1] == "connected", waited

    await alice.type_into_editor("still here")
    await bob.until(CONTAINS, [0, "still here"], timeout=1000, what="alice's words within a second")
    await bob.type_into_editor(" and me")
    await alice.until(CONTAINS, [0, "and me"], timeout=1000, what="bob's words within a second")
    for page in (alice, bob):
        assert await page.js(DIRECT), "a page's direct path went down: its channel was shut with an expired token"
        assert page.errors == [], page.errors
