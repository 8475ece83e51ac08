"""Who this Jupyter server is to nbrealtime: its user in the rooms (``GET /nbrealtime/api/me``) and its
``server_id``, which names the copy an omitted output came from (so this server's own views show it at once), and
the server's settings (``--NbRealtime.output_limit``).
"""

from __future__ import annotations

import hashlib
import socket
from typing import Any

from traitlets import Unicode
from traitlets.config import Configurable

from nbrealtime.client.backend import resolve_backend
from nbrealtime.client.identity import IdentityStore
from nbrealtime.client.loop import background_loop
from nbrealtime.client.session import AuthSession
from nbrealtime.discovery import default_data_dir
from nbrealtime.features.members import color_for
from nbrealtime.features.room import user_name

__all__ = ["NbRealtime", "me", "server_id"]


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


async def me(serverapp: Any) -> dict[str, Any]:
    """This server's identity in the rooms: ``{user_id, name, color, backend, server_id}`` (signs in if needed)."""

    async def sign_in() -> dict[str, Any]:
        backend = resolve_backend()
        name = user_name(None)
        store = IdentityStore(backend.data_dir or default_data_dir(), backend.url, name)
        auth = await AuthSession.open(backend.url, backend.key, store, name)
        try:
            user_id = auth.user_id
        finally:
            await auth.close()
        return {"user_id": user_id, "name": name, "color": color_for(user_id), "backend": backend.url}

    found = await background_loop().bridge(sign_in())
    return {**found, "server_id": server_id(serverapp)}
