"""Default progress display for polling: live widget panels in Jupyter, tqdm elsewhere.

:func:`default_progress` picks :mod:`migkit.notebook.panel` when the code runs in a Jupyter
kernel with ipywidgets, else a :class:`TqdmProgress` (``tqdm.auto``: a terminal bar, or
tqdm's own notebook bar), which ends each run with one plain line and prints a paused run's
questions readably. Both are :class:`~migkit.polling.PollEvent` hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tqdm.auto import tqdm

from migkit.polling import PollEvent, ProgressHook
from migkit.printable import printable


class TqdmProgress:
    """A progress hook: one bar per run showing its status and the server's message."""

    def __init__(self, total: int | None = None, **tqdm_kwargs: Any) -> None:
        self._bars: dict[str, Any] = {}
        self._kwargs = {"bar_format": "{desc} [{elapsed}]", "leave": True, **tqdm_kwargs}
        self._total = tqdm(total=total, desc="runs ended", unit="run") if total else None

    def __call__(self, event: PollEvent[Any]) -> None:
        run = event.run
        bar = self._bars.get(run.id)
        if bar is None:
            bar = tqdm(total=None, desc=f"run {run.id[:8]}", **self._kwargs)
            self._bars[run.id] = bar
        message = getattr(run, "progress_message", None)
        text = f"run {printable(run.id[:8])} {printable(run.status, limit=40)}" + (
            f" - {printable(message, limit=200)}" if message else ""
        )
        bar.set_description_str(text, refresh=True)
        if event.next_poll_in is None:
            bar.close()
            del self._bars[run.id]
            tqdm.write(_ending(run))
            if self._total is not None:
                self._total.update(1)
                if self._total.n >= (self._total.total or 0):
                    self._total.close()


def _ending(run: Any) -> str:
    # One plain line per ended run; a paused run prints its questions (Run.__str__).
    if getattr(run, "waiting", False):
        return str(run)
    report = getattr(run, "report", None)
    line = f"run {printable(run.id[:8])} {printable(run.status, limit=40)}"
    if report is not None and hasattr(report, "flagged_rows"):
        line += f": {report.inserted:,} rows inserted, {report.flagged_rows:,} flagged"
    elif report is not None and hasattr(report, "succeeded"):
        line += f": {report.succeeded:,} of {report.total:,} writes succeeded"
    if getattr(run, "error", None):
        line += f": {printable(run.error, limit=1000)}"
    return line


def widgets_available() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab) with ipywidgets."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    if shell is None or "IPKernelApp" not in getattr(shell, "config", {}):
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:  # pragma: no cover
        return False
    return True


def default_progress(runs: int, requests: Callable[[], int]) -> ProgressHook[Any]:
    """The progress hook for watching ``runs`` runs: widget panels in Jupyter, tqdm else.
    ``requests`` returns the client's request count (shown as requests spent)."""
    fallback = TqdmProgress(total=runs if runs > 1 else None)
    if not widgets_available():
        return fallback
    try:
        from migkit.notebook.panel import FleetProgress, NotebookProgress

        panel: ProgressHook[Any] = (
            FleetProgress(runs, requests) if runs > 1 else NotebookProgress(requests)
        )
    except Exception:  # a frontend without widget support: text, never a traceback
        return fallback
    return _Guarded(panel, fallback)


class _Guarded:
    """Widget progress that falls back to text for good if a widget update ever fails."""

    def __init__(self, hook: ProgressHook[Any], fallback: ProgressHook[Any]) -> None:
        self.hook: ProgressHook[Any] | None = hook
        self.fallback = fallback

    def __call__(self, event: PollEvent[Any]) -> None:
        if self.hook is not None:
            try:
                self.hook(event)
                return
            except Exception:
                self.hook = None
        self.fallback(event)
