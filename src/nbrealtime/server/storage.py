"""SQLite storage for :class:`nbrealtime.schema.Table`: DDL, migration, defaults and the PostgreSQL type codec.

Every value has two forms.  The *JSON form* is what PostgreSQL's ``to_jsonb`` gives (numbers, booleans, nested JSON,
``"2025-01-02T03:04:05.123456+00:00"``) and is what the data API and the change feed send.  The *stored form* is what
SQLite keeps; it is chosen so that SQLite's own comparisons order values as PostgreSQL would (integers as INTEGER,
booleans 0/1, timestamps as fixed-width UTC text, UUIDs lower-case), which lets filters run in SQL and in Python
with the same result.  :func:`encode` goes JSON form → stored form and validates; :func:`decode` goes back.
"""

from __future__ import annotations

import binascii
import dataclasses
import math
import re
import sqlite3
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from nbrealtime import schema

__all__ = [
    "DatabaseError",
    "Defaults",
    "apply_defaults",
    "commit_timestamp",
    "create_tables",
    "decode",
    "decode_row",
    "encode",
    "from_text",
    "pg_type_name",
    "quote",
    "split_list",
    "unique_violation",
]


class DatabaseError(Exception):
    """An error as PostgreSQL would report it: a SQLSTATE ``code``, message, details and hint.

    The data API turns it into PostgREST's error JSON; the status code is derived from ``code`` there.
    """

    def __init__(
        self, code: str, message: str, details: str | list[Any] | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint


# ---------------------------------------------------------------------------------------------------- types

_PG_NAMES = {
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "bool": "boolean",
    "float4": "real",
    "float8": "double precision",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "jsonb": "json",
}
_INT_RANGES = {"int2": 2**15, "int4": 2**31, "int8": 2**63}
_SQLITE_TYPES = {
    "int2": "INTEGER",
    "int4": "INTEGER",
    "int8": "INTEGER",
    "bool": "INTEGER",
    "float4": "REAL",
    "float8": "REAL",
    "numeric": "NUMERIC",
    "bytea": "BLOB",
}
_TRUE = {"t", "true", "y", "yes", "on", "1"}
_FALSE = {"f", "false", "n", "no", "off", "0"}


def pg_type_name(column: schema.Column) -> str:
    """The name PostgreSQL uses in error messages (``integer``, ``timestamp with time zone``, ``text[]``)."""
    name = _PG_NAMES.get(column.type, column.type)
    return f"{name}[]" if column.array else name


def quote(identifier: str) -> str:
    """A SQL identifier.  Only names from a :class:`schema.Table` (already checked) ever reach SQL."""
    return '"' + identifier.replace('"', '""') + '"'


def _invalid(column: schema.Column, value: object) -> DatabaseError:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return DatabaseError("22P02", f'invalid input syntax for type {pg_type_name(column)}: "{text}"')


def _element(column: schema.Column) -> schema.Column:
    return dataclasses.replace(column, array=False)


def from_text(column: schema.Column, text: str) -> Any:
    """The JSON form of a PostgreSQL text literal (a filter value or a default), for :func:`encode`.

    Only json/jsonb and arrays differ from the text itself; the other types accept their text form in :func:`encode`.
    """
    if column.array:
        return _parse_array_literal(column, text)
    if column.type in ("json", "jsonb"):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            raise _invalid(column, text) from None
    return text


def _parse_array_literal(column: schema.Column, text: str) -> list[Any]:
    """A one-dimensional PostgreSQL array literal ``{a,"b,c",NULL}``."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        raise DatabaseError("22P02", f'malformed array literal: "{text}"', 'Array value must start with "{".')
    items = split_list(stripped[1:-1], null_keyword=True)
    return [None if item is None else from_text(_element(column), item) for item in items]


def split_list(text: str, *, null_keyword: bool = False) -> list[str | None]:
    """Split ``a, "b,c", d`` — the inside of ``in.(…)`` and of array literals — at top-level commas.

    Double quotes protect commas, parentheses and blanks; ``\\`` escapes the next character inside quotes.
    Unquoted items are trimmed; with ``null_keyword`` an unquoted ``NULL`` is None (array literal rules).
    An empty text is an empty list.
    """
    items: list[str | None] = []
    if not text.strip():
        return items
    current: list[str] = []
    quoted = was_quoted = escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            if not quoted and not "".join(current).strip():
                current = []
            quoted = not quoted
            was_quoted = True
        elif char == "," and not quoted:
            items.append(_list_item(current, was_quoted, null_keyword))
            current, was_quoted = [], False
        elif not (was_quoted and not quoted and char.isspace()):
            current.append(char)
    items.append(_list_item(current, was_quoted, null_keyword))
    return items


def _list_item(chars: list[str], was_quoted: bool, null_keyword: bool) -> str | None:
    text = "".join(chars)
    if was_quoted:
        return text
    text = text.strip()
    return None if null_keyword and text.lower() == "null" else text


def encode(column: schema.Column, value: Any) -> Any:
    """Validate a JSON-form value for ``column`` and return its stored form (raises ``22P02`` and friends)."""
    if value is None:
        return None
    if column.array:
        if isinstance(value, str):
            value = _parse_array_literal(column, value)
        if not isinstance(value, list):
            raise DatabaseError("22P02", f'malformed array literal: "{orjson.dumps(value).decode()}"')
        element = _element(column)
        items = [decode(element, encode(element, item)) for item in value]
        return orjson.dumps(items).decode()
    return _ENCODERS[column.type](column, value)


def _encode_int(column: schema.Column, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _invalid(column, value)
    if isinstance(value, float):
        if not value.is_integer():
            raise _invalid(column, value)
        value = int(value)
    elif isinstance(value, str):
        if not re.fullmatch(r"\s*[+-]?\d+\s*", value):
            raise _invalid(column, value)
        value = int(value)
    bound = _INT_RANGES[column.type]
    if not -bound <= value < bound:
        raise DatabaseError("22003", f'value "{value}" is out of range for type {pg_type_name(column)}')
    return value


def _encode_float(column: schema.Column, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _invalid(column, value)
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise _invalid(column, value) from None
    if not number.is_finite():
        raise _invalid(column, value)
    if column.type == "numeric" and number == number.to_integral_value():
        return int(number)
    return float(number)


def _encode_bool(column: schema.Column, value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return 1
        if lowered in _FALSE:
            return 0
    raise _invalid(column, value)


def _encode_text(column: schema.Column, value: Any) -> str:
    if isinstance(value, str):
        return value.ljust(column.max_length) if column.padded and column.max_length else value
    if isinstance(value, bool):
        return "true" if value else "false"
    return orjson.dumps(value).decode()


def _encode_uuid(column: schema.Column, value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid(column, value)
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise _invalid(column, value) from None


def _sort_jsonb(value: Any) -> Any:
    """jsonb keeps object keys shorter-first, then bytewise — so its output (and equality) ignores input order."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: (len(key.encode()), key.encode()))
        return {key: _sort_jsonb(value[key]) for key in keys}
    if isinstance(value, list):
        return [_sort_jsonb(item) for item in value]
    return value


def _encode_json(column: schema.Column, value: Any) -> str:
    if column.type == "jsonb":
        value = _sort_jsonb(value)
    return orjson.dumps(value).decode()


def _parse_datetime(column: schema.Column, value: Any) -> datetime:
    if not isinstance(value, str):
        raise _invalid(column, value)
    text = value.strip()
    if re.fullmatch(r"[+-]\d\d", text[-3:]) and re.search(r"\d\d:\d\d(:\d\d(\.\d+)?)?[+-]\d\d$", text):
        text += ":00"  # PostgreSQL's "+00" offset style
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise _invalid(column, value) from None


def _encode_timestamptz(column: schema.Column, value: Any) -> str:
    moment = _parse_datetime(column, value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the session time zone of a Supabase database is UTC
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "+00:00"


def _encode_timestamp(column: schema.Column, value: Any) -> str:
    return _parse_datetime(column, value).replace(tzinfo=None).isoformat(timespec="microseconds")


def _encode_date(column: schema.Column, value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid(column, value)
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        raise _invalid(column, value) from None


def _encode_bytea(column: schema.Column, value: Any) -> bytes:
    if not isinstance(value, str):
        raise _invalid(column, value)
    if value.startswith("\\x"):
        try:
            return binascii.unhexlify(value[2:])
        except binascii.Error:
            raise _invalid(column, value) from None
    return value.encode()


_ENCODERS = {
    "int2": _encode_int,
    "int4": _encode_int,
    "int8": _encode_int,
    "float4": _encode_float,
    "float8": _encode_float,
    "numeric": _encode_float,
    "bool": _encode_bool,
    "text": _encode_text,
    "uuid": _encode_uuid,
    "json": _encode_json,
    "jsonb": _encode_json,
    "timestamptz": _encode_timestamptz,
    "timestamp": _encode_timestamp,
    "date": _encode_date,
    "bytea": _encode_bytea,
}


def _trim_fraction(text: str) -> str:
    """``…05.120000+00:00`` → ``…05.12+00:00``; ``…05.000000`` → ``…05`` (PostgreSQL's ISO output)."""
    match = re.match(r"^(.*?\d\d:\d\d:\d\d)\.(\d+)(.*)$", text)
    if not match:
        return text
    fraction = match.group(2).rstrip("0")
    return f"{match.group(1)}{'.' + fraction if fraction else ''}{match.group(3)}"


def decode(column: schema.Column, stored: Any) -> Any:
    """The JSON form of a stored value, as ``to_jsonb`` renders it."""
    if stored is None:
        return None
    if column.array or column.type in ("json", "jsonb"):
        return orjson.loads(stored)
    kind = column.type
    if kind == "bool":
        return bool(stored)
    if kind in ("timestamptz", "timestamp"):
        return _trim_fraction(stored)
    if kind == "bytea":
        return "\\x" + bytes(stored).hex()
    if kind in ("float4", "float8", "numeric") and isinstance(stored, float) and math.isfinite(stored):
        return int(stored) if kind == "numeric" and stored.is_integer() else stored
    return stored


def decode_row(table: schema.Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row (``sqlite3.Row`` or dict) as a JSON-form dict in column order."""
    return {column.name: decode(column, row[column.name]) for column in table.columns}


def pg_text(column: schema.Column, value: Any) -> str:
    """A JSON-form value as PostgreSQL prints it in error details (``Key (id)=(1)``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


# ---------------------------------------------------------------------------------------------------- defaults


@dataclasses.dataclass(frozen=True)
class Defaults:
    """What default expressions see: ``now()`` is one instant per transaction, ``auth.uid()`` the caller."""

    now: datetime
    user_id: str | None

    @classmethod
    def for_caller(cls, user_id: str | None) -> Defaults:
        return cls(datetime.now(UTC), user_id)


def default_value(column: schema.Column, defaults: Defaults) -> Any:
    """The JSON-form value of ``column``'s default expression, or None."""
    expression = column.default
    if expression is None or expression.lower() == "null":
        return None
    lowered = expression.lower()
    if lowered == "gen_random_uuid()":
        return str(uuid.uuid4())
    if lowered == "auth.uid()":
        return defaults.user_id
    if lowered == "now()":
        return defaults.now.isoformat()
    if lowered in ("true", "false"):
        return lowered == "true"
    if expression.startswith("'"):
        text = expression[1 : expression.rindex("'")].replace("''", "'")
        return from_text(column, text)
    return Decimal(expression) if "." in expression else int(expression)


def apply_defaults(table: schema.Table, values: Mapping[str, Any], defaults: Defaults) -> dict[str, Any]:
    """A full JSON-form row: ``values`` plus the defaults of every column not given.

    Serial columns are left out when not given, so that SQLite numbers them.
    """
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.name in values:
            row[column.name] = values[column.name]
        elif not column.serial:
            value = default_value(column, defaults)
            row[column.name] = float(value) if isinstance(value, Decimal) else value
    return row


def check_not_null(table: schema.Table, row: Mapping[str, Any]) -> None:
    """``23502`` for a missing required value (serial columns are filled in by SQLite)."""
    for column in table.columns:
        required = column.not_null or column.name in table.primary_key
        if required and row.get(column.name) is None and not (column.serial and column.name not in row):
            shown = ", ".join(pg_text(c, row.get(c.name)) for c in table.columns)
            raise DatabaseError(
                "23502",
                f'null value in column "{column.name}" of relation "{table.name}" violates not-null constraint',
                f"Failing row contains ({shown}).",
            )


def unique_violation(table: schema.Table, error: sqlite3.IntegrityError, row: Mapping[str, Any]) -> DatabaseError:
    """Translate SQLite's ``UNIQUE constraint failed: t.a, t.b`` into PostgreSQL's ``23505`` with its details."""
    message = str(error)
    if "UNIQUE constraint failed" not in message:
        return DatabaseError("23514", message)
    names = [part.strip().split(".", 1)[-1] for part in message.split(":", 1)[1].split(",")]
    constraint = f"{table.name}_pkey" if tuple(names) == table.primary_key else f"{table.name}_{'_'.join(names)}_key"
    columns = [table.column(name) for name in names]
    values = ", ".join(pg_text(column, row.get(column.name)) for column in columns if column is not None)
    return DatabaseError(
        "23505",
        f'duplicate key value violates unique constraint "{constraint}"',
        f"Key ({', '.join(names)})=({values}) already exists.",
    )


def commit_timestamp(moment: datetime | None = None) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ``, the format of ``postgres_changes`` ``commit_timestamp``."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------------------------------------------- DDL


def _column_sql(table: schema.Table, column: schema.Column) -> str:
    sql_type = "TEXT" if column.array else _SQLITE_TYPES.get(column.type, "TEXT")
    if table.primary_key == (column.name,) and column.serial:
        return f"{quote(column.name)} INTEGER PRIMARY KEY AUTOINCREMENT"
    return f"{quote(column.name)} {sql_type}{_references_sql(column)}"


def _references_sql(column: schema.Column) -> str:
    """SQLite enforces foreign keys itself (``PRAGMA foreign_keys=ON`` on every connection)."""
    key = column.references
    if key is None:
        return ""
    target = f"({quote(key.column)})" if key.column else ""
    return f" REFERENCES {quote(key.table)}{target} ON DELETE {key.on_delete.upper()}"


def _check_foreign_keys(connection: sqlite3.Connection, table: schema.Table) -> None:
    """A foreign key declared on a table that already exists without it cannot be added in place: say so."""
    existing = {row[3] for row in connection.execute(f"PRAGMA foreign_key_list({quote(table.name)})")}
    for column in table.columns:
        if column.references is not None and column.name not in existing:
            raise DatabaseError(
                "0A000",
                f"table {table.name!r} already holds data without the foreign key on {column.name!r}; the embedded "
                "server cannot add a constraint to an existing table (move that table's rows out, or start with a "
                "new data dir)",
            )


def _create_sql(table: schema.Table) -> str:
    parts = [_column_sql(table, column) for column in table.columns]
    serial_key = len(table.primary_key) == 1 and table.column(table.primary_key[0]).serial  # type: ignore[union-attr]
    if not serial_key:
        parts.append(f"PRIMARY KEY ({', '.join(quote(name) for name in table.primary_key)})")
    return f"CREATE TABLE IF NOT EXISTS {quote(table.name)} ({', '.join(parts)})"


def _index_sql(table: schema.Table) -> Iterable[str]:
    for column in table.columns:
        if column.unique and (column.name,) != table.primary_key:
            name = quote(f"{table.name}_{column.name}_key")
            yield f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {quote(table.name)} ({quote(column.name)})"
    for index in table.indexes:
        name = quote(f"{table.name}_{'_'.join(index)}_idx")
        yield f"CREATE INDEX IF NOT EXISTS {name} ON {quote(table.name)} ({', '.join(quote(c) for c in index)})"


def create_tables(connection: sqlite3.Connection, tables: Iterable[schema.Table]) -> None:
    """Create missing tables and add missing columns, keeping existing data (runs in one transaction).

    A column added to a table that already has rows gets its default in those rows, as PostgreSQL's
    ``ALTER TABLE … ADD COLUMN … DEFAULT`` does.
    """
    defaults = Defaults.for_caller(None)
    connection.execute("BEGIN IMMEDIATE")
    try:
        for table in tables:
            connection.execute(_create_sql(table))
            existing = {row[1] for row in connection.execute(f"PRAGMA table_info({quote(table.name)})")}
            for column in table.columns:
                if column.name in existing:
                    continue
                if column.name in table.primary_key:
                    raise DatabaseError(
                        "0A000", f"table {table.name!r}: cannot add primary key column {column.name!r} to existing data"
                    )
                connection.execute(f"ALTER TABLE {quote(table.name)} ADD COLUMN {_column_sql(table, column)}")
                value = default_value(column, defaults)
                if value is not None:
                    value = float(value) if isinstance(value, Decimal) else value
                    connection.execute(
                        f"UPDATE {quote(table.name)} SET {quote(column.name)} = ?", (encode(column, value),)
                    )
            for statement in _index_sql(table):
                connection.execute(statement)
            _check_foreign_keys(connection, table)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
