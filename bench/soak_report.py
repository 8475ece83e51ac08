"""The soak's accounting: what was acknowledged against what every replica holds, failures and losses against the
fault windows, the faults injected, and RSS first vs last window. Prints the report; returns the exit status."""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from nemesis import Nemesis

WARM_UP = 60.0  # a fresh server's RSS climbs in its first minute: windows start after it
SERVER_GROWTH_BOUND_KIB = 4096  # "flat": the last window's mean RSS within 4 MiB of the first's


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
        on_disk, room_cells = replicas["lab"] or [], replicas["fresh"][replicas["lab_room"]]["notebook"]
        doubled = sum(n - 1 for n in Counter(on_disk).values() if n > 1)
        agrees = on_disk == room_cells
        lines.append(f"Jupyter server (bridge, {replicas['lab_room']}): {len(on_disk)} cells on disk, the room has "
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
