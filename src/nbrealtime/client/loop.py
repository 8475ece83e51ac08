"""One background asyncio loop per process, so notebook code can stay synchronous.

The official Python realtime client is async-only. The kernel's own loop belongs to the kernel (and is blocked while a
cell runs), so nbrealtime runs its own loop on a daemon thread: remote changes keep arriving while a cell executes,
and plain ``room.send(...)`` works from any thread.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["BackgroundLoop", "background_loop"]

T = TypeVar("T")


class BackgroundLoop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="nbrealtime-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self.loop.is_closed()

    def in_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coroutine`` on the loop; safe from any thread."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the loop and wait for its result (not callable from the loop's own thread)."""
        if self.in_loop_thread():
            coroutine.close()
            raise RuntimeError("nbrealtime: blocking call made from the background loop; use the async API there")
        future = self.submit(coroutine)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            if future.done() and not future.cancelled():
                raise  # the coroutine's own TimeoutError (e.g. AckTimeout), not ours: keep its type and message
            future.cancel()
            raise TimeoutError(f"nbrealtime: no answer within {timeout} s") from None

    async def bridge(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await ``coroutine`` on the background loop from any event loop (the ``a``-prefixed public methods)."""
        if self.in_loop_thread():
            return await coroutine
        return await asyncio.wrap_future(self.submit(coroutine))

    def call_soon(self, callback: Callable[..., Any], *args: Any) -> None:
        self.loop.call_soon_threadsafe(callback, *args)

    def stop(self, timeout: float = 5) -> None:
        """Cancel what is still running, then stop the loop and its thread."""
        if not self.running:
            return

        async def _cancel_all() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            self.submit(_cancel_all()).result(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()


_lock = threading.Lock()
_instance: BackgroundLoop | None = None


def background_loop() -> BackgroundLoop:
    """The process's background loop, started on first use."""
    global _instance
    with _lock:
        if _instance is None or not _instance.running:
            _instance = BackgroundLoop()
        return _instance


@atexit.register
def _shutdown() -> None:
    global _instance
    with _lock:
        instance, _instance = _instance, None
    if instance is not None:
        instance.stop()
