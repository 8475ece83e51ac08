"""How feature objects show up in a notebook: leaving one as a cell's last expression renders its widget.

Feature objects know nothing of widgets; ``nbrealtime._display`` registers :func:`mimebundle` with IPython, and this
module keeps one widget per object, so displaying an object twice gives two views of one model that stay identical.
"""

from __future__ import annotations

import weakref
from typing import Any

import ipywidgets

from nbrealtime.features.live_table import LiveTable
from nbrealtime.features.notifications import Notifications
from nbrealtime.features.presence import Presence
from nbrealtime.features.room import Room
from nbrealtime.features.shared_cell import SharedCell
from nbrealtime.widgets.conflicts import ConflictPanel
from nbrealtime.widgets.editor import SharedCellEditor
from nbrealtime.widgets.notifications import NotificationsWidget
from nbrealtime.widgets.presence import PresenceWidget
from nbrealtime.widgets.sync import SyncIndicator
from nbrealtime.widgets.table import LiveTableWidget

__all__ = ["LiveTablePanel", "RoomPanel", "mimebundle", "panel", "widget_for"]

_widgets: weakref.WeakKeyDictionary[Any, ipywidgets.DOMWidget] = weakref.WeakKeyDictionary()


def _build(obj: Any) -> ipywidgets.DOMWidget:
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


def widget_for(obj: Any) -> ipywidgets.DOMWidget:
    """The widget of a feature object (created once)."""
    widget = _widgets.get(obj)
    if widget is None:
        widget = _widgets[obj] = _build(obj)
    return widget


class RoomPanel(ipywidgets.VBox):
    """The room at a glance, on one row: sync state, who is here, the notification bell and its toasts."""

    def __init__(self, room: Room) -> None:
        row = ipywidgets.HBox(
            [SyncIndicator(room), widget_for(room.presence), widget_for(room.notifications)],
            layout=ipywidgets.Layout(align_items="flex-start", flex_flow="row wrap"),
        )
        super().__init__([row])
        # Not "nbrt-panel": that class is the notifications drop-down (340 px wide, overflow hidden).
        self.add_class("nbrt-room-panel")
        self._room_name = room.name

    def __repr__(self) -> str:
        return f"<RoomPanel {self._room_name!r}>"


class LiveTablePanel(ipywidgets.VBox):
    """A live table with its conflict panel (shown only while there are conflicts to settle)."""

    def __init__(self, table: LiveTable) -> None:
        self.table_view = LiveTableWidget(table)
        self.conflict_view = ConflictPanel(table)
        super().__init__([self.table_view, self.conflict_view])
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
