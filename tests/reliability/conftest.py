"""Fixtures of the reliability suite: kernels pointed at a test server, peers and rooms that are always cleaned up."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process as a notebook kernel with its own data dir (identities) and no hosted backend configured."""
    data_dir = tmp_path / "kernel"
    monkeypatch.setenv("NBREALTIME_DATA_DIR", str(data_dir))
    monkeypatch.delenv("SUPABASE_URL", raising=False)
    monkeypatch.delenv("SUPABASE_ANON_KEY", raising=False)
    return data_dir
