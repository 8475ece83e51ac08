"""The PostgreSQL migration that prepares a Supabase project for nbrealtime (``nbrealtime sql``).

Pure functions from :class:`~nbrealtime.schema.Table` to SQL text, so the tables, row-level security policies and
realtime publication on Supabase come from the same declarations as the embedded server's.  The output is meant to be
run again safely: tables and indexes are created only if missing, policies are dropped and re-created, and tables
join the ``supabase_realtime`` publication only if they are not in it yet.

Policy atoms become SQL per role (Supabase's ``anon`` and ``authenticated``; ``service_role`` bypasses RLS):

* ``anyone`` → true for both roles; ``signed_in`` → true for ``authenticated`` only; ``none`` → false;
* ``owner:COL`` → ``COL = (select auth.uid())`` (the sub-select lets PostgreSQL evaluate ``auth.uid()`` once);
* ``room:COL`` → ``public.nbrt_is_room_member(COL)``, a ``security definer`` function, because a policy on
  ``nbrt_room_members`` that queried ``nbrt_room_members`` itself would recurse without end; ``room_editor:COL`` and
  ``room_owner:COL`` → ``public.nbrt_room_role(COL) in (…)``, its twin that returns the caller's role.

Rooms (``schema.CHANNEL_RULES`` and the room functions) add: column privileges that keep ``Table.locked`` columns out
of the API roles' reach, the ``security definer`` functions ``nbrt_join_room`` and ``nbrt_set_role`` (the embedded
server's ``server/rooms.py`` in PL/pgSQL, called through PostgREST's ``/rpc``), and RLS policies on Supabase's
``realtime.messages`` for the rooms' private channels.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace

from nbrealtime.pgsql_access import (
    ROOM_MEMBER_FUNCTION,
    ROOM_ROLE_FUNCTION,
    channel_policies_sql,
    room_functions_sql,
    room_test,
    upgrade_to_roles_sql,
)
from nbrealtime.schema import (
    BUILTIN_TABLES,
    OPERATIONS,
    ROOM_INVITES_TABLE,
    ROOM_MEMBERS_TABLE,
    Column,
    Operation,
    PolicyAtom,
    PolicyExpr,
    Table,
)

__all__ = [
    "API_ROLES",
    "MIGRATION_PATH",
    "POLICY_ROLES",
    "RESERVED_WORDS",
    "ROOM_MEMBER_FUNCTION",
    "migration_sql",
    "policy_condition",
    "policy_name",
    "quote_ident",
    "seeds_sql",
    "table_policies_sql",
    "table_sql",
]

MIGRATION_PATH = "supabase/migrations/20261125000000_nbrealtime.sql"
"""Where the built-in tables' migration is committed, relative to the repository root."""

API_ROLES = ("anon", "authenticated", "service_role")
"""The database roles Supabase's APIs switch to; all three get table privileges and RLS decides the rest."""

POLICY_ROLES = ("anon", "authenticated")
"""The roles policies are written for (``service_role`` has ``bypassrls``)."""


#: PostgreSQL's reserved and type/function-name keywords (``pg_get_keywords()`` catcode R and T): a column or table
#: with one of these names must be double-quoted (``system_user`` from PostgreSQL 16 on).  Checked by the tests.
_RESERVED_WORDS = """
    all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate
    collation column concurrently constraint create cross current_catalog current_date current_role current_schema
    current_time current_timestamp current_user default deferrable desc distinct do else end except false fetch for
    foreign freeze from full grant group having ilike in initially inner intersect into is isnull join lateral
    leading left like limit localtime localtimestamp natural not notnull null offset on only or order outer overlaps
    placing primary references returning right select session_user similar some symmetric system_user table
    tablesample then to trailing true union unique user using variadic verbose when where window with"""
RESERVED_WORDS = frozenset(_RESERVED_WORDS.split())

_MAX_IDENTIFIER = 63


def quote_ident(name: str) -> str:
    """``name`` as an SQL identifier: schema names are already plain lower-case, so only keywords need quotes."""
    return f'"{name}"' if name in RESERVED_WORDS else name


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _qualified(table: Table) -> str:
    return f"public.{quote_ident(table.name)}"


# ---------------------------------------------------------------------------------------------------- policies


def _atom_sql(atom: PolicyAtom, table: Table, role: str) -> str | None:
    """The SQL of one atom for ``role``: ``"true"``, a condition, or ``None`` when the atom can never hold."""
    if atom.kind == "anyone":
        return "true"
    if atom.kind == "none" or role != "authenticated":
        return None
    if atom.kind == "signed_in":
        return "true"
    assert atom.column is not None
    column = quote_ident(atom.column)
    if atom.kind == "owner":
        return f"{column} = (select auth.uid())"
    column_def = table.column(atom.column)
    argument = column if column_def is not None and column_def.type == "text" else f"{column}::text"
    return room_test(atom.kind, argument)


