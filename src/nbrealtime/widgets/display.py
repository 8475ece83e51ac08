"""How feature objects show up in a notebook: leaving one as a cell's last expression renders its widget.

Feature objects know nothing of widgets; ``nbrealtime._display`` registers :func:`mimebundle` with IPython, and this
module keeps one widget per object, so displaying an object twice gives two views of one model that stay identical.
"""

from __future__ import annotations

import weakref
from typing import Any

from nbrealtime.features.live_table import LiveTable
from nbrealtime.features.notifications import Notifications
from nbrealtime.features.presence import Presence
from nbrealtime.features.room import Room
from nbrealtime.features.shared_cell import SharedCell
from nbrealtime.widgets._base import STATIC, NbrtWidget
from nbrealtime.widgets.conflicts import ConflictsView
from nbrealtime.widgets.editor import SharedCellEditor
from nbrealtime.widgets.notifications import NotificationsView, NotificationsWidget
from nbrealtime.widgets.presence import PresenceView, PresenceWidget
from nbrealtime.widgets.sync import SyncView
from nbrealtime.widgets.table import TableView

__all__ = ["LiveTablePanel", "RoomPanel", "mimebundle", "panel", "widget_for"]

_widgets: weakref.WeakKeyDictionary[Any, NbrtWidget] = weakref.WeakKeyDictionary()


def _build(obj: Any) -> NbrtWidget:
    if isinstance(obj, Room):
        return panel(obj)
    if isinstance(obj, Presence):
        return PresenceWidget(obj)
    if isinstance(obj, Notifications):
        return NotificationsWidget(obj)
    if isinstance(obj, LiveTable):
        return LiveTablePanel(obj)
    if isinstance(obj, SharedCell):
        room = obj.room_object
        return SharedCellEditor(obj, room.me.name, room.me.color)
    raise TypeError(f"no widget for {type(obj).__name__}")


def widget_for(obj: Any) -> NbrtWidget:
    """The widget of a feature object (created once)."""
    widget = _widgets.get(obj)
    if widget is None:
        widget = _widgets[obj] = _build(obj)
    return widget


class RoomPanel(SyncView, PresenceView, NotificationsView, NbrtWidget):
    """The room at a glance, on one row and as ONE anywidget (hosts such as marimo show no widget containers): sync
    state, who is here, the notification bell and its toasts, all rendered from this model."""

    _esm = STATIC / "panel.js"

    def __init__(self, room: Room) -> None:
        super().__init__()
        self.show_sync(room)
        self.show_presence(room.presence)
        self.show_notifications(room.notifications)
        self._room_name = room.name

    def __repr__(self) -> str:
        return f"<RoomPanel {self._room_name!r}>"


class LiveTablePanel(TableView, ConflictsView, NbrtWidget):
    """A live table with its conflict panel (shown only while there are conflicts to settle), as one anywidget."""

    _esm = STATIC / "livetable.js"

    def __init__(self, table: LiveTable) -> None:
        super().__init__()
        self.show_table(table)
        self.show_conflicts(table)
        self._name = table.name

    def __repr__(self) -> str:
        return f"<LiveTablePanel {self._name!r}>"


def panel(room: Room) -> RoomPanel:
    return RoomPanel(room)


def mimebundle(obj: Any, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    """A feature object's display: its widget's view, with the object's own text repr (for nbval and plain text)."""
    bundle = widget_for(obj)._repr_mimebundle_(include=include, exclude=exclude)
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    return {**data, "text/plain": repr(obj)}
