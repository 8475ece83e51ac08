"""Table definitions: nbrealtime's built-in tables and the user's schema file.

One model serves three readers — the embedded server (SQLite tables, REST, row policies), the kernel side (which
tables and keys exist) and ``nbrealtime sql`` (the PostgreSQL migration for Supabase) — so a table is declared once.

Columns are written as PostgreSQL column definitions (``"uuid primary key default gen_random_uuid()"``) because
that is the dialect users know from Supabase; the embedded server maps them onto SQLite.

Row policies are small boolean expressions over *atoms*, one per operation (select, insert, update, delete):

===================  =============================================================
atom                 who passes
===================  =============================================================
``anyone``           every role, including ``anon``
``signed_in``        any authenticated user
``owner:COLUMN``     the user whose id is in ``COLUMN``
``room:COLUMN``      members of the room named in ``COLUMN`` (``nbrt_room_members``)
``none``             nobody (only ``service_role``, which bypasses policies)
===================  =============================================================

Atoms combine with ``and`` / ``or`` (``and`` binds tighter).  A schema file names a *shorthand*
(``public``, ``owner:COL``, ``room:COL``, ``read_only``) or gives the four operations explicitly.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "BUILTIN_TABLES",
    "Column",
    "Policy",
    "PolicyAtom",
    "PolicyExpr",
    "SchemaError",
    "Table",
    "builtin_tables",
    "load_schema_file",
    "parse_column",
    "parse_policy",
    "parse_schema",
]

Operation = Literal["select", "insert", "update", "delete"]
OPERATIONS: tuple[Operation, ...] = ("select", "insert", "update", "delete")

ROOM_MEMBERS_TABLE = "nbrt_room_members"
"""The table that ``room:COLUMN`` policies consult: a user is a member of ``room`` if a row (room, user_id) exists."""


class SchemaError(ValueError):
    """A schema file or column definition that nbrealtime cannot use, with the place it went wrong."""


# ---------------------------------------------------------------------------------------------------- columns

#: PostgreSQL type name (as written, lower-case) → canonical name used everywhere else.
_TYPE_ALIASES = {
    "uuid": "uuid",
    "text": "text",
    "varchar": "text",
    "character varying": "text",
    "integer": "int4",
    "int": "int4",
    "int4": "int4",
    "smallint": "int2",
    "int2": "int2",
    "bigint": "int8",
    "int8": "int8",
    "serial": "int4",
    "bigserial": "int8",
    "boolean": "bool",
    "bool": "bool",
    "jsonb": "jsonb",
    "json": "json",
    "timestamptz": "timestamptz",
    "timestamp with time zone": "timestamptz",
    "timestamp": "timestamp",
    "timestamp without time zone": "timestamp",
    "date": "date",
    "double precision": "float8",
    "float8": "float8",
    "real": "float4",
    "float4": "float4",
    "numeric": "numeric",
    "bytea": "bytea",
}

#: The default expressions the embedded server knows how to evaluate.
DEFAULT_FUNCTIONS = {"gen_random_uuid()", "auth.uid()", "now()"}

_TYPE_RE = re.compile(
    r"^(?P<type>timestamp with time zone|timestamp without time zone|double precision|character varying"
    r"|[a-z_][a-z0-9_]*)(?P<array>\[\])?",
)


@dataclass(frozen=True)
class Column:
    """One column: its canonical PostgreSQL type and the constraints the embedded server enforces."""

    name: str
    type: str
    definition: str
    primary_key: bool = False
    not_null: bool = False
    unique: bool = False
    default: str | None = None
    serial: bool = False
    array: bool = False

    @property
    def pg_type(self) -> str:
        """The ``pg_type.typname`` that realtime's ``columns`` list reports (``_int4`` for arrays)."""
        return f"_{self.type}" if self.array else self.type


