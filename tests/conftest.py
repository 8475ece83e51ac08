"""Shared fixtures: a real ``nbrealtime serve`` subprocess on a free loopback port with a temp data dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import nbrealtime
from nbrealtime.launcher import ServerProcess, start_server
from tests.client.support import Peer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A fresh server per test; stopped (SIGTERM) afterwards."""
    process = start_server(tmp_path / "server")
    yield process
    process.stop()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[object]:
    """A factory for servers with extra command-line options: ``start("--max-channels", "2")``."""
    started: list[ServerProcess] = []

    def _start(*args: str, data_dir: Path | None = None) -> ServerProcess:
        process = start_server(data_dir or tmp_path / f"server{len(started)}", ["--port", "0", *args])
        started.append(process)
        return process

    yield _start
    for process in started:
        process.kill()


@pytest.fixture
async def client_factory(server: ServerProcess):
    """``await client_factory()`` → an official async supabase client on the test server, closed afterwards."""
    from supabase import acreate_client

    created = []

    async def _create(key: str | None = None, url: str | None = None):
        client = await acreate_client(url or server.url, key or server.anon_key)
        created.append(client)
        return client

    yield _create
    for client in created:
        await client.realtime.close()


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
    """Second kernels (subprocesses) started by a test; killed afterwards."""
    started: list[Peer] = []
    yield started
    for peer in started:
        peer.kill()


@pytest.fixture
def rooms() -> Iterator[list[nbrealtime.Room]]:
    """Rooms opened by a test; closed afterwards."""
    opened: list[nbrealtime.Room] = []
    yield opened
    for room in opened:
        room.close()
