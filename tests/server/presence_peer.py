"""A separate process that joins a channel, tracks presence, says so, and waits to be killed."""

from __future__ import annotations

import asyncio
import sys

from supabase import acreate_client


async def main(url: str, key: str, room: str, presence_key: str) -> None:
    client = await acreate_client(url, key)
    channel = client.channel(room, {"config": {"presence": {"key": presence_key}}})
    await channel.subscribe()
    await channel.track({"name": presence_key})
    print("tracked", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