def parse_column(name: str, definition: str) -> Column:
    """Parse a PostgreSQL column definition such as ``"text not null default 'x'"``."""
    _check_identifier(name, "column")
    text = " ".join(definition.strip().split())
    lowered = text.lower()
    match = _TYPE_RE.match(lowered)
    if not match or match.group("type") not in _TYPE_ALIASES:
        raise SchemaError(f"column {name!r}: unknown type in {definition!r}")
    type_name = match.group("type")
    rest = text[match.end() :].strip()
    column: dict[str, object] = {
        "type": _TYPE_ALIASES[type_name],
        "serial": type_name in ("serial", "bigserial"),
        "array": bool(match.group("array")),
    }
    while rest:
        low = rest.lower()
        if low.startswith("primary key"):
            column["primary_key"] = True
            rest = rest[len("primary key") :].strip()
        elif low.startswith("not null"):
            column["not_null"] = True
            rest = rest[len("not null") :].strip()
        elif low.startswith("null"):
            rest = rest[len("null") :].strip()
        elif low.startswith("unique"):
            column["unique"] = True
            rest = rest[len("unique") :].strip()
        elif low.startswith("default "):
            column["default"], rest = _split_default(rest[len("default ") :].strip(), name)
        else:
            raise SchemaError(f"column {name!r}: cannot read {rest!r} in {definition!r}")
    return Column(name=name, definition=text, **column)  # type: ignore[arg-type]


def _split_default(text: str, column: str) -> tuple[str, str]:
    """Take one default expression off the front of ``text``; return it and the remainder."""
    low = text.lower()
    for function in DEFAULT_FUNCTIONS:
        if low.startswith(function):
            return function, text[len(function) :].strip()
    literal = re.match(r"^('(?:[^']|'')*'(?:::[a-z]+)?|-?\d+(?:\.\d+)?|true|false|null)", text, re.IGNORECASE)
    if not literal:
        raise SchemaError(f"column {column!r}: unsupported default {text!r}")
    return literal.group(1), text[literal.end() :].strip()


# ---------------------------------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class PolicyAtom:
    """One test of a policy: ``kind`` is anyone, signed_in, owner, room or none; ``column`` for owner/room."""

    kind: Literal["anyone", "signed_in", "owner", "room", "none"]
    column: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.column}" if self.column else self.kind


@dataclass(frozen=True)
class PolicyExpr:
    """A disjunction of conjunctions of atoms: ``any_of[i]`` holds when every atom in it holds."""

    any_of: tuple[tuple[PolicyAtom, ...], ...]

    def atoms(self) -> Iterable[PolicyAtom]:
        for group in self.any_of:
            yield from group

    def __str__(self) -> str:
        return " or ".join(" and ".join(str(atom) for atom in group) for group in self.any_of)


@dataclass(frozen=True)
class Policy:
    """The row policy of a table, one expression per operation."""

    select: PolicyExpr
    insert: PolicyExpr
    update: PolicyExpr
    delete: PolicyExpr

    def for_operation(self, operation: Operation) -> PolicyExpr:
        return getattr(self, operation)


def parse_policy_expr(text: str) -> PolicyExpr:
    """Parse ``"owner:recipient or owner:sender"``-style expressions."""
    groups = []
    for alternative in re.split(r"\s+or\s+", text.strip()):
        atoms = []
        for word in re.split(r"\s+and\s+", alternative.strip()):
            kind, _, column = word.strip().partition(":")
            if kind in ("owner", "room"):
                _check_identifier(column, f"policy {text!r}")
                atoms.append(PolicyAtom(kind, column))  # type: ignore[arg-type]
            elif kind in ("anyone", "signed_in", "none") and not column:
                atoms.append(PolicyAtom(kind))  # type: ignore[arg-type]
            else:
                raise SchemaError(f"policy {text!r}: unknown rule {word.strip()!r}")
        groups.append(tuple(atoms))
    return PolicyExpr(tuple(groups))


def parse_policy(spec: str | Mapping[str, str]) -> Policy:
    """A policy from a shorthand (``public``, ``owner:COL``, ``room:COL``, ``read_only``) or per-operation map."""
    if isinstance(spec, str):
        if spec == "public":
            return _uniform("signed_in")
        if spec == "read_only":
            rules = {"select": "anyone", "insert": "none", "update": "none", "delete": "none"}
            return Policy(**{op: parse_policy_expr(rule) for op, rule in rules.items()})
        if spec.startswith(("owner:", "room:")) and " " not in spec.strip():
            return _uniform(spec.strip())
        raise SchemaError(f"unknown policy {spec!r} (public, owner:COLUMN, room:COLUMN, read_only)")
    unknown = set(spec) - set(OPERATIONS)
    if unknown:
        raise SchemaError(f"policy: unknown operations {sorted(unknown)} (select, insert, update, delete)")
    missing = set(OPERATIONS) - set(spec)
    if missing:
        raise SchemaError(f"policy: missing operations {sorted(missing)}")
    return Policy(**{op: parse_policy_expr(spec[op]) for op in OPERATIONS})


def _uniform(rule: str) -> Policy:
    expr = parse_policy_expr(rule)
    return Policy(select=expr, insert=expr, update=expr, delete=expr)


