"""The ``nbrealtime`` command: serve, keys, sql, demo."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from nbrealtime.discovery import default_data_dir, read_discovery
from nbrealtime.supervise import run_supervised

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
    if args.jwt_expiry < MIN_JWT_EXPIRY:
        print(f"nbrealtime serve: --jwt-expiry must be at least {MIN_JWT_EXPIRY} seconds", file=sys.stderr)
        return 2
    config = ServerConfig(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        schema_file=args.schema,
        limits=limits,
        access_token_lifetime=args.jwt_expiry,
        anonymous_sign_ins=not args.no_anonymous_sign_ins,
    )
    try:
        compat = Compat.from_cli(args.compat, args.subscribe_gap_ms)
        serve(replace(config, compat=compat), allow_remote=args.allow_remote)
    except (CannotServe, SchemaError) as error:
        print(f"nbrealtime serve: {error}", file=sys.stderr)
        return 1
    return 0


def _keys(args: argparse.Namespace) -> int:
    from nbrealtime.client.backend import answers

    info = read_discovery(args.data_dir)
    if info is None or not answers(info):
        print(
            f"nbrealtime keys: no nbrealtime server is running for the data dir {args.data_dir}. "
            f"Start one with `nbrealtime serve --data-dir {args.data_dir}` (its keys are made on its first start).",
            file=sys.stderr,
        )
        return 1
    print(f"SUPABASE_URL={info.url}")
    print(f"SUPABASE_ANON_KEY={info.anon_key}")
    print(f"SUPABASE_SERVICE_ROLE_KEY={info.service_role_key}")
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
    token = secrets.token_hex(24)
    command = [
        sys.executable, "-m", "jupyter", "lab", "01-quickstart.ipynb",
        f"--IdentityProvider.token={token}",
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
    lab_url = f"http://127.0.0.1:{args.port}"
    threading.Thread(target=_live_notebook, args=(lab_url, token, default_data_dir()), daemon=True).start()
    return run_supervised(command, notebooks)


def _live_notebook(lab_url: str, token: str, data_dir: Path) -> None:
    """Once JupyterLab answers: the demo's shared notebook, with Ada in it (see ``demo.start_live_notebook``), on
    the embedded server that JupyterLab started (or the Supabase project it uses)."""
    from nbrealtime.demo import start_live_notebook

    deadline = time.monotonic() + LAB_START_SECONDS
    while not _answers(f"{lab_url}/api/status", token):
        if time.monotonic() > deadline:
            print("nbrealtime demo: JupyterLab did not answer; no live shared notebook this time", flush=True)
            return
        time.sleep(0.5)  # polling another process's startup
    url, key, info = os.environ.get("SUPABASE_URL"), os.environ.get("SUPABASE_ANON_KEY"), read_discovery(data_dir)
    if url and key:
        backend = (url, key)
    elif info is not None:
        backend = (info.url, info.anon_key)
    else:
        print("nbrealtime demo: no embedded server is running; no live shared notebook this time", flush=True)
        return
    try:
        path = start_live_notebook(lab_url, token, backend)
    except Exception as error:  # the demo goes on without it, saying why in one line
        print(f"nbrealtime demo: no live shared notebook ({error})", flush=True)
        return
    print(
        f"nbrealtime demo: Ada is waiting in a shared notebook; open {lab_url}/lab/tree/{path}?token={token} "
        "to watch her type, add a cell and run it.",
        flush=True,
    )


def _answers(url: str, token: str) -> bool:
    try:
        return httpx.get(url, headers={"Authorization": f"token {token}"}, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _repo_notebooks() -> Path:
    """The clone's ``notebooks/`` (editable install), else ``./notebooks``."""
    beside_package = Path(__file__).resolve().parents[2] / "notebooks"
    return beside_package if beside_package.is_dir() else Path.cwd() / "notebooks"


LAB_START_SECONDS = 120.0
MIN_JWT_EXPIRY = 5  # clients refresh halfway through a token's life; shorter would leave them no time to


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except the ones that only mean "not given"."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbrealtime", description="Collaborative, live Jupyter notebooks.", formatter_class=_HelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="where the server keeps its database and keys ($NBREALTIME_DATA_DIR, else the user data dir)",
    )

    def command(name: str, summary: str, description: str, parents: list[argparse.ArgumentParser]) -> Any:
        return commands.add_parser(
            name, parents=parents, help=summary, description=description, formatter_class=_HelpFormatter
        )

    serve = command(
        "serve",
        "run the embedded Supabase-compatible server",
        "Run the embedded server (auth, data API and realtime over SQLite) until Ctrl+C or SIGTERM. It prints its URL "
        "and keys and writes them to a discovery file in the data dir, where kernels find it.",
        [data_dir],
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0 = any free port)")
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
    serve.add_argument(
        "--no-anonymous-sign-ins",
        action="store_true",
        help="refuse anonymous sign-ins, as a Supabase project does until they are enabled",
    )
    serve.add_argument("--max-payload-kb", type=int, default=3000, help="largest broadcast payload (KiB)")
    serve.add_argument("--max-messages-per-second", type=int, default=500, help="messages per connection")
    serve.add_argument("--max-channels", type=int, default=100, help="channels per connection")
    serve.add_argument("--max-presence-calls", type=int, default=5, help="presence calls per channel per 30 s")
    serve.add_argument(
        "--jwt-expiry",
        type=int,
        default=3600,
        help="lifetime of the access tokens it signs, in seconds (Supabase's jwt_expiry)",
    )
    serve.set_defaults(handler=_serve)

    keys = command(
        "keys",
        "print SUPABASE_URL and the API keys of the running server",
        "Print SUPABASE_URL, SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY of the server running for the data dir, "
        "as lines for a shell or a .env file. Exits with 1 if no server runs there.",
        [data_dir],
    )
    keys.set_defaults(handler=_keys)

    sql = command(
        "sql",
        "print the PostgreSQL migration that prepares a Supabase project",
        "Print the SQL (tables, row-level-security policies, the supabase_realtime publication) that prepares a "
        "Supabase project for nbrealtime, with your own tables if you give a schema file.",
        [],
    )
    sql.add_argument("--schema", type=Path, default=None, help="TOML schema file declaring your own tables")
    sql.set_defaults(handler=_sql)

    demo = command(
        "demo",
        "open JupyterLab on the demo notebooks with the embedded server running",
        "Open JupyterLab on the quickstart notebook; nbrealtime's server extension starts the embedded server with "
        "it. Ctrl+C, SIGINT or SIGTERM stops JupyterLab and the server.",
        [],
    )
    demo.add_argument(
        "--notebooks", type=Path, default=None, help="folder of the demo notebooks (default: the checkout's notebooks/)"
    )
    demo.add_argument("--port", type=int, default=8888, help="JupyterLab's port")
    demo.add_argument("--no-browser", action="store_true", help="do not try to open a web browser")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
