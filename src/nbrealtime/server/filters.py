"""The one filter grammar of the data API (PostgREST) and of realtime ``postgres_changes`` subscriptions.

A parsed filter is a tree of :class:`Condition` and :class:`Group` nodes over one table, with every value already
converted to the column's *stored form* (see :mod:`nbrealtime.server.storage`).  It has two back ends that agree by
construction: :meth:`Filter.to_sql` (a WHERE fragment with bound parameters; only column names taken from the
``Table`` ever reach the SQL text) and :meth:`Filter.matches` (Python, on a decoded JSON-form row, as the change
feed needs).  Both follow SQL's three-valued logic: a comparison with NULL is *unknown*, ``not`` of unknown is
unknown, and a row passes only if the whole filter is *true*.  ``like``/``match`` run the same Python function in
both back ends (registered in SQLite by :func:`register_sql_functions`).

Front ends:

* REST query parameters — :func:`parse_rest_condition` (``col=op.value``) and :func:`parse_logic_tree`
  (``or=(a.eq.1,and(b.gt.2,c.is.null))``, ``not.and=(…)``); errors are :class:`storage.DatabaseError` with
  PostgREST's codes (``PGRST100``, ``42703``, ``22P02``…).
* Realtime — :func:`parse_realtime_filter` (``col=op.value,col2=not.in.(a,b)``); errors are :class:`FilterError`
  carrying the realtime server's message.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from nbrealtime import schema
from nbrealtime.server.storage import DatabaseError, encode, from_text, pg_type_name, quote, split_list

__all__ = [
    "OPERATORS",
    "Condition",
    "Filter",
    "FilterError",
    "Group",
    "parse_logic_tree",
    "parse_realtime_filter",
    "parse_rest_condition",
    "register_sql_functions",
    "split_top_level",
]

OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "is", "in", "match", "imatch", "isdistinct")
_COMPARISONS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_PATTERN_OPS = {"like": ("nbrt_like", False), "ilike": ("nbrt_like", True), "match": ("nbrt_match", False)}
_PATTERN_OPS["imatch"] = ("nbrt_match", True)
_IS_VALUES = {"null": None, "unknown": None, "true": True, "false": False}

Truth = bool | None
"""SQL's three truth values: True, False and None (unknown)."""


class FilterError(ValueError):
    """A realtime filter that cannot be used.

    ``kind`` is ``"parse"`` for syntax errors (``message`` is then exactly the realtime server's
    ``Error parsing `filter` params: …`` text) or ``"invalid"`` when the syntax is fine but the table refuses it
    (unknown column, a value the column type cannot take); the real server reports the latter as
    ``Unable to subscribe to changes with given parameters. An exception happened … Exception: <message>``.
    """

    def __init__(self, message: str, kind: Literal["parse", "invalid"] = "parse") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


# ---------------------------------------------------------------------------------------------------- patterns


@functools.lru_cache(maxsize=512)
def _like_regex(pattern: str, insensitive: bool) -> re.Pattern[str]:
    """A LIKE pattern (``%`` any run, ``_`` one character, ``\\`` escapes) as an anchored regex."""
    parts = []
    escaped = False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if insensitive else 0))


@functools.lru_cache(maxsize=512)
def _regex(pattern: str, insensitive: bool) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE if insensitive else 0)


def _like(value: str | None, pattern: str, insensitive: int) -> int | None:
    if value is None:
        return None
    return int(_like_regex(pattern, bool(insensitive)).fullmatch(value) is not None)


def _match(value: str | None, pattern: str, insensitive: int) -> int | None:
    if value is None:
        return None
    return int(_regex(pattern, bool(insensitive)).search(value) is not None)


_PATTERN_FUNCTIONS = {"nbrt_like": _like, "nbrt_match": _match}


def register_sql_functions(connection: sqlite3.Connection) -> None:
    """Install the pattern functions that compiled filters call (once per connection)."""
    for name, function in _PATTERN_FUNCTIONS.items():
        connection.create_function(name, 3, function, deterministic=True)


