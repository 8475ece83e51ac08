"""The shared cell editor: a Y.Doc replica in the browser kept in sync with the kernel's pycrdt document."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import traitlets

from nbrealtime.widgets._base import STATIC, NbrtWidget

if TYPE_CHECKING:
    from nbrealtime.features.shared_cell import SharedCell

__all__ = ["SharedCellEditor"]


class SharedCellEditor(NbrtWidget):
    _esm = STATIC / "editor.js"
    language = traitlets.Unicode("python").tag(sync=True)
    cursors = traitlets.List([]).tag(sync=True)
    read_only = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    """Why you cannot edit here (a viewer in the room), shown instead of a caret."""

    def __init__(self, cell: SharedCell, user_name: str, user_color: str) -> None:
        super().__init__(language=cell.language)
        self._cell = cell
        self._user = (user_name, user_color)
        cell.add_view(self._send_update)
        cell.on_cursors(self._show_cursors)
        self._show_cursors(list(cell.cursors.values()))
        room = cell.room_object
        self.watch_room(room)
        self.follow_link(room, self._cell_link)
        self._show_access(room.role)
        room.on_role(self._show_access)

    def _show_access(self, _role: str | None) -> None:
        self.read_only = self._cell.room_object.edit_refusal()

    def _cell_link(self, link: dict[str, Any] | None) -> dict[str, Any] | None:
        """The room's link, on the shared cells' own channel (the server relays editors' edits there alone)."""
        return None if link is None else {**link, "topic": link["cells_topic"], "cell": self._cell.name}

    def _send_update(self, update: bytes) -> None:
        self.send({"type": "update"}, buffers=[update])

    def _show_cursors(self, cursors: list[dict[str, Any]]) -> None:
        self.cursors = cursors

    def handle(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        kind = message["type"]
        if kind == "sync":
            state_vector = bytes(buffers[0]) if buffers else None
            self.send({"type": "update"}, buffers=[self._cell.update_since(state_vector)])
        elif kind == "update" and buffers:
            self._cell.apply_update(bytes(buffers[0]), origin="relayed" if message.get("relayed") else "browser")
        elif kind == "persisted":
            self._cell.note_persisted()
        elif kind == "cursor":
            self._cell.share_cursor(message.get("anchor"), message.get("head"), *self._user)

    def close(self) -> None:
        self._cell.remove_view(self._send_update)
        super().close()
