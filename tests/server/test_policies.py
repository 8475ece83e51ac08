"""Row policies: SQL and Python forms agree, and the shared access matrix holds through the data API."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nbrealtime import schema
from nbrealtime.launcher import ServerProcess, start_server
from nbrealtime.server import policies, storage
from nbrealtime.server.tokens import Claims
from tests.policy_cases import ACTORS, BUILTIN_CASES, A, B, PolicyCase, Row, resolve, scenario
from tests.server.rest_support import ALICE, BOB, headers, mint

SCHEMA_FILE = Path(__file__).with_name("policy_shorthands.toml")
USER_IDS = {"A": ALICE, "B": BOB}
CLAIMS = {
    "anon": Claims("anon"),
    "A": Claims("authenticated", ALICE),
    "B": Claims("authenticated", BOB),
    "service_role": Claims("service_role"),
}


# ---------------------------------------------------------------------------------------------------- unit


@pytest.fixture
def memory_db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.row_factory = sqlite3.Row
    tables = [*schema.BUILTIN_TABLES, *schema.load_schema_file(SCHEMA_FILE)]
    storage.create_tables(connection, tables)
    yield connection
    connection.close()


def _insert(connection: sqlite3.Connection, table: schema.Table, values: dict[str, Any]) -> None:
    row = storage.apply_defaults(table, values, storage.Defaults.for_caller(None))
    stored = {name: storage.encode(table.column(name), value) for name, value in row.items()}
    names = ", ".join(storage.quote(name) for name in stored)
    connection.execute(
        f"INSERT INTO {storage.quote(table.name)} ({names}) VALUES ({', '.join('?' for _ in stored)})",
        tuple(stored.values()),
    )


def test_sql_and_python_policies_select_the_same_rows(memory_db: sqlite3.Connection) -> None:
    tables = {table.name: table for table in [*schema.BUILTIN_TABLES, *schema.load_schema_file(SCHEMA_FILE)]}
    members = tables[schema.ROOM_MEMBERS_TABLE]
    _insert(memory_db, members, {"room": "r1", "user_id": ALICE, "role": "editor"})
    _insert(memory_db, members, {"room": "r2", "user_id": BOB})  # a viewer
    _insert(memory_db, members, {"room": "r3", "user_id": BOB, "role": "owner"})
    notes = tables["nbrt_notifications"]
    for n, (recipient, sender, room) in enumerate(itertools.product((ALICE, BOB), (ALICE, BOB), ("r1", "r2"))):
        _insert(memory_db, notes, {"room": room, "recipient": recipient, "sender": sender, "title": f"n{n}"})
    for name in ("r1", "r2", "r3"):
        _insert(memory_db, tables["boards"], {"room": name, "id": "x"})
        _insert(memory_db, tables["diary"], {"id": name, "owner": ALICE if name == "r1" else BOB, "body": "b"})

    def is_member(user_id: str | None, room: str) -> str | None:
        row = memory_db.execute(
            "SELECT role FROM nbrt_room_members WHERE room = ? AND user_id = ?", (room, user_id)
        ).fetchone()
        return None if row is None else row[0]

    checked = 0
    for table in (notes, members, tables["boards"], tables["diary"], tables["guestbook"]):
        rows = memory_db.execute(f"SELECT rowid AS _rowid, * FROM {table.name}").fetchall()
        for operation, claims in itertools.product(schema.OPERATIONS, CLAIMS.values()):
            where, params = policies.policy_sql(table, operation, claims)
            in_sql = {row[0] for row in memory_db.execute(f"SELECT rowid FROM {table.name} WHERE {where}", params)}
            in_python = {
                row["_rowid"]
                for row in rows
                if policies.row_allowed(table, operation, storage.decode_row(table, row), claims, is_member)
            }
            assert in_sql == in_python, (table.name, operation, claims)
            checked += len(rows)
    assert checked > 100


def test_row_allowed_atoms() -> None:
    notes = schema.builtin_tables()["nbrt_notifications"]
    row = {"recipient": ALICE, "sender": BOB, "room": "r1"}
    never = lambda user, room: None  # noqa: E731
    always = lambda user, room: "editor"  # noqa: E731
    assert policies.row_allowed(notes, "select", row, CLAIMS["A"], never)
    assert policies.row_allowed(notes, "select", row, CLAIMS["B"], never)
    assert not policies.row_allowed(notes, "select", row, Claims("authenticated", str(BOB).replace("b", "c")), never)
    assert not policies.row_allowed(notes, "select", row, CLAIMS["anon"], always)
    assert policies.row_allowed(notes, "insert", row, CLAIMS["B"], always)
    assert not policies.row_allowed(notes, "insert", row, CLAIMS["B"], never)  # room:room needs membership
    assert not policies.row_allowed(notes, "insert", row, CLAIMS["A"], always)  # owner:sender
    assert policies.row_allowed(notes, "delete", {}, CLAIMS["service_role"], never)
    assert not policies.row_allowed(notes, "select", {"room": "r1"}, CLAIMS["A"], always)  # owner column missing
    upper = {**row, "recipient": ALICE.upper()}
    assert policies.row_allowed(notes, "update", upper, CLAIMS["A"], never)  # uuids compare as uuids


def test_policy_violation_status_depends_on_role() -> None:
    table = schema.builtin_tables()["nbrt_rooms"]
    with pytest.raises(policies.PolicyViolation) as anon:
        policies.check_row(table, "insert", {"name": "r"}, CLAIMS["anon"], lambda u, r: None)
    assert (anon.value.code, anon.value.status) == ("42501", 401)
    assert anon.value.message == 'new row violates row-level security policy for table "nbrt_rooms"'
    with pytest.raises(policies.PolicyViolation) as user:
        policies.check_row(table, "update", {"name": "r", "created_by": BOB}, CLAIMS["A"], lambda u, r: "editor")
    assert user.value.status == 403


# ---------------------------------------------------------------------------------------------------- matrix


@pytest.fixture(scope="module")
def matrix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("policies"), ["--port", "0", "--schema", str(SCHEMA_FILE)])
    yield process
    process.stop()


class Runner:
    """Runs a :class:`PolicyCase` through the REST API, starting from empty tables."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.tokens = {
            "anon": server.anon_key,
            "A": mint(server, ALICE),
            "B": mint(server, BOB),
            "service_role": server.service_role_key,
        }
        self.tables = {**schema.builtin_tables(), **{t.name: t for t in schema.load_schema_file(SCHEMA_FILE)}}

    def client(self, actor: str) -> httpx.Client:
        return httpx.Client(base_url=f"{self.server.url}/rest/v1", headers=headers(self.server, self.tokens[actor]))

    @staticmethod
    def _params(key: dict[str, Any]) -> dict[str, str]:
        return {column: f"eq.{value}" for column, value in key.items()}

    def reset(self, rows: tuple[Row, ...]) -> None:
        with self.client("service_role") as admin:
            for name in self.tables:
                admin.delete(f"/{name}").raise_for_status()
            for row in rows:
                response = admin.post(f"/{row.table}", json=resolve(row.values, USER_IDS))
                assert response.status_code == 201, response.text

    def stored(self, table: str, key: dict[str, Any]) -> list[dict[str, Any]]:
        with self.client("service_role") as admin:
            response = admin.get(f"/{table}", params=self._params(key))
            response.raise_for_status()
            return response.json()

    def run(self, case: PolicyCase) -> bool:
        """Perform the case; return whether it took effect (and check refusals look like PostgREST's)."""
        self.reset(case.setup)
        row = resolve(case.row, USER_IDS)
        key_columns = self.tables[case.table].primary_key
        with self.client(case.actor) as client:
            if case.operation == "select":
                response = client.get(f"/{case.table}", params=self._params(row))
                assert response.status_code == 200, response.text
                return len(response.json()) == 1
            if case.operation == "insert":
                response = client.post(f"/{case.table}", json=row, headers={"Prefer": "return=minimal"})
                if response.status_code != 201:
                    assert response.status_code == (401 if case.actor == "anon" else 403), response.text
                    assert response.json()["code"] == "42501"
                    return False
                return True
            if case.operation == "delete":
                response = client.delete(f"/{case.table}", params=self._params(row))
                assert response.status_code == 204, response.text
                return not self.stored(case.table, row)
            changes = resolve(case.changes, USER_IDS)
            response = client.patch(f"/{case.table}", params=self._params(row), json=changes)
            if response.status_code != 204:
                assert response.status_code == (401 if case.actor == "anon" else 403), response.text
                assert response.json()["code"] == "42501"
                return False
            new_key = {column: changes.get(column, row.get(column)) for column in key_columns if column in row}
            after = self.stored(case.table, new_key)
            return len(after) == 1 and all(after[0][column] == value for column, value in changes.items())


