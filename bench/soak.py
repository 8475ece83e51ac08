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
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from nemesis import Nemesis, StatusLog
from soak_lab import LabReplica

ROOT = Path(__file__).resolve().parents[1]
ROOM_PREFIX = "soak-"
SETTLE_SECONDS = 60.0
SAMPLE_EVERY = 5.0
WARM_UP = 60.0  # a fresh server's RSS climbs in its first minute: windows start after it
SERVER_GROWTH_BOUND_KIB = 4096  # "flat": the last window's mean RSS within 4 MiB of the first's
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


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class RssLog:
    """RSS of the server (whichever incarnation is up) and of each worker, every SAMPLE_EVERY seconds."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.server: list[tuple[float, int, int]] = []  # (t, pid, KiB)
        self.workers: dict[int, list[tuple[float, int]]] = defaultdict(list)

    def sample(self, server_pid: int, worker_pids: list[int]) -> None:
        t = time.monotonic() - self.started
        kib = rss_kib(server_pid)
        if kib is not None:
            self.server.append((t, server_pid, kib))
        for pid in worker_pids:
            kib = rss_kib(pid)
            if kib is not None:
                self.workers[pid].append((t, kib))


def window_growth(samples: list[tuple[float, int]], window: float) -> tuple[float, float] | None:
    """Mean KiB of the first ``window`` seconds after WARM_UP and of the last ``window`` seconds."""
    if not samples:
        return None
    begin = samples[0][0] + WARM_UP
    first = [kib for t, kib in samples if begin <= t < begin + window]
    last = [kib for t, kib in samples if t >= samples[-1][0] - window]
    if not first or not last or samples[-1][0] - window < begin + window / 2:
        return None
    return statistics.fmean(first), statistics.fmean(last)


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
        nemesis = Nemesis(lab=lab,
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
                return {"members": members, "fresh": fresh, "lab": on_disk, "lab_kept_aside": lab and lab.kept_aside()}
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


# ---------------------------------------------------------------------------------------------------- accounting


def report(args: argparse.Namespace, ran_for: float, writes: dict[str, Any], churn: dict[str, Any],
           expected: dict[str, Any], excused_losses: dict[str, set[str]], heard: dict[str, Any],
           replicas: dict[str, Any], rows: list[dict[str, Any]], nemesis: Nemesis, rss: RssLog,
           user_room: dict[str, str], user_id: dict[str, str], load: tuple[tuple[float, ...], ...]
           ) -> int:  # fmt: skip
    problems: list[str] = []
    lines = [
        "",
        f"nbrealtime soak{'' if args.no_faults else ' under faults'}: {args.clients} members + {args.rooms} owners "
        f"in {args.processes} processes, {args.rooms} rooms, {ran_for / 60:.1f} min (pause ~{args.pause} s, "
        f"seed {args.seed}); load average {' '.join(f'{x:.2f}' for x in load[0])} at start, "
        f"{' '.join(f'{x:.2f}' for x in load[1])} at end",
    ]

    # Operations and failures, inside / outside the fault windows.
    ops: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    failed_outside: Counter[str] = Counter()
    samples: list[str] = []
    attributed: Counter[str] = Counter()
    for user, written in writes.items():
        ops.update(written["ops"])
        for operation, start, end, error in written["failures"]:
            failed[operation] += 1
            fault = nemesis.excused(user, start, end)
            if fault is None:
                failed_outside[operation] += 1
                samples.append(f"{user} {operation} at {start - rss.started:.1f} s: {error}")
            else:
                attributed[fault.kind] += 1
    ops.update(churn["ops"])
    for operation, start, end, error, owner in churn["failures"]:
        failed[operation] += 1
        if nemesis.excused(owner, start, end) is None:
            failed_outside[operation] += 1
            samples.append(f"{owner} {operation} at {start - rss.started:.1f} s: {error}")
    lines += ["", f"{'operation':<28}{'done':>8}{'failed':>8}{'outside faults':>16}"]
    for name in sorted(set(ops) | set(failed)):
        lines.append(f"{name:<28}{ops[name]:>8}{failed[name]:>8}{failed_outside[name]:>16}")
    lines.append(f"{'total':<28}{sum(ops.values()):>8}{sum(failed.values()):>8}{sum(failed_outside.values()):>16}"
                 f"   ({sum(ops.values()) / ran_for:.1f} op/s)")  # fmt: skip
    if failed_outside:
        problems.append(f"{sum(failed_outside.values())} operations failed outside the fault windows")

    # Messages.
    lost = dup = delivered = lost_excused = 0
    sent_at = {mid: (sent, acked) for w in writes.values() for mid, sent, acked in w["messages"]}
    for user, wanted in expected.items():
        got = heard.get(user, {"messages": {}})["messages"]
        for mid in wanted["messages"]:
            delivered += got.get(mid, 0) >= 1
            lost += got.get(mid, 0) == 0
            if got.get(mid, 0) == 0:
                sent, acked = sent_at[mid]
                samples.append(f"{user} never heard {mid} (sent {sent - rss.started:.2f} s, acked after "
                               f"{(acked - sent) * 1000:.0f} ms)")  # fmt: skip
    for user, got in heard.items():
        dup += sum(count - 1 for count in got["messages"].values() if count > 1)
        lost_excused += sum(1 for mid in excused_losses.get(user, ()) if got["messages"].get(mid, 0) == 0)
    excused_total = sum(len(s) for s in excused_losses.values())
    lines += [
        "",
        f"{'write':<34}{'acked':>8}{'present':>9}{'lost':>6}{'dup':>6}",
        f"{'messages (receivers, healthy)':<34}{sum(len(w['messages']) for w in expected.values()):>8}"
        f"{delivered:>9}{lost:>6}{dup:>6}   in fault windows: {excused_total} due, {lost_excused} missed",
    ]
    if lost or dup:
        problems.append(f"messages: {lost} lost outside fault windows, {dup} duplicated")

    # Notifications: rows on the server, and at their recipients.
    acked = {row_id: (recipient, title) for w in writes.values() for recipient, row_id, title in w["notes"]}
    unacked_titles = {title for w in writes.values() for title in w["unacked_titles"]}
    server_ids = Counter(row["id"] for row in rows)
    rows_missing = sum(1 for row_id in acked if server_ids[row_id] == 0)
    rows_dup = sum(count - 1 for count in server_ids.values() if count > 1)
    unexplained = [row for row in rows if row["id"] not in acked and row["title"] not in unacked_titles]
    id_user = {i: u for u, i in user_id.items()}
    heard_missing = heard_dup = 0
    for row_id, (recipient, _title) in acked.items():
        count = heard.get(id_user.get(recipient, ""), {"notes": {}})["notes"].get(row_id, 0)
        heard_missing += count == 0
        heard_dup += max(0, count - 1)
    lines += [
        f"{'notification rows (server)':<34}{len(acked):>8}{len(acked) - rows_missing:>9}{rows_missing:>6}"
        f"{rows_dup:>6}   rows of failed calls: {len(rows) - len(acked) - len(unexplained)}, unexplained: "
        f"{len(unexplained)}",
        f"{'notifications (recipients)':<34}{len(acked):>8}{len(acked) - heard_missing:>9}{heard_missing:>6}"
        f"{heard_dup:>6}",
    ]
    if rows_missing or rows_dup or unexplained or heard_missing or heard_dup:
        problems.append("notifications lost, duplicated or unexplained")

    # Shared cells, notebooks, tables: every replica converged; every token exactly once.
    lines += _documents(writes, replicas, user_room, problems)

    # The Jupyter server's file.
    if not args.no_jupyter:
        on_disk, room_cells = replicas["lab"] or [], replicas["fresh"][f"{ROOM_PREFIX}0"]["notebook"]
        doubled = sum(n - 1 for n in Counter(on_disk).values() if n > 1)
        agrees = on_disk == room_cells
        lines.append(f"Jupyter server (bridge, {ROOM_PREFIX}0): {len(on_disk)} cells on disk, the room has "
                     f"{len(room_cells)}; equal: {'yes' if agrees else 'NO'}; doubled: {doubled}; kept aside: "
                     f"{replicas['lab_kept_aside'] or 'none'}")  # fmt: skip
        if not agrees or doubled:
            problems.append("the Jupyter server's notebook file differs from the room's")
        if replicas["lab_kept_aside"]:
            problems.append(f"the Jupyter server kept its file aside as diverged {len(replicas['lab_kept_aside'])}"
                            " time(s) (the room's notebook reopened in its place)")  # fmt: skip

    # Guests.
    lines += ["", f"guest cycles: {churn['ops'].get('remove', 0)} removals, {churn['ops'].get('revoke', 0)} "
              f"revoked invites; security violations: {len(churn['violations'])}"]  # fmt: skip
    problems += churn["violations"]

    lines += _faults_table(nemesis, rss.started, attributed, args.no_faults)
    lines += _memory(rss, ran_for, nemesis, problems)
    if samples:
        lines += ["", "failures and losses outside fault windows (first 8):", *(f"  {s[:240]}" for s in samples[:8])]
    lines += ["", "result: " + ("OK" if not problems else "FAILED — " + "; ".join(problems))]
    print("\n".join(lines))
    return 1 if problems else 0


def _documents(writes: dict[str, Any], replicas: dict[str, Any], user_room: dict[str, str],
               problems: list[str]) -> list[str]:  # fmt: skip
    lines = []
    totals: dict[str, list[int]] = {k: [0, 0, 0, 0] for k in ("cell tokens", "notebook cells", "table rows")}
    diverged = 0
    for room, fresh in replicas["fresh"].items():
        users = [u for u, r in user_room.items() if r == room]
        for user in users:
            mine = replicas["members"].get(user)
            if mine is None or any(mine[k] != fresh[k] for k in ("cell", "notebook", "table")):
                diverged += 1
        cell = Counter(fresh["cell"].split("|")[:-1])
        notebook = Counter(fresh["notebook"])
        for kind, present, written in (
            ("cell tokens", cell, [t for u in users for t in writes[u]["cell_tokens"]]),
            ("notebook cells", notebook, [t for u in users for t in writes[u]["notebook_tokens"]]),
        ):
            totals[kind][0] += len(written)
            totals[kind][1] += sum(1 for t in written if present[t] >= 1)
            totals[kind][2] += sum(1 for t in written if present[t] == 0)
            totals[kind][3] += sum(present[t] - 1 for t in written if present[t] > 1)
        for user in users:
            for key, n in writes[user]["rows"].items():
                row = fresh["table"].get(key)
                totals["table rows"][0] += 1
                totals["table rows"][1] += row is not None and row[1] == n
                totals["table rows"][2] += row is None or row[1] != n
    for kind, (written, present, missing, duplicated) in totals.items():
        lines.append(f"{kind + ' (fresh reader)':<34}{written:>8}{present:>9}{missing:>6}{duplicated:>6}")
        if missing or duplicated:
            problems.append(f"{kind}: {missing} missing or stale, {duplicated} duplicated")
    pending = {u: r["pending"] for u, r in replicas["members"].items() if r["pending"] or r["unsettled_handles"]}
    failed = [f for r in replicas["members"].values() for f in r["failed_handles"]]
    lines.append(f"replicas: {len(replicas['members'])} members' copies of {len(replicas['fresh'])} rooms "
                 f"(cell, notebook, table); diverged from a fresh reader: {diverged}; unsaved writes: "
                 f"{sum(pending.values())}; failed table writes: {len(failed)}")  # fmt: skip
    if diverged or pending or failed:
        problems.append(f"{diverged} replicas diverged, {len(pending)} with unsaved writes, {len(failed)} failed")
    return lines


def _faults_table(nemesis: Nemesis, started: float, attributed: Counter[str], off: bool) -> list[str]:
    if off:
        return ["", "faults: none (--no-faults)"]
    lines = ["", f"{'#':>3} {'at s':>7}  {'fault':<17}{'target':<34}{'lifted s':>9}{'healed s':>9}  note"]
    for number, fault in enumerate(nemesis.faults, start=1):
        lines.append(
            f"{number:>3} {fault.start - started:>7.1f}  {fault.kind:<17}{fault.target:<34}"
            f"{fault.end - fault.start:>9.1f}{fault.healed - fault.end:>9.1f}  {fault.note}"
        )
    kinds = Counter(fault.kind for fault in nemesis.faults)
    lines.append("faults: " + ", ".join(f"{k} × {n}" for k, n in sorted(kinds.items())) +
                 "; failed operations inside their windows: " +
                 (", ".join(f"{k} {n}" for k, n in sorted(attributed.items())) or "none"))  # fmt: skip
    return lines


def _memory(rss: RssLog, ran_for: float, nemesis: Nemesis, problems: list[str]) -> list[str]:
    window = min(600.0, ran_for / 3)
    lines = ["", f"RSS, mean of the first {window:.0f} s (after a {WARM_UP:.0f} s warm-up) vs the last {window:.0f} s:"]
    incarnations: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for t, pid, kib in rss.server:
        incarnations[pid].append((t, kib))
    longest = max(incarnations.values(), key=lambda s: s[-1][0] - s[0][0], default=[])
    for pid, samples in incarnations.items():
        growth = window_growth(samples, window)
        span = f"{samples[0][0]:.0f}–{samples[-1][0]:.0f} s"
        if growth is None:
            lines.append(f"  server pid {pid} ({span}): too short to compare")
            continue
        first, last = growth
        lines.append(f"  server pid {pid} ({span}): {first / 1024:.1f} → {last / 1024:.1f} MiB "
                     f"({(last - first) / 1024:+.1f})")  # fmt: skip
        if samples is longest and last - first > SERVER_GROWTH_BOUND_KIB:
            problems.append(
                f"server RSS grew {(last - first) / 1024:.1f} MiB (bound {SERVER_GROWTH_BOUND_KIB // 1024})"
            )
    if longest:
        curve = "  ".join(f"{t:.0f}s {kib / 1024:.1f}" for t, kib in _thin(longest, 10))
        lines.append(f"  longest-lived server, MiB over time (the last sample after the final read-back): {curve}")
    for pid, samples in rss.workers.items():
        growth = window_growth(samples, window)
        if growth is not None:
            first, last = growth
            lines.append(f"  worker pid {pid} ({len(nemesis.workers.get(pid, []))} members): "
                         f"{first / 1024:.1f} → {last / 1024:.1f} MiB ({(last - first) / 1024:+.1f})")  # fmt: skip
    lines.append(f"  (server bound: +{SERVER_GROWTH_BOUND_KIB // 1024} MiB on the longest-lived server; workers hold "
                 "every replica, which grows with what is written: reported, not bounded)")  # fmt: skip
    return lines


def _thin(samples: list[tuple[float, int]], count: int) -> list[tuple[float, int]]:
    if len(samples) <= count:
        return samples
    step = (len(samples) - 1) / (count - 1)
    return [samples[round(i * step)] for i in range(count)]


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
