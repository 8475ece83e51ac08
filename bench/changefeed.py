"""Change feed: a row inserted through the data API until the subscriber's ``postgres_changes`` callback.

* nbrealtime: ``INSERTERS`` inserter processes POST ``{"sent_ns": now}`` to ``/rest/v1/bench_events`` (service_role
  key, ``Prefer: return=minimal``, up to ``IN_FLIGHT`` keep-alive connections each, with the minimal client of
  ``rawhttp.py``); the subscriber process runs the official realtime client (realtime-py, as kernels do) with an
  INSERT binding on the table, and stops the clock in its callback.
* the driver's headroom: the same inserters against a no-op endpoint (``rawhttp.noop_server``: 201, nothing else);
  the latency there is the POST round trip. Whatever rate they reach there is what they can offer the server.
* the floor, PostgreSQL 15 on this machine (a throwaway cluster, tests/postgres.py): ``LISTEN`` in one asyncpg
  connection, ``SELECT pg_notify(...)`` from another process; and, closer to a row change, an ``INSERT`` whose
  AFTER trigger calls ``pg_notify`` — with fsync off, and at the embedded server's durability (fsync, full-page
  writes and synchronous commit on; the embedded server commits every request with SQLite ``synchronous=FULL``).

Each plan step is (rate, seconds). Inserts are paced on an absolute schedule; when the target cannot keep up, the
achieved rate is reported beside the target.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from common import BenchServer, Summary, Worker, all_expect, now_ns, wait_go
from rawhttp import noop_server

IN_FLIGHT = 32  # per inserter process
INSERTERS = 2
CHANNEL = "bench_events"
TRIGGER_SQL = """
create table if not exists bench_events (
  id bigserial primary key, sent_ns bigint not null, note text not null default ''
);
create or replace function bench_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('bench_rows', new.sent_ns::text);
  return new;
end $$;
drop trigger if exists bench_notify on bench_events;
create trigger bench_notify after insert on bench_events for each row execute function bench_notify();
"""


@dataclass
class FeedResult:
    system: str
    target_rate: float
    achieved_rate: float
    summary: Summary
    write: Summary  # the inserts' own round trips (POST, or the asyncpg statement): the part before the feed


# ---------------------------------------------------------------------------------------------- subscribers


def realtime_subscriber(pipe: Any, *, url: str, key: str) -> None:
    async def main() -> None:
        from realtime import AsyncRealtimeClient, RealtimeSubscribeStates

        received: list[tuple[int, int]] = []
        client = AsyncRealtimeClient(f"{url}/realtime/v1", token=key, auto_reconnect=False)
        await client.connect()
        channel = client.channel("bench-changes")

        def on_change(payload: dict[str, Any]) -> None:
            received.append((int(payload["data"]["record"]["sent_ns"]), now_ns()))

        channel.on_postgres_changes("INSERT", on_change, table=CHANNEL, schema="public")
        states: list[Any] = []
        await channel.subscribe(lambda state, _error: states.append(state))
        for _ in range(200):
            if RealtimeSubscribeStates.SUBSCRIBED in states:
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"could not subscribe: {states}")
        await _serve_subscriber(pipe, received)
        await client.close()

    asyncio.run(main())


def listen_subscriber(pipe: Any, *, dsn: str, channel: str) -> None:
    async def main() -> None:
        import asyncpg

        received: list[tuple[int, int]] = []
        connection = await asyncpg.connect(dsn)
        await connection.add_listener(channel, lambda *args: received.append((int(args[3]), now_ns())))
        await _serve_subscriber(pipe, received)
        await connection.close()

    asyncio.run(main())


async def _serve_subscriber(pipe: Any, received: list[tuple[int, int]]) -> None:
    """ready → (on each "take": send and clear what arrived) … "stop"."""
    pipe.send("ready")
    while True:
        command = await asyncio.to_thread(wait_go, pipe, 600)
        if command == "stop":
            return
        expected = command
        deadline = time.monotonic() + 5
        while len(received) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        pipe.send(list(received))
        received.clear()


# ---------------------------------------------------------------------------------------------- inserters


def inserter(pipe: Any, *, mode: str, target: str, key: str = "") -> None:
    """mode "rest": POST to the data API at ``target``; "noop": POST to the no-op endpoint at ``target``;
    "notify"/"trigger": asyncpg on the DSN ``target``."""

    async def main() -> None:
        if mode in ("rest", "noop"):
            from rawhttp import RawPoster

            headers = {"apikey": key, "Authorization": f"Bearer {key}", "Prefer": "return=minimal"}
            poster = RawPoster(target, IN_FLIGHT, headers)

            async def insert(sent: int) -> None:
                await poster.post(f"/rest/v1/{CHANNEL}", b'{"sent_ns":%d}' % sent)

            close = poster.close
        else:
            import asyncpg

            pool = await asyncpg.create_pool(target, min_size=4, max_size=IN_FLIGHT)  # commits may group
            sql = (
                "select pg_notify('bench', $1::text)"
                if mode == "notify"
                else "insert into bench_events (sent_ns) values ($1::bigint)"
            )

            async def insert(sent: int) -> None:
                await pool.execute(sql, str(sent) if mode == "notify" else sent)

            close = pool.close
        pipe.send("ready")
        while True:
            command = await asyncio.to_thread(wait_go, pipe, 600)
            if command == "stop":
                break
            rate, seconds = command
            pipe.send(await _paced_inserts(insert, rate, seconds))
        await close()

    asyncio.run(main())


async def _paced_inserts(insert: Any, rate: float, seconds: float) -> tuple[int, float, list[float]]:
    """Inserts at ``rate``/s for ``seconds`` (absolute schedule, at most IN_FLIGHT at once; none started after
    ``seconds`` + 1 s when the target falls behind); return (started, elapsed seconds, round trips in ms of those that
    succeeded)."""
    slots = asyncio.Semaphore(IN_FLIGHT)
    period = 1e9 / rate
    count = max(1, round(rate * seconds))
    start = now_ns()
    stop_at = start + (seconds + 1) * 1e9
    round_trips: list[float] = []

    async def one() -> None:
        try:
            sent = now_ns()
            await insert(sent)
            round_trips.append((now_ns() - sent) / 1e6)
        finally:
            slots.release()

    tasks = []
    for i in range(count):
        delay = (start + i * period - now_ns()) / 1e9
        if delay > 0:
            await asyncio.sleep(delay)
        await slots.acquire()
        if now_ns() > stop_at:
            slots.release()
            break
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks, return_exceptions=True)
    return len(tasks), max((now_ns() - start) / 1e9, count / rate), round_trips


# ---------------------------------------------------------------------------------------------- driver


def _run_rates(
    system: str, subscriber: Worker | None, writers: list[Worker], plan: list[tuple[float, float]]
) -> list[FeedResult]:
    """Each step's rate is split over ``writers``; latency is insert → subscriber, or the round trip without one."""
    results = []
    workers = [*writers, *([subscriber] if subscriber else [])]
    all_expect(workers, 60)
    for step, (rate, duration) in enumerate([(50.0, 0.4), *plan]):  # step 0 unmeasured: connections warm
        for writer in writers:
            writer.send((rate / len(writers), duration))
        sent = all_expect(writers, duration + 120)
        started = sum(n for n, _, _ in sent)
        done = sum(len(trips) for _, _, trips in sent)
        seconds = max(s for _, s, _ in sent)
        if subscriber is None:
            latencies, lost = [ms for _, _, trips in sent for ms in trips], started - done
        else:
            subscriber.send(done)
            latencies = [(got - at) / 1e6 for at, got in subscriber.expect(60)]
            lost = done - len(latencies)
        if step:
            trips = Summary.of([ms for _, _, trips in sent for ms in trips])
            results.append(FeedResult(system, rate, done / seconds, Summary.of(latencies, lost=lost), trips))
    return results


