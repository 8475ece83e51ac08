"""What every nbrealtime widget shares: its bundle in ``static/`` and the stylesheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget

from nbrealtime.errors import BundleMissing

__all__ = ["STATIC", "NbrtWidget", "bundle"]

STATIC = Path(__file__).resolve().parent.parent / "static"
BUILD_COMMAND = "npm --prefix js ci && npm --prefix js run build"


def bundle(path: Path) -> Path:
    """``path`` if npm built it; else the one line that says how (anywidget would raise FileNotFoundError)."""
    if not path.is_file():
        raise BundleMissing(
            f"nbrealtime's widget bundle {path.name} was never built (a source checkout): run `{BUILD_COMMAND}` "
            f"in the checkout (needs node >= 20), or install nbrealtime from its wheel"
        )
    return path


class NbrtWidget(anywidget.AnyWidget):
    """A thin view over a feature object: traits mirror its state, messages become calls on it."""

    _css = bundle(STATIC / "nbrealtime.css")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        esm = cls.__dict__.get("_esm")
        if isinstance(esm, Path):
            bundle(esm)
        super().__init_subclass__(**kwargs)

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
