"""The live table view: rows that change live, pending and failed marks, inline edits through the optimistic path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import traitlets

from nbrealtime.widgets._base import STATIC, NbrtWidget

if TYPE_CHECKING:
    from nbrealtime.features.live_table import LiveTable

__all__ = ["LiveTableWidget"]


class LiveTableWidget(NbrtWidget):
    _esm = STATIC / "table.js"
    columns = traitlets.List([]).tag(sync=True)
    key = traitlets.Unicode("id").tag(sync=True)
    rows = traitlets.List([]).tag(sync=True)
    editable = traitlets.Bool(True).tag(sync=True)
    read_only = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    """Why the table cannot be edited here (e.g. you are a viewer in the room), shown instead of the edit controls."""

    def __init__(self, table: LiveTable, *, editable: bool = True) -> None:
        super().__init__(key=table.key, editable=editable)
        self._table = table
        self._editable = editable
        self._show(table)
        self._show_access(table.room.role)
        table.on_view(self._show)
        table.room.on_role(self._show_access)

    def _show_access(self, _role: str | None) -> None:
        self.read_only = self._table.read_only
        self.editable = self._editable and self.read_only is None

    def _show(self, table: LiveTable) -> None:
        rows = table.rows
        failed = table.failed if not table.closed else {}
        shown = {row[table.key] for row in rows}
        # A refused insert is rolled back out of ``rows``; without its own line its error and Retry would be
        # nowhere to see. Show what it tried to write until it is retried or discarded.
        ghosts = [{**values, table.key: key} for key, (values, _error) in failed.items() if key not in shown]
        columns = [table.key, *sorted({name for row in (*rows, *ghosts) for name in row} - {table.key})]
        self.columns = columns
        view = []
        for row in rows:
            key = row[table.key]
            status, error = table.status(key), table.error(key)
            if status == "failed" and key not in failed:  # discarded: nothing left to retry, so no failed mark
                status, error = "confirmed", None
            view.append({"key": key, "values": row, "status": status, "error": error})
        for row in ghosts:
            key = row[table.key]
            view.append({"key": key, "values": row, "status": "failed", "error": failed[key][1]})
        self.rows = view

    def handle(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        table, kind = self._table, message["type"]
        if kind == "edit":
            table.update(message["key"], {message["column"]: message.get("value")})
        elif kind == "insert" and isinstance(message.get("values"), dict):
            table.insert(message["values"])
        elif kind == "delete":
            if table.row(message["key"]) is None:  # a refused insert's line: nothing stored to delete, drop it
                table.discard(message["key"])
            else:
                table.delete(message["key"])
        elif kind == "retry":
            table.retry(message["key"])
        elif kind == "discard":
            table.discard(message["key"])
