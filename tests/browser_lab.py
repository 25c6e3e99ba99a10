"""Plumbing for the browser tests: JupyterLab on loopback, driven in Debian's chromium.

JupyterLab runs on 127.0.0.1 with a random token, its config, data, runtime, settings and
workspace directories all in the test's temporary folder; Playwright drives the system
chromium (never a browser that Playwright downloads) with background networking and
component updates off, since the machine has no network. Without chromium, playwright or
jupyterlab the tests skip, except under ``MIGKIT_CI=1`` (set by ``.ci/run``), where a missing
piece fails them: CI must never skip them silently.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--no-sandbox",  # CI runs as root
    "--disable-dev-shm-usage",
    "--no-proxy-server",  # loopback only
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-sync",
    "--disable-default-apps",
]
# JupyterLab user settings for the run: every cell attached to the DOM (the default,
# "contentVisibility", skips rendering off-screen cells), no news, update checks or toasts.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
}
# Selectors. An ipywidgets HTML view is a `.jupyter-widgets.widget-html` inside the output
# (a Lumino panel without data-mime-type); rich HTML outputs carry data-mime-type text/html.
OUTPUT = ".jp-OutputArea-output"
WIDGET_HTML = f"{OUTPUT} .jupyter-widgets.widget-html .widget-html-content"
HTML_OUTPUT = f"{OUTPUT}[data-mime-type='text/html']"
STDERR_OUTPUT = f"{OUTPUT}[data-mime-type='application/vnd.jupyter.stderr']"

# JavaScript run in the page (JupyterLab is started with expose_app_in_browser).
# The toolbar's execution indicator says data-status="idle" before any kernel exists, and Run
# All at that moment opens a "Select Kernel" dialog and waits there: wait for the session's
# own kernel instead (ready, connected over its websocket, idle).
JS_KERNEL = """() => {
    const app = window.jupyterapp;
    const panel = app && app.shell.currentWidget;
    if (!panel || !panel.sessionContext || !panel.content || !panel.content.model) return null;
    const context = panel.sessionContext;
    const kernel = context.session && context.session.kernel;
    if (!kernel) return {ready: context.isReady, kernel: null};
    return {ready: context.isReady, kernel: kernel.status, connection: kernel.connectionStatus};
}"""
JS_RUN_ALL = """() => {
    window.__migkitRunAll = null;
    window.jupyterapp.commands.execute('notebook:run-all-cells').then(
        (ok) => { window.__migkitRunAll = String(ok); },
        (err) => { window.__migkitRunAll = 'rejected: ' + err; },
    );
}"""
JS_STATE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const cells = panel.content.model.cells;
    const errors = [];
    let pending = 0;
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type !== 'code') continue;
        if (cell.executionCount === null) pending += 1;
        for (let j = 0; j < cell.outputs.length; j++) {
            const out = cell.outputs.get(j).toJSON();
            if (out.output_type === 'error') errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
        }
    }
    const session = panel.sessionContext.session;
    const dialog = document.querySelector('.jp-Dialog');
    return {
        runAll: window.__migkitRunAll,
        kernel: session && session.kernel ? session.kernel.status : null,
        pending: pending,
        errors: errors,
        dialog: dialog ? dialog.innerText : null,
    };
}"""
JS_NOTEBOOK_HEIGHT = """() => {
    const inner = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-inner');
    return inner ? inner.scrollHeight : 0;
}"""
JS_SCROLL_TOP = """() => document.querySelectorAll('.jp-NotebookPanel .jp-WindowedPanel-outer')
    .forEach((outer) => { outer.scrollTop = 0; })"""

