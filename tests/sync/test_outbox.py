"""The durable outbox: order per row, backoff with jitter, permanent failure, crash recovery, loud errors."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from nbrealtime.sync.outbox import Outbox, OutboxError


def record(write_id: str, key: Any, *, table: str = "todos", op: str = "update", **extra: Any) -> dict[str, Any]:
    return {
        "id": write_id,
        "table": table,
        "key": key,
        "op": op,
        "payload": {"values": {"n": 1}},
        "stamp": "0001732540000000-0000-me",
        "base_version": 1,
        "created": 1.0,
        **extra,
    }


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    box = Outbox(tmp_path / "outbox.db", rng=random.Random(7))
    yield box
    box.close()


def ids(entries: list[Any]) -> list[str]:
    return [entry.id for entry in entries]


def test_enqueue_persists_the_record_and_uses_wal(tmp_path: Path, outbox: Outbox) -> None:
    assert outbox.enqueue(record("w1", "a")) == "w1"
    entry = outbox.get("w1")
    assert entry is not None
    assert (entry.table, entry.key, entry.op, entry.state) == ("todos", "a", "update", "queued")
    assert entry.record == record("w1", "a")
    with sqlite3.connect(tmp_path / "outbox.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("SELECT id FROM outbox").fetchall() == [("w1",)]


def test_due_is_fifo_with_one_write_per_row_at_a_time(outbox: Outbox) -> None:
    for write_id, key in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("c1", "c"), ("b2", "b")]:
        outbox.enqueue(record(write_id, key))
    assert ids(outbox.due(0)) == ["a1", "b1", "c1"]
    outbox.sent("a1")
    assert ids(outbox.due(0)) == ["b1", "c1"]  # a1 in flight still blocks a2
    outbox.acknowledged("a1")
    assert ids(outbox.due(0)) == ["b1", "a2", "c1"]
    assert outbox.pending_count == 4


def test_rows_are_per_table_and_keys_compare_as_json(outbox: Outbox) -> None:
    outbox.enqueue(record("t1", 1, table="todos"))
    outbox.enqueue(record("n1", 1, table="notes"))
    outbox.enqueue(record("s1", "1", table="todos"))
    outbox.enqueue(record("c1", ["room", 1], table="todos"))
    outbox.enqueue(record("c2", ["room", 1], table="todos"))
    assert ids(outbox.due(0)) == ["t1", "n1", "s1", "c1"]


def test_enqueue_of_the_same_id_twice_keeps_one_entry(outbox: Outbox) -> None:
    outbox.enqueue(record("w1", "a"))
    outbox.enqueue(record("w1", "a"))
    assert ids(outbox.pending()) == ["w1"]


def test_backoff_grows_exponentially_up_to_the_cap_with_full_jitter(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", base=0.5, cap=8.0, rng=random.Random(1))
    assert [box.ceiling(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    for i in range(100):
        box.enqueue(record(f"w{i}", f"k{i}"))
    for attempt in range(1, 7):
        delays = []
        for i in range(100):
            delay = box.retry_later(f"w{i}", "connection refused", now=1000.0)
            assert delay is not None
            entry = box.get(f"w{i}")
            assert entry is not None and entry.attempts == attempt and entry.error == "connection refused"
            assert entry.next_at == pytest.approx(1000.0 + delay)
            delays.append(delay)
        ceiling = box.ceiling(attempt)
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.85 * ceiling and min(delays) < 0.15 * ceiling  # spread over the whole range
    box.close()


def test_an_entry_waiting_for_its_retry_is_not_due_and_blocks_its_row(outbox: Outbox) -> None:
    outbox.enqueue(record("a1", "a"))
    outbox.enqueue(record("a2", "a"))
    outbox.sent("a1")
    delay = outbox.retry_later("a1", "timeout", now=100.0)
    assert delay is not None
    assert ids(outbox.due(100.0 + delay - 1e-6)) == ([] if delay > 1e-6 else ["a1"])
    assert ids(outbox.due(100.0 + delay)) == ["a1"]


def test_permanent_failure_is_kept_for_the_ui_and_unblocks_the_row(outbox: Outbox) -> None:
    outbox.enqueue(record("a1", "a"))
    outbox.enqueue(record("a2", "a"))
    outbox.sent("a1")
    assert outbox.failed_permanently("a1", "new row violates row-level security policy")
    assert ids(outbox.due(0)) == ["a2"]
    [failed] = outbox.failed()
    assert (failed.id, failed.state, failed.error) == ("a1", "failed", "new row violates row-level security policy")
    assert outbox.pending_count == 1
    assert outbox.retry_later("a1", "again?", now=0) is None  # never retried
    assert outbox.discard("a1") and outbox.failed() == []


def test_replace_keeps_the_queue_position(outbox: Outbox) -> None:
    outbox.enqueue(record("a1", "a"))
    outbox.enqueue(record("a2", "a"))
    outbox.sent("a1")
    outbox.retry_later("a1", "conflict", now=0)
    assert outbox.replace("a1", record("a1-resolved", "a", payload={"values": {"n": 2}}))
    entry = outbox.get("a1-resolved")
    assert entry is not None
    assert (entry.attempts, entry.error, entry.record["payload"]) == (0, None, {"values": {"n": 2}})
    assert ids(outbox.due(0)) == ["a1-resolved"]
    assert ids(outbox.pending()) == ["a1-resolved", "a2"]
    assert outbox.get("a1") is None


def test_unknown_ids_are_no_ops(outbox: Outbox) -> None:
    assert not outbox.sent("x")
    assert not outbox.acknowledged("x")
    assert not outbox.discard("x")
    assert not outbox.failed_permanently("x", "e")
    assert outbox.retry_later("x", "e", now=0) is None
    assert not outbox.replace("x", record("y", "a"))


def test_records_are_validated(outbox: Outbox) -> None:
    with pytest.raises(ValueError, match="needs table"):
        outbox.enqueue({"id": "w", "key": "a", "op": "insert"})
    with pytest.raises(ValueError, match="must be JSON"):
        outbox.enqueue(record("w", "a", payload={"values": {"when": object()}}))
    with pytest.raises(ValueError, match="must be JSON"):
        outbox.enqueue(record("w", "a", payload={"values": {"n": float("nan")}}))
    assert outbox.pending() == []
    with pytest.raises(ValueError, match="0 < base <= cap"):
        Outbox(":memory:", base=2, cap=1)


def test_memory_outbox_for_throwaway_queues() -> None:
    with Outbox(":memory:") as box:
        box.enqueue(record("w1", "a"))
        assert box.pending_count == 1


# ---------------------------------------------------------------------------------------------- restart


def test_reopening_without_close_returns_unacknowledged_entries_once_in_order(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    first = Outbox(path)
    for i in range(6):
        first.enqueue(record(f"w{i}", f"k{i % 2}"))
    first.sent("w0")
    first.sent("w1")
    first.acknowledged("w1")
    first.failed_permanently("w3", "rejected")
    # no close(): the process "dies" here
    second = Outbox(path)
    pending = second.pending()
    assert ids(pending) == ["w0", "w2", "w4", "w5"]
    assert all(entry.state == "queued" for entry in pending)  # the unanswered send is due again, same id
    assert ids(second.due(0)) == ["w0", "w5"]
    assert ids(second.failed()) == ["w3"]
    second.close()
    first.close()


CHILD = textwrap.dedent(
    """
    import sys
    from nbrealtime.sync.outbox import Outbox

    box = Outbox(sys.argv[1])
    mode = sys.argv[2]
    if mode == "flood":
        i = 0
        while True:
            box.enqueue({"id": f"w{i:06d}", "table": "t", "key": f"k{i % 7}", "op": "update",
                         "payload": {"values": {"n": i}}, "created": float(i)})
            print(f"w{i:06d}", flush=True)
            i += 1
    else:
        for i in range(20):
            box.enqueue({"id": f"w{i:06d}", "table": "t", "key": f"k{i % 3}", "op": "update", "created": float(i)})
        for i in range(0, 20, 2):
            box.sent(f"w{i:06d}")
            box.acknowledged(f"w{i:06d}")
        for i in range(1, 20, 4):
            box.sent(f"w{i:06d}")
        print("ready", flush=True)
        sys.stdin.read()
    """
)


def run_child(tmp_path: Path, mode: str, lines: int) -> list[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    with subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "o.db"), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        printed = [child.stdout.readline().strip() for _ in range(lines)]
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return printed


def test_sigkill_mid_enqueue_loses_nothing_that_was_acknowledged_and_duplicates_nothing(tmp_path: Path) -> None:
    printed = run_child(tmp_path, "flood", 300)
    with Outbox(tmp_path / "o.db") as box:
        found = ids(box.pending())
    assert found[: len(printed)] == printed  # every enqueue that returned is there, in order
    assert len(found) == len(set(found))
    assert found == [f"w{i:06d}" for i in range(len(found))]  # a gapless prefix: at most the in-flight one extra


def test_sigkill_after_sends_returns_each_unacknowledged_entry_once(tmp_path: Path) -> None:
    assert run_child(tmp_path, "settle", 1) == ["ready"]
    with Outbox(tmp_path / "o.db") as box:
        pending = box.pending()
    assert ids(pending) == [f"w{i:06d}" for i in range(1, 20, 2)]
    assert {entry.state for entry in pending} == {"queued"}


# ---------------------------------------------------------------------------------------------- errors


def test_a_directory_in_the_way_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    path.mkdir()
    with pytest.raises(OutboxError, match=rf"cannot open the write outbox at {path}: unable to open database file"):
        Outbox(path)


def test_a_place_where_no_file_can_be_created_is_a_clear_error() -> None:
    path = Path("/proc/self/nbrealtime/outbox.db")  # procfs: even root cannot create files here
    with pytest.raises(OutboxError, match=r"cannot open the write outbox at /proc/self/nbrealtime/outbox\.db: "):
        Outbox(path)


READ_ONLY_CHECK = textwrap.dedent(
    """
    import sys
    from nbrealtime.sync.outbox import Outbox, OutboxError

    for path in sys.argv[1:]:
        try:
            with Outbox(path) as box:
                box.enqueue({"id": "w-new", "table": "t", "key": "k", "op": "insert"})
            print("NO ERROR", path)
        except OutboxError as exc:
            print(exc)
    """
)


def without_root_powers() -> list[str]:
    """Root ignores file permissions; drop the capabilities that let it (setpriv), so chmod really bites."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: directory permissions cannot be enforced")
    caps = "-dac_override,-dac_read_search,-fowner"
    return [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}"]


