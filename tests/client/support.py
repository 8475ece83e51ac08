"""Running a second participant in its own process, and waiting on events without sleeping."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

WAIT = 20.0
PEER = Path(__file__).with_name("peer.py")


class Events:
    """A thread-safe inbox: callbacks put, tests wait for the first item that matches."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Any] = queue.Queue()
        self.seen: list[Any] = []

    def put(self, item: Any) -> None:
        self.queue.put(item)

    def expect(self, predicate: Callable[[Any], bool], timeout: float = WAIT, what: str = "an event") -> Any:
        for item in self.seen:
            if predicate(item):
                self.seen.remove(item)
                return item
        try:
            while True:
                item = self.queue.get(timeout=timeout)
                if predicate(item):
                    return item
                self.seen.append(item)
        except queue.Empty:
            raise AssertionError(f"timed out waiting for {what}; saw {self.seen[-10:]}") from None


def create_open_room(server: Any, name: str) -> None:
    """Create room ``name`` before anyone joins, open to everyone signed in as an editor (as its owner would with
    ``room.settings``): for tests whose participants join in no particular order."""
    key = server.service_role_key
    response = httpx.post(
        f"{server.url}/rest/v1/nbrt_rooms",
        json={"name": name, "open_to": "signed_in", "open_role": "editor"},
        headers={"apikey": key, "Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201, response.text


def open_room(room: Any) -> None:
    """Let everyone signed in join as an editor: the tests' rooms are shared on purpose (rooms are invite-only)."""
    room.settings(open_to="signed_in", role="editor")


class Peer:
    """``tests/client/peer.py`` in a subprocess: another kernel in the room."""

    def __init__(self, room: str, user: str, env: dict[str, str], *extra: str, invite: object = None) -> None:
        invited = {"NBRT_PEER_INVITE": str(invite)} if invite is not None else {}
        self.process = subprocess.Popen(
            [sys.executable, str(PEER), room, user, *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **env, **invited},
        )
        self.events = Events()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        ready = self.events.expect(lambda e: "ready" in e, timeout=60, what=f"{user} to join")
        self.user_id: str = ready["ready"]
        self.unread_at_start: int = ready["unread"]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.put(json.loads(line))

    def do(self, action: str, **arguments: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"do": action, **arguments}) + "\n")
        self.process.stdin.flush()
        answer = self.events.expect(lambda e: e.get("done") == action or "error" in e, what=f"{action} to finish")
        assert "error" not in answer, answer["error"]
        return answer

    def kill(self) -> None:
        self.process.kill()
        self.close()

    def close(self) -> None:
        if self.process.poll() is None and self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(30)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()


def until_members(room: Any, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = WAIT) -> dict:
    """Wait until ``predicate({name: member})`` holds for the room's current roster; return that roster."""
    changes = Events()
    room.presence.on_change(changes.put)
    try:
        roster = {member.name: member for member in room.presence.members}
        if predicate(roster):
            return roster
        members = changes.expect(lambda ms: predicate({m.name: m for m in ms}), timeout, what)
        return {member.name: member for member in members}
    finally:
        room.presence.off_change(changes.put)