def policy_condition(expr: PolicyExpr, table: Table, role: str) -> str | None:
    """``expr`` as an SQL condition for ``role``, simplified; ``None`` when ``role`` never passes (no policy)."""
    alternatives: list[str] = []
    for group in expr.any_of:
        parts: list[str] = []
        for atom in group:
            sql = _atom_sql(atom, table, role)
            if sql is None:
                break
            if sql != "true" and sql not in parts:
                parts.append(sql)
        else:
            if not parts:
                return "true"
            alternatives.append(" and ".join(parts))
    if not alternatives:
        return None
    if len(alternatives) == 1:
        return alternatives[0]
    return " or ".join(f"({part})" if " and " in part else part for part in alternatives)


def policy_name(operation: Operation, role: str) -> str:
    """One policy per operation and role, named so that a re-run can drop exactly what an earlier run created."""
    return f"nbrt_{operation}_{role}"


def table_policies_sql(table: Table) -> str:
    """Drop and re-create the table's policies: ``with check`` for inserts, ``using`` + ``with check`` for updates."""
    lines: list[str] = []
    for operation in OPERATIONS:
        expr = table.policy.for_operation(operation)
        for role in POLICY_ROLES:
            name = policy_name(operation, role)
            lines.append(f"drop policy if exists {name} on {_qualified(table)};")
            condition = policy_condition(expr, table, role)
            if condition is None:
                continue
            clauses = {
                "select": f"using ({condition})",
                "insert": f"with check ({condition})",
                "update": f"using ({condition})\n  with check ({condition})",
                "delete": f"using ({condition})",
            }[operation]
            lines.append(
                f"create policy {name} on {_qualified(table)}\n  for {operation} to {role}\n  {clauses};  -- {expr}"
            )
    return "\n".join(lines) + "\n"


def _room_member_function_sql() -> str:
    return f"""\
-- Room membership for room:COLUMN policies.  security definer (run as the owner, who is not subject to RLS) so a
-- policy on {ROOM_MEMBERS_TABLE} may use it without recursing into its own policy; search_path is fixed so
-- nobody can shadow the tables or functions it names.
create or replace function {ROOM_MEMBER_FUNCTION}(room text)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.{ROOM_MEMBERS_TABLE} as member
    where member.room = $1 and member.user_id = auth.uid()
  );
$$;
revoke all on function {ROOM_MEMBER_FUNCTION}(text) from public;
grant execute on function {ROOM_MEMBER_FUNCTION}(text) to {", ".join(API_ROLES)};
-- The caller's role in a room (null: not a member), for room_editor:/room_owner: policies.
create or replace function {ROOM_ROLE_FUNCTION}(room text)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select member.role from public.{ROOM_MEMBERS_TABLE} as member
  where member.room = $1 and member.user_id = auth.uid();
$$;
revoke all on function {ROOM_ROLE_FUNCTION}(text) from public;
grant execute on function {ROOM_ROLE_FUNCTION}(text) to {", ".join(API_ROLES)};
"""


# ---------------------------------------------------------------------------------------------------- tables


def _index_name(table: Table, columns: Sequence[str]) -> str:
    """``TABLE_COLS_idx``, shortened with a hash when PostgreSQL would truncate it (so two never collide)."""
    name = "_".join([table.name, *columns, "idx"])
    if len(name) <= _MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: _MAX_IDENTIFIER - 9]}_{digest}"


def table_sql(table: Table) -> str:
    """Create the table (if missing) or its missing columns, its indexes, RLS, full replica identity and the API
    roles' privileges."""
    qualified = _qualified(table)
    definitions = [f"  {quote_ident(column.name)} {column.definition}" for column in table.columns]
    if not any(column.primary_key for column in table.columns):
        definitions.append(f"  primary key ({', '.join(quote_ident(key) for key in table.primary_key)})")
    lines = [f"create table if not exists {qualified} (", ",\n".join(definitions), ");"]
    # a table made by an older migration gains the columns added since (as the embedded server's create_tables)
    added = [column for column in table.columns if column.name not in table.primary_key and not column.primary_key]
    if added:
        additions = ",\n".join(f"  add column if not exists {quote_ident(c.name)} {c.definition}" for c in added)
        lines += [f"alter table {qualified}", additions + ";"]
    if table.description:
        lines.append(f"comment on table {qualified} is {_literal(table.description)};")
    for index in table.indexes:
        columns = ", ".join(quote_ident(column) for column in index)
        lines.append(f"create index if not exists {_index_name(table, index)} on {qualified} ({columns});")
    lines += [
        f"alter table {qualified} enable row level security;",
        f"alter table {qualified} replica identity full;",
        *_privileges_sql(table),
    ]
    for column in table.columns:
        if column.serial:  # inserts draw from the column's sequence, whose name PostgreSQL chose
            sequence = f"pg_get_serial_sequence({_literal(qualified)}, {_literal(column.name)})"
            lines.append(
                f"do $$ begin\n  execute format('grant usage, select on sequence %s to {', '.join(API_ROLES)}',"
                f" {sequence});\nend $$;"
            )
    return "\n".join(lines) + "\n"


