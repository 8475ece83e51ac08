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
key, ``service_role`` the service key (bypasses row policies).  Each case starts from an empty database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ACTORS",
    "BUILTIN_CASES",
    "PolicyCase",
    "Row",
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
A_IN_R1 = Row("nbrt_room_members", {"room": "r1", "user_id": A})
B_IN_R1 = Row("nbrt_room_members", {"room": "r1", "user_id": B})
NOTE_B_TO_A = Row("nbrt_notifications", {"id": N1, "room": "r1", "recipient": A, "sender": B, "title": "from B"})
NOTE_A_TO_A = Row("nbrt_notifications", {"id": N2, "room": "r1", "recipient": A, "sender": A, "title": "to self"})
CELL = Row("nbrt_cells", {"room": "r1", "name": "c1", "snapshot": "AAE="})
CELL_UPDATE = Row("nbrt_cell_updates", {"seq": 1000, "room": "r1", "cell": "c1", "data": "AQID"})
NOTEBOOK = Row("nbrt_notebooks", {"room": "r1", "id": "n1", "name": "analysis.ipynb", "snapshot": "AAE="})
NOTEBOOK_UPDATE = Row("nbrt_notebook_updates", {"seq": 1000, "room": "r1", "notebook": "n1", "data": "AQID"})
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
    # rooms: any signed-in user sees and opens rooms; only the creator changes or removes one
    *scenario("read a room", "nbrt_rooms", "select", {"name": "r1"}, allowed=EVERYONE_SIGNED_IN, setup=(ROOM_R1,)),
    *scenario("open a room", "nbrt_rooms", "insert", {"name": "r2"}, allowed=EVERYONE_SIGNED_IN),
    *scenario("open a room in A's name", "nbrt_rooms", "insert", {"name": "r3", "created_by": A}, allowed=ONLY_A),
    *scenario(
        "change A's room",
        "nbrt_rooms",
        "update",
        {"name": "r1"},
        changes={"name": "r1-renamed"},
        allowed=ONLY_A,
        setup=(ROOM_R1,),
    ),
    *scenario("delete A's room", "nbrt_rooms", "delete", {"name": "r1"}, allowed=ONLY_A, setup=(ROOM_R1,)),
    # room members: visible to members of the same room; each user manages only their own membership
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
    *scenario("A joins a room", "nbrt_room_members", "insert", A_IN_R1.values, allowed=ONLY_A),
    *scenario(
        "change A's membership",
        "nbrt_room_members",
        "update",
        {"room": "r1", "user_id": A},
        changes={"name": "Ada"},
        allowed=ONLY_A,
        setup=(A_IN_R1, B_IN_R1),
    ),
    *scenario(
        "remove A from a room",
        "nbrt_room_members",
        "delete",
        {"room": "r1", "user_id": A},
        allowed=ONLY_A,
        setup=(A_IN_R1, B_IN_R1),
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
        "nbrt_collection_rows",
        COLLECTION_ROW,
        {"room": "r1", "collection": "todos", "id": "t2", "data": {"title": "y"}},
        {"data": {"title": "z"}, "version": 2},
    ),
]
