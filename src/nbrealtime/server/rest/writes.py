"""Insert, upsert, update and delete for the data API, inside the caller's transaction.

Each operation checks row policies the way PostgreSQL's row-level security does — rows the caller may not touch are
invisible to UPDATE/DELETE, a new row that fails its check is ``42501`` — and returns the JSON-form rows it wrote
plus the change events to publish once the transaction has committed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from nbrealtime import schema
from nbrealtime.server import constraints, policies
from nbrealtime.server.rest.errors import RestError
from nbrealtime.server.rest.query import Query, unknown_column
from nbrealtime.server.storage import (
    DatabaseError,
    Defaults,
    apply_defaults,
    check_not_null,
    decode_row,
    encode,
    quote,
)
from nbrealtime.server.tokens import Claims

__all__ = ["Caller", "Change", "WriteResult", "delete", "insert", "rows_from_body", "update"]

Event = Literal["INSERT", "UPDATE", "DELETE"]


@dataclass(frozen=True)
class Caller:
    """Who writes: their claims, the room-membership check their policies need, and the transaction's defaults."""

    claims: Claims
    is_member: policies.MemberCheck
    defaults: Defaults


@dataclass(frozen=True)
class Change:
    """One committed row change, in the shape ``ChangeFeed.publish`` takes."""

    event: Event
    record: dict[str, Any] | None
    old_record: dict[str, Any] | None
    table: schema.Table | None = None
    """Set when the change is to another table (a row that ``on delete cascade|set null`` changed)."""


@dataclass
class WriteResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    inserted: int = 0


def _bad_body(message: str = "Empty or invalid json", details: str | None = None) -> RestError:
    return RestError(400, "PGRST102", message, details)


def rows_from_body(
    table: schema.Table, body: Any, columns: Sequence[str] | None, missing_default: bool
) -> list[dict[str, Any]]:
    """The JSON-form values each inserted row *specifies* (defaults are added later).

    As PostgREST: the ``columns`` parameter (or else the keys of the first object) names the inserted columns; a
    named column missing from an object is NULL unless ``Prefer: missing=default``; without ``columns`` every
    object must have the same keys.
    """
    objects = body if isinstance(body, list) else [body]
    if not all(isinstance(item, dict) for item in objects):
        raise _bad_body()
    if columns is None and objects:
        columns = tuple(objects[0])
        for name in columns:
            if table.column(name) is None:
                raise unknown_column(table, name)
        if any(set(item) != set(columns) for item in objects[1:]):
            raise _bad_body("All object keys must match")
    rows = []
    for item in objects:
        row = {}
        for name in columns or ():
            if name in item:
                row[name] = item[name]
            elif not missing_default:
                row[name] = None
        rows.append(row)
    return rows


def _read(connection: sqlite3.Connection, table: schema.Table, rowid: int) -> dict[str, Any]:
    row = connection.execute(f"SELECT * FROM {quote(table.name)} WHERE rowid = ?", (rowid,)).fetchone()
    return decode_row(table, row)


def _stored(table: schema.Table, row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: encode(table.column(name), value) for name, value in row.items()}  # type: ignore[arg-type]


def _insert_row(connection: sqlite3.Connection, table: schema.Table, row: dict[str, Any]) -> dict[str, Any]:
    stored = _stored(table, row)
    if stored:
        names = ", ".join(quote(name) for name in stored)
        marks = ", ".join("?" for _ in stored)
        sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks}) RETURNING rowid"
    else:
        sql = f"INSERT INTO {quote(table.name)} DEFAULT VALUES RETURNING rowid"
    try:
        rowid = connection.execute(sql, tuple(stored.values())).fetchone()[0]
    except sqlite3.IntegrityError as error:
        raise constraints.integrity_error(connection, table, error, row) from None
    return _read(connection, table, rowid)


def _update_row(connection: sqlite3.Connection, table: schema.Table, rowid: int, row: dict[str, Any]) -> dict:
    stored = _stored(table, row)
    assignments = ", ".join(f"{quote(name)} = ?" for name in stored)
    try:
        new_rowid = connection.execute(
            f"UPDATE {quote(table.name)} SET {assignments} WHERE rowid = ? RETURNING rowid",
            (*stored.values(), rowid),
        ).fetchone()[0]
    except sqlite3.IntegrityError as error:
        raise constraints.integrity_error(connection, table, error, row) from None
    return _read(connection, table, new_rowid)


def _conflict_target(table: schema.Table, on_conflict: str | None) -> tuple[str, ...]:
    if not on_conflict:
        return table.primary_key
    target = tuple(name.strip().strip('"') for name in on_conflict.split(","))
    for name in target:
        if table.column(name) is None:
            raise DatabaseError("42703", f'column "{name}" does not exist')
    unique = {table.primary_key} | {(c.name,) for c in table.columns if c.unique}
    if tuple(sorted(target)) not in {tuple(sorted(key)) for key in unique}:
        raise DatabaseError(
            "42P10", "there is no unique or exclusion constraint matching the ON CONFLICT specification"
        )
    return target


def _find(connection: sqlite3.Connection, table: schema.Table, key: Mapping[str, Any]) -> tuple[int, dict] | None:
    if any(value is None for value in key.values()):
        return None  # NULL never conflicts
    where = " AND ".join(f"{quote(name)} = ?" for name in key)
    stored = _stored(table, key)
    row = connection.execute(
        f"SELECT rowid AS _rowid, * FROM {quote(table.name)} WHERE {where}", tuple(stored.values())
    ).fetchone()
    return None if row is None else (row["_rowid"], decode_row(table, row))


