"""User callbacks: a failing one is logged and never breaks the subscription that called it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["CallbackList"]

T = TypeVar("T")
log = logging.getLogger("nbrealtime.callbacks")


class CallbackList(Generic[T]):
    def __init__(self, what: str) -> None:
        self.what = what
        self._callbacks: list[Callable[..., None]] = []

    def add(self, callback: Callable[..., None]) -> Callable[..., None]:
        self._callbacks.append(callback)
        return callback

    def remove(self, callback: Callable[..., None]) -> None:
        self._callbacks.remove(callback)

    def __len__(self) -> int:
        return len(self._callbacks)

    def fire(self, *args: object) -> None:
        for callback in list(self._callbacks):
            try:
                callback(*args)
            except Exception:
                log.exception("a %s callback raised; the subscription goes on", self.what)
