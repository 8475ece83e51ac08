"""The soak's report names what differs in a replica that did not converge, not only how many did."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from soak_report import _differences  # noqa: E402

FRESH = {"cell": "a|b|c|", "notebook": ["x", "y"], "table": {"1": ["t", 1], "2": ["u", 2]}}


def test_a_diverged_replica_names_the_missing_token_the_moved_cell_and_the_stale_row() -> None:
    mine = {"cell": "a|c|", "notebook": ["y", "x"], "table": {"1": ["t", 1], "2": ["u", 1]}}
    assert _differences(mine, FRESH) == [
        "cell: 4 vs 6 characters, missing here ['b'], extra here []",
        "notebook: 2 vs 2 cells, same cells, other order",
        "table: 2 ['u', 1] vs ['u', 2]",
    ]
    assert _differences(FRESH, FRESH) == []
