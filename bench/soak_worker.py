"""The soak's worker process: several room members using every feature at once, obeying commands on stdin.

Started by ``bench/soak.py`` as ``python bench/soak_worker.py USERS_JSON SEED``; one JSON document a line each way.
Every operation is stamped with ``time.monotonic()`` (CLOCK_MONOTONIC, shared by all processes here), so the main
process can tell an operation that failed inside an injected fault's window from one that failed on a healthy server.
Each member writes unique tokens (``name.seq``) so that, at the end, every acknowledged write can be looked for
exactly once in every replica.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import uuid
from collections import Counter
from typing import Any

import nbrealtime

OPERATIONS = (
    ("send", 0.3),
    ("notify", 0.14),
    ("presence", 0.1),
    ("mark_read", 0.05),
    ("cell", 0.15),
    ("table_insert", 0.1),
    ("table_update", 0.1),
    ("notebook", 0.06),
)
CELL = "soak"
TABLE = "soak"
NOTEBOOK = "soak.ipynb"
EVENT = "soak"
CHURN_EVERY = 20.0  # seconds between an owner's invite → join → remove cycles
WAIT = 30.0

_emit_lock = threading.Lock()


def emit(document: dict[str, Any]) -> None:
    with _emit_lock:
        sys.stdout.write(json.dumps(document) + "\n")
        sys.stdout.flush()


class Member:
    """One room member of this worker: what it wrote (with times) and what it heard."""

    def __init__(self, room: nbrealtime.Room, rng: random.Random) -> None:
        self.room = room
        self.name = room.me.name
        self.rng = rng
        self.cell = room.cell(CELL)
        self.table = room.collection(TABLE)
        self.notebook = room.notebook(NOTEBOOK)
        self.peers: list[str] = []
        self.ops: Counter[str] = Counter()
        self.failures: list[tuple[str, float, float, str]] = []  # operation, start, end, error
        self.messages: list[tuple[str, float, float]] = []  # acked broadcasts: id, sent, acked
        self.notes: list[tuple[str, str, str]] = []  # acked notifications: recipient, row id, title
        self.unacked_titles: list[str] = []  # notify calls that failed: their rows may or may not exist
        self.cell_tokens: list[str] = []
        self.notebook_tokens: list[str] = []
        self.rows: dict[str, int] = {}  # table row id → the last `n` written here
        self.handles: list[Any] = []
        self.heard_messages: Counter[str] = Counter()
        self.heard_notes: Counter[str] = Counter()
        self.arrived = threading.Condition()
        self._seq = 0
        room.on(EVENT, self._on_message)
        room.notifications.on_new(self._on_note)
        room.on_status(lambda state: emit({"status": self.name, "state": state, "t": time.monotonic()}))
        emit({"status": self.name, "state": room.status, "t": time.monotonic()})  # the state before any change

    def _on_message(self, payload: Any, _sender: Any) -> None:
        with self.arrived:
            self.heard_messages[payload["mid"]] += 1
            self.arrived.notify_all()

    def _on_note(self, notification: Any) -> None:
        with self.arrived:
            self.heard_notes[notification.id] += 1
            self.arrived.notify_all()

    def step(self) -> None:
        operation = self.rng.choices([name for name, _ in OPERATIONS], [weight for _, weight in OPERATIONS])[0]
        self._seq += 1
        token = f"{self.name}.{self._seq}"
        started = time.monotonic()
        try:
            self._do(operation, token, started)
            self.ops[operation] += 1
        except Exception as error:
            if operation == "notify":
                self.unacked_titles.append(token)
            self.failures.append((operation, started, time.monotonic(), f"{type(error).__name__}: {error}"[:300]))

    def _do(self, operation: str, token: str, started: float) -> None:
        if operation == "send":
            self.room.send(EVENT, {"mid": token, "pad": "x" * self.rng.randint(0, 400)})
            self.messages.append((token, started, time.monotonic()))
        elif operation == "notify" and self.peers:
            recipient = self.rng.choice(self.peers)
            for row_id in self.room.notify(recipient, token, "soak"):
                self.notes.append((recipient, row_id, token))
        elif operation == "presence":
            self.room.presence.update(cell=f"cell-{self.rng.randint(1, 5)}", activity=self.rng.choice(["edit", "run"]))
        elif operation == "mark_read":
            unread = self.room.notifications.unread
            if unread:
                self.room.notifications.mark_read(self.rng.choice(unread).id)
        elif operation == "cell":
            self.cell.insert(len(self.cell.text), token + "|")
            self.cell_tokens.append(token)
        elif operation == "table_insert":
            key = str(uuid.uuid4())
            self.handles.append(self.table.insert({"id": key, "token": token, "by": self.name, "n": 0}))
            self.rows[key] = 0
        elif operation == "table_update" and self.rows:
            key = self.rng.choice(list(self.rows))
            self.rows[key] += 1
            self.handles.append(self.table.update(key, {"n": self.rows[key]}))
        elif operation == "notebook":
            with self.notebook.edit() as ynb:
                ynb.append_cell({"cell_type": "markdown", "source": token, "metadata": {}})
            self.notebook_tokens.append(token)

    def wait_heard(self, messages: list[str], notes: list[str], deadline: float) -> None:
        with self.arrived:
            while time.monotonic() < deadline and not (
                all(self.heard_messages[m] for m in messages) and all(self.heard_notes[n] for n in notes)
            ):
                self.arrived.wait(max(0.01, deadline - time.monotonic()))

    def writes(self) -> dict[str, Any]:
        return {
            "ops": dict(self.ops),
            "failures": self.failures,
            "messages": self.messages,
            "notes": self.notes,
            "unacked_titles": self.unacked_titles,
            "cell_tokens": self.cell_tokens,
            "notebook_tokens": self.notebook_tokens,
            "rows": self.rows,
        }

    def replica(self) -> dict[str, Any]:
        """This member's copy of the room's shared documents and table, and what is still unsaved here."""
        return {
            "cell": self.cell.text,
            "notebook": [cell.get("source", "") for cell in self.notebook.content.get("cells", [])],
            "table": {str(row["id"]): [row.get("token"), row.get("n")] for row in self.table.rows},
            "pending": self.room.pending_writes,
            "unsettled_handles": sum(handle.status == "pending" for handle in self.handles),
            "failed_handles": [f"{h.key}: {h.error}" for h in self.handles if h.status == "failed"][:5],
        }


class Churn:
    """An owner's invite → join → remove cycle (and a revoked invite that must not let anyone in), on a timer.

    The guest is a separate room member in this process; a removed guest that can still send, or a revoked invite
    that still admits, is a security violation (counted apart from failures)."""

    def __init__(self, owner: nbrealtime.Room, url: str, key: str) -> None:
        self.owner = owner
        self.url = url
        self.key = key
        self.cycles = 0
        self.ops: Counter[str] = Counter()
        self.failures: list[tuple[str, float, float, str, str]] = []  # ..., the owner's name
        self.violations: list[str] = []

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(CHURN_EVERY):
            self.cycles += 1
            started = time.monotonic()
            step = "invite"
            try:
                for step in self._cycle(f"guest-{self.owner.name}-{self.cycles}"):
                    self.ops[step] += 1
            except Exception as error:
                self.failures.append(
                    (
                        f"churn:{step}",
                        started,
                        time.monotonic(),
                        f"{type(error).__name__}: {error}"[:300],
                        self.owner.me.name,
                    )
                )

    def _cycle(self, guest_name: str) -> Any:
        owner = self.owner
        invite = owner.invite("editor", uses=1, expires=120)
        yield "invite"
        guest = nbrealtime.connect(invite=invite, user=guest_name, url=self.url, key=self.key)
        try:
            yield "join_by_invite"
            guest.send("soak-guest", {"hello": guest_name})
            yield "guest_send"
            owner.presence.wait_for(guest_name, timeout=WAIT)
            removed = threading.Event()
            guest.on_role(lambda role: removed.set() if role is None else None)
            owner.remove(guest.me.id)
            yield "remove"
            if not removed.wait(WAIT):
                raise TimeoutError("the removed guest was not told within 30 s")
            try:
                guest.send("soak-guest", {"after": "removal"}, timeout=5)
                self.violations.append(f"{guest_name} could still send after its removal")
            except (nbrealtime.AccessDenied, RuntimeError, nbrealtime.NotConnected, nbrealtime.AckTimeout):
                pass
            yield "send_refused_after_removal"
        finally:
            guest.close()
        spare = owner.invite("editor", uses=1)
        owner.revoke(spare)
        yield "revoke"
        try:
            intruder = nbrealtime.connect(invite=spare, user=f"{guest_name}-late", url=self.url, key=self.key)
            intruder.close()
            self.violations.append(f"a revoked invite let {guest_name}-late into {owner.name}")
        except nbrealtime.AccessDenied:
            yield "revoked_invite_refused"


def _wait_roster(room: nbrealtime.Room, ids: set[str], deadline: float) -> None:
    """Until everyone in the room is in this member's roster (notify() addresses members it knows)."""
    changed = threading.Event()
    room.presence.on_change(lambda _members: changed.set())
    while not ids <= {member.id for member in room.presence.members} and time.monotonic() < deadline:
        changed.wait(max(0.01, deadline - time.monotonic()))
        changed.clear()


