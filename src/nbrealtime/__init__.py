"""nbrealtime: collaborative, live Jupyter notebooks.

``room = nbrealtime.connect("demo", user="alice")`` puts you in a room with everyone else connected to it: messages
(``room.send`` / ``room.on``), presence (``room.presence``) and notifications (``room.notify`` /
``room.notifications``), against hosted Supabase or the embedded local server.
"""

from __future__ import annotations

from nbrealtime.client.connection import AckTimeout, NotConnected
from nbrealtime.features.access import AccessDenied, Invite
from nbrealtime.features.live_table import LiveTable, WriteHandle
from nbrealtime.features.members import Member
from nbrealtime.features.notifications import Notification
from nbrealtime.features.room import Room, aconnect, connect
from nbrealtime.features.shared_cell import SharedCell
from nbrealtime.widgets.display import register_display

__all__ = [
    "AccessDenied",
    "AckTimeout",
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


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Jupyter finds the server extension (``nbrealtime.jupyter``) through this."""
    return [{"module": "nbrealtime.jupyter"}]


register_display()
