"""The schema file's constraints on written rows, with PostgreSQL's errors: lengths, checks, identity, foreign keys.

SQLite enforces foreign keys itself (every connection has ``PRAGMA foreign_keys=ON``) but only says
``FOREIGN KEY constraint failed``; :func:`integrity_error` finds which key and words it as PostgreSQL does.  Lengths
(``varchar(n)``), ``check (…)`` expressions and ``generated always`` identity columns are checked here, before the
row reaches SQLite.  :func:`seed` inserts the schema file's seed rows through the same checks.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from nbrealtime import checks, schema
from nbrealtime.server.storage import (
    DatabaseError,
    Defaults,
    apply_defaults,
    check_not_null,
    encode,
    pg_text,
    quote,
    unique_violation,
)

__all__ = ["check_row", "integrity_error", "seed"]


@functools.lru_cache(maxsize=256)
def _checks(table: schema.Table) -> tuple[tuple[schema.Column, checks.Check], ...]:
    types = {column.name: column.type if not column.array else "array" for column in table.columns}
    return tuple(
        (column, checks.parse_check(column.check, types)) for column in table.columns if column.check is not None
    )


def _failing_row(table: schema.Table, row: Mapping[str, Any]) -> str:
    return f"Failing row contains ({', '.join(pg_text(c, row.get(c.name)) for c in table.columns)})."


def _type_name(column: schema.Column) -> str:
    kind = "character" if column.padded else "character varying"
    return f"{kind}({column.max_length})"


def check_row(table: schema.Table, row: Mapping[str, Any], given: Iterable[str], *, updating: bool = False) -> None:
    """Raise PostgreSQL's error for the first constraint ``row`` (JSON form) breaks; ``given`` are the columns the
    request itself set (an identity column ``generated always`` refuses them)."""
    named = set(given)
    for column in table.columns:
        if column.identity == "always" and column.name in named:
            if updating:
                raise DatabaseError("428C9", f'column "{column.name}" can only be updated to DEFAULT')
            raise DatabaseError(
                "428C9",
                f'cannot insert a non-DEFAULT value into column "{column.name}"',
                f'Column "{column.name}" is an identity column defined as GENERATED ALWAYS.',
                "Use OVERRIDING SYSTEM VALUE to override.",
            )
        value = row.get(column.name)
        if column.max_length and isinstance(value, str) and len(value.rstrip(" ")) > column.max_length:
            raise DatabaseError("22001", f"value too long for type {_type_name(column)}")
    for column, check in _checks(table):
        if not check.passes(row):
            raise DatabaseError(
                "23514",
                f'new row for relation "{table.name}" violates check constraint "{table.name}_{column.name}_check"',
                _failing_row(table, row),
            )


def _foreign_keys(connection: sqlite3.Connection, table: str) -> list[tuple[str, str, str | None, str]]:
    """``(parent table, child column, parent column or None for its primary key, on delete)`` of ``table``."""
    rows = connection.execute(f"PRAGMA foreign_key_list({quote(table)})").fetchall()
    return [(row[2], row[3], row[4], row[6]) for row in rows]


def _exists(connection: sqlite3.Connection, table: str, column: str | None, value: Any) -> bool:
    if column is None:
        column = next(row[1] for row in connection.execute(f"PRAGMA table_info({quote(table)})") if row[5] == 1)
    sql = f"SELECT 1 FROM {quote(table)} WHERE {quote(column)} = ? LIMIT 1"
    return connection.execute(sql, (value,)).fetchone() is not None


def integrity_error(
    connection: sqlite3.Connection,
    table: schema.Table,
    error: sqlite3.IntegrityError,
    row: Mapping[str, Any],
    *,
    deleting: bool = False,
) -> DatabaseError:
    """PostgreSQL's ``23503`` (which foreign key, which value) or ``23505`` for what SQLite refused."""
    if "FOREIGN KEY" not in str(error):
        return unique_violation(table, error, row)
    if deleting:
        return _still_referenced(connection, table, row)
    for parent, child_column, parent_column, _ in _foreign_keys(connection, table.name):
        column = table.column(child_column)
        value = row.get(child_column)
        if column is None or value is None or _exists(connection, parent, parent_column, encode(column, value)):
            continue
        return DatabaseError(
            "23503",
            f'insert or update on table "{table.name}" violates foreign key constraint '
            f'"{table.name}_{child_column}_fkey"',
            f'Key ({child_column})=({pg_text(column, value)}) is not present in table "{parent}".',
        )
    return DatabaseError("23503", f'insert or update on table "{table.name}" violates a foreign key constraint')


def _still_referenced(connection: sqlite3.Connection, table: schema.Table, row: Mapping[str, Any]) -> DatabaseError:
    names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for child in names:
        for parent, child_column, parent_column, on_delete in _foreign_keys(connection, child):
            if parent != table.name or on_delete not in ("NO ACTION", "RESTRICT"):
                continue
            key = parent_column or table.primary_key[0]
            column = table.column(key)
            if column is None or not _exists(connection, child, child_column, encode(column, row.get(key))):
                continue
            return DatabaseError(
                "23503",
                f'update or delete on table "{table.name}" violates foreign key constraint '
                f'"{child}_{child_column}_fkey" on table "{child}"',
                f'Key ({key})=({pg_text(column, row.get(key))}) is still referenced from table "{child}".',
            )
    return DatabaseError("23503", f'update or delete on table "{table.name}" violates a foreign key constraint')


def seed(connection: sqlite3.Connection, tables: Iterable[schema.Table]) -> None:
    """Insert each table's seed rows unless a row with their primary key exists (one transaction; idempotent)."""
    defaults = Defaults.for_caller(None)
    connection.execute("BEGIN IMMEDIATE")
    try:
        for table in tables:
            for values in table.seeds:
                row = apply_defaults(table, values, defaults)
                stored = {name: encode(table.column(name), value) for name, value in row.items()}  # type: ignore[arg-type]
                check_not_null(table, row)
                check_row(table, row, ())
                names = ", ".join(quote(name) for name in stored)
                marks = ", ".join("?" for _ in stored)
                sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING"
                try:
                    connection.execute(sql, tuple(stored.values()))
                except sqlite3.IntegrityError as error:
                    raise integrity_error(connection, table, error, row) from None
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
