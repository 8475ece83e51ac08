"""The one sync-state indicator: Synced / Saving… (N pending) / Offline (N queued) / Room closed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import traitlets

from nbrealtime.widgets._base import STATIC, NbrtWidget

if TYPE_CHECKING:
    from nbrealtime.features.room import Room

__all__ = ["SyncIndicator", "SyncView", "sync_state"]


def sync_state(status: str, pending: int) -> str:
    """Room status and pending writes → what the indicator says."""
    if status == "connected":
        return "saving" if pending else "synced"
    if status in ("reconnecting", "offline", "token-expired"):
        return "offline"
    return status


class SyncView(traitlets.HasTraits):
    """The traits of the sync indicator (alone, or as part of the room panel)."""

    state = traitlets.Unicode("connecting").tag(sync=True)
    pending = traitlets.Int(0).tag(sync=True)
    room = traitlets.Unicode("").tag(sync=True)
    user = traitlets.Dict({}).tag(sync=True)

    def show_sync(self, room: Room) -> None:
        self._synced_room = room
        self.room = room.name
        self.user = {"name": room.me.name, "color": room.me.color}
        self.refresh()
        room.on_status(self._refresh_on)
        room.on_pending(self._refresh_on)
        self.watch_room(room)

    def _refresh_on(self, _value: Any) -> None:
        self.refresh()

    def refresh(self) -> None:
        pending = self._synced_room.pending_writes
        self.pending = pending
        self.state = sync_state(self._synced_room.status, pending)


class SyncIndicator(SyncView, NbrtWidget):
    _esm = STATIC / "sync.js"

    def __init__(self, room: Room) -> None:
        super().__init__()
        self.show_sync(room)
