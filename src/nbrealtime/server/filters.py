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
from nbrealtime.server import fields, fulltext
from nbrealtime.server.storage import DatabaseError, encode, from_text, pg_type_name, quote, split_list

__all__ = [
    "OPERATORS",
    "REALTIME_OPERATORS",
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

OPERATORS = (
    "eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "is", "in", "match", "imatch", "isdistinct",
    "cs", "cd", "ov", "fts", "plfts", "phfts", "wfts",
)  # fmt: skip
REALTIME_OPERATORS = OPERATORS[: OPERATORS.index("isdistinct") + 1]
"""What the realtime server's filter parser accepts: the same grammar, without containment and full-text search."""
_QUANTIFIED = ("like", "ilike")  # like(any).{a*,b*}, ilike(all).{…}
_TEXT_SEARCH = ("fts", "plfts", "phfts", "wfts")  # fts(english).query
_CONTAINMENT = {"cs": "@>", "cd": "<@", "ov": "&&"}
_OPERATION = re.compile(r"^([a-z]+)(?:\(([^()]*)\))?\.(.*)$", re.DOTALL)
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


def _json_contains(container: Any, contained: Any, top: bool = True) -> bool:
    """jsonb's ``@>``: objects by key, arrays by element (any order), scalars by value and type.

    As in PostgreSQL, a top-level array also contains a bare scalar that is one of its elements.
    """
    if isinstance(container, dict):
        return isinstance(contained, dict) and all(
            key in container and _json_contains(container[key], value, False) for key, value in contained.items()
        )
    if isinstance(container, list):
        if not isinstance(contained, list):
            return top and not isinstance(contained, dict) and any(_same(item, contained) for item in container)
        return all(any(_json_contains(item, wanted, False) for item in container) for wanted in contained)
    return _same(container, contained)


def _same(a: Any, b: Any) -> bool:
    """JSON scalar equality that keeps ``true`` apart from ``1``."""
    return isinstance(a, bool) == isinstance(b, bool) and not isinstance(a, dict | list) and a == b


def _contains(stored: str | None, value: str, op: str, jsonb: int) -> int | None:
    """``cs``/``cd``/``ov`` on a stored array or jsonb value (both JSON text); array elements that are NULL never
    equal anything."""
    if stored is None:
        return None
    left, right = orjson.loads(stored), orjson.loads(value)
    if op == "ov":
        return int(any(item is not None and any(_same(item, other) for other in right) for item in left))
    if op == "cd":
        left, right = right, left
    if jsonb:
        return int(_json_contains(left, right))
    return int(all(item is not None and any(_same(item, have) for have in left) for item in right))


def _fts(value: str | None, kind: str, config: str | None, query: str) -> int | None:
    return fulltext.matches(value, kind, config, query)


def register_sql_functions(connection: sqlite3.Connection) -> None:
    """Install the functions and collation that compiled filters and orderings use (once per connection)."""
    fields.register_sql_functions(connection)
    for name, function in _PATTERN_FUNCTIONS.items():
        connection.create_function(name, 3, function, deterministic=True)
    connection.create_function("nbrt_contains", 4, _contains, deterministic=True)
    connection.create_function("nbrt_fts", 4, _fts, deterministic=True)


# ---------------------------------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Condition:
    """``column op value`` with ``value`` in the column's stored form (a list of them for ``in``).

    For ``is`` the value is None (null/unknown), True or False; for the pattern operators it is the pattern text (a
    tuple of them when ``modifier`` is ``any``/``all``); for ``cs``/``cd``/``ov`` the stored (JSON text) array or
    jsonb value; for the full-text operators the query text, with the configuration (or None) in ``modifier``.
    """

    column: schema.Column
    op: str
    value: Any
    negate: bool = False
    modifier: str | None = None
    field: fields.Field | None = None
    """Set for a JSON path (``data->>title``): ``column`` is then the path's value as a column (text or jsonb)."""

    def evaluate(self, row: Mapping[str, Any]) -> Truth:
        if self.column.name not in row:
            return None  # realtime: a row passes only if every filter column is present
        try:
            if self.field is not None:
                stored = self.field.stored(encode(self.field.column, row[self.column.name]))
            else:
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
        if (op == "in" or self.modifier == "any") and not value:
            return False  # ``= ANY('{}')`` is false even for NULL
        if self.modifier == "all" and not value:
            return True
        if stored is None:
            return None
        if op in _PATTERN_OPS:
            function, insensitive = _PATTERN_OPS[op]
            if self.modifier not in ("any", "all"):
                return bool(_PATTERN_FUNCTIONS[function](stored, value, int(insensitive)))
            hits = [_PATTERN_FUNCTIONS[function](stored, pattern, int(insensitive)) for pattern in value]
            return any(hits) if self.modifier == "any" else all(hits)
        if op in _CONTAINMENT:
            return bool(_contains(stored, value, op, int(not self.column.array)))
        if op in _TEXT_SEARCH:
            return bool(_fts(stored, op, self.modifier, value))
        if op == "in":
            if stored in value:
                return True
            return None if None in value else False
        if self._jsonb:
            stored, value = fields.jsonb_key(orjson.loads(stored)), fields.jsonb_key(orjson.loads(value))
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
        if self.field is not None:
            column, lead = self.field.sql(qualifier)
        else:
            column, lead = f"{quote(qualifier)}.{quote(self.column.name)}", []
        op, value = self.op, self.value
        params: list[Any] = [*lead]
        if op == "is":
            sql = f"{column} IS NULL" if value is None else f"{column} IS ?"
            params += [] if value is None else [int(value)]
        elif op == "isdistinct":
            sql, params = f"{column} IS NOT ?", [*lead, value]
        elif op in _PATTERN_OPS and self.modifier in ("any", "all"):
            function, insensitive = _PATTERN_OPS[op]
            joiner = " OR " if self.modifier == "any" else " AND "
            empty = "0" if self.modifier == "any" else "1"
            sql = joiner.join(f"{function}({column}, ?, {int(insensitive)})" for _ in value) or empty
            params = [param for pattern in value for param in (*lead, pattern)]
        elif op in _PATTERN_OPS:
            function, insensitive = _PATTERN_OPS[op]
            sql, params = f"{function}({column}, ?, {int(insensitive)})", [*lead, value]
        elif op in _CONTAINMENT:
            sql, params = f"nbrt_contains({column}, ?, '{op}', {int(not self.column.array)})", [*lead, value]
        elif op in _TEXT_SEARCH:
            sql, params = f"nbrt_fts({column}, '{op}', ?, ?)", [*lead, self.modifier, value]
        elif op == "in":
            sql = f"{column} IN ({', '.join('?' for _ in value)})" if value else "0"
            params = [*lead, *value] if value else []
        else:
            collate = " COLLATE nbrt_jsonb" if self._jsonb else ""
            sql, params = f"{column}{collate} {_COMPARISONS[op]} ?", [*lead, value]
        return (f"NOT ({sql})", params) if self.negate else (f"({sql})", params)

    @property
    def _jsonb(self) -> bool:
        return self.column.type == "jsonb" and not self.column.array


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


def _value(column: schema.Column, text: str | None) -> Any:
    return None if text is None else encode(column, from_text(column, text))


def _no_operator(column: schema.Column, symbol: str, right: str = "unknown") -> DatabaseError:
    return DatabaseError(
        "42883",
        f"operator does not exist: {'jsonb' if column.type == 'jsonb' else pg_type_name(column)} {symbol} {right}",
        hint="No operator matches the given name and argument types. You might need to add explicit type casts.",
    )


def _is_text(column: schema.Column) -> bool:
    return column.type == "text" and not column.array


def build_condition(
    table: schema.Table,
    column_name: str,
    op: str,
    value: Any,
    negate: bool = False,
    *,
    source: str = "",
    modifier: str | None = None,
) -> Condition:
    """A checked :class:`Condition` from raw text: ``value`` is text, or a list of texts (None = NULL) for ``in`` and
    for quantified patterns (``modifier`` ``any``/``all``); ``modifier`` is the configuration of a full-text filter.

    Raises :class:`storage.DatabaseError` (``42703`` unknown column, ``22P02`` bad value, ``42883`` operator on a
    column type that has none, ``PGRST100`` bad ``is`` value, ``42601`` bad tsquery).
    """
    field = fields.parse_field(table, column_name)
    column, path = field.target, field if field.path else None
    if op == "in":
        return Condition(column, op, tuple(_value(column, item) for item in value), negate, field=path)
    if op == "is":
        lowered = str(value).lower()
        if lowered not in _IS_VALUES:
            raise _parse_error(source or f"is.{value}", f'unexpected "{value}" expecting null, true, false or unknown')
        if _IS_VALUES[lowered] is not None and column.type != "bool":
            raise DatabaseError(
                "42804", f"argument of IS {lowered.upper()} must be type boolean, not type {pg_type_name(column)}"
            )
        return Condition(column, op, _IS_VALUES[lowered], negate, field=path)
    if op in _PATTERN_OPS:
        if not _is_text(column):
            symbol = {"like": "~~", "ilike": "~~*", "match": "~", "imatch": "~*"}[op]
            raise _no_operator(column, symbol)
        if op in ("match", "imatch"):
            try:
                _regex(value, op == "imatch")
            except re.error as error:
                raise DatabaseError("2201B", f"invalid regular expression: {error}") from None
        if modifier is not None:
            if any(item is None for item in value):
                raise DatabaseError("22004", f"{op}({modifier}) does not take NULL patterns")
            value = tuple(value)
        return Condition(column, op, value, negate, modifier, path)
    if op in _CONTAINMENT:
        if not column.array and (column.type != "jsonb" or op == "ov"):
            raise _no_operator(column, _CONTAINMENT[op])
        return Condition(column, op, _value(column, value), negate, field=path)
    if op in _TEXT_SEARCH:
        if not _is_text(column):
            raise _no_operator(column, "@@", "tsquery")
        fulltext.parse_query(op, value, modifier)  # refuse a bad query or configuration now, not inside SQLite
        return Condition(column, op, value, negate, modifier, path)
    return Condition(column, op, _value(column, value), negate, field=path)


def _parse_error(text: str, details: str) -> DatabaseError:
    return DatabaseError("PGRST100", f'"failed to parse filter ({text})" (line 1, column 1)', details)


def split_top_level(text: str) -> list[str]:
    """Split at commas outside parentheses, braces (array literals) and double quotes (``\\`` escapes inside
    quotes); keeps the quotes."""
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
        elif not quoted and char in "({":
            depth += 1
        elif not quoted and char in ")}":
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


def _operation(text: str) -> tuple[bool, str, str | None, str] | None:
    """``[not.]op[(modifier)].value`` → (negate, op, modifier, value); None when the operator is unknown or its
    modifier does not fit it (``like(any)``, ``ilike(all)``, ``fts(english)`` and no others)."""
    negate = text.startswith("not.")
    match = _OPERATION.match(text[4:] if negate else text)
    if not match or match.group(1) not in OPERATORS:
        return None
    op, modifier, value = match.groups()
    if modifier is not None and not (
        (op in _QUANTIFIED and modifier in ("any", "all")) or (op in _TEXT_SEARCH and modifier)
    ):
        return None
    return negate, op, modifier, value


def _operator_token(text: str) -> str:
    return (text[4:] if text.startswith("not.") else text).partition(".")[0]


def _rest_operation(table: schema.Table, column_name: str, text: str, *, in_tree: bool, source: str) -> Condition:
    parsed = _operation(text)
    if parsed is None:
        token = _operator_token(text)
        raise _parse_error(source, f'unexpected "{token}" expecting operator ({", ".join(OPERATORS)})')
    negate, op, modifier, value = parsed
    items: Any
    if op == "in":
        if not (value.startswith("(") and value.endswith(")")):
            raise _parse_error(source, 'unexpected end of input expecting "("')
        items = split_list(value[1:-1])
        return build_condition(table, column_name, op, items, negate, source=source)
    if in_tree:
        value = _unquote(value)
    if op in ("like", "ilike"):
        value = value.replace("*", "%")  # PostgREST accepts * for % (URL-friendly)
    if op in _QUANTIFIED and modifier is not None:
        if not (value.startswith("{") and value.endswith("}")):
            raise DatabaseError("22P02", f'malformed array literal: "{value}"', 'Array value must start with "{".')
        items = split_list(value[1:-1], null_keyword=True)
        return build_condition(table, column_name, op, items, negate, source=source, modifier=modifier)
    return build_condition(table, column_name, op, value, negate, source=source, modifier=modifier)


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
    if op not in REALTIME_OPERATORS:
        raise FilterError(prefix + _inspect([op, value]))
    if table.column(column_name) is None:  # realtime compares plain columns: no JSON paths there
        raise FilterError(f'column "{column_name}" does not exist', "invalid")
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
