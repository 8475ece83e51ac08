"""Two JupyterLab "machines" against one embedded server, shared by a test module's cases (they are slow to start)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nbrealtime.launcher import ServerProcess, start_server
from tests.browser.harness import JupyterLab
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


@pytest.fixture(scope="module")
def machines(embedded: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[JupyterLab]]:
    """The two JupyterLabs; once stopped, neither may have logged a traceback (every error is one sentence)."""
    running = start_machines(embedded, tmp_path_factory)
    labs = next(running)
    yield labs
    next(running, None)  # stops them
    logs = {lab.log_path: lab.log_path.read_text(errors="replace") for lab in labs}
    assert not [path for path, text in logs.items() if "Traceback" in text], "\n".join(logs.values())
