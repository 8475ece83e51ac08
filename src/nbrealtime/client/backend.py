"""Which backend to talk to: explicit arguments, then ``SUPABASE_URL``/``SUPABASE_ANON_KEY``, then the embedded server.

When nothing is configured and no embedded server answers, one is started as a detached process, so that
``nbrealtime.connect("demo")`` works on a fresh machine with nothing set up.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from nbrealtime.client.diagnose import check_url
from nbrealtime.discovery import LOCK_FILE, DiscoveryInfo, default_data_dir, read_discovery
from nbrealtime.errors import ConnectionFailed
from nbrealtime.launcher import ServerProcess, ServerStartError, start_server

__all__ = ["Backend", "answers", "ensure_embedded_server", "resolve_backend"]

DEFAULT_PORT = 54321


@dataclass(frozen=True)
class Backend:
    url: str
    key: str
    embedded: bool
    data_dir: Path | None = None


def answers(info: DiscoveryInfo) -> bool:
    """Whether the server a discovery file names is up (its pid may be stale after a crash)."""
    try:
        return httpx.get(f"{info.url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _server_holds_lock(data_dir: Path) -> bool:
    """Whether a server process holds the data dir (it may still be starting)."""
    try:
        with open(data_dir / LOCK_FILE, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def _wait_for_running(data_dir: Path, timeout: float = 20) -> DiscoveryInfo | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = read_discovery(data_dir)
        if info is not None and answers(info):
            return info
        if not _server_holds_lock(data_dir):
            return None
        time.sleep(0.05)
    return None


def ensure_embedded_server(data_dir: Path, *, detached: bool) -> tuple[DiscoveryInfo, ServerProcess | None]:
    """The embedded server of ``data_dir``: the running one, or a new one (returned too, so its owner can stop it).

    A detached server outlives this process (a kernel starting it for other notebooks); an attached one is a child.
    """
    info = read_discovery(data_dir)
    if info is not None and answers(info):
        return info, None
    port = DEFAULT_PORT if info is None else int(info.url.rsplit(":", 1)[1])
    try:
        process = start_server(data_dir, ["--port", str(port)], detached=detached)
    except ServerStartError:
        # Another process may have won the race to start it; else the port is taken by something else.
        running = _wait_for_running(data_dir)
        if running is not None:
            return running, None
        process = start_server(data_dir, ["--port", "0"], detached=detached)
    return process.info, process


def resolve_backend(url: str | None = None, key: str | None = None, *, data_dir: Path | None = None) -> Backend:
    """Find the backend as the docstring of this module says; start the embedded server if needed."""
    url = url or os.environ.get("SUPABASE_URL")
    key = key or os.environ.get("SUPABASE_ANON_KEY")
    if url or key:
        if not (url and key):
            given = "SUPABASE_URL / url=" if url else "SUPABASE_ANON_KEY / key="
            raise ConnectionFailed(f"only {given} is set: give both the project URL and its anon key, or neither")
        return Backend(check_url(url), key, embedded=False)
    data_dir = data_dir or default_data_dir()
    info, started = ensure_embedded_server(data_dir, detached=True)
    if started is not None:
        print(
            f"nbrealtime: started the embedded server at {info.url} (pid {info.pid}, data in {data_dir}). "
            f"It keeps running for other notebooks; stop it with `kill {info.pid}`.",
            file=sys.stderr,
        )
    return Backend(info.url, info.anon_key, embedded=True, data_dir=data_dir)
