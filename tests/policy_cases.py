"""Who may do what to the built-in tables: the expected access matrix, as data that any backend's test can run.

The PostgreSQL test (``test_pgsql.py``) runs every case against the generated migration; the embedded server's
tests run the same cases through its REST API, so the two backends are held to one matrix.  No SQL here.

A case is one actor trying one operation on one row, after some rows were written by ``service_role``:

* ``select``: read ``table`` filtered on the primary key in ``row``; allowed means the row comes back.
* ``insert``: insert ``row`` (without asking for it back: ``Prefer: return=minimal``); allowed means it is stored,
  denied means the backend refuses it.
* ``update``: set ``changes`` on the row whose primary key is ``row``; allowed means exactly that row changed,
  denied means it is refused or nothing changed.
* ``delete``: delete the row whose primary key is ``row``; allowed means it is gone, denied means it is still there.

``A`` and ``B`` are two signed-in users (a backend maps them to the ids it gave them), ``anon`` holds only the anon
key, ``service_role`` the service key (bypasses row policies).  Each case starts from an empty database.  Room roles
come from the setup rows: ``A_IN_R1`` makes A an editor of room r1, ``A_OWNS_R1`` an owner, ``A_VIEWS_R1`` a viewer;
B is in no room unless a setup row says so (the signed-in non-member).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ACTORS",
    "BUILTIN_CASES",
    "CHANNEL_ACCESS",
    "JOIN_CASES",
    "SET_ROLE_CASES",
    "STANDINGS",
    "JoinCase",
    "PolicyCase",
    "Row",
    "SetRoleCase",
    "User",
    "Value",
    "resolve",
    "scenario",
]

Operation = Literal["select", "insert", "update", "delete"]
Actor = Literal["anon", "A", "B", "service_role"]
ACTORS: tuple[Actor, ...] = ("anon", "A", "B", "service_role")


@dataclass(frozen=True)
class User:
    """A signed-in test user by name (``A`` or ``B``); a runner replaces it with that user's id (a UUID)."""

    name: Literal["A", "B"]


A = User("A")
B = User("B")

Value = str | int | bool | None | User | Mapping[str, object]


@dataclass(frozen=True)
class Row:
    """A row that exists before the case runs (written with the service role)."""

    table: str
    values: Mapping[str, Value]


@dataclass(frozen=True)
class PolicyCase:
    """One actor, one operation, one row: whether the backend lets it through."""

    name: str
    table: str
    operation: Operation
    actor: Actor
    allowed: bool
    row: Mapping[str, Value]
    changes: Mapping[str, Value] = field(default_factory=dict)
    setup: tuple[Row, ...] = ()


def resolve(values: Mapping[str, Value], user_ids: Mapping[str, str]) -> dict[str, object]:
    """``values`` with every :class:`User` replaced by its id from ``user_ids`` (``{"A": uuid, "B": uuid}``)."""
    return {key: user_ids[value.name] if isinstance(value, User) else value for key, value in values.items()}


def scenario(
    what: str,
    table: str,
    operation: Operation,
    row: Mapping[str, Value],
    *,
    allowed: Iterable[Actor],
    changes: Mapping[str, Value] | None = None,
    setup: Iterable[Row] = (),
) -> list[PolicyCase]:
    """One situation tried by every actor: ``allowed`` names those who pass, everybody else must be refused."""
    passing = set(allowed)
    unknown = passing - set(ACTORS)
    if unknown:
        raise ValueError(f"unknown actors {sorted(unknown)}")
    return [
        PolicyCase(
            name=f"{table}: {what} [{actor}]",
            table=table,
            operation=operation,
            actor=actor,
            allowed=actor in passing,
            row=row,
            changes=dict(changes or {}),
            setup=tuple(setup),
        )
        for actor in ACTORS
    ]


# ---------------------------------------------------------------------------------------------------- rows

N1 = "00000000-0000-4000-8000-000000000001"  # notification from B to A
N2 = "00000000-0000-4000-8000-000000000002"  # notification from A to A
N3 = "00000000-0000-4000-8000-000000000003"  # a new notification

