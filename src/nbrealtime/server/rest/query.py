"""Reading a PostgREST request: ``select``, filters, ``order``, ``limit``/``offset``/``Range``, Prefer and Accept."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import Headers, QueryParams

from nbrealtime import schema
from nbrealtime.server import fields, filters
from nbrealtime.server.rest import embedding
from nbrealtime.server.rest.errors import RestError
from nbrealtime.server.storage import DatabaseError
from nbrealtime.server.tokens import Claims

__all__ = ["Prefer", "Query", "Representation", "parse_columns", "parse_prefer", "parse_query", "representation"]

_RESERVED = {"select", "order", "limit", "offset", "columns", "on_conflict"}
_LOGIC_KEYS = {"or", "and", "not.or", "not.and"}
_FIELD_NAME = re.compile(r"->|::")


def _bad_param(message: str, details: str | None = None) -> RestError:
    return RestError(400, "PGRST100", message, details)


@dataclass(frozen=True)
class Query:
    """What a request selects: output columns (name → column), the filter, ordering and the window."""

    table: schema.Table
    select: embedding.Selection
    filter: filters.Filter
    order: tuple[tuple[fields.Field, str], ...] = ()
    limit: int | None = None
    offset: int = 0

    def render(
        self, connection: sqlite3.Connection, rows: Sequence[Mapping[str, Any]], claims: Claims
    ) -> list[dict[str, Any]]:
        """The response objects for JSON-form ``rows``: the selected fields and embedded resources."""
        return embedding.render(connection, self.select, rows, claims)

    def where_sql(self, claims: Claims) -> tuple[str, list[Any]]:
        """The filter and the ``!inner`` embeds' conditions (row policies are the caller's to add)."""
        where, params = self.filter.to_sql()
        inner, inner_params = embedding.inner_sql(self.select, self.table.name, claims)
        return f"{where} AND {inner}", [*params, *inner_params]

    def order_sql(self) -> tuple[str, list[Any]]:
        """``ORDER BY`` and its parameters (JSON paths are bound)."""
        terms, params = [], []
        for term, direction in self.order:
            expression, field_params = term.sql(self.table.name)
            collate = " COLLATE nbrt_jsonb" if term.path and not term.as_text else ""
            terms.append(f"{expression}{collate} {direction}")
            params += field_params
        return (f" ORDER BY {', '.join(terms)}", params) if terms else ("", [])

    def window_sql(self) -> tuple[str, list[int]]:
        if self.limit is None and not self.offset:
            return "", []
        return " LIMIT ? OFFSET ?", [-1 if self.limit is None else self.limit, self.offset]


def _parse_order(table: schema.Table, text: str | None) -> tuple[tuple[fields.Field, str], ...]:
    if not text:
        return ()
    terms = []
    for raw in filters.split_top_level(text):
        name, *modifiers = raw.strip().split(".")
        field = fields.parse_field(table, name)
        direction, nulls = "ASC", None
        for modifier in modifiers:
            if modifier in ("asc", "desc"):
                direction = modifier.upper()
            elif modifier in ("nullsfirst", "nullslast"):
                nulls = "NULLS FIRST" if modifier == "nullsfirst" else "NULLS LAST"
            else:
                raise _bad_param(f'"failed to parse order ({text})" (line 1, column 1)', f'unexpected "{modifier}"')
        # PostgreSQL sorts NULLs as larger than any value; SQLite as smaller.  Say it explicitly.
        nulls = nulls or ("NULLS LAST" if direction == "ASC" else "NULLS FIRST")
        terms.append((field, f"{direction} {nulls}"))
    return tuple(terms)


def _non_negative(name: str, text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not re.fullmatch(r"\d+", text):
        raise _bad_param(f'"failed to parse {name} parameter ({text})"', "expecting a non-negative integer")
    return int(text)


def _range_header(headers: Headers) -> tuple[int | None, int]:
    """``Range: 0-9`` (``Range-Unit: items``) as (limit, offset)."""
    value = headers.get("range")
    if not value:
        return None, 0
    match = re.fullmatch(r"\s*(\d+)-(\d*)\s*", value)
    if not match:
        raise RestError(416, "PGRST103", "Requested range not satisfiable", f"Cannot parse Range: {value}")
    first = int(match.group(1))
    if match.group(2) == "":
        return None, first
    last = int(match.group(2))
    if last < first:
        raise RestError(416, "PGRST103", "Requested range not satisfiable", f"Range {value} ends before it starts")
    return last - first + 1, first


def parse_query(
    table: schema.Table,
    params: QueryParams,
    headers: Headers,
    *,
    read: bool,
    tables: Mapping[str, schema.Table] | None = None,
) -> Query:
    """The :class:`Query` of a request; ``read`` also honours the ``Range`` header; ``tables`` are what ``select``
    may embed."""
    selection = embedding.parse_select(table, params.get("select"), tables or {table.name: table})
    filter_params = []
    for key, value in params.multi_items():
        if key in _RESERVED:
            continue
        if key in _LOGIC_KEYS or table.column(_FIELD_NAME.split(key, 1)[0]) is not None:
            filter_params.append((key, value))
        elif "." in key:
            selection = _refine(selection, key, value)
        else:
            raise DatabaseError("42703", f"column {table.name}.{key} does not exist")
    limit = _non_negative("limit", params.get("limit"))
    offset = _non_negative("offset", params.get("offset")) or 0
    if read and limit is None and not offset:
        limit, offset = _range_header(headers)
    return Query(
        table=table,
        select=selection,
        filter=filters.rest_filter(table, filter_params),
        order=_parse_order(table, params.get("order")),
        limit=limit,
        offset=offset,
    )


def _refine(selection: embedding.Selection, key: str, value: str) -> embedding.Selection:
    """``alias.col=op.val``, ``alias.or=(…)``, ``alias.order=…``, ``alias.limit=…``: about an embedded resource."""
    prefix, _, last = key.rpartition(".")
    if last in ("or", "and") and prefix.endswith(".not"):
        prefix, last = prefix[: -len(".not")], f"not.{last}"
    path = prefix.split(".")
    target = embedding.find(selection, path)
    if last == "order":
        return embedding.refine(selection, path, order=_parse_order(target, value))
    if last in ("limit", "offset"):
        number = _non_negative(last, value)
        return embedding.refine(selection, path, **{last: number if last == "limit" else number or 0})
    return embedding.refine(selection, path, filter=filters.rest_filter(target, [(last, value)]))


def parse_columns(table: schema.Table, text: str | None) -> tuple[str, ...] | None:
    """``columns="a","b"`` of a bulk insert (None when absent); unknown names are ``PGRST204``."""
    if text is None:
        return None
    names = tuple(part.strip().strip('"') for part in text.split(",") if part.strip())
    for name in names:
        if table.column(name) is None:
            raise unknown_column(table, name)
    return names


def unknown_column(table: schema.Table, name: str) -> RestError:
    return RestError(400, "PGRST204", f"Could not find the '{name}' column of '{table.name}' in the schema cache")


# ---------------------------------------------------------------------------------------------------- headers


@dataclass(frozen=True)
class Prefer:
    """The ``Prefer`` header's tokens that matter here."""

    returning: str = "minimal"
    count: bool = False
    resolution: str | None = None
    missing_default: bool = False
    max_affected: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


