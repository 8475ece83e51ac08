"""The benchmark code runs (tiny sizes, no timing asserted): the kernel-cost stages, the change-feed driver against
its no-op endpoint, and the README writer that keeps the sections a run did not measure. (A classroom, even of two,
takes ~20 s on a busy box: it is left to ``bench/run.py --quick --only classroom``.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import changefeed  # noqa: E402
import kernel_cost  # noqa: E402
import run  # noqa: E402
from common import bench_server  # noqa: E402


@pytest.fixture(scope="module")
def server():
    with bench_server() as running:
        yield running


def test_a_kernel_costs_connections_and_memory_once_it_joins_a_room(server):
    stages = kernel_cost.measure(server, idle_seconds=0.1)
    assert [s.name for s in stages] == list(kernel_cost.STAGES)
    imported, room, features = stages
    assert imported.connections == 0 and room.connections >= 1
    assert features.connections >= room.connections and features.threads >= imported.threads
    assert all(s.rss_kib > 10_000 and s.cpu_percent >= 0 for s in stages)


def test_the_change_feed_driver_reaches_its_target_against_the_no_op_endpoint():
    (result,) = changefeed.measure_noop([(200.0, 0.5)])
    assert result.summary.lost == 0
    assert result.summary.count == 100
    assert result.achieved_rate > 0


def test_a_run_replaces_only_the_sections_it_measured(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(run, "BENCH", tmp_path)
    (tmp_path / "README.md").write_text("# Bench\n\nintro\n")
    run.write_readme("- run: old\n\n### 1. Latency\n\nold latency\n\n### 6. Browser\n\nold browser")
    run.write_readme("- run: new\n\n### 6. Browser\n\nnew browser\n\n### 10. Later\n\nten")
    text = (tmp_path / "README.md").read_text()
    assert text.startswith("# Bench\n\nintro\n")
    results = text.split(run.RESULTS_MARK)[1]
    assert "- run: new" in results and "- run: old" not in results
    assert "old latency" in results and "new browser" in results and "old browser" not in results
    assert results.index("### 1.") < results.index("### 6.") < results.index("### 10.")
