"""Two "machines" for shared-notebook tests: JupyterLab servers in their own processes, root dirs and data dirs,
signed in as different users, against one embedded server; and the REST calls JupyterLab's frontend would make."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from nbrealtime.launcher import ServerProcess
from tests.browser.harness import JupyterLab
from tests.client.support import Events

USERS = ("ann", "ben")
WAIT = 30.0
MACHINE = {"collaborative": True, "options": ("--YDocExtension.document_cleanup_delay=1",)}
"""How every "machine" runs: JupyterLab's own collaboration on (the shared notebook is its collaborative document),
and a document let go one second after its last client left (so tests see jupyter-server-ydoc reload one)."""


def start_machines(
    embedded: ServerProcess, tmp_path_factory: pytest.TempPathFactory, users: tuple[str, ...] = USERS
) -> Iterator[list[JupyterLab]]:
    """A fixture body: one JupyterLab per user (the test may replace one after restarting it); all stopped after."""
    labs: list[JupyterLab] = []
    try:
        for user in users:
            home = tmp_path_factory.mktemp(f"machine-{user}")
            # collaborative: the shared notebook is JupyterLab's own collaborative document on each machine
            labs.append(JupyterLab.in_home(home, embedded, user, **MACHINE))
        yield labs
    finally:
        for lab in labs:
            lab.stop()


def api(lab: JupyterLab, method: str, path: str, **options: Any) -> httpx.Response:
    """A call to ``/nbrealtime/api/rooms/<path>`` as JupyterLab's frontend makes it (the _xsrf cookie echoed)."""
    return lab_api(lab, method, f"rooms/{path}", **options)


def until_on_disk(path: Path, predicate: Callable[[dict], bool], lab: JupyterLab, what: str) -> dict:
    """Poll a file that another process saves (jupyter-server-ydoc writes it a moment after each change)."""
    deadline = time.monotonic() + WAIT
    content: dict = {}
    while time.monotonic() < deadline:
        try:
            content = json.loads(path.read_text())
        except (OSError, ValueError):
            content = {}
        if content and predicate(content):
            return content
        time.sleep(0.1)  # polling a file another process writes
    pytest.fail(f"{path.name} never showed {what}: {content.get('cells')}\n{lab.log_tail()}", pytrace=False)


def until_logged(lab: JupyterLab, text: str, after: int = 0) -> int:
    """Poll the JupyterLab log until ``text`` appears past offset ``after``; return the offset just past it."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        logged = lab.log_path.read_text(errors="replace")
        found = logged.find(text, after)
        if found >= 0:
            return found + len(text)
        time.sleep(0.1)  # polling a log another process writes
    pytest.fail(f"JupyterLab never logged {text!r}:\n{lab.log_tail()}", pytrace=False)


def visit_document(lab: JupyterLab, path: str) -> None:
    """Open ``path``'s collaborative document as a browser does (a session, then the room's websocket), and
    leave: jupyter-server-ydoc lets the document go once the cleanup delay has passed."""
    session = httpx.put(
        f"{lab.url}/api/collaboration/session/{path}", json={"format": "json", "type": "notebook"}, timeout=30
    )
    assert session.status_code in (200, 201), session.text
    found = session.json()
    room = f"json:notebook:{found['fileId']}"
    url = f"{lab.url.replace('http', 'ws', 1)}/api/collaboration/room/{room}?sessionId={found['sessionId']}"

    with connect(url, open_timeout=WAIT) as socket:
        socket.recv(WAIT)  # the room's first sync message: we are in


def lab_api(lab: JupyterLab, method: str, path: str, **options: Any) -> httpx.Response:
    """A call to ``/nbrealtime/api/<path>`` (the lab API of docs/lab-api.md), as JupyterLab's frontend makes it."""
    with httpx.Client(base_url=lab.url, timeout=60) as client:
        client.get("/lab")
        headers = {"X-XSRFToken": client.cookies.get("_xsrf", "")}
        return client.request(method, f"/nbrealtime/api/{path}", headers=headers, **options)


class LiveSocket:
    """The lab API's websocket (``/nbrealtime/api/live``) of one JupyterLab: frames land in :attr:`frames`."""

    def __init__(self, lab: JupyterLab) -> None:
        self.frames = Events()
        self.socket = connect(f"ws://127.0.0.1:{lab.port}/nbrealtime/api/live", open_timeout=WAIT)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            for message in self.socket:
                self.frames.put(json.loads(message))

    def send(self, frame: Any) -> None:
        self.socket.send(frame if isinstance(frame, str) else json.dumps(frame))

    def expect(self, kind: str, predicate: Callable[[dict], bool] = lambda _: True, what: str = "") -> dict:
        """The first frame of type ``kind`` for which ``predicate`` holds (earlier ones are kept for later asks)."""
        return self.frames.expect(
            lambda frame: frame.get("type") == kind and predicate(frame), timeout=WAIT, what=what or f"a {kind} frame"
        )

    def close(self) -> None:
        self.socket.close()
        self._reader.join(WAIT)


def member(frame: dict, name: str) -> dict | None:
    """The member called ``name`` in a ``room`` frame (or room state), if listed."""
    return next((m for m in frame["members"] if m["name"] == name), None)
