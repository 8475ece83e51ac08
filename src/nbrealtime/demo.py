"""Helpers for demos and tutorials: a simulated collaborator in a subprocess, and the demo's live shared notebook."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
import uuid
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from nbrealtime.features.room import Room

__all__ = ["DEMO_ROOM", "LIVE_NOTEBOOK", "Collaborator", "collaborator", "start_live_notebook"]

START_TIMEOUT = 60.0
DEMO_ROOM = "demo"
LIVE_NOTEBOOK = "live-notebook.ipynb"
LIVE_NOTEBOOK_INTRO = (
    "# A live shared notebook\n\nThis notebook lives in the room `demo`. Ada, a simulated colleague on another "
    '"machine", opens it from the room when you open it here: watch her type, add a cell and run it. Everything you '
    "do here reaches her too."
)
INVITE_VARIABLE = "NBREALTIME_INVITE"
"""The collaborator's invite travels in its environment (not its command line, which ``ps`` shows everyone)."""


class Collaborator:
    """A running simulated collaborator (see :mod:`nbrealtime.collaborator`); stops with this kernel."""

    def __init__(self, room: str, name: str, *, greet: bool = True, invite: str | None = None,
                 backend: tuple[str, str] | None = None) -> None:  # fmt: skip
        self.room = room
        self.name = name
        command = [sys.executable, "-m", "nbrealtime.collaborator", room, name, *([] if greet else ["--no-greet"])]
        env = {**os.environ, **({INVITE_VARIABLE: invite} if invite else {})}
        if backend is not None:  # the inviting room's server, named: never one started anew if it went away
            env.update(SUPABASE_URL=backend[0], SUPABASE_ANON_KEY=backend[1])
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        joined = threading.Event()
        threading.Thread(target=self._watch, args=(joined,), daemon=True).start()
        if not joined.wait(START_TIMEOUT):
            self.stop()
            raise RuntimeError(f"the simulated collaborator {name!r} did not join {room!r} in time")
        atexit.register(self.stop)

    def _watch(self, joined: threading.Event) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            if line.startswith(f"{self.name} joined"):
                joined.set()

    def __repr__(self) -> str:
        state = "running" if self._process.poll() is None else "stopped"
        return f"<Collaborator {self.name!r} in {self.room!r}: {state}>"

    def stop(self) -> None:
        """Leave the room (closing its input makes it leave cleanly) and wait for it."""
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def collaborator(room: str | Room, name: str = "Ada", *, greet: bool = True, role: str = "editor") -> Collaborator:
    """Start a simulated collaborator called ``name`` in ``room`` and wait until it has joined.

    Rooms are invite-only: when you own the room (connected in this kernel), the collaborator gets a one-time invite
    as ``role``; otherwise it joins like anyone else (the room must be open to it, or it creates the room)."""
    from nbrealtime.features.room import Room, find_open_room  # the demo helper stays importable without a loop

    opened = room if isinstance(room, Room) else find_open_room(room, role="owner")
    if opened is None:
        return Collaborator(str(room), name, greet=greet)
    invite = str(opened.invite(role, uses=1, expires=600))
    backend = (opened.backend.url, opened.backend.key)
    return Collaborator(opened.name, name, greet=greet, invite=invite, backend=backend)


def _live_notebook_content() -> dict[str, Any]:
    def cell(cell_type: str, source: str) -> dict[str, Any]:
        extra = {"outputs": [], "execution_count": None} if cell_type == "code" else {}
        return {"cell_type": cell_type, "id": uuid.uuid4().hex[:8], "metadata": {}, "source": source, **extra}

    return {
        "cells": [
            cell("markdown", LIVE_NOTEBOOK_INTRO),
            cell("code", "numbers = [3, 1, 4, 1, 5]"),
            cell("code", "sorted(numbers)"),
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def start_live_notebook(lab_url: str, token: str, backend: tuple[str, str]) -> str:
    """The demo's shared notebook: put it in the demo room (once: it persists), open it in the JupyterLab at
    ``lab_url`` as a live file, and start Ada, who plays it as soon as someone has it open. Returns its path there.

    Runs as the person (the same user and identity as JupyterLab's server extension), who owns the demo room, on
    ``backend`` (url, key): the server JupyterLab started, never another one."""
    from nbrealtime.features.room import connect

    room = connect(DEMO_ROOM, url=backend[0], key=backend[1])
    try:
        found = [info for info in room.notebooks if info.name == LIVE_NOTEBOOK]
        notebook_id = found[0].id if found else room.share_notebook(_live_notebook_content(), name=LIVE_NOTEBOOK).id
        opened = httpx.post(
            f"{lab_url}/nbrealtime/api/rooms/{DEMO_ROOM}/notebooks/{notebook_id}/open",
            headers={"Authorization": f"token {token}"},
            timeout=60,
        )
        if opened.status_code != 200:
            raise RuntimeError(f"JupyterLab could not open the demo's shared notebook: {opened.text}")
        collaborator(room, "Ada", greet=False)
        room.send("notebook", {"name": notebook_id, "when_seen": True})
        return str(opened.json()["path"])
    finally:
        room.close()
