"""The owner's share view (``room.share()``): invites with copy buttons, members with role pickers and remove buttons.

A thin view: every action is a :class:`~nbrealtime.features.room.Room` call, and a refusal is shown as its message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import traitlets

from nbrealtime.features.access import AccessDenied, Invite
from nbrealtime.widgets._base import STATIC, NbrtWidget
from nbrealtime.widgets.presence import member_json

if TYPE_CHECKING:
    from nbrealtime.features.members import Member
    from nbrealtime.features.room import Room

__all__ = ["ShareWidget"]


class ShareWidget(NbrtWidget):
    _esm = STATIC / "share.js"
    room = traitlets.Unicode("").tag(sync=True)
    role = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    invites = traitlets.List([]).tag(sync=True)
    members = traitlets.List([]).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, room: Room) -> None:
        super().__init__(room=room.name, role=room.role)
        self._room = room
        self._tokens: dict[str, str] = {}  # invite id → copyable text, for invites made in this session
        self._listed = False  # invites are listed once, below; members first
        self._show_members(room.presence.members)
        self._refresh()
        self._listed = True
        room.presence.on_change(self._show_members)
        room.on_role(self._on_role)

    def _on_role(self, role: str | None) -> None:
        self.role = role
        self._refresh()

    def _show_members(self, members: list[Member]) -> None:
        """Members (with a role) as they are now; when someone new comes in, most likely with one of the listed
        invites, the invites are listed again so their uses are current."""
        before = {member["id"] for member in self.members}
        self.members = [member_json(member, self._room.me.id) for member in members if member.role is not None]
        if self._listed and {member["id"] for member in self.members} - before:
            try:
                self._refresh()
            except (AccessDenied, TimeoutError) as error:
                self.error = str(error)

    def _refresh(self) -> None:
        if self._room.role != "owner":
            self.invites = []
            return
        self.invites = [
            {"id": info.id, "role": info.role, "expires_at": info.expires_at, "max_uses": info.max_uses,
             "uses": info.uses, "revoked": info.revoked, "usable": info.usable, "text": self._tokens.get(info.id)}
            for info in self._room.invites()
        ]  # fmt: skip

    def handle(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        room, kind = self._room, message.get("type")
        self.error = ""
        try:
            if kind == "invite":
                invite: Invite = room.invite(str(message.get("role", "editor")), uses=message.get("uses"))
                self._tokens[invite.id] = invite.text
            elif kind == "revoke":
                room.revoke(str(message["id"]))
            elif kind == "set_role":
                room.set_role(str(message["member"]), str(message["role"]))
            elif kind == "remove":
                room.remove(str(message["member"]))
            self._refresh()
        except (AccessDenied, ValueError) as error:
            self.error = str(error)
