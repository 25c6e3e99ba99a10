"""What every ``migkit`` command shares: options, the client, output, and exit codes."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from migkit.errors import (
    APIError,
    ConfigurationError,
    MigkitError,
    RunError,
    TransportError,
    UsageError,
)
from migkit.printable import json_printable, printable

if TYPE_CHECKING:
    import pandas as pd

OK, FAILED, USAGE, API = 0, 1, 2, 3
EXIT_CODES = (
    "exit codes: 0 ok, 1 run failed or rows flagged or differences found, 2 usage error, "
    "3 API error"
)


class Exit(Exception):
    """Stop with ``code`` after printing ``message`` (to stderr)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def command(
    sub: Any, name: str, help_text: str, example: str, description: str | None = None
) -> argparse.ArgumentParser:
    """Add the subcommand ``name``; its ``--help`` ends with ``example``."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help_text, description=description or help_text, epilog=example
    )
    return parser


def read_one(path: str, sheet: str | None = None, hint: str = "pick one with --sheet") -> Any:
    """One frame from ``path`` with :func:`migkit.read`; a workbook of several sheets is a
    usage error (``hint`` says what to do)."""
    from migkit.read import read

    frame = read(path, sheet=sheet)
    if isinstance(frame, dict):
        raise Exit(USAGE, f"{path} has several sheets ({', '.join(frame)}); {hint}")
    return frame


def add_output(parser: argparse.ArgumentParser) -> None:
    """``--json``: one JSON document on stdout instead of text."""
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document (for scripts) instead of text"
    )


def add_api(parser: argparse.ArgumentParser) -> None:
    """Options of commands that call the API. The key only comes from the environment."""
    parser.add_argument(
        "--base-url",
        default=None,
        help="API base URL (default: $VERN_BASE_URL, else the real service); the API key is "
        "read from $VERN_API_KEY or a .env file, never from the command line",
    )
    add_progress(parser)


def add_progress(parser: argparse.ArgumentParser) -> None:
    """``--no-progress``: no bars or progress lines (as ``MIGKIT_PROGRESS=0``)."""
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars or lines (also: MIGKIT_PROGRESS=0); on a terminal progress "
        "is a bar, elsewhere one line per status change",
    )


def progress_wanted(args: argparse.Namespace) -> bool:
    """False with ``--no-progress`` or ``MIGKIT_PROGRESS=0``."""
    from migkit.progress import progress_enabled

    return not getattr(args, "no_progress", False) and progress_enabled()


def progress(args: argparse.Namespace) -> Any:
    """The progress display of a command that waits and then prints the run itself: a bar on
    a terminal (cleared at the end), one line per status change elsewhere; ``None`` when off."""
    from migkit.progress import terminal_progress

    return terminal_progress(end_line=False) if progress_wanted(args) else None


def client(args: argparse.Namespace) -> Any:
    """The ``migkit.Client`` for an API command."""
    from migkit.client import Client

    return Client(base_url=args.base_url, progress=progress_wanted(args))


def plain(value: Any) -> Any:
    """``value`` as JSON-friendly data (frames become lists of records)."""
    import pandas as pd  # here, not at the top: `migkit --help` loads no pandas

    if isinstance(value, pd.DataFrame):
        return [
            {str(k): plain(v) for k, v in row.items()}
            for row in value.reset_index().to_dict(orient="records")
        ]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


@dataclass
class Output:
    """Where a command writes: JSON for scripts, or lines for people."""

    as_json: bool

    def emit(self, data: Mapping[str, Any], text: Callable[[], str]) -> None:
        """Print ``data`` as JSON, or ``text()`` for people; either way, control characters
        from a server or a file cannot act on the terminal (escaped, in JSON as ``\\uXXXX``)."""
        if self.as_json:
            document = json.dumps(plain(data), indent=2, ensure_ascii=False, default=str)
            sys.stdout.write(json_printable(document) + "\n")
        else:
            sys.stdout.write(printable(text().rstrip("\n"), keep_newlines=True) + "\n")
        sys.stdout.flush()


def table(frame: pd.DataFrame, limit: int = 20) -> str:
    """A frame as aligned text, at most ``limit`` rows (and how many more)."""
    if frame.empty:
        return "(none)"
    head = frame.head(limit)
    cells = head.map(lambda v: printable(v, limit=200) if isinstance(v, str) else v)
    cells.columns = [printable(c, limit=100) for c in head.columns]
    shown = cells.to_string()
    more = len(frame) - limit
    return shown + (f"\n… {more:,} more" if more > 0 else "")


def is_outcome(exc: BaseException) -> bool:
    """True for an error that is an outcome to report in a line (a run that failed or timed
    out, an API, usage or file error), by its class; anything else is a bug, whose traceback
    is kept."""
    return isinstance(exc, MigkitError | ValueError | FileNotFoundError)


def code_for(exc: BaseException) -> int:
    """The exit code an error means."""
    if isinstance(exc, RunError):
        return FAILED
    if isinstance(exc, APIError | TransportError):
        return API
    if isinstance(exc, UsageError | ConfigurationError | ValueError | FileNotFoundError):
        return USAGE
    if isinstance(exc, MigkitError):
        return API
    return FAILED