PROFILE_A = Row("nbrt_profiles", {"id": A, "name": "Ada", "color": "#e11d48"})
ROOM_R1 = Row("nbrt_rooms", {"name": "r1", "created_by": A})
A_IN_R1 = Row("nbrt_room_members", {"room": "r1", "user_id": A, "role": "editor"})
A_OWNS_R1 = Row("nbrt_room_members", {"room": "r1", "user_id": A, "role": "owner"})
A_VIEWS_R1 = Row("nbrt_room_members", {"room": "r1", "user_id": A, "role": "viewer"})
B_IN_R1 = Row("nbrt_room_members", {"room": "r1", "user_id": B, "role": "editor"})
I1 = "00000000-0000-4000-8000-0000000000e1"
INVITE = Row("nbrt_room_invites", {"id": I1, "room": "r1", "token_hash": "ab" * 32, "role": "editor", "created_by": A})
NOTE_B_TO_A = Row("nbrt_notifications", {"id": N1, "room": "r1", "recipient": A, "sender": B, "title": "from B"})
NOTE_A_TO_A = Row("nbrt_notifications", {"id": N2, "room": "r1", "recipient": A, "sender": A, "title": "to self"})
CELL = Row("nbrt_cells", {"room": "r1", "name": "c1", "snapshot": "AAE="})
CELL_UPDATE = Row("nbrt_cell_updates", {"seq": 1000, "room": "r1", "cell": "c1", "data": "AQID"})
NOTEBOOK = Row("nbrt_notebooks", {"room": "r1", "id": "n1", "name": "analysis.ipynb", "snapshot": "AAE="})
NOTEBOOK_UPDATE = Row("nbrt_notebook_updates", {"seq": 1000, "room": "r1", "notebook": "n1", "data": "AQID"})
NOTEBOOK_OUTPUT = Row(
    "nbrt_notebook_outputs", {"room": "r1", "notebook": "n1", "id": "o1", "output": {"output_type": "x"}, "bytes": 9}
)
COLLECTION_ROW = Row("nbrt_collection_rows", {"room": "r1", "collection": "todos", "id": "t1", "data": {"title": "x"}})

EVERYONE_SIGNED_IN: tuple[Actor, ...] = ("A", "B", "service_role")
ONLY_A: tuple[Actor, ...] = ("A", "service_role")
NOBODY: tuple[Actor, ...] = ("service_role",)

_NOTES = (A_IN_R1, B_IN_R1, NOTE_B_TO_A, NOTE_A_TO_A)


def _room_table_cases(
    table: str, existing: Row, new: Mapping[str, Value], change: Mapping[str, Value]
) -> list[PolicyCase]:
    """``room:room`` on every operation: only members of the row's room (A is, B is not) may touch it."""
    key = {column: existing.values[column] for column in _KEYS[table]}
    return [
        *scenario("a viewer reads a room row", table, "select", key, allowed=ONLY_A, setup=(A_VIEWS_R1, existing)),
        *scenario("a viewer cannot add a room row", table, "insert", new, allowed=NOBODY, setup=(A_VIEWS_R1,)),
        *scenario(
            "a viewer cannot change a room row",
            table,
            "update",
            key,
            changes=change,
            allowed=NOBODY,
            setup=(A_VIEWS_R1, existing),
        ),
        *scenario(
            "a viewer cannot delete a room row", table, "delete", key, allowed=NOBODY, setup=(A_VIEWS_R1, existing)
        ),
        *scenario("an owner adds a room row", table, "insert", new, allowed=ONLY_A, setup=(A_OWNS_R1,)),
        *scenario("a member reads a room row", table, "select", key, allowed=ONLY_A, setup=(A_IN_R1, existing)),
        *scenario("a member adds a room row", table, "insert", new, allowed=ONLY_A, setup=(A_IN_R1,)),
        *scenario(
            "a member changes a room row",
            table,
            "update",
            key,
            changes=change,
            allowed=ONLY_A,
            setup=(A_IN_R1, existing),
        ),
        *scenario(
            "a member cannot move a row to a room they are not in",
            table,
            "update",
            key,
            changes={"room": "r2"},
            allowed=NOBODY,
            setup=(A_IN_R1, existing),
        ),
        *scenario("a member deletes a room row", table, "delete", key, allowed=ONLY_A, setup=(A_IN_R1, existing)),
    ]


