"""Real Jupyter servers and a Playwright page that drives a notebook in them."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import nbformat

Kind = Literal["lab", "notebook"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class JupyterServer:
    """`jupyter lab` or `jupyter notebook` (Notebook 7) on 127.0.0.1 with a random token."""

    kind: Kind
    root: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, notebook: str) -> str:
        if self.kind == "lab":  # `reset`: a fresh workspace, only this notebook open
            return f"{self.base}/lab/tree/{notebook}?reset&token={self.token}"
        return f"{self.base}/notebooks/{notebook}?token={self.token}"

    def start(self, timeout: float = 90) -> JupyterServer:
        settings = self.root.parent / f"{self.kind}-settings"
        settings.mkdir(parents=True, exist_ok=True)
        if self.kind == "lab":
            # No news / update toasts over the notebook: nothing may cover what we click.
            # (Notebook 7 has no such plugin; a settings file for it breaks its start-up.)
            notification = settings / "@jupyterlab" / "apputils-extension"
            notification.mkdir(parents=True, exist_ok=True)
            (notification / "notification.jupyterlab-settings").write_text(
                json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings),
               "JUPYTERLAB_WORKSPACES_DIR": str(self.root.parent / f"{self.kind}-workspaces"),
               "JUPYTER_RUNTIME_DIR": str(self.root.parent / f"{self.kind}-runtime"),
               "HITL_NB_REVIEWER": "browser-tester"}
        app = "jupyterlab" if self.kind == "lab" else "notebook"
        expose = ("--LabApp.expose_app_in_browser=True" if self.kind == "lab"
                  else "--JupyterNotebookApp.expose_app_in_browser=True")
        self.log_path = self.root.parent / f"{self.kind}-server.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", app, "--no-browser", "--ip=127.0.0.1",
             f"--port={self.port}", "--port-retries=0", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.root}", expose,
             "--ServerApp.shutdown_no_activity_timeout=0", "--LabApp.news_url=None",
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT, env=env,
            cwd=self.root)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter {self.kind} exited with {self.process.returncode}:"
                                   f"\n{self.log_path.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}",
                                            timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyter {self.kind} not ready after {timeout}s:\n"
                           f"{self.log_path.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)

    def write_notebook(self, name: str, cells: list[str]) -> str:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nb.metadata["kernelspec"] = KERNELSPEC
        nb.metadata["language_info"] = {"name": "python"}
        nbformat.write(nb, self.root / name)
        return name


KERNEL_IDLE = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell && app.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
    && panel.sessionContext.session.kernel;
  return Boolean(kernel && kernel.connectionStatus === "connected" && kernel.status === "idle");
}"""


class NotebookPage:
    """One notebook open in a real browser page, run through the app's own commands."""

    def __init__(self, page: Any, server: JupyterServer, name: str) -> None:
        self.page = page
        self.server = server
        self.name = name

    def open(self, timeout: float = 90_000) -> NotebookPage:
        self.page.goto(self.server.url(self.name))
        self.page.wait_for_function("() => Boolean(window.jupyterapp)", timeout=timeout)
        self._accept_kernel_dialog()
        self.page.wait_for_function(KERNEL_IDLE, timeout=timeout)
        return self

    def _accept_kernel_dialog(self) -> None:
        # JupyterLab can ask for a kernel even with kernelspec metadata: take the default.
        dialog = self.page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():
            dialog.first.click()

    def run_all(self) -> None:
        # Not awaited: the command's promise can stay pending while widgets render.
        self.page.evaluate(
            "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    def run_cell_code(self, code: str, timeout: float = 60_000) -> str:
        """Append a cell, run it, return its text output (for checks on the kernel side)."""
        marker = f"__done_{secrets.token_hex(4)}__"
        self.page.evaluate("""async ([code]) => {
          const app = window.jupyterapp;
          const panel = app.shell.currentWidget;
          const nb = panel.content;
          nb.activeCellIndex = nb.widgets.length - 1;
          await app.commands.execute('notebook:insert-cell-below');
          nb.activeCell.model.sharedModel.setSource(code);
          app.commands.execute('notebook:run-cell');
        }""", [f"{code}\nprint({marker!r})"])
        output = self.page.locator(".jp-OutputArea-output", has_text=marker)
        output.last.wait_for(timeout=timeout)
        return str(output.last.inner_text()).replace(marker, "").strip()

    def widget(self, index: int = 0, timeout: float = 90_000) -> Any:
        root = self.page.locator(
            ".jp-NotebookPanel:not(.lm-mod-hidden) [data-testid=hitl-review]").nth(index)
        root.wait_for(timeout=timeout)
        return root
