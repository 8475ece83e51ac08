"""Which Jupyter server this is to nbrealtime: its ``server_id`` (in ``GET /nbrealtime/api/me``), which names the copy
an omitted output came from so this server's own views show it at once, and its settings
(``--NbRealtime.output_limit``).
"""

from __future__ import annotations

import hashlib
import socket
from typing import Any

from traitlets import Unicode
from traitlets.config import Configurable

from nbrealtime.features.room import user_name

__all__ = ["NbRealtime", "server_id"]


class NbRealtime(Configurable):
    """nbrealtime's settings on a Jupyter server (``jupyter_server_config.py`` or ``--NbRealtime.<name>=…``)."""

    output_limit = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Outputs of shared notebooks above this size (bytes of nbformat JSON, or '1MB', '500kB') are stored "
        "aside and shared as placeholders. Default: $NBREALTIME_OUTPUT_LIMIT, else 1 MB.",
    )


def server_id(serverapp: Any) -> str:
    """A stable name for this Jupyter server (the same after a restart): machine, root dir and user."""
    seed = f"{socket.gethostname()}\0{serverapp.root_dir}\0{user_name(None)}"
    return "jupyter:" + hashlib.sha256(seed.encode()).hexdigest()[:16]
