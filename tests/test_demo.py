"""The one-command demo: JupyterLab on the quickstart notebook, with the embedded server started by the extension."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from nbrealtime.discovery import read_discovery

STARTUP = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)  # polling a condition that has no event to wait on (another process's startup)
    raise AssertionError(f"timed out waiting for {what}")


def lab_answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/lab", timeout=2).status_code in (200, 302, 403)
    except httpx.HTTPError:
        return False


def is_gone(pid: int) -> bool:
    """Exited (a zombie not yet reaped by whoever adopted it counts as exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


# Who the stop reaches: the demo process alone, its process group (a terminal's Ctrl+C), or JupyterLab itself.
STOPS = [
    ("demo", signal.SIGINT),
    ("demo", signal.SIGTERM),
    ("ctrl-c", signal.SIGINT),
    ("jupyterlab", signal.SIGTERM),
    ("jupyterlab", signal.SIGINT),
]


@pytest.mark.parametrize(("target", "signum"), STOPS, ids=[f"{target}-{signum.name}" for target, signum in STOPS])
def test_demo_runs_jupyterlab_with_the_embedded_server_and_every_stop_stops_both(
    tmp_path: Path, target: str, signum: signal.Signals
) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "NBREALTIME_DATA_DIR": str(data_dir), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    env.pop("SUPABASE_URL", None)
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "nbrealtime", "demo", "--no-browser", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group, as in a terminal: killpg is what Ctrl+C does
    )
    try:
        wait_until(lambda: lab_answers(port), STARTUP, "JupyterLab to answer")
        info = wait_until(lambda: read_discovery(data_dir), 30, "the embedded server's discovery file")
        assert httpx.get(f"{info.url}/health", timeout=5).json()["status"] == "ok"
        listing = httpx.get(f"http://127.0.0.1:{port}/api/contents", timeout=5)
        assert listing.status_code in (200, 403)  # up; the token protects the API
        (lab,) = [child for child in children(demo.pid) if b"jupyter" in Path(f"/proc/{child}/cmdline").read_bytes()]
        assert info.pid in children(lab), "the extension started the server as JupyterLab's child"
        if target == "demo":
            os.kill(demo.pid, signum)
        elif target == "ctrl-c":
            os.killpg(demo.pid, signum)
        else:
            os.kill(lab, signum)
        output = demo.communicate(timeout=60)[0]
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.communicate()
    assert demo.returncode == 0, output
    assert "nbrealtime demo: JupyterLab on" in output and "01-quickstart.ipynb" in output
    assert "http://127.0.0.1:" in output, "JupyterLab printed its URL"
    assert is_gone(lab), "JupyterLab stopped"
    wait_until(lambda: is_gone(info.pid), 10, "the embedded server to exit")  # adopted by init once JupyterLab left
    assert read_discovery(data_dir) is None, "the embedded server stopped cleanly (it removes its discovery file)"
