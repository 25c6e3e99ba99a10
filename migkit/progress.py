"""Default progress display for polling: a ``tqdm.auto`` bar per run.

``tqdm.auto`` picks the notebook widget or the terminal bar. Richer notebook panels build on
the same :class:`~migkit.polling.PollEvent` hook.
"""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm

from migkit.polling import PollEvent


class TqdmProgress:
    """A progress hook: one bar per run showing its status and the server's message."""

    def __init__(self, **tqdm_kwargs: Any) -> None:
        self._bars: dict[str, Any] = {}
        self._kwargs = {"bar_format": "{desc} [{elapsed}]", "leave": True, **tqdm_kwargs}

    def __call__(self, event: PollEvent[Any]) -> None:
        run = event.run
        bar = self._bars.get(run.id)
        if bar is None:
            bar = tqdm(total=None, desc=f"run {run.id[:8]}", **self._kwargs)
            self._bars[run.id] = bar
        message = getattr(run, "progress_message", None)
        text = f"run {run.id[:8]} {run.status}" + (f" - {message}" if message else "")
        bar.set_description_str(text, refresh=True)
        if event.next_poll_in is None:
            bar.close()
            del self._bars[run.id]
