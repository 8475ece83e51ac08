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


def start_machines(embedded: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[JupyterLab]]:
    """A fixture body: one JupyterLab per user (the test may replace one after restarting it); all stopped after."""
    labs: list[JupyterLab] = []
    try:
        for user in USERS:
            home = tmp_path_factory.mktemp(f"machine-{user}")
            # collaborative: the shared notebook is JupyterLab's own collaborative document on each machine
            labs.append(JupyterLab.in_home(home, embedded, user, collaborative=True))
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
