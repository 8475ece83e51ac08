"""A throwaway PostgreSQL cluster for tests, and the parts of Supabase that nbrealtime's migration relies on.

The cluster runs Debian's server binaries (``pg_config --bindir``) from a temp dir on a free loopback port.  PostgreSQL
refuses to run as root, so under root it runs as the ``postgres`` user (``runuser``).  SQL goes through ``psql``, so
the tests need no Python driver.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SUPABASE_STUB_SQL", "PostgresCluster", "PostgresUnavailable", "SqlError", "find_bindir"]

REQUIRED_MAJOR = 15

SUPABASE_STUB_SQL = """
-- What a Supabase project has before any migration runs, as Supabase defines it.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;
create or replace function auth.uid() returns uuid language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
create or replace function auth.role() returns text language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
create or replace function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;
create publication supabase_realtime;
-- Supabase Realtime's authorization table and topic function (private channels), as Realtime's migrations create them.
create schema if not exists realtime;
grant usage on schema realtime to anon, authenticated, service_role;
create table realtime.messages (
  id uuid not null default gen_random_uuid(),
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp without time zone not null default now(),
  inserted_at timestamp without time zone not null default now(),
  primary key (id)
);
alter table realtime.messages enable row level security;
grant select, insert, update on realtime.messages to anon, authenticated, service_role;
create or replace function realtime.topic() returns text language sql stable as $$
  select nullif(current_setting('realtime.topic', true), '')::text
$$;
grant execute on function realtime.topic() to anon, authenticated, service_role;
"""


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are missing or too old; the message says how to install them."""


class SqlError(RuntimeError):
    """``psql`` failed; carries PostgreSQL's message."""

    def __init__(self, message: str, stderr: str) -> None:
        super().__init__(message)
        self.stderr = stderr


def find_bindir() -> Path:
    """The server binaries' directory, as ``pg_config --bindir`` reports it, checked to be PostgreSQL 15 or newer."""
    hint = "install Debian's postgresql-15 (apt-get install -y postgresql-15)"
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        raise PostgresUnavailable(f"pg_config not found on PATH: {hint}")
    bindir = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip())
    for program in ("initdb", "pg_ctl", "postgres", "psql", "pg_isready"):
        if not (bindir / program).exists():
            raise PostgresUnavailable(f"{bindir / program} not found (pg_config --bindir): {hint}")
    version = subprocess.run([bindir / "postgres", "--version"], capture_output=True, text=True, check=True).stdout
    major = int(version.split()[-1].split(".")[0])
    if major < REQUIRED_MAJOR:
        raise PostgresUnavailable(f"{version.strip()} is older than PostgreSQL {REQUIRED_MAJOR}: {hint}")
    return bindir


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresCluster:
    """A running cluster; ``psql()`` runs SQL in one of its databases as the superuser ``postgres``."""

    bindir: Path
    root: Path
    port: int

    @classmethod
    def start(cls, *, durable: bool = False) -> PostgresCluster:
        """initdb (no fsync) into a fresh temp dir and start the server; ``pg_ctl -w`` returns once it accepts.

        The server runs without fsync unless ``durable`` (fsync, full-page writes and synchronous commit on: what a
        benchmark compares with a store that fsyncs every commit)."""
        bindir = find_bindir()
        root = Path(tempfile.mkdtemp(prefix="nbrt-pg-"))
        cluster = cls(bindir, root, _free_port())
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        try:
            cluster._as_owner("initdb", "--no-sync", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "-D")
            sync = "on" if durable else "off"
            options = (
                f"-c listen_addresses=127.0.0.1 -p {cluster.port} -k {root} -c fsync={sync} -c full_page_writes={sync}"
                f" -c synchronous_commit={sync} -c wal_level=logical"
            )
            cluster._as_owner("pg_ctl", "-w", "-t", "60", "-l", str(root / "server.log"), "-o", options, "start", "-D")
            ready = subprocess.run(
                [bindir / "pg_isready", "-h", "127.0.0.1", "-p", str(cluster.port), "-t", "30"],
                capture_output=True,
                text=True,
            )
            if ready.returncode != 0:
                raise PostgresUnavailable(f"PostgreSQL did not become ready: {ready.stdout}{cluster.log_tail()}")
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _as_owner(self, program: str, *args: str) -> None:
        """Run a server program on the data dir (appended last) as the cluster's owner."""
        command = [str(self.bindir / program), *args, str(self.root / "data")]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{program} failed: {result.stdout}{result.stderr}{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        log = self.root / "server.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""

    def stop(self) -> None:
        """Stop the server (fast, nothing to keep) and remove its directory."""
        if (self.root / "data" / "postmaster.pid").exists():
            self._as_owner("pg_ctl", "-w", "-m", "immediate", "stop", "-D")
        shutil.rmtree(self.root, ignore_errors=True)

    def psql(self, sql: str, *, database: str = "postgres", extra: Sequence[str] = ()) -> str:
        """Run ``sql`` (stopping at the first error) and return its unaligned output; raise :class:`SqlError`."""
        result = self.try_psql(sql, database=database, extra=extra)
        if result.returncode != 0:
            raise SqlError(f"psql failed ({result.returncode}): {result.stderr.strip()}", result.stderr)
        return result.stdout

    def try_psql(
        self, sql: str, *, database: str = "postgres", extra: Sequence[str] = ()
    ) -> subprocess.CompletedProcess[str]:
        """Like :meth:`psql` but returns the finished process, for callers that expect errors."""
        command = [
            str(self.bindir / "psql"),
            *("-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"),
            *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database),
            *extra,
        ]
        env = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}  # no "skipping" notices
        return subprocess.run(command, input=sql, capture_output=True, text=True, timeout=60, env=env)

    def create_database(self, name: str, *, supabase: bool = True) -> str:
        """A fresh database, with Supabase's roles, ``auth`` functions and publication unless ``supabase=False``."""
        self.psql(f"create database {name} template template0")
        if supabase:
            self.psql(SUPABASE_STUB_SQL, database=name)
        return name
