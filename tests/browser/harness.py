"""Real-browser harness: Debian's Chromium driven by Playwright (async API), on a JupyterLab served by the caller.

Shared by the browser tests (``conftest.py`` wraps these in fixtures) and the browser benchmark
(``bench/browser_latency.py``), so both drive the same JupyterLab the same way. Waiting is always on a condition with a
deadline (``page.wait_for_function`` on ``window.__nbrt`` predicates from ``pagehelpers.js``), never a fixed sleep.
Nothing here knows pytest: a missing tool or a JupyterLab that does not start raises :class:`HarnessError` with a
one-paragraph reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from nbrealtime.launcher import ServerProcess
from tests.client.support import Peer, create_open_room

CHROMIUM = Path(os.environ.get("NBRT_CHROMIUM", "/usr/bin/chromium"))
# DESIGN.md §6. Playwright adds --headless itself (headless=True).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
INSTALL_HINT = (
    "run scripts/setup.sh (pip install -e '.[test]' brings jupyterlab + playwright; apt-get install chromium)"
)
WAIT_MS = 30_000  # a widget state reached through the backend
KERNEL_MS = 90_000  # a notebook opened, its kernel started and the setup cells run (2 CPUs, several kernels)
VIEWPORT = {"width": 1280, "height": 900}
HELPERS = Path(__file__).with_name("pagehelpers.js")
# An error nbrealtime causes: it names us or anywidget, Yjs's double-import warning, or it comes from a widget's ESM
# (anywidget loads each bundle from a blob: URL).
NBRT_ERROR = re.compile(r"nbrealtime|nbrt|anywidget|Yjs was already imported|blob:", re.IGNORECASE)
# Whether hostile text ran as markup (window.__pwned set, its elements in the page): the widgets' and the lab
# extension's XSS tests.
NOT_PWNED = """() => {
  // A control: the same payload through innerHTML does run here, so silence below means nbrealtime is safe.
  const probe = document.createElement("div");
  probe.innerHTML = "<img src=x onerror=window.__canary=1>";
  document.body.append(probe);
  return new Promise((resolve) => {
    const check = () => {
      if (window.__canary !== 1) return setTimeout(check, 20);
      probe.remove();
      resolve({
        pwned: window.__pwned === undefined ? null : window.__pwned,
        images: document.querySelectorAll('img[src="x"]').length,
        svgs: document.querySelectorAll("svg[onload]").length,
        scripts: [...document.scripts].filter((s) => s.textContent.includes("__pwned")).length,
        bold: [...document.querySelectorAll(".nbrt-root b, .cm-content b")].length,
      });
    };
    check();
  });
}"""
LAB_EXTENSION = "@nbrealtime/labextension"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True, "windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


class HarnessError(RuntimeError):
    """The browser harness cannot run here (a tool is missing, JupyterLab did not start)."""


def require_tools() -> None:
    """Chromium, Playwright and JupyterLab are all here, or one :class:`HarnessError` says what is missing."""
    problems = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        problems.append(f"no Chromium at {CHROMIUM}")
    for module in ("playwright", "jupyterlab", "nbformat"):
        try:
            __import__(module)
        except ImportError:
            problems.append(f"Python package {module!r} is not installed")
    if problems:
        raise HarnessError(f"the browser harness cannot run: {'; '.join(problems)} — {INSTALL_HINT}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------------- processes


class JupyterLab:
    """A ``jupyter lab`` subprocess on a free loopback port with a temp root, settings and workspaces
    (``app="notebook"``: Notebook 7's ``jupyter notebook`` instead; ``lab_extension``/``server_extension`` False:
    without nbrealtime's lab extension, or its Jupyter server extension).

    ``collaborative`` turns on JupyterLab's own real-time collaboration (jupyter-collaboration: the benchmark's
    reference); otherwise it is switched off, so the installed jupyter-collaboration changes nothing here (nbrealtime's
    notebook bridge reaches its documents on the server side, with or without the browser side of it).
    """

    def __init__(self, root: Path, home: Path, server: ServerProcess, user: str | None = None, *,
                 collaborative: bool = False, lab_extension: bool = True, server_extension: bool = True,
                 app: str = "jupyterlab", options: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = home / "settings"
        for plugin, values in LAB_SETTINGS.items():
            path = settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = {
            **os.environ,
            "NBREALTIME_DATA_DIR": str(server.data_dir),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "IPYTHONDIR": str(home / "ipython"),
            "PYTHONUNBUFFERED": "1",
            "JUPYTER_PATH": str(_lab_extension_path(home, enabled=lab_extension)),
        }
        for name in ("SUPABASE_URL", "SUPABASE_ANON_KEY", "NBREALTIME_USER", "JUPYTER_TOKEN"):
            env.pop(name, None)
        if user is not None:  # the server extension's own room connections sign in as this user
            env["NBREALTIME_USER"] = user
        if not server_extension:  # the user's config wins over the one the package installs
            config = home / "config" / "jupyter_server_config.json"
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {"nbrealtime": False}}}))
        self.log_path = home / "jupyterlab.log"
        lab_app = {"jupyterlab": "LabApp", "notebook": "JupyterNotebookApp"}[app]  # Notebook 7 is a LabServerApp too
        command = [
            sys.executable, "-m", app,
            "--no-browser",
            f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
            "--ServerApp.allow_root=True", "--IdentityProvider.token=", "--ServerApp.password=",
            f"--ServerApp.root_dir={root}",
            f"--{lab_app}.user_settings_dir={settings}", f"--{lab_app}.workspaces_dir={home / 'workspaces'}",
            f"--{lab_app}.expose_app_in_browser=True",
            # the harness's own REST calls (shutdown_kernels) carry no XSRF token: without this they get 403
            "--ServerApp.disable_check_xsrf=True",
            f"--YDocExtension.disable_rtc={not collaborative}",
            "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            *options,
        ]  # fmt: skip
        self._command, self._env = command, env
        self.log_path.write_bytes(b"")
        self._spawn()

    def _spawn(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self._command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self._env,
                cwd=self.root,
            )  # fmt: skip
        self._wait_started()

    def restart(self) -> None:
        """Stop, then start again on the same port, root and home: pages open on it reconnect."""
        self.stop()
        self._spawn()

    @classmethod
    def in_home(cls, home: Path, server: ServerProcess, user: str | None = None, **options: Any) -> JupyterLab:
        """A JupyterLab whose settings, workspaces and root dir (``home/root``) all live in the fresh ``home``."""
        (home / "root").mkdir()
        return cls(home / "root", home, server, user, **options)

    def _wait_started(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HarnessError(f"JupyterLab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/api/status", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # polling a starting process's port, not waiting for a page
        self.stop()
        raise HarnessError(f"JupyterLab did not answer within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def write_notebook(self, name: str, cells: list[str]) -> str:
        """Write ``name``.ipynb (code cells) into the root; returns its path relative to the root."""
        import nbformat

        notebook = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(source) for source in cells],
            metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
        )
        path = f"{name}.ipynb"
        nbformat.write(notebook, self.root / path)
        return path

    def shutdown_kernels(self) -> None:
        """Delete every session (their kernels exit, and with them their rooms) and wait until none is left."""
        with httpx.Client(base_url=self.url, timeout=30) as client:
            for session in client.get("/api/sessions").json():
                client.delete(f"/api/sessions/{session['id']}").raise_for_status()
            for kernel in client.get("/api/kernels").json():
                client.delete(f"/api/kernels/{kernel['id']}").raise_for_status()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _lab_extension_path(home: Path, *, enabled: bool) -> Path:
    """A JUPYTER_PATH entry with this checkout's build of the lab extension (it wins over an installed copy), or —
    ``enabled=False`` — the extension disabled in JupyterLab's page config, as a user without it would run."""
    data = home / "jupyter"
    build = Path(__file__).resolve().parents[2] / "src" / "nbrealtime" / "labextension"
    if enabled:
        if not (build / "package.json").is_file():
            raise HarnessError(f"the lab extension is not built at {build} — npm --prefix labextension run build")
        link = data / "labextensions" / "@nbrealtime" / "labextension"
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():  # a JupyterLab started again in the same home finds it there
            link.symlink_to(build, target_is_directory=True)
    else:
        page_config = home / "config" / "labconfig" / "page_config.json"
        page_config.parent.mkdir(parents=True, exist_ok=True)
        page_config.write_text(json.dumps({"disabledExtensions": {LAB_EXTENSION: True}}))
    return data


