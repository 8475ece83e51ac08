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

    def __init__(self, table: LiveTable, *, editable: bool = True) -> None:
        super().__init__(key=table.key, editable=editable)
        self._table = table
        self._show(table)
        table.on_view(self._show)

    def _show(self, table: LiveTable) -> None:
        rows = table.rows
        columns = [table.key, *sorted({name for row in rows for name in row} - {table.key})]
        self.columns = columns
        self.rows = [
            {
                "key": row[table.key],
                "values": row,
                "status": table.status(row[table.key]),
                "error": table.error(row[table.key]),
            }
            for row in rows
        ]

    def handle(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        table, kind = self._table, message["type"]
        if kind == "edit":
            table.update(message["key"], {message["column"]: message.get("value")})
        elif kind == "insert" and isinstance(message.get("values"), dict):
            table.insert(message["values"])
        elif kind == "delete":
            table.delete(message["key"])
        elif kind == "retry":
            table.retry(message["key"])
        elif kind == "discard":
            table.discard(message["key"])