# ---------------------------------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Condition:
    """``column op value`` with ``value`` in the column's stored form (a list of them for ``in``).

    For ``is`` the value is None (null/unknown), True or False; for the pattern operators it is the pattern text.
    """

    column: schema.Column
    op: str
    value: Any
    negate: bool = False

    def evaluate(self, row: Mapping[str, Any]) -> Truth:
        if self.column.name not in row:
            return None  # realtime: a row passes only if every filter column is present
        try:
            stored = encode(self.column, row[self.column.name])
        except DatabaseError:
            return None
        result = self._compare(stored)
        return (not result if result is not None else None) if self.negate else result

    def _compare(self, stored: Any) -> Truth:
        op, value = self.op, self.value
        if op == "is":
            return stored is None if value is None else stored == int(value)
        if op == "isdistinct":
            return stored != value
        if op == "in" and not value:
            return False  # ``= ANY('{}')`` is false even for NULL
        if stored is None:
            return None
        if op in _PATTERN_OPS:
            function, insensitive = _PATTERN_OPS[op]
            return bool(_PATTERN_FUNCTIONS[function](stored, value, int(insensitive)))
        if op == "in":
            if stored in value:
                return True
            return None if None in value else False
        if op == "eq":
            return stored == value
        if op == "neq":
            return stored != value
        if op == "gt":
            return stored > value
        if op == "gte":
            return stored >= value
        if op == "lt":
            return stored < value
        return stored <= value

    def to_sql(self, qualifier: str) -> tuple[str, list[Any]]:
        column = f"{quote(qualifier)}.{quote(self.column.name)}"
        op, value = self.op, self.value
        if op == "is":
            sql, params = (f"{column} IS NULL", []) if value is None else (f"{column} IS ?", [int(value)])
        elif op == "isdistinct":
            sql, params = f"{column} IS NOT ?", [value]
        elif op in _PATTERN_OPS:
            function, insensitive = _PATTERN_OPS[op]
            sql, params = f"{function}({column}, ?, {int(insensitive)})", [value]
        elif op == "in":
            sql = f"{column} IN ({', '.join('?' for _ in value)})" if value else "0"
            params = list(value)
        else:
            sql, params = f"{column} {_COMPARISONS[op]} ?", [value]
        return (f"NOT ({sql})", params) if self.negate else (f"({sql})", params)


@dataclass(frozen=True)
class Group:
    """``and``/``or`` of nodes; an empty ``and`` is true, an empty ``or`` false."""

    kind: Literal["and", "or"]
    items: tuple[Condition | Group, ...]
    negate: bool = False

    def evaluate(self, row: Mapping[str, Any]) -> Truth:
        results = [item.evaluate(row) for item in self.items]
        decisive = self.kind == "or"  # True decides an or, False decides an and
        if decisive in results:
            result: Truth = decisive
        elif None in results:
            result = None
        else:
            result = not decisive
        return (not result if result is not None else None) if self.negate else result

    def to_sql(self, qualifier: str) -> tuple[str, list[Any]]:
        if not self.items:
            sql, params = ("1" if self.kind == "and" else "0"), []
        else:
            parts, params = [], []
            for item in self.items:
                part, part_params = item.to_sql(qualifier)
                parts.append(part)
                params.extend(part_params)
            sql = f" {self.kind.upper()} ".join(parts)
        return (f"NOT ({sql})", params) if self.negate else (f"({sql})", params)


@dataclass(frozen=True)
class Filter:
    """A filter over ``table``: the conjunction of ``conditions`` (each a condition or a logic tree)."""

    table: schema.Table
    conditions: tuple[Condition | Group, ...] = field(default=())

    @property
    def root(self) -> Group:
        return Group("and", self.conditions)

    def evaluate(self, row: Mapping[str, Any]) -> Truth:
        """Three-valued result on a JSON-form row (None = unknown)."""
        return self.root.evaluate(row)

    def matches(self, row: Mapping[str, Any]) -> bool:
        """True iff the filter is *true* for ``row`` (a decoded, JSON-form row dict; missing columns → no match)."""
        return self.root.evaluate(row) is True

    def to_sql(self, qualifier: str | None = None) -> tuple[str, list[Any]]:
        """A WHERE fragment and its parameters; columns are written ``"qualifier"."column"`` (default: the table)."""
        return self.root.to_sql(qualifier or self.table.name)

    def and_(self, other: Filter) -> Filter:
        return Filter(self.table, self.conditions + other.conditions)


