"""The soak's Jupyter server: a JupyterLab with nbrealtime's notebook bridge holding one room's shared notebook as a
live file on its disk (the harness of ``tests/browser/harness.py``, the REST call of ``tests/jupyter/support.py``).

The nemesis restarts it (SIGTERM, then a new JupyterLab on the same root and home, which restores its links); at
the end its file must list the same cells as the room's notebook, none twice, and nothing may have been kept aside
as a diverged "(local copy)".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class LabReplica:
    """One JupyterLab, signed in as ``user``, with the room's notebook ``name`` open through the bridge."""

    def __init__(self, home: Path, server: Any, room: str, name: str, user: str = "soak-lab") -> None:
        from tests.browser.harness import JupyterLab

        self.home = home
        self.room = room
        self.name = name
        self.user = user
        self.restarts = 0
        home.mkdir(parents=True)
        self.lab = JupyterLab.in_home(home, server, user, collaborative=True)
        self._open()

    def _open(self) -> None:
        from tests.jupyter.support import api

        response = api(self.lab, "POST", f"{self.room}/notebooks/{self.name}/open")
        if response.status_code != 200:
            raise RuntimeError(f"the bridge did not open {self.name}: {response.status_code} {response.text}")

    def restart(self, server: Any) -> None:
        from tests.browser.harness import JupyterLab

        self.lab.stop()
        self.lab = JupyterLab(self.lab.root, self.home, server, user=self.user, collaborative=True)
        self.restarts += 1

    @property
    def pid(self) -> int:
        return self.lab.process.pid

    def cells(self) -> list[str] | None:
        """The cell sources of the file on disk (jupyter-server-ydoc saves it a moment after each change)."""
        try:
            content = json.loads((self.lab.root / self.name).read_text())
        except (OSError, ValueError):
            return None
        return ["".join(cell["source"]) for cell in content.get("cells", [])]

    def kept_aside(self) -> list[str]:
        return sorted(path.name for path in self.lab.root.glob("* (local copy*).ipynb"))

    def stop(self) -> None:
        self.lab.stop()
