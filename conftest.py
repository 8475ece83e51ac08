"""Run the demo notebooks (``pytest --nbval notebooks``) against an embedded server started for the session.

The kernels that nbval starts inherit this process's environment, so pointing ``NBREALTIME_DATA_DIR`` at a fresh
server's data dir (and clearing any Supabase project settings) makes every notebook find it with no configuration,
exactly as a user's notebook would.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from nbrealtime.launcher import ServerProcess, start_server

collect_ignore_glob = ["notebooks/live-notebook*.ipynb", "notebooks/*(local copy*).ipynb"]
"""The demo's shared notebook (``nbrealtime demo`` opens it in the notebooks folder) is the room's, not a demo."""

_server: ServerProcess | None = None
_workdir: tempfile.TemporaryDirectory[str] | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _server, _workdir
    if not (config.getoption("nbval", default=False) or config.getoption("nbval_lax", default=False)):
        return
    _workdir = tempfile.TemporaryDirectory(prefix="nbrealtime-notebooks-")
    _server = start_server(Path(_workdir.name) / "server")
    os.environ["NBREALTIME_DATA_DIR"] = str(_server.data_dir)
    for variable in ("SUPABASE_URL", "SUPABASE_ANON_KEY", "NBREALTIME_USER"):
        os.environ.pop(variable, None)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _server, _workdir
    if _server is not None:
        _server.stop()
        _server = None
    if _workdir is not None:
        _workdir.cleanup()
        _workdir = None
