"""Row policies (``schema.Policy``) evaluated for a caller, in SQL and in Python.

The SQL form filters what the data API reads, updates and deletes (rows that fail are simply invisible, as with
PostgreSQL row-level security); the Python form checks new rows on insert/update and lets the change feed decide
which subscribers may see an event.  Both read the same atoms:

* ``anyone`` — every role; ``signed_in`` — role ``authenticated``; ``none`` — nobody;
* ``owner:COL`` — ``row[COL]`` is the caller's user id (``auth.uid()``; anon callers own nothing);
* ``room:COL`` — the caller is a member of the room named in ``row[COL]`` (a row in ``nbrt_room_members``);
  ``room_editor:COL`` / ``room_owner:COL`` — with one of the roles :func:`schema.roles_for` names.

``service_role`` bypasses every policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nbrealtime import schema
from nbrealtime.server.storage import DatabaseError, encode, quote
from nbrealtime.server.tokens import ANON, AUTHENTICATED, Claims

__all__ = ["MemberCheck", "PolicyViolation", "check_row", "policy_sql", "row_allowed"]

MemberCheck = Callable[[str | None, str], str | None]
"""``is_member(user_id, room) -> role``: the user's role in the room, None if not a member
(``ServerContext.is_room_member``)."""


class PolicyViolation(DatabaseError):
    """``42501``: a new row the caller's policy refuses.  ``status`` is 401 for anon callers, else 403."""

    def __init__(self, table: schema.Table, claims: Claims) -> None:
        super().__init__("42501", f'new row violates row-level security policy for table "{table.name}"')
        self.status = 401 if claims.role == ANON else 403


def _owner_value(column: schema.Column, user_id: str) -> Any:
    """The caller's id in the column's stored form, or None if it cannot be stored there (then nobody owns)."""
    try:
        return encode(column, user_id)
    except DatabaseError:
        return None


def _atom_sql(table: schema.Table, atom: schema.PolicyAtom, claims: Claims, qualifier: str) -> tuple[str, list[Any]]:
    if atom.kind == "anyone":
        return "1", []
    if atom.kind == "none":
        return "0", []
    if atom.kind == "signed_in":
        return ("1" if claims.role == AUTHENTICATED else "0"), []
    user_id = claims.user_id
    column = table.column(atom.column or "")
    if user_id is None or column is None:
        return "0", []
    reference = f"{quote(qualifier)}.{quote(column.name)}"
    if atom.kind == "owner":
        owner = _owner_value(column, user_id)
        return ("0", []) if owner is None else (f"{reference} = ?", [owner])
    # The alias keeps the subquery's columns apart from the outer row's when the outer table is the members table.
    members = quote(schema.ROOM_MEMBERS_TABLE)
    roles = schema.roles_for(atom.kind)
    role_test = "" if roles == schema.ROLES else f" AND _m.role IN ({', '.join('?' * len(roles))})"
    sql = f"EXISTS (SELECT 1 FROM {members} AS _m WHERE _m.room = {reference} AND _m.user_id = ?{role_test})"
    return sql, [user_id, *(roles if role_test else ())]


def policy_sql(
    table: schema.Table, operation: schema.Operation, claims: Claims, qualifier: str | None = None
) -> tuple[str, list[Any]]:
    """A WHERE fragment (with parameters) that keeps the rows ``claims`` may ``operation``."""
    if claims.bypasses_policies:
        return "1", []
    groups, params = [], []
    for group in table.policy.for_operation(operation).any_of:
        parts = []
        for atom in group:
            sql, atom_params = _atom_sql(table, atom, claims, qualifier or table.name)
            parts.append(sql)
            params.extend(atom_params)
        groups.append("(" + " AND ".join(parts) + ")")
    return "(" + " OR ".join(groups) + ")", params


def _atom_allows(
    table: schema.Table, atom: schema.PolicyAtom, row: Mapping[str, Any], claims: Claims, is_member: MemberCheck
) -> bool:
    if atom.kind == "anyone":
        return True
    if atom.kind == "none":
        return False
    if atom.kind == "signed_in":
        return claims.role == AUTHENTICATED
    user_id = claims.user_id
    column = table.column(atom.column or "")
    if user_id is None or column is None or row.get(column.name) is None:
        return False
    if atom.kind == "owner":
        owner = _owner_value(column, user_id)
        try:
            return owner is not None and encode(column, row[column.name]) == owner
        except DatabaseError:
            return False
    return is_member(user_id, str(row[column.name])) in schema.roles_for(atom.kind)


def row_allowed(
    table: schema.Table,
    operation: schema.Operation,
    row: Mapping[str, Any],
    claims: Claims,
    is_member: MemberCheck,
) -> bool:
    """Whether ``claims`` may ``operation`` this row (a decoded JSON-form dict); service_role always may.

    A column the policy needs that is missing from ``row`` (or null) makes its atom fail.
    """
    if claims.bypasses_policies:
        return True
    return any(
        all(_atom_allows(table, atom, row, claims, is_member) for atom in group)
        for group in table.policy.for_operation(operation).any_of
    )


def check_row(
    table: schema.Table,
    operation: schema.Operation,
    row: Mapping[str, Any],
    claims: Claims,
    is_member: MemberCheck,
) -> None:
    """Raise :class:`PolicyViolation` unless ``claims`` may write this new row (``WITH CHECK``)."""
    if not row_allowed(table, operation, row, claims, is_member):
        raise PolicyViolation(table, claims)
