"""Run by the fresh venv's Python (no node, nbrealtime installed from its wheel): a user's first minutes.

Two people join a room on the server the test started, one sends a message the other receives, both see each other
in presence, and a widget model is built from the bundle inside the installed package; then the README's quickstart
(the file given as the argument) runs as written. Prints one JSON line.
"""

from __future__ import annotations

import json
import queue
import sys
from pathlib import Path
from typing import Any

import nbrealtime

DEADLINE = 30.0


def main() -> None:
    before = sorted(name for name in ("anywidget", "ipywidgets") if name in sys.modules)
    alice = nbrealtime.connect("wheel-smoke", user="alice")  # creates the room, so owns it
    bob = nbrealtime.connect("wheel-smoke", user="bob", invite=str(alice.invite("editor", uses=1)))
    after_connect = sorted(name for name in ("anywidget", "ipywidgets") if name in sys.modules)
    arrived: queue.Queue[tuple[object, str]] = queue.Queue()
    bob.on("hello", lambda payload, sender: arrived.put((payload, sender.name)))
    alice.send("hello", {"text": "hi"})
    payload, sender = arrived.get(timeout=DEADLINE)
    alice.presence.wait_for("bob", timeout=DEADLINE)
    from nbrealtime.widgets.display import widget_for

    widget = widget_for(alice.presence)
    result = {
        "widget_modules_before": before + after_connect,
        "message": [payload, sender],
        "members": sorted(member.name for member in alice.presence.members),
        "widget": [type(widget).__name__, bool(widget.model_id), len(str(widget._esm)) > 1000, nbrealtime.__file__],
    }
    alice.close()
    bob.close()
    quickstart: dict[str, Any] = {}
    exec(compile(Path(sys.argv[1]).read_text(), "README.md", "exec"), quickstart)
    result["quickstart"] = [quickstart["payload"], quickstart["sender"].name, quickstart["write"].wait()]
    quickstart["room"].close()
    quickstart["ada"].stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
