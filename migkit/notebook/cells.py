"""Where notebook output goes: which cell is running, what it already shows, and answering
widgets while a cell waits.

- :func:`current_cell` names the request the kernel is handling (a cell's execution, or a
  widget's click), so a run waited on twice in one cell keeps one panel.
- :func:`mark_shown` / :func:`shown_here`: a run whose panel already shows its final state in
  this cell is not shown again by the cell's returned value (the report is shown once).
- :func:`click_signal` sees a click on a button while the cell that shows it waits (the
  run panel's *Cancel* button).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

_SHOWN: dict[str, tuple[str, Mapping[str, Any]]] = {}


def _kernel() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    shell = get_ipython()
    return getattr(shell, "kernel", None)


def _parent() -> Mapping[str, Any]:
    kernel = _kernel()
    get_parent = getattr(kernel, "get_parent", None)
    try:
        parent = get_parent() if get_parent is not None else None
    except Exception:  # a kernel without a current request
        parent = None
    return parent if isinstance(parent, Mapping) else {}


def current_cell() -> str:
    """The id of the request the kernel is handling (``""`` outside a kernel)."""
    header = _parent().get("header") or {}
    return str(header.get("msg_id", ""))


def mark_shown(run: Any) -> None:
    """Note that this cell's panel shows ``run`` in its current state."""
    cell = current_cell()
    if cell:
        if len(_SHOWN) > 1000:  # only the latest cells matter
            _SHOWN.clear()
        _SHOWN[run.id] = (cell, getattr(run, "raw", {}))


def shown_here(run: Any) -> bool:
    """True when this cell's panel already shows ``run`` in this very state."""
    seen = _SHOWN.get(run.id)
    cell = current_cell()
    return bool(cell) and seen is not None and seen == (cell, getattr(run, "raw", {}))


def click_signal(button: Any) -> threading.Event | None:
    """An event set as soon as ``button`` is clicked, even while the cell that shows it is
    busy waiting; ``None`` where the kernel cannot tell (the button then stays hidden).

    A busy cell holds the kernel's main thread, so the click's handler only runs once the cell
    ends. ipykernel 7 receives every message on a thread of its own first, and asks the
    target comm which subshell should handle it (``_reply_subshell_for``): answering that
    question is the earliest moment a click is seen, and this hook notes it there (routing is
    left unchanged; the handler still runs later and must find the work done).
    """
    comm = getattr(button, "comm", None)
    route = getattr(comm, "_reply_subshell_for", None)
    kernel = _kernel()
    if route is None or kernel is None or not getattr(kernel, "shell_channel_thread", None):
        return None
    clicked = threading.Event()

    def note_click(data: Any, default: Any) -> Any:
        with suppress(Exception):  # never break the kernel's message routing
            content = data.get("content") if isinstance(data, Mapping) else None
            if isinstance(content, Mapping) and content.get("event") == "click":
                clicked.set()
        return route(data, default)

    comm._reply_subshell_for = note_click  # type: ignore[union-attr]
    return clicked
