"""Default progress display for polling: live panels in Jupyter, bars or lines elsewhere.

:func:`default_progress` picks :mod:`migkit.notebook.panel` when the code runs in a Jupyter
kernel with ipywidgets; else :class:`~migkit.progress.terminal.BarProgress` when stderr is a
terminal with a width, and :class:`~migkit.progress.terminal.LineProgress` (one line per status
change, one summary line per run) for logs, pipes and terminals without a width. Setting
``MIGKIT_PROGRESS=0`` turns progress off everywhere (as ``Client(progress=False)`` and the
CLI's ``--no-progress`` do). All are :class:`~migkit.polling.PollEvent` hooks.

>>> import os
>>> os.environ["MIGKIT_PROGRESS"] = "0"
>>> default_progress(1, lambda: 0) is None
True
>>> del os.environ["MIGKIT_PROGRESS"]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

from migkit._retry_notices import RetryNotice
from migkit.polling import PollEvent, ProgressHook
from migkit.progress.state import RunState, duration
from migkit.progress.terminal import BarProgress, LineProgress

__all__ = [
    "BarProgress",
    "LineProgress",
    "RunState",
    "default_progress",
    "duration",
    "progress_enabled",
    "terminal_progress",
    "widgets_available",
]

OFF = frozenset({"0", "false", "no", "off"})


def progress_enabled() -> bool:
    """False when ``MIGKIT_PROGRESS`` says off (``0``, ``false``, ``no``, ``off``)."""
    return os.environ.get("MIGKIT_PROGRESS", "").strip().lower() not in OFF


def _has_width(stream: TextIO) -> bool:
    # A terminal that reports no columns (``script -c`` without a terminal of its own, some
    # CI runners) would get blank bars: it gets plain lines instead.
    try:
        return stream.isatty() and os.get_terminal_size(stream.fileno()).columns > 0
    except (OSError, ValueError, AttributeError):
        return False


def terminal_progress(
    runs: int = 1, stream: TextIO | None = None, *, end_line: bool = True
) -> ProgressHook[Any]:
    """Bars when ``stream`` (default stderr) is a terminal with a width, else plain lines.
    ``end_line=False``: a bar ends without a summary line (the caller prints the run); plain
    lines always end with one, so a log says how each run ended."""
    target = stream or sys.stderr
    if _has_width(target):
        return BarProgress(total=runs if runs > 1 else None, stream=stream, end_line=end_line)
    return LineProgress(stream=stream)


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


def default_progress(runs: int, requests: Callable[[], int]) -> ProgressHook[Any] | None:
    """The progress hook for watching ``runs`` runs (``None`` when progress is off).
    ``requests`` returns the client's request count (shown as requests spent)."""
    if not progress_enabled():
        return None
    if not widgets_available():
        return terminal_progress(runs)
    fallback = LineProgress(stream=sys.stdout)  # a notebook's text output, not red stderr
    try:
        from migkit.notebook.panel import FleetProgress, NotebookProgress

        panel: ProgressHook[Any] = (
            FleetProgress(runs, requests) if runs > 1 else NotebookProgress(requests)
        )
    except Exception:  # a frontend without widget support: text, never a traceback
        return fallback
    return Guarded(panel, fallback)


class Guarded:
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

    def retrying(self, notice: RetryNotice, run: Any = None) -> None:
        """Pass a retry notice on to the display in use."""
        target = self.hook if self.hook is not None else self.fallback
        retrying = getattr(target, "retrying", None)
        if retrying is None:
            return
        try:
            retrying(notice, run)
        except Exception:
            if target is self.hook:
                self.hook = None

    def pause(self, seconds: float, sleep: Callable[[float], None]) -> None:
        """Let the display in use wait (and tick); plain ``sleep`` if it cannot."""
        pause = getattr(self.hook, "pause", None) if self.hook is not None else None
        if pause is None:
            sleep(seconds)
            return
        try:
            pause(seconds, sleep)
        except Exception:
            self.hook = None
            sleep(seconds)  # may wait longer than asked once; never a traceback
