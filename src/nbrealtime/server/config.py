"""Settings of one embedded server process."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Limits", "ServerConfig"]


@dataclass(frozen=True)
class Limits:
    """Per-connection limits. Defaults follow Supabase Realtime's so code tested here behaves the same there."""

    max_payload_bytes: int = 3_000 * 1024
    messages_per_second: int = 500
    channels_per_connection: int = 100
    presence_calls: int = 5
    presence_window_seconds: float = 30.0
    max_request_bytes: int = 10 * 1024 * 1024
    max_connections: int = 10_000


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 54321
    data_dir: Path = field(default_factory=Path.cwd)
    schema_file: Path | None = None
    limits: Limits = field(default_factory=Limits)
    access_token_lifetime: int = 3600
    # Supabase projects have anonymous sign-ins off until enabled; off here, the server answers as such a project does.
    anonymous_sign_ins: bool = True

    @property
    def database_path(self) -> Path:
        return self.data_dir / "nbrealtime.sqlite3"