@pytest.fixture(scope="module")
def runner(matrix_server: ServerProcess) -> Runner:
    return Runner(matrix_server)


NOTE = Row("wall", {"id": "w1", "body": "hi"})
DIARY_A = Row("diary", {"id": "d1", "owner": A, "body": "secret"})
BOARD = Row("boards", {"room": "r1", "id": "b1", "body": "x"})
A_IN_R1 = Row("nbrt_room_members", {"room": "r1", "user_id": A, "role": "editor"})
A_VIEWS_R1 = Row("nbrt_room_members", {"room": "r1", "user_id": A, "role": "viewer"})
NEWS = Row("news", {"id": 7, "body": "hello"})
ENTRY_A = Row("guestbook", {"id": "g1", "author": A, "message": "hi"})
SIGNED_IN = ("A", "B", "service_role")
ONLY_A = ("A", "service_role")

USER_CASES: list[PolicyCase] = [
    *scenario("read the wall", "wall", "select", {"id": "w1"}, allowed=SIGNED_IN, setup=(NOTE,)),
    *scenario("write on the wall", "wall", "insert", {"id": "w2", "body": "x"}, allowed=SIGNED_IN),
    *scenario("edit the wall", "wall", "update", {"id": "w1"}, changes={"body": "y"}, allowed=SIGNED_IN, setup=(NOTE,)),
    *scenario("read A's diary", "diary", "select", {"id": "d1"}, allowed=ONLY_A, setup=(DIARY_A,)),
    *scenario("write A's diary", "diary", "insert", DIARY_A.values, allowed=ONLY_A),
    *scenario(
        "give A's diary to B",
        "diary",
        "update",
        {"id": "d1"},
        changes={"owner": B},
        allowed=("service_role",),
        setup=(DIARY_A,),
    ),
    *scenario("delete A's diary", "diary", "delete", {"id": "d1"}, allowed=ONLY_A, setup=(DIARY_A,)),
    *scenario("read a board", "boards", "select", {"room": "r1", "id": "b1"}, allowed=ONLY_A, setup=(A_IN_R1, BOARD)),
    *scenario("pin on a board", "boards", "insert", BOARD.values, allowed=ONLY_A, setup=(A_IN_R1,)),
    *scenario(
        "a viewer reads a board",
        "boards",
        "select",
        {"room": "r1", "id": "b1"},
        allowed=ONLY_A,
        setup=(A_VIEWS_R1, BOARD),
    ),
    *scenario(
        "a viewer cannot pin on a board",
        "boards",
        "insert",
        BOARD.values,
        allowed=("service_role",),
        setup=(A_VIEWS_R1,),
    ),
    *scenario("read the news", "news", "select", {"id": 7}, allowed=ACTORS, setup=(NEWS,)),
    *scenario("publish news", "news", "insert", {"id": 8, "body": "x"}, allowed=("service_role",)),
    *scenario(
        "edit news", "news", "update", {"id": 7}, changes={"body": "y"}, allowed=("service_role",), setup=(NEWS,)
    ),
    *scenario("sign the guestbook", "guestbook", "insert", {"id": "g2", "message": "hi"}, allowed=ACTORS),
    *scenario(
        "fix A's entry",
        "guestbook",
        "update",
        {"id": "g1"},
        changes={"message": "hey"},
        allowed=ONLY_A,
        setup=(ENTRY_A,),
    ),
    *scenario("delete A's entry", "guestbook", "delete", {"id": "g1"}, allowed=("service_role",), setup=(ENTRY_A,)),
]


