"""Soak: N minutes of random operations from many clients against one embedded server, then an accounting.

    python bench/soak.py --clients 50 --minutes 10

The clients are real rooms (``nbrealtime.connect``), several per worker subprocess so that 50 fit on two cores.
Each one loops over random operations — broadcast a message, notify another member (a row write), update its
presence, mark a notification read — with a random pause. A probe connection in this process round-trips a
broadcast to itself twice a second to measure latency drift; the server's RSS is sampled all along.

At the end every message and notification is accounted for: each broadcast must have reached every other member
of its room exactly once, each notification row must exist exactly once on the server and have reached its
recipient exactly once. The report is a table on stdout; the exit status is 1 if anything was lost or duplicated.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ROOM_PREFIX = "soak-"
OPERATIONS = (("send", 0.45), ("notify", 0.25), ("presence", 0.2), ("mark_read", 0.1))
SETTLE_SECONDS = 30.0


# ---------------------------------------------------------------------------------------------------- worker


def _emit(lock: threading.Lock, document: dict[str, Any]) -> None:
    with lock:
        sys.stdout.write(json.dumps(document) + "\n")
        sys.stdout.flush()


class _Client:
    """One room connection in a worker and what it sent and heard."""

    def __init__(self, room: Any, rng: random.Random) -> None:
        self.room = room
        self.rng = rng
        self.sent_messages: list[str] = []
        self.sent_notes: list[tuple[str, str]] = []
        self.heard_messages: Counter[str] = Counter()
        self.heard_notes: Counter[str] = Counter()
        self.ops: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.error_samples: list[str] = []
        self.peers: list[str] = []
        self.arrived = threading.Condition()
        room.on("soak", self._on_message)
        room.notifications.on_new(self._on_note)

    def _on_message(self, payload: Any, _sender: Any) -> None:
        with self.arrived:
            self.heard_messages[payload["mid"]] += 1
            self.arrived.notify_all()

    def _on_note(self, notification: Any) -> None:
        with self.arrived:
            self.heard_notes[notification.id] += 1
            self.arrived.notify_all()

    def step(self, seq: int) -> None:
        operation = self.rng.choices([name for name, _ in OPERATIONS], [weight for _, weight in OPERATIONS])[0]
        me = self.room.me
        try:
            if operation == "send":
                mid = f"{me.name}:{seq}"
                self.room.send("soak", {"mid": mid, "pad": "x" * self.rng.randint(0, 400)})
                self.sent_messages.append(mid)
            elif operation == "notify" and self.peers:
                recipient = self.rng.choice(self.peers)
                for row_id in self.room.notify(recipient, f"{me.name}:{seq}", "soak"):
                    self.sent_notes.append((recipient, row_id))
            elif operation == "presence":
                self.room.presence.update(
                    cell=f"cell-{self.rng.randint(1, 5)}", activity=self.rng.choice(["edit", "run"])
                )
            elif operation == "mark_read":
                unread = self.room.notifications.unread
                if unread:
                    self.room.notifications.mark_read(self.rng.choice(unread).id)
            self.ops[operation] += 1
        except Exception as error:
            self.errors[operation] += 1
            if len(self.error_samples) < 3:
                self.error_samples.append(f"{operation}: {type(error).__name__}: {error}"[:200])

    def wait_for(self, messages: list[str], notes: list[str], deadline: float) -> None:
        with self.arrived:
            while time.monotonic() < deadline and not (
                all(self.heard_messages[m] for m in messages) and all(self.heard_notes[n] for n in notes)
            ):
                self.arrived.wait(max(0.01, deadline - time.monotonic()))


def worker(users: list[tuple[str, str]], seed: int) -> None:
    """Run ``users`` ([(name, room)]) and obey main's commands on stdin."""
    import nbrealtime

    lock = threading.Lock()
    rng = random.Random(seed)
    clients: dict[str, _Client] = {}
    for name, room_name in users:
        room = nbrealtime.connect(room_name, user=name, idle_after=3600.0)
        clients[name] = _Client(room, random.Random(rng.random()))
    _emit(lock, {"ready": [{"user": n, "id": c.room.me.id, "room": c.room.name} for n, c in clients.items()]})
    stop = threading.Event()
    threads: list[threading.Thread] = []
    for line in sys.stdin:
        command = json.loads(line)
        if command["do"] == "go":
            for client in clients.values():
                client.peers = [i for i in command["rooms"][client.room.name] if i != client.room.me.id]
            for client in clients.values():
                _wait_roster(client.room, set(client.peers), time.monotonic() + 120)
            for name, client in clients.items():
                thread = threading.Thread(target=_loop, args=(client, stop, command["pause"]), name=name, daemon=True)
                thread.start()
                threads.append(thread)
            _emit(lock, {"done": "go"})
        elif command["do"] == "stop":
            stop.set()
            for thread in threads:
                thread.join(60)
            _emit(lock, {
                "done": "stop",
                "sent": {n: {"messages": c.sent_messages, "notes": c.sent_notes} for n, c in clients.items()},
                "ops": dict(sum((c.ops for c in clients.values()), Counter())),
                "errors": dict(sum((c.errors for c in clients.values()), Counter())),
                "samples": [s for c in clients.values() for s in c.error_samples][:5],
            })  # fmt: skip
        elif command["do"] == "count":
            deadline = time.monotonic() + command["settle"]
            expected = command["expect"]
            for name, client in clients.items():
                mine = expected.get(name, {"messages": [], "notes": []})
                client.wait_for(mine["messages"], mine["notes"], deadline)
            _emit(lock, {
                "done": "count",
                "heard": {n: {"messages": dict(c.heard_messages), "notes": dict(c.heard_notes)}
                          for n, c in clients.items()},
            })  # fmt: skip
        elif command["do"] == "close":
            for client in clients.values():
                try:
                    client.room.close()
                except Exception as error:
                    print(f"close failed: {error}", file=sys.stderr)
            _emit(lock, {"done": "close"})
            return


