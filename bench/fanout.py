"""Broadcast fan-out: one publisher, S subscribers of one channel, raw protocol clients (see phoenix.py).

Throughput: the publisher sends M broadcasts as fast as its socket takes them; deliveries per second = M × S / (last
delivery − first send). M is bounded so that no subscriber's server-side queue passes the server's slow-consumer
limit (10,000 messages). Then the ack round trip: a publisher that joined with ``broadcast.ack`` sends one
broadcast at a time and waits for the server's ``phx_reply``, with the same S subscribers in the channel.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

from common import BenchServer, Summary, Worker, all_expect, now_ns, wait_go
from phoenix import PhoenixSocket, close_all

SUBSCRIBER_PROCESSES = 2


@dataclass
class FanoutResult:
    subscribers: int
    messages: int
    deliveries_per_second: float
    lost: int
    ack: Summary


def subscribers(pipe: Any, *, ws_url: str, key: str, channel: str, count: int, messages: int) -> None:
    async def main() -> None:
        sockets = [await PhoenixSocket.connect(ws_url, key) for _ in range(count)]
        for socket in sockets:
            await socket.join(channel)
        pipe.send("ready")
        await asyncio.to_thread(wait_go, pipe)
        stats = [[0, 0, 0] for _ in sockets]  # received, first, last

        async def read(socket: PhoenixSocket, stat: list[int]) -> None:
            while stat[0] < messages:
                frame = await socket.websocket.recv()
                if b'"broadcast"' in (frame if isinstance(frame, bytes) else frame.encode()):
                    stat[0] += 1
                    stat[2] = now_ns()
                    if stat[0] == 1:
                        stat[1] = stat[2]

        tasks = [asyncio.create_task(read(s, stat)) for s, stat in zip(sockets, stats, strict=True)]
        await asyncio.wait(tasks, timeout=120)
        for task in tasks:
            task.cancel()
        pipe.send(stats)
        await asyncio.to_thread(wait_go, pipe)  # stay in the channel while the ack round trip is measured
        await close_all(sockets)

    asyncio.run(main())


def publisher(pipe: Any, *, ws_url: str, key: str, channel: str, messages: int, acks: int) -> None:
    async def main() -> None:
        socket = await PhoenixSocket.connect(ws_url, key)
        topic = await socket.join(channel)
        acked = await PhoenixSocket.connect(ws_url, key)
        ack_topic = await acked.join(channel, ack=True)
        pipe.send("ready")
        await asyncio.to_thread(wait_go, pipe)
        start = now_ns()
        for i in range(messages):
            await socket.broadcast(topic, "m", {"i": i})
        pipe.send(start)
        await asyncio.to_thread(wait_go, pipe)  # the subscribers have counted
        rtts = []
        deadline = time.monotonic() + 30
        for i in range(acks):
            if time.monotonic() > deadline:
                break
            sent = now_ns()
            ref = await acked.broadcast(ack_topic, "a", {"i": i})
            await asyncio.wait_for(acked.reply_to(ref), 10)
            rtts.append((now_ns() - sent) / 1e6)
            await asyncio.sleep(0.002)
        pipe.send(rtts)
        await close_all([socket, acked])

    asyncio.run(main())


def measure(server: BenchServer, count: int, total_deliveries: int, acks: int) -> FanoutResult:
    messages = max(200, min(5_000, total_deliveries // count))
    channel = f"fan-{uuid.uuid4().hex[:8]}"
    common = {"ws_url": server.ws_url, "key": server.anon_key, "channel": channel}
    parts = [count // SUBSCRIBER_PROCESSES + (i < count % SUBSCRIBER_PROCESSES) for i in range(SUBSCRIBER_PROCESSES)]
    subs = [Worker(subscribers, count=n, messages=messages, **common) for n in parts if n]
    pub = Worker(publisher, messages=messages, acks=acks, **common)
    workers = [*subs, pub]
    try:
        all_expect(workers, 60)
        time.sleep(0.3)
        for worker in workers:
            worker.send("go")
        start = pub.expect(60)
        stats = [stat for worker in subs for stat in worker.expect(150)]
        received = sum(stat[0] for stat in stats)
        last = max(stat[2] for stat in stats)
        rate = received / ((last - start) / 1e9) if last > start else float("nan")
        pub.send("go")
        rtts = pub.expect(60)
        for worker in subs:
            worker.send("done")
        return FanoutResult(count, messages, rate, messages * count - received, Summary.of(rtts))
    finally:
        for worker in workers:
            worker.stop(20)
