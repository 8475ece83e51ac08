"""``select`` with embedded resources (``*,author:authors(name),comments!inner(body)``) over the schema's foreign keys.

A :class:`Selection` is what a request asks for per row: fields (see :mod:`nbrealtime.server.fields`) and
:class:`Embed` s, in request order.  Relationships are found as PostgREST finds them:

* many-to-one — the table has a foreign key to the embedded one (or the name is such a foreign-key column:
  ``author(name)``): one object, or null;
* one-to-many — the embedded table has a foreign key to this one: an array, possibly empty.

Two candidates are ``PGRST201``; ``authors!author`` / ``authors!posts_author_fkey`` pick one (the foreign-key
column or constraint name).  None is ``PGRST200``.  ``!inner`` keeps only parents with a match, in SQL (an
``EXISTS``), so counts and limits agree with PostgREST.  Embedded rows are read under the embedded table's select
policy for the caller — a row you cannot read is not embedded, as PostgreSQL's RLS does inside PostgREST's joins.
Embeds nest to any depth; ``alias.col=op.val``, ``alias.order``, ``alias.limit`` and ``alias.offset`` refine one.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from nbrealtime import schema
from nbrealtime.server import fields, filters, policies
from nbrealtime.server.rest.errors import RestError
from nbrealtime.server.storage import decode_row, encode, quote
from nbrealtime.server.tokens import Claims

__all__ = ["Embed", "Selection", "find", "inner_sql", "parse_select", "refine", "render"]

_EMBED = re.compile(
    r"^(?:(?P<alias>[A-Za-z_][\w]*)\s*:\s*)?(?P<name>[A-Za-z_][\w]*)(?P<hints>(?:![A-Za-z_][\w]*)*)\s*\((?P<inner>.*)\)$",
    re.DOTALL,
)
_ALIAS = re.compile(r"^[^:]+:(?!:)")  # ``alias:field`` (a cast's ``::`` is not an alias)

Tables = Mapping[str, schema.Table]


@dataclass(frozen=True)
class Embed:
    """An embedded resource: ``table`` rows whose ``remote`` column equals the parent's ``local`` column."""

    alias: str
    table: schema.Table
    local: str
    remote: str
    to_one: bool
    inner: bool
    selection: Selection
    filter: filters.Filter
    order: tuple[tuple[fields.Field, str], ...] = ()
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True)
class Selection:
    """Fields (output name, field) and embeds, in the order the request names them."""

    items: tuple[tuple[str, fields.Field] | Embed, ...]
    embeds: tuple[Embed, ...] = field(default=())

    def project(self, row: Mapping[str, Any], embedded: Mapping[str, Mapping[bytes, list[Any]]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in self.items:
            if isinstance(item, Embed):
                matches = embedded[item.alias].get(orjson.dumps(row[item.local]), [])
                out[item.alias] = (matches[0] if matches else None) if item.to_one else matches
            else:
                out[item[0]] = item[1].value(row)
        return out


def _bad_select(text: str, details: str) -> RestError:
    return RestError(400, "PGRST100", f'"failed to parse select parameter ({text})" (line 1, column 1)', details)


def parse_select(table: schema.Table, text: str | None, tables: Tables) -> Selection:
    """The selection of ``select=…`` on ``table`` (``*`` when absent)."""
    if text is None or not text.strip():
        text = "*"
    items: list[tuple[str, fields.Field] | Embed] = []
    for raw in filters.split_top_level(text):
        item = raw.strip()
        if item == "*":
            items.extend((column.name, fields.Field(column)) for column in table.columns)
        elif item.startswith("..."):
            raise _bad_select(text, "nbrealtime's data API does not spread embedded resources (...)")
        elif "(" in item and (match := _EMBED.match(item)):
            items.append(_embed(table, match, tables))
        elif "(" in item:
            raise _bad_select(text, f"cannot read the embedded resource {item!r}")
        else:
            alias, colon, name = item.partition(":") if _ALIAS.match(item) else ("", "", item)
            if not name.strip() or (colon and not alias.strip()):
                raise _bad_select(text, "empty column name")
            parsed = fields.parse_field(table, name, allow_cast=True)
            items.append((alias.strip().strip('"') or parsed.key, parsed))
    embeds = tuple(item for item in items if isinstance(item, Embed))
    aliases = [embed.alias for embed in embeds]
    if len(set(aliases)) != len(aliases):
        raise _bad_select(text, "two embedded resources have the same name; give one an alias (alias:table(…))")
    return Selection(tuple(items), embeds)


def _relationships(table: schema.Table, name: str, tables: Tables) -> list[tuple[str, schema.Table, str, str, bool]]:
    """Candidates ``(constraint name, embedded table, local column, remote column, to_one)`` for ``name``."""
    found = []
    for column in table.columns:  # many-to-one: our foreign key points at ``name`` (or ``name`` is that column)
        key = column.references
        if key is not None and name in (key.table, column.name) and key.table in tables:
            target = tables[key.table]
            remote = schema.referenced_column(table, column, tables).name
            found.append((f"{table.name}_{column.name}_fkey", target, column.name, remote, True))
    other = tables.get(name)
    if other is not None:  # one-to-many: their foreign key points at us
        for column in other.columns:
            key = column.references
            if key is not None and key.table == table.name and not (other is table and column.name == name):
                local = schema.referenced_column(other, column, tables).name
                found.append((f"{other.name}_{column.name}_fkey", other, local, column.name, False))
    return found


def _side(table: schema.Table, candidate: tuple[str, schema.Table, str, str, bool], *, local: bool) -> str:
    """``posts(author)`` / ``authors(id)``: the foreign key's side first, as PostgREST writes a relationship."""
    _, target, here, there, to_one = candidate
    fk_side = (table.name, here) if to_one else (target.name, there)
    pk_side = (target.name, there) if to_one else (table.name, here)
    name, column = fk_side if local else pk_side
    return f"{name}({column})"


def _embed(table: schema.Table, match: re.Match[str], tables: Tables) -> Embed:
    name = match.group("name")
    hints = [hint for hint in match.group("hints").split("!") if hint]
    inner = "inner" in hints
    hints = [hint for hint in hints if hint not in ("inner", "left")]
    candidates = _relationships(table, name, tables)
    if hints:
        candidates = [c for c in candidates if hints[0] in (c[0], c[2] if c[4] else c[3])]
    if not candidates:
        raise RestError(
            400,
            "PGRST200",
            f"Could not find a relationship between '{table.name}' and '{name}' in the schema cache",
            f"Searched for a foreign key relationship between '{table.name}' and '{name}'"
            f"{' using the hint ' + repr(hints[0]) if hints else ''} in the schema 'public', "
            "but no matches were found.",
        )
    if len(candidates) > 1:
        options = ", ".join(f"'{name}!{candidate[0]}'" for candidate in candidates)
        raise RestError(
            300,
            "PGRST201",
            f"Could not embed because more than one relationship was found for '{table.name}' and '{name}'",
            [  # PostgREST lists the candidates as objects
                {
                    "cardinality": "many-to-one" if c[4] else "one-to-many",
                    "embedding": f"{table.name} with {c[1].name}",
                    "relationship": f"{c[0]} using {_side(table, c, local=True)} and {_side(table, c, local=False)}",
                }
                for c in candidates
            ],
            f"Try changing '{name}' to one of the following: {options}. Find the desired relationship in the "
            "'details' key.",
        )
    _, target, local, remote, to_one = candidates[0]
    selection = parse_select(target, match.group("inner"), tables)
    return Embed(match.group("alias") or name, target, local, remote, to_one, inner, selection, filters.Filter(target))


def refine(selection: Selection, path: Sequence[str], **changes: Any) -> Selection:
    """The selection with the embed at ``path`` (aliases) changed: ``filter`` (ANDed), ``order``, ``limit``, ``offset``.

    Raises ``PGRST108`` when ``path`` names no embedded resource of the selection.
    """
    alias, rest = path[0], path[1:]
    for index, item in enumerate(selection.items):
        if isinstance(item, Embed) and item.alias == alias:
            if rest:
                updated = dataclasses.replace(item, selection=refine(item.selection, rest, **changes))
            elif "filter" in changes:
                updated = dataclasses.replace(item, filter=item.filter.and_(changes["filter"]))
            else:
                updated = dataclasses.replace(item, **changes)
            items = (*selection.items[:index], updated, *selection.items[index + 1 :])
            return Selection(items, tuple(i for i in items if isinstance(i, Embed)))
    raise _not_embedded(alias)


def find(selection: Selection, path: Sequence[str]) -> schema.Table:
    """The table of the embed at ``path`` (for parsing its filters); ``PGRST108`` if there is none."""
    for item in selection.embeds:
        if item.alias == path[0]:
            return find(item.selection, path[1:]) if len(path) > 1 else item.table
    raise _not_embedded(path[0])


def _not_embedded(alias: str) -> RestError:
    return RestError(
        400,
        "PGRST108",
        f"'{alias}' is not an embedded resource in this request",
        hint=f"Verify that '{alias}' is included in the 'select' query parameter.",
    )


# ---------------------------------------------------------------------------------------------------- reading


def inner_sql(selection: Selection, qualifier: str, claims: Claims, depth: int = 0) -> tuple[str, list[Any]]:
    """``EXISTS`` conditions for the ``!inner`` embeds of ``selection`` (``"1"`` when there are none)."""
    parts, params = ["1"], []
    for index, embed in enumerate(selection.embeds):
        if not embed.inner:
            continue
        alias = f"nbrt_embed_{depth}_{index}"
        where, where_params = _where(embed, alias, claims, depth + 1)
        link = f"{quote(alias)}.{quote(embed.remote)} = {quote(qualifier)}.{quote(embed.local)}"
        parts.append(f"EXISTS (SELECT 1 FROM {quote(embed.table.name)} AS {quote(alias)} WHERE {link} AND {where})")
        params += where_params
    return " AND ".join(parts), params


def _where(embed: Embed, qualifier: str, claims: Claims, depth: int) -> tuple[str, list[Any]]:
    """The embed's own filter, the caller's select policy on its table and its nested ``!inner`` conditions."""
    filter_sql, filter_params = embed.filter.to_sql(qualifier)
    policy, policy_params = policies.policy_sql(embed.table, "select", claims, qualifier)
    nested, nested_params = inner_sql(embed.selection, qualifier, claims, depth)
    return f"{filter_sql} AND {policy} AND {nested}", [*filter_params, *policy_params, *nested_params]


def render(
    connection: sqlite3.Connection, selection: Selection, rows: Sequence[Mapping[str, Any]], claims: Claims
) -> list[dict[str, Any]]:
    """Project JSON-form ``rows`` through ``selection``, reading every embed with one query per embed and level."""
    embedded = {embed.alias: _fetch(connection, embed, rows, claims) for embed in selection.embeds}
    return [selection.project(row, embedded) for row in rows]


def _fetch(
    connection: sqlite3.Connection, embed: Embed, parents: Iterable[Mapping[str, Any]], claims: Claims
) -> dict[bytes, list[dict[str, Any]]]:
    keys = list(dict.fromkeys(row[embed.local] for row in parents if row[embed.local] is not None))
    if not keys:
        return {}
    table, qualifier = embed.table, embed.table.name
    column = table.column(embed.remote)
    assert column is not None
    where, params = _where(embed, qualifier, claims, 1)
    marks = ", ".join("?" for _ in keys)
    order_terms, order_params = [], []
    for term, direction in embed.order:
        expression, term_params = term.sql(qualifier)
        collate = " COLLATE nbrt_jsonb" if term.path and not term.as_text else ""
        order_terms.append(f"{expression}{collate} {direction}")
        order_params += term_params
    order = f" ORDER BY {', '.join(order_terms)}" if order_terms else ""
    sql = f"SELECT * FROM {quote(table.name)} WHERE {quote(qualifier)}.{quote(embed.remote)} IN ({marks}) AND {where}"
    stored = [encode(column, key) for key in keys]
    rows = [decode_row(table, row) for row in connection.execute(sql + order, [*stored, *params, *order_params])]
    projected = render(connection, embed.selection, rows, claims)
    groups: dict[bytes, list[dict[str, Any]]] = {}
    for row, out in zip(rows, projected, strict=True):
        groups.setdefault(orjson.dumps(row[embed.remote]), []).append(out)
    if embed.limit is not None or embed.offset:
        end = None if embed.limit is None else embed.offset + embed.limit
        groups = {key: group[embed.offset : end] for key, group in groups.items()}
    return groups