def _wait_roster(room: Any, ids: set[str], deadline: float) -> None:
    """Until everyone in the room is in this client's roster (notify() addresses members it knows)."""
    changed = threading.Event()
    room.presence.on_change(lambda _members: changed.set())
    while not ids <= {member.id for member in room.presence.members} and time.monotonic() < deadline:
        changed.wait(max(0.01, deadline - time.monotonic()))
        changed.clear()


def _loop(client: _Client, stop: threading.Event, pause: float) -> None:
    seq = 0
    while not stop.is_set():
        seq += 1
        client.step(seq)
        stop.wait(client.rng.uniform(0, 2 * pause))  # pacing between operations, not synchronisation


# ---------------------------------------------------------------------------------------------------- main side


class Worker:
    def __init__(self, users: list[tuple[str, str]], seed: int, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", json.dumps(users), "--seed", str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
            cwd=ROOT,
        )
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.inbox.put(json.loads(line))
        self.inbox.put({"exited": self.process.wait()})

    def send(self, **command: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def expect(self, key: str, value: Any = None, timeout: float = 180) -> dict[str, Any]:
        answer = self.inbox.get(timeout=timeout)
        if "exited" in answer:
            raise RuntimeError(f"a worker exited with {answer['exited']}")
        assert key in answer and (value is None or answer[key] == value), answer
        return answer

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Probe:
    """A raw realtime socket broadcasting to itself (``self: true``): the round trip is the latency."""

    def __init__(self, server: Any, started: float) -> None:
        import websockets.sync.client as ws_sync

        url = server.url.replace("http://", "ws://") + f"/realtime/v1/websocket?apikey={server.anon_key}&vsn=1.0.0"
        self.connection = ws_sync.connect(url)
        self.started = started
        self.samples: list[tuple[float, float]] = []
        self.failures = 0
        self._stop = threading.Event()
        self._push("phx_join", {"config": {"broadcast": {"self": True}}}, "1")
        self._until(lambda m: m.get("event") == "phx_reply")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _push(self, event: str, payload: Any, ref: str | None = None) -> None:
        frame = {"topic": "realtime:soak-probe", "event": event, "payload": payload, "ref": ref, "join_ref": "1"}
        self.connection.send(json.dumps(frame))

    def _until(self, predicate: Any, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.connection.recv(timeout=max(0.001, deadline - time.monotonic())))
            if predicate(message):
                return message

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(0.5):
            n += 1
            sent = time.monotonic()
            try:
                self._push("broadcast", {"type": "broadcast", "event": "probe", "payload": {"n": n}})
                self._until(lambda m, n=n: m.get("event") == "broadcast" and m["payload"]["payload"].get("n") == n)
                self.samples.append((sent - self.started, (time.monotonic() - sent) * 1000))
            except Exception:
                self.failures += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(15)
        self.connection.close()


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _server_rows(server: Any) -> list[dict[str, Any]]:
    import httpx

    headers = {"apikey": server.service_role_key, "Authorization": f"Bearer {server.service_role_key}"}
    response = httpx.get(
        f"{server.url}/rest/v1/nbrt_notifications?select=id,recipient&room=like.{ROOM_PREFIX}*",
        headers=headers,
        timeout=60,
    )
    response.raise_for_status()
    return response.json()


def main_run(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from nbrealtime.launcher import start_server

    data_dir = Path(tempfile.mkdtemp(prefix="nbrealtime-soak-"))
    server = start_server(data_dir / "server")
    env = {"NBREALTIME_DATA_DIR": str(server.data_dir), "SUPABASE_URL": "", "SUPABASE_ANON_KEY": ""}
    processes = max(1, min(args.processes, args.clients))
    users = [(f"soak{i:03d}", f"{ROOM_PREFIX}{i % args.rooms}") for i in range(args.clients)]
    shares = [users[i::processes] for i in range(processes)]
    workers: list[Worker] = []
    print(f"soak: starting {args.clients} clients in {processes} processes, {args.rooms} rooms ...", file=sys.stderr)
    try:
        workers = [Worker(share, args.seed + i, env) for i, share in enumerate(shares)]
        ready = [w.expect("ready", timeout=300)["ready"] for w in workers]
        rooms: dict[str, list[str]] = defaultdict(list)
        user_room: dict[str, str] = {}
        id_user: dict[str, str] = {}
        for entries in ready:
            for entry in entries:
                rooms[entry["room"]].append(entry["id"])
                user_room[entry["user"]] = entry["room"]
                id_user[entry["id"]] = entry["user"]
        started = time.monotonic()
        probe = Probe(server, started)
        rss = [(0.0, rss_kib(server.process.pid))]
        for w in workers:
            w.send(do="go", rooms=rooms, pause=args.pause)
        for w in workers:
            w.expect("done", "go")
        duration = args.minutes * 60
        interval = args.interval or min(60.0, duration / 4)
        while (elapsed := time.monotonic() - started) < duration:
            time.sleep(min(5.0, duration - elapsed))  # sampling cadence of the load run, not synchronisation
            rss.append((time.monotonic() - started, rss_kib(server.process.pid)))
        for w in workers:
            w.send(do="stop")
        stopped = [w.expect("done", "stop") for w in workers]
        ran_for = time.monotonic() - started
        probe.close()
        rss.append((time.monotonic() - started, rss_kib(server.process.pid)))

        # What each user must have heard.
        expected: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"messages": [], "notes": []})
        sent_messages: list[tuple[str, str]] = []
        sent_notes: list[tuple[str, str]] = []
        for report in stopped:
            for user, sent in report["sent"].items():
                for mid in sent["messages"]:
                    sent_messages.append((user, mid))
                    for other, room in user_room.items():
                        if room == user_room[user] and other != user:
                            expected[other]["messages"].append(mid)
                for recipient, row_id in sent["notes"]:
                    sent_notes.append((recipient, row_id))
                    expected[id_user[recipient]]["notes"].append(row_id)
        for w, share in zip(workers, shares, strict=True):
            w.send(do="count", settle=SETTLE_SECONDS, expect={user: expected[user] for user, _ in share})
        heard: dict[str, Any] = {}
        for w in workers:
            heard.update(w.expect("done", "count", timeout=SETTLE_SECONDS + 60)["heard"])
        rows = _server_rows(server)
        rss.append((time.monotonic() - started, rss_kib(server.process.pid)))
    finally:
        for w in workers:
            try:
                w.send(do="close")
                w.expect("done", "close", timeout=60)
            except Exception:
                w.kill()
            w.kill()
        server.stop()

    # ------------------------------------------------------------------------------------------------ accounting
    ops: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    samples: list[str] = []
    for report in stopped:
        ops.update(report["ops"])
        errors.update(report["errors"])
        samples.extend(report["samples"])
    lost_messages = dup_messages = delivered_messages = 0
    lost_notes = dup_notes = delivered_notes = 0
    for user, wanted in expected.items():
        got = heard.get(user, {"messages": {}, "notes": {}})
        for mid in wanted["messages"]:
            count = got["messages"].get(mid, 0)
            delivered_messages += min(count, 1)
            lost_messages += count == 0
            dup_messages += max(0, count - 1)
        for row_id in wanted["notes"]:
            count = got["notes"].get(row_id, 0)
            delivered_notes += min(count, 1)
            lost_notes += count == 0
            dup_notes += max(0, count - 1)
    expected_ids = Counter(row_id for _, row_id in sent_notes)
    server_ids = Counter(row["id"] for row in rows)
    rows_missing = sum(1 for row_id in expected_ids if server_ids[row_id] == 0)
    rows_duplicated = sum(max(0, server_ids[row_id] - 1) for row_id in server_ids)
    rows_unexpected = sum(1 for row_id in server_ids if row_id not in expected_ids)
    messages_expected = sum(len(w["messages"]) for w in expected.values())
    notes_expected = sum(len(w["notes"]) for w in expected.values())

    lines = [
        "",
        f"nbrealtime soak: {args.clients} clients in {processes} processes, {args.rooms} rooms, "
        f"{ran_for / 60:.1f} min of operations (pause ~{args.pause:.1f} s per client)",
        "",
        f"{'operation':<12}{'done':>9}{'errors':>9}",
    ]
    for name, _ in OPERATIONS:
        lines.append(f"{name:<12}{ops[name]:>9}{errors[name]:>9}")
    lines.append(
        f"{'total':<12}{sum(ops.values()):>9}{sum(errors.values()):>9}   ({sum(ops.values()) / ran_for:.1f} op/s)"
    )
    lines += [
        "",
        f"{'writes':<26}{'sent':>8}{'expected':>10}{'delivered':>11}{'lost':>7}{'dup':>6}",
        f"{'broadcast messages':<26}{len(sent_messages):>8}{messages_expected:>10}{delivered_messages:>11}"
        f"{lost_messages:>7}{dup_messages:>6}",
        f"{'notifications (receivers)':<26}{len(sent_notes):>8}{notes_expected:>10}{delivered_notes:>11}"
        f"{lost_notes:>7}{dup_notes:>6}",
        f"{'notification rows (server)':<26}{len(expected_ids):>8}{len(expected_ids):>10}{len(server_ids):>11}"
        f"{rows_missing:>7}{rows_duplicated:>6}   unexpected rows: {rows_unexpected}",
        "",
        "server RSS (MiB):  " + "  ".join(f"{t:>4.0f}s {kib / 1024:6.1f}" for t, kib in _thin(rss, 8)),
    ]
    middle = min(rss, key=lambda item: abs(item[0] - ran_for / 2))
    first, last = rss[0][1], rss[-1][1]
    lines.append(
        f"  start {first / 1024:.1f}  middle {middle[1] / 1024:.1f}  end {last / 1024:.1f}  "
        f"growth {(last - first) / 1024:+.1f} MiB ({(last - first) / max(first, 1) * 100:+.0f}%), "
        f"second half {(last - middle[1]) / 1024:+.1f} MiB"
    )
    lines += ["", "probe broadcast round trip (ms):", f"{'window':<14}{'n':>6}{'p50':>9}{'p99':>9}{'max':>9}"]
    windows = max(1, int(-(-ran_for // interval)))
    for index in range(windows):
        low, high = index * interval, (index + 1) * interval
        values = [ms for t, ms in probe.samples if low <= t < high]
        if values:
            lines.append(
                f"{f'{low:.0f}-{high:.0f}s':<14}{len(values):>6}{statistics.median(values):>9.1f}"
                f"{_percentile(values, 0.99):>9.1f}{max(values):>9.1f}"
            )
    lines.append(f"probe failures: {probe.failures}")
    if samples:
        lines += ["", "error samples:", *(f"  {sample}" for sample in samples)]
    ok = not (lost_messages or dup_messages or lost_notes or dup_notes or rows_missing or rows_duplicated)
    ok = ok and not rows_unexpected
    lines += ["", "result: " + ("OK — nothing lost, nothing duplicated" if ok else "FAILED — see the table above")]
    print("\n".join(lines))
    return 0 if ok else 1


def _thin(samples: list[tuple[float, int]], count: int) -> list[tuple[float, int]]:
    if len(samples) <= count:
        return samples
    step = (len(samples) - 1) / (count - 1)
    return [samples[round(i * step)] for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=5, help="worker processes hosting the clients")
    parser.add_argument("--rooms", type=int, default=5)
    parser.add_argument("--pause", type=float, default=2.0, help="mean seconds between one client's operations")
    parser.add_argument("--interval", type=float, default=0.0, help="latency window (default: min(60 s, run/4))")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker([tuple(pair) for pair in json.loads(args.worker)], args.seed)
        return 0
    return main_run(args)


if __name__ == "__main__":
    sys.exit(main())
