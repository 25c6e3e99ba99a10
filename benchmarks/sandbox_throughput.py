"""Sandbox throughput: how fast the emulator imports and exports a Contacts sheet.

Not a test: it prints numbers. The later client/export benchmarks lean on the sandbox, so its
own speed is worth knowing. Run: ``.venv/bin/python benchmarks/sandbox_throughput.py [ROWS...]``
(default 10000 100000).
"""

from __future__ import annotations

import argparse
import csv
import io
import time

import requests

import migkit.sandbox

try:  # run as a script (or imported by export_frame.py): this folder is on sys.path
    import _measure
except ImportError:  # imported as benchmarks.sandbox_throughput from the repository root
    from benchmarks import _measure

HEADER = ["Email", "First Name", "Last Name", "Phone", "Status", "Account"]


def contacts_csv(rows: int) -> bytes:
    """A Contacts file of ``rows`` rows, 1% with a bad phone (flagged, so the run completes)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for i in range(rows):
        phone = "call me" if i % 100 == 0 else "+1 555 0100"
        writer.writerow([f"user{i}@example.com", "Ann", f"Lee {i}", phone, "Open", "Acme"])
    return buffer.getvalue().encode("utf-8")


def measure(rows: int) -> dict[str, float]:
    """Seconds to upload, import (to completion) and export ``rows`` rows."""
    data = contacts_csv(rows)
    with migkit.sandbox.start(step_seconds=0, api_key="bench", rate_limit=1_000_000) as sb:
        s = requests.Session()
        s.headers["x-api-key"] = "bench"
        base = sb.base_url
        cid, sheet = _measure.contacts_company(s, base, "Bench")
        t0 = time.perf_counter()
        upload_ref = _measure.upload_csv(s, base, cid, data)
        t1 = time.perf_counter()
        state = _measure.import_and_wait(s, base, cid, upload_ref, poll_seconds=0.01)
        assert state["status"] == "completed", state
        t2 = time.perf_counter()
        body = s.get(
            f"{base}/companies/{cid}/export.csv", params={"sheet_id": sheet, "filter": "all"}
        ).content
        t3 = time.perf_counter()
    return {"upload": t1 - t0, "import": t2 - t1, "export": t3 - t2, "mb": len(body) / 1e6}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="*", help="Contacts rows per run")
    sizes = parser.parse_args(argv).rows or [10_000, 100_000]
    print(
        f"{'rows':>9} {'upload s':>9} {'import s':>9} {'rows/s':>10} {'export s':>9} "
        f"{'MB':>6} {'rows/s':>10}"
    )
    for rows in sizes:
        m = measure(rows)
        print(
            f"{rows:>9,} {m['upload']:>9.2f} {m['import']:>9.2f} {rows / m['import']:>10,.0f} "
            f"{m['export']:>9.2f} {m['mb']:>6.1f} {rows / m['export']:>10,.0f}"
        )


if __name__ == "__main__":
    main()
