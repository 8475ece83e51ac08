"""The JSON shapes of the lab API (docs/lab-api.md): members, notifications, invites and the presenter, built from
the feature objects. Pure: it knows nothing of rooms' connections, tornado or websockets.

A room notebook is named as ``{id, name, path}``, where ``path`` is where it is on *this* Jupyter server (None when it
is not open here): ``NotebookNames`` gives the names, ``paths`` the local paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from nbrealtime.features.access import Invite, InviteInfo
from nbrealtime.features.members import Member
from nbrealtime.features.notifications import Notification
from nbrealtime.schema import roles_for

__all__ = ["NotebookRefs", "invite_info_json", "invite_json", "member_json", "notification_json", "present_frame"]

MAY_PRESENT = roles_for("room_editor")
"""Owners and editors may present (it only asks the others to follow; each may decline); viewers may not."""


class NotebookRefs:
    """``{id, name, path}`` of a room's notebooks: their names in the room, their paths on this server."""

    def __init__(self, names: Mapping[str, str], paths: Mapping[str, str]) -> None:
        self.names = names
        self.paths = paths

    def ref(self, notebook_id: str | None) -> dict[str, Any] | None:
        if notebook_id is None:
            return None
        return {"id": notebook_id, "name": self.names.get(notebook_id), "path": self.paths.get(notebook_id)}


def _time(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def member_json(member: Member, me: str, notebooks: NotebookRefs) -> dict[str, Any]:
    return {
        "user_id": member.id,
        "name": member.name,
        "color": member.color,
        "role": member.role,
        "status": member.status,
        "last_seen": _time(member.last_seen),
        "notebook": notebooks.ref(member.notebook),
        "cell": member.cell,
        "activity": member.activity,
        "you": member.id == me,
    }


def notification_json(notification: Notification, room: str, notebooks: NotebookRefs) -> dict[str, Any]:
    return {
        "id": notification.id,
        "room": room,
        "title": notification.title,
        "message": notification.message,
        "kind": notification.kind,
        "sender": {"user_id": notification.sender_id, "name": notification.sender},
        "created_at": _time(notification.created_at),
        "read": notification.read,
        "notebook": notebooks.ref(notification.notebook),
        "cell": notification.cell,
    }


def invite_json(invite: Invite) -> dict[str, Any]:
    """A new invite: the only time its token is shown. ``link`` is the text to send (``nbrt-invite:ROOM:TOKEN``)."""
    return {
        "id": invite.id,
        "role": invite.role,
        "token": invite.token,
        "link": invite.text,
        "expires_at": _time(invite.expires_at),
        "uses": invite.uses,
    }


def invite_info_json(invite: InviteInfo) -> dict[str, Any]:
    """An invite as listed: the shape of a new one (its token and link are null: only their hash is stored), with
    how often it was used and whether it still can be."""
    return {
        "id": invite.id,
        "role": invite.role,
        "token": None,
        "link": None,
        "expires_at": invite.expires_at,
        "uses": invite.max_uses,
        "used": invite.uses,
        "revoked": invite.revoked,
        "usable": invite.usable,
        "created_at": invite.created_at,
    }


def presenter(members: Iterable[Member]) -> Member | None:
    """Who the room follows: the member who started presenting last, among those here who may present."""
    presenting = [m for m in members if m.presenting and m.status != "offline" and m.role in MAY_PRESENT]
    return max(presenting, key=lambda m: str(m.presenting), default=None)


def present_frame(room: str, members: Iterable[Member], notebooks: NotebookRefs) -> dict[str, Any]:
    leader = presenter(members)
    return {
        "type": "present",
        "room": room,
        "presenter": None if leader is None else {"user_id": leader.id, "name": leader.name, "color": leader.color},
        "notebook": None if leader is None else notebooks.ref(leader.notebook),
        "cell": None if leader is None else leader.cell,
    }
