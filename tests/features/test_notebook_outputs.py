"""Outputs above the size limit never travel in a shared notebook: the copy where one appeared keeps it in the room's
``nbrt_notebook_outputs`` table and the document carries a placeholder (docs/shared-notebooks.md, "Large outputs")."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

import nbrealtime
from nbrealtime.features.notebook_outputs import OMITTED_MIME, parse_limit
from nbrealtime.features.shared_notebook import KERNEL_ORIGIN, SharedNotebook
from nbrealtime.launcher import ServerProcess
from tests.client.support import Events
from tests.features.test_shared_notebook import code_cell, connect, write_notebook

pytestmark = pytest.mark.shared_notebook

WAIT = 30.0


def image_output(size: int) -> tuple[dict[str, Any], str]:
    """A display_data output with a PNG of about ``size`` bytes of base64, and a marker only it contains."""
    marker = secrets.token_hex(16)
    payload = marker + base64.b64encode(secrets.token_bytes(size * 3 // 4)).decode()
    output = {"output_type": "display_data", "data": {"image/png": payload, "text/plain": "<Figure>"}, "metadata": {}}
    return output, marker


def placeholders(notebook: SharedNotebook) -> list[dict[str, Any]]:
    return [
        output["data"]
        for cell in notebook.content["cells"]
        for output in cell.get("outputs", [])
        if OMITTED_MIME in output.get("data", {})
    ]


def until(notebook: SharedNotebook, predicate: Any, what: str) -> None:
    changed = Events()
    notebook.on_change(changed.put)
    if not predicate():
        changed.expect(lambda _content: predicate(), timeout=WAIT, what=what)


def count_broadcast_bytes(room: nbrealtime.Room) -> list[bytes]:
    """Record every shared-document broadcast this room receives, as it arrived (before it opens a document)."""
    received: list[bytes] = []
    dispatch = room._dispatch_cells

    def recording(message: dict[str, Any]) -> None:
        received.append(json.dumps(message).encode())
        dispatch(message)

    room._dispatch_cells = recording  # type: ignore[method-assign]
    return received


def stored_rows(server: ServerProcess, table: str, room: str) -> list[dict[str, Any]]:
    key = server.service_role_key
    response = httpx.get(
        f"{server.url}/rest/v1/{table}",
        params={"room": f"eq.{room}"},
        headers={"apikey": key, "Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def assert_never_travelled(server: ServerProcess, room: str, marker: str, received: list[bytes]) -> None:
    """The marker is in no update-log row, no snapshot and no broadcast."""
    for row in stored_rows(server, "nbrt_notebook_updates", room):
        assert marker.encode() not in base64.b64decode(row["data"]), "an update-log row carries the large output"
    for row in stored_rows(server, "nbrt_notebooks", room):
        assert marker.encode() not in base64.b64decode(row["snapshot"] or ""), "a snapshot carries the large output"
    assert received, "the other copy received broadcasts"
    assert all(marker.encode() not in message for message in received), "a broadcast carried the large output"
    print(f"{len(received)} broadcasts, {sum(map(len, received))} bytes")  # the report's measured numbers


def test_a_large_output_in_a_shared_file_becomes_a_placeholder_and_is_fetched_from_the_room(
    env, rooms, server: ServerProcess, tmp_path: Path
) -> None:
    big, marker = image_output(1_500_000)
    small = {"output_type": "stream", "name": "stdout", "text": "fine\n"}
    cell = {**code_cell("a", "plot()"), "outputs": [small, big], "execution_count": 1}
    path = write_notebook(tmp_path / "plots.ipynb", [cell, code_cell("b", "x = 1")])
    ann = connect("outputs", user="ann")
    rooms.append(ann)
    ben = connect("outputs", user="ben")
    rooms.append(ben)
    received = count_broadcast_bytes(ben)
    ben.cell("listening")  # ben is on the documents channel before ann shares: he hears the share's broadcast
    shared = ann.share_notebook(path)  # the default limit: 1 MB
    opened = ben.notebook("plots.ipynb")

    (mine,) = placeholders(shared)
    (theirs,) = placeholders(opened)
    assert mine == theirs
    about = theirs[OMITTED_MIME]
    assert about["room"] == "outputs" and about["notebook"] == shared.id and about["ran_by"] == "ann"
    assert about["origin"] == KERNEL_ORIGIN and about["mime_types"] == ["image/png", "text/plain"]
    assert about["bytes"] > 1_500_000
    said = "[nbrealtime: a 1.5 MB output (image/png, text/plain) is not shared live (limit 1 MB)]"
    assert theirs["text/plain"] == said
    assert opened.content["cells"][0]["outputs"][0] == small, "outputs under the limit travel as they are"
    assert shared.kept_output(about["id"]) == big and shared.output(about["id"]) == big
    assert opened.kept_output(about["id"]) is None
    assert opened.output(about["id"]) == big, "the other copy fetches it from the room"
    with pytest.raises(LookupError, match="no output 'nope'"):
        opened.output("nope")

    # typing elsewhere in the notebook travels; the output never did
    with opened.edit() as notebook:
        notebook.ycells[1]["source"].insert(5, "0")
    until(shared, lambda: shared.content["cells"][1]["source"] == "x = 10", "ben's typing")
    assert_never_travelled(server, "outputs", marker, received)
    assert sum(map(len, received)) < 100_000, "all the broadcasts together are a fraction of the 1.5 MB output"


def test_a_large_output_that_appears_live_is_held_back_and_a_lower_limit_applies(
    env, rooms, server: ServerProcess, tmp_path: Path
) -> None:
    path = write_notebook(tmp_path / "live.ipynb", [code_cell("a", "show()"), code_cell("b")])
    ann = connect("live-outputs", user="ann")
    rooms.append(ann)
    ben = connect("live-outputs", user="ben")
    rooms.append(ben)
    received = count_broadcast_bytes(ben)
    shared = ann.share_notebook(path, output_limit="200kB")
    opened = ben.notebook("live.ipynb")
    big, marker = image_output(300_000)
    medium, _ = image_output(150_000)
    with shared.edit() as notebook:  # what a run does to the document: outputs and a count
        notebook.set_cell(0, {**notebook.get_cell(0), "outputs": [big], "execution_count": 1})
        notebook.set_cell(1, {**notebook.get_cell(1), "outputs": [medium], "execution_count": 2})
    until(opened, lambda: len(placeholders(opened)) == 1, "the placeholder")
    until(opened, lambda: opened.content["cells"][1]["outputs"] == [medium], "the output under ann's limit")
    (about,) = (data[OMITTED_MIME] for data in placeholders(opened))
    assert "limit 200 kB" in placeholders(opened)[0]["text/plain"]
    assert opened.output(about["id"]) == big
    assert placeholders(shared) == placeholders(opened), "the sender's document holds the placeholder too"
    assert_never_travelled(server, "live-outputs", marker, received)


def test_limits_are_read_from_bytes_or_units_and_refused_otherwise() -> None:
    assert parse_limit("1MB") == parse_limit(1_000_000) == parse_limit(" 1000 kB ") == 1_000_000
    assert parse_limit("1.5mb") == 1_500_000
    for bad in ("lots", "-1", "0", "3 parsecs"):
        with pytest.raises(ValueError, match="output limit"):
            parse_limit(bad)


def test_an_output_that_grows_past_the_limit_is_replaced_once_it_does(
    env, rooms, server: ServerProcess, tmp_path: Path
) -> None:
    printing = {**code_cell("p", "for line in lines: print(line)"), "execution_count": 1,
                "outputs": [{"output_type": "stream", "name": "stdout", "text": ""}]}  # fmt: skip
    ann = connect("growing", user="ann")
    rooms.append(ann)
    ben = connect("growing", user="ben")
    rooms.append(ben)
    shared = ann.share_notebook(write_notebook(tmp_path / "long.ipynb", [printing]), output_limit="20kB")
    opened = ben.notebook("long.ipynb")
    line = "x" * 999 + "\n"
    for _ in range(40):  # what a long print loop does to the document: the stream's text grows by a line at a time
        with shared.edit() as notebook:
            output = notebook.ycells[0]["outputs"][0]
            if "text" not in output:  # replaced: the next print would start a new output
                break
            output["text"].insert(len(output["text"]), line)
    until(opened, lambda: len(placeholders(opened)) == 1, "the placeholder in place of the grown output")
    (about,) = (data[OMITTED_MIME] for data in placeholders(opened))
    assert about["mime_types"] == ["text/plain (stdout)"] and about["bytes"] > 20_000
    assert opened.output(about["id"])["text"].count(line) >= 20, "the room keeps the whole output"
    ann.call(shared.flush(), 15)  # whatever waits for the log's next batch is in it now
    rows = stored_rows(server, "nbrt_notebook_updates", "growing")
    logged = sum(base64.b64decode(row["data"]).count(line.encode()) for row in rows)
    assert logged <= 20 + 3, f"{logged} lines reached the log: the limit's worth, and at most what came before a check"
