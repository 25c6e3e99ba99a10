"""Measurement helpers shared by the benchmark scripts in this folder.

Peak resident memory through ``/proc`` (Linux), the child-process protocol (a script re-runs
itself with ``--side ...`` and prints one JSON line last), the version header, ratio/target
lines and the closing notes, Arrow IPC files for handing frames to the children, and the
sandbox set-up steps (a Contacts company, a signed upload, an import waited on).

Imported as ``_measure`` when a script runs as ``python benchmarks/X.py`` (its folder is on
``sys.path``) and as ``benchmarks._measure`` when a script is imported from the repository root.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import platform
import resource
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# --- peak resident memory --------------------------------------------------------------------


def status_bytes(field: str) -> int:
    """``VmRSS`` / ``VmHWM`` (any kB field of ``/proc/self/status``) of this process, in bytes.

    Not ``ru_maxrss``: across exec Linux can keep the forking parent's peak there.
    """
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def maxrss_bytes() -> int:
    """``ru_maxrss`` of this process, in bytes."""
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (Linux >= 4.0); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


class PeakRss:
    """Peak resident memory from now on, above the resident size now.

    Creating it resets the high-water mark through ``/proc/self/clear_refs`` (``reset`` says
    whether that worked) and reads the resident size (``VmRSS``). :meth:`peak` is the high-water
    mark since (``VmHWM``, or ``ru_maxrss`` with ``maxrss=True``) minus that resident size; where
    the reset failed, minus the high-water mark at creation instead (growth of the peak).
    """

    def __init__(self, *, maxrss: bool = False) -> None:
        self._high: Callable[[], int] = maxrss_bytes if maxrss else self._hwm
        self.reset = reset_peak_rss()
        self._before = status_bytes("VmRSS") if self.reset else self._high()

    @staticmethod
    def _hwm() -> int:
        return status_bytes("VmHWM")

    def peak(self) -> int:
        return self._high() - self._before


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one ``call()`` took, and what it returned."""
    t0 = time.perf_counter()
    out = call()
    return time.perf_counter() - t0, out


# --- child processes -------------------------------------------------------------------------


class ChildFailed(Exception):
    """A child exited non-zero or printed nothing; ``str()`` is its last stderr line."""

    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        tail = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        super().__init__(tail)
        self.returncode = proc.returncode
        self.stderr = proc.stderr


def script_command(script: str, **options: Any) -> list[str]:
    """``python SCRIPT --name value ...`` (``base_url=`` becomes ``--base-url``)."""
    cmd = [sys.executable, script]
    for name, value in options.items():
        cmd += [f"--{name.replace('_', '-')}", str(value)]
    return cmd


def side_parser(description: str, *, seed: int, sides: Iterable[str]) -> argparse.ArgumentParser:
    """The options of a script that measures each side in a child (``--side``, ``--workdir``
    are the children's, hidden); a side may also be ``generate`` or ``report``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side (best kept)")
    parser.add_argument("--side", choices=[*sides, "generate", "report"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    return parser


def side_command(script: str, side: str, workdir: Path, args: argparse.Namespace) -> list[str]:
    """The command running ``side`` of ``script`` in a child, with the parent's options."""
    return script_command(
        script, side=side, workdir=workdir, rows=args.rows, seed=args.seed, repeats=args.repeats
    )


def child_json(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd`` from the repository root; its last stdout line, parsed as JSON.

    Raises :class:`ChildFailed` when it exits non-zero or prints nothing.
    """
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or not lines:
        raise ChildFailed(proc)
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def child_passthrough(cmd: list[str]) -> None:
    """Run ``cmd`` from the repository root, then write its stdout (and stderr if it failed)."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)


# --- printing --------------------------------------------------------------------------------


def versions(names: Iterable[str]) -> str:
    """``Python 3.x, name version, ...`` (``not installed`` for a missing distribution)."""
    parts = []
    for name in names:
        try:
            parts.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            parts.append(f"{name} not installed")
    return ", ".join([f"Python {platform.python_version()}", *parts])


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def target(text: str, goal: str, met: bool | None) -> None:
    """One target line: what was measured, the goal, met / NOT MET (None: side unavailable)."""
    verdict = "n/a (side unavailable)" if met is None else ("met" if met else "NOT MET")
    print(f"{text:<62} target {goal:<8} {verdict}")


def finish(notes: Iterable[str], started: float) -> None:
    """A blank line, the notes as a list wrapped at 100 columns, and the total time."""
    print()
    for note in notes:
        print(textwrap.fill(note, width=100, initial_indent="- ", subsequent_indent="  "))
    print(f"Total {time.perf_counter() - started:.0f}s")


# --- Arrow IPC files (frames handed to the children) -----------------------------------------


def write_arrow(table: Any, path: Path) -> None:
    """``table`` as one record batch in an Arrow IPC file."""
    import pyarrow as pa

    table = table.combine_chunks()
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(len(table), 1))


def read_arrow_frame(path: Path) -> Any:
    """The Arrow IPC file at ``path`` as a pandas DataFrame."""
    import pyarrow as pa

    with pa.OSFile(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    return table.to_pandas()


# --- sandbox set-up --------------------------------------------------------------------------


def contacts_company(session: Any, base: str, name: str) -> tuple[str, str]:
    """A new company with a Contacts sheet: its id and the sheet's id."""
    source = session.get(f"{base}/sources").json()["sources"][0]["id"]
    templates = {t["name"]: t["id"] for t in session.get(f"{base}/templates").json()["templates"]}
    company = session.post(
        f"{base}/companies",
        json={"name": name, "source": source, "template_ids": [templates["Contacts"]]},
    ).json()
    return company["company"]["id"], company["sheets"][0]["id"]


def upload_csv(session: Any, base: str, company: str, data: bytes) -> str:
    """``data`` through the signed upload as ``contacts.csv``; the upload reference."""
    import requests

    grant = session.post(
        f"{base}/companies/{company}/uploads",
        json={"name": "contacts.csv", "content_type": "text/csv", "size": len(data)},
    ).json()
    put = requests.put(grant["upload_url"], data=data, headers={"Content-Type": "text/csv"})
    put.raise_for_status()
    ref: str = grant["upload_ref"]
    return ref


def import_and_wait(
    session: Any, base: str, company: str, upload_ref: str, poll_seconds: float
) -> dict[str, Any]:
    """Import the uploaded ``contacts.csv`` and poll until it ends; the run's last state."""
    run = session.post(
        f"{base}/companies/{company}/imports",
        json={"files": [{"name": "contacts.csv", "upload_ref": upload_ref}]},
    ).json()
    poll = f"{base}/companies/{company}/imports/{run['run_id']}"
    while (state := session.get(poll).json())["status"] in ("queued", "running"):
        time.sleep(poll_seconds)
    result: dict[str, Any] = state
    return result
