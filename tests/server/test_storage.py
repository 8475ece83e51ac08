"""Storage: PostgreSQL types round-trip as ``to_jsonb`` renders them, defaults, constraints, and migration."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbrealtime import schema
from nbrealtime.server import storage
from nbrealtime.server.storage import DatabaseError, decode, encode


def col(definition: str) -> schema.Column:
    return schema.parse_column("c", definition)


@pytest.mark.parametrize(
    ("definition", "given", "expected"),
    [
        ("bigint", "42", 42),
        ("integer", 7.0, 7),
        ("boolean", "t", True),
        ("boolean", False, False),
        ("text", 5, "5"),
        ("uuid", "0A11CE00-0000-4000-8000-00000000000A", "0a11ce00-0000-4000-8000-00000000000a"),
        ("jsonb", {"bb": 1, "a": [1, {"y": None, "x": 2}]}, {"a": [1, {"x": 2, "y": None}], "bb": 1}),
        ("json", [1, "two"], [1, "two"]),
        ("timestamptz", "2025-01-02T05:04:05.123456+02:00", "2025-01-02T03:04:05.123456+00:00"),
        ("timestamptz", "2025-01-02 03:04:05Z", "2025-01-02T03:04:05+00:00"),
        ("timestamptz", "2025-01-02T03:04:05.1+00", "2025-01-02T03:04:05.1+00:00"),
        ("timestamp", "2025-01-02T03:04:05.120", "2025-01-02T03:04:05.12"),
        ("date", "2025-01-02", "2025-01-02"),
        ("double precision", "2.5", 2.5),
        ("numeric", "10", 10),
        ("text[]", ["a", "b,c"], ["a", "b,c"]),
        ("text[]", '{a,"b,c",NULL}', ["a", "b,c", None]),
        ("integer[]", [1, "2"], [1, 2]),
        ("bytea", "\\x00ff", "\\x00ff"),
        ("text", None, None),
    ],
)
def test_round_trip_gives_typed_json(definition: str, given: object, expected: object) -> None:
    column = col(definition)
    assert decode(column, encode(column, given)) == expected


@pytest.mark.parametrize(
    ("definition", "given", "code", "message"),
    [
        ("integer", "abc", "22P02", 'invalid input syntax for type integer: "abc"'),
        ("integer", True, "22P02", 'invalid input syntax for type integer: "true"'),
        ("smallint", 40000, "22003", 'value "40000" is out of range for type smallint'),
        ("boolean", "maybe", "22P02", 'invalid input syntax for type boolean: "maybe"'),
        ("uuid", "nope", "22P02", 'invalid input syntax for type uuid: "nope"'),
        ("timestamptz", "yesterday-ish", "22P02", None),
        ("jsonb", None, None, None),
        ("integer[]", "not an array", "22P02", None),
    ],
)
def test_bad_input_is_a_clear_sqlstate(definition: str, given: object, code: str | None, message: str | None) -> None:
    column = col(definition)
    if code is None:
        assert encode(column, given) is None
        return
    with pytest.raises(DatabaseError) as error:
        encode(column, given)
    assert error.value.code == code
    if message:
        assert error.value.message == message


@given(st.integers(-(2**63), 2**63 - 1))
def test_bigints_round_trip(value: int) -> None:
    assert decode(col("bigint"), encode(col("bigint"), value)) == value


@given(st.datetimes(timezones=st.just(UTC)), st.datetimes(timezones=st.just(UTC)))
def test_stored_timestamps_sort_like_time(a: datetime, b: datetime) -> None:
    column = col("timestamptz")
    stored_a, stored_b = encode(column, a.isoformat()), encode(column, b.isoformat())
    assert (stored_a < stored_b) == (a < b)
    assert datetime.fromisoformat(decode(column, stored_a)) == a


def test_defaults_are_evaluated_per_insert() -> None:
    table = schema.builtin_tables()["nbrt_collection_rows"]
    moment = datetime(2025, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
    row = storage.apply_defaults(table, {"room": "r", "collection": "c", "id": "1"}, storage.Defaults(moment, "u1"))
    assert row["data"] == {} and row["version"] == 1 and row["hlc"] == "" and row["updated_by"] == "u1"
    assert decode(table.column("updated_at"), encode(table.column("updated_at"), row["updated_at"])) == (
        "2025-01-02T03:04:05.6+00:00"
    )
    notes = schema.builtin_tables()["nbrt_notifications"]
    first = storage.apply_defaults(notes, {}, storage.Defaults(moment, None))
    second = storage.apply_defaults(notes, {}, storage.Defaults(moment, None))
    assert first["id"] != second["id"] and first["read"] is False and first["kind"] == "info"
    with pytest.raises(DatabaseError) as missing:
        storage.check_not_null(notes, first)
    assert missing.value.code == "23502" and '"room"' in missing.value.message


def test_commit_timestamp_format() -> None:
    assert storage.commit_timestamp(datetime(2025, 1, 2, 3, 4, 5, 678999, tzinfo=UTC)) == "2025-01-02T03:04:05.678Z"


@pytest.fixture
def db_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "db.sqlite3"


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.row_factory = sqlite3.Row
    return connection


def test_migration_adds_tables_and_columns_without_losing_rows(db_path: Path) -> None:
    before = schema.make_table("notes", {"id": "bigserial primary key", "body": "text not null"}, "public")
    connection = _connect(db_path)
    try:
        storage.create_tables(connection, [before])
        connection.execute("INSERT INTO notes (body) VALUES ('kept')")
    finally:
        connection.close()
    after = schema.make_table(
        "notes",
        {
            "id": "bigserial primary key",
            "body": "text not null",
            "pinned": "boolean not null default true",
            "tags": "text[] default '{}'",
            "slug": "text unique",
        },
        "public",
    )
    extra = schema.make_table("extra", {"k": "text primary key"}, "public")
    connection = _connect(db_path)
    try:
        storage.create_tables(connection, [after, extra])
        storage.create_tables(connection, [after, extra])  # idempotent
        row = storage.decode_row(after, connection.execute("SELECT * FROM notes").fetchone())
        assert row == {"id": 1, "body": "kept", "pinned": True, "tags": [], "slug": None}
        connection.execute("INSERT INTO notes (body, slug) VALUES ('a', 's')")
        with pytest.raises(sqlite3.IntegrityError) as duplicate:
            connection.execute("INSERT INTO notes (body, slug) VALUES ('b', 's')")
        error = storage.unique_violation(after, duplicate.value, {"slug": "s"})
        assert (error.code, error.message, error.details) == (
            "23505",
            'duplicate key value violates unique constraint "notes_slug_key"',
            "Key (slug)=(s) already exists.",
        )
        assert connection.execute("SELECT COUNT(*) FROM extra").fetchone()[0] == 0
    finally:
        connection.close()