# ---------------------------------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Table:
    """A table as both backends see it."""

    name: str
    columns: tuple[Column, ...]
    policy: Policy
    primary_key: tuple[str, ...]
    builtin: bool = False
    description: str = ""
    indexes: tuple[tuple[str, ...], ...] = field(default=())

    def column(self, name: str) -> Column | None:
        return next((column for column in self.columns if column.name == name), None)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


def make_table(
    name: str,
    columns: Mapping[str, str],
    policy: str | Mapping[str, str],
    *,
    primary_key: Iterable[str] | None = None,
    builtin: bool = False,
    description: str = "",
    indexes: Iterable[Iterable[str]] = (),
) -> Table:
    """Build and check a :class:`Table` from its declaration."""
    _check_identifier(name, "table")
    if not columns:
        raise SchemaError(f"table {name!r} has no columns")
    parsed = tuple(parse_column(column, definition) for column, definition in columns.items())
    inline_keys = tuple(column.name for column in parsed if column.primary_key)
    if primary_key is not None and inline_keys:
        raise SchemaError(f"table {name!r}: give the primary key inline or as primary_key, not both")
    keys = tuple(primary_key) if primary_key is not None else inline_keys
    if not keys:
        raise SchemaError(f"table {name!r} needs a primary key (realtime changes are keyed by it)")
    names = {column.name for column in parsed}
    for key in keys:
        if key not in names:
            raise SchemaError(f"table {name!r}: primary key column {key!r} is not a column")
    table_policy = parse_policy(policy)
    for operation in OPERATIONS:
        for atom in table_policy.for_operation(operation).atoms():
            if atom.column and atom.column not in names:
                raise SchemaError(f"table {name!r}: policy uses unknown column {atom.column!r}")
    index_list = tuple(tuple(index) for index in indexes)
    for index in index_list:
        for column in index:
            if column not in names:
                raise SchemaError(f"table {name!r}: index on unknown column {column!r}")
    return Table(name, parsed, table_policy, keys, builtin, description, index_list)


def parse_schema(document: Mapping[str, object], *, source: str = "schema") -> list[Table]:
    """Tables from a parsed schema document (``{"tables": {NAME: {"columns": …, "policy": …}}}``)."""
    tables = document.get("tables")
    if not isinstance(tables, Mapping):
        raise SchemaError(f"{source}: expected [tables.NAME] sections")
    result = []
    for name, spec in tables.items():
        if not isinstance(spec, Mapping):
            raise SchemaError(f"{source}: [tables.{name}] must be a table")
        if name.startswith(("nbrt_", "_")):
            raise SchemaError(f"{source}: table names starting with nbrt_ or _ are reserved for nbrealtime")
        unknown = set(spec) - {"columns", "policy", "primary_key", "description", "indexes"}
        if unknown:
            raise SchemaError(f"{source}: [tables.{name}] has unknown keys {sorted(unknown)}")
        columns = spec.get("columns")
        if not isinstance(columns, Mapping):
            raise SchemaError(f"{source}: [tables.{name}] needs a columns table")
        try:
            result.append(
                make_table(
                    name,
                    columns,  # type: ignore[arg-type]
                    spec.get("policy", "public"),  # type: ignore[arg-type]
                    primary_key=spec.get("primary_key"),  # type: ignore[arg-type]
                    description=str(spec.get("description", "")),
                    indexes=spec.get("indexes", ()),  # type: ignore[arg-type]
                )
            )
        except SchemaError as error:
            raise SchemaError(f"{source}: {error}") from None
    return result