@pytest.mark.parametrize("case", BUILTIN_CASES + USER_CASES, ids=lambda case: case.name)
def test_access_matrix(runner: Runner, case: PolicyCase) -> None:
    assert runner.run(case) is case.allowed


def test_user_b_cannot_read_a_notifications_with_any_filter(runner: Runner) -> None:
    n1 = "00000000-0000-4000-8000-0000000000a1"
    runner.reset(
        (
            A_IN_R1,
            Row("nbrt_room_members", {"room": "r1", "user_id": B, "role": "viewer"}),
            Row("nbrt_notifications", {"id": n1, "room": "r1", "recipient": A, "sender": A, "title": "private"}),
        )
    )
    tricks = [
        {},
        {"id": f"eq.{n1}"},
        {"or": f"(id.eq.{n1},recipient.eq.{BOB})"},
        {"or": f"(recipient.neq.{BOB},title.eq.private)"},
        {"or": f"(title.eq.private,and(id.eq.{n1},sender.eq.{BOB}))"},
        {"not.and": "(title.eq.nothing,id.is.null)"},
        {"title": "like.*"},
        {"recipient": f"eq.{ALICE}"},
    ]
    with runner.client("B") as bob, runner.client("A") as alice:
        for params in tricks:
            response = bob.get("/nbrt_notifications", params=params)
            assert response.status_code == 200 and response.json() == [], params
            assert len(alice.get("/nbrt_notifications", params=params).json()) == 1, params  # the trick does match
        counted = bob.get("/nbrt_notifications", headers={"Prefer": "count=exact"})
        assert counted.headers["content-range"] == "*/0"
        assert bob.patch("/nbrt_notifications", json={"read": True}).status_code == 204
        assert bob.delete("/nbrt_notifications").status_code == 204
        assert [row["read"] for row in alice.get("/nbrt_notifications").json()] == [False]
