"""The kernel side of the views: composite views are single anywidgets (hosts such as marimo show no containers),
feature objects answer marimo's ``_display_``, browser actions reach the feature, and views follow the room's
status to "closed"."""

from __future__ import annotations

import time
from collections.abc import Callable

import anywidget
import ipywidgets

import nbrealtime
from nbrealtime.widgets.display import LiveTablePanel, RoomPanel


def until(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)  # polling state that the background loop's callbacks update


def test_composite_views_are_single_anywidgets_that_follow_the_room(rooms, env) -> None:
    room = nbrealtime.connect("views", user="alice")
    rooms.append(room)
    panel = room.panel()
    assert isinstance(panel, RoomPanel) and isinstance(panel, anywidget.AnyWidget)
    assert not isinstance(panel, ipywidgets.Box)
    assert room._display_() is panel  # what marimo asks for; one widget per object
    assert {"state", "members", "notifications", "unread_count", "room_status", "heartbeat_seconds"} <= set(panel.keys)
    until(lambda: panel.room_status == "connected" and panel.state == "synced", "the panel to show the room live")
    assert [m["name"] for m in panel.members] == ["alice"]

    tasks = room.collection("tasks")
    view = tasks._display_()
    assert isinstance(view, LiveTablePanel) and {"rows", "columns", "conflicts"} <= set(view.keys)
    view.handle({"type": "insert", "values": {"id": "t1", "title": "from the browser"}}, [])
    view.handle({"type": "edit", "key": "t1", "column": "done", "value": True}, [])
    view.handle({"type": "no_such_action"}, [])  # ignored, like any message of no known type
    tasks.wait_until(lambda rows: rows == [{"id": "t1", "title": "from the browser", "done": True}])
    until(lambda: [row["status"] for row in view.rows] == ["confirmed"], "the view to show the row confirmed")

    room.close()
    until(lambda: panel.room_status == view.room_status == "closed", "both views to know the room closed")
    assert panel.state == "closed"
    assert repr(panel) == "<RoomPanel 'views'>" and repr(view) == "<LiveTablePanel 'tasks'>"
