"""The one sync-state indicator: Synced / Saving… (N pending) / Offline (N queued)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import traitlets

from nbrealtime.widgets._base import STATIC, NbrtWidget

if TYPE_CHECKING:
    from nbrealtime.features.room import Room

__all__ = ["SyncIndicator", "sync_state"]


def sync_state(status: str, pending: int) -> str:
    """Room status and pending writes → what the indicator says."""
    if status == "connected":
        return "saving" if pending else "synced"
    if status in ("reconnecting", "offline", "token-expired"):
        return "offline"
    return status


class SyncIndicator(NbrtWidget):
    _esm = STATIC / "sync.js"
    state = traitlets.Unicode("connecting").tag(sync=True)
    pending = traitlets.Int(0).tag(sync=True)
    room = traitlets.Unicode("").tag(sync=True)
    user = traitlets.Dict({}).tag(sync=True)

    def __init__(self, room: Room) -> None:
        super().__init__(room=room.name, user={"name": room.me.name, "color": room.me.color})
        self._room = room
        self.refresh()
        room.on_status(lambda _status: self.refresh())
        room.on_pending(lambda _count: self.refresh())

    def refresh(self) -> None:
        pending = self._room.pending_writes
        self.pending = pending
        self.state = sync_state(self._room.status, pending)
