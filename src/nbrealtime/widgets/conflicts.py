"""The conflict panel: manual conflicts with base / mine / theirs side by side; keep mine, keep theirs, or edit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import traitlets

from nbrealtime.widgets._base import STATIC, NbrtWidget

if TYPE_CHECKING:
    from nbrealtime.features.live_table import LiveTable

__all__ = ["ConflictPanel", "ConflictsView"]


class ConflictsView(traitlets.HasTraits):
    """The traits and browser actions of the conflict panel (alone, or under its live table)."""

    conflicts = traitlets.List([]).tag(sync=True)

    def show_conflicts(self, table: LiveTable) -> None:
        self._conflicts_of = table
        self._show_conflicts(table)
        table.on_view(self._show_conflicts)
        self.watch_room(table.room)

    def _show_conflicts(self, table: LiveTable) -> None:
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

    def msg_resolve(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        table = self._conflicts_of
        conflict = next((c for c in table.conflicts if c.id == message.get("id")), None)
        if conflict is None:
            return
        choice = message.get("choice")
        table.resolve(conflict, message.get("value") if choice == "value" else choice)


class ConflictPanel(ConflictsView, NbrtWidget):
    _esm = STATIC / "conflicts.js"

    def __init__(self, table: LiveTable) -> None:
        super().__init__()
        self.show_conflicts(table)
