"""The ``nbrealtime`` command: serve, keys, sql, demo."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from nbrealtime.discovery import default_data_dir, read_discovery

__all__ = ["main"]

DEFAULT_PORT = 54321


def _serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from nbrealtime.schema import SchemaError
    from nbrealtime.server.config import Compat, Limits, ServerConfig
    from nbrealtime.server.process import CannotServe, serve

    limits = Limits(
        max_payload_bytes=args.max_payload_kb * 1024,
        messages_per_second=args.max_messages_per_second,
        channels_per_connection=args.max_channels,
        presence_calls=args.max_presence_calls,
    )
    config = ServerConfig(
        host=args.host, port=args.port, data_dir=args.data_dir, schema_file=args.schema, limits=limits
    )
    try:
        compat = Compat.from_cli(args.compat, args.subscribe_gap_ms)
        serve(replace(config, compat=compat), allow_remote=args.allow_remote)
    except (CannotServe, SchemaError) as error:
        print(f"nbrealtime serve: {error}", file=sys.stderr)
        return 1
    return 0


def _keys(args: argparse.Namespace) -> int:
    from nbrealtime.server.keys import load_or_create_keys

    info = read_discovery(args.data_dir)
    keys = load_or_create_keys(args.data_dir)
    url = info.url if info else f"http://127.0.0.1:{DEFAULT_PORT}"
    print(f"SUPABASE_URL={url}")
    print(f"SUPABASE_ANON_KEY={keys.anon_key}")
    print(f"SUPABASE_SERVICE_ROLE_KEY={keys.service_role_key}")
    return 0


def _sql(args: argparse.Namespace) -> int:
    from nbrealtime.pgsql import migration_sql
    from nbrealtime.schema import BUILTIN_TABLES, SchemaError, load_schema_file

    try:
        user_tables = load_schema_file(args.schema) if args.schema is not None else []
    except SchemaError as error:
        print(f"nbrealtime sql: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(migration_sql([*BUILTIN_TABLES, *user_tables]))
    return 0


def _demo(args: argparse.Namespace) -> int:
    notebooks = (args.notebooks or _repo_notebooks()).resolve()
    quickstart = notebooks / "01-quickstart.ipynb"
    if not quickstart.exists():
        print(f"nbrealtime demo: no demo notebooks in {notebooks} (pass --notebooks DIR)", file=sys.stderr)
        return 1
    command = [
        sys.executable, "-m", "jupyter", "lab", "01-quickstart.ipynb",
        f"--ServerApp.root_dir={notebooks}",
        "--ServerApp.jpserver_extensions={'nbrealtime': True}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={args.port}",
    ]  # fmt: skip
    if args.no_browser:
        command.append("--no-browser")
    if os.geteuid() == 0:
        command.append("--allow-root")
    print(
        f"nbrealtime demo: JupyterLab on {quickstart}, with the embedded server started by the nbrealtime extension.\n"
        "Open the URL JupyterLab prints below; stop everything with Ctrl+C.",
        flush=True,
    )
    try:
        return subprocess.call(command, cwd=notebooks)
    except KeyboardInterrupt:
        return 0


def _repo_notebooks() -> Path:
    """The clone's ``notebooks/`` (editable install), else ``./notebooks``."""
    beside_package = Path(__file__).resolve().parents[2] / "notebooks"
    return beside_package if beside_package.is_dir() else Path.cwd() / "notebooks"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nbrealtime", description="Collaborative, live Jupyter notebooks.")
    commands = parser.add_subparsers(dest="command", required=True)
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the server keeps its database and keys (default: $NBREALTIME_DATA_DIR or the user data dir)",
    )

    serve = commands.add_parser("serve", parents=[data_dir], help="run the embedded Supabase-compatible server")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)")
    serve.add_argument("--schema", type=Path, default=None, help="TOML schema file declaring your own tables")
    serve.add_argument(
        "--compat",
        choices=("strict", "hosted"),
        default="strict",
        help="hosted: reproduce hosted Supabase's realtime quirks (docs/compat-hosted.md)",
    )
    serve.add_argument(
        "--subscribe-gap-ms",
        type=int,
        default=500,
        help="with --compat hosted: how long after SUBSCRIBED change events are lost",
    )
    serve.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    serve.add_argument("--max-payload-kb", type=int, default=3000, help="largest broadcast payload (KiB)")
    serve.add_argument("--max-messages-per-second", type=int, default=500, help="per connection")
    serve.add_argument("--max-channels", type=int, default=100, help="channels per connection")
    serve.add_argument("--max-presence-calls", type=int, default=5, help="presence calls per channel per 30 s")
    serve.set_defaults(handler=_serve)

    keys = commands.add_parser("keys", parents=[data_dir], help="print SUPABASE_URL and the API keys")
    keys.set_defaults(handler=_keys)

    sql = commands.add_parser(
        "sql", help="print the PostgreSQL migration (tables, RLS policies, realtime) that prepares a Supabase project"
    )
    sql.add_argument("--schema", type=Path, default=None, help="TOML schema file declaring your own tables")
    sql.set_defaults(handler=_sql)

    demo = commands.add_parser("demo", help="open JupyterLab on the demo notebooks with the embedded server running")
    demo.add_argument("--notebooks", type=Path, default=None, help="folder of the demo notebooks")
    demo.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    demo.add_argument("--no-browser", action="store_true", help="do not try to open a web browser")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "data_dir", None) is None:
        args.data_dir = default_data_dir()
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
