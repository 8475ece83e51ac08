"""Table definitions: nbrealtime's built-in tables and the user's schema file.

One model serves three readers — the embedded server (SQLite tables, REST, row policies), the kernel side (which
tables and keys exist) and ``nbrealtime sql`` (the PostgreSQL migration for Supabase) — so a table is declared once.

Columns are written as PostgreSQL column definitions (``"uuid primary key default gen_random_uuid()"``) because
that is the dialect users know from Supabase; the embedded server maps them onto SQLite.

Row policies are small boolean expressions over *atoms*, one per operation (select, insert, update, delete):

======================  ==============================================================================
atom                    who passes
======================  ==============================================================================
``anyone``              every role, including ``anon``
``signed_in``           any authenticated user
``owner:COLUMN``        the user whose id is in ``COLUMN``
``room:COLUMN``         members of the room named in ``COLUMN`` (``nbrt_room_members``), in any role
``room_editor:COLUMN``  members of that room whose role is ``owner`` or ``editor``
``room_owner:COLUMN``   members of that room whose role is ``owner``
``none``                nobody (only ``service_role``, which bypasses policies)
======================  ==============================================================================

Atoms combine with ``and`` / ``or`` (``and`` binds tighter).  A schema file names a *shorthand*
(``public``, ``owner:COL``, ``room:COL``, ``read_only``) or gives the four operations explicitly; the ``room:COL``
shorthand lets every member read and editors and owners write (viewers watch).

Rooms are where access is decided (DESIGN.md §3 "Access"): the roles, which built-in columns only nbrealtime's
functions may change (``Table.locked``), and who may receive and send on a room's private realtime channels
(:data:`CHANNEL_RULES`) are declared here too, so the embedded server and ``nbrealtime sql`` enforce one set of rules.
"""

from __future__ import annotations

import datetime
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from nbrealtime import checks

__all__ = [
    "BUILTIN_TABLES",
    "CHANNEL_RULES",
    "ROLES",
    "ChannelRule",
    "Column",
    "ForeignKey",
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
    "referenced_column",
    "roles_for",
    "topic_room",
]

Operation = Literal["select", "insert", "update", "delete"]
OPERATIONS: tuple[Operation, ...] = ("select", "insert", "update", "delete")

ROOM_MEMBERS_TABLE = "nbrt_room_members"
"""The table that ``room:COLUMN`` policies consult: a user is a member of ``room`` if a row (room, user_id) exists."""


ROOM_INVITES_TABLE = "nbrt_room_invites"
ROOMS_TABLE = "nbrt_rooms"

Role = Literal["owner", "editor", "viewer"]
ROLES: tuple[Role, ...] = ("owner", "editor", "viewer")
"""A member's role in a room, most powerful first: owners manage members and invites, editors change shared cells,
collections and room rows, viewers watch (and may still talk: messages, notifications, their own presence)."""

RoomAtom = Literal["room", "room_editor", "room_owner"]
_ATOM_ROLES: dict[str, tuple[Role, ...]] = {
    "room": ROLES,
    "room_editor": ("owner", "editor"),
    "room_owner": ("owner",),
}


def roles_for(atom_kind: str) -> tuple[Role, ...]:
    """The roles that pass a room atom (``room``, ``room_editor``, ``room_owner``)."""
    return _ATOM_ROLES[atom_kind]


class SchemaError(ValueError):
    """A schema file or column definition that nbrealtime cannot use, with the place it went wrong."""


# ---------------------------------------------------------------------------------------------------- columns

