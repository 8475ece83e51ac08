"""Three clients, one server, random interleavings: every strategy converges; merge keeps one-sided changes.

Each example runs random writes (insert/update/upsert/delete, some refused by the server's policy), sends that lose
the request or the reply (and are retried with the same idempotency key), change events delivered in order but late,
skewed clocks, and kernel restarts (the outbox file survives, memory does not). Then the network heals and everything
drains: all clients must show exactly the server's rows, with nothing pending and every applied write confirmed.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from .simulation import REJECTED, Client, Server, World

NAMES = ("ann", "bob", "cy")
KEYS = st.sampled_from(["k0", "k1", "k2"])  # few keys: clients must collide often
CLIENT = st.integers(0, len(NAMES) - 1)
SKEWS = st.lists(st.sampled_from([0.0, 0.25, -3.0, 300.0, -300.0]), min_size=3, max_size=3)
FATES = st.sampled_from(["ok", "ok", "lose_request", "lose_reply"])


def actions(ops: list[str], fields: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[tuple]]:
    write = st.tuples(st.just("write"), CLIENT, st.sampled_from(ops), KEYS, st.sampled_from(fields), values)
    send = st.tuples(st.just("send"), CLIENT, FATES)
    deliver = st.tuples(st.just("deliver"), CLIENT, st.integers(1, 4))
    tick = st.tuples(st.just("tick"), st.floats(0, 10))
    restart = st.tuples(st.just("restart"), CLIENT, st.booleans())
    resolve = st.tuples(st.just("resolve"), CLIENT, st.integers(0, 3))
    # a burst: every client edits the same row before hearing from the others — the concurrent edit we are after
    burst = st.tuples(st.just("burst"), st.sampled_from(ops), KEYS, st.sampled_from(fields), values)
    step = st.one_of(
        write, write, write, burst, send, send, send, send, deliver, deliver, deliver, tick, restart, resolve
    )
    return st.lists(step, min_size=10, max_size=60)


GENERAL = actions(
    ["insert", "update", "upsert", "delete"],
    ["a", "b", "own"],
    st.sampled_from([0, 1, 2, 3, 4, 5, 6, REJECTED]),  # one write in eight is refused by the server's policy
)
ONE_SIDED = actions(["insert", "update", "upsert"], ["own"], st.integers(0, 1000))
SPECS = st.sampled_from(["lww", "merge", "manual", "mixed"])
EXAMPLES = int(os.environ.get("NBRT_SYNC_EXAMPLES", "200"))  # raise it for a longer hunt
# Real outbox files, on tmpfs where there is one: fsync there is cheap, and SQLite's behaviour is the same.
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def run(
    spec: str, skews: list[float], steps: list[tuple], seed: int, directory: Path, *, echo: bool = True
) -> tuple[Server, list[Client]]:
    world, server, rng = World(), Server(), random.Random(seed)
    specs = ["lww", "merge", "manual"] if spec == "mixed" else [spec] * 3
    clients = [
        Client(name, server, world, directory, skew=skew, spec=specs[i], rng=random.Random(seed + i), echo=echo)
        for i, (name, skew) in enumerate(zip(NAMES, skews, strict=True))
    ]
    seen: dict[tuple[str, str], int] = {}
    for step in steps:
        kind, args = step[0], step[1:]
        if kind in ("write", "burst"):
            for index, op, key, name, value in writes(step):
                field = f"own_{NAMES[index]}" if name == "own" else name
                clients[index].write(op, key, {field: value})
        elif kind == "send":
            clients[args[0]].send(args[1])
        elif kind == "deliver":
            clients[args[0]].deliver(args[1])
        elif kind == "tick":
            world.now += args[0]
        elif kind == "restart":
            clients[args[0]].restart(load_first=args[1])
        else:
            clients[args[0]].resolve_one(args[1])
        never_goes_back(clients, seen)
    drain(clients, world, rng)
    return server, clients


def never_goes_back(clients: list[Client], seen: dict[tuple[str, str], int]) -> None:
    """The confirmed state a client holds only moves forward: late events and stale replies never undo news."""
    for client in clients:
        for key in ("k0", "k1", "k2"):
            version = client.store.version(key)
            if version is not None:
                assert version >= seen.get((client.name, key), 0), (client.name, key)
                seen[(client.name, key)] = version


def writes(step: tuple) -> list[tuple]:
    """The (client, op, key, field, value) writes a step makes."""
    if step[0] == "write":
        return [step[1:]]
    if step[0] == "burst":
        return [(index, *step[1:]) for index in range(len(NAMES))]
    return []


def drain(clients: list[Client], world: World, rng: random.Random) -> None:
    """The network heals: deliver everything, send everything, and people settle the conflicts left to them."""
    for _ in range(5000):
        moved = False
        for client in clients:
            moved = client.deliver(10**9) > 0 or moved
        for client in clients:
            moved = client.send("ok") or moved
        if moved:
            continue
        waiting = [client for client in clients if client.conflicts]
        if waiting:
            for client in waiting:
                client.resolve_one(rng.randrange(4))
        elif any(client.outbox.pending_count for client in clients):
            world.now += 10.0  # past every backoff (cap 8 s)
        else:
            return
    raise AssertionError("the simulation did not drain")


def check_converged(server: Server, clients: list[Client]) -> None:
    rows = server.live_rows()
    conflicts = sum(client.rejections for client in clients)
    event(f"conflicts: {'0' if not conflicts else '1-2' if conflicts < 3 else '3+'}")
    event(f"restarts: {sum(client.generation for client in clients) > 0}")
    event(f"rows at the end: {len(rows)}")
    for client in clients:
        assert client.view() == rows, client.name
        assert client.store.pending_writes() == []
        assert client.outbox.pending_count == 0 and client.idle
        applied = {write_id for write_id, by in server.applied_by.items() if by == client.name}
        assert applied <= client.confirmed, "the server applied a write its client never saw confirmed"
    assert [c.drift_errors for c in clients] == [0, 0, 0]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=SPECS, skews=SKEWS, steps=GENERAL, seed=st.integers(0, 2**16), echo=st.booleans())
@example(  # a lost reply, retried after a newer change arrived: the late (cached) reply must not undo the news
    spec="lww",
    skews=[0.0, 0.0, 0.0],
    steps=[
        ("write", 0, "insert", "k0", "a", 1),
        ("send", 0, "ok"),
        ("deliver", 0, 5),
        ("deliver", 1, 5),
        ("write", 0, "update", "k0", "a", 2),
        ("send", 0, "lose_reply"),
        ("write", 1, "update", "k0", "a", 3),
    ],
    seed=0,
    echo=False,
)
def test_random_interleavings_converge_under_every_strategy(
    spec: str, skews: list[float], steps: list[tuple], seed: int, echo: bool
) -> None:
    with tempfile.TemporaryDirectory(dir=SCRATCH) as directory:
        server, clients = run(spec, skews, steps, seed, Path(directory), echo=echo)
        try:
            check_converged(server, clients)
            for client in clients:
                if client.strategy.name == "manual":
                    # every conflict the server reported reached the person, none was settled behind their back
                    assert client.deferred == client.rejections
                else:
                    assert client.deferred == 0
        finally:
            for client in clients:
                client.close()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(skews=SKEWS, steps=ONE_SIDED, seed=st.integers(0, 2**16))
def test_merge_keeps_every_one_sided_field_change(skews: list[float], steps: list[tuple], seed: int) -> None:
    """Each client writes only its own field: under merge, each one's last value survives every conflict."""
    with tempfile.TemporaryDirectory(dir=SCRATCH) as directory:
        server, clients = run("merge", skews, steps, seed, Path(directory))
        try:
            check_converged(server, clients)
            last: dict[tuple[str, str], Any] = {}
            for step in steps:
                for index, _, key, _, value in writes(step):
                    last[(key, f"own_{NAMES[index]}")] = value
            rows = server.live_rows()
            for (key, field), value in last.items():
                assert rows[key][field] == value, (key, field)
        finally:
            for client in clients:
                client.close()