# ---------------------------------------------------------------------------------------------------- building


def _column(table: schema.Table, name: str) -> schema.Column:
    column = table.column(name)
    if column is None:
        raise DatabaseError("42703", f"column {table.name}.{name} does not exist")
    return column


def _value(column: schema.Column, text: str | None) -> Any:
    return None if text is None else encode(column, from_text(column, text))


def build_condition(
    table: schema.Table, column_name: str, op: str, value: Any, negate: bool = False, *, source: str = ""
) -> Condition:
    """A checked :class:`Condition` from raw text: ``value`` is text, or a list of texts (None = NULL) for ``in``.

    Raises :class:`storage.DatabaseError` (``42703`` unknown column, ``22P02`` bad value, ``42883`` pattern on a
    non-text column, ``PGRST100`` bad ``is`` value).
    """
    column = _column(table, column_name)
    if op == "in":
        return Condition(column, op, tuple(_value(column, item) for item in value), negate)
    if op == "is":
        lowered = str(value).lower()
        if lowered not in _IS_VALUES:
            raise _parse_error(source or f"is.{value}", f'unexpected "{value}" expecting null, true, false or unknown')
        if _IS_VALUES[lowered] is not None and column.type != "bool":
            raise DatabaseError(
                "42804", f"argument of IS {lowered.upper()} must be type boolean, not type {pg_type_name(column)}"
            )
        return Condition(column, op, _IS_VALUES[lowered], negate)
    if op in _PATTERN_OPS:
        if column.type != "text" or column.array:
            symbol = {"like": "~~", "ilike": "~~*", "match": "~", "imatch": "~*"}[op]
            raise DatabaseError(
                "42883",
                f"operator does not exist: {pg_type_name(column)} {symbol} unknown",
                hint="No operator matches the given name and argument types. "
                "You might need to add explicit type casts.",
            )
        if op in ("match", "imatch"):
            try:
                _regex(value, op == "imatch")
            except re.error as error:
                raise DatabaseError("2201B", f"invalid regular expression: {error}") from None
        return Condition(column, op, value, negate)
    return Condition(column, op, _value(column, value), negate)


def _parse_error(text: str, details: str) -> DatabaseError:
    return DatabaseError("PGRST100", f'"failed to parse filter ({text})" (line 1, column 1)', details)


