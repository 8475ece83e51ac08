"""How a live table's writes reach the backend: conditional, idempotent requests through the official client.

Every write carries the version it expects (``version=eq.N`` on update and delete; "must not exist" on insert), so a
write based on a stale row is *detected* — it affects no row — instead of silently overwriting someone else's. A write
that affected nothing is then looked up: if the row already carries this write's id, an earlier attempt whose reply
was lost applied it (confirm, don't apply twice); otherwise it is a conflict, with the current row to resolve against.

Two shapes share this: a **collection** (schemaless rows of ``nbrt_collection_rows`` scoped to a room, the user's
fields in a ``data`` JSON column) and a **table** the backend already has (its own columns; version, stamp and write
id columns are used when the table has them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx
from postgrest.exceptions import APIError

from nbrealtime.sync import Write

__all__ = ["Outcome", "RowBackend", "collection_backend", "table_backend"]

META = ("version", "hlc", "write_id")
COLLECTIONS = "nbrt_collection_rows"


@dataclass(frozen=True)
class Outcome:
    """What became of one send: applied (with the server row), a conflict (with the current row), refused for
    good (with the error), or unknown (network trouble: retry later)."""

    kind: Literal["applied", "conflict", "refused", "retry"]
    row: dict[str, Any] | None = None
    error: str | None = None


def _next_version(write: Write) -> int:
    """Versions never repeat for a key, also across delete and re-insert: at least base + 1, at least the HLC ms."""
    return max((write.base_version or 0) + 1, write.stamp.physical)


class RowBackend:
    """One table's rows on the backend, as view rows (key, fields, and the bookkeeping columns)."""

    def __init__(self, client: Any, table: str, key: str, scope: dict[str, Any], *, fields_column: str | None,
                 versioned: bool) -> None:  # fmt: skip
        self.client = client
        self.table = table
        self.key = key
        self.scope = scope
        self.fields_column = fields_column
        self.versioned = versioned

    # ------------------------------------------------------------------ shapes

    def to_view(self, server_row: dict[str, Any]) -> dict[str, Any]:
        if self.fields_column is None:
            return dict(server_row)
        view = {self.key: server_row[self.key], **(server_row.get(self.fields_column) or {})}
        view.update({name: server_row.get(name) for name in META})
        return view

    def accepts(self, server_row: dict[str, Any]) -> bool:
        """Whether a change event's row belongs to this table (collections share one backend table)."""
        return all(server_row.get(column) == value for column, value in self.scope.items())

    def _to_server(self, fields: dict[str, Any], write: Write) -> dict[str, Any]:
        data = {name: value for name, value in fields.items() if name not in META and name != self.key}
        row: dict[str, Any] = {self.fields_column: data} if self.fields_column else data
        if self.versioned:
            row.update(version=_next_version(write), hlc=write.stamp.encode(), write_id=write.id)
        return row

    def _scoped(self, query: Any, key: Any) -> Any:
        for column, value in self.scope.items():
            query = query.eq(column, value)
        return query.eq(self.key, key)

    # ------------------------------------------------------------------ reads

    async def load(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        query = self.client.table(self.table).select("*")
        for column, value in self.scope.items():
            query = query.eq(column, value)
        for column, condition in filters.items():
            operator, _, value = condition.partition(".")
            query = query.filter(column, operator, value)
        rows: list[dict[str, Any]] = []
        page = 1000
        while True:
            found = await query.range(len(rows), len(rows) + page - 1).execute()
            rows.extend(found.data)
            if len(found.data) < page:
                return [self.to_view(row) for row in rows]

    async def current(self, key: Any) -> dict[str, Any] | None:
        found = await self._scoped(self.client.table(self.table).select("*"), key).execute()
        return self.to_view(found.data[0]) if found.data else None

    # ------------------------------------------------------------------ writes

    async def send(self, write: Write, server_row: dict[str, Any] | None) -> Outcome:
        """Apply ``write`` (its fields laid over ``server_row``, the confirmed row it was made on)."""
        try:
            if write.op == "delete":
                return await self._delete(write)
            if write.op == "insert" or (write.op == "upsert" and write.base_version is None and server_row is None):
                return await self._insert(write)
            fields = {**(server_row or {}), **write.values}
            return await self._update(write, fields)
        except APIError as error:
            return _api_outcome(error)
        except (httpx.HTTPError, OSError) as error:
            return Outcome("retry", error=f"{type(error).__name__}: {error}")

    async def _insert(self, write: Write) -> Outcome:
        row = {**self.scope, self.key: write.key, **self._to_server(write.values, write)}
        try:
            inserted = await self.client.table(self.table).insert(row).execute()
        except APIError as error:
            if error.code != "23505":
                raise
            return await self._settled_elsewhere(write)
        return Outcome("applied", self.to_view(inserted.data[0]) if inserted.data else None)

    async def _update(self, write: Write, fields: dict[str, Any]) -> Outcome:
        query = self._scoped(self.client.table(self.table).update(self._to_server(fields, write)), write.key)
        if self.versioned and write.base_version is not None:
            query = query.eq("version", write.base_version)
        updated = await query.execute()
        if updated.data:
            return Outcome("applied", self.to_view(updated.data[0]))
        return await self._settled_elsewhere(write)

    async def _delete(self, write: Write) -> Outcome:
        query = self._scoped(self.client.table(self.table).delete(), write.key)
        if self.versioned and write.base_version is not None:
            query = query.eq("version", write.base_version)
        deleted = await query.execute()
        if deleted.data or await self.current(write.key) is None:
            return Outcome("applied", None)
        return await self._settled_elsewhere(write)

    async def _settled_elsewhere(self, write: Write) -> Outcome:
        """The write changed nothing: already applied by a lost earlier attempt, a conflict — or a row policy
        that silently filtered it (PostgREST reports that as zero rows, like a stale version)."""
        current = await self.current(write.key)
        if current is not None and current.get("write_id") == write.id:
            return Outcome("applied", current)
        stale = self.versioned and current is not None and current.get("version") != write.base_version
        if current is None or stale or write.op == "insert":
            return Outcome("conflict", current)
        return Outcome("refused", error="not allowed: the row policy does not let you change this row")


def _api_outcome(error: APIError) -> Outcome:
    code = str(error.code or "")
    message = f"{error.message} ({code})" if code else str(error.message)
    # 5xx-ish or unknown failures may pass; policy, constraint and input errors will not.
    if code in ("PGRST301", "PGRST302") or code.startswith("5") or not code:
        return Outcome("retry", error=message)
    return Outcome("refused", error=message)


def collection_backend(client: Any, room: str, name: str) -> RowBackend:
    return RowBackend(
        client, COLLECTIONS, "id", {"room": room, "collection": name}, fields_column="data", versioned=True
    )


def table_backend(client: Any, table: str, key: str, *, versioned: bool) -> RowBackend:
    return RowBackend(client, table, key, {}, fields_column=None, versioned=versioned)
