"""nbrealtime: collaborative, live Jupyter notebooks.

``room = nbrealtime.connect("demo", user="alice")`` puts you in a room with everyone else connected to it: messages
(``room.send`` / ``room.on``), presence (``room.presence``) and notifications (``room.notify`` /
``room.notifications``), against hosted Supabase or the embedded local server.

The public names load on first use: ``nbrealtime serve`` and the Jupyter server extension import this package too,
and should not pay for the client (supabase, pycrdt) or ever load the widget layer (anywidget).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nbrealtime._display import register_display
from nbrealtime.errors import BundleMissing, ConnectionFailed

if TYPE_CHECKING:
    from nbrealtime.client.connection import AckTimeout, NotConnected
    from nbrealtime.features.access import AccessDenied, Invite
    from nbrealtime.features.live_table import LiveTable, WriteHandle
    from nbrealtime.features.members import Member
    from nbrealtime.features.notifications import Notification
    from nbrealtime.features.room import Room, aconnect, connect
    from nbrealtime.features.shared_cell import SharedCell

__all__ = [
    "AccessDenied",
    "AckTimeout",
    "BundleMissing",
    "ConnectionFailed",
    "Invite",
    "LiveTable",
    "Member",
    "NotConnected",
    "Notification",
    "Room",
    "SharedCell",
    "WriteHandle",
    "__version__",
    "aconnect",
    "connect",
]

__version__ = "0.1.0"

_LAZY = {
    "AckTimeout": "nbrealtime.client.connection",
    "NotConnected": "nbrealtime.client.connection",
    "LiveTable": "nbrealtime.features.live_table",
    "WriteHandle": "nbrealtime.features.live_table",
    "Member": "nbrealtime.features.members",
    "Notification": "nbrealtime.features.notifications",
    "Room": "nbrealtime.features.room",
    "aconnect": "nbrealtime.features.room",
    "connect": "nbrealtime.features.room",
    "SharedCell": "nbrealtime.features.shared_cell",
    "AccessDenied": "nbrealtime.features.access",
    "Invite": "nbrealtime.features.access",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'nbrealtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Jupyter finds the server extension (``nbrealtime.jupyter``) through this."""
    return [{"module": "nbrealtime.jupyter"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """``jupyter labextension develop`` links the lab extension's build (``labextension/``) into Jupyter's path."""
    return [{"src": "labextension", "dest": "@nbrealtime/labextension"}]


register_display()