# Loopback HTTP without any proxy the environment may name.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def missing(reason: str) -> NoReturn:
    """Skip, or fail under MIGKIT_CI=1: CI must run this test."""
    if os.environ.get("MIGKIT_CI") == "1":
        pytest.fail(f"{reason}; MIGKIT_CI=1, so the browser test may not be skipped", False)
    pytest.skip(reason)


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    missing("no system chromium on PATH (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(log: Path, token: str, lines: int = 60) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.replace(token, "<token>").splitlines()[-lines:])


@contextmanager
def jupyter_lab(
    tmp: Path, *, widgets: bool = True, extra: dict[str, Any] | None = None
) -> Iterator[tuple[str, str]]:
    """Start JupyterLab on 127.0.0.1 serving a copy of ``notebooks/`` (plus the ``extra``
    notebooks, by file name); yield (base URL, token). Its config, data, runtime, settings
    and workspace directories are all under ``tmp``. ``widgets=False`` disables the widget
    manager, as in a front end without ipywidgets support."""
    import nbformat

    for name in ("notebooks", "sample_data"):  # the notebook reads Path("..") / "sample_data"
        shutil.copytree(ROOT / name, tmp / name)
    for name, book in (extra or {}).items():
        nbformat.write(book, tmp / "notebooks" / name)
    settings = tmp / "lab-settings"
    for relative, values in LAB_SETTINGS.items():
        (settings / relative).parent.mkdir(parents=True, exist_ok=True)
        (settings / relative).write_text(json.dumps(values))
    if not widgets:
        config = tmp / "jupyter-config" / "labconfig"
        config.mkdir(parents=True, exist_ok=True)
        disabled = {"disabledExtensions": {"@jupyter-widgets/jupyterlab-manager": True}}
        (config / "page_config.json").write_text(json.dumps(disabled))
    port, token = free_port(), secrets.token_hex(24)
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(tmp / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "jupyter-runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(tmp / "ipython"),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp / 'notebooks'}",
        "--ServerApp.open_browser=False",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, to run all cells
        "--LabApp.news_url=None",  # never fetch the announcements feed
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={tmp / 'lab-workspaces'}",
    ]
    log = tmp / "jupyterlab.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 90
        status = urllib.request.Request(
            f"{base}/api/status", headers={"Authorization": f"token {token}"}
        )
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited ({server.returncode}):\n{log_tail(log, token)}")
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer in 90 s:\n{log_tail(log, token)}")
            try:
                with _LOCAL.open(status, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:  # URLError included: not listening yet
                pass
            time.sleep(0.25)
        yield base, token
    except BaseException:
        print(f"--- jupyter lab log (tail) ---\n{log_tail(log, token)}", file=sys.stderr)
        raise
    finally:
        stop(server, base, token)


def stop(server: subprocess.Popen[bytes], base: str, token: str) -> None:
    """Shut JupyterLab down through its API (kernels included), then by signal if need be."""
    if server.poll() is None:
        request = urllib.request.Request(
            f"{base}/api/shutdown", method="POST", headers={"Authorization": f"token {token}"}
        )
        with suppress(OSError):  # URLError included
            _LOCAL.open(request, timeout=10).close()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def poll(page: Any, script: str, until: Callable[[Any], Any], timeout: float, what: str) -> Any:
    """Evaluate ``script`` in the page until ``until(value)`` holds; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if until(value):
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; last state: {value!r}")


def visible(locator: Any, what: str, timeout: float = 30) -> None:
    """Wait for the first element of ``locator`` to be visible, or fail saying what and
    showing the text of every output in the notebook."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        locator.first.wait_for(state="visible", timeout=timeout * 1000)
        return
    except PlaywrightTimeout:
        pass
    shown = locator.page.locator(OUTPUT).all_inner_texts()
    texts = "\n---\n".join(text[:300] for text in shown)
    pytest.fail(f"{what}: not visible after {timeout:.0f} s. The outputs:\n{texts}")


def screenshot(page: Any, path: Path) -> None:
    """The whole notebook in one picture: JupyterLab scrolls inside a fixed-size window, so
    grow the viewport to the notebook's height (capped), scroll to the top, and shoot."""
    try:
        height = page.evaluate(JS_NOTEBOOK_HEIGHT)
        if height:  # the cells, plus menu, tabs, toolbar and status bar
            page.set_viewport_size({"width": 1400, "height": min(int(height) + 250, 16_000)})
        page.evaluate(JS_SCROLL_TOP)
        page.wait_for_timeout(500)
        page.screenshot(path=str(path), full_page=True)
    except Exception as error:  # a failed screenshot must not hide the real failure
        print(f"could not save {path}: {error}", file=sys.stderr)


def launch(pw: Any) -> Any:
    """Chromium (the system's), headless, for loopback only."""
    return pw.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_ARGS)


def open_notebook(browser: Any, base: str, token: str, name: str, log: list[str]) -> Any:
    """A page with notebook ``name`` open and its kernel ready; requests off loopback are
    aborted (and logged), console messages logged."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})

    def loopback_only(route: Any) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost", "::1"):
            route.continue_()
        else:
            log.append(f"blocked: {route.request.url}")
            route.abort()

    context.route(re.compile(r"^(https?|wss?)://"), loopback_only)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.on("console", lambda m: log.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: log.append(f"pageerror: {e}"))
    page.goto(f"{base}/lab/tree/{name}?token={token}")
    visible(page.locator(".jp-NotebookPanel"), "the notebook panel", 60)
    poll(
        page,
        JS_KERNEL,
        lambda k: k == {"ready": True, "kernel": "idle", "connection": "connected"},
        120,
        "the notebook's kernel to be ready, connected and idle",
    )
    return page


def start_run_all(page: Any) -> None:
    """Run > Run All Cells (returns at once)."""
    page.evaluate(JS_RUN_ALL)


def finish_run_all(page: Any, timeout: float = 300) -> None:
    """Wait for Run All to end; fail on a dialog, a cell that raised or a cell never run."""
    state = poll(
        page,
        JS_STATE,
        lambda s: (
            s["errors"]
            or s["dialog"]
            or s["runAll"] not in (None, "true")  # stopped early, or rejected
            or (s["runAll"] == "true" and s["kernel"] == "idle" and not s["pending"])
        ),
        timeout,
        "Run All Cells to finish",
    )
    assert not state["dialog"], f"a dialog opened: {state['dialog']}"
    assert not state["errors"], f"cells raised: {state['errors']}"
    assert state["runAll"] == "true", f"run-all-cells ended with {state['runAll']}"
    assert state["pending"] == 0, f"{state['pending']} code cell(s) never ran"


def set_theme(page: Any, dark: bool) -> None:
    """Switch JupyterLab's theme (light or dark) and wait until it applies."""
    theme = "JupyterLab Dark" if dark else "JupyterLab Light"
    page.evaluate(
        "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme
    )
    page.wait_for_function(
        "(light) => document.body.dataset.jpThemeLight === light",
        arg="false" if dark else "true",
        timeout=30_000,
    )
    page.wait_for_timeout(500)  # the theme's CSS, applied


def shoot(locator: Any, name: str) -> Path:
    """A picture of one element in ``tests/artifacts/``; returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(path))
    return path


def output_texts(page: Any) -> list[str]:
    """The text of every output in the notebook."""
    return [str(t) for t in page.locator(OUTPUT).all_inner_texts()]
