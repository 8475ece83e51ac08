"""Shared pieces of the benchmarks: clock, statistics, worker processes, the server under test, the report.

Every measurement takes timestamps from ``CLOCK_MONOTONIC`` (``now_ns``), which all processes on this machine share,
so a send time taken in one process and a receive time taken in another can be subtracted.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import multiprocessing
import multiprocessing.connection
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
SCHEMA_FILE = BENCH_DIR / "bench_schema.toml"
SPAWN = multiprocessing.get_context("spawn")
# The realtime server allows 500 messages per second per connection (Supabase's default). The fan-out benchmark
# sends faster than that from one connection, so the server under test runs with a higher limit; nothing else differs.
SERVER_ARGS = ("--port", "0", "--max-messages-per-second", "100000", "--schema", str(SCHEMA_FILE))


def now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Summary:
    p50: float
    p99: float
    count: int
    lost: int = 0
    p90: float = float("nan")
    max: float = float("nan")

    @classmethod
    def of(cls, values_ms: Sequence[float], lost: int = 0) -> Summary:
        return cls(
            percentile(values_ms, 50),
            percentile(values_ms, 99),
            len(values_ms),
            lost,
            percentile(values_ms, 90),
            max(values_ms, default=float("nan")),
        )


def fmt_ms(value: float) -> str:
    if value != value:  # NaN
        return "—"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_ratio(value: float) -> str:
    if value != value or value == float("inf"):
        return "—"
    return f"{value:.2f}×" if value < 0.1 else f"{value:.1f}×"


def raise_fd_limit() -> None:
    """1,000 sockets need more than the usual soft limit of 1,024 descriptors (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 20_000 if hard == resource.RLIM_INFINITY else min(hard, 20_000)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` from /proc (KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


# ---------------------------------------------------------------------------------------------- worker processes


class Worker:
    """A function run in a fresh (spawned) Python process, talking to us over a pipe.

    The function gets the child's end of the pipe and its keyword arguments; by convention it sends ``"ready"``, waits
    for ``"go"``, and finally sends its result. Every wait here is bounded.
    """

    def __init__(self, function: Callable[..., None], /, **kwargs: Any) -> None:
        self.pipe, child = SPAWN.Pipe()
        self.process = SPAWN.Process(target=_worker_main, args=(function, child, kwargs), daemon=True)
        self.process.start()
        child.close()

    def expect(self, timeout: float) -> Any:
        if not self.pipe.poll(timeout):
            raise TimeoutError(f"worker {self.process.pid} sent nothing within {timeout} s")
        message = self.pipe.recv()
        if isinstance(message, dict) and "error" in message:
            raise RuntimeError(f"worker {self.process.pid} failed:\n{message['error']}")
        return message

    def send(self, message: Any) -> None:
        self.pipe.send(message)

    def stop(self, timeout: float = 10) -> None:
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.pipe.close()


def _worker_main(target: Callable[..., None], pipe: multiprocessing.connection.Connection, kwargs: dict) -> None:
    import traceback

    try:
        target(pipe, **kwargs)
    except BaseException:
        with contextlib.suppress(Exception):
            pipe.send({"error": traceback.format_exc()})


def all_expect(workers: Sequence[Worker], timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    return [worker.expect(max(0.1, deadline - time.monotonic())) for worker in workers]


@contextlib.contextmanager
def workers_stopped(workers: list[Worker]) -> Iterator[list[Worker]]:
    try:
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def wait_go(pipe: multiprocessing.connection.Connection, timeout: float = 120) -> Any:
    if not pipe.poll(timeout):
        raise TimeoutError("no go from the bench")
    return pipe.recv()


# ---------------------------------------------------------------------------------------------- server under test


@dataclass
class BenchServer:
    """``nbrealtime serve`` on a free loopback port, in a temp data dir; kernels' identities in another temp dir."""

    process: Any
    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def anon_key(self) -> str:
        return self.process.anon_key

    @property
    def service_key(self) -> str:
        return self.process.service_role_key

    @property
    def pid(self) -> int:
        return self.process.process.pid

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/realtime/v1/websocket"


def open_room(server: BenchServer, name: str) -> None:
    """Create room ``name`` open to everyone signed in, as editors: rooms are invite-only, and a benchmark's kernels
    join in no particular order (as the test suite's ``create_open_room``)."""
    import httpx

    headers = {"apikey": server.service_key, "Authorization": f"Bearer {server.service_key}"}
    body = {"name": name, "open_to": "signed_in", "open_role": "editor"}
    httpx.post(f"{server.url}/rest/v1/nbrt_rooms", json=body, headers=headers, timeout=30).raise_for_status()


@contextlib.contextmanager
def bench_server() -> Iterator[BenchServer]:
    from nbrealtime.launcher import start_server

    root = Path(tempfile.mkdtemp(prefix="nbrt-bench-"))
    kernels = root / "kernels"
    kernels.mkdir()
    previous = os.environ.get("NBREALTIME_DATA_DIR")
    os.environ["NBREALTIME_DATA_DIR"] = str(kernels)  # spawned kernels sign in here, never in the user's data dir
    process = start_server(root / "server", SERVER_ARGS, timeout=30)
    try:
        yield BenchServer(process, root)
    finally:
        # Put it back: a caller in the same process (the test suite's later notebooks) must not inherit a dead dir.
        if previous is None:
            os.environ.pop("NBREALTIME_DATA_DIR", None)
        else:
            os.environ["NBREALTIME_DATA_DIR"] = previous
        with contextlib.suppress(Exception):
            process.stop(10)
        with contextlib.suppress(Exception):
            process.kill()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- report


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_header() -> list[str]:
    cpu = "unknown cpu"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    packages = [
        "nbrealtime",
        "pycrdt",
        "pycrdt-websocket",
        "websockets",
        "uvicorn",
        "starlette",
        "realtime",
        "orjson",
        "asyncpg",
        "jupyterlab",
        "jupyter-collaboration",
        "playwright",
    ]
    postgres = "not found"
    with contextlib.suppress(Exception):
        import subprocess

        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        postgres = subprocess.run([f"{bindir}/postgres", "--version"], capture_output=True, text=True).stdout.strip()
    from nbrealtime.server import process

    loop = f"{process._LOOP} {_version(process._LOOP)}" if process._LOOP != "asyncio" else "asyncio"
    http = f"{process._HTTP} {_version(process._HTTP)}"
    return [
        f"date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"machine: {platform.node() or 'host'} — {os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, "
        f"{platform.system()} {platform.release()}",
        f"python: {sys.version.split()[0]} ({platform.python_implementation()}), "
        f"server loop: {loop}, HTTP parser: {http}",
        "versions: " + ", ".join(f"{name} {_version(name)}" for name in packages) + f", {postgres}, {_chromium()}",
    ]


def _chromium() -> str:
    import subprocess

    with contextlib.suppress(Exception):
        return subprocess.run(["chromium", "--version"], capture_output=True, text=True, timeout=20).stdout.strip()
    return "Chromium not found"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table (also readable in a terminal)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)
