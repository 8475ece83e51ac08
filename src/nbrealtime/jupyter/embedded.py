"""JupyterLab starts the embedded server, so kernels find it with no configuration.

If a Supabase project is configured (``SUPABASE_URL``) or an embedded server already answers, nothing is started.
A server started here is a child of JupyterLab and stops with it.
"""

from __future__ import annotations

import atexit
import os
from typing import Any

from nbrealtime.client.backend import ensure_embedded_server
from nbrealtime.discovery import default_data_dir

__all__ = ["start_embedded_server"]


def start_embedded_server(serverapp: Any) -> None:
    if os.environ.get("SUPABASE_URL"):
        serverapp.log.info("nbrealtime: kernels will use the Supabase project at %s", os.environ["SUPABASE_URL"])
        return
    data_dir = default_data_dir()
    info, started = ensure_embedded_server(data_dir, detached=False)
    if started is None:
        serverapp.log.info("nbrealtime: embedded server already running at %s (pid %s)", info.url, info.pid)
        return
    atexit.register(started.stop)
    serverapp.log.info("nbrealtime: started the embedded server at %s (data in %s)", info.url, data_dir)
