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


def test_demo_opens_jupyterlab_with_the_embedded_server(tmp_path: Path) -> None:
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
        start_new_session=True,
    )
    try:
        wait_until(lambda: lab_answers(port), STARTUP, "JupyterLab to answer")
        info = wait_until(lambda: read_discovery(data_dir), 30, "the embedded server's discovery file")
        assert httpx.get(f"{info.url}/health", timeout=5).json()["status"] == "ok"
        listing = httpx.get(f"http://127.0.0.1:{port}/api/contents", timeout=5)
        assert listing.status_code in (200, 403)  # up; the token protects the API
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        output = demo.communicate(timeout=60)[0]
    assert "nbrealtime demo: JupyterLab on" in output and "01-quickstart.ipynb" in output
    assert "http://127.0.0.1:" in output, "JupyterLab printed its URL"
    assert read_discovery(data_dir) is None, "the embedded server stopped with JupyterLab"
