"""The room functions of the data API, ``POST /rest/v1/rpc/nbrt_join_room`` and ``…/nbrt_set_role``, on SQLite.

On Supabase the same functions are ``security definer`` PL/pgSQL in the migration (``pgsql.py``); here they run as
the definer too (the service role, through the ordinary write path) inside one transaction on the database thread, so
redeeming an invite is atomic.  Refusals carry PostgreSQL's codes, so the official client raises the same
``APIError`` on both backends: ``42501`` not allowed (403, or 401 for anon), ``22023`` a bad argument, ``P0002`` no
such member.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import Headers, QueryParams

from nbrealtime import schema
from nbrealtime.server import policies
from nbrealtime.server.rest import query as rest_query
from nbrealtime.server.rest import writes
from nbrealtime.server.storage import DatabaseError, Defaults, decode_row, quote
from nbrealtime.server.tokens import AUTHENTICATED, SERVICE_ROLE, Claims

__all__ = ["FUNCTIONS", "RoomCall", "Written", "invite_hash", "predates_roles", "upgrade_to_roles"]

Written = list[tuple[schema.Table, writes.Change]]
"""The committed changes of a call, with their tables, for the change feed."""


@dataclass(frozen=True)
class RoomCall:
    """One call: the caller, the tables, the membership check and the call's named arguments."""

    claims: Claims
    tables: Mapping[str, schema.Table]
    is_member: policies.MemberCheck
    args: Mapping[str, Any]

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self.args.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise DatabaseError("22023", f"{name} must be a non-empty string")
        return value


def invite_hash(token: str) -> str:
    """What ``nbrt_room_invites.token_hash`` stores: the hex SHA-256 of the token (``sha256()`` in PostgreSQL)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _refuse(message: str, hint: str | None = None) -> DatabaseError:
    return DatabaseError("42501", message, hint=hint)


def _user(call: RoomCall) -> str:
    user_id = call.claims.user_id
    if call.claims.role != AUTHENTICATED or user_id is None:
        raise _refuse("only a signed-in user can join a room", "sign in (anonymously is enough) and try again")
    return user_id


def _room_name(call: RoomCall) -> str:
    room = call.text("room")
    assert room is not None
    if not re.fullmatch(schema.ROOM_NAME_PATTERN, room):
        raise DatabaseError("22023", "a room name is 1 to 64 letters, digits, '_', '-' or '.'")
    return room


def _definer(user_id: str | None) -> writes.Caller:
    """The functions write as their owner (RLS does not apply), with ``auth.uid()`` still the caller."""
    return writes.Caller(Claims(SERVICE_ROLE), lambda _user, _room: None, Defaults.for_caller(user_id))


def _query(table: schema.Table, **equal: str) -> rest_query.Query:
    params = QueryParams({column: f"eq.{value}" for column, value in equal.items()})
    return rest_query.parse_query(table, params, Headers(), read=False)


def _row(connection: sqlite3.Connection, table: schema.Table, **equal: str) -> dict[str, Any] | None:
    where = " AND ".join(f"{quote(column)} = ?" for column in equal)
    found = connection.execute(f"SELECT * FROM {quote(table.name)} WHERE {where}", list(equal.values())).fetchone()
    return None if found is None else decode_row(table, found)


def _insert(connection: sqlite3.Connection, table: schema.Table, row: dict[str, Any], caller: str) -> Written:
    return [(table, change) for change in writes.insert(connection, table, [row], _definer(caller)).changes]


def _update(
    connection: sqlite3.Connection, table: schema.Table, values: dict[str, Any], caller: str, **key: str
) -> Written:
    result = writes.update(connection, _query(table, **key), values, _definer(caller))
    return [(table, change) for change in result.changes]


def _expired(expires_at: str | None) -> bool:
    return expires_at is not None and datetime.fromisoformat(expires_at) <= datetime.now(UTC)


def _redeem(connection: sqlite3.Connection, call: RoomCall, room: str, token: str, user_id: str) -> tuple[str, Written]:
    """The invite's role, after counting this use; a refusal says what to ask the owner for."""
    invites = call.tables[schema.ROOM_INVITES_TABLE]
    invite = _row(connection, invites, room=room, token_hash=invite_hash(token))
    ask = f"ask an owner of room {room!r} for a new invite"
    if invite is None:
        raise _refuse(f"this invite is not valid for room {room!r}", ask)
    if invite["revoked"]:
        raise _refuse(f"this invite to room {room!r} was revoked", ask)
    if _expired(invite["expires_at"]):
        raise _refuse(f"this invite to room {room!r} has expired", ask)
    if invite["max_uses"] is not None and invite["uses"] >= invite["max_uses"]:
        raise _refuse(f"this invite to room {room!r} has been used up", ask)
    role = str(invite["role"])
    if role not in schema.ROLES:
        raise DatabaseError("22023", f"the invite's role {role!r} is not one of {', '.join(schema.ROLES)}")
    written = _update(connection, invites, {"uses": invite["uses"] + 1}, user_id, id=invite["id"])
    return role, written