_KEYS = {
    "nbrt_cells": ("room", "name"),
    "nbrt_cell_updates": ("seq",),
    "nbrt_notebooks": ("room", "id"),
    "nbrt_notebook_updates": ("seq",),
    "nbrt_notebook_outputs": ("room", "notebook", "id"),
    "nbrt_collection_rows": ("room", "collection", "id"),
}

BUILTIN_CASES: list[PolicyCase] = [
    # profiles: readable by every signed-in user, written only by their owner
    *scenario("read a profile", "nbrt_profiles", "select", {"id": A}, allowed=EVERYONE_SIGNED_IN, setup=(PROFILE_A,)),
    *scenario("create A's profile", "nbrt_profiles", "insert", PROFILE_A.values, allowed=ONLY_A),
    *scenario(
        "rename A's profile",
        "nbrt_profiles",
        "update",
        {"id": A},
        changes={"name": "Ada L."},
        allowed=ONLY_A,
        setup=(PROFILE_A,),
    ),
    *scenario(
        "hand A's profile to B",
        "nbrt_profiles",
        "update",
        {"id": A},
        changes={"id": B},
        allowed=NOBODY,
        setup=(PROFILE_A,),
    ),
    *scenario("delete A's profile", "nbrt_profiles", "delete", {"id": A}, allowed=ONLY_A, setup=(PROFILE_A,)),
    # rooms: created only by nbrt_join_room; seen by their members; settings changed by owners
    *scenario("read a room", "nbrt_rooms", "select", {"name": "r1"}, allowed=ONLY_A, setup=(ROOM_R1, A_VIEWS_R1)),
    *scenario("open a room by hand", "nbrt_rooms", "insert", {"name": "r2"}, allowed=NOBODY),
    *scenario("open a room in A's name", "nbrt_rooms", "insert", {"name": "r3", "created_by": A}, allowed=NOBODY),
    *scenario(
        "an owner opens the room to everyone signed in",
        "nbrt_rooms",
        "update",
        {"name": "r1"},
        changes={"open_to": "signed_in", "open_role": "viewer"},
        allowed=ONLY_A,
        setup=(ROOM_R1, A_OWNS_R1, B_IN_R1),
    ),
    *scenario(
        "an editor cannot open the room",
        "nbrt_rooms",
        "update",
        {"name": "r1"},
        changes={"open_to": "signed_in"},
        allowed=NOBODY,
        setup=(ROOM_R1, A_IN_R1),
    ),
    *scenario(
        "rename a room",
        "nbrt_rooms",
        "update",
        {"name": "r1"},
        changes={"name": "r1-renamed"},
        allowed=NOBODY,
        setup=(ROOM_R1, A_OWNS_R1),
    ),
    *scenario(
        "an owner deletes the room",
        "nbrt_rooms",
        "delete",
        {"name": "r1"},
        allowed=ONLY_A,
        setup=(ROOM_R1, A_OWNS_R1, B_IN_R1),
    ),
    *scenario(
        "an editor cannot delete the room",
        "nbrt_rooms",
        "delete",
        {"name": "r1"},
        allowed=NOBODY,
        setup=(ROOM_R1, A_IN_R1),
    ),
    # room members: visible to members of the same room; added by nbrt_join_room only; roles by nbrt_set_role only
    *scenario(
        "read A's membership (B not in the room)",
        "nbrt_room_members",
        "select",
        {"room": "r1", "user_id": A},
        allowed=ONLY_A,
        setup=(A_IN_R1,),
    ),
    *scenario(
        "read A's membership (B in the room too)",
        "nbrt_room_members",
        "select",
        {"room": "r1", "user_id": A},
        allowed=EVERYONE_SIGNED_IN,
        setup=(A_IN_R1, B_IN_R1),
    ),
    *scenario("A adds themselves to a room", "nbrt_room_members", "insert", A_IN_R1.values, allowed=NOBODY),
    *scenario(
        "an owner adds B by hand",
        "nbrt_room_members",
        "insert",
        B_IN_R1.values,
        allowed=NOBODY,
        setup=(A_OWNS_R1,),
    ),
    *scenario(
        "change A's name in the room",
        "nbrt_room_members",
        "update",
        {"room": "r1", "user_id": A},
        changes={"name": "Ada"},
        allowed=ONLY_A,
        setup=(A_IN_R1, B_IN_R1),
    ),
    *scenario(
        "a viewer makes themselves owner",
        "nbrt_room_members",
        "update",
        {"room": "r1", "user_id": A},
        changes={"role": "owner"},
        allowed=NOBODY,
        setup=(A_VIEWS_R1,),
    ),
    *scenario(
        "an owner changes B's role by hand",
        "nbrt_room_members",
        "update",
        {"room": "r1", "user_id": B},
        changes={"role": "viewer"},
        allowed=NOBODY,
        setup=(A_OWNS_R1, B_IN_R1),
    ),
    *scenario(
        "A leaves a room",
        "nbrt_room_members",
        "delete",
        {"room": "r1", "user_id": A},
        allowed=ONLY_A,
        setup=(A_IN_R1, B_IN_R1),
    ),
    *scenario(
        "an owner removes B",
        "nbrt_room_members",
        "delete",
        {"room": "r1", "user_id": B},
        allowed=EVERYONE_SIGNED_IN,
        setup=(A_OWNS_R1, B_IN_R1),
    ),
    *scenario(
        "an editor cannot remove B",
        "nbrt_room_members",
        "delete",
        {"room": "r1", "user_id": B},
        allowed=("B", "service_role"),
        setup=(A_IN_R1, B_IN_R1),
    ),
    # invites: everything about them is the room owners' business
    *scenario(
        "an owner lists invites",
        "nbrt_room_invites",
        "select",
        {"id": I1},
        allowed=ONLY_A,
        setup=(A_OWNS_R1, B_IN_R1, INVITE),
    ),
    *scenario(
        "an editor cannot list invites",
        "nbrt_room_invites",
        "select",
        {"id": I1},
        allowed=NOBODY,
        setup=(A_IN_R1, B_IN_R1, INVITE),
    ),
    *scenario(
        "an owner invites", "nbrt_room_invites", "insert", INVITE.values, allowed=ONLY_A, setup=(A_OWNS_R1, B_IN_R1)
    ),
    *scenario(
        "an editor cannot invite", "nbrt_room_invites", "insert", INVITE.values, allowed=NOBODY, setup=(A_IN_R1,)
    ),
    *scenario(
        "an owner revokes an invite",
        "nbrt_room_invites",
        "update",
        {"id": I1},
        changes={"revoked": True},
        allowed=ONLY_A,
        setup=(A_OWNS_R1, B_IN_R1, INVITE),
    ),
    *scenario(
        "nobody resets an invite's uses",
        "nbrt_room_invites",
        "update",
        {"id": I1},
        changes={"uses": 0},
        allowed=NOBODY,
        setup=(A_OWNS_R1, INVITE),
    ),
    *scenario(
        "an owner deletes an invite",
        "nbrt_room_invites",
        "delete",
        {"id": I1},
        allowed=ONLY_A,
        setup=(A_OWNS_R1, B_IN_R1, INVITE),
    ),
    # notifications: seen by recipient and sender; sent by room members in their own name; handled by the recipient
    *scenario(
        "read B's note to A", "nbrt_notifications", "select", {"id": N1}, allowed=EVERYONE_SIGNED_IN, setup=_NOTES
    ),
    *scenario("read A's note to A", "nbrt_notifications", "select", {"id": N2}, allowed=ONLY_A, setup=_NOTES),
    *scenario(
        "A sends B a note",
        "nbrt_notifications",
        "insert",
        {"id": N3, "room": "r1", "recipient": B, "sender": A, "title": "hello"},
        allowed=ONLY_A,
        setup=(A_IN_R1,),
    ),
    *scenario(
        "a viewer sends B a note",
        "nbrt_notifications",
        "insert",
        {"id": N3, "room": "r1", "recipient": B, "sender": A, "title": "hello"},
        allowed=ONLY_A,
        setup=(A_VIEWS_R1,),
    ),
    *scenario(
        "send a note in a room the sender is not in",
        "nbrt_notifications",
        "insert",
        {"id": N3, "room": "r1", "recipient": A, "sender": B, "title": "hello"},
        allowed=NOBODY,
        setup=(A_IN_R1,),
    ),
    *scenario(
        "mark B's note to A read",
        "nbrt_notifications",
        "update",
        {"id": N1},
        changes={"read": True},
        allowed=ONLY_A,
        setup=_NOTES,
    ),
    *scenario(
        "mark A's note to A read",
        "nbrt_notifications",
        "update",
        {"id": N2},
        changes={"read": True},
        allowed=ONLY_A,
        setup=_NOTES,
    ),
    *scenario(
        "re-address A's note to B",
        "nbrt_notifications",
        "update",
        {"id": N2},
        changes={"recipient": B},
        allowed=NOBODY,
        setup=_NOTES,
    ),
    *scenario("delete B's note to A", "nbrt_notifications", "delete", {"id": N1}, allowed=ONLY_A, setup=_NOTES),
    *scenario("delete A's note to A", "nbrt_notifications", "delete", {"id": N2}, allowed=ONLY_A, setup=_NOTES),
    # room-scoped data: only members of the room
    *_room_table_cases("nbrt_cells", CELL, {"room": "r1", "name": "c2"}, {"snapshot": "AAI="}),
    *_room_table_cases(
        "nbrt_cell_updates", CELL_UPDATE, {"room": "r1", "cell": "c1", "data": "BAU="}, {"data": "BgA="}
    ),
    *_room_table_cases("nbrt_notebooks", NOTEBOOK, {"room": "r1", "id": "n2", "name": "b.ipynb"}, {"snapshot": "AAI="}),
    *_room_table_cases(
        "nbrt_notebook_updates", NOTEBOOK_UPDATE, {"room": "r1", "notebook": "n1", "data": "BAU="}, {"data": "BgA="}
    ),
    *_room_table_cases(
        "nbrt_notebook_outputs",
        NOTEBOOK_OUTPUT,
        {"room": "r1", "notebook": "n1", "id": "o2", "output": {"output_type": "y"}, "bytes": 9},
        {"bytes": 10},
    ),
    *_room_table_cases(
        "nbrt_collection_rows",
        COLLECTION_ROW,
        {"room": "r1", "collection": "todos", "id": "t2", "data": {"title": "y"}},
        {"data": {"title": "z"}, "version": 2},
    ),
]