async def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, with the flags of DESIGN.md §6."""
    try:
        return await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    except Exception as error:
        raise HarnessError(f"Chromium at {CHROMIUM} did not start ({error}) — {INSTALL_HINT}") from None


# ---------------------------------------------------------------------------------------------------- pages


class NotebookPage:
    """One participant: a browser context with JupyterLab showing one notebook."""

    def __init__(self, lab: Lab, page: Any, path: str) -> None:
        self.lab = lab
        self.page = page
        self.path = path
        self.errors: list[str] = []
        self.nbrt_errors: list[str] = []
        page.on("pageerror", lambda error: self._error(f"pageerror: {error}", f"{error} {error.stack}"))
        page.on("console", lambda m: m.type == "error" and self._error(f"console: {m.text}", f"{m.text} {m.location}"))

    def _error(self, text: str, evidence: str) -> None:
        """Every browser error is kept for messages; those nbrealtime causes also fail the test (see ``lab``)."""
        self.errors.append(text)
        if NBRT_ERROR.search(evidence):
            self.nbrt_errors.append(text)

    def __repr__(self) -> str:
        return f"<NotebookPage {self.path}>"

    async def until(self, expression: str, arg: Any = None, *, timeout: float = WAIT_MS, what: str = "") -> Any:
        """Wait until the JS ``expression`` (a function of ``arg``) is truthy; return its value."""
        try:
            handle = await self.page.wait_for_function(expression, arg=arg, timeout=timeout, polling=100)
        except Exception as error:
            if type(error).__name__ != "TimeoutError":
                raise
            status = await self.page.evaluate("() => window.__nbrt ? window.__nbrt.kernelStatus() : 'no app'")
            raise AssertionError(
                f"{self.path}: timed out after {timeout / 1000:.0f} s waiting for {what or expression} "
                f"(kernel {status}); page errors: {self.errors[-5:]}"
            ) from None
        return await handle.json_value()

    async def wait_kernel(self) -> None:
        await self.until(
            "(path) => window.__nbrt && window.__nbrt.kernelReady(path)",
            self.path,
            timeout=KERNEL_MS,
            what="the notebook to open with an idle, connected kernel",
        )

    async def run_all(self) -> None:
        """Run every cell and wait until all have run (a cell's error fails the test with its traceback)."""
        await self.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        result = await self.until("() => window.__nbrt.allDone()", timeout=KERNEL_MS, what="all cells to run")
        if "error" in result:
            raise AssertionError(f"{self.path}: a cell failed:\n{result['error']}")

    async def start(self, code: str) -> str:
        """Append a cell with ``code`` and start it; returns the cell id for :meth:`finish`."""
        return await self.page.evaluate("(code) => window.__nbrt.appendCell(code)", code)

    async def finish(self, cell_id: str, timeout: float = WAIT_MS) -> list[dict[str, Any]]:
        result = await self.until(
            "(id) => window.__nbrt.cellResult(id)", cell_id, timeout=timeout, what=f"cell {cell_id} to finish"
        )
        if "error" in result:
            raise AssertionError(f"{self.path}: cell failed:\n{result['error']}")
        return result["outputs"]

    async def run(self, code: str, timeout: float = WAIT_MS) -> list[dict[str, Any]]:
        return await self.finish(await self.start(code), timeout)

    async def stdout(self, code: str) -> str:
        outputs = await self.run(code)
        return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o["name"] == "stdout")

    async def value(self, expression: str) -> Any:
        """Evaluate a Python expression in the kernel; its value travels back as JSON on stdout."""
        marker = uuid.uuid4().hex
        text = await self.stdout(f"import json as _json\nprint({marker!r}, _json.dumps({expression}))")
        for line in text.splitlines():
            if line.startswith(marker):
                return json.loads(line[len(marker) + 1 :])
        raise AssertionError(f"no value printed for {expression!r}: {text!r}")

    async def js(self, expression: str, arg: Any = None) -> Any:
        return await self.page.evaluate(expression, arg)

    async def screenshot(self, locator: Any, name: str) -> Path | None:
        """A PNG of ``locator`` into ``$NBRT_SCREENSHOT_DIR`` (when set)."""
        folder = os.environ.get("NBRT_SCREENSHOT_DIR")
        if not folder:
            return None
        path = Path(folder) / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        await locator.screenshot(path=str(path), animations="disabled")
        return path

    async def type_into_editor(self, text: str, *, n: int = 0, line: int | None = None, delay: float = 40) -> None:
        """Focus the n-th shared-cell editor (at the end of ``line``, 0-based, or of the text) and type."""
        editor = self.page.locator(".nbrt-editor").nth(n)
        if line is None:
            await editor.locator(".cm-content").click()
            await self.page.keyboard.press("Control+End")
        else:
            await editor.locator(".cm-line").nth(line).click()
            await self.page.keyboard.press("End")
        await self.page.keyboard.type(text, delay=delay)


