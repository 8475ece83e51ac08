"""nbrealtime's Jupyter server extension: the embedded server starts with JupyterLab, and — with the ``lab`` extra
(jupyter-collaboration) — notebooks are shared through rooms (:mod:`nbrealtime.jupyter.bridge`) behind a REST API
(:mod:`nbrealtime.jupyter.handlers`).
"""

from __future__ import annotations

from typing import Any

from nbrealtime.jupyter.embedded import start_embedded_server

__all__ = ["_load_jupyter_server_extension"]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    start_embedded_server(serverapp)
    try:
        import jupyter_server_ydoc  # noqa: F401  (the lab extra)
    except ImportError:
        serverapp.log.info("nbrealtime: shared notebooks need the lab extra (pip install 'nbrealtime[lab]')")
        return
    from nbrealtime.jupyter.handlers import register_handlers

    register_handlers(serverapp)