def load_schema_file(path: str | Path) -> list[Table]:
    """Read a TOML schema file."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise SchemaError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise SchemaError(f"{path}: cannot read: {error.strerror}") from None
    return parse_schema(document, source=str(path))


def _check_identifier(name: str, what: str) -> None:
    if not isinstance(name, str) or not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise SchemaError(f"{what} name {name!r} must be lower-case letters, digits and _ (at most 63)")


# ---------------------------------------------------------------------------------------------------- built-ins


def _update_log(name: str, document: str, what: str, snapshots: str) -> Table:
    """The CRDT update log of one kind of document (``features/synced_doc.py``): the same shape for each kind."""
    return make_table(
        name,
        {
            "seq": "bigserial primary key",
            "room": "text not null",
            document: "text not null",
            "data": "text not null",
            "author": "uuid default auth.uid()",
            "created_at": "timestamptz not null default now()",
        },
        "room:room",
        builtin=True,
        indexes=[("room", document, "seq")],
        description=f"The CRDT update log of {what} (base64 updates), compacted into {snapshots}.",
    )


BUILTIN_TABLES: tuple[Table, ...] = (
    make_table(
        "nbrt_profiles",
        {
            "id": "uuid primary key default auth.uid()",
            "name": "text not null",
            "color": "text not null",
            "updated_at": "timestamptz not null default now()",
        },
        {"select": "signed_in", "insert": "owner:id", "update": "owner:id", "delete": "owner:id"},
        builtin=True,
        description="Display name and colour of every user, readable by every signed-in user.",
    ),
    make_table(
        "nbrt_rooms",
        {
            "name": "text primary key",
            "created_by": "uuid default auth.uid()",
            "created_at": "timestamptz not null default now()",
        },
        {
            "select": "signed_in",
            "insert": "owner:created_by",
            "update": "owner:created_by",
            "delete": "owner:created_by",
        },
        builtin=True,
        description="Rooms by name; anyone signed in may open one, in their own name.",
    ),
    make_table(
        ROOM_MEMBERS_TABLE,
        {
            "room": "text not null",
            "user_id": "uuid not null default auth.uid()",
            "name": "text",
            "color": "text",
            "joined_at": "timestamptz not null default now()",
            "last_seen": "timestamptz not null default now()",
        },
        {
            # owner:user_id too: PostgreSQL checks an inserted row against the select policy for RETURNING.
            "select": "room:room or owner:user_id",
            "insert": "owner:user_id",
            "update": "owner:user_id",
            "delete": "owner:user_id",
        },
        primary_key=("room", "user_id"),
        builtin=True,
        description="Who belongs to which room, and when they were last seen there.",
    ),
    make_table(
        "nbrt_notifications",
        {
            "id": "uuid primary key default gen_random_uuid()",
            "room": "text not null",
            "recipient": "uuid not null",
            "sender": "uuid not null default auth.uid()",
            "title": "text not null",
            "message": "text not null default ''",
            "kind": "text not null default 'info'",
            "read": "boolean not null default false",
            "created_at": "timestamptz not null default now()",
        },
        {
            "select": "owner:recipient or owner:sender",
            "insert": "owner:sender and room:room",
            "update": "owner:recipient",
            "delete": "owner:recipient",
        },
        builtin=True,
        indexes=[("recipient", "created_at")],
        description="One row per recipient; a notification to a room is one row per member.",
    ),
    make_table(
        "nbrt_cells",
        {
            "room": "text not null",
            "name": "text not null",
            "language": "text not null default 'python'",
            "snapshot": "text",
            "snapshot_seq": "bigint not null default 0",
            "updated_at": "timestamptz not null default now()",
        },
        "room:room",
        primary_key=("room", "name"),
        builtin=True,
        description="Shared cells: the compacted CRDT state (base64) and the update-log position it covers.",
    ),
    _update_log("nbrt_cell_updates", "cell", "shared cells", "nbrt_cells"),
    make_table(
        "nbrt_notebooks",
        {
            "room": "text not null",
            "id": "text not null",
            "name": "text not null",
            "shared_by": "uuid default auth.uid()",
            "snapshot": "text",
            "snapshot_seq": "bigint not null default 0",
            "created_at": "timestamptz not null default now()",
        },
        "room:room",
        primary_key=("room", "id"),
        builtin=True,
        description="Shared notebooks (jupyter_ydoc YNotebook documents): file name, the compacted CRDT state "
        "(base64) and the update-log position it covers.",
    ),
    _update_log("nbrt_notebook_updates", "notebook", "shared notebooks", "nbrt_notebooks"),
    make_table(
        "nbrt_collection_rows",
        {
            "room": "text not null",
            "collection": "text not null",
            "id": "text not null",
            "data": "jsonb not null default '{}'::jsonb",
            "version": "bigint not null default 1",
            "hlc": "text not null default ''",
            "write_id": "text",
            "updated_by": "uuid default auth.uid()",
            "updated_at": "timestamptz not null default now()",
        },
        "room:room",
        primary_key=("room", "collection", "id"),
        builtin=True,
        description="Rows of room collections: schemaless live tables scoped to a room. write_id is the idempotency "
        "key of the last write applied, so a retried write is recognised.",
    ),
)


def builtin_tables() -> dict[str, Table]:
    """The built-in tables by name."""
    return {table.name: table for table in BUILTIN_TABLES}
