"""Pure sync logic for live tables: HLC stamps, conflict strategies, the optimistic view and the durable outbox.

Stdlib only; knows nothing of sockets, supabase or widgets (DESIGN §2).
"""

from .clock import ClockDriftError, HybridClock, Timestamp
from .conflicts import Conflict, Deferred, Resolved, Strategy, resolve, resolve_lww, resolve_merge, strategy, winner
from .optimistic import OptimisticStore
from .outbox import Entry, Outbox, OutboxError
from .writes import RowChange, Write

__all__ = [
    "ClockDriftError",
    "Conflict",
    "Deferred",
    "Entry",
    "HybridClock",
    "OptimisticStore",
    "Outbox",
    "OutboxError",
    "Resolved",
    "RowChange",
    "Strategy",
    "Timestamp",
    "Write",
    "resolve",
    "resolve_lww",
    "resolve_merge",
    "strategy",
    "winner",
]