#: PostgreSQL type name (as written, lower-case) → canonical name used everywhere else.
_TYPE_ALIASES = {
    "uuid": "uuid",
    "text": "text",
    "varchar": "text",
    "character varying": "text",
    "char": "text",
    "character": "text",
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
    r"|[a-z_][a-z0-9_]*)(?:\s*\(\s*(?P<length>\d+)\s*\))?(?P<array>\[\])?",
)
_LENGTH_TYPES = {"varchar": False, "character varying": False, "char": True, "character": True}
"""Types that take a length: name → whether the value is blank-padded to it (``char(n)``)."""
_FK_ACTIONS = ("cascade", "set null", "restrict", "no action")
#: Column constraints PostgreSQL has and the schema file does not, named in the refusal.
_UNSUPPORTED = {
    "collate": "collations",
    "generated always as (": "generated (computed) columns",
    "deferrable": "deferrable constraints",
    "constraint": "named constraints",
    "exclude": "exclusion constraints",
    "on update": "on update actions (only on delete)",
    "match": "foreign key match types",
}


@dataclass(frozen=True)
class ForeignKey:
    """``references TABLE(COLUMN) [on delete ACTION]``: the value must be the ``COLUMN`` of some ``TABLE`` row."""

    table: str
    column: str | None = None
    on_delete: str = "no action"


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
    max_length: int | None = None
    """``varchar(n)``/``char(n)``: at most this many characters (``char`` pads to exactly this many)."""
    padded: bool = False
    identity: Literal["always", "by default"] | None = None
    references: ForeignKey | None = None
    check: str | None = None
    """A ``check (…)`` expression (PostgreSQL text; see :mod:`nbrealtime.checks` for what is understood)."""

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
    length = match.group("length")
    rest = text[match.end() :].strip()
    if (length is not None and type_name not in _LENGTH_TYPES) or rest.startswith("("):
        raise SchemaError(f"column {name!r}: the schema file cannot express type modifiers of {type_name} ({text!r})")
    column: dict[str, object] = {
        "type": _TYPE_ALIASES[type_name],
        "serial": type_name in ("serial", "bigserial"),
        "array": bool(match.group("array")),
    }
    if type_name in _LENGTH_TYPES:
        padded = _LENGTH_TYPES[type_name]
        column["max_length"] = int(length) if length is not None else (1 if padded else None)
        column["padded"] = padded
        if column["max_length"] == 0:
            raise SchemaError(f"column {name!r}: length for type {type_name} must be at least 1")
    while rest:
        low = rest.lower()
        unsupported = next((what for key, what in _UNSUPPORTED.items() if low.startswith(key)), None)
        if unsupported:
            raise SchemaError(f"column {name!r}: the schema file cannot express {unsupported} ({rest!r})")
        if low.startswith("generated "):
            identity = re.match(r"^generated\s+(always|by default)\s+as\s+identity", low)
            if not identity:
                raise SchemaError(f"column {name!r}: cannot read {rest!r} (generated always|by default as identity)")
            if column["type"] not in ("int2", "int4", "int8") or column["array"]:
                raise SchemaError(f"column {name!r}: identity columns must be smallint, integer or bigint")
            column["identity"], column["serial"] = identity.group(1), True
            rest = rest[identity.end() :].strip()
        elif low.startswith("references "):
            column["references"], rest = _split_references(rest[len("references ") :].strip(), name)
        elif low.startswith("check"):
            column["check"], rest = _split_check(rest[len("check") :].strip(), name)
        elif low.startswith("primary key"):
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


def _split_references(text: str, column: str) -> tuple[ForeignKey, str]:
    """``other(col) on delete cascade …`` → the foreign key and the rest."""
    match = re.match(r"^([a-z_][a-z0-9_]*)(?:\s*\(\s*([a-z_][a-z0-9_]*)\s*\))?", text)
    if not match:
        raise SchemaError(f"column {column!r}: cannot read the table of references {text!r}")
    rest = text[match.end() :].strip()
    on_delete = "no action"
    action = re.match(
        r"^on\s+delete\s+(" + "|".join(a.replace(" ", r"\s+") for a in _FK_ACTIONS) + r")\b", rest.lower()
    )
    if action:
        on_delete = " ".join(action.group(1).split())
        rest = rest[action.end() :].strip()
    elif rest.lower().startswith("on delete"):
        raise SchemaError(f"column {column!r}: unknown on delete action in {rest!r} ({', '.join(_FK_ACTIONS)})")
    return ForeignKey(match.group(1), match.group(2), on_delete), rest