def split_top_level(text: str) -> list[str]:
    """Split at commas outside parentheses and double quotes (``\\`` escapes inside quotes); keeps the quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth = max(0, depth - 1)
        elif not quoted and depth == 0 and char == ",":
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    """``"a,b\\"c"`` → ``a,b"c``; anything not a single well-formed quoted string is returned as is."""
    if len(value) < 2 or not (value.startswith('"') and value.endswith('"')):
        return value
    out: list[str] = []
    escaped = False
    for char in value[1:-1]:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return value
        else:
            out.append(char)
    return value if escaped else "".join(out)


# ---------------------------------------------------------------------------------------------------- REST


def _rest_operation(table: schema.Table, column_name: str, text: str, *, in_tree: bool, source: str) -> Condition:
    negate = text.startswith("not.")
    op_value = text[4:] if negate else text
    op, dot, value = op_value.partition(".")
    if not dot or op not in OPERATORS:
        raise _parse_error(source, f'unexpected "{op}" expecting operator ({", ".join(OPERATORS)})')
    if op == "in":
        if not (value.startswith("(") and value.endswith(")")):
            raise _parse_error(source, 'unexpected end of input expecting "("')
        items: Any = split_list(value[1:-1])
        return build_condition(table, column_name, op, items, negate, source=source)
    if in_tree:
        value = _unquote(value)
    if op in ("like", "ilike"):
        value = value.replace("*", "%")  # PostgREST accepts * for % (URL-friendly)
    return build_condition(table, column_name, op, value, negate, source=source)


def parse_rest_condition(table: schema.Table, column_name: str, text: str) -> Condition:
    """One query parameter ``column=[not.]op.value`` (value verbatim; ``in.(a,"b,c")`` quoted lists)."""
    return _rest_operation(table, column_name, text, in_tree=False, source=text)


def parse_logic_tree(table: schema.Table, key: str, text: str) -> Group:
    """``or=(…)``, ``and=(…)``, ``not.or=(…)``, ``not.and=(…)``; items nest as ``and(…)``, ``not.or(…)``."""
    negate = key.startswith("not.")
    kind = key[4:] if negate else key
    if kind not in ("and", "or"):
        raise _parse_error(f"{key}={text}", f'unknown logic operator "{key}"')
    if not (text.startswith("(") and text.endswith(")")):
        raise _parse_error(text, 'expecting "(" around the logic tree')
    return Group(kind, _tree_items(table, text[1:-1], text), negate)  # type: ignore[arg-type]


_NESTED = re.compile(r"^(not\.)?(and|or)\((.*)\)$", re.DOTALL)


def _tree_items(table: schema.Table, inner: str, source: str) -> tuple[Condition | Group, ...]:
    items: list[Condition | Group] = []
    for part in split_top_level(inner):
        part = part.strip()
        if not part:
            raise _parse_error(source, "empty condition in logic tree")
        nested = _NESTED.match(part)
        if nested:
            kind = nested.group(2)
            items.append(Group(kind, _tree_items(table, nested.group(3), source), bool(nested.group(1))))  # type: ignore[arg-type]
            continue
        column_name, dot, rest = part.partition(".")
        if not dot:
            raise _parse_error(source, f'unexpected end of input in "{part}"')
        items.append(_rest_operation(table, column_name, rest, in_tree=True, source=source))
    return tuple(items)


# ---------------------------------------------------------------------------------------------------- realtime


def _inspect(parts: Sequence[str]) -> str:
    """Elixir's ``inspect`` of a list of strings, as the realtime server puts it in its error messages."""
    return "[" + ", ".join(orjson.dumps(part).decode() for part in parts) + "]"


def _realtime_segment(table: schema.Table, segment: str) -> Condition:
    prefix = "Error parsing `filter` params: "
    trimmed = segment.strip()
    if not trimmed:
        raise FilterError(prefix + "filter must not contain empty segments (check for extra commas)")
    column_name, equals, rest = trimmed.partition("=")
    if not equals:
        raise FilterError(prefix + _inspect([trimmed]))
    negate = rest.startswith("not.")
    op_value = rest[4:] if negate else rest
    op, dot, value = op_value.partition(".")
    if not dot:
        raise FilterError(prefix + _inspect([op_value]))
    if op not in OPERATORS:
        raise FilterError(prefix + _inspect([op, value]))
    raw: Any
    if op == "in":
        if not (len(value) >= 2 and value.startswith("(") and value.endswith(")")):
            raise FilterError(prefix + "`in` filter value must be wrapped by parentheses")
        raw = split_list(value[1:-1], null_keyword=True)  # becomes a PostgreSQL array literal there
    else:
        raw = _unquote(value)
    try:
        return build_condition(table, column_name, op, raw, negate)
    except DatabaseError as error:
        if error.code == "42703":
            raise FilterError(f'column "{column_name}" does not exist', "invalid") from None
        raise FilterError(error.message, "invalid") from None


def parse_realtime_filter(text: str | None, table: schema.Table) -> Filter:
    """A ``postgres_changes`` binding's ``filter``: ``col=op.value`` conditions joined by top-level commas (AND).

    None, empty or blank text is no filter (matches every row).  Raises :class:`FilterError`.
    """
    if text is None or not text.strip():
        return Filter(table)
    return Filter(table, tuple(_realtime_segment(table, segment) for segment in split_top_level(text.strip())))


def rest_filter(table: schema.Table, params: Iterable[tuple[str, str]]) -> Filter:
    """The filter of a REST request from its (already separated) filter parameters, ANDed."""
    conditions: list[Condition | Group] = []
    for key, value in params:
        if key in ("or", "and", "not.or", "not.and"):
            conditions.append(parse_logic_tree(table, key, value))
        else:
            conditions.append(parse_rest_condition(table, key, value))
    return Filter(table, tuple(conditions))
