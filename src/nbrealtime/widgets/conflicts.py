"""The conflict panel: manual conflicts with base / mine / theirs side by side; keep mine, keep theirs, or edit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import traitlets

from nbrealtime.widgets._base import STATIC, NbrtWidget

if TYPE_CHECKING:
    from nbrealtime.features.live_table import LiveTable

__all__ = ["ConflictPanel"]


class ConflictPanel(NbrtWidget):
    _esm = STATIC / "conflicts.js"
    conflicts = traitlets.List([]).tag(sync=True)

    def __init__(self, table: LiveTable) -> None:
        super().__init__()
        self._table = table
        self._show(table)
        table.on_view(self._show)

    def _show(self, table: LiveTable) -> None:
        self.conflicts = [
            {
                "id": conflict.id,
                "key": conflict.key,
                "fields": list(conflict.fields),
                "base": conflict.base,
                "mine": conflict.mine,
                "theirs": conflict.theirs,
            }
            for conflict in table.conflicts
        ]

    def handle(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        if message["type"] != "resolve":
            return
        conflict = next((c for c in self._table.conflicts if c.id == message.get("id")), None)
        if conflict is None:
            return
        choice = message.get("choice")
        self._table.resolve(conflict, message.get("value") if choice == "value" else choice)