def test_read_only_places_are_clear_errors(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    existing = tmp_path / "existing"
    with Outbox(existing / "outbox.db") as box:
        box.enqueue(record("w-old", "a"))
    for path in (existing / "outbox.db", existing / "outbox.db-wal", existing / "outbox.db-shm"):
        if path.exists():
            path.chmod(0o444)
    for directory in (fresh, existing):
        directory.chmod(0o555)
    try:
        result = subprocess.run(
            [
                *without_root_powers(),
                sys.executable,
                "-c",
                READ_ONLY_CHECK,
                str(fresh / "o.db"),
                str(existing / "outbox.db"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        for directory in (fresh, existing):
            directory.chmod(0o755)
    first, second = result.stdout.splitlines()
    assert first == f"cannot open the write outbox at {fresh / 'o.db'}: unable to open database file"
    assert str(existing / "outbox.db") in second and "NO ERROR" not in second
    assert "readonly" in second or "unable to open" in second
    with Outbox(existing / "outbox.db") as box:
        assert ids(box.pending()) == ["w-old"]  # nothing lost, nothing half-written


def test_a_full_outbox_refuses_writes_loudly_and_keeps_what_it_has(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", max_bytes=64 * 1024)
    big = "x" * 2000
    written = []
    full = r"could not queue write w\d+ in the outbox at .*o\.db: database or disk is full"
    with pytest.raises(OutboxError, match=full):
        for i in range(1000):
            written.append(box.enqueue(record(f"w{i}", "a", payload={"values": {"text": big}})))
    assert ids(box.pending()) == written  # the refused write is not half there, the others are intact
    box.acknowledged(written[0])  # the queue keeps working once there is room
    box.close()
