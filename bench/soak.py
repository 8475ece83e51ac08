"""Soak under faults: every feature at once for N minutes while a nemesis breaks things, then an accounting.

    python bench/soak.py --clients 12 --rooms 3 --minutes 30 --seed 1          # with the nemesis
    python bench/soak.py --clients 12 --minutes 3 --no-faults                   # a healthy server only

Members (``nbrealtime.connect``, several per worker process: ``soak_worker.py``) send acknowledged messages, notify
each other, update presence, mark notifications read, append to a shared cell, add cells to a shared notebook,
insert and update rows of a live table; each room's owner keeps inviting a guest, removing it and revoking an
invite. The clients reach the embedded server through a loopback TCP proxy; the nemesis (``nemesis.py``) kills and
restarts the server (same port and data dir), SIGSTOPs worker processes and resets every connection.

At the end: every acknowledged write is present exactly once (notification rows on the server and at their
recipient, cell and notebook tokens, table rows and their last values), every replica of a room converged with a
fresh reader's, no operation failed and no message was lost outside a fault's window, no removed guest could send
and no revoked invite let anyone in; server and worker RSS, first vs last window; the table of faults injected.
Exit status 1 if any of that fails.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from nemesis import KINDS, Nemesis, StatusLog
from soak_lab import LabReplica
from soak_report import RssLog, report

ROOT = Path(__file__).resolve().parents[1]
ROOM_PREFIX = "soak-"
SETTLE_SECONDS = 60.0
SAMPLE_EVERY = 5.0
NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class Worker:
    """A ``soak_worker.py`` process; its status lines go to the status log, everything else to the inbox."""

    def __init__(self, users: list[dict[str, Any]], seed: int, env: dict[str, str], status: StatusLog) -> None:
        self.users = [user["user"] for user in users]
        self.status = status
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "soak_worker.py"), json.dumps(users), str(seed)],
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
            document = json.loads(line)
            if "status" in document:
                self.status.add(document["status"], document["state"], document["t"])
            else:
                self.inbox.put(document)
        self.inbox.put({"exited": self.process.wait()})

    def send(self, **command: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def expect(self, key: str, value: Any = None, timeout: float = 300) -> dict[str, Any]:
        answer = self.inbox.get(timeout=timeout)
        if "exited" in answer:
            raise RuntimeError(f"worker {self.process.pid} exited with {answer['exited']}")
        assert key in answer and (value is None or answer[key] == value), answer
        return answer

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


# ---------------------------------------------------------------------------------------------------- the run


def start_workers(args: argparse.Namespace, url: str, key: str, env: dict[str, str], notebook_file: Path,
                  status: StatusLog) -> tuple[list[Worker], dict[str, str]]:  # fmt: skip
    """Owners (one per room, all in the first worker) join first and open their rooms; then everyone else."""
    common = {"url": url, "key": key, "notebook_file": str(notebook_file)}
    owners = [{"user": f"owner{r}", "room": f"{ROOM_PREFIX}{r}", "owner": True, **common} for r in range(args.rooms)]
    members = [
        {"user": f"soak{i:02d}", "room": f"{ROOM_PREFIX}{i % args.rooms}", "owner": False, **common}
        for i in range(args.clients)
    ]
    count = max(1, min(args.processes, args.clients))
    shares = [members[i::count] for i in range(count)]
    workers = [Worker(owners + shares[0], args.seed, env, status)]
    ready = [workers[0].expect("ready", timeout=300)["ready"]]
    workers += [Worker(share, args.seed + i, env, status) for i, share in enumerate(shares[1:], start=1)]
    ready += [w.expect("ready", timeout=300)["ready"] for w in workers[1:]]
    user_room = {entry["user"]: entry["room"] for entries in ready for entry in entries}
    ids = {entry["user"]: entry["id"] for entries in ready for entry in entries}
    return workers, {"rooms": user_room, **{f"id:{u}": i for u, i in ids.items()}}


def main_run(args: argparse.Namespace) -> int:
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    from tests.reliability.support import TcpProxy

    from nbrealtime.launcher import start_server

    load_start = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="nbrealtime-soak-"))
    (root / "kernels").mkdir()
    notebook_file = root / "soak.ipynb"
    notebook_file.write_text(json.dumps(NOTEBOOK))
    if args.trace_memory:
        os.environ["NBREALTIME_TRACEMALLOC"] = str(args.trace_memory)  # see src/nbrealtime/server/memtrace.py
    server = start_server(root / "server", ("--port", "0", "--max-messages-per-second", "100000"), timeout=60)
    proxy = TcpProxy(server.port)
    env = {"NBREALTIME_DATA_DIR": str(root / "kernels"), "SUPABASE_URL": "", "SUPABASE_ANON_KEY": ""}
    status = StatusLog()
    workers: list[Worker] = []
    nemesis: Nemesis | None = None
    lab: LabReplica | None = None
    log(f"soak: {args.clients} members + {args.rooms} owners in {args.processes} processes, data in {root}")
    try:
        workers, directory = start_workers(args, proxy.url, server.anon_key, env, notebook_file, status)
        user_room: dict[str, str] = directory["rooms"]
        user_id = {u: directory[f"id:{u}"] for u in user_room}
        rooms: dict[str, list[str]] = defaultdict(list)
        for user, room in user_room.items():
            rooms[room].append(user_id[user])
        if not args.no_jupyter:
            lab = LabReplica(root / "lab", server, f"{ROOM_PREFIX}0", "soak.ipynb")
            log(f"JupyterLab {lab.lab.url} holds {lab.room}'s notebook at {lab.lab.root}")
        started = time.monotonic()
        duration = args.minutes * 60
        nemesis = Nemesis(lab=lab, kinds=tuple(args.faults.split(",")),
            seed=args.seed, every=args.fault_every, server=server, proxy=proxy, status=status, log=log,
            workers={w.process.pid: w.users for w in workers},
            server_until=started + duration * args.server_faults_until,
        )  # fmt: skip
        rss = RssLog(started)
        for w in workers:
            w.send(do="go", rooms=rooms, pause=args.pause)
        for w in workers:
            w.expect("done", "go")
        log("go")
        if not args.no_faults:
            nemesis.start(until=started + duration - min(60.0, duration * 0.15))
        while (elapsed := time.monotonic() - started) < duration:
            time.sleep(min(SAMPLE_EVERY, duration - elapsed))  # sampling cadence of the load run
            rss.sample(nemesis.server.process.pid, [w.process.pid for w in workers])
            if args.trace_memory and len(rss.server) % round(args.trace_every / SAMPLE_EVERY) == 0:
                os.kill(nemesis.server.process.pid, signal.SIGUSR2)
        nemesis.stop()
        server = nemesis.server
        if not status.wait_all_connected(list(user_room), 120):
            log("not every member connected at the end")
        for w in workers:
            w.send(do="stop")
        writes: dict[str, Any] = {}
        churn: dict[str, Any] = {"ops": Counter(), "failures": [], "violations": []}
        for w in workers:
            stopped = w.expect("done", "stop")
            writes.update(stopped["writes"])
            churn["ops"].update(stopped["churn"]["ops"])
            churn["failures"] += stopped["churn"]["failures"]
            churn["violations"] += stopped["churn"]["violations"]
        ran_for = time.monotonic() - started
        log("stopped; settling")

        expected, excused_losses = expected_deliveries(writes, user_room, {i: u for u, i in user_id.items()}, nemesis)
        for w in workers:
            w.send(do="heard", settle=SETTLE_SECONDS, expect={u: expected[u] for u in w.users})
        heard: dict[str, Any] = {}
        for w in workers:
            heard.update(w.expect("done", "heard", timeout=SETTLE_SECONDS + 120)["heard"])
        replicas = converged_replicas(workers, server, rooms, lab)
        rows = notification_rows(server)
        rss.sample(server.process.pid, [w.process.pid for w in workers])
        if args.trace_memory:
            os.kill(server.process.pid, signal.SIGUSR2)
            log(f"memory traces in {server.data_dir / 'server.log'}")
    finally:
        if lab is not None:
            lab.stop()
        for w in workers:
            try:
                w.send(do="close")
                w.expect("done", "close", timeout=60)
            except Exception:
                w.kill()
            w.kill()
        proxy.close()
        (nemesis.server if nemesis else server).stop()
    load_end = os.getloadavg()
    return report(args, ran_for, writes, churn, expected, excused_losses, heard, replicas, rows, nemesis, rss,
                  user_room, user_id, (load_start, load_end))  # fmt: skip


def expected_deliveries(writes: dict[str, Any], user_room: dict[str, str], id_user: dict[str, str],
                        nemesis: Nemesis) -> tuple[dict[str, dict[str, list[str]]], dict[str, set[str]]]:  # fmt: skip
    """What each member must have heard: every acked message of another member of its room unless a fault's
    window (for that receiver) overlaps the send, and every acked notification addressed to it."""
    expected: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"messages": [], "notes": []})
    excused: dict[str, set[str]] = defaultdict(set)
    for sender, written in writes.items():
        for mid, sent, acked in written["messages"]:
            for receiver, room in user_room.items():
                if room != user_room[sender] or receiver == sender:
                    continue
                if nemesis.excused(receiver, sent, acked):
                    excused[receiver].add(mid)
                else:
                    expected[receiver]["messages"].append(mid)
        for recipient, row_id, _title in written["notes"]:
            expected[id_user[recipient]]["notes"].append(row_id)
    return expected, excused


def converged_replicas(workers: list[Worker], server: Any, rooms: dict[str, list[str]], lab: LabReplica | None
                       ) -> dict[str, Any]:  # fmt: skip
    """Ask every member (and the Jupyter server's file) for its replicas until each room's agree with a fresh
    reader's, or SETTLE_SECONDS pass. The documents' names are those of ``soak_worker.py``."""
    import nbrealtime

    readers = {
        room: nbrealtime.connect(room, user="soak-auditor", url=server.url, key=server.anon_key, idle_after=3600)
        for room in rooms
    }
    try:
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            members: dict[str, Any] = {}
            for w in workers:
                w.send(do="replicas")
            for w in workers:
                members.update(w.expect("done", "replicas", timeout=120)["replicas"])
            fresh = {}
            for room, reader in readers.items():
                cell, table, notebook = reader.cell("soak"), reader.collection("soak"), reader.notebook("soak.ipynb")
                fresh[room] = {
                    "cell": cell.text,
                    "notebook": [c.get("source", "") for c in notebook.content.get("cells", [])],
                    "table": {str(r["id"]): [r.get("token"), r.get("n")] for r in table.rows},
                }
            settled = all(r["pending"] == 0 and r["unsettled_handles"] == 0 for r in members.values())
            on_disk = lab.cells() if lab is not None else None
            lab_agrees = lab is None or on_disk == fresh[lab.room]["notebook"]
            if (settled and lab_agrees and _all_agree(members, fresh)) or time.monotonic() > deadline:
                return {"members": members, "fresh": fresh, "lab": on_disk, "lab_room": lab and lab.room,
                        "lab_kept_aside": lab and lab.kept_aside()}  # fmt: skip
            time.sleep(2.0)  # polling cadence while replicas settle (bounded by the deadline)
    finally:
        for reader in readers.values():
            reader.close()


def _all_agree(members: dict[str, Any], fresh: dict[str, Any]) -> bool:
    return all(
        any(all(r[k] == f[k] for k in ("cell", "notebook", "table")) for f in fresh.values()) for r in members.values()
    )


def notification_rows(server: Any) -> list[dict[str, Any]]:
    import httpx

    headers = {"apikey": server.service_role_key, "Authorization": f"Bearer {server.service_role_key}"}
    response = httpx.get(
        f"{server.url}/rest/v1/nbrt_notifications?select=id,recipient,title&room=like.{ROOM_PREFIX}*",
        headers=headers,
        timeout=120,
    )
    response.raise_for_status()
    return response.json()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=12, help="members besides the rooms' owners")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--processes", type=int, default=3, help="worker processes hosting the members")
    parser.add_argument("--rooms", type=int, default=3)
    parser.add_argument("--pause", type=float, default=1.0, help="mean seconds between one member's operations")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-faults", action="store_true", help="no nemesis: a healthy server all along")
    parser.add_argument("--no-jupyter", action="store_true", help="no JupyterLab with the bridge")
    parser.add_argument("--faults", default=",".join(KINDS), help=f"which kinds, comma-separated ({','.join(KINDS)})")
    parser.add_argument("--fault-every", type=float, default=30.0, help="mean seconds between faults")
    parser.add_argument("--server-faults-until", type=float, default=0.5,
                        help="server kills only in this first fraction of the run (the last server's RSS is "
                        "then compared over a long life)")  # fmt: skip
    parser.add_argument(
        "--trace-memory",
        type=int,
        default=0,
        metavar="FRAMES",
        help="run the server with tracemalloc (FRAMES deep) and log what grew every --trace-every s",
    )
    parser.add_argument("--trace-every", type=float, default=60.0)
    return main_run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
