"""The database thread's group commit: requests that queue up commit together, each isolated in its savepoint."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from nbrealtime.server.database import Database


@pytest.fixture
def database(tmp_path: Path):
    db = Database(tmp_path / "data.db")
    db.connection.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
    yield db
    db.close()


def _insert(db: Database, name: str, fail_after: bool = False) -> str:
    with db.transaction() as connection:
        connection.execute("INSERT INTO items (name) VALUES (?)", (name,))
        if fail_after:
            raise ValueError(f"refused {name}")
    return name


def _names(db: Database) -> list[str]:
    # a fresh connection: sees only what is committed
    with sqlite3.connect(db.path) as connection:
        return sorted(row[0] for row in connection.execute("SELECT name FROM items"))


async def test_queued_writes_commit_together_and_a_failure_stays_its_own(database: Database) -> None:
    gate = threading.Event()
    # hold the database thread so that the next requests queue up and run as one group
    blocker = asyncio.create_task(database.run(gate.wait, 5))
    await asyncio.sleep(0.05)
    calls = [
        database.run(_insert, database, "a"),
        database.run(_insert, database, "dup"),
        database.run(_insert, database, "dup"),  # unique violation: only this request fails
        database.run(_insert, database, "b", True),  # raises after its insert: its row must not stay
        database.run(_insert, database, "c"),
    ]
    tasks = [asyncio.create_task(call) for call in calls]
    await asyncio.sleep(0.05)
    gate.set()
    await blocker
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] == "a" and results[1] == "dup" and results[4] == "c"
    assert isinstance(results[2], sqlite3.IntegrityError)
    assert isinstance(results[3], ValueError)
    assert _names(database) == ["a", "c", "dup"]


async def test_answers_come_after_the_commit_in_order(database: Database) -> None:
    answered: list[tuple[str, list[str]]] = []

    async def one(name: str) -> None:
        await database.run(_insert, database, name)
        answered.append((name, _names(database)))

    names = [f"n{i:03}" for i in range(200)]
    await asyncio.gather(*(one(name) for name in names))
    assert [name for name, _ in answered] == names  # answered in the order they ran
    for name, committed in answered:
        assert name in committed  # durable before it was answered


async def test_a_group_whose_commit_fails_reports_no_success(database: Database) -> None:
    def fail_commits() -> None:
        """On the database thread: its connection's COMMIT now fails, as on a full disk."""
        connection = database.connection

        class FailingCommit:
            def __getattr__(self, name: str):
                return getattr(connection, name)

            def execute(self, sql: str, *args):
                if sql == "COMMIT":
                    raise sqlite3.OperationalError("database or disk is full")
                return connection.execute(sql, *args)

        database._local.connection = FailingCommit()
        real.append(connection)

    def restore() -> None:
        database._local.connection = real[0]

    real: list[sqlite3.Connection] = []

    await database.run(_insert, database, "kept")
    await database.run(fail_commits)
    gate = threading.Event()
    blocker = asyncio.create_task(database.run(gate.wait, 5))
    await asyncio.sleep(0.05)
    tasks = [asyncio.create_task(database.run(_insert, database, name)) for name in ("p", "q", "r")]
    await asyncio.sleep(0.05)
    gate.set()
    await blocker
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, sqlite3.OperationalError) for result in results), results
    assert _names(database) == ["kept"]
    await database.run(restore)
    assert await database.run(_insert, database, "after") == "after"
    assert _names(database) == ["after", "kept"]
