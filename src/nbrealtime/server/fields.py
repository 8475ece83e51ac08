"""A field of a PostgREST request: a column, optionally a JSON path into it (``data->a->>b``) and a cast (``::text``).

PostgREST accepts paths in ``select``, ``order`` and filters, and casts in ``select`` only.  ``->`` keeps a ``jsonb``
value, ``->>`` (last only) gives its text; a missing key or index is NULL.  Unaliased, a path is named after its last
key (``data->a->0`` is ``a``; ``data->0`` is ``data``), a cast after its column, as PostgREST names them.

Paths are evaluated by one Python function, both as the SQLite function ``nbrt_json_path`` (filters and ``order``
run in SQL, the path bound as a parameter) and on rows (the projection and the change feed), so both agree.  jsonb
values compare in PostgreSQL's jsonb order (null < string < number < boolean < array < object), via the collation
``nbrt_jsonb`` in SQL and :func:`jsonb_key` in Python.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from nbrealtime import schema
from nbrealtime.server.storage import DatabaseError, decode, encode, pg_type_name, quote

__all__ = ["Field", "jsonb_key", "parse_field", "pg_text", "register_sql_functions"]

_FIELD = re.compile(r"^(?P<name>[^-:]+)(?P<path>(?:->>?-?[^-:>]+)*)(?:::(?P<cast>[a-z0-9_ ]+))?$")
_STEP = re.compile(r"(->>?)(-?[^-:>]+)")

#: Casts ``select`` accepts → the canonical type they produce.
_CASTS = {
    "text": "text",
    "varchar": "text",
    "int": "int4",
    "integer": "int4",
    "int4": "int4",
    "smallint": "int2",
    "int2": "int2",
    "bigint": "int8",
    "int8": "int8",
    "numeric": "numeric",
    "float8": "float8",
    "float4": "float4",
    "real": "float4",
    "bool": "bool",
    "boolean": "bool",
    "json": "json",
    "jsonb": "jsonb",
    "uuid": "uuid",
    "date": "date",
    "timestamptz": "timestamptz",
}

Step = str | int


def _bad_field(text: str, details: str) -> DatabaseError:
    return DatabaseError("PGRST100", f'"failed to parse field ({text})" (line 1, column 1)', details)


def pg_text(column: schema.Column, value: Any) -> str | None:
    """``value::text`` for a JSON-form value of ``column``, as PostgreSQL prints it."""
    if value is None:
        return None
    if column.array:
        return "{" + ",".join(_array_item(item) for item in value) + "}"
    if column.type in ("json", "jsonb"):
        return _jsonb_out(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if column.type in ("timestamptz", "timestamp"):
        text = value.replace("T", " ")
        return text[:-3] if text.endswith("+00:00") else text
    return str(value)


def _array_item(value: Any) -> str:
    if value is None:
        return "NULL"
    text = _arrow_text(value) if not isinstance(value, bool) else ("t" if value else "f")
    if not text or text.upper() == "NULL" or re.search(r'[{},"\\\s]', text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _arrow_text(value: Any) -> str:
    """What ``->>`` gives for a non-null JSON value: a string's own text, anything else as jsonb prints it."""
    return value if isinstance(value, str) else _jsonb_out(value)


def _jsonb_out(value: Any) -> str:
    """jsonb's text output: ``{"a": 1, "b": [1, 2]}``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{orjson.dumps(k).decode()}: {_jsonb_out(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_jsonb_out(item) for item in value) + "]"
    return orjson.dumps(value).decode()


def extract(value: Any, path: tuple[Step, ...]) -> Any:
    """Follow ``path`` through a JSON value; :data:`MISSING` when a key or index is not there."""
    for step in path:
        if isinstance(step, int) and isinstance(value, list):
            if not -len(value) <= step < len(value):
                return MISSING
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return MISSING
    return value


MISSING = object()
"""A path that leads nowhere (SQL NULL, unlike a JSON ``null`` reached by ``->``)."""

_JSONB = schema.parse_column("value", "jsonb")
_TEXT = schema.parse_column("value", "text")


@dataclass(frozen=True)
class Field:
    """``column``, a JSON ``path`` whose last step is ``->>`` when ``as_text``, and an optional ``cast`` type."""

    column: schema.Column
    path: tuple[Step, ...] = ()
    as_text: bool = False
    cast: str | None = None

    @property
    def key(self) -> str:
        """The output name PostgREST gives it without an alias."""
        keys = [step for step in self.path if isinstance(step, str)]
        return keys[-1] if keys else self.column.name

    @property
    def target(self) -> schema.Column:
        """The column the field's value behaves as (type ``text`` after ``->>``, ``jsonb`` after ``->``)."""
        if not self.path:
            return self.column
        return dataclasses.replace(_TEXT if self.as_text else _JSONB, name=self.column.name)

    def value(self, row: Mapping[str, Any]) -> Any:
        """The JSON-form value for a JSON-form row (after the path and the cast)."""
        value = row[self.column.name]
        if self.path:
            value = extract(value, self.path)
            if value is MISSING or (self.as_text and value is None):
                value = None
            elif self.as_text:
                value = _arrow_text(value)
        return value if self.cast is None else _cast(self.target, value, self.cast)

    def stored(self, stored: Any) -> Any:
        """The stored form of the field from the stored form of its column (what the SQL expression gives)."""
        return _json_path(stored, orjson.dumps(self.path).decode(), int(self.as_text)) if self.path else stored

    def sql(self, qualifier: str) -> tuple[str, list[Any]]:
        """The field as an SQL expression (stored form) and its parameters."""
        column = f"{quote(qualifier)}.{quote(self.column.name)}"
        if not self.path:
            return column, []
        return f"nbrt_json_path({column}, ?, {int(self.as_text)})", [orjson.dumps(self.path).decode()]


