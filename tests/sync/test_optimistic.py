"""The optimistic view: load, local writes, confirm, rollback, rebase under remote changes, conflicts, restore."""

from __future__ import annotations

from typing import Any

import pytest

from nbrealtime.sync.clock import HybridClock, Timestamp
from nbrealtime.sync.conflicts import Resolved, resolve, strategy
from nbrealtime.sync.optimistic import OptimisticStore, RowChange, Write

CLOCK = HybridClock("me", now=lambda: 1_732_540_000.0)


def row(key: str, version: int | None = 1, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": key, **fields}
    if version is not None:
        out["version"] = version
    return out


def write(op: str, key: str, values: dict[str, Any] | None = None) -> Write:
    values = dict(values or {})
    if op in ("insert", "upsert"):
        values.setdefault("id", key)
    return Write(op, key, values, CLOCK.tick())  # type: ignore[arg-type]


def loaded(*rows: dict[str, Any], **options: Any) -> OptimisticStore:
    store = OptimisticStore(**options)
    store.load(rows)
    return store


# ---------------------------------------------------------------------------------------------- load


def test_load_keeps_the_newest_version_of_each_key() -> None:
    store = OptimisticStore()
    changes = store.load([row("a", 2, t="two"), row("a", 1, t="one"), row("b", 1)])
    assert store.rows == [row("a", 2, t="two"), row("b", 1)]
    assert [c.kind for c in changes] == ["insert", "insert"]
    assert store.load([row("a", 1, t="old"), row("b", 1)]) == []
    assert store.row("a") == row("a", 2, t="two")


def test_complete_catch_up_read_removes_rows_deleted_meanwhile() -> None:
    store = loaded(row("a"), row("b"))
    changes = store.load([row("b")])
    assert changes == [RowChange("delete", "a", row("a"), None)]
    assert [r["id"] for r in store.rows] == ["b"]
    store.load([row("c")], complete=False)
    assert [r["id"] for r in store.rows] == ["b", "c"]


def test_rows_without_a_version_column_are_always_taken() -> None:
    store = loaded(row("a", None, t=1), version_field=None)
    store.apply_remote("UPDATE", row("a", None, t=2))
    assert store.row("a") == row("a", None, t=2)


def test_rows_and_row_return_copies() -> None:
    store = loaded(row("a", t=1))
    store.rows[0]["t"] = 99
    store.row("a")["t"] = 99  # type: ignore[index]
    assert store.row("a") == row("a", t=1)


def test_a_row_without_the_key_column_is_refused() -> None:
    with pytest.raises(ValueError, match="no key column 'id'"):
        OptimisticStore().load([{"name": "x"}])


# ---------------------------------------------------------------------------------------------- local writes


def test_local_writes_show_at_once_and_are_pending() -> None:
    store = loaded(row("a", t=1))
    ins = write("insert", "b", {"t": 2})
    assert store.apply_local(ins) == [RowChange("insert", "b", None, {"id": "b", "t": 2})]
    upd = write("update", "a", {"t": 5})
    assert store.apply_local(upd) == [RowChange("update", "a", row("a", t=1), row("a", t=5))]
    assert (upd.base_version, upd.base) == (1, row("a", t=1))
    ups = write("upsert", "a", {"u": 1})
    store.apply_local(ups)
    assert store.row("a") == row("a", t=5, u=1)
    dele = write("delete", "b")
    assert store.apply_local(dele) == [RowChange("delete", "b", {"id": "b", "t": 2}, None)]
    assert store.rows == [row("a", t=5, u=1)]
    assert store.status("a") == store.status("b") == "pending"
    assert store.pending_writes() == [ins, upd, ups, dele]
    assert store.server_row("a") == row("a", t=1)


def test_update_of_a_missing_row_changes_nothing() -> None:
    store = OptimisticStore()
    assert store.apply_local(write("update", "zz", {"t": 1})) == []
    assert store.rows == []


def test_invalid_local_writes_are_refused() -> None:
    store = loaded(row("a"))
    with pytest.raises(ValueError, match="carry its key"):
        store.apply_local(Write("insert", "b", {"t": 1}, CLOCK.tick()))
    with pytest.raises(ValueError, match="cannot change the key"):
        store.apply_local(write("update", "a", {"id": "other"}))
    w = write("update", "a", {"t": 1})
    store.apply_local(w)
    with pytest.raises(ValueError, match="already applied"):
        store.apply_local(w)
    with pytest.raises(ValueError, match="unknown write op"):
        Write("patch", "a", {}, CLOCK.tick())  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- confirm / fail


def test_confirm_with_the_same_row_is_not_a_change() -> None:
    store = loaded(row("a", t=1))
    w = write("update", "a", {"t": 2})
    store.apply_local(w)
    assert store.confirm(w.id, row("a", 2, t=2)) == []
    assert (w.status, store.status("a"), store.version("a")) == ("confirmed", "confirmed", 2)
    assert store.confirm(w.id, row("a", 2, t=2)) == []  # twice (reply and echo) is harmless
    assert store.pending_writes() == []


def test_confirm_shows_what_the_server_added() -> None:
    store = OptimisticStore()
    w = write("insert", "a", {"t": 1})
    store.apply_local(w)
    assert store.confirm(w.id, row("a", 1, t=1, created="now")) == [
        RowChange("update", "a", {"id": "a", "t": 1}, row("a", 1, t=1, created="now"))
    ]


def test_confirmed_delete_removes_the_server_row() -> None:
    store = loaded(row("a"))
    w = write("delete", "a")
    store.apply_local(w)
    assert store.confirm(w.id, None) == []
    assert store.server_row("a") is None and store.status("a") == "confirmed"
    assert store.apply_remote("UPDATE", row("a", 1, t="stale event")) == []  # from before the delete


def test_confirm_without_a_row_takes_the_write_as_server_state() -> None:
    store = loaded(row("a", t=1))
    w = write("update", "a", {"t": 2})
    store.apply_local(w)
    store.confirm(w.id)
    assert store.server_row("a") == row("a", t=2) and store.version("a") is None


def test_a_failing_write_rolls_back_and_leaves_other_writes_pending() -> None:
    store = loaded(row("a", t=1), row("b", t=1))
    bad = write("update", "a", {"t": "bad"})
    other_row = write("update", "b", {"t": 2})
    later_same_row = write("update", "a", {"u": 3})
    for w in (bad, other_row, later_same_row):
        store.apply_local(w)
    assert store.row("a") == row("a", t="bad", u=3)
    changes = store.fail(bad.id, "permission denied by policy")
    assert changes == [RowChange("update", "a", row("a", t="bad", u=3), row("a", t=1, u=3))]
    assert (bad.status, bad.error) == ("failed", "permission denied by policy")
    assert store.pending_writes() == [other_row, later_same_row]
    assert store.row("b") == row("b", t=2) and store.status("b") == "pending"
    assert store.status("a") == "pending"  # the later write on a is still unsettled
    store.confirm(later_same_row.id, row("a", 2, t=1, u=3))
    assert store.status("a") == "confirmed" and store.error("a") is None
    assert store.fail("unknown-id", "x") == []


def test_failed_status_and_error_stay_until_a_later_write_is_confirmed() -> None:
    store = loaded(row("a", t=1))
    w = write("update", "a", {"t": 2})
    store.apply_local(w)
    store.fail(w.id, "check constraint")
    assert (store.status("a"), store.error("a"), store.row("a")) == ("failed", "check constraint", row("a", t=1))
    store.apply_remote("UPDATE", row("a", 2, t=7))
    assert store.status("a") == "failed"
    again = write("update", "a", {"t": 3})
    store.apply_local(again)
    store.confirm(again.id, row("a", 3, t=3))
    assert store.status("a") == "confirmed" and store.error("a") is None


def test_a_failed_insert_rolls_back_to_no_row() -> None:
    store = OptimisticStore()
    w = write("insert", "a", {"t": 1})
    store.apply_local(w)
    assert store.fail(w.id, "duplicate key") == [RowChange("delete", "a", {"id": "a", "t": 1}, None)]
    assert store.rows == []


# ---------------------------------------------------------------------------------------------- remote changes


def test_remote_change_is_rebased_under_a_pending_write() -> None:
    store = loaded(row("a", t=1, u=1))
    mine = write("update", "a", {"t": "mine"})
    store.apply_local(mine)
    changes = store.apply_remote("UPDATE", row("a", 2, t=1, u="theirs"))
    assert changes == [RowChange("update", "a", row("a", t="mine", u=1), row("a", 2, t="mine", u="theirs"))]
    assert store.pending_writes() == [mine] and store.server_row("a") == row("a", 2, t=1, u="theirs")
    store.fail(mine.id, "nope")
    assert store.row("a") == row("a", 2, t=1, u="theirs")


def test_remote_delete_hides_a_row_with_a_pending_update_but_keeps_the_write() -> None:
    store = loaded(row("a", t=1))
    mine = write("update", "a", {"t": 2})
    store.apply_local(mine)
    assert store.apply_remote("DELETE", {"id": "a", "version": 1}) == [RowChange("delete", "a", row("a", t=2), None)]
    assert store.pending_writes() == [mine]


def test_stale_and_duplicate_events_are_ignored() -> None:
    store = loaded(row("a", 3, t=3))
    assert store.apply_remote("UPDATE", row("a", 2, t=2)) == []
    assert store.apply_remote("UPDATE", row("a", 3, t=3)) == []
    store.apply_remote("DELETE", {"id": "a", "version": 3})
    assert store.apply_remote("INSERT", row("a", 3, t=3)) == []  # from before the delete
    assert store.apply_remote("INSERT", row("a", 4, t=4)) == [RowChange("insert", "a", None, row("a", 4, t=4))]
    assert store.apply_remote("DELETE", {"id": "a", "version": 2}) == []  # deletion older than the row
    with pytest.raises(ValueError, match="unknown change event"):
        store.apply_remote("TRUNCATE", {"id": "a"})


def test_echo_of_my_write_by_write_id_confirms_it_before_the_reply() -> None:
    store = loaded(row("a", t=1), write_id_field="write_id")
    w = write("update", "a", {"t": 2})
    store.apply_local(w)
    assert store.apply_remote("UPDATE", {**row("a", 2, t=2), "write_id": w.id}) == []  # the view showed it already
    assert store.row("a") == {**row("a", 2, t=2), "write_id": w.id}
    assert w.status == "confirmed" and store.pending_writes() == []
    assert store.confirm(w.id, {**row("a", 2, t=2), "write_id": w.id}) == []


def test_view_order_is_stable_by_first_appearance() -> None:
    store = loaded(row("a"), row("b"), row("c"))
    store.apply_local(write("update", "a", {"t": 1}))
    store.apply_remote("UPDATE", row("b", 2, t=2))
    store.apply_local(write("insert", "d"))
    assert [r["id"] for r in store.rows] == ["a", "b", "c", "d"]
    assert len(store.rows) == 4


def test_stamps_are_read_from_the_stamp_column() -> None:
    stamp = Timestamp(5, 0, "x")
    store = loaded({**row("a"), "hlc": stamp.encode()}, {**row("b"), "hlc": ""})
    w = write("update", "a", {"t": 1})
    store.apply_local(w)
    assert store.conflict(w.id).theirs_stamp == stamp
    w2 = write("update", "b", {"t": 1})
    store.apply_local(w2)
    assert store.conflict(w2.id).theirs_stamp is None


# ---------------------------------------------------------------------------------------------- version chain


def test_a_confirmed_write_hands_its_version_to_the_writes_laid_on_it() -> None:
    store = loaded(row("a", 1, t=0))
    first, second = write("update", "a", {"t": 1}), write("update", "a", {"t": 2})
    store.apply_local(first)
    store.apply_local(second)
    assert first.base_version == second.base_version == 1
    store.confirm(first.id, row("a", 2, t=1))
    assert second.base_version == 2
    assert store.row("a") == row("a", 2, t=2)


def test_an_insert_then_update_chain_starts_from_no_version() -> None:
    store = OptimisticStore()
    ins, upd = write("insert", "a", {"t": 1}), write("update", "a", {"t": 2})
    store.apply_local(ins)
    store.apply_local(upd)
    assert upd.base_version is None and upd.base == {"id": "a", "t": 1}
    store.confirm(ins.id, row("a", 1, t=1))
    assert upd.base_version == 1


# ---------------------------------------------------------------------------------------------- conflicts


def test_conflict_shows_base_mine_theirs_without_bookkeeping_columns() -> None:
    store = loaded({**row("a", 1, t=0, u=0), "hlc": Timestamp(1, 0, "x").encode()})
    w = write("update", "a", {"t": "mine"})
    store.apply_local(w)
    theirs_stamp = Timestamp(2, 0, "y")
    store.apply_remote("UPDATE", {**row("a", 2, t=0, u="theirs"), "hlc": theirs_stamp.encode()})
    c = store.conflict(w.id)
    assert c.base == {"id": "a", "t": 0, "u": 0}
    assert c.mine == {"id": "a", "t": "mine", "u": 0}
    assert c.theirs == {"id": "a", "t": 0, "u": "theirs"}
    assert (c.mine_stamp, c.theirs_stamp, c.write_id, c.key) == (w.stamp, theirs_stamp, w.id, "a")
    assert store.open_conflicts() == [c]


def test_resolution_that_equals_the_server_row_settles_the_write() -> None:
    store = loaded(row("a", 1, t=0))
    w = write("update", "a", {"t": "mine"})
    store.apply_local(w)
    store.apply_remote("UPDATE", row("a", 2, t="theirs"))
    c = store.conflict(w.id)
    settled, changes = store.resolve_conflict(c, resolve(c, "theirs"))
    assert settled is w and w.status == "confirmed"
    assert changes == [RowChange("update", "a", row("a", 2, t="mine"), row("a", 2, t="theirs"))]
    assert store.pending_writes() == [] and store.open_conflicts() == []
    with pytest.raises(ValueError, match="not open"):
        store.resolve_conflict(c, resolve(c, "theirs"))


def test_resolution_that_needs_a_write_rewrites_the_same_write_in_place() -> None:
    store = loaded(row("a", 1, t=0, u=0))
    w = write("update", "a", {"t": "mine"})
    later = write("update", "b", {"x": 1})
    store.apply_local(w)
    store.apply_local(later)
    store.apply_remote("UPDATE", row("a", 2, t=0, u="theirs"))
    old_id = w.id
    c = store.conflict(w.id)
    rewritten, changes = store.resolve_conflict(c, strategy("merge").resolve(c))  # type: ignore[arg-type]
    assert rewritten is w and w.id != old_id and w.status == "pending"
    assert (w.op, w.values, w.base_version) == ("update", {"id": "a", "t": "mine", "u": "theirs"}, 2)
    assert store.write(w.id) is w and store.write(old_id) is None
    assert store.pending_writes() == [w, later]  # same place in the queue
    assert changes == []  # the view already showed exactly this
    store.confirm(w.id, row("a", 3, t="mine", u="theirs"))
    assert store.row("a") == row("a", 3, t="mine", u="theirs")


def test_resolving_against_a_deletion_inserts_or_settles() -> None:
    store = loaded(row("a", 1, t=0))
    w = write("update", "a", {"t": 1})
    store.apply_local(w)
    store.apply_remote("DELETE", {"id": "a", "version": 1}, stamp=Timestamp(1, 0, "old"))
    c = store.conflict(w.id)
    assert c.theirs is None and c.theirs_stamp == Timestamp(1, 0, "old")
    rewritten, changes = store.resolve_conflict(c, strategy("lww").resolve(c))  # type: ignore[arg-type]
    assert (rewritten.op, rewritten.base_version, rewritten.values) == ("insert", None, {"id": "a", "t": 1})
    assert changes == [RowChange("insert", "a", None, {"id": "a", "t": 1})]  # resurrected: my stamp is newer


def test_deleting_resolution_becomes_a_delete_of_the_server_version() -> None:
    store = loaded(row("a", 1, t=0))
    w = write("delete", "a")
    store.apply_local(w)
    store.apply_remote("UPDATE", row("a", 2, t=5))
    c = store.conflict(w.id)
    rewritten, _ = store.resolve_conflict(c, Resolved(None, w.stamp))
    assert (rewritten.op, rewritten.base_version) == ("delete", 2)


def test_a_resolution_cannot_change_the_key() -> None:
    store = loaded(row("a", 1))
    w = write("update", "a", {"t": 1})
    store.apply_local(w)
    c = store.conflict(w.id)
    with pytest.raises(ValueError, match="cannot change the key"):
        store.resolve_conflict(c, resolve(c, {"id": "b"}))
    with pytest.raises(ValueError, match="no pending write"):
        store.conflict("nope")


# ---------------------------------------------------------------------------------------------- restore


def test_restore_keeps_the_original_base_so_the_server_still_sees_the_conflict() -> None:
    before = loaded(row("a", 1, t=0))
    w = write("update", "a", {"t": 1})
    before.apply_local(w)
    record = w.to_record("todos", created=1.0)

    after = loaded(row("a", 5, t="changed while away"))
    restored = Write.from_record(record)
    after.restore(restored)
    assert (restored.id, restored.base_version, restored.base) == (w.id, 1, row("a", 1, t=0))
    assert after.row("a") == row("a", 5, t=1)


def test_restore_of_a_write_the_server_already_has_confirms_it() -> None:
    store = loaded({**row("a", 2, t=1), "write_id": "w-1"}, write_id_field="write_id")
    w = Write("update", "a", {"t": 1}, CLOCK.tick(), id="w-1", base_version=1)
    store.restore(w)
    assert w.status == "confirmed" and store.pending_writes() == []


def test_restoring_before_the_catch_up_read_is_confirmed_by_it() -> None:
    store = OptimisticStore(write_id_field="write_id")
    first = Write("update", "a", {"t": 1}, CLOCK.tick(), id="w-1", base_version=1, base=row("a", 1, t=0))
    second = Write("update", "a", {"t": 2}, CLOCK.tick(), id="w-2", base_version=1, base=row("a", 1, t=1))
    store.restore(first)
    store.restore(second)
    store.load([{**row("a", 2, t=1), "write_id": "w-1"}])
    assert first.status == "confirmed" and second.base_version == 2
    assert store.row("a") == {**row("a", 2, t=2), "write_id": "w-1"}


def test_a_big_store_touches_only_the_written_key() -> None:
    store = loaded(*(row(f"k{i}", 1, n=i) for i in range(10_000)))
    changes = store.apply_local(write("update", "k5000", {"n": -1}))
    assert changes == [RowChange("update", "k5000", row("k5000", n=5000), row("k5000", n=-1))]
    assert len(store.rows) == 10_000


# ---------------------------------------------------------------------------------------------- hook and records


def test_on_settle_sees_each_write_once_after_later_writes_were_rebased() -> None:
    seen: list[tuple[str, str, list[int | None]]] = []
    store = OptimisticStore()

    def settled(w: Write) -> None:
        seen.append((w.id, w.status, [later.base_version for later in store.pending_writes()]))

    store.on_settle = settled
    store.load([row("a", 1, t=0)])
    first, second, bad = write("update", "a", {"t": 1}), write("update", "a", {"t": 2}), write("update", "a", {})
    for w in (first, second, bad):
        store.apply_local(w)
    store.confirm(first.id, row("a", 2, t=1))
    store.confirm(first.id, row("a", 2, t=1))
    store.fail(bad.id, "nope")
    assert seen == [(first.id, "confirmed", [2, 2]), (bad.id, "failed", [2])]


def test_write_records_round_trip_through_json() -> None:
    import json

    w = Write("update", "a", {"t": [1, "x"]}, Timestamp(7, 1, "me"), base_version=3, base={"id": "a", "t": None})
    record = json.loads(json.dumps(w.to_record("todos", created=12.5)))
    assert (
        record["table"] == "todos" and record["created"] == 12.5 and record["stamp"] == Timestamp(7, 1, "me").encode()
    )
    back = Write.from_record(record)
    assert (back.id, back.op, back.key, back.values, back.stamp, back.base_version, back.base) == (
        w.id,
        w.op,
        w.key,
        w.values,
        w.stamp,
        w.base_version,
        w.base,
    )
    assert back.status == "pending" and repr(back).startswith("Write(update 'a' pending id=")
