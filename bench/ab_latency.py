"""Interleaved A/B of §1 (kernel to kernel) between source trees: which change moved the latency and the readers' CPU.

    python bench/ab_latency.py --tree before=/path/to/old/checkout --tree after=. --collaborators 10 --rounds 3

Each round runs one nbrealtime measurement per tree, alternating, each in a fresh process whose ``PYTHONPATH`` puts
that tree's ``src`` first (the server and every kernel it spawns inherit it), so the trees meet the same machine
load in turn. The load moves p50 and p99 between rounds; the readers' CPU per delivered edit far less.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def one_run(collaborators: int, edits: int) -> dict[str, float]:
    from common import bench_server
    from edit_latency import measure

    with bench_server() as server:
        result = measure("nbrealtime", collaborators, edits, server)
    s = result.summary
    return {"p50": s.p50, "p99": s.p99, "lost": s.lost, "cpu": result.reader_cpu_us, "load": os.getloadavg()[0]}


def _run_in(tree: Path, collaborators: int, edits: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree / "src"), str(HERE), str(HERE.parent)])}
    code = f"import json, ab_latency; print(json.dumps(ab_latency.one_run({collaborators}, {edits})))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"the run with {tree} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH of a checkout (repeat)")
    parser.add_argument("--collaborators", type=int, default=10)
    parser.add_argument("--edits", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    trees = [(name, Path(path).resolve()) for name, _, path in (t.partition("=") for t in args.tree)]
    print(f"N = {args.collaborators}, {args.edits} edits, {args.rounds} rounds")
    print(f"{'round':<6}{'tree':<12}{'p50 ms':>8}{'p99 ms':>8}{'lost':>6}{'reader CPU µs/edit':>20}{'load':>6}")
    for round_ in range(1, args.rounds + 1):
        for name, tree in trees:
            r = _run_in(tree, args.collaborators, args.edits)
            print(f"{round_:<6}{name:<12}{r['p50']:>8.2f}{r['p99']:>8.2f}{r['lost']:>6}{r['cpu']:>20.0f}"
                  f"{r['load']:>6.2f}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
