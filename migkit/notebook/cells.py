"""Where notebook output goes: which cell is running, what it already shows, and answering
widgets while a cell waits.

- :func:`current_cell` names the request the kernel is handling (a cell's execution, or a
  widget's click), so a run waited on twice in one cell keeps one panel.
- :func:`mark_shown` / :func:`shown_here`: a run whose panel already shows its final state in
  this cell is not shown again by the cell's returned value (the report is shown once).
- :func:`ui_events` lets a cell that waits between polls still answer its widgets (the
  *Cancel* button): it hands the kernel's queued widget messages to ``jupyter_ui_poll``,
  which runs them and holds back cells queued meanwhile until the waiting cell ends. Outside
  a cell's execution (inside a click handler, say) it does nothing, since there no cell ends
  to let the held-back ones go.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
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


def in_cell_execution() -> bool:
    """True while the kernel runs a cell (not a widget's click handler)."""
    header = _parent().get("header") or {}
    return header.get("msg_type") == "execute_request"


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


@contextmanager
def ui_events() -> Iterator[Callable[[], None] | None]:
    """A function that answers the widgets' queued messages (clicks) while this cell waits,
    or ``None`` when that is not possible here (no kernel, not a cell, no jupyter_ui_poll)."""
    if _kernel() is None or not in_cell_execution():
        yield None
        return
    try:
        from jupyter_ui_poll import ui_events as poll_events

        context = poll_events()
        poll = context.__enter__()
    except Exception:  # an unusual kernel: no clicks while waiting, never a traceback
        yield None
        return
    try:
        yield lambda: poll(10)
    finally:
        context.__exit__(None, None, None)