def _loop(member: Member, stop: threading.Event, pause: float) -> None:
    while not stop.is_set():
        member.step()
        stop.wait(member.rng.uniform(0, 2 * pause))  # pacing between operations, not synchronisation


def run(users: list[dict[str, Any]], seed: int) -> None:
    """``users``: ``{"user", "room", "owner", "notebook_file", "url", "key"}`` each; owners come first."""
    rng = random.Random(seed)
    members: dict[str, Member] = {}
    churns: list[Churn] = []
    for user in users:
        room = nbrealtime.connect(user["room"], user=user["user"], url=user["url"], key=user["key"], idle_after=3600)
        if user["owner"]:
            room.settings(open_to="signed_in", role="editor")
            room.share_notebook(user["notebook_file"], name=NOTEBOOK)
            churns.append(Churn(room, user["url"], user["key"]))
        members[user["user"]] = Member(room, random.Random(rng.random()))
    emit({"ready": [{"user": n, "id": m.room.me.id, "room": m.room.name} for n, m in members.items()]})
    stop = threading.Event()
    threads: list[threading.Thread] = []
    for line in sys.stdin:
        command = json.loads(line)
        if command["do"] == "go":
            for member in members.values():
                member.peers = [i for i in command["rooms"][member.room.name] if i != member.room.me.id]
                _wait_roster(member.room, set(member.peers), time.monotonic() + 120)
            for name, member in members.items():
                threads.append(threading.Thread(target=_loop, args=(member, stop, command["pause"]), name=name))
            threads += [threading.Thread(target=churn.run, args=(stop,), name="churn") for churn in churns]
            for thread in threads:
                thread.start()
            emit({"done": "go"})
        elif command["do"] == "stop":
            stop.set()
            for thread in threads:
                thread.join(120)
            emit({
                "done": "stop",
                "writes": {n: m.writes() for n, m in members.items()},
                "churn": {
                    "ops": dict(sum((c.ops for c in churns), Counter())),
                    "failures": [f for c in churns for f in c.failures],
                    "violations": [v for c in churns for v in c.violations],
                },
            })  # fmt: skip
        elif command["do"] == "heard":
            deadline = time.monotonic() + command["settle"]
            for name, member in members.items():
                mine = command["expect"].get(name, {"messages": [], "notes": []})
                member.wait_heard(mine["messages"], mine["notes"], deadline)
            emit({
                "done": "heard",
                "heard": {n: {"messages": dict(m.heard_messages), "notes": dict(m.heard_notes)}
                          for n, m in members.items()},
            })  # fmt: skip
        elif command["do"] == "replicas":
            emit({"done": "replicas", "replicas": {n: m.replica() for n, m in members.items()}})
        elif command["do"] == "close":
            for member in members.values():
                try:
                    member.room.close()
                except Exception as error:
                    print(f"close failed: {error}", file=sys.stderr)
            emit({"done": "close"})
            return


if __name__ == "__main__":
    run(json.loads(sys.argv[1]), int(sys.argv[2]))
