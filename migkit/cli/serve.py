"""``migkit sandbox`` and ``migkit demo``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from migkit.cli.common import add_progress, command, progress_wanted

EXAMPLES = {
    "sandbox": "example: migkit sandbox --port 8787 --api-key sk_local --step-seconds 0.2",
    "demo": "example: migkit demo --step-seconds 0.2 (the agent story: --generation 2)",
}


def add_sandbox(sub: Any) -> None:
    p = command(
        sub,
        "sandbox",
        "run the local Migration API emulator",
        EXAMPLES["sandbox"],
        "Run the local Vern Migration API sandbox (a real HTTP server) until Ctrl-C.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 = any free)")
    p.add_argument(
        "--db",
        help="SQLite file that keeps all state across restarts "
        "(default: a temporary file, gone on exit)",
    )
    p.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help="an API key; repeat for several isolated accounts "
        "(default: one generated key, printed)",
    )
    p.add_argument(
        "--rate-limit",
        type=int,
        default=100,
        help="requests per rolling minute per key and route (default 100)",
    )
    p.add_argument(
        "--step-seconds", type=float, default=1.0, help="time each run step takes (default 1.0)"
    )
    p.add_argument(
        "--faults",
        default=None,
        metavar="NAME",
        help="fault profile (off, flaky, chaos, slow, runs) or name=rate pairs, "
        "e.g. error_before=0.1,drop_after=0.05,seed=7",
    )
    p.add_argument(
        "--heartbeat-seconds",
        type=float,
        default=15.0,
        help="how often an idle Generation-2 thread stream sends a comment (default 15)",
    )
    p.add_argument(
        "--socket-timeout",
        type=float,
        default=60.0,
        help="close a connection silent (or not reading) this many seconds (default 60)",
    )
    p.set_defaults(run=run_sandbox)


def run_sandbox(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM."""
    import migkit.sandbox

    try:
        sb = migkit.sandbox.start(
            host=args.host,
            port=args.port,
            db=args.db,
            api_key=args.api_key or None,
            rate_limit=args.rate_limit,
            step_seconds=args.step_seconds,
            faults=args.faults,
            heartbeat_seconds=args.heartbeat_seconds,
            socket_timeout=args.socket_timeout,
        )
    except ValueError as exc:
        print(f"migkit sandbox: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"migkit sandbox: cannot listen on {args.host}:{args.port} ({exc}); "
            "pick another --port or stop the other server",
            file=sys.stderr,
        )
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if not args.api_key:
        print(f"migkit sandbox api key: {sb.api_key}", flush=True)
    print(f"migkit sandbox listening on {sb.base_url}", flush=True)
    try:
        stop.wait()
    finally:
        sb.stop()
    print("migkit sandbox stopped", flush=True)
    return 0


def add_demo(sub: Any) -> None:
    p = command(
        sub,
        "demo",
        "run an end-to-end migration against the embedded sandbox",
        EXAMPLES["demo"],
        "Read the messy sample workbook, validate and fix it, import Accounts then Contacts "
        "into the embedded sandbox, answer the server's question, export and reconcile.",
    )
    p.add_argument(
        "--step-seconds",
        type=float,
        default=0.3,
        help="time each sandbox run step takes (default 0.3)",
    )
    p.add_argument(
        "--data",
        default=None,
        help="folder holding customer_workbook.xlsx (generation 2: agent_workbook.xlsx; "
        "default: the repository's sample_data)",
    )
    p.add_argument(
        "--generation",
        type=int,
        choices=(1, 2),
        default=1,
        help="1: companies and imports (the default); 2: an agent migration (preview, "
        "questions, changes in plain words, execute)",
    )
    add_progress(p)
    p.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """The end-to-end story against the embedded sandbox."""
    if args.generation == 2:
        from migkit.demo_agent import run_agent_demo

        return run_agent_demo(
            step_seconds=args.step_seconds, data=args.data, progress=progress_wanted(args)
        )
    from migkit.demo import run_demo as demo

    return demo(step_seconds=args.step_seconds, data=args.data, progress=progress_wanted(args))
