"""Change feed: a row inserted through the data API until the subscriber's ``postgres_changes`` callback.

* nbrealtime: an inserter process POSTs ``{"sent_ns": now}`` to ``/rest/v1/bench_events`` (service_role key,
  ``Prefer: return=minimal``, up to ``IN_FLIGHT`` requests in flight on a keep-alive pool); the subscriber process
  runs the official realtime client (realtime-py, as kernels do) with an INSERT binding on the table, and stops the
  clock in its callback.
* the floor, PostgreSQL 15 on this machine (a throwaway cluster, tests/postgres.py): ``LISTEN`` in one asyncpg
  connection, ``SELECT pg_notify(...)`` from another process; and, closer to a row change, an ``INSERT`` whose
  AFTER trigger calls ``pg_notify``.

Each plan step is (rate, seconds). Inserts are paced on an absolute schedule; when the target cannot keep up, the
achieved rate is reported beside the target.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from common import BenchServer, Summary, Worker, all_expect, now_ns, wait_go

IN_FLIGHT = 32
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
    """mode "rest": POST to the data API at ``target``; "notify"/"trigger": asyncpg on the DSN ``target``."""

    async def main() -> None:
        if mode == "rest":
            import httpx

            limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
            http = httpx.AsyncClient(base_url=target, limits=limits, timeout=30)
            headers = {"apikey": key, "Authorization": f"Bearer {key}", "Prefer": "return=minimal"}

            async def insert(sent: int) -> None:
                response = await http.post(f"/rest/v1/{CHANNEL}", json={"sent_ns": sent}, headers=headers)
                response.raise_for_status()

            close = http.aclose
        else:
            import asyncpg

            pool = await asyncpg.create_pool(target, min_size=4, max_size=8)
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


async def _paced_inserts(insert: Any, rate: float, seconds: float) -> tuple[int, float]:
    """Inserts at ``rate``/s for ``seconds`` (absolute schedule, at most IN_FLIGHT at once; none started after
    ``seconds`` + 1 s when the target falls behind); return (done, elapsed seconds)."""
    slots = asyncio.Semaphore(IN_FLIGHT)
    period = 1e9 / rate
    count = max(1, round(rate * seconds))
    start = now_ns()
    stop_at = start + (seconds + 1) * 1e9
    done = 0

    async def one() -> None:
        nonlocal done
        try:
            await insert(now_ns())
            done += 1
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
    return done, max((now_ns() - start) / 1e9, count / rate)


# ---------------------------------------------------------------------------------------------- driver


def _run_rates(system: str, subscriber: Worker, writer: Worker, plan: list[tuple[float, float]]) -> list[FeedResult]:
    results = []
    all_expect([subscriber, writer], 60)
    time.sleep(0.3)
    # a few unmeasured inserts: connections warm, code paths imported
    writer.send((50.0, 0.4))
    done, _ = writer.expect(60)
    subscriber.send(done)
    subscriber.expect(30)
    for rate, duration in plan:
        writer.send((rate, duration))
        done, seconds = writer.expect(duration + 120)
        subscriber.send(done)
        received = subscriber.expect(60)
        latencies = [(got - sent) / 1e6 for sent, got in received]
        results.append(FeedResult(system, rate, done / seconds, Summary.of(latencies, lost=done - len(received))))
    return results


def measure_nbrealtime(server: BenchServer, plan: list[tuple[float, float]]) -> list[FeedResult]:
    subscriber = Worker(realtime_subscriber, url=server.url, key=server.anon_key)
    writer = Worker(inserter, mode="rest", target=server.url, key=server.service_key)
    try:
        return _run_rates("nbrealtime (REST → postgres_changes)", subscriber, writer, plan)
    finally:
        for worker in (subscriber, writer):
            worker.send("stop")
            worker.stop(20)


def measure_postgres(plan: list[tuple[float, float]], *, trigger: bool = True) -> tuple[list[FeedResult], str]:
    """The floors on a throwaway cluster (the trigger one if ``trigger``); returns (results, PostgreSQL version) or
    raises PostgresUnavailable."""
    from tests.postgres import PostgresCluster

    cluster = PostgresCluster.start()
    try:
        cluster.psql(TRIGGER_SQL)
        version = cluster.psql("show server_version").strip()
        dsn = f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
        results = []
        modes = [("notify", "bench", "PostgreSQL NOTIFY → LISTEN")]
        if trigger:
            modes.append(("trigger", "bench_rows", "PostgreSQL INSERT + trigger pg_notify → LISTEN"))
        for mode, channel, label in modes:
            subscriber = Worker(listen_subscriber, dsn=dsn, channel=channel)
            writer = Worker(inserter, mode=mode, target=dsn)
            try:
                results.extend(_run_rates(label, subscriber, writer, plan))
            finally:
                for worker in (subscriber, writer):
                    worker.send("stop")
                    worker.stop(20)
        return results, version
    finally:
        cluster.stop()
