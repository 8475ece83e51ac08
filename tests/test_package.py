"""What importing nbrealtime costs and says: no widget layer until a widget is shown, one line when the bundle is
missing (a source checkout that never ran npm)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbrealtime

PACKAGE = Path(nbrealtime.__file__).parent
BUILD = "npm --prefix js ci && npm --prefix js run build"


def run_python(code: str, pythonpath: Path = PACKAGE.parent) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_the_package_the_cli_the_server_and_the_extension_load_no_widget_layer() -> None:
    result = run_python(
        "import sys, nbrealtime, nbrealtime.cli, nbrealtime.jupyter, nbrealtime.server.app, nbrealtime.features.room\n"
        "nbrealtime.connect, nbrealtime.Room, nbrealtime.LiveTable\n"
        "print(sorted(m for m in ('anywidget', 'ipywidgets') if m in sys.modules))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_in_ipython_feature_objects_display_through_a_formatter_registered_by_name() -> None:
    result = run_python(
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "import nbrealtime\n"
        "deferred = shell.display_formatter.mimebundle_formatter.deferred_printers\n"
        "print(sorted(name for module, name in deferred if module.startswith('nbrealtime.')))\n"
        "print('anywidget' in sys.modules)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "['LiveTable',",
        "'Notifications',",
        "'Presence',",
        "'Room',",
        "'SharedCell']",
        "False",
    ]


def test_a_checkout_without_the_bundle_says_in_one_line_how_to_build_it(tmp_path: Path) -> None:
    shutil.copytree(PACKAGE, tmp_path / "nbrealtime", ignore=shutil.ignore_patterns("static", "__pycache__"))
    plain = run_python("import nbrealtime, nbrealtime.cli\nimport nbrealtime.widgets", tmp_path)
    assert plain.returncode == 1
    assert plain.stderr.strip().splitlines()[-1].startswith("nbrealtime.errors.BundleMissing: ")
    assert BUILD in plain.stderr
    in_ipython = run_python(
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().run_cell('import nbrealtime.widgets')",
        tmp_path,
    )
    shown = (in_ipython.stdout + in_ipython.stderr).strip().splitlines()
    assert len(shown) == 1, shown
    assert shown[0].startswith("BundleMissing: nbrealtime's widget bundle nbrealtime.css was never built")
    assert BUILD in shown[0]


def test_in_ipython_a_room_displays_as_its_widget_once_shown(env: dict[str, str]) -> None:
    result = run_python(
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "import nbrealtime\n"
        "room = nbrealtime.connect('display', user='alice')\n"
        "before = 'anywidget' in sys.modules\n"
        "data, _ = shell.display_formatter.format(room)\n"
        "print(before, sorted(data), data['text/plain'])\n"
        "room.close()"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(" ", 3) == [
        "False",
        "['application/vnd.jupyter.widget-view+json',",
        "'text/plain']",
        "<Room 'display' as alice: connected, 1 here>\n",
    ]
