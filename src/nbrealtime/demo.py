"""Helpers for demos and tutorials: a simulated collaborator in a subprocess."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbrealtime.features.room import Room

__all__ = ["Collaborator", "collaborator"]

START_TIMEOUT = 60.0
INVITE_VARIABLE = "NBREALTIME_INVITE"
"""The collaborator's invite travels in its environment (not its command line, which ``ps`` shows everyone)."""


class Collaborator:
    """A running simulated collaborator (see :mod:`nbrealtime.collaborator`); stops with this kernel."""

    def __init__(self, room: str, name: str, *, greet: bool = True, invite: str | None = None) -> None:
        self.room = room
        self.name = name
        command = [sys.executable, "-m", "nbrealtime.collaborator", room, name, *([] if greet else ["--no-greet"])]
        env = {**os.environ, **({INVITE_VARIABLE: invite} if invite else {})}
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
    invite = str(opened.invite(role, uses=1, expires=600)) if opened is not None else None
    return Collaborator(opened.name if opened is not None else str(room), name, greet=greet, invite=invite)
