"""The live table view: rows that change live, pending and failed marks, inline edits through the optimistic path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import traitlets

from nbrealtime.widgets._base import STATIC, NbrtWidget

if TYPE_CHECKING:
    from nbrealtime.features.live_table import LiveTable

__all__ = ["LiveTableWidget", "TableView"]


class TableView(traitlets.HasTraits):
    """The traits and browser actions of a live table (alone, or with its conflict panel)."""

    columns = traitlets.List([]).tag(sync=True)
    key = traitlets.Unicode("id").tag(sync=True)
    rows = traitlets.List([]).tag(sync=True)
    editable = traitlets.Bool(True).tag(sync=True)
    read_only = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    """Why the table cannot be edited here (e.g. you are a viewer in the room), shown instead of the edit controls."""

    def show_table(self, table: LiveTable) -> None:
        self._table = table
        self.key = table.key
        self._editable = self.editable
        # The page's own path, with how rows are stored: inline edits land while the kernel is busy.
        self.follow_link(table.room, self._table_link)
        self._show_rows(table)
        self._show_access(table.room.role)
        table.on_view(self._show_rows)
        table.room.on_role(self._show_access)
        self.watch_room(table.room)

    def _show_access(self, _role: str | None) -> None:
        self.read_only = self._table.read_only
        self.editable = self._editable and self.read_only is None
        self.refresh_link()

    def _table_link(self, link: dict[str, Any] | None) -> dict[str, Any] | None:
        """None while the table is paused (offline on purpose: nothing may leave, from the page either), closed, or
        read-only for this user."""
        table = self._table
        if link is None or table.paused or table.closed or table.read_only is not None:
            return None
        return {**link, **table.storage}

    def _show_rows(self, table: LiveTable) -> None:
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
            view.append({"key": key, "values": row, "status": status, "error": error, "meta": table.server_meta(key)})
        for row in ghosts:
            key = row[table.key]
            view.append({"key": key, "values": row, "status": "failed", "error": failed[key][1]})
        self.rows = view
        self.refresh_link()  # paused, resumed or closed: what the page may send changed with the view

    def msg_edit(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        self._table.update(message["key"], {message["column"]: message.get("value")})

    def msg_insert(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        if isinstance(message.get("values"), dict):
            self._table.insert(message["values"])

    def msg_delete(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        if self._table.row(message["key"]) is None:  # a refused insert's line: nothing stored to delete, drop it
            self._table.discard(message["key"])
        else:
            self._table.delete(message["key"])

    def msg_retry(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        self._table.retry(message["key"])

    def msg_discard(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        self._table.discard(message["key"])


class LiveTableWidget(TableView, NbrtWidget):
    _esm = STATIC / "table.js"

    def __init__(self, table: LiveTable, *, editable: bool = True) -> None:
        super().__init__(editable=editable)
        self.show_table(table)
