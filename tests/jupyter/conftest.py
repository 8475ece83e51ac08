"""Two JupyterLab "machines" against one embedded server, shared by a test module's cases (they are slow to start)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest

from nbrealtime.launcher import ServerProcess, start_server
from tests.browser.harness import JupyterLab
from tests.client.support import create_open_room
from tests.jupyter.support import start_machines


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("nbrt-server"))
    yield process
    process.stop()


@pytest.fixture
def server(embedded: ServerProcess) -> ServerProcess:
    """The machines' server is the one this process's rooms and peers use too (see ``env``)."""
    return embedded


@pytest.fixture
def room_name(embedded: ServerProcess) -> str:
    """A new room on the machines' server, open to everyone signed in (its sharers and openers join in any order)."""
    name = f"nb-{uuid.uuid4().hex[:8]}"
    create_open_room(embedded, name)
    return name


@pytest.fixture(scope="module")
def machines(embedded: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[JupyterLab]]:
    """The two JupyterLabs; once stopped, neither may have logged a traceback through nbrealtime (every error is one
    sentence). jupyter-server-ydoc's own, at shutdown (``WebsocketServer not running``), is not ours."""
    running = start_machines(embedded, tmp_path_factory)
    labs = next(running)
    yield labs
    next(running, None)  # stops them
    ours = [
        block for lab in labs for block in tracebacks(lab.log_path.read_text(errors="replace")) if "nbrealtime" in block
    ]
    assert not ours, "\n\n".join(ours)


def tracebacks(log: str) -> list[str]:
    """Each traceback in a Jupyter server's log: from ``Traceback`` to the next log record (``[I 2026…``)."""
    blocks = []
    for part in log.split("Traceback (most recent call last):")[1:]:
        blocks.append(re.split(r"\n\[[A-Z] \d{4}-", part, maxsplit=1)[0])
    return blocks