class Lab:
    """What a test gets: notebooks, participants' pages and a room name of its own."""

    def __init__(
        self, jupyter: JupyterLab, browser: Any, server: ServerProcess, test_name: str, scripts: tuple[Path, ...] = ()
    ) -> None:
        self.scripts = (HELPERS, *scripts)  # init scripts of every page: pagehelpers.js, then the caller's
        self.jupyter = jupyter
        self.browser = browser
        self.server = server
        slug = re.sub(r"[^A-Za-z0-9]+", "-", test_name).strip("-")[:32]
        self.room = f"{slug}-{uuid.uuid4().hex[:6]}"
        self._open_room()
        self.pages: list[NotebookPage] = []
        self.contexts: list[Any] = []
        self.peers: list[Peer] = []

    def _open_room(self) -> None:
        """The test's room exists before anyone joins and lets every participant in as an editor (rooms are
        invite-only, and the participants' pages join in no particular order)."""
        create_open_room(self.server, self.room)

    @property
    def env(self) -> dict[str, str]:
        """The environment of a peer subprocess: the same backend as the kernels."""
        return {"NBREALTIME_DATA_DIR": str(self.server.data_dir)}

    def notebook(self, name: str, user: str, *cells: str, room: str | None = None) -> str:
        """A notebook whose first cell joins the test's room as ``user``; then ``cells``."""
        connect = f"import nbrealtime\nroom = nbrealtime.connect({room or self.room!r}, user={user!r})"
        return self.jupyter.write_notebook(f"{self.room}-{name}", [connect, *cells])

    async def open(self, path: str, *, run: bool = True, kernel: bool = True) -> NotebookPage:
        """A new participant (own browser context) with ``path`` open in its own workspace; all cells run.
        ``kernel=False``: only until the notebook is open (a test that runs nothing need not wait for its kernel)."""
        context = await self.browser.new_context(viewport=VIEWPORT)
        self.contexts.append(context)
        for script in self.scripts:
            await context.add_init_script(path=str(script))
        page = NotebookPage(self, await context.new_page(), path)
        self.pages.append(page)
        workspace = uuid.uuid4().hex[:10]
        await page.page.goto(f"{self.jupyter.url}/lab/workspaces/{workspace}/tree/{path}", timeout=KERNEL_MS)
        if not kernel:
            await page.until(
                "(path) => { const p = window.__nbrt && window.__nbrt.panel();"
                " return !!p && p.context.path === path && p.context.isReady; }",
                path,
                timeout=KERNEL_MS,
                what="the notebook to open",
            )
            return page
        await page.wait_kernel()
        if run:
            await page.run_all()
        return page

    async def open_all(self, *paths: str) -> list[NotebookPage]:
        return list(await asyncio.gather(*(self.open(path) for path in paths)))

    async def peer(self, user: str) -> Peer:
        """A participant without a browser: ``tests/client/peer.py`` in a subprocess."""
        peer = await asyncio.to_thread(Peer, self.room, user, self.env)
        self.peers.append(peer)
        return peer

    async def close(self) -> None:
        for peer in self.peers:
            await asyncio.to_thread(peer.kill)
        for context in self.contexts:
            await context.close()
        await asyncio.to_thread(self.jupyter.shutdown_kernels)
