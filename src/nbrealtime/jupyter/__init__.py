"""nbrealtime's Jupyter server extension: the embedded server starts with JupyterLab, the lab API serves the
JupyterLab extension (:mod:`nbrealtime.jupyter.lab_handlers`), and — with the ``lab`` extra (jupyter-collaboration) —
notebooks are shared through rooms (:mod:`nbrealtime.jupyter.bridge`) behind a REST API
(:mod:`nbrealtime.jupyter.handlers`).
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

from nbrealtime.jupyter.embedded import start_embedded_server

__all__ = ["BRIDGE_SETTING", "LINKS_FILE", "_load_jupyter_server_extension", "_start_jupyter_server_extension"]

LINKS_FILE = ".nbrealtime-notebooks.json"
"""In a Jupyter server's root: which files are room notebooks, and the state each last synced."""
BRIDGE_SETTING = "nbrealtime_bridge"
"""The web app setting that holds the server's notebook bridge (there only with the lab extra, once used)."""
_tasks: set[asyncio.Task[None]] = set()


def _load_jupyter_server_extension(serverapp: Any) -> None:
    start_embedded_server(serverapp)
    from nbrealtime.jupyter.handlers import register_handlers

    if not _has_lab_extra():
        serverapp.log.info("nbrealtime: shared notebooks need the lab extra (pip install 'nbrealtime[lab]')")
    register_handlers(serverapp, shared_notebooks=_has_lab_extra())


async def _start_jupyter_server_extension(serverapp: Any) -> None:
    """With the server's loop running: reopen the notebooks this server had open (in the background)."""
    if not _has_lab_extra() or "jupyter_server_ydoc" not in serverapp.web_app.settings:
        return
    if not (Path(serverapp.root_dir) / LINKS_FILE).exists():
        return  # nothing to reopen: the client side stays unloaded until the API is used
    from nbrealtime.jupyter.bridge import bridge_for

    async def restore() -> None:
        await (await bridge_for(serverapp)).restore()

    task = asyncio.create_task(restore())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


def _has_lab_extra() -> bool:
    return importlib.util.find_spec("jupyter_server_ydoc") is not None