def _privileges_sql(table: Table) -> list[str]:
    """Table privileges for the API roles; locked columns get no insert/update privilege except for service_role."""
    qualified = _qualified(table)
    if not table.locked:
        return [f"grant select, insert, update, delete on table {qualified} to {', '.join(API_ROLES)};"]
    open_columns = ", ".join(quote_ident(column.name) for column in table.columns if column.name not in table.locked)
    users = ", ".join(role for role in API_ROLES if role != "service_role")
    return [
        f"revoke insert, update on table {qualified} from {users};",
        f"grant select, delete on table {qualified} to {', '.join(API_ROLES)};",
        f"grant insert, update on table {qualified} to service_role;",
        f"grant insert ({open_columns}), update ({open_columns}) on table {qualified} to {users};",
    ]


def _comment(table: Table) -> str:
    description = " ".join(table.description.split())
    return f"-- {table.name}: {description}\n" if description else f"-- {table.name}\n"


def _publication_sql(tables: Sequence[Table]) -> str:
    names = ",\n    ".join(_literal(table.name) for table in tables)
    return f"""\
do $$
declare
  name text;
begin
  foreach name in array array[
    {names}
  ] loop
    if not exists (
      select 1 from pg_publication_tables
      where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = name
    ) then
      execute format('alter publication supabase_realtime add table public.%I', name);
    end if;
  end loop;
end
$$;
"""


def _value_sql(column: Column, value: object) -> str:
    """A seed value as a PostgreSQL literal of the column's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if column.array and isinstance(value, list):
        items = ", ".join(_value_sql(replace(column, array=False), item) for item in value)
        return f"array[{items}]::{column.definition.split('[]')[0]}[]"
    if isinstance(value, dict | list):
        return f"{_literal(json.dumps(value))}::{column.type}"
    return _literal(str(value))


def seeds_sql(table: Table) -> str:
    """The table's seed rows, inserted unless their primary key exists; identity/serial sequences moved past them."""
    lines = []
    always = any(column.identity == "always" for column in table.columns)
    for row in table.seeds:
        columns = [column for column in table.columns if column.name in row]
        names = ", ".join(quote_ident(column.name) for column in columns)
        values = ", ".join(_value_sql(column, row[column.name]) for column in columns)
        overriding = " overriding system value" if always else ""
        lines.append(f"insert into {_qualified(table)} ({names}){overriding} values ({values}) on conflict do nothing;")
    for column in table.columns:
        if column.serial and table.seeds:
            sequence = f"pg_get_serial_sequence({_literal(_qualified(table))}, {_literal(column.name)})"
            maximum = f"(select max({quote_ident(column.name)}) from {_qualified(table)})"
            lines.append(f"select setval({sequence}, greatest({maximum}, 1));")
    return "\n".join(lines) + "\n"


def migration_sql(tables: Sequence[Table] = BUILTIN_TABLES) -> str:
    """The whole migration for ``tables``: header, tables, the room-membership function, policies, publication."""
    uses_rooms = any(
        atom.kind.startswith("room")
        for table in tables
        for op in OPERATIONS
        for atom in table.policy.for_operation(op).atoms()
    )
    sections = [
        "-- nbrealtime: tables, row-level security policies and realtime publication for a Supabase project.\n"
        "-- Generated by `nbrealtime sql` from nbrealtime's table declarations; do not edit by hand.\n"
        "-- Safe to run again: tables, their columns and indexes are created if missing (existing columns are not\n"
        "-- altered, but for the one-time upgrade of rooms to roles), "
        "policies are replaced, tables join the supabase_realtime publication once.\n"
        f"-- Tables: {', '.join(table.name for table in tables)}.\n",
    ]
    if any(table.name == ROOM_INVITES_TABLE for table in tables):
        sections.append(upgrade_to_roles_sql())
    sections += [_comment(table) + table_sql(table) for table in tables]
    if uses_rooms:
        sections.append(_room_member_function_sql())
    sections += [f"-- {table.name} policies\n" + table_policies_sql(table) for table in tables]
    sections += [f"-- {table.name} seed rows\n" + seeds_sql(table) for table in tables if table.seeds]
    if any(table.name == ROOM_INVITES_TABLE for table in tables):
        sections += [room_functions_sql(), channel_policies_sql()]
    sections.append("-- Realtime: postgres_changes for every table\n" + _publication_sql(tables))
    return "\n".join(sections)
