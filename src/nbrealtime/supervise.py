"""Running a child (JupyterLab for ``nbrealtime demo``) so that every way of stopping us stops it cleanly.

A terminal's Ctrl+C, a SIGINT or a SIGTERM sent to this process alone all become one SIGTERM to the child, which then
shuts down as it chooses to (JupyterLab stops the embedded server its extension started). The child runs in its own
session, so it hears about a stop only from us, once; were it killed outright instead, the servers it started would be
left re-parented to PID 1. A second stop signal, for the impatient, kills the child's whole process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

__all__ = ["run_supervised"]

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run_supervised(command: Sequence[str], cwd: Path) -> int:
    """Run ``command`` until it exits and return its exit code, or 0 if it stopped because we were asked to stop."""
    child = subprocess.Popen(command, cwd=cwd, start_new_session=True)
    received: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if child.poll() is not None:
            return
        if len(received) == 1:
            child.terminate()
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)

    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED}
    try:
        code = child.wait()  # the handler runs between waits; waitpid resumes after it (PEP 475)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0 if received else code
