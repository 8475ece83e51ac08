"""Fixtures of the reliability suite: kernels pointed at a test server, peers and rooms that are always cleaned up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import nbrealtime
from nbrealtime.launcher import ServerProcess
from tests.client.support import Peer


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process as a notebook kernel with its own data dir (identities) and no hosted backend configured."""
    data_dir = tmp_path / "kernel"
    monkeypatch.setenv("NBREALTIME_DATA_DIR", str(data_dir))
    monkeypatch.delenv("SUPABASE_URL", raising=False)
    monkeypatch.delenv("SUPABASE_ANON_KEY", raising=False)
    return data_dir


@pytest.fixture
def env(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point this process and its peers at the test server through its discovery file, as a notebook would be."""
    variables = {"NBREALTIME_DATA_DIR": str(server.data_dir)}
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SUPABASE_URL", raising=False)
    monkeypatch.delenv("SUPABASE_ANON_KEY", raising=False)
    return variables


@pytest.fixture
def peers() -> Iterator[list[Peer]]:
    started: list[Peer] = []
    yield started
    for peer in started:
        peer.kill()


@pytest.fixture
def rooms() -> Iterator[list[nbrealtime.Room]]:
    opened: list[nbrealtime.Room] = []
    yield opened
    for room in opened:
        room.close()