def _split_check(text: str, column: str) -> tuple[str, str]:
    """``(expr) rest`` → ``expr`` (balanced parentheses, quotes respected) and the rest."""
    if not text.startswith("("):
        raise SchemaError(f"column {column!r}: check needs a parenthesised expression, not {text!r}")
    depth, quoted = 0, False
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth == 0:
                return text[1:index].strip(), text[index + 1 :].strip()
    raise SchemaError(f"column {column!r}: unbalanced parentheses in check {text!r}")


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

    kind: Literal["anyone", "signed_in", "owner", "room", "room_editor", "room_owner", "none"]
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
            if kind in ("owner", *_ATOM_ROLES):
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
        if spec.startswith("owner:") and " " not in spec.strip():
            return _uniform(spec.strip())
        if spec.startswith("room:") and " " not in spec.strip():
            return _room_policy(spec.strip().removeprefix("room:"))
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


def _room_policy(column: str) -> Policy:
    """``room:COL``: every member reads, editors and owners write."""
    write = parse_policy_expr(f"room_editor:{column}")
    return Policy(select=parse_policy_expr(f"room:{column}"), insert=write, update=write, delete=write)


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
    locked: tuple[str, ...] = ()
    """Columns the data API may not write (PostgreSQL: no column privilege); nbrealtime's functions change them."""
    seeds: tuple[Mapping[str, object], ...] = field(default=(), hash=False)
    """``[[tables.NAME.rows]]``: rows inserted unless a row with their primary key exists."""

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
    locked: Iterable[str] = (),
    seeds: Iterable[Mapping[str, object]] = (),
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
    locked_columns = tuple(locked)
    for column in locked_columns:
        if column not in names:
            raise SchemaError(f"table {name!r}: locked column {column!r} is not a column")
    _check_constraints(name, parsed, keys)
    seed_rows = tuple(
        {key: _plain(value) for key, value in row.items()} if isinstance(row, Mapping) else row for row in seeds
    )
    for row in seed_rows:
        if not isinstance(row, Mapping) or set(row) - names:
            raise SchemaError(f"table {name!r}: seed row {row!r} names columns the table does not have")
        if any(row.get(key) is None for key in keys):
            raise SchemaError(f"table {name!r}: seed row {dict(row)!r} must give the primary key {list(keys)}")
    return Table(
        name, parsed, table_policy, keys, builtin, description, index_list, locked=locked_columns, seeds=seed_rows
    )


