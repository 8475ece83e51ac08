"""Roles, invites and membership changes of a room: what ``Room`` delegates to for access control.

Joining goes through the backend's ``nbrt_join_room`` function (the embedded server's ``server/rooms.py``, or the
PL/pgSQL twin on Supabase), so the rules are checked where they cannot be skipped; everything here only asks for it.
Invites are random tokens of which the backend stores only the SHA-256: the token itself is shown once, to the owner
who created it, as a copyable string that names the room (``nbrt-invite:ROOM:TOKEN``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from postgrest.exceptions import APIError

from nbrealtime import schema
from nbrealtime.features.callbacks import CallbackList

__all__ = ["Access", "AccessDenied", "Invite", "InviteInfo", "parse_invite"]

INVITE_PREFIX = "nbrt-invite:"
_INVITE = re.compile(rf"^{re.escape(INVITE_PREFIX)}({schema.ROOM_NAME_PATTERN}):([A-Za-z0-9_-]{{16,128}})$")
INVITABLE = ("editor", "viewer")
OPEN_TO = ("invited", "signed_in")


class AccessDenied(PermissionError):
    """The backend refused (not a member, not in this role, a bad invite); the message says what to ask for."""


def denied(room: str, error: APIError) -> AccessDenied:
    """One paragraph from the backend's refusal (its message and hint), naming the room."""
    message = error.message if repr(room) in (error.message or "") else f"room {room!r}: {error.message}"
    return AccessDenied(f"{message}: {error.hint}" if error.hint else message)


def parse_invite(text: str) -> tuple[str, str]:
    """``(room, token)`` from an invite string as :meth:`Access.invite` prints it."""
    match = _INVITE.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not an nbrealtime invite (expected {INVITE_PREFIX}ROOM:TOKEN, as room.invite() shows it)")
    return match.group(1), match.group(2)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Invite:
    """A new invite: hand :attr:`text` to the person you invite; it is shown only now."""

    id: str
    room: str
    token: str
    role: str
    expires_at: datetime | None
    uses: int | None

    @property
    def text(self) -> str:
        return f"{INVITE_PREFIX}{self.room}:{self.token}"

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Invite to {self.room!r} as {self.role}: {self.text}>"


@dataclass(frozen=True)
class InviteInfo:
    """An invite as owners list it (the token itself is not stored)."""

    id: str
    role: str
    expires_at: str | None
    max_uses: int | None
    uses: int
    revoked: bool
    created_at: str

    @property
    def usable(self) -> bool:
        expired = self.expires_at is not None and datetime.fromisoformat(self.expires_at) <= datetime.now(UTC)
        used_up = self.max_uses is not None and self.uses >= self.max_uses
        return not (self.revoked or expired or used_up)


class RoomPort(Protocol):
    """What access control needs of the room: its name, you, the REST client and member lookup by name or id."""

    name: str

    @property
    def user_id(self) -> str: ...

    def rest(self, name: str) -> Any: ...

    def rpc(self, function: str, args: dict[str, Any]) -> Any: ...

    def member_id(self, who: str) -> str: ...


