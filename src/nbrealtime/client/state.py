"""The connection's state machine: explicit states and the only transitions allowed between them.

The realtime client's own reconnect logic can lose subscriptions (DESIGN.md §5.2), so nbrealtime supervises the
connection itself, and every change of state goes through here, where an impossible one raises.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

__all__ = ["ConnectionState", "IllegalTransition", "StateMachine"]


class ConnectionState(enum.StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"
    TOKEN_EXPIRED = "token-expired"
    CLOSED = "closed"


_S = ConnectionState
TRANSITIONS: dict[ConnectionState, frozenset[ConnectionState]] = {
    _S.CONNECTING: frozenset({_S.CONNECTED, _S.RECONNECTING, _S.OFFLINE, _S.TOKEN_EXPIRED, _S.CLOSED}),
    _S.CONNECTED: frozenset({_S.RECONNECTING, _S.TOKEN_EXPIRED, _S.CLOSED}),
    _S.RECONNECTING: frozenset({_S.CONNECTED, _S.OFFLINE, _S.TOKEN_EXPIRED, _S.CLOSED}),
    _S.OFFLINE: frozenset({_S.RECONNECTING, _S.CONNECTED, _S.TOKEN_EXPIRED, _S.CLOSED}),
    _S.TOKEN_EXPIRED: frozenset({_S.RECONNECTING, _S.CONNECTED, _S.OFFLINE, _S.CLOSED}),
    _S.CLOSED: frozenset(),
}


class IllegalTransition(RuntimeError):
    pass


class StateMachine:
    def __init__(self, on_change: Callable[[ConnectionState], None] | None = None) -> None:
        self.state = ConnectionState.CONNECTING
        self._on_change = on_change

    def move(self, new: ConnectionState) -> None:
        """Go to ``new``; staying in the same state is a no-op, anything not in the table raises."""
        if new == self.state:
            return
        if new not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"connection cannot go from {self.state} to {new}")
        self.state = new
        if self._on_change is not None:
            self._on_change(new)
