"""Every file of the shared corpus of real files (other readers' test suites: calamine, xlrd,
openpyxl, csvkit, messytables, CleverCSV, ...) gives a frame or a ``ReadError``: never another
exception, never a crash, within a time and a memory bound. The CSVs pandas reads cleanly give
the cells pandas gives, modulo empty-vs-null and the differences the README documents.

The files are never copied into the repository: they are read from ``../shared/real_files``
beside the repository (or ``/work/shared/real_files``), and the test skips without them. A
worker process under ``RLIMIT_AS`` reads them one after another and reports each; a file that
kills it or outlasts the timeout fails the test and the next worker carries on after it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [ROOT.parent / "shared" / "real_files", Path("/work/shared/real_files")]
CORPUS = next((p for p in CANDIDATES if p.is_dir()), None)
MEMORY = 4 << 30  # address space of the worker: a 512 GiB allocation cannot happen
TIMEOUT = 120.0  # seconds without an answer for one file (generous: CI machines are shared)
TEXT = (".csv", ".tsv", ".txt")

pytestmark = pytest.mark.skipif(CORPUS is None, reason="the shared real_files corpus is absent")


def corpus_files() -> list[Path]:
    assert CORPUS is not None
    skip = {"MANIFEST.tsv", "README.md"}
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in skip)


def compare_with_pandas(path: Path, frame: Any) -> str:
    """``"same"``, ``"skipped: why"`` or ``"DIFFERENT: what"`` for a delimited file."""
    import pandas as pd

    info = frame.attrs["migkit"]
    if info["skipped_above_header"]:
        return "skipped: banner lines above the header (documented difference)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            theirs = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                sep=info["delimiter"],
                encoding=info["encoding"],
            )
    except Exception as exc:  # pandas does not read it cleanly: nothing to compare
        return f"skipped: pandas refuses it ({type(exc).__name__})"
    if not isinstance(theirs.index, pd.RangeIndex):
        return "skipped: pandas took the first column as the index (rows longer than the header)"
    ours = frame.astype(object).where(frame.notna(), "")
    theirs = theirs.astype(object).where(theirs.notna(), "")
    # documented: rows of empty cells are dropped (pandas keeps them as rows of "")
    ours = ours[(ours != "").any(axis=1)].reset_index(drop=True)
    theirs = theirs[(theirs != "").any(axis=1)].reset_index(drop=True)
    if ours.shape != theirs.shape:
        return f"DIFFERENT: shape {ours.shape} vs pandas {theirs.shape}"
    if ours.values.tolist() != theirs.values.tolist():
        return "DIFFERENT: cells"
    return "same"


def worker() -> None:
    """Read the files named on stdin, one JSON line of outcome per file on stdout."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    warnings.simplefilter("ignore")
    import migkit

    for line in sys.stdin:
        path = Path(line.strip())
        outcome: dict[str, Any] = {"file": str(path)}
        try:
            frame = migkit.read(path)
            outcome["result"] = "frame"
            if path.suffix.lower() in TEXT:
                outcome["pandas"] = compare_with_pandas(path, frame)
        except migkit.ReadError as exc:
            outcome.update(result="ReadError", message=str(exc)[:300])
        except BaseException as exc:  # what the test exists to catch
            outcome.update(result=type(exc).__name__, message=str(exc)[:300])
        print(json.dumps(outcome), flush=True)


def read_all(files: list[Path]) -> dict[str, dict[str, Any]]:
    """Each file's outcome; a worker that dies or hangs on a file is replaced after it."""
    outcomes: dict[str, dict[str, Any]] = {}
    pending = list(files)
    command = [sys.executable, "-c", "from tests.frames.test_real_files import worker; worker()"]
    while pending:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("".join(f"{p}\n" for p in pending))
        process.stdin.close()
        for path in list(pending):
            answer = _next_line(process, TIMEOUT)
            if answer is None:
                outcomes[str(path)] = {"file": str(path), "result": "died or timed out"}
                process.kill()
                pending.remove(path)
                break
            outcomes[str(path)] = json.loads(answer)
            pending.remove(path)
        process.wait()
    return outcomes


def _next_line(process: subprocess.Popen[str], timeout: float) -> str | None:
    import selectors

    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return None
    line = process.stdout.readline()
    return line or None


def test_every_real_file_gives_a_frame_or_a_read_error_within_bounds() -> None:
    outcomes = read_all(corpus_files())
    wrong = {f: o for f, o in outcomes.items() if o["result"] not in ("frame", "ReadError")}
    assert not wrong, json.dumps(wrong, indent=1)
    counts = {k: sum(o["result"] == k for o in outcomes.values()) for k in ("frame", "ReadError")}
    print(f"\nreal files: {counts} of {len(outcomes)}")
    different = {f: o["pandas"] for f, o in outcomes.items() if "DIFFERENT" in o.get("pandas", "")}
    assert not different, json.dumps(different, indent=1)
    compared = sum(o.get("pandas") == "same" for o in outcomes.values())
    assert compared >= 100  # the comparison really ran (most of the corpus' CSVs)
