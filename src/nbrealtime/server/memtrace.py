"""Where the server's memory goes, for hunting RSS growth in long runs (``bench/soak.py --trace-memory``).

With ``NBREALTIME_TRACEMALLOC=N`` in its environment the server traces allocations (N frames each) and, on every
SIGUSR2, writes to its log the allocation sites and object types that grew most since the previous SIGUSR2. Off by
default: tracing slows every allocation.
"""

from __future__ import annotations

import gc
import os
import signal
import tracemalloc
from collections import Counter
from typing import IO, Any

ENV = "NBREALTIME_TRACEMALLOC"
TOP = 12
_IGNORED = (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap*"))


def install(out: IO[str]) -> None:
    """Start tracing and answer SIGUSR2 with a diff, if the environment asks for it."""
    frames = os.environ.get(ENV)
    if not frames:
        return
    tracemalloc.start(int(frames))
    state: dict[str, Any] = {"snapshot": tracemalloc.take_snapshot().filter_traces(_IGNORED), "types": _types()}

    def dump(_signum: int, _frame: Any) -> None:
        snapshot = tracemalloc.take_snapshot().filter_traces(_IGNORED)
        types = _types()
        current, peak = tracemalloc.get_traced_memory()
        lines = [f"memtrace: traced {current / 2**20:.2f} MiB (peak {peak / 2**20:.2f} MiB); grew most since last:"]
        for stat in snapshot.compare_to(state["snapshot"], "traceback")[:TOP]:
            if stat.size_diff <= 0:
                break
            grew = f"{stat.size_diff / 1024:+.1f} KiB ({stat.count_diff:+d} blocks)"
            lines.append(f"  {grew}, now {stat.size / 1024:.1f} KiB:")
            lines += [f"      {frame.filename}:{frame.lineno}" for frame in stat.traceback[-6:]]
        grown = Counter(types)
        grown.subtract(state["types"])
        counts = ", ".join(f"{name} {n:+d}" for name, n in grown.most_common(TOP))
        lines.append(f"memtrace: object counts that grew: {counts}")
        state.update(snapshot=snapshot, types=types)
        print("\n".join(lines), file=out, flush=True)

    signal.signal(signal.SIGUSR2, dump)


def _types() -> Counter[str]:
    return Counter(type(thing).__name__ for thing in gc.get_objects())
