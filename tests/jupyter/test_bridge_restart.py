"""A Jupyter server stopped mid-edit, restarted: its own two machines (restarts leave a module's servers in a state
the other bridge tests should not inherit)."""

from __future__ import annotations

import json
import os
import time

import pytest

from nbrealtime.launcher import ServerProcess
from tests.browser.harness import JupyterLab
from tests.jupyter.support import MACHINE, until_on_disk
from tests.jupyter.test_bridge import append_as_cy, notebook_file, shared_on_both, until_listed

pytestmark = pytest.mark.shared_notebook


def test_a_file_saved_before_its_last_live_edits_catches_up_at_restart_and_a_hand_edited_one_is_kept_aside(
    machines: list[JupyterLab], embedded: ServerProcess, room_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server stopped mid-edit leaves its file a moment behind jupyter-server-ydoc's update store: the restart goes
    on from the store (no spurious local copy). A file edited after the store's last update is someone's own edit."""
    shared_on_both(machines, room_name, "lag.ipynb", [("g1", "one")])
    monkeypatch.setenv("NBREALTIME_DATA_DIR", str(embedded.data_dir))
    append_as_cy(room_name, "lag.ipynb", "g2", "two")
    ben, path = machines[1], machines[1].root / "lag.ipynb"
    until_on_disk(path, lambda c: len(c["cells"]) == 2, ben, "cy's cell")

    ben.stop()
    path.write_text(notebook_file([("g1", "one")]))  # as saved a moment before cy's cell arrived
    before = time.time() - 3600
    os.utime(path, (before, before))
    machines[1] = ben = JupyterLab(ben.root, ben.root.parent, embedded, user="ben", **MACHINE)
    until_listed(ben, room_name, lambda item: item["live"], "the notebook live again")
    assert [cell["id"] for cell in json.loads(path.read_text())["cells"]] == ["g1", "g2"]
    assert not (ben.root / "lag (local copy).ipynb").exists()

    ben.stop()
    path.write_text(notebook_file([("g1", "one"), ("mine", "edited by hand")]))  # after the last live edit
    machines[1] = ben = JupyterLab(ben.root, ben.root.parent, embedded, user="ben", **MACHINE)
    until_listed(ben, room_name, lambda item: item["live"], "the notebook live again")
    kept = ben.root / "lag (local copy).ipynb"
    until_on_disk(kept, lambda c: "mine" in [cell["id"] for cell in c["cells"]], ben, "the hand edit kept aside")
    until_on_disk(path, lambda c: [cell["id"] for cell in c["cells"]] == ["g1", "g2"], ben, "the room's cells")