def parse_prefer(values: Iterable[str]) -> Prefer:
    """All ``Prefer`` headers (comma-separated ``key=value`` tokens; unknown ones are ignored, as PostgREST's lenient
    handling does).  ``count=planned|estimated`` are answered with an exact count."""
    tokens: dict[str, str] = {}
    for value in values:
        for token in value.split(","):
            key, _, setting = token.strip().partition("=")
            if key:
                tokens[key.strip().lower()] = setting.strip()
    returning = tokens.get("return", "minimal")
    if returning not in ("minimal", "representation", "headers-only"):
        returning = "minimal"
    resolution = tokens.get("resolution")
    max_affected = None
    if tokens.get("handling") == "strict" and re.fullmatch(r"\d+", tokens.get("max-affected", "")):
        max_affected = int(tokens["max-affected"])
    return Prefer(
        returning=returning,
        count=tokens.get("count") in ("exact", "planned", "estimated"),
        resolution=resolution if resolution in ("merge-duplicates", "ignore-duplicates") else None,
        missing_default=tokens.get("missing") == "default",
        max_affected=max_affected,
        extra=tokens,
    )


@dataclass(frozen=True)
class Representation:
    """How to answer: one JSON object (``.single()``) or an array, optionally without null fields."""

    single: bool = False
    strip_nulls: bool = False

    @property
    def media_type(self) -> str:
        kind = "application/vnd.pgrst.object+json" if self.single else "application/json"
        return f"{kind}; charset=utf-8"


def representation(headers: Headers) -> Representation:
    """Negotiate ``Accept``: ``*/*``, JSON and PostgREST's array/object types; anything else is ``PGRST107``."""
    accept = headers.get("accept", "") or "*/*"
    strip = "nulls=stripped" in accept.replace(" ", "")
    if "application/vnd.pgrst.object" in accept:
        return Representation(single=True, strip_nulls=strip)
    for media in accept.split(","):
        kind = media.split(";")[0].strip().lower()
        if kind in ("*/*", "application/*", "application/json", "application/vnd.pgrst.array+json", ""):
            return Representation(single=False, strip_nulls=strip)
    raise RestError(406, "PGRST107", f"None of these media types are available: {accept}")
