"""The server the kernel-side suites run against, once per realtime mode: ``strict`` (the embedded server's own
checks) and ``hosted`` (hosted Supabase's quirks, ``docs/compat-hosted.md``) — nothing the kernel shows may depend
on the embedded server's extra strictness.  ``tests/client`` and ``tests/features`` import it in their conftest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nbrealtime.launcher import ServerProcess, start_server

__all__ = ["server"]

MODES = {"strict": ["--compat", "strict"], "hosted": ["--compat", "hosted", "--subscribe-gap-ms", "500"]}


@pytest.fixture(params=sorted(MODES))
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    """A fresh server per test in each mode; stopped (SIGTERM) afterwards."""
    process = start_server(tmp_path / "server", ["--port", "0", *MODES[request.param]])
    yield process
    process.stop()
