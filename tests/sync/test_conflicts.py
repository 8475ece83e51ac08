"""Conflict strategies: lww, field merge, deletions, manual resolution and the uniform Strategy interface."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbrealtime.sync.clock import Timestamp
from nbrealtime.sync.conflicts import (
    Conflict,
    Deferred,
    Resolved,
    resolve,
    resolve_lww,
    resolve_merge,
    strategy,
    winner,
)

OLD, NEW = Timestamp(1000, 0, "a"), Timestamp(2000, 0, "b")


def conflict(base: Any, mine: Any, theirs: Any, *, mine_newer: bool = True, theirs_stamp: Any = "auto") -> Conflict:
    mine_stamp, their_stamp = (NEW, OLD) if mine_newer else (OLD, NEW)
    return Conflict(
        key="r1",
        base=base,
        mine=mine,
        theirs=theirs,
        mine_stamp=mine_stamp,
        theirs_stamp=their_stamp if theirs_stamp == "auto" else theirs_stamp,
        write_id="w1",
    )


BASE = {"id": "r1", "title": "a", "done": False, "n": 1}


@pytest.mark.parametrize("mine_newer", [True, False])
def test_lww_takes_the_whole_row_of_the_newer_side(mine_newer: bool) -> None:
    mine, theirs = {**BASE, "title": "mine"}, {**BASE, "done": True}
    c = conflict(BASE, mine, theirs, mine_newer=mine_newer)
    assert resolve_lww(c) == (mine if mine_newer else theirs)
    assert winner(c) == ("mine" if mine_newer else "theirs")


def test_merge_keeps_one_sided_changes_from_both_sides() -> None:
    c = conflict(BASE, {**BASE, "title": "mine"}, {**BASE, "done": True}, mine_newer=False)
    assert resolve_merge(c) == {"id": "r1", "title": "mine", "done": True, "n": 1}
    assert c.fields == ()


@pytest.mark.parametrize(("mine_newer", "expected"), [(True, 2), (False, 3)])
def test_merge_falls_back_to_hlc_for_a_field_changed_on_both_sides(mine_newer: bool, expected: int) -> None:
    c = conflict(BASE, {**BASE, "n": 2, "title": "x"}, {**BASE, "n": 3, "done": True}, mine_newer=mine_newer)
    assert resolve_merge(c) == {"id": "r1", "title": "x", "done": True, "n": expected}
    assert c.fields == ("n",)


def test_merge_same_change_on_both_sides_is_no_conflict() -> None:
    c = conflict(BASE, {**BASE, "n": 5}, {**BASE, "n": 5})
    assert resolve_merge(c) == {**BASE, "n": 5}
    assert c.fields == ()


def test_merge_treats_added_and_removed_fields_as_changes() -> None:
    theirs = {k: v for k, v in BASE.items() if k != "done"}
    c = conflict(BASE, {**BASE, "tag": "new"}, theirs, mine_newer=False)
    assert resolve_merge(c) == {"id": "r1", "title": "a", "n": 1, "tag": "new"}


def test_merge_of_two_inserts_uses_an_empty_base() -> None:
    c = conflict(None, {"id": "r1", "a": 1, "same": 0}, {"id": "r1", "b": 2, "same": 1}, mine_newer=True)
    assert resolve_merge(c) == {"id": "r1", "b": 2, "same": 0, "a": 1}
    assert c.fields == ("a", "same", "b")


values = st.one_of(st.integers(0, 3), st.none(), st.text(max_size=2))
names = st.sampled_from(["a", "b", "c", "d", "e"])
rows = st.dictionaries(names, values, max_size=5)
edits = st.dictionaries(names, st.one_of(values, st.just("<removed>")), max_size=5)


def edited(row: dict[str, Any], edit: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for name, value in edit.items():
        if value == "<removed>":
            out.pop(name, None)
        else:
            out[name] = value
    return out


@settings(max_examples=200, deadline=None)
@given(base=rows, mine_edit=edits, their_edit=edits, mine_newer=st.booleans())
def test_merge_property_one_sided_changes_survive_and_both_sided_go_to_the_newer(
    base: dict[str, Any], mine_edit: dict[str, Any], their_edit: dict[str, Any], mine_newer: bool
) -> None:
    mine, theirs = edited(base, mine_edit), edited(base, their_edit)
    c = conflict(base, mine, theirs, mine_newer=mine_newer)
    merged = resolve_merge(c)
    assert merged is not None
    absent = object()
    newer = mine if mine_newer else theirs
    for name in set(base) | set(mine) | set(theirs):
        b, m, t = base.get(name, absent), mine.get(name, absent), theirs.get(name, absent)
        got = merged.get(name, absent)
        if m == b:
            assert got == t, name
        elif t == b or m == t:
            assert got == m, name
        else:
            assert got == newer.get(name, absent), name
            assert name in c.fields
    assert set(c.fields) <= set(base) | set(mine) | set(theirs)


# ---------------------------------------------------------------------------------------------- deletions


@pytest.mark.parametrize("resolver", [resolve_lww, resolve_merge])
def test_update_against_a_deletion_of_unknown_time_does_not_resurrect(resolver: Any) -> None:
    c = conflict(BASE, {**BASE, "n": 9}, None, theirs_stamp=None)
    assert winner(c) == "theirs"
    assert resolver(c) is None


@pytest.mark.parametrize("resolver", [resolve_lww, resolve_merge])
@pytest.mark.parametrize("mine_newer", [True, False])
def test_update_against_a_stamped_deletion_resurrects_only_if_newer(resolver: Any, mine_newer: bool) -> None:
    mine = {**BASE, "n": 9}
    c = conflict(BASE, mine, None, mine_newer=mine_newer)
    assert resolver(c) == (mine if mine_newer else None)


@pytest.mark.parametrize("resolver", [resolve_lww, resolve_merge])
@pytest.mark.parametrize("mine_newer", [True, False])
def test_my_delete_against_their_update_goes_to_the_newer(resolver: Any, mine_newer: bool) -> None:
    theirs = {**BASE, "n": 9}
    c = conflict(BASE, None, theirs, mine_newer=mine_newer)
    assert resolver(c) == (None if mine_newer else theirs)
    assert c.fields == tuple(BASE)  # against a deletion, every field is in dispute


def test_both_deleted_is_no_row() -> None:
    assert resolve_merge(conflict(BASE, None, None)) is None
    assert conflict(BASE, None, None).fields == ()


def test_a_server_row_without_stamp_counts_as_older() -> None:
    c = conflict(BASE, {**BASE, "n": 2}, {**BASE, "n": 3}, theirs_stamp=None)
    assert winner(c) == "mine"
    assert resolve_lww(c) == {**BASE, "n": 2}


# ---------------------------------------------------------------------------------------------- Strategy


def test_strategy_names_resolve_with_the_larger_stamp() -> None:
    c = conflict(BASE, {**BASE, "n": 2}, {**BASE, "title": "t"}, mine_newer=False)
    lww = strategy("lww").resolve(c)
    assert lww == Resolved({**BASE, "title": "t"}, NEW)
    merge = strategy("merge").resolve(c)
    assert merge == Resolved({**BASE, "n": 2, "title": "t"}, NEW)
    assert strategy("manual").resolve(c) == Deferred(c)


def test_resolved_stamp_is_mine_when_theirs_has_none() -> None:
    c = conflict(BASE, {**BASE, "n": 2}, {**BASE, "n": 3}, mine_newer=False, theirs_stamp=None)
    assert strategy("lww").resolve(c).stamp == OLD


def test_callable_strategy_gets_copies_of_base_mine_theirs() -> None:
    seen = []

    def pick_max(base: dict, mine: dict, theirs: dict) -> dict:
        seen.append((base, mine, theirs))
        mine["n"] = -1  # mutating the copies must not touch the conflict
        return {**theirs, "n": max(theirs["n"], 7)}

    c = conflict(BASE, {**BASE, "n": 2}, {**BASE, "n": 3})
    result = strategy(pick_max).resolve(c)
    assert result == Resolved({**BASE, "n": 7}, NEW)
    assert seen[0][0] == BASE and c.mine == {**BASE, "n": 2}
    assert strategy(pick_max).name == "pick_max"


def test_callable_returning_junk_is_an_error() -> None:
    with pytest.raises(TypeError, match="returned list"):
        strategy(lambda base, mine, theirs: [1]).resolve(conflict(BASE, BASE, BASE))


def test_strategy_spec_errors() -> None:
    with pytest.raises(ValueError, match="unknown conflict strategy 'newest'"):
        strategy("newest")
    with pytest.raises(TypeError, match="name or a callable"):
        strategy(42)  # type: ignore[arg-type]
    same = strategy("merge")
    assert strategy(same) is same


# ---------------------------------------------------------------------------------------------- manual


def test_manual_resolution_choices() -> None:
    mine, theirs = {**BASE, "n": 2}, {**BASE, "n": 3}
    c = conflict(BASE, mine, theirs, mine_newer=False)
    assert resolve(c, "mine") == Resolved(mine, NEW)
    assert resolve(c, "theirs") == Resolved(theirs, NEW)
    assert resolve(c, {"id": "r1", "n": 4}) == Resolved({"id": "r1", "n": 4}, NEW)
    assert resolve(c, None) == Resolved(None, NEW)
    with pytest.raises(ValueError, match='"mine", "theirs"'):
        resolve(c, "ours")  # type: ignore[arg-type]


def test_conflicts_have_unique_ids() -> None:
    assert conflict(BASE, BASE, BASE).id != conflict(BASE, BASE, BASE).id
