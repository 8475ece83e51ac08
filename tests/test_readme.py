"""The README is executable truth: its schema example starts the embedded server, its quickstart runs against it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

import nbrealtime
from nbrealtime.launcher import ServerProcess

README = Path(__file__).resolve().parents[1] / "README.md"


def code_block(language: str, after: str) -> str:
    """The first ```language block after the heading ``after``."""
    text = README.read_text()
    section = text[text.index(after) :]
    match = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert match is not None, f"no {language} block after {after!r} in the README"
    return match.group(1)


def test_the_schema_example_is_served_and_migrated(start, tmp_path: Path) -> None:
    schema = tmp_path / "my_tables.toml"
    schema.write_text(code_block("toml", "## The embedded server"))
    server: ServerProcess = start("--schema", str(schema))
    todos = httpx.get(f"{server.url}/rest/v1/todos?select=*", headers={"apikey": server.anon_key}, timeout=10)
    assert todos.status_code == 200 and todos.json() == [], "the server knows the README's table"
    sql = subprocess.run(
        [sys.executable, "-m", "nbrealtime", "sql", "--schema", str(schema)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "create table if not exists public.todos" in sql.stdout.lower()


def test_the_quickstart_runs_as_written(env: dict[str, str]) -> None:
    namespace: dict[str, object] = {}
    exec(compile(code_block("python", "## Quickstart"), str(README), "exec"), namespace)
    room = namespace["room"]
    try:
        assert isinstance(room, nbrealtime.Room) and room.status == "connected"
        assert namespace["welcome"].title == "Welcome, alice!"
        assert (namespace["payload"], namespace["sender"].name) == ({"n": 1}, "Ada")
        assert namespace["cell"].text == "total = sum(range(10))\n"
        write = namespace["write"]
        assert write.wait() == "confirmed"
        assert [(row["title"], row["done"]) for row in namespace["tasks"].rows] == [("Write the report", True)]
    finally:
        room.close()
        namespace["ada"].stop()