# ---------------------------------------------------------------------------------------------------- rooms

TOKEN = "invite-token-0123456789"
TOKEN_HASH = hashlib.sha256(TOKEN.encode()).hexdigest()


def invite(**values: Value) -> Row:
    """An invite to r1 for the token :data:`TOKEN` (role editor unless ``values`` say otherwise)."""
    return Row("nbrt_room_invites", {"room": "r1", "token_hash": TOKEN_HASH, "role": "editor", "created_by": A,
                                     **values})  # fmt: skip


OPEN_R1 = Row("nbrt_rooms", {"name": "r1", "created_by": A, "open_to": "signed_in", "open_role": "viewer"})
B_OWNS_R1 = Row("nbrt_room_members", {"room": "r1", "user_id": B, "role": "owner"})


@dataclass(frozen=True)
class JoinCase:
    """One call of ``nbrt_join_room(args)`` by ``actor``: the role it grants, or None and a piece of the refusal."""

    name: str
    actor: Actor
    args: Mapping[str, Value]
    setup: tuple[Row, ...]
    role: str | None
    refusal: str = ""


JOIN_CASES: list[JoinCase] = [
    JoinCase("the first to join creates the room as owner", "A", {"room": "r2"}, (), "owner"),
    JoinCase("a member comes back in their role", "A", {"room": "r1"}, (ROOM_R1, A_VIEWS_R1), "viewer"),
    JoinCase(
        "an invite-only room refuses a non-member", "B", {"room": "r1"}, (ROOM_R1, A_OWNS_R1), None, "invite-only"
    ),
    JoinCase("anon cannot join", "anon", {"room": "r2"}, (), None, "signed-in"),
    JoinCase("anon cannot join an open room", "anon", {"room": "r1"}, (OPEN_R1, A_OWNS_R1), None, "signed-in"),
    JoinCase(
        "an invite grants its role", "B", {"room": "r1", "invite": TOKEN}, (ROOM_R1, A_OWNS_R1, invite()), "editor"
    ),
    JoinCase(
        "a viewer invite", "B", {"room": "r1", "invite": TOKEN}, (ROOM_R1, A_OWNS_R1, invite(role="viewer")), "viewer"
    ),
    JoinCase(
        "a revoked invite",
        "B",
        {"room": "r1", "invite": TOKEN},
        (ROOM_R1, A_OWNS_R1, invite(revoked=True)),
        None,
        "revoked",
    ),
    JoinCase(
        "an expired invite",
        "B",
        {"room": "r1", "invite": TOKEN},
        (ROOM_R1, A_OWNS_R1, invite(expires_at="2020-01-01T00:00:00+00:00")),
        None,
        "expired",
    ),
    JoinCase(
        "a used-up invite",
        "B",
        {"room": "r1", "invite": TOKEN},
        (ROOM_R1, A_OWNS_R1, invite(max_uses=1, uses=1)),
        None,
        "used up",
    ),
    JoinCase(
        "an invite with uses left",
        "B",
        {"room": "r1", "invite": TOKEN},
        (ROOM_R1, A_OWNS_R1, invite(max_uses=2, uses=1)),
        "editor",
    ),
    JoinCase(
        "a wrong token", "B", {"room": "r1", "invite": "guessed"}, (ROOM_R1, A_OWNS_R1, invite()), None, "not valid"
    ),
    JoinCase(
        "an invite to another room",
        "B",
        {"room": "r1", "invite": TOKEN},
        (ROOM_R1, A_OWNS_R1, invite(room="r2")),
        None,
        "not valid",
    ),
    JoinCase("an open room admits the signed-in in its role", "B", {"room": "r1"}, (OPEN_R1, A_OWNS_R1), "viewer"),
    JoinCase("a bad room name", "A", {"room": "no spaces"}, (), None, "room name"),
]


