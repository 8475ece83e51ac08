"""Where the reader kernels of §1 (kernel to kernel) spend their time: py-spy on every reader process of one run.

    python bench/profile_readers.py --collaborators 10 --edits 500

Runs one nbrealtime latency measurement (``edit_latency.measure``), records the reader processes with
``py-spy record --format raw`` (stacks that end waiting are left out: the shares are of the time a reader was busy), and
sorts each sampled stack into the first category whose marker it contains. Prints the table and the run's p50.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from common import bench_server, fmt_ms
from edit_latency import RATE, measure

# First match wins: the markers are function names as py-spy prints them ("name (file.py:line)").
CATEGORIES = (
    ("realtime-py: pydantic validate_json", ("validate_json",)),
    ("debug repr (logging f-strings)", ("__repr__", "__repr_str__", "__repr_args__", "display_as_type")),
    ("callback hand-off to the dispatcher", ("_submit (", "fire (")),
    ("shared cell: decode + apply_update", ("apply_update (", "unb64 (", "b64decode (")),
    ("shared cell: other on_remote", ("on_remote (", "_dispatch_cells (")),
    ("user callback (text read, record)", ("callbacks.py:",)),
    ("websocket receive", ("websockets/",)),
)


# A stack whose innermost frame is one of these is a thread waiting (py-spy's own idle detection misses them here).
IDLE = (".select (selectors.py", "Condition.wait (threading.py", "wait (multiprocessing/connection.py", "_worker (")


def categorise(raw: str) -> Counter[str]:
    shares: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit() or any(marker in stack.rsplit(";", 1)[-1] for marker in IDLE):
            continue
        name = next((n for n, markers in CATEGORIES if any(m in stack for m in markers)), "other")
        shares[name] += int(count)
    return shares


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collaborators", type=int, default=10)
    parser.add_argument("--edits", type=int, default=500)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    args = parser.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="nbrt-profile-"))
    spies: list[subprocess.Popen[bytes]] = []

    def attach(pids: list[int]) -> None:
        for pid in pids:
            command = ["py-spy", "record", "--pid", str(pid), "--rate", str(args.rate), "--format", "raw",
                       "--duration", str(int(args.edits / RATE) + 3), "--output", str(out / f"{pid}.txt")]  # fmt: skip
            spies.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    try:
        with bench_server() as server:
            result = measure("nbrealtime", args.collaborators, args.edits, server, on_readers=attach)
    finally:
        for spy in spies:
            try:
                spy.wait(60)
            except subprocess.TimeoutExpired:
                spy.kill()
    shares: Counter[str] = Counter()
    for path in out.glob("*.txt"):
        shares += categorise(path.read_text())
    total = sum(shares.values()) or 1
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    summary = result.summary
    print(f"nbrealtime kernel to kernel, N = {args.collaborators}, {args.edits} edits: p50 {fmt_ms(summary.p50)} ms, "
          f"p99 {fmt_ms(summary.p99)} ms; load average {load}")  # fmt: skip
    print(f"{'where the readers were busy':<40}{'samples':>9}{'share':>8}")
    for name, count in shares.most_common():
        print(f"{name:<40}{count:>9}{count / total:>8.1%}")
    print(f"{'total (busy samples)':<40}{total:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
