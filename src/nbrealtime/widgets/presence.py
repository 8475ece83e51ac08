"""Presence badges: who is here, their status, cell and activity; the browser reports idle and visibility."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import traitlets

from nbrealtime.features.members import Member
from nbrealtime.widgets._base import STATIC, NbrtWidget

if TYPE_CHECKING:
    from nbrealtime.features.presence import Presence

__all__ = ["PresenceView", "PresenceWidget", "member_json"]


def member_json(member: Member, self_id: str) -> dict[str, Any]:
    return {
        "id": member.id,
        "name": member.name,
        "color": member.color,
        "status": member.status,
        "last_seen": member.last_seen.isoformat() if member.last_seen else None,
        "cell": member.cell,
        "activity": member.activity,
        "role": member.role,
        "is_self": member.id == self_id,
    }


class PresenceView(traitlets.HasTraits):
    """The traits and browser actions of the presence badges (alone, or as part of the room panel)."""

    members = traitlets.List([]).tag(sync=True)
    idle_after = traitlets.Float(60.0).tag(sync=True)

    def show_presence(self, presence: Presence) -> None:
        self._presence = presence
        self.idle_after = min(presence.idle_after, 300.0)
        self._show_members(presence.members)
        presence.on_change(self._show_members)
        room = presence.room_object
        self.watch_room(room)
        # The room channel, from the page itself: going away is seen while the kernel is busy.
        self.follow_link(room, lambda link: link)

    def _show_members(self, members: list[Member]) -> None:
        self.members = [member_json(member, self._presence.me.id) for member in members]

    def msg_activity(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        away = bool(message.get("idle")) or not message.get("visible", True)
        self._presence.report_browser_activity(away)


class PresenceWidget(PresenceView, NbrtWidget):
    _esm = STATIC / "presence.js"

    def __init__(self, presence: Presence) -> None:
        super().__init__()
        self.show_presence(presence)
