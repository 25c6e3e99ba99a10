"""What both demos stand on: the sample workbook found, an embedded sandbox, and a client of
it with a throwaway ledger and a poll schedule paced to the sandbox's steps.

>>> with demo_session("customer_workbook.xlsx", step_seconds=0) as (path, sb, client):
...     print(path.name)  # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from migkit.client import Client
from migkit.polling import PollSchedule
from migkit.progress import progress_enabled

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"


def missing_workbook(workbook: str, data: str | None) -> str | None:
    """What to say when ``workbook`` is not in ``data`` (or the sample data); None when it is."""
    path = (Path(data) if data else SAMPLE_DATA) / workbook
    return None if path.is_file() else f"{path} not found; pass --data FOLDER holding {workbook}"


@contextmanager
def demo_session(
    workbook: str, *, step_seconds: float, data: str | None = None, progress: bool = True
) -> Iterator[tuple[Path, Any, Client]]:
    """The workbook's path (in ``data`` or the sample data), a running sandbox and a client
    of it; all stopped and removed at the end (check :func:`missing_workbook` first)."""
    import migkit.sandbox  # the demo's embedded server; the client itself never imports it

    path = (Path(data) if data else SAMPLE_DATA) / workbook
    poll = PollSchedule(first=max(0.1, step_seconds), growth=0.05, cap=2.0)
    with (
        migkit.sandbox.start(step_seconds=step_seconds) as sb,
        tempfile.TemporaryDirectory(prefix="migkit-demo-") as tmp,
        Client(
            sb.api_key,
            sb.base_url,
            ledger=Path(tmp) / "ledger.db",
            poll=poll,
            progress=progress and progress_enabled(),
        ) as client,
    ):
        print(f"Embedded sandbox at {sb.base_url} (a local emulator of the Vern Migration API)")
        yield path, sb, client
