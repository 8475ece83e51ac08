"""Hybrid logical clock: encoding, monotonicity, causality, skew and the drift policy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbrealtime.sync.clock import MAX_LOGICAL, ClockDriftError, HybridClock, Timestamp

T0 = 1_732_540_000.0  # seconds; a realistic wall time
nodes = st.from_regex(r"[A-Za-z0-9_.:@+-]{1,12}", fullmatch=True)
stamps = st.builds(Timestamp, st.integers(0, 10**16 - 1), st.integers(0, MAX_LOGICAL), nodes)


class Wall:
    """A wall clock the test moves by hand (forwards, backwards, or not at all)."""

    def __init__(self, at: float = T0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@given(stamps)
def test_encode_decode_round_trip(stamp: Timestamp) -> None:
    assert Timestamp.decode(stamp.encode()) == stamp


@given(stamps, stamps)
def test_encoded_text_sorts_like_the_stamps(a: Timestamp, b: Timestamp) -> None:
    assert (a < b) == (a.encode() < b.encode())
    assert (a == b) == (a.encode() == b.encode())


def test_encoding_is_fixed_width_and_readable() -> None:
    assert Timestamp(1_732_540_000_000, 10, "alice").encode() == "0001732540000000-000a-alice"


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "hello",
        "0001732540000000-0000-",
        "1732540000000-0000-a",
        "0001732540000000-00000-a",
        "0001732540000000-000G-a",
        "0001732540000000-0000-a b",
        "-0001732540000000-0000-a",
    ],
)
def test_decode_rejects_junk_with_a_clear_message(junk: str) -> None:
    with pytest.raises(ValueError, match=r"HLC stamp|node id"):
        Timestamp.decode(junk)


def test_decode_rejects_non_text() -> None:
    with pytest.raises(ValueError, match="is text"):
        Timestamp.decode(1234)  # type: ignore[arg-type]


@pytest.mark.parametrize("args", [(-1, 0, "a"), (0, MAX_LOGICAL + 1, "a"), (0, 0, ""), (0, 0, "x" * 65)])
def test_invalid_stamps_are_refused(args: tuple[int, int, str]) -> None:
    with pytest.raises(ValueError):
        Timestamp(*args)


def test_total_order_uses_node_as_tiebreak() -> None:
    assert Timestamp(5, 1, "a") < Timestamp(5, 1, "b") < Timestamp(5, 2, "a") < Timestamp(6, 0, "a")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=-3600, max_value=3600), min_size=1, max_size=60))
def test_ticks_are_strictly_monotonic_even_when_the_wall_clock_goes_backwards(jumps: list[float]) -> None:
    wall = Wall()
    clock = HybridClock("a", now=wall)
    previous = clock.tick()
    for jump in jumps:
        wall.at = T0 + jump
        stamp = clock.tick()
        assert stamp > previous
        previous = stamp


def test_tick_follows_the_wall_clock_when_it_moves_forward() -> None:
    wall = Wall()
    clock = HybridClock("a", now=wall)
    assert clock.tick() == Timestamp(int(T0 * 1000), 0, "a")
    assert clock.tick() == Timestamp(int(T0 * 1000), 1, "a")
    wall.at += 1
    assert clock.tick() == Timestamp(int(T0 * 1000) + 1000, 0, "a")


def test_a_full_logical_counter_carries_into_physical_time() -> None:
    clock = HybridClock("a", now=Wall())
    clock.observe(Timestamp(int(T0 * 1000), MAX_LOGICAL, "b"))
    stamp = clock.tick()
    assert stamp == Timestamp(int(T0 * 1000) + 1, 1, "a")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["tick", "observe"]),
            st.floats(-30, 30),
            st.integers(-30_000, 30_000),
            st.integers(0, MAX_LOGICAL),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_observe_is_causal_and_never_goes_back(events: list[tuple[str, float, int, int]]) -> None:
    wall = Wall()
    clock = HybridClock("local", now=wall)
    previous = clock.tick()
    for kind, jump, remote_offset_ms, logical in events:
        wall.at = T0 + jump
        if kind == "tick":
            stamp = clock.tick()
        else:
            remote = Timestamp(int(T0 * 1000) + remote_offset_ms, logical, "remote")
            stamp = clock.observe(remote)
            assert stamp > remote
        assert stamp > previous
        previous = stamp


@settings(max_examples=200, deadline=None)
@given(
    skews=st.lists(st.sampled_from([0.0, 300.0, -300.0, 0.001, -45.0]), min_size=3, max_size=3),
    hops=st.lists(st.tuples(st.integers(0, 2), st.floats(0, 5)), min_size=1, max_size=30),
)
def test_skewed_clocks_do_not_flip_causally_related_writes(skews: list[float], hops: list[tuple[int, float]]) -> None:
    """A chain of writes, each made after seeing the previous one, on nodes up to 5 minutes apart, stays in order."""
    wall = Wall()
    clocks = [
        HybridClock(f"n{i}", now=lambda skew=skew: wall() + skew, max_drift=600.0) for i, skew in enumerate(skews)
    ]
    previous = clocks[hops[0][0]].tick()
    for node, elapsed in hops[1:]:
        wall.at += elapsed
        clocks[node].observe(previous)
        stamp = clocks[node].tick()
        assert stamp > previous
        previous = stamp


def test_a_node_five_minutes_ahead_still_orders_a_reply_after_its_write() -> None:
    wall = Wall()
    ahead = HybridClock("ahead", now=lambda: wall() + 300, max_drift=600.0)
    honest = HybridClock("honest", now=wall, max_drift=600.0)
    theirs = ahead.tick()
    honest.observe(theirs)
    mine = honest.tick()  # made after seeing theirs, although the honest wall clock is 5 minutes behind
    assert mine > theirs


def test_drift_beyond_the_limit_is_refused_and_leaves_the_clock_alone() -> None:
    wall = Wall()
    clock = HybridClock("local", now=wall, max_drift=60.0)
    before = clock.tick()
    far = Timestamp(int((T0 + 61) * 1000), 0, "broken")
    with pytest.raises(ClockDriftError, match=r"61\.000 s ahead.*max_drift 60\.0 s"):
        clock.observe(far)
    assert clock.last == before
    assert clock.tick() < far  # the far stamp still orders after everything local: ordering is untouched
    near = Timestamp(int((T0 + 59) * 1000), 0, "fine")
    assert clock.observe(near) > near


def test_constructor_validates_node_and_drift() -> None:
    with pytest.raises(ValueError, match="node id"):
        HybridClock("has space")
    with pytest.raises(ValueError, match="max_drift"):
        HybridClock("a", max_drift=-1)


def test_default_clock_uses_wall_time() -> None:
    stamp = HybridClock("a").tick()
    assert stamp.physical > int(T0 * 1000)