def _plain(value: object) -> object:
    """A TOML value as JSON: dates and times become ISO text."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _check_constraints(name: str, columns: tuple[Column, ...], keys: tuple[str, ...]) -> None:
    """Identity columns number the single-column primary key; check expressions must be ones nbrealtime can run."""
    types = {column.name: column.type if not column.array else "array" for column in columns}
    for column in columns:
        if column.identity and keys != (column.name,):
            raise SchemaError(
                f"table {name!r}: identity column {column.name!r} must be the whole primary key "
                "(the embedded server numbers only that column)"
            )
        if column.check is not None:
            try:
                checks.parse_check(column.check, types)
            except checks.CheckError as error:
                raise SchemaError(f"table {name!r}, column {column.name!r}: {error}") from None


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
        unknown = set(spec) - {"columns", "policy", "primary_key", "description", "indexes", "rows"}
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
                    seeds=spec.get("rows", ()),  # type: ignore[arg-type]
                )
            )
        except SchemaError as error:
            raise SchemaError(f"{source}: {error}") from None
    try:
        return _in_dependency_order(result)
    except SchemaError as error:
        raise SchemaError(f"{source}: {error}") from None


def referenced_column(table: Table, column: Column, tables: Mapping[str, Table]) -> Column:
    """The column a foreign key points at (the referenced table's primary key when it names none)."""
    assert column.references is not None
    target = tables.get(column.references.table)
    if target is None:
        raise SchemaError(f"table {table.name!r}: {column.name!r} references unknown table {column.references.table!r}")
    name = column.references.column
    if name is None:
        if len(target.primary_key) != 1:
            raise SchemaError(f"table {table.name!r}: name the column {column.name!r} references in {target.name!r}")
        name = target.primary_key[0]
    referenced = target.column(name)
    if referenced is None:
        raise SchemaError(f"table {table.name!r}: {column.name!r} references unknown column {target.name}.{name}")
    if target.primary_key != (name,) and not referenced.unique:
        raise SchemaError(
            f"table {table.name!r}: {column.name!r} references {target.name}.{name}, which is neither the primary "
            "key nor unique"
        )
    if (referenced.type, referenced.array) != (column.type, column.array):
        raise SchemaError(
            f"table {table.name!r}: {column.name!r} ({column.type}) references {target.name}.{name} "
            f"({referenced.type}) of another type"
        )
    return referenced


def _in_dependency_order(tables: list[Table]) -> list[Table]:
    """Referenced tables before the tables that reference them (PostgreSQL creates them in that order)."""
    known = {**builtin_tables(), **{table.name: table for table in tables}}
    depends = {
        table.name: {
            column.references.table  # type: ignore[union-attr]
            for column in table.columns
            if column.references is not None and referenced_column(table, column, known)
        }
        - {table.name}
        for table in tables
    }
    ordered: list[Table] = []
    placed = set(builtin_tables())
    while len(ordered) < len(tables):
        ready = [table for table in tables if table.name not in placed and depends[table.name] <= placed]
        if not ready:
            cycle = sorted(name for name in depends if name not in placed)
            raise SchemaError(f"tables {cycle} reference each other in a cycle; the schema file cannot create them")
        ordered += ready
        placed |= {table.name for table in ready}
    return ordered


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
        ROOMS_TABLE,
        {
            "name": "text primary key",
            "created_by": "uuid default auth.uid()",
            "created_at": "timestamptz not null default now()",
            "open_to": "text not null default 'invited'",
            "open_role": "text not null default 'viewer'",
        },
        {
            "select": "room:name",
            "insert": "none",
            "update": "room_owner:name",
            "delete": "room_owner:name",
        },
        builtin=True,
        locked=("name", "created_by", "created_at"),
        description="Rooms by name, created by nbrt_join_room with the caller as owner. open_to is 'invited' (the "
        "default: joining needs an invite) or 'signed_in' (anyone signed in joins as open_role).",
    ),
    make_table(
        ROOM_MEMBERS_TABLE,
        {
            "room": "text not null",
            "user_id": "uuid not null default auth.uid()",
            "role": "text not null default 'viewer'",
            "name": "text",
            "color": "text",
            "joined_at": "timestamptz not null default now()",
            "last_seen": "timestamptz not null default now()",
        },
        {
            # owner:user_id too: a member removed from a room still sees that their own row is gone.
            "select": "room:room or owner:user_id",
            "insert": "none",
            "update": "owner:user_id",
            "delete": "owner:user_id or room_owner:room",
        },
        primary_key=("room", "user_id"),
        builtin=True,
        locked=("room", "user_id", "role", "joined_at"),
        description="Who belongs to which room in which role (owner, editor, viewer), and when they were last seen "
        "there. Rows are added by nbrt_join_room and roles changed by nbrt_set_role; members leave, or owners remove "
        "them, by deleting the row.",
    ),
    make_table(
        ROOM_INVITES_TABLE,
        {
            "id": "uuid primary key default gen_random_uuid()",
            "room": "text not null",
            "token_hash": "text not null unique",
            "role": "text not null default 'viewer'",
            "expires_at": "timestamptz",
            "max_uses": "integer",
            "uses": "integer not null default 0",
            "revoked": "boolean not null default false",
            "created_by": "uuid not null default auth.uid()",
            "created_at": "timestamptz not null default now()",
        },
        {
            "select": "room_owner:room",
            "insert": "room_owner:room and owner:created_by",
            "update": "room_owner:room",
            "delete": "room_owner:room",
        },
        builtin=True,
        locked=("uses",),
        description="Invitations to a room, managed by its owners. Only the SHA-256 of the token is stored; "
        "nbrt_join_room redeems a token atomically (not revoked, not expired, uses below max_uses).",
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
            "notebook": "text",
            "cell": "text",
        },
        {
            "select": "owner:recipient or owner:sender",
            "insert": "owner:sender and room:room",
            "update": "owner:recipient",
            "delete": "owner:recipient",
        },
        builtin=True,
        indexes=[("recipient", "created_at")],
        description="One row per recipient; a notification to a room is one row per member. notebook and cell "
        "(optional) name the room notebook (its id) and the cell it is about.",
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
        "nbrt_notebook_outputs",
        {
            "room": "text not null",
            "notebook": "text not null",
            "id": "text not null",
            "output": "jsonb not null",
            "bytes": "bigint not null",
            "mime_types": "jsonb not null default '[]'::jsonb",
            "ran_by": "text",
            "origin": "text",
            "created_by": "uuid default auth.uid()",
            "created_at": "timestamptz not null default now()",
        },
        "room:room",
        primary_key=("room", "notebook", "id"),
        builtin=True,
        description="Outputs of shared notebooks above the output size limit: kept here (nbformat JSON) by the copy "
        "where they appeared, while the shared document carries a placeholder that names them.",
    ),
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


