"""How a feature object shows itself in hosts that ask the object (marimo calls ``_display_``); IPython is taught
separately by ``nbrealtime._display.register_display``. The widget layer is imported only when something is shown."""

from __future__ import annotations

from typing import Any

__all__ = ["HasView"]


class HasView:
    def _display_(self) -> Any:
        from nbrealtime.widgets.display import widget_for  # the one way a feature reaches for its view

        return widget_for(self)
