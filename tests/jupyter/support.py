"""Two "machines" for shared-notebook tests: JupyterLab servers in their own processes, root dirs and data dirs,
signed in as different users, against one embedded server; and the REST calls JupyterLab's frontend would make."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nbrealtime.launcher import ServerProcess
from tests.browser.harness import JupyterLab

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
    with httpx.Client(base_url=lab.url, timeout=60) as client:
        client.get("/lab")
        headers = {"X-XSRFToken": client.cookies.get("_xsrf", "")}
        return client.request(method, f"/nbrealtime/api/rooms/{path}", headers=headers, **options)


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
