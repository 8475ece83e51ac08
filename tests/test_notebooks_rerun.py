"""Every demo notebook can be run again: strict nbval passes twice in a row against one server and data dir.

The main test run executes each notebook once on a fresh server; the second run is what a user does the next day, with
the rows, identities and cell logs of the first still there. One pytest subprocess runs both passes
(``--keep-duplicates``), so they share the server that the root conftest starts for an nbval session.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from nbrealtime.demo import LIVE_NOTEBOOK

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(900)
def test_every_demo_notebook_passes_strict_nbval_twice_against_one_data_dir() -> None:
    demo_notebooks = (REPO / "notebooks").glob("*.ipynb")  # not the room's notebook that `nbrealtime demo` puts there
    notebooks = sorted(path.name for path in demo_notebooks if not path.name.startswith(Path(LIVE_NOTEBOOK).stem))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-sanitize-with", "notebooks/sanitize.cfg",
         "--keep-duplicates", "-p", "no:cacheprovider", "-q", "-rf", "notebooks", "notebooks",
         # ten kernels: nbval's kernel managers leave /dev/null handles for the garbage collector, which the
         # suite's filterwarnings=error turns into a failed session after every cell passed
         "-W", "ignore::pytest.PytestUnraisableExceptionWarning"],
        cwd=REPO, capture_output=True, text=True, timeout=850,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, f"{summary}\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    cells = sum((REPO / "notebooks" / name).read_text().count('"cell_type": "code"') for name in notebooks)
    assert re.fullmatch(rf"{2 * cells} passed.*", summary), summary
