"""The soak's fault windows: a failure or a lost message is excused only inside a fault's window for that member
(from a second before the fault until GRACE after that member was connected again); everything else counts."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from nemesis import GRACE, Fault, Nemesis, StatusLog  # noqa: E402


def _nemesis(status: StatusLog) -> Nemesis:
    return Nemesis(seed=1, every=30, server=None, proxy=None, workers={101: ["ann", "ben"], 102: ["cy"]},
                   status=status, log=print, server_until=0.0)  # fmt: skip


def test_a_cut_excuses_each_member_until_it_is_back_and_no_longer() -> None:
    status = StatusLog()
    for user in ("ann", "ben", "cy"):
        status.add(user, "connected", 0.0)
    status.add("ann", "reconnecting", 100.2)
    status.add("ann", "connected", 104.0)
    nemesis = _nemesis(status)
    nemesis.faults.append(Fault("cut", "every client connection", 100.0, end=100.01, healed=104.0))
    assert nemesis.excused("ann", 103.5, 103.6) is nemesis.faults[0]
    assert nemesis.excused("ann", 104.0 + GRACE - 0.1, 104.0 + GRACE) is not None
    assert nemesis.excused("ann", 104.0 + GRACE + 0.1, 104.0 + GRACE + 0.2) is None
    assert nemesis.excused("ben", 101.0, 101.1) is not None, "ben never dropped: his window ends GRACE after the cut"
    assert nemesis.excused("ben", 100.01 + GRACE + 0.1, 103.0) is None
    assert nemesis.excused("cy", 98.0, 98.9) is None, "before the window"


def test_a_sigstop_excuses_only_the_members_of_the_frozen_process() -> None:
    status = StatusLog()
    nemesis = _nemesis(status)
    nemesis.faults.append(Fault("sigstop", "worker 102", 50.0, end=55.0, healed=55.0, pids=[102]))
    assert nemesis.excused("cy", 54.0, 56.0) is not None
    assert nemesis.excused("ann", 54.0, 56.0) is None
    assert status.back_at("cy", 49.0, 56.0) is None


def test_a_jupyter_restart_excuses_no_member() -> None:
    nemesis = _nemesis(StatusLog())
    nemesis.faults.append(Fault("jupyter_restart", "JupyterLab", 10.0, end=20.0, healed=20.0))
    assert all(nemesis.excused(user, 12.0, 13.0) is None for user in ("ann", "ben", "cy"))
