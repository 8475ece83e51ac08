"""Starting and stopping ``nbrealtime serve`` as a child process.

Used by ``nbrealtime.connect()`` (to start a detached server when none answers), by the test suite and by the
benchmarks. It talks to the server only through its command line and discovery file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nbrealtime.discovery import DiscoveryInfo, read_discovery
from nbrealtime.errors import ConnectionFailed

__all__ = ["ServerProcess", "ServerStartError", "start_server"]

LOG_FILE = "server.log"


class ServerStartError(ConnectionFailed):
    """The server did not come up; the message carries the end of its log. A ``ConnectionFailed``: ``connect()``
    with no backend configured starts one, and that is how it fails."""


@dataclass
class ServerProcess:
    """A running ``nbrealtime serve`` child."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    info: DiscoveryInfo
    args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.info.url

    @property
    def anon_key(self) -> str:
        return self.info.anon_key

    @property
    def service_role_key(self) -> str:
        return self.info.service_role_key

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM and wait: the server shuts down cleanly."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to clean up (for fault tests)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def restart(self, timeout: float = 20) -> ServerProcess:
        """Start again on the same data dir and port (after :meth:`stop` or :meth:`kill`)."""
        args = list(self.args)
        if "--port" in args:
            args[args.index("--port") + 1] = str(self.port)
        return start_server(self.data_dir, args, timeout=timeout)


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_server(
    data_dir: Path,
    args: Sequence[str] = ("--port", "0"),
    *,
    timeout: float = 20,
    detached: bool = False,
) -> ServerProcess:
    """Start ``nbrealtime serve --data-dir DATA_DIR ARGS`` and wait until its discovery file names it.

    ``detached`` starts it in its own session so it outlives this process (what ``connect()`` wants); its output
    goes to ``server.log`` in the data dir either way.
    """
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_path = data_dir / LOG_FILE
    command = [sys.executable, "-m", "nbrealtime", "serve", "--data-dir", str(data_dir), *args]
    # The server prints its keys: its log is as private as the key file.
    with os.fdopen(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
        os.chmod(log_path, 0o600)
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=detached,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = read_discovery(data_dir)
        if info is not None and info.pid == process.pid:
            return ServerProcess(process, data_dir, info, list(args))
        if process.poll() is not None:
            raise ServerStartError(f"nbrealtime serve exited with {process.returncode}:\n{_log_tail(log_path)}")
        time.sleep(0.02)
    process.kill()
    raise ServerStartError(f"nbrealtime serve did not start within {timeout} s:\n{_log_tail(log_path)}")
