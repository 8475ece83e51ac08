"""What every nbrealtime widget shares: its bundle in ``static/``, the stylesheet, message dispatch and liveness.

Liveness: a view must not look live after its room closed or its kernel died. The room's connection status travels
as the ``room_status`` trait; the kernel's being alive travels as a ``{"type": "heartbeat"}`` custom message that one
background thread sends to every watched widget each ``heartbeat_seconds`` (so it keeps coming while a cell runs).
A dead kernel sends nothing: ``js/src/lib/liveness.js`` marks the view stale when the beats stop.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from nbrealtime.errors import BundleMissing

if TYPE_CHECKING:
    from nbrealtime.features.room import Room

__all__ = ["HEARTBEAT_SECONDS", "STATIC", "NbrtWidget", "bundle"]

STATIC = Path(__file__).resolve().parent.parent / "static"
HEARTBEAT_SECONDS = 3.0
BUILD_COMMAND = "npm --prefix js ci && npm --prefix js run build"

log = logging.getLogger(__name__)


def bundle(path: Path) -> Path:
    """``path`` if npm built it; else the one line that says how (anywidget would raise FileNotFoundError)."""
    if not path.is_file():
        raise BundleMissing(
            f"nbrealtime's widget bundle {path.name} was never built (a source checkout): run `{BUILD_COMMAND}` "
            f"in the checkout (needs node >= 20), or install nbrealtime from its wheel"
        )
    return path


class NbrtWidget(anywidget.AnyWidget):
    """A thin view over feature objects: traits mirror their state; a browser message ``{"type": T, …}`` calls the
    view's ``msg_T(message, buffers)``. Each part (``SyncView``, ``PresenceView``, …) is a mixin with its traits, a
    ``show_…(feature)`` that binds it and calls :meth:`watch_room`, and its ``msg_…`` handlers; a widget is one or
    several parts plus its ``_esm``, so a composite view is one anywidget that accepts the messages of all its parts."""

    _css = bundle(STATIC / "nbrealtime.css")
    room_status = traitlets.Unicode("connecting").tag(sync=True)
    heartbeat_seconds = traitlets.Float(HEARTBEAT_SECONDS).tag(sync=True)
    link = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    """The browser's own path to the backend (``Room.browser_link``, shaped by the view: see :meth:`follow_link`):
    what the page sends leaves it without waiting for this kernel. None where the page may send nothing itself."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        esm = cls.__dict__.get("_esm")
        if isinstance(esm, Path):
            bundle(esm)
        super().__init_subclass__(**kwargs)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._on_message)
        self._stop_link: Callable[[], None] | None = None

    def _on_message(self, widget: Any, content: Any, buffers: list[bytes]) -> None:
        if isinstance(content, dict) and isinstance(content.get("type"), str):
            self.handle(content, buffers)

    def handle(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        """One browser action: dispatched to ``msg_<type>``; unknown types are ignored."""
        method = getattr(self, f"msg_{message['type']}", None)
        if callable(method):
            method(message, buffers)

    def watch_room(self, room: Room) -> None:
        """Keep ``room_status`` current and send heartbeats, so the view can tell a closed room or a dead kernel.
        Every part of a composite view calls this with the same room: only the first call counts."""
        if getattr(self, "_watched_room", None) is room:
            return
        self._watched_room = room
        self.room_status = room.status
        room.on_status(self._set_room_status)
        _heartbeat.watch(self)

    def follow_link(self, room: Room, shape: Callable[[dict[str, Any] | None], dict[str, Any] | None]) -> None:
        """Keep ``link`` at ``shape(room.browser_link())`` through token refreshes and the room's closing (one part
        of a widget follows it); :meth:`refresh_link` again when something ``shape`` reads changes."""
        self._link_room, self._shape_link = room, shape
        self.refresh_link()
        self._stop_link = room.on_browser_link(lambda link: setattr(self, "link", shape(link)))

    def refresh_link(self) -> None:
        self.link = self._shape_link(self._link_room.browser_link())

    def close(self) -> None:
        if self._stop_link is not None:
            self._stop_link()
            self._stop_link = None
        super().close()

    def _set_room_status(self, status: str) -> None:
        self.room_status = status

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class _Heartbeat:
    """One daemon thread per kernel beating for every watched widget (weakly held: a dropped widget just stops)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._widgets: weakref.WeakSet[NbrtWidget] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, widget: NbrtWidget) -> None:
        with self._lock:
            self._widgets.add(widget)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="nbrealtime heartbeat", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:  # a daemon: it ends with the process
            time.sleep(self.seconds)
            with self._lock:
                widgets = list(self._widgets)
            for widget in widgets:
                if widget.comm is None:  # closed
                    continue
                try:
                    widget.send({"type": "heartbeat"})
                except Exception as error:  # a comm torn down under us: the next beat skips it
                    log.debug("heartbeat not sent: %s", error)


_heartbeat = _Heartbeat(HEARTBEAT_SECONDS)
