"""Reading benchmark: ``migkit.read`` vs pandas on the same files, and what the safety checks
cost. Not a test: it prints numbers and ratios, it asserts nothing. Run::

    .venv/bin/python benchmarks/read.py [--rows 300000]

Each side runs in its own fresh subprocess (peak RSS is per process):

- CSV: ``migkit.read`` (whole-file encoding check, header location, one pyarrow parse with
  short rows mended) vs ``pandas.read_csv(dtype=str, keep_default_na=False)`` (C parser);
- XLSX: ``migkit.read`` (the sheet measured from its XML first, then calamine) vs
  ``pandas.read_excel(engine="calamine", dtype=str)``; ``measure`` alone is the safety scan;
- the hostile ``A1`` + ``XFD1048576`` workbook: migkit's refusal (pandas is not run: it aborts
  the process asking for 512 GiB).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SIDES = {
    "migkit": "import migkit; frame = migkit.read(path)",
    "pandas-csv": "frame = pandas.read_csv(path, dtype=str, keep_default_na=False)",
    "pandas-xlsx": "frame = pandas.read_excel(path, engine='calamine', dtype=str)",
    "measure": (
        "from migkit.read.workbook import measure_workbook; from migkit.read import ReadLimits;"
        " frame = measure_workbook(open(path, 'rb').read(), 'x.xlsx', ReadLimits())"
    ),
    "migkit-refuses": (
        "import migkit\ntry:\n    migkit.read(path)\nexcept migkit.ReadError:\n    frame = None"
    ),
}
CHILD = """
import json, resource, sys, time
path = sys.argv[1]
import pandas, pyarrow, python_calamine, migkit  # imports are not timed
start = time.perf_counter()
{code}
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed,
                   "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run(side: str, path: Path) -> dict[str, float]:
    program = CHILD.format(code=SIDES[side])
    out = subprocess.run([sys.executable, "-c", program, str(path)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def files(rows: int, folder: Path) -> dict[str, Path]:
    import openpyxl

    line = "user{i}@example.com,Ann,Smith,+44 20 7946 {i:04d},Active,Acme {i},0{i}\n"
    csv_path = folder / "contacts.csv"
    with csv_path.open("w", encoding="utf-8") as out:
        out.write("Email,First Name,Last Name,Phone,Status,Account,Zip\n")
        for i in range(rows):
            out.write(line.format(i=i % 10_000 if i % 7 else i))
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Contacts")
    sheet.append(["Email", "First Name", "Last Name", "Phone", "Status", "Account", "Zip"])
    for i in range(rows // 10):
        sheet.append([f"user{i}@example.com", "Ann", "Smith", f"+44 {i}", "Active", "Acme", i])
    book.save(folder / "contacts.xlsx")
    hostile = openpyxl.Workbook()
    hostile.active["A1"], hostile.active["XFD1048576"] = "Email", "x"
    buffer = io.BytesIO()
    hostile.save(buffer)
    (folder / "hostile.xlsx").write_bytes(buffer.getvalue())
    return {"csv": csv_path, "xlsx": folder / "contacts.xlsx", "hostile": folder / "hostile.xlsx"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = files(args.rows, Path(folder))
        plan = [
            ("csv", "migkit", "pandas-csv"),
            ("xlsx", "migkit", "pandas-xlsx"),
            ("xlsx", "measure", "pandas-xlsx"),
            ("hostile", "migkit-refuses", None),
        ]
        print(f"{'file':<8} {'side':<15} {'seconds':>8} {'peak MB':>8}   ratio to the peer")
        for kind, side, peer in plan:
            ours = run(side, paths[kind])
            ratio = ""
            if peer:
                theirs = run(peer, paths[kind])
                ratio = f"time x{ours['seconds'] / theirs['seconds']:.2f} of {peer} "
                ratio += f"({theirs['seconds']:.2f}s, {theirs['peak_mb']:.0f} MB)"
            print(f"{kind:<8} {side:<15} {ours['seconds']:>8.2f} {ours['peak_mb']:>8.0f}   {ratio}")


if __name__ == "__main__":
    main()
