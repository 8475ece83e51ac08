"""anywidget views of nbrealtime's feature objects (thin: traits mirror state, messages become calls)."""

from __future__ import annotations

from nbrealtime.widgets.conflicts import ConflictPanel
from nbrealtime.widgets.editor import SharedCellEditor
from nbrealtime.widgets.notifications import NotificationsWidget
from nbrealtime.widgets.presence import PresenceWidget
from nbrealtime.widgets.sync import SyncIndicator
from nbrealtime.widgets.table import LiveTableWidget

__all__ = [
    "ConflictPanel",
    "LiveTableWidget",
    "NotificationsWidget",
    "PresenceWidget",
    "SharedCellEditor",
    "SyncIndicator",
]
