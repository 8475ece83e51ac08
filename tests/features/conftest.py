"""The kernel-side suite runs against a strict and a hosted-quirks server (tests/kernel_modes.py)."""

from tests.kernel_modes import server

__all__ = ["server"]