def join_room(connection: sqlite3.Connection, call: RoomCall) -> tuple[dict[str, Any], Written]:
    """Enter ``room``: create it (caller = owner), as a member already, with an invite, or because it is open."""
    user_id = _user(call)
    room = _room_name(call)
    members = call.tables[schema.ROOM_MEMBERS_TABLE]
    rooms = call.tables[schema.ROOMS_TABLE]
    profile = {key: call.args[key] for key in ("name", "color") if isinstance(call.args.get(key), str)}
    seen = {**profile, "last_seen": datetime.now(UTC).isoformat()}
    existing = call.is_member(user_id, room)
    if existing is not None:
        written = _update(connection, members, seen, user_id, room=room, user_id=user_id)
        return {"room": room, "role": existing, "created": False}, written
    settings = _row(connection, rooms, name=room)
    written: Written = []
    created = settings is None
    if created:
        written += _insert(connection, rooms, {"name": room, "created_by": user_id}, user_id)
        role = "owner"
    elif call.args.get("invite") is not None:
        token = call.text("invite")
        assert token is not None
        role, redeemed = _redeem(connection, call, room, token, user_id)
        written += redeemed
    elif settings is not None and settings["open_to"] == "signed_in" and settings["open_role"] in ("editor", "viewer"):
        role = str(settings["open_role"])
    else:
        raise _refuse(
            f"room {room!r} is invite-only and you are not a member",
            "ask an owner of the room for an invite (room.invite() in their notebook), then join with "
            "nbrealtime.connect(invite=...)",
        )
    written += _insert(connection, members, {"room": room, "user_id": user_id, "role": role, **seen}, user_id)
    return {"room": room, "role": role, "created": created}, written


def set_role(connection: sqlite3.Connection, call: RoomCall) -> tuple[dict[str, Any], Written]:
    """An owner gives ``member`` the role ``role``; the last owner cannot step down."""
    user_id = _user(call)
    room = _room_name(call)
    member, role = call.text("member"), call.text("role")
    assert member is not None and role is not None
    if role not in schema.ROLES:
        raise DatabaseError("22023", f"role must be one of {', '.join(schema.ROLES)}, not {role!r}")
    if call.is_member(user_id, room) != "owner":
        raise _refuse(f"only an owner of room {room!r} can change roles")
    members = call.tables[schema.ROOM_MEMBERS_TABLE]
    target = _row(connection, members, room=room, user_id=member)
    if target is None:
        raise DatabaseError("P0002", f"{member} is not a member of room {room!r}")
    if target["role"] == "owner" and role != "owner":
        owners = connection.execute(
            f"SELECT COUNT(*) FROM {quote(members.name)} WHERE room = ? AND role = 'owner'", (room,)
        ).fetchone()[0]
        if owners == 1:
            raise _refuse(f"room {room!r} would have no owner", "make someone else an owner first")
    written = _update(connection, members, {"role": role}, user_id, room=room, user_id=member)
    return {"room": room, "user_id": member, "role": role}, written


def predates_roles(connection: sqlite3.Connection) -> bool:
    """Whether the database has rooms from before roles (a members table without ``role``): see
    :func:`upgrade_to_roles`."""
    columns = {row[1] for row in connection.execute(f"PRAGMA table_info({quote(schema.ROOM_MEMBERS_TABLE)})")}
    return bool(columns) and "role" not in columns


def upgrade_to_roles(connection: sqlite3.Connection) -> None:
    """Rooms made before roles keep working as they did: their members become editors and whoever created the room
    its owner (the new ``role`` column would otherwise make everyone a viewer of an ownerless room).  The migration
    does the same on PostgreSQL (``pgsql_access.upgrade_to_roles_sql``)."""
    members, rooms = quote(schema.ROOM_MEMBERS_TABLE), quote(schema.ROOMS_TABLE)
    with contextlib.closing(connection.cursor()) as cursor:
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(f"UPDATE {members} SET role = 'editor'")
        cursor.execute(
            f"UPDATE {members} SET role = 'owner' WHERE EXISTS "
            f"(SELECT 1 FROM {rooms} AS r WHERE r.name = {members}.room AND r.created_by = {members}.user_id)"
        )
        cursor.execute("COMMIT")


FUNCTIONS: dict[str, Callable[[sqlite3.Connection, RoomCall], tuple[dict[str, Any], Written]]] = {
    schema.JOIN_ROOM_FUNCTION: join_room,
    schema.SET_ROLE_FUNCTION: set_role,
}
"""Every function ``/rest/v1/rpc/`` serves, by name (the names of the PostgreSQL functions)."""
