"""anywidget views of nbrealtime's feature objects (thin: traits mirror state, messages become calls)."""

from __future__ import annotations

from nbrealtime.widgets.editor import SharedCellEditor
from nbrealtime.widgets.notifications import NotificationsWidget
from nbrealtime.widgets.presence import PresenceWidget
from nbrealtime.widgets.sync import SyncIndicator

__all__ = ["NotificationsWidget", "PresenceWidget", "SharedCellEditor", "SyncIndicator"]