def _cast(source: schema.Column, value: Any, target: str) -> Any:
    if value is None or target in ("json", "jsonb"):
        return value  # the JSON form already is the value's JSON
    if target == "text":
        return pg_text(source, value)
    column = schema.parse_column("value", target)
    return decode(column, encode(column, pg_text(source, value)))


def parse_field(table: schema.Table, text: str, *, allow_cast: bool = False) -> Field:
    """A field from ``name``, ``name->a->>b`` or (``allow_cast``) ``name::type``; raises ``DatabaseError``."""
    match = _FIELD.match(text.strip())
    if not match:
        raise _bad_field(text, "expecting a column name, a JSON path (->, ->>) or a cast (::type)")
    name = match.group("name").strip().strip('"')
    column = table.column(name)
    if column is None:
        raise DatabaseError("42703", f"column {table.name}.{name} does not exist")
    steps = _STEP.findall(match.group("path"))
    if steps and (column.type not in ("json", "jsonb") or column.array):
        raise DatabaseError(
            "42883",
            f"operator does not exist: {pg_type_name(column)} {steps[0][0]} unknown",
            hint="JSON paths (->, ->>) apply to json and jsonb columns.",
        )
    if any(arrow == "->>" for arrow, _ in steps[:-1]):
        raise _bad_field(text, "->> gives text: it can only be the last step of a JSON path")
    path = tuple(int(step) if re.fullmatch(r"-?\d+", step) else step for _, step in steps)
    cast = match.group("cast")
    if cast is not None:
        if not allow_cast:
            raise _bad_field(text, "casts (::type) are only accepted in select")
        if cast.strip() not in _CASTS:
            raise DatabaseError(
                "42704",
                f'type "{cast.strip()}" does not exist',
                hint=f"nbrealtime's data API casts to {', '.join(sorted(_CASTS))}.",
            )
        cast = _CASTS[cast.strip()]
    return Field(column, path, bool(steps) and steps[-1][0] == "->>", cast)


# ---------------------------------------------------------------------------------------------------- SQL side


@functools.lru_cache(maxsize=256)
def _path(text: str) -> tuple[Step, ...]:
    return tuple(orjson.loads(text))


def _json_path(stored: str | None, path: str, as_text: int) -> str | None:
    if stored is None:
        return None
    value = extract(orjson.loads(stored), _path(path))
    if value is MISSING or (as_text and value is None):
        return None
    return _arrow_text(value) if as_text else encode(_JSONB, value)


_RANKS = {type(None): 0, str: 1, int: 2, float: 2, bool: 3, list: 4, dict: 5}


def jsonb_key(value: Any) -> tuple[Any, ...]:
    """A sort key in PostgreSQL's jsonb order: null < string < number < boolean < array < object; a longer array or
    object sorts after a shorter one; then element by element (objects: key, value, key, value… in jsonb's key
    order)."""
    rank = _RANKS[type(value)]
    if isinstance(value, list):
        return (rank, len(value), tuple(jsonb_key(item) for item in value))
    if isinstance(value, dict):
        return (rank, len(value), tuple((jsonb_key(k), jsonb_key(v)) for k, v in value.items()))
    return (rank, value) if value is not None else (rank,)


def _collate(left: str, right: str) -> int:
    a, b = jsonb_key(orjson.loads(left)), jsonb_key(orjson.loads(right))
    return (a > b) - (a < b)


def register_sql_functions(connection: sqlite3.Connection) -> None:
    """Install ``nbrt_json_path`` and the ``nbrt_jsonb`` collation (once per connection)."""
    connection.create_function("nbrt_json_path", 3, _json_path, deterministic=True)
    connection.create_collation("nbrt_jsonb", _collate)