class Access:
    """Your role in one room, and (for owners) its invites, settings and members' roles."""

    def __init__(self, room: RoomPort) -> None:
        self._room = room
        self.role: str | None = None
        self._on_role: CallbackList[str | None] = CallbackList("role")
        self._on_change: CallbackList[str] = CallbackList("room settings")

    # ------------------------------------------------------------------ your role

    def on_role(self, callback: Callable[[str | None], None]) -> Callable[[str | None], None]:
        return self._on_role.add(callback)

    def off_role(self, callback: Callable[[str | None], None]) -> None:
        self._on_role.remove(callback)

    def on_change(self, callback: Callable[[str], None]) -> Callable[[str], None]:
        """Call ``callback(table)`` when the room's settings or (for owners) its invites changed, by anyone."""
        return self._on_change.add(callback)

    def off_change(self, callback: Callable[[str], None]) -> None:
        self._on_change.remove(callback)

    def on_row_change(self, payload: dict[str, Any]) -> None:
        """A ``postgres_changes`` event of the room's row or of one of its invites."""
        self._on_change.fire(str(payload.get("data", {}).get("table", "")))

    def set_own_role(self, role: str | None) -> None:
        """Your role as the backend now says (None: removed); ``on_role`` callbacks hear of a change."""
        if role != self.role:
            self.role = role
            self._on_role.fire(role)

    def refusal(self, needs: str, what: str) -> str | None:
        """Why you may not do ``what`` (a sentence), or None if your role allows it (``needs``: room_editor, …)."""
        if self.role in schema.roles_for(needs):
            return None
        room = self._room.name
        if self.role is None:
            return f"you are no longer a member of room {room!r}, so you cannot {what}"
        wanted = " or ".join(schema.roles_for(needs))
        return f"you are a {self.role} in room {room!r} and cannot {what}: ask an owner to make you {wanted}"

    def require(self, needs: str, what: str) -> None:
        reason = self.refusal(needs, what)
        if reason is not None:
            raise AccessDenied(reason)

    async def join(self, invite: str | None, name: str, color: str) -> str:
        """Enter the room through ``nbrt_join_room``; returns your role (raises :class:`AccessDenied`)."""
        args = {"room": self._room.name, "invite": invite, "name": name, "color": color}
        try:
            result = await self._room.rpc(schema.JOIN_ROOM_FUNCTION, args)
        except APIError as error:
            raise denied(self._room.name, error) from None
        self.set_own_role(str(result["role"]))
        return str(result["role"])

    # ------------------------------------------------------------------ owners

    async def invite(self, role: str, expires: float | timedelta | None, uses: int | None) -> Invite:
        if role not in INVITABLE:
            raise ValueError(f"an invite's role is one of {', '.join(INVITABLE)} (owners are made with set_role)")
        if uses is not None and (not isinstance(uses, int) or uses < 1):
            raise ValueError("uses is a positive number of joins (None: unlimited)")
        self.require("room_owner", "invite people")
        if isinstance(expires, int | float):
            expires = timedelta(seconds=expires)
        expires_at = datetime.now(UTC) + expires if expires is not None else None
        token = secrets.token_urlsafe(24)
        row = {
            "room": self._room.name,
            "token_hash": _hash(token),
            "role": role,
            "max_uses": uses,
            "expires_at": expires_at.isoformat() if expires_at else None,
            "created_by": self._room.user_id,
        }
        created = await self._write(self._room.rest(schema.ROOM_INVITES_TABLE).insert(row))
        return Invite(str(created[0]["id"]), self._room.name, token, role, expires_at, uses)

    async def invites(self) -> list[InviteInfo]:
        self.require("room_owner", "list invites")
        rows = await self._write(
            self._room.rest(schema.ROOM_INVITES_TABLE).select("*").eq("room", self._room.name).order("created_at")
        )
        return [
            InviteInfo(
                str(row["id"]),
                row["role"],
                row["expires_at"],
                row["max_uses"],
                row["uses"],
                row["revoked"],
                row["created_at"],
            )
            for row in rows
        ]

    async def revoke(self, invite: str | Invite | InviteInfo) -> None:
        self.require("room_owner", "revoke invites")
        invite_id = invite if isinstance(invite, str) else invite.id
        table = self._room.rest(schema.ROOM_INVITES_TABLE)
        rows = await self._write(table.update({"revoked": True}).eq("id", invite_id).eq("room", self._room.name))
        if not rows:
            raise ValueError(f"no invite {invite_id!r} in room {self._room.name!r}")

    async def settings(self, open_to: str | None, role: str | None) -> dict[str, str]:
        """Change who joins without an invite (``open_to``: invited / signed_in, as ``role``); returns the settings."""
        table = self._room.rest(schema.ROOMS_TABLE)
        changes: dict[str, str] = {}
        if open_to is not None:
            if open_to not in OPEN_TO:
                raise ValueError(f"open_to is one of {', '.join(OPEN_TO)}")
            changes["open_to"] = open_to
        if role is not None:
            if role not in INVITABLE:
                raise ValueError(f"an open room's role is one of {', '.join(INVITABLE)}")
            changes["open_role"] = role
        if changes:
            self.require("room_owner", "change the room's settings")
            rows = await self._write(table.update(changes).eq("name", self._room.name))
        else:
            rows = await self._write(table.select("open_to,open_role").eq("name", self._room.name))
        return {"open_to": rows[0]["open_to"], "role": rows[0]["open_role"]}

    async def set_role(self, member: str, role: str) -> None:
        if role not in schema.ROLES:
            raise ValueError(f"a role is one of {', '.join(schema.ROLES)}")
        args = {"room": self._room.name, "member": self._room.member_id(member), "role": role}
        try:
            await self._room.rpc(schema.SET_ROLE_FUNCTION, args)
        except APIError as error:
            raise denied(self._room.name, error) from None

    async def remove(self, member: str) -> None:
        user_id = self._room.member_id(member)
        if user_id != self._room.user_id:
            self.require("room_owner", "remove members")
        table = self._room.rest(schema.ROOM_MEMBERS_TABLE)
        rows = await self._write(table.delete().eq("room", self._room.name).eq("user_id", user_id))
        if not rows:
            raise ValueError(f"{member!r} is not a member of room {self._room.name!r}")

    async def _write(self, query: Any) -> list[dict[str, Any]]:
        try:
            return list((await query.execute()).data)
        except APIError as error:
            raise denied(self._room.name, error) from None
