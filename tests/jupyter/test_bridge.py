"""The server extension's notebook bridge between two JupyterLab servers ("two machines": separate processes, root
dirs, data dirs and users) and one embedded server, driven through its REST API and a Python room member."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

import nbrealtime
from nbrealtime.launcher import ServerProcess
from tests.browser.harness import JupyterLab
from tests.client.support import create_open_room
from tests.jupyter.support import api, until_on_disk

pytestmark = pytest.mark.shared_notebook

WAIT = 30.0


@pytest.fixture
def room_name(embedded: ServerProcess) -> str:
    name = f"nb-{uuid.uuid4().hex[:8]}"
    create_open_room(embedded, name)
    return name


def notebook_file(cells: list[tuple[str, str]]) -> str:
    return json.dumps({
        "cells": [{"cell_type": "code", "id": cell_id, "metadata": {}, "source": source, "outputs": [],
                   "execution_count": None} for cell_id, source in cells],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    })  # fmt: skip


def sources(content: dict) -> list[str]:
    return ["".join(cell["source"]) for cell in content["cells"]]


def test_share_on_one_machine_open_on_another_and_edits_reach_both_disks(
    machines: list[JupyterLab], embedded: ServerProcess, room_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, ben = machines
    (ann.root / "analysis.ipynb").write_text(notebook_file([("a", "x = 1"), ("b", "print(x)")]))
    shared = api(ann, "POST", f"{room_name}/notebooks", json={"path": "analysis.ipynb"})
    assert shared.status_code == 201, shared.text
    assert shared.json()["live"] is True
    listed = api(ben, "GET", f"{room_name}/notebooks").json()
    assert [(item["name"], item["live"]) for item in listed] == [("analysis.ipynb", False)]
    opened = api(ben, "POST", f"{room_name}/notebooks/analysis.ipynb/open")
    assert opened.status_code == 200, opened.text
    assert opened.json()["path"] == "analysis.ipynb" and opened.json()["kept_aside"] is None
    on_ben = until_on_disk(ben.root / "analysis.ipynb", lambda c: sources(c) == ["x = 1", "print(x)"], ben, "cells")
    assert [cell["id"] for cell in on_ben["cells"]] == ["a", "b"]

    # a third person, from Python, edits the room's notebook: both machines' live documents and files follow
    monkeypatch.setenv("NBREALTIME_DATA_DIR", str(embedded.data_dir))
    cy = nbrealtime.connect(room_name, user="cy")
    try:
        notebook = cy.notebook("analysis.ipynb")
        with notebook.edit() as ynotebook:
            ynotebook.set_cell(0, source="x = 42")
            ynotebook.append_cell({"cell_type": "markdown", "id": "c", "metadata": {}, "source": "# from cy"})
    finally:
        cy.close()
    for lab in machines:
        content = until_on_disk(lab.root / "analysis.ipynb", lambda c: len(c["cells"]) == 3, lab, "cy's cell")
        assert sources(content) == ["x = 42", "print(x)", "# from cy"]
        assert [cell["id"] for cell in content["cells"]] == ["a", "b", "c"]


def test_a_file_in_the_way_is_kept_aside_never_merged(machines: list[JupyterLab], room_name: str) -> None:
    ann, ben = machines
    (ann.root / "report.ipynb").write_text(notebook_file([("r1", "room = True")]))
    (ben.root / "report.ipynb").write_text(notebook_file([("r1", "mine = True"), ("r2", "also mine")]))
    assert api(ann, "POST", f"{room_name}/notebooks", json={"path": "report.ipynb"}).status_code == 201
    opened = api(ben, "POST", f"{room_name}/notebooks/report.ipynb/open").json()
    assert opened["kept_aside"] == "report (local copy).ipynb"
    kept = json.loads((ben.root / "report (local copy).ipynb").read_text())
    assert sources(kept) == ["mine = True", "also mine"]
    content = until_on_disk(ben.root / "report.ipynb", lambda c: sources(c) == ["room = True"], ben, "the room's")
    assert [cell["id"] for cell in content["cells"]] == ["r1"]


def test_bad_requests_get_one_sentence(machines: list[JupyterLab], room_name: str) -> None:
    ann = machines[0]
    missing = api(ann, "POST", f"{room_name}/notebooks/nope.ipynb/open")
    assert missing.status_code == 404
    assert missing.json()["message"].startswith(f"no notebook 'nope.ipynb' in room '{room_name}'")
    not_a_path = api(ann, "POST", f"{room_name}/notebooks", json={"path": 3})
    assert not_a_path.status_code == 400 and "notebook path" in not_a_path.json()["message"]
    absent = api(ann, "POST", f"{room_name}/notebooks", json={"path": "absent.ipynb"})
    assert absent.status_code == 404 and absent.json()["message"] == "no notebook 'absent.ipynb' on this server"


def test_a_restarted_jupyter_server_reopens_and_catches_up_without_duplicates(
    machines: list[JupyterLab], embedded: ServerProcess, room_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, ben = machines
    (ann.root / "long.ipynb").write_text(notebook_file([("l1", "one")]))
    assert api(ann, "POST", f"{room_name}/notebooks", json={"path": "long.ipynb"}).status_code == 201
    assert api(ben, "POST", f"{room_name}/notebooks/long.ipynb/open").status_code == 200
    until_on_disk(ben.root / "long.ipynb", lambda c: sources(c) == ["one"], ben, "the shared cell")
    ben.stop()
    monkeypatch.setenv("NBREALTIME_DATA_DIR", str(embedded.data_dir))
    cy = nbrealtime.connect(room_name, user="cy")
    try:  # edits made while ben's server is down
        with cy.notebook("long.ipynb").edit() as ynotebook:
            ynotebook.append_cell({"cell_type": "markdown", "id": "l2", "metadata": {}, "source": "two"})
    finally:
        cy.close()
    machines[1] = ben = JupyterLab(ben.root, ben.root.parent, embedded, user="ben", collaborative=True)
    content = until_on_disk(ben.root / "long.ipynb", lambda c: len(c["cells"]) == 2, ben, "the edit made meanwhile")
    assert [cell["id"] for cell in content["cells"]] == ["l1", "l2"]
    assert not (ben.root / "long (local copy).ipynb").exists()
    listed = api(ben, "GET", f"{room_name}/notebooks").json()
    assert [(item["name"], item["live"]) for item in listed] == [("long.ipynb", True)]


def test_opening_one_notebook_three_times_at_once_opens_it_once(machines: list[JupyterLab], room_name: str) -> None:
    ann, ben = machines
    (ann.root / "busy.ipynb").write_text(notebook_file([("b1", "busy = True")]))
    assert api(ann, "POST", f"{room_name}/notebooks", json={"path": "busy.ipynb"}).status_code == 201
    with ThreadPoolExecutor(3) as pool:  # a follower's click, a page reload and a restore, all at once
        answers = list(pool.map(lambda _: api(ben, "POST", f"{room_name}/notebooks/busy.ipynb/open"), range(3)))
    assert [answer.status_code for answer in answers] == [200, 200, 200], [answer.text for answer in answers]
    assert {answer.json()["path"] for answer in answers} == {"busy.ipynb"}
    assert not (ben.root / "busy (local copy).ipynb").exists()
    content = until_on_disk(ben.root / "busy.ipynb", lambda c: sources(c) == ["busy = True"], ben, "the room's cell")
    assert [cell["id"] for cell in content["cells"]] == ["b1"]