@dataclass(frozen=True)
class SetRoleCase:
    """One call of ``nbrt_set_role(room r1, member, role)`` by ``actor``: whether it changes the role."""

    name: str
    actor: Actor
    member: User
    role: str
    setup: tuple[Row, ...]
    allowed: bool
    refusal: str = ""


SET_ROLE_CASES: list[SetRoleCase] = [
    SetRoleCase("an owner makes an editor a viewer", "A", B, "viewer", (ROOM_R1, A_OWNS_R1, B_IN_R1), True),
    SetRoleCase("an owner makes an editor an owner", "A", B, "owner", (ROOM_R1, A_OWNS_R1, B_IN_R1), True),
    SetRoleCase(
        "an owner steps down when another owner remains", "A", A, "editor", (ROOM_R1, A_OWNS_R1, B_OWNS_R1), True
    ),
    SetRoleCase("the last owner cannot step down", "A", A, "editor", (ROOM_R1, A_OWNS_R1, B_IN_R1), False, "no owner"),
    SetRoleCase("an editor cannot change roles", "A", B, "viewer", (ROOM_R1, A_IN_R1, B_IN_R1), False, "only an owner"),
    SetRoleCase(
        "a member cannot promote themselves", "B", B, "owner", (ROOM_R1, A_OWNS_R1, B_IN_R1), False, "only an owner"
    ),
    SetRoleCase("anon cannot change roles", "anon", B, "viewer", (ROOM_R1, A_OWNS_R1, B_IN_R1), False, "signed-in"),
    SetRoleCase("no such role", "A", B, "admin", (ROOM_R1, A_OWNS_R1, B_IN_R1), False, "role must be one of"),
    SetRoleCase("not a member", "A", B, "viewer", (ROOM_R1, A_OWNS_R1), False, "is not a member"),
]

Standing = Literal["owner", "editor", "viewer", "outsider", "anon"]
STANDINGS: tuple[Standing, ...] = ("owner", "editor", "viewer", "outsider", "anon")
"""Where an actor stands in room r1: a member in a role, signed in but not a member (a removed member, someone whose
invite expired or was revoked all stand here), or holding only the anon key."""

CHANNEL_ACCESS: dict[str, dict[Standing, tuple[bool, bool]]] = {
    # topic → standing → (may receive: join + hear broadcast and presence, may send: broadcast + track presence)
    "nbrt:r1": {"owner": (True, True), "editor": (True, True), "viewer": (True, True),
                "outsider": (False, False), "anon": (False, False)},
    "nbrt:r1:cells": {"owner": (True, True), "editor": (True, True), "viewer": (True, False),
                      "outsider": (False, False), "anon": (False, False)},
    "nbrt:r1:other": {standing: (False, False) for standing in STANDINGS},
    "r1": {standing: (False, False) for standing in STANDINGS},
}  # fmt: skip
"""The private-channel matrix: the rooms' rules (``schema.CHANNEL_RULES``), and no other private topic is open."""