def insert(
    connection: sqlite3.Connection,
    table: schema.Table,
    rows: Sequence[dict[str, Any]],
    caller: Caller,
    *,
    resolution: str | None = None,
    on_conflict: str | None = None,
) -> WriteResult:
    """Insert rows; with ``resolution`` (merge-/ignore-duplicates) rows whose conflict key exists are merged/skipped."""
    result = WriteResult()
    target = _conflict_target(table, on_conflict) if resolution else ()
    for given in rows:
        row = apply_defaults(table, given, caller.defaults)
        _stored(table, row)  # type errors (22P02) before constraint errors, as PostgreSQL reports them
        check_not_null(table, row)
        constraints.check_row(table, row, given)
        policies.check_row(table, "insert", row, caller.claims, caller.is_member)
        existing = _find(connection, table, {name: row.get(name) for name in target}) if target else None
        if existing is None:
            record = _insert_row(connection, table, row)
            result.inserted += 1
            result.rows.append(record)
            result.changes.append(Change("INSERT", record, None))
            continue
        if resolution == "ignore-duplicates":
            continue
        rowid, old = existing
        claims, is_member = caller.claims, caller.is_member
        if not (
            policies.row_allowed(table, "update", old, claims, is_member)
            and policies.row_allowed(table, "select", old, claims, is_member)
        ):
            raise policies.PolicyViolation(table, claims)
        merged = {**old, **given}
        check_not_null(table, merged)
        constraints.check_row(table, merged, set(given) - set(target), updating=True)
        policies.check_row(table, "update", merged, claims, is_member)
        record = _update_row(connection, table, rowid, merged)
        result.rows.append(record)
        result.changes.append(Change("UPDATE", record, old))
    return result


def _targets(
    connection: sqlite3.Connection, query: Query, caller: Caller, operation: schema.Operation, max_affected: int | None
) -> list[tuple[int, dict[str, Any]]]:
    """The rows ``query`` selects that the caller may ``operation`` *and* see (PostgreSQL applies both policies)."""
    table = query.table
    where, params = query.filter.to_sql()
    for op in (operation, "select"):
        sql, policy_params = policies.policy_sql(table, op, caller.claims)  # type: ignore[arg-type]
        where += f" AND {sql}"
        params += policy_params
    window, window_params = query.window_sql()
    order, order_params = query.order_sql()
    rows = connection.execute(
        f"SELECT rowid AS _rowid, * FROM {quote(table.name)} WHERE {where}{order}{window}",
        (*params, *order_params, *window_params),
    ).fetchall()
    if max_affected is not None and len(rows) > max_affected:
        raise RestError(
            400,
            "PGRST124",
            "Query result exceeds max-affected preference constraint",
            f"The query affects {len(rows)} rows",
        )
    return [(row["_rowid"], decode_row(table, row)) for row in rows]


def update(
    connection: sqlite3.Connection,
    query: Query,
    values: Mapping[str, Any],
    caller: Caller,
    *,
    max_affected: int | None = None,
) -> WriteResult:
    """PATCH: set ``values`` on every visible, updatable row the filter selects; each new row must pass the check."""
    table = query.table
    for name in values:
        if table.column(name) is None:
            raise unknown_column(table, name)
    result = WriteResult()
    if not values:
        return result
    for rowid, old in _targets(connection, query, caller, "update", max_affected):
        new = {**old, **values}
        _stored(table, new)
        check_not_null(table, new)
        constraints.check_row(table, new, values, updating=True)
        policies.check_row(table, "update", new, caller.claims, caller.is_member)
        record = _update_row(connection, table, rowid, new)
        result.rows.append(record)
        result.changes.append(Change("UPDATE", record, old))
    return result


def delete(
    connection: sqlite3.Connection,
    query: Query,
    caller: Caller,
    *,
    max_affected: int | None = None,
    tables: Mapping[str, schema.Table] | None = None,
) -> WriteResult:
    """DELETE every visible, deletable row the filter selects; the rows its foreign keys cascade to (``tables``
    holds them) change too, and are reported after it, in the order PostgreSQL's WAL has them."""
    result = WriteResult()
    for rowid, old in _targets(connection, query, caller, "delete", max_affected):
        cascaded = _cascaded(connection, tables or {}, query.table, old, set())
        try:
            connection.execute(f"DELETE FROM {quote(query.table.name)} WHERE rowid = ?", (rowid,))
        except sqlite3.IntegrityError as error:
            raise constraints.integrity_error(connection, query.table, error, old, deleting=True) from None
        result.rows.append(old)
        result.changes += [Change("DELETE", None, old), *cascaded]
    return result


def _cascaded(
    connection: sqlite3.Connection,
    tables: Mapping[str, schema.Table],
    table: schema.Table,
    row: Mapping[str, Any],
    seen: set[tuple[str, int]],
) -> list[Change]:
    """The changes SQLite's ``on delete cascade|set null`` will make when ``row`` of ``table`` goes (computed before
    the DELETE, while the rows are still there); a row is reported once even if several paths reach it."""
    changes: list[Change] = []
    for child in tables.values():
        for column in child.columns:
            key = column.references
            if key is None or key.table != table.name or key.on_delete not in ("cascade", "set null"):
                continue
            parent = schema.referenced_column(child, column, tables)
            sql = f"SELECT rowid AS _rowid, * FROM {quote(child.name)} WHERE {quote(column.name)} = ?"
            for found in connection.execute(sql, (encode(parent, row[parent.name]),)).fetchall():
                if (child.name, found["_rowid"]) in seen:
                    continue
                seen.add((child.name, found["_rowid"]))
                old = decode_row(child, found)
                if key.on_delete == "cascade":
                    changes.append(Change("DELETE", None, old, child))
                    changes += _cascaded(connection, tables, child, old, seen)
                else:
                    changes.append(Change("UPDATE", {**old, column.name: None}, old, child))
    return changes