# ---------------------------------------------------------------------------------------------------- rooms

JOIN_ROOM_FUNCTION = "nbrt_join_room"
"""``nbrt_join_room(room, invite, name, color)``: create the room (caller = owner), or enter it as a member already,
by redeeming an invite, or because it is open; returns ``{"room", "role", "created"}``."""
SET_ROLE_FUNCTION = "nbrt_set_role"
"""``nbrt_set_role(room, member, role)``: an owner changes a member's role (never leaving the room without owner)."""

CHANNEL_PREFIX = "nbrt:"
ROOM_NAME_PATTERN = r"[\w.-]{1,64}"


@dataclass(frozen=True)
class ChannelRule:
    """Who may use the private realtime channel ``nbrt:<room><suffix>``, as room atoms: ``receive`` = join it and
    hear its broadcasts and presence (RLS SELECT on ``realtime.messages``), ``send`` = broadcast and track presence
    there (RLS INSERT).  Supabase decides both once per join (its probe rows carry no event), so anything with its
    own rule travels on its own channel."""

    suffix: str
    receive: RoomAtom
    send: RoomAtom
    description: str

    def topic(self, room: str) -> str:
        return f"{CHANNEL_PREFIX}{room}{self.suffix}"

    @property
    def pattern(self) -> str:
        """A regular expression (Python and PostgreSQL) whose group 1 is the room of a matching topic."""
        return f"^{re.escape(CHANNEL_PREFIX)}({ROOM_NAME_PATTERN}){re.escape(self.suffix)}$"


ROOM_CHANNEL = ChannelRule("", "room", "room", "the room: messages, activity and presence; members receive and send")
CELLS_CHANNEL = ChannelRule(
    ":cells", "room", "room_editor", "shared-cell edits: members receive, editors and owners send"
)
CHANNEL_RULES: tuple[ChannelRule, ...] = (ROOM_CHANNEL, CELLS_CHANNEL)


def topic_room(topic: str) -> tuple[str, ChannelRule] | None:
    """The room whose private channel ``topic`` is, with the channel's rule; None for any other topic."""
    for rule in CHANNEL_RULES:
        match = re.match(rule.pattern, topic)
        if match:
            return match.group(1), rule
    return None
