"""A simulated collaborator, so that one person alone sees a room come alive (demos, docs, tests).

Run as ``python -m nbrealtime.collaborator ROOM NAME`` (usually through :func:`nbrealtime.demo.collaborator`, which
hands it an invite in ``$NBREALTIME_INVITE``). It joins the room like any notebook would and then reacts:

* it greets whoever joins with a notification and moves its presence between cells;
* ``hello`` messages are answered with ``hello back``; ``ping`` with ``pong`` carrying the same payload;
* ``type`` messages (``{"cell": name, "text": t}``) make it type ``t`` into that shared cell, one key at a time;
* ``notify`` messages (``{"to": who, "title": t}``) make it send that notification;
* ``add_row`` messages (``{"collection": name, "values": row}``) make it add that row, then say ``row_added``;
* ``notebook`` messages (``{"name": notebook}``, a name or id) make it open that shared notebook from the room (no
  browser of its own) and show up among its collaborators, wait until someone else has it open when the message says
  ``"when_seen": true`` (the demo: so the person sees it happen), type into its first code cell, add a cell and run
  one in its own process, then say ``notebook_done``;
* ``leave`` makes it leave, and so does the end of its standard input (the notebook that started it is gone).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import threading
import time
from typing import Any

import nbrealtime
from nbrealtime.demo import INVITE_VARIABLE
from nbrealtime.features.members import Member

__all__ = ["run"]

KEYSTROKE_SECONDS = 0.03
WAIT_FOR_SOMEONE = 600.0


def run(room_name: str, name: str, *, greet: bool = True) -> None:
    room = nbrealtime.connect(room_name, user=name, invite=os.environ.get(INVITE_VARIABLE) or None)
    done = threading.Event()
    greeted: set[str] = {room.me.id}

    def on_members(members: list[Member]) -> None:
        for member in members:
            if greet and member.status == "online" and member.id not in greeted:
                greeted.add(member.id)
                threading.Thread(target=welcome, args=(member,), daemon=True).start()

    def welcome(member: Member) -> None:
        room.notify(member.id, f"Welcome, {member.name}!", f"{name} is here too.", kind="success")

    def on_message(payload: Any, sender: Member, event: str) -> None:
        if event == "hello":
            room.send("hello back", {"to": sender.name, "from": name})
        elif event == "ping":
            room.send("pong", payload)
        elif event == "type" and isinstance(payload, dict):
            threading.Thread(target=type_into, args=(payload["cell"], str(payload["text"])), daemon=True).start()
        elif event == "notify" and isinstance(payload, dict):
            room.notify(payload["to"], payload["title"], payload.get("message", ""), kind=payload.get("kind", "info"))
        elif event == "add_row" and isinstance(payload, dict):
            room.collection(payload["collection"]).insert(payload["values"]).wait()
            room.send("row_added", payload["values"])
        elif event == "notebook" and isinstance(payload, dict):
            play = (room, str(payload["name"]), bool(payload.get("when_seen")))
            threading.Thread(target=play_notebook, args=play, daemon=True).start()
        elif event == "leave":
            done.set()

    def type_into(cell_name: str, text: str) -> None:
        cell = room.cell(cell_name)
        cell.wait_synced(timeout=5)  # whoever asked has the cell open: type at the end of the text they see
        room.presence.update(cell=cell_name, activity="typing")
        for character in text:
            cell.insert(len(cell.text), character)
            time.sleep(KEYSTROKE_SECONDS)  # a person's typing speed, not synchronisation
        room.presence.update(activity="idle")
        room.send("typed", {"cell": cell_name, "text": text})

    for event in ("hello", "ping", "type", "notify", "add_row", "notebook", "leave"):
        room.on(event, lambda payload, sender, event=event: on_message(payload, sender, event))
    room.presence.on_change(on_members)
    on_members(room.presence.members)
    room.presence.update(cell="cell 1", activity="reading")
    print(f"{name} joined {room_name}", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()  # parent gone → leave
    done.wait()
    room.close()


def play_notebook(room: nbrealtime.Room, name: str, when_seen: bool = False) -> None:
    """Be a person in a shared notebook: type a comment atop the first code cell, add a cell, run it (once someone
    else has it open, if ``when_seen``)."""
    notebook = room.notebook(name)
    notebook.look(room.me.name, room.me.color)
    if when_seen:
        seen = threading.Event()
        notebook.on_others(lambda others: others and seen.set())
        if not notebook.others:
            seen.wait(WAIT_FOR_SOMEONE)
    index = next((i for i, cell in enumerate(notebook.content["cells"]) if cell["cell_type"] == "code"), None)
    if index is not None:
        for position, character in enumerate(f"# {room.me.name} was here\n"):
            with notebook.edit() as ynotebook:
                ynotebook.ycells[index]["source"].insert(position, character)
            time.sleep(KEYSTROKE_SECONDS)  # a person's typing speed, not synchronisation
    code = f"print('hello from {room.me.name}')"
    with notebook.edit() as ynotebook:
        ynotebook.append_cell({"cell_type": "code", "source": code, "metadata": {}, "outputs": [],
                               "execution_count": None})  # fmt: skip
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, f"<{name}>", "exec"), {"__name__": "__main__"})  # its own cell, in its own process
    with notebook.edit() as ynotebook:
        cell = ynotebook.get_cell(len(ynotebook.ycells) - 1)
        ran = {"output_type": "stream", "name": "stdout", "text": output.getvalue()}
        ynotebook.set_cell(len(ynotebook.ycells) - 1, {**cell, "execution_count": 1, "outputs": [ran]})
    room.send("notebook_done", {"name": name})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("room")
    parser.add_argument("name")
    parser.add_argument("--no-greet", action="store_true", help="do not notify people who join")
    args = parser.parse_args(argv)
    run(args.room, args.name, greet=not args.no_greet)


if __name__ == "__main__":
    main()
