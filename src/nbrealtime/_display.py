"""Rich display of feature objects in IPython, registered without importing the widget layer.

``import nbrealtime`` must stay free of anywidget/ipywidgets (the server, the CLI and plain scripts never show a
widget), so the formatter is registered by class *name* and imports the widgets on the first object displayed.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["register_display"]

DISPLAYED = (
    ("nbrealtime.features.room", "Room"),
    ("nbrealtime.features.presence", "Presence"),
    ("nbrealtime.features.notifications", "Notifications"),
    ("nbrealtime.features.shared_cell", "SharedCell"),
    ("nbrealtime.features.live_table", "LiveTable"),
)


def _mimebundle(obj: Any, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    from nbrealtime.widgets.display import mimebundle

    return mimebundle(obj, include, exclude)


def register_display() -> None:
    """Teach a running IPython (if any) to render rooms, presence, notifications, cells and tables as widgets."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    formatter = shell.display_formatter.mimebundle_formatter
    for module, name in DISPLAYED:
        formatter.for_type_by_name(module, name, _mimebundle)
