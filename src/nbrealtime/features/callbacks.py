"""User callbacks: run in order on one dispatcher thread, and a failing one never breaks a subscription.

Callbacks do not run on the background loop itself: a callback that calls the blocking API (``room.send`` from inside
``room.on(...)`` is the natural thing to write) would otherwise deadlock the loop it waits on. One thread per
process keeps the order in which events arrived.

Each callback runs in the context (``contextvars``) that was current when it was registered: in a Jupyter kernel
that carries the parent message of the registering cell, so what a callback prints appears under that cell.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["CallbackList"]

T = TypeVar("T")
log = logging.getLogger("nbrealtime.callbacks")

_Job = tuple[str, list[tuple[Callable[..., None], contextvars.Context]], tuple[Any, ...]]
_jobs: queue.Queue[_Job] = queue.Queue()
_thread: threading.Thread | None = None
_thread_lock = threading.Lock()


def _run() -> None:
    while True:
        what, callbacks, args = _jobs.get()
        for callback, context in callbacks:
            try:
                context.copy().run(callback, *args)
            except Exception:
                log.exception("a %s callback raised; the subscription goes on", what)


def _submit(job: _Job) -> None:
    global _thread
    if _thread is None or not _thread.is_alive():  # checked again under the lock; the common case takes none
        with _thread_lock:
            if _thread is None or not _thread.is_alive():
                _thread = threading.Thread(target=_run, name="nbrealtime-callbacks", daemon=True)
                _thread.start()
    _jobs.put(job)


class CallbackList(Generic[T]):
    def __init__(self, what: str) -> None:
        self.what = what
        self._callbacks: list[tuple[Callable[..., None], contextvars.Context]] = []

    def add(self, callback: Callable[..., None]) -> Callable[..., None]:
        self._callbacks.append((callback, contextvars.copy_context()))
        return callback

    def remove(self, callback: Callable[..., None]) -> None:
        self._callbacks = [(known, context) for known, context in self._callbacks if known is not callback]

    def __len__(self) -> int:
        return len(self._callbacks)

    def fire(self, *args: object) -> None:
        """Queue a call of every registered callback with ``args`` (returns at once)."""
        if self._callbacks:
            _submit((self.what, list(self._callbacks), args))
