"""Settings of one embedded server process."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Compat", "Limits", "ServerConfig"]


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
class Compat:
    """How closely realtime mimics hosted Supabase (``docs/compat-hosted.md``).

    ``strict`` (the default) checks every change event against the subscriber's filter and row policy, DELETEs
    included.  ``hosted`` reproduces what hosted Supabase sends: DELETE events unfiltered and unchecked, carrying
    only the primary key, to every subscriber of the table; and no change event reaches a subscription during its
    first ``subscribe_gap`` seconds after SUBSCRIBED (realtime-js #525).
    """

    mode: str = "strict"
    subscribe_gap: float = 0.0

    @property
    def hosted(self) -> bool:
        return self.mode == "hosted"

    @classmethod
    def from_cli(cls, mode: str, subscribe_gap_ms: int) -> Compat:
        """``--compat`` and ``--subscribe-gap-ms`` (a window only hosted mode has)."""
        return cls(mode, max(0, subscribe_gap_ms) / 1000 if mode == "hosted" else 0.0)


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 54321
    compat: Compat = field(default_factory=Compat)
    data_dir: Path = field(default_factory=Path.cwd)
    schema_file: Path | None = None
    limits: Limits = field(default_factory=Limits)
    access_token_lifetime: int = 3600
    # Supabase projects have anonymous sign-ins off until enabled; off here, the server answers as such a project does.
    anonymous_sign_ins: bool = True

    @property
    def database_path(self) -> Path:
        return self.data_dir / "nbrealtime.sqlite3"
