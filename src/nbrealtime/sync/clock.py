"""Hybrid logical clock: write stamps that respect causality even when wall clocks disagree.

A stamp is (physical ms, logical counter, node). Physical time keeps stamps close to real time so "last writer wins"
means roughly what users expect; the logical counter keeps them strictly increasing when the wall clock stalls or steps
back, and ``observe`` pushes a node's clock past every stamp it has seen, so a write made *after* seeing another always
sorts after it, whatever the two machines' clocks say. The node id breaks ties: no two nodes produce equal stamps.

Drift policy: ``observe`` raises :class:`ClockDriftError` for a remote stamp more than ``max_drift`` seconds ahead of
the local wall clock, and leaves the local clock untouched. Adopting such a stamp would make every later stamp of this
node (and of every node that hears from it) jump ahead with it, so one broken clock could win every conflict for as long
as it is wrong. The remote stamp itself still compares correctly with every other stamp (ordering is plain tuple order);
only the merge into the local clock is refused. The caller decides what to do (log, show, keep the row anyway).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MAX_LOGICAL", "ClockDriftError", "HybridClock", "Timestamp"]

PHYSICAL_DIGITS = 16
LOGICAL_DIGITS = 4
MAX_PHYSICAL = 10**PHYSICAL_DIGITS - 1
MAX_LOGICAL = 16**LOGICAL_DIGITS - 1
_NODE = re.compile(r"[A-Za-z0-9_.:@+-]{1,64}")
_ENCODED = re.compile(rf"(\d{{{PHYSICAL_DIGITS}}})-([0-9a-f]{{{LOGICAL_DIGITS}}})-(.+)")


class ClockDriftError(ValueError):
    """A remote stamp is further ahead of the local wall clock than the clock tolerates."""


@dataclass(frozen=True, order=True, slots=True)
class Timestamp:
    """One HLC stamp; compares as (physical, logical, node), exactly like its encoded text."""

    physical: int
    logical: int
    node: str

    def __post_init__(self) -> None:
        if not isinstance(self.physical, int) or not 0 <= self.physical <= MAX_PHYSICAL:
            raise ValueError(f"physical time must be an int in 0..{MAX_PHYSICAL} ms, got {self.physical!r}")
        if not isinstance(self.logical, int) or not 0 <= self.logical <= MAX_LOGICAL:
            raise ValueError(f"logical counter must be an int in 0..{MAX_LOGICAL}, got {self.logical!r}")
        if not isinstance(self.node, str) or not _NODE.fullmatch(self.node):
            raise ValueError(f"node id must be 1-64 characters of [A-Za-z0-9_.:@+-], got {self.node!r}")

    def encode(self) -> str:
        """Fixed-width text that sorts like the stamps themselves, for storing in a text column."""
        return f"{self.physical:0{PHYSICAL_DIGITS}d}-{self.logical:0{LOGICAL_DIGITS}x}-{self.node}"

    @classmethod
    def decode(cls, text: str) -> Timestamp:
        """The stamp ``encode`` wrote; ``ValueError`` saying what is wrong with anything else."""
        if not isinstance(text, str):
            raise ValueError(f"an HLC stamp is text, got {type(text).__name__}")
        match = _ENCODED.fullmatch(text)
        if match is None:
            raise ValueError(
                f"not an HLC stamp: {text!r} (expected {PHYSICAL_DIGITS} digits, '-', {LOGICAL_DIGITS} hex digits, "
                "'-', node id)"
            )
        return cls(int(match[1]), int(match[2], 16), match[3])

    def __str__(self) -> str:
        return self.encode()


class HybridClock:
    """The clock of one node (one client); not thread-safe — the caller owns it from one thread."""

    def __init__(self, node: str, *, now: Callable[[], float] = time.time, max_drift: float = 60.0) -> None:
        if max_drift < 0:
            raise ValueError(f"max_drift must be >= 0 seconds, got {max_drift!r}")
        Timestamp(0, 0, node)  # validates the node id early, with the same message
        self.node = node
        self.max_drift = max_drift
        self._now = now
        self._physical = 0
        self._logical = 0

    @property
    def last(self) -> Timestamp:
        """The latest stamp this clock produced or merged (physical 0 before the first)."""
        return Timestamp(self._physical, self._logical, self.node)

    def tick(self) -> Timestamp:
        """A stamp for a local event, larger than every stamp this clock produced or observed before."""
        wall = self._wall()
        if wall > self._physical:
            self._physical, self._logical = wall, 0
        else:
            self._advance(self._physical, self._logical + 1)
        return self.last

    def observe(self, remote: Timestamp) -> Timestamp:
        """Merge a received stamp; the result is larger than ``remote`` and than anything local before."""
        wall = self._wall()
        limit = wall + round(self.max_drift * 1000)
        if remote.physical > limit:
            raise ClockDriftError(
                f"stamp {remote.encode()} from node {remote.node!r} is {(remote.physical - wall) / 1000:.3f} s ahead "
                f"of this clock (max_drift {self.max_drift} s); not merged"
            )
        physical = max(wall, self._physical, remote.physical)
        if physical == self._physical == remote.physical:
            logical = max(self._logical, remote.logical) + 1
        elif physical == self._physical:
            logical = self._logical + 1
        elif physical == remote.physical:
            logical = remote.logical + 1
        else:
            logical = 0
        self._advance(physical, logical)
        return self.last

    def _wall(self) -> int:
        return int(self._now() * 1000)

    def _advance(self, physical: int, logical: int) -> None:
        # A full logical counter carries into the physical part: still strictly increasing, and only ever
        # reached when the wall clock stalls for 65536 events in one millisecond.
        if logical > MAX_LOGICAL:
            physical, logical = physical + 1, 0
        self._physical, self._logical = physical, logical
