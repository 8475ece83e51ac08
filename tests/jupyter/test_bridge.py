"""The server extension's notebook bridge between two JupyterLab servers ("two machines": separate processes, root
dirs, data dirs and users) and one embedded server, driven through its REST API and a Python room member."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

import nbrealtime
from nbrealtime.features.notebook_outputs import OMITTED_MIME
from nbrealtime.launcher import ServerProcess
from tests.browser.harness import JupyterLab
from tests.client.support import create_open_room
from tests.jupyter.support import MACHINE, api, until_logged, until_on_disk, visit_document

pytestmark = pytest.mark.shared_notebook

WAIT = 30.0


def notebook_file(cells: list[tuple[str, str]]) -> str:
    return json.dumps({
        "cells": [{"cell_type": "code", "id": cell_id, "metadata": {}, "source": source, "outputs": [],
                   "execution_count": None} for cell_id, source in cells],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    })  # fmt: skip


def sources(content: dict) -> list[str]:
    return ["".join(cell["source"]) for cell in content["cells"]]


def shared_on_both(machines: list[JupyterLab], room: str, name: str, cells: list[tuple[str, str]]) -> None:
    """Ann's server shares a new notebook ``name``; ben's opens it and has it on disk."""
    ann, ben = machines
    (ann.root / name).write_text(notebook_file(cells))
    assert api(ann, "POST", f"{room}/notebooks", json={"path": name}).status_code == 201
    assert api(ben, "POST", f"{room}/notebooks/{name}/open").status_code == 200
    until_on_disk(ben.root / name, lambda c: sources(c) == [text for _, text in cells], ben, "the room's cells")


def append_as_cy(room: str, name: str, cell_id: str, text: str) -> None:
    """A third person, from Python, appends a markdown cell to the room's notebook (then leaves)."""
    cy = nbrealtime.connect(room, user="cy")
    try:
        with cy.notebook(name).edit() as ynotebook:
            ynotebook.append_cell({"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": text})
    finally:
        cy.close()


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
    shared_on_both(machines, room_name, "long.ipynb", [("l1", "one")])
    ben = machines[1]
    ben.stop()
    monkeypatch.setenv("NBREALTIME_DATA_DIR", str(embedded.data_dir))
    append_as_cy(room_name, "long.ipynb", "l2", "two")  # an edit made while ben's server is down
    machines[1] = ben = JupyterLab(ben.root, ben.root.parent, embedded, user="ben", **MACHINE)
    content = until_on_disk(ben.root / "long.ipynb", lambda c: len(c["cells"]) == 2, ben, "the edit made meanwhile")
    assert [cell["id"] for cell in content["cells"]] == ["l1", "l2"]
    assert not (ben.root / "long (local copy).ipynb").exists()
    listed = api(ben, "GET", f"{room_name}/notebooks").json()
    assert [(item["name"], item["live"]) for item in listed] == [("long.ipynb", True)]


