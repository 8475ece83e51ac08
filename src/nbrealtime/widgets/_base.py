"""What every nbrealtime widget shares: its bundle in ``static/`` and the stylesheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget

__all__ = ["STATIC", "NbrtWidget"]

STATIC = Path(__file__).resolve().parent.parent / "static"


class NbrtWidget(anywidget.AnyWidget):
    """A thin view over a feature object: traits mirror its state, messages become calls on it."""

    _css = STATIC / "nbrealtime.css"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._on_message)

    def _on_message(self, widget: Any, content: Any, buffers: list[bytes]) -> None:
        if isinstance(content, dict) and isinstance(content.get("type"), str):
            self.handle(content, buffers)

    def handle(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        """Override: one browser action."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
