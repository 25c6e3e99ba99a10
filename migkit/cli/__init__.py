"""The ``migkit`` command line (also ``python -m migkit``).

Commands: ``sandbox``, ``demo``, ``templates``, ``validate``, ``import``, ``watch``,
``decide``, ``export``, ``reconcile``, ``diff``, ``recover`` (Generation 1), and ``migrate``,
``thread`` (Generation 2, the agent). Each has ``--help`` with an
example and ``--json`` output. Commands that call the API read the key from ``$VERN_API_KEY``
(or a ``.env`` file) and the URL from ``--base-url`` or ``$VERN_BASE_URL``.

Exit codes: 0 ok; 1 a run failed, waits for a decision, or more rows were flagged than
allowed, or reconcile/diff found differences; 2 usage error; 3 API error, or (``migrate``) the
agent waits for answers a script must give.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from migkit.cli import agent, local, remote, serve
from migkit.cli.common import EXIT_CODES, USAGE, Exit, code_for, is_outcome
from migkit.printable import printable


def build_parser() -> argparse.ArgumentParser:
    """The ``migkit`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="migkit",
        description="Validate, import, watch, export and reconcile spreadsheets through the "
        "Vern Migration API.",
        epilog=EXIT_CODES,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.add_sandbox(sub)
    serve.add_demo(sub)
    remote.add_templates(sub)
    local.add_validate(sub)
    remote.add_import(sub)
    remote.add_watch(sub)
    remote.add_decide(sub)
    remote.add_export(sub)
    local.add_reconcile(sub)
    local.add_diff(sub)
    remote.add_recover(sub)
    agent.add_migrate(sub)
    agent.add_thread(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``migkit`` command; returns the exit code.

    >>> main(["sandbox", "--faults", "nonsense"])
    2
    """
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except Exit as exc:
        print(f"migkit {args.command}: {printable(exc, keep_newlines=True)}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"migkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not is_outcome(exc):
            raise  # a bug, not an outcome: keep the traceback
        code = code_for(exc)
        # Messages quote servers and files; whatever escaped escaping there is escaped here.
        print(f"migkit {args.command}: {printable(exc, keep_newlines=True)}", file=sys.stderr)
        return code
    return code


__all__ = ["USAGE", "build_parser", "main"]