def test_a_document_let_go_and_loaded_again_is_re_attached_by_itself(
    machines: list[JupyterLab], embedded: ServerProcess, room_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared_on_both(machines, room_name, "visited.ipynb", [("v1", "seen")])
    ben = machines[1]
    logged = len(ben.log_path.read_text(errors="replace"))
    visit_document(ben, "visited.ipynb")  # a browser came and went: jupyter-server-ydoc drops the document
    until_logged(ben, "Deleting Y document from memory", logged)

    monkeypatch.setenv("NBREALTIME_DATA_DIR", str(embedded.data_dir))
    append_as_cy(room_name, "visited.ipynb", "v2", "after")  # nobody calls open: the bridge follows by itself
    content = until_on_disk(ben.root / "visited.ipynb", lambda c: len(c["cells"]) == 2, ben, "cy's cell")
    assert [cell["id"] for cell in content["cells"]] == ["v1", "v2"]
    listed = api(ben, "GET", f"{room_name}/notebooks").json()
    assert [(item["name"], item["live"]) for item in listed] == [("visited.ipynb", True)]


def until_listed(lab: JupyterLab, room: str, predicate: Any, what: str) -> dict:
    """Poll this server's REST list of the room's notebooks until its only entry satisfies ``predicate``."""
    deadline = time.monotonic() + WAIT
    listed: Any = None
    while time.monotonic() < deadline:
        listed = api(lab, "GET", f"{room}/notebooks").json()
        if isinstance(listed, list) and len(listed) == 1 and predicate(listed[0]):
            return listed[0]
        time.sleep(0.2)  # polling another process's REST API
    pytest.fail(f"{lab.url} never listed {what}: {listed}\n{lab.log_tail()}", pytrace=False)


def test_a_demoted_server_copy_turns_read_only_and_a_removed_one_stops(
    machines: list[JupyterLab], embedded: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann_lab, ben_lab = machines
    monkeypatch.setenv("NBREALTIME_DATA_DIR", str(embedded.data_dir))
    guarded, open_room = f"guarded-{uuid.uuid4().hex[:8]}", f"barrier-{uuid.uuid4().hex[:8]}"
    owner = nbrealtime.connect(guarded, user="ann")  # ann owns the room (her Jupyter server signs in as her too)
    nbrealtime.connect(invite=owner.invite("editor"), user="ben").close()  # ben's server is a member from now on
    create_open_room(embedded, open_room)
    try:
        (ann_lab.root / "secret.ipynb").write_text(notebook_file([("s1", "plan")]))
        (ann_lab.root / "barrier.ipynb").write_text(notebook_file([("b1", "")]))
        assert api(ann_lab, "POST", f"{guarded}/notebooks", json={"path": "secret.ipynb"}).status_code == 201
        assert api(ann_lab, "POST", f"{open_room}/notebooks", json={"path": "barrier.ipynb"}).status_code == 201
        assert api(ben_lab, "POST", f"{guarded}/notebooks/secret.ipynb/open").status_code == 200
        assert api(ben_lab, "POST", f"{open_room}/notebooks/barrier.ipynb/open").status_code == 200
        assert until_listed(ben_lab, guarded, lambda item: item["live"], "a live copy")["read_only"] is False

        owner.set_role("ben", "viewer")
        until_listed(ben_lab, guarded, lambda item: item["live"] and item["read_only"], "a read-only copy")

        owner.remove("ben")
        stopped = until_listed(ben_lab, guarded, lambda item: not item["live"], "a stopped copy")
        assert stopped["reason"] == f"you were removed from room {guarded!r}" and stopped["read_only"] is True
        assert api(ben_lab, "POST", f"{guarded}/notebooks/secret.ipynb/open").status_code == 403

        with owner.notebook("secret.ipynb").edit() as ynotebook:  # an edit after the removal…
            ynotebook.set_cell(0, {**ynotebook.get_cell(0), "source": "changed plan"})
        barrier = nbrealtime.connect(open_room, user="ann")
        try:  # …then one in another room, which reaches ben's server after it
            with barrier.notebook("barrier.ipynb").edit() as ynotebook:
                ynotebook.set_cell(0, {**ynotebook.get_cell(0), "source": "barrier"})
        finally:
            barrier.close()
        until_on_disk(ann_lab.root / "secret.ipynb", lambda c: sources(c) == ["changed plan"], ann_lab, "the edit")
        until_on_disk(ben_lab.root / "barrier.ipynb", lambda c: sources(c) == ["barrier"], ben_lab, "the barrier")
        kept = json.loads((ben_lab.root / "secret.ipynb").read_text())
        assert sources(kept) == ["plan"], "the removed copy stays on ben's disk as it was, and nothing reaches it"

        nbrealtime.connect(invite=owner.invite("editor"), user="ben").close()  # let back in: open syncs it again
        reopened = api(ben_lab, "POST", f"{guarded}/notebooks/secret.ipynb/open")
        assert reopened.status_code == 200 and reopened.json()["live"] is True, reopened.text
        until_on_disk(ben_lab.root / "secret.ipynb", lambda c: sources(c) == ["changed plan"], ben_lab, "the edit")
    finally:
        owner.close()


def test_a_large_output_reaches_the_other_server_as_a_placeholder_and_both_serve_it(
    machines: list[JupyterLab], room_name: str
) -> None:
    ann, ben = machines
    image = {"output_type": "display_data", "data": {"image/png": "iVBOR" + "A" * 1_200_000}, "metadata": {}}
    notebook = json.loads(notebook_file([("p1", "plot()")]))
    notebook["cells"][0].update(outputs=[image], execution_count=1)
    (ann.root / "plot.ipynb").write_text(json.dumps(notebook))
    shared = api(ann, "POST", f"{room_name}/notebooks", json={"path": "plot.ipynb"}).json()
    assert api(ben, "POST", f"{room_name}/notebooks/plot.ipynb/open").status_code == 200
    on_ben = until_on_disk(ben.root / "plot.ipynb", lambda c: bool(c["cells"][0]["outputs"]), ben, "the output")
    (placeholder,) = on_ben["cells"][0]["outputs"]
    about = placeholder["data"][OMITTED_MIME]
    assert "".join(placeholder["data"]["text/plain"]).startswith("[nbrealtime: a 1.2 MB output (image/png)")
    with httpx.Client(base_url=ann.url, timeout=30) as client:
        assert about["origin"] == client.get("/nbrealtime/api/me").json()["server_id"], "it came from ann's server"
    for lab in (ann, ben):  # ann's from her server's memory, ben's from the room
        fetched = api(lab, "GET", f"{room_name}/notebooks/{shared['id']}/outputs/{about['id']}")
        assert fetched.status_code == 200 and fetched.json() == image
    missing = api(ben, "GET", f"{room_name}/notebooks/{shared['id']}/outputs/nope")
    assert missing.status_code == 404 and missing.json()["message"].startswith("no output 'nope'")


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
