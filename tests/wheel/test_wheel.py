"""The package as users get it: the sdist and the wheel built by ``python -m build``, the wheel installed into a fresh
venv with node off the PATH, and nbrealtime used from there (server, client, widget, Jupyter server extension, the
prebuilt JupyterLab extension).

One session-scoped build and venv (~30 s, mostly pip) serve every test here; pip's cache keeps reinstalls quick.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from nbrealtime.discovery import read_discovery
from tests.test_demo import free_port, wait_until
from tests.test_readme import code_block

REPO = Path(__file__).resolve().parents[2]
SMOKE = Path(__file__).with_name("smoke.py")
STATIC = REPO / "src" / "nbrealtime" / "static"
LAB_EXTENSION_DATA = "nbrealtime-0.1.0.data/data/share/jupyter/labextensions/@nbrealtime/labextension"

pytestmark = pytest.mark.timeout(600)


@dataclass
class Installed:
    dist: Path
    venv: Path
    env: dict[str, str]

    def run(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """``python -m build`` (sdist, then the wheel from the sdist: npm builds the bundles), then a venv without node."""
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)], check=True, capture_output=True)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / "bin"
    # Only the venv's scripts on the PATH: no node, no npm, no other Python's nbrealtime (PYTHONPATH dropped too).
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"PATH": str(bin_dir), "HOME": os.environ.get("HOME", str(root)), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env |= {"JUPYTER_CONFIG_DIR": str(root / "jupyter-config"), "JUPYTER_RUNTIME_DIR": str(root / "runtime")}
    for variable in ("SUPABASE_URL", "SUPABASE_ANON_KEY", "NBREALTIME_USER"):
        env.pop(variable, None)
    assert shutil.which("node", path=env["PATH"]) is None
    (wheel,) = dist.glob("*.whl")
    # jupyterlab (not just jupyter_server): `jupyter labextension list` must find the lab extension the wheel installs
    subprocess.run([bin_dir / "pip", "install", "--quiet", wheel, "jupyterlab"], env=env, check=True)
    yield Installed(dist, venv, env)


def test_the_wheel_carries_the_bundle_and_the_server_extension_config(installed: Installed) -> None:
    (wheel,) = installed.dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    bundle = {name.removeprefix("nbrealtime/static/") for name in names if name.startswith("nbrealtime/static/")}
    assert {"nbrealtime.css", "editor.js", "presence.js"} <= bundle
    assert bundle == {path.name for path in STATIC.iterdir() if path.suffix in (".js", ".css")}, "what npm builds here"
    assert "nbrealtime-0.1.0.data/data/etc/jupyter/jupyter_server_config.d/nbrealtime.json" in names


def test_the_wheel_carries_the_prebuilt_lab_extension(installed: Installed) -> None:
    (wheel,) = installed.dist.glob("*.whl")
    archive = zipfile.ZipFile(wheel)
    prefix = f"{LAB_EXTENSION_DATA}/"
    files = {name.removeprefix(prefix) for name in archive.namelist() if name.startswith(prefix)}
    assert {"package.json", "install.json", "static/style.js"} <= files
    built = json.loads(archive.read(f"{prefix}package.json"))
    assert built["name"] == "@nbrealtime/labextension"
    assert f"static/{built['jupyterlab']['_build']['load'].removeprefix('static/')}" in files, "its remote entry"
    assert json.loads(archive.read(f"{prefix}install.json"))["packageName"] == "nbrealtime"
    assert not [name for name in archive.namelist() if name.startswith("nbrealtime/labextension/")], "only once"


def test_jupyter_lists_the_lab_extension_enabled_in_the_fresh_venv(installed: Installed) -> None:
    listing = installed.run(str(installed.venv / "bin" / "jupyter"), "labextension", "list")
    assert listing.returncode == 0, listing.stderr
    lines = (listing.stdout + listing.stderr).splitlines()
    (line,) = [line for line in lines if "@nbrealtime/labextension" in line]
    assert "enabled" in line and "OK" in line and "(python, nbrealtime)" in line, lines
    assert str(installed.venv) in "\n".join(lines), "listed from the venv's share/jupyter/labextensions"


def test_the_sdist_has_the_js_sources_to_build_from_and_no_build_output(installed: Installed) -> None:
    (sdist,) = installed.dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"js/package.json", "js/package-lock.json", "js/build.mjs", "js/src/editor.js", "pyproject.toml"} <= names
    assert {"labextension/package.json", "labextension/package-lock.json", "labextension/src/index.ts"} <= names
    assert "scripts/build_frontends.py" in names, "the build hook the wheel from the sdist runs"
    build_output = ("src/nbrealtime/static/", "src/nbrealtime/labextension/", "labextension/lib/")
    assert not [name for name in names if "node_modules" in name or name.startswith(build_output)]


def test_the_installed_wheel_serves_connects_shows_a_widget_and_runs_the_quickstart_without_node(
    installed: Installed, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    env = {**installed.env, "NBREALTIME_DATA_DIR": str(data_dir)}
    server = subprocess.Popen(
        [installed.venv / "bin" / "nbrealtime", "serve", "--port", "0", "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: read_discovery(data_dir) or server.poll() is not None, 30, "the server's discovery file")
        assert server.poll() is None, server.communicate()[1]
        quickstart = tmp_path / "quickstart.py"
        quickstart.write_text(code_block("python", "## Quickstart"))
        smoke = subprocess.run(
            [installed.venv / "bin" / "python", SMOKE, quickstart], env=env, capture_output=True, text=True, timeout=180
        )
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert smoke.returncode == 0, smoke.stderr
    result = json.loads(smoke.stdout.strip().splitlines()[-1])
    assert result["widget_modules_before"] == [], "connect() loaded the widget layer"
    assert result["message"] == [{"text": "hi"}, "alice"]
    assert result["members"] == ["alice", "bob"]
    assert result["widget"][:3] == ["PresenceWidget", True, True]
    assert result["widget"][3].startswith(str(installed.venv)), "nbrealtime came from the wheel, not this checkout"
    assert result["quickstart"] == [{"n": 1}, "Ada", "confirmed"]


def test_jupyter_lists_the_server_extension_enabled(installed: Installed) -> None:
    listing = installed.run(str(installed.venv / "bin" / "jupyter"), "server", "extension", "list")
    assert listing.returncode == 0, listing.stderr
    lines = (listing.stdout + listing.stderr).splitlines()
    assert any("nbrealtime" in line and "enabled" in line for line in lines), lines
    assert any("nbrealtime" in line and "OK" in line for line in lines), lines


def test_without_the_lab_extra_the_lab_api_serves_and_shared_notebooks_say_what_they_need(
    installed: Installed, tmp_path: Path
) -> None:
    """The wheel alone (no jupyter-collaboration): the sidebar's API answers; the notebook routes name the extra."""
    port = free_port()
    env = {**installed.env, "NBREALTIME_DATA_DIR": str(tmp_path / "data"), "NBREALTIME_USER": "ada"}
    root = tmp_path / "root"
    root.mkdir()
    command = [
        installed.venv / "bin" / "jupyter", "server", "--no-browser", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1", "--ServerApp.allow_root=True",
        "--IdentityProvider.token=secret",
        f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/nbrealtime/api"
    headers = {"Authorization": "token secret"}
    try:
        assert installed.run(str(installed.venv / "bin" / "python"), "-c", "import jupyter_server_ydoc").returncode
        wait_until(lambda: _answers(f"{base}/me", headers) or server.poll() is not None, 60, "the lab API")
        assert server.poll() is None, server.communicate()[1]
        me = httpx.get(f"{base}/me", headers=headers, timeout=30)
        assert me.status_code == 200 and me.json()["name"] == "ada", me.text
        assert httpx.get(f"{base}/rooms", headers=headers, timeout=30).json() == []
        notebooks = httpx.get(f"{base}/rooms/team/notebooks", headers=headers, timeout=30)
        assert notebooks.status_code == 501
        assert "pip install 'nbrealtime[lab]'" in notebooks.json()["message"]
        assert httpx.get(f"{base}/me", timeout=30).status_code == 403, "the lab API needs Jupyter's token"
    finally:
        server.terminate()
        server.communicate(timeout=30)


def _answers(url: str, headers: dict[str, str]) -> bool:
    try:
        return httpx.get(url, headers=headers, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