@contextlib.contextmanager
def _stopped(workers: list[Worker]) -> Iterator[list[Worker]]:
    try:
        yield workers
    finally:
        for worker in workers:
            with contextlib.suppress(Exception):
                worker.send("stop")
            worker.stop(20)


def _inserters(mode: str, target: str, key: str = "") -> list[Worker]:
    count = INSERTERS if mode in ("rest", "noop") else 1
    return [Worker(inserter, mode=mode, target=target, key=key) for _ in range(count)]


def measure_noop(plan: list[tuple[float, float]]) -> list[FeedResult]:
    """The driver against an endpoint that does nothing: the rates it can offer and its own round trip."""
    endpoint = Worker(noop_server)
    try:
        port = endpoint.expect(30)
        with _stopped(_inserters("noop", f"http://127.0.0.1:{port}")) as writers:
            return _run_rates("driver → no-op endpoint (POST round trip)", None, writers, plan)
    finally:
        with contextlib.suppress(Exception):
            endpoint.send("stop")
        endpoint.stop(10)


def measure_nbrealtime(server: BenchServer, plan: list[tuple[float, float]]) -> list[FeedResult]:
    subscriber = Worker(realtime_subscriber, url=server.url, key=server.anon_key)
    with _stopped([subscriber, *_inserters("rest", server.url, server.service_key)]) as workers:
        return _run_rates("nbrealtime (REST → postgres_changes)", subscriber, workers[1:], plan)


def measure_postgres(
    plan: list[tuple[float, float]], *, notify: bool = True, durable: bool = False
) -> tuple[list[FeedResult], str]:
    """The floors on a throwaway cluster (bare NOTIFY if ``notify``; always INSERT + trigger), fsync on if
    ``durable``; returns (results, PostgreSQL version) or raises PostgresUnavailable."""
    from tests.postgres import PostgresCluster

    cluster = PostgresCluster.start(durable=durable)
    suffix = ", fsync on" if durable else ", fsync off"
    try:
        cluster.psql(TRIGGER_SQL)
        version = cluster.psql("show server_version").strip()
        dsn = f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
        results = []
        modes = [("notify", "bench", "PostgreSQL NOTIFY → LISTEN")] if notify else []
        modes.append(("trigger", "bench_rows", "PostgreSQL INSERT + trigger pg_notify → LISTEN"))
        for mode, channel, label in modes:
            subscriber = Worker(listen_subscriber, dsn=dsn, channel=channel)
            with _stopped([subscriber, *_inserters(mode, dsn)]) as workers:
                results.extend(_run_rates(label + suffix, subscriber, workers[1:], plan))
        return results, version
    finally:
        cluster.stop()
