"""Exports larger than memory: migkit on DuckDB vs a hand-written DuckDB join, Polars' streaming
engine and datacompy's Polars compare; and validate_file through DuckDB vs the streaming path.

Not a test: it prints numbers and ratios, it asserts nothing. Times are the operation's, from
after each side's modules are imported (as in a notebook that has loaded them; the import time
is printed apart: about 1.7 s for migkit with pandas and Ibis, 0.2 s for DuckDB alone). Run::

    .venv/bin/python benchmarks/scale.py reconcile --rows 20000000 [--memory-limit 1GB]
    .venv/bin/python benchmarks/scale.py validate --rows 20000000

(polars and datacompy come from the ``bench`` extra: ``pip install -e '.[bench]'``.)

``reconcile``: two Contacts-shaped exports written to Parquet by DuckDB (reproducible: every
value is a function of the row number): ``source`` has ``--rows`` rows and six text columns
(Email, the unique key, First Name, Last Name, Phone, Status, Account); ``export`` drops 1% of
the rows (missing), adds 1% new ones (extra), changes 1% of the other cells (a ``*`` appended)
and is written in another row order. Sides, each in a fresh process (peak memory is the
process's resident high-water mark, ``VmHWM``, everything included):

- ``migkit``: ``migkit.reconcile(source, export, key="Email",
  engine=migkit.scale.DuckDB(memory_limit=...))`` on the two paths; counts from the report;
- ``floor``: the same join written by hand in DuckDB SQL, with the same memory limit: one full
  outer join on Email keeping unpaired rows and pairs with a differing cell in a temporary
  table, then the counts (no occurrence ranks, no positions, no reasons, no cell table);
- ``polars``: ``scan_parquet`` both, a full join on Email and the counts, collected by the
  streaming engine (counts only; no memory cap exists there);
- ``datacompy``: ``PolarsCompare`` on both files read eagerly (run with ``--datacompy-rows``
  rows of the same data when the full size does not fit; a 12 GB address-space cap keeps it
  from taking the machine down).

``validate``: a ``--rows`` Contacts CSV with 1% bad emails, 0.5% duplicates, 0.5% missing
emails and 2% statuses out of the list, validated for every Contacts rule by
``validate_file(..., engine="pandas")`` (today's streaming path) and by
``engine=migkit.scale.DuckDB(memory_limit=...)``; same errors (counts, and a digest of every
error's row, column, rule and value), time ratio, CPU-time ratio, peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

try:  # run as a script: this folder is on sys.path
    import _measure
except ImportError:  # imported as benchmarks.scale from the repository root
    from benchmarks import _measure

GB = 2**30
COLUMNS = ["First Name", "Last Name", "Phone", "Status", "Account"]
SIDES = ("migkit", "floor", "polars", "datacompy")


def _value_sql(i: str, salt: int) -> list[str]:
    """The five non-key columns for row number ``i`` (an SQL expression)."""
    return [
        f"(['Ana','José','Zoë','Björn','Łukasz','Chloé','Mia','Noah','Liam','Aiko'])"
        f"[CAST(1 + hash({i}, {salt} + 1) % 10 AS BIGINT)]",
        f"(['García','Müller','Nowak','Smith','O''Brien','Dubois','Tanaka','Okafor'])"
        f"[CAST(1 + hash({i}, {salt} + 2) % 8 AS BIGINT)]",
        f"'555-' || lpad(CAST(hash({i}, {salt} + 3) % 10000 AS VARCHAR), 4, '0')",
        f"(['Open','Closed','Pending'])[CAST(1 + hash({i}, {salt} + 4) % 3 AS BIGINT)]",
        f"'Account ' || CAST(hash({i}, {salt} + 5) % 50000 AS VARCHAR)",
    ]


def generate(workdir: Path, rows: int) -> tuple[Path, Path]:
    """source.parquet and export.parquet in ``workdir`` (written once, reused)."""
    import duckdb

    source, export = workdir / f"source-{rows}.parquet", workdir / f"export-{rows}.parquet"
    if source.exists() and export.exists():
        return source, export
    con = duckdb.connect()
    con.execute(f"SET temp_directory = '{workdir / 'spill'}'; SET memory_limit = '4GB'")
    con.execute("SET enable_progress_bar = false")
    values = _value_sql("i", 0)
    select = ", ".join(f'{v} AS "{c}"' for v, c in zip(values, COLUMNS, strict=True))
    con.execute(
        f"COPY (SELECT 'user' || i || '@example.com' AS Email, {select} FROM range({rows}) t(i))"
        f" TO '{source}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"
    )
    changed = ", ".join(
        f"CASE WHEN hash(i, {n} + 100) % 100 = 0 THEN {v} || '*' ELSE {v} END AS \"{c}\""
        for n, (v, c) in enumerate(zip(values, COLUMNS, strict=True))
    )
    extra = ", ".join(f'{v} AS "{c}"' for v, c in zip(_value_sql("i", 7), COLUMNS, strict=True))
    if rows <= 20_000_000:  # the export in a hash order (a sort of the whole export)
        order, rank, extra_rank, ids = "ORDER BY o", "hash(i, 99)", "hash(i, 98)", "i"
    else:  # past that, a permutation i -> i * P mod rows instead of a sort
        step = next(p for p in (1_000_003, 1_000_033, 1_000_037) if rows % p)
        order, rank, extra_rank, ids = "", "0", "0", f"(i * {step}) % {rows}"
    con.execute(
        f"COPY (SELECT * EXCLUDE (o) FROM ("
        f"  SELECT 'user' || i || '@example.com' AS Email, {changed}, {rank} AS o"
        f"  FROM (SELECT {ids} AS i FROM range({rows}) t(i)) WHERE i % 100 <> 7"
        f"  UNION ALL"
        f"  SELECT 'new' || i || '@example.com', {extra}, {extra_rank}"
        f"  FROM range({rows // 100}) t(i)"
        f") {order}) TO '{export}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"
    )
    return source, export


# --- the sides (each runs in its own process) --------------------------------------------------


def side_migkit(source: Path, export: Path, args: argparse.Namespace) -> dict[str, Any]:
    import migkit
    from migkit.scale import DuckDB

    engine = DuckDB(
        memory_limit=args.memory_limit,
        temp_directory=args.workdir / "spill-m",
        threads=args.threads,
    )
    report = migkit.reconcile(source, export, key="Email", engine=engine)
    return {
        "matched": report.matched,
        "missing": len(report.missing),
        "extra": len(report.extra),
        "changed cells": len(report.changed),
        "changed rows": report.changed_rows,
    }


def side_floor(source: Path, export: Path, args: argparse.Namespace) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{args.memory_limit}'")
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    con.execute(f"SET temp_directory = '{args.workdir / 'spill-f'}'")
    con.execute("SET preserve_insertion_order = false")
    differ = [f's."{c}" IS DISTINCT FROM e."{c}"' for c in COLUMNS]
    pick = ", ".join(
        [*(f's."{c}" AS "s_{c}"' for c in ["Email", *COLUMNS])]
        + [f'e."{c}" AS "e_{c}"' for c in ["Email", *COLUMNS]]
    )
    con.execute(
        f"CREATE TEMP TABLE diff AS SELECT {pick} FROM read_parquet('{source}') s"
        f" FULL OUTER JOIN read_parquet('{export}') e ON s.Email = e.Email"
        f" WHERE s.Email IS NULL OR e.Email IS NULL OR {' OR '.join(differ)}"
    )
    cells = " + ".join(
        f'CAST(s_Email IS NOT NULL AND e_Email IS NOT NULL AND "s_{c}" IS DISTINCT FROM "e_{c}"'
        " AS INTEGER)"
        for c in COLUMNS
    )
    missing, extra, changed, changed_rows = con.execute(
        f"SELECT count(*) FILTER (WHERE e_Email IS NULL), count(*) FILTER (WHERE s_Email IS NULL),"
        f" sum({cells}), count(*) FILTER (WHERE s_Email IS NOT NULL AND e_Email IS NOT NULL)"
        " FROM diff"
    ).fetchone()
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{source}')").fetchone()[0]
    return {
        "matched": rows - missing,
        "missing": missing,
        "extra": extra,
        "changed cells": int(changed),
        "changed rows": changed_rows,
    }


def side_polars(source: Path, export: Path, args: argparse.Namespace) -> dict[str, Any]:
    import polars as pl

    joined = pl.scan_parquet(source).join(
        pl.scan_parquet(export), on="Email", how="full", suffix="_e", coalesce=False
    )
    both = pl.col("Email").is_not_null() & pl.col("Email_e").is_not_null()
    cells = [(both & pl.col(c).ne_missing(pl.col(f"{c}_e"))).cast(pl.Int64) for c in COLUMNS]
    counts = joined.select(
        missing=(pl.col("Email_e").is_null()).sum(),
        extra=(pl.col("Email").is_null()).sum(),
        matched=both.sum(),
        cells=pl.sum_horizontal(cells).sum(),
        rows=(pl.sum_horizontal(cells) > 0).sum(),
    ).collect(engine="streaming")
    row = counts.row(0, named=True)
    return {
        "matched": row["matched"],
        "missing": row["missing"],
        "extra": row["extra"],
        "changed cells": row["cells"],
        "changed rows": row["rows"],
    }


def side_datacompy(source: Path, export: Path, args: argparse.Namespace) -> dict[str, Any]:
    import datacompy
    import polars as pl

    resource.setrlimit(resource.RLIMIT_AS, (12 * GB, 12 * GB))
    compare = datacompy.PolarsCompare(
        pl.read_parquet(source), pl.read_parquet(export), join_columns=["Email"]
    )
    mismatch = compare.all_mismatch()
    changed = sum(
        int((mismatch[f"{c.lower()}_df1"].ne_missing(mismatch[f"{c.lower()}_df2"])).sum())
        for c in COLUMNS
    )
    return {
        "matched": compare.intersect_rows.height,
        "missing": compare.df1_unq_rows.height,
        "extra": compare.df2_unq_rows.height,
        "changed cells": changed,
        "changed rows": mismatch.height,
    }


# --- validate ----------------------------------------------------------------------------------

TEMPLATE = {
    "name": "Contacts",
    "columns": [
        {
            "name": "Email",
            "required": True,
            "unique": True,
            "desiredRule": "strict",
            "strictRule": r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$",
        },
        {"name": "First Name", "required": True},
        {"name": "Last Name"},
        {"name": "Phone", "desiredRule": "strict", "strictRule": r"^\d{3}-\d{4}$"},
        {"name": "Status", "desiredRule": "strict", "strictRule": ["Open", "Closed", "Pending"]},
        {"name": "Account"},
    ],
}


def generate_csv(workdir: Path, rows: int) -> Path:
    import duckdb

    target = workdir / f"contacts-{rows}.csv"
    if target.exists():
        return target
    values = _value_sql("i", 0)
    email = (
        "CASE WHEN i % 200 = 3 THEN NULL WHEN i % 100 = 5 THEN 'broken at example.com'"
        " WHEN i % 200 = 9 THEN 'user' || (i - 1) || '@example.com'"
        " ELSE 'user' || i || '@example.com' END"
    )
    status = f"CASE WHEN i % 50 = 11 THEN lower({values[3]}) ELSE {values[3]} END"
    select = ", ".join(
        f'{v} AS "{c}"' for v, c in zip([*values[:3], status, values[4]], COLUMNS, strict=True)
    )
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT {email} AS Email, {select} FROM range({rows}) t(i) ORDER BY i)"
        f" TO '{target}' (FORMAT csv, HEADER)"
    )
    return target


def side_validate(path: Path, args: argparse.Namespace, engine_name: str) -> dict[str, Any]:
    import migkit
    from migkit.scale import DuckDB

    engine: Any = "pandas"
    if engine_name == "duckdb":
        engine = DuckDB(memory_limit=args.memory_limit, temp_directory=args.workdir / "spill-v")
    report = migkit.validate_file(path, TEMPLATE, engine=engine)
    errors = report.errors
    # Every error (row, column, rule, value) hashed and summed: equal digests on both sides
    # mean the same errors, not only the same counts (the sum does not depend on row order).
    import pandas as pd

    hashes = pd.util.hash_pandas_object(
        errors[["row", "column", "rule", "value"]].astype(str), index=False
    )
    return {
        "rows": report.rows,
        "errors": len(errors),
        "flagged rows": int(errors["row"].nunique()),
        "by rule": {str(k): int(v) for k, v in errors["rule"].value_counts().sort_index().items()},
        "digest": f"{int(hashes.to_numpy().sum(dtype='uint64')):016x}",
    }


# --- the parent ----------------------------------------------------------------------------------


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


# What each side imports, loaded before its clock starts: the time is the operation's, as in
# a notebook whose modules are loaded (the import time is printed apart).
IMPORTS = {
    "migkit": ["migkit", "migkit.scale.reconcile", "ibis.backends.duckdb", "duckdb"],
    "floor": ["duckdb"],
    "polars": ["polars"],
    "datacompy": ["datacompy", "polars"],
    "pandas": ["migkit", "migkit.validation.files"],
    "duckdb": [
        "migkit",
        "migkit.validation.files",
        "migkit.scale.validate",
        "ibis.backends.duckdb",
    ],
}


def child(args: argparse.Namespace) -> None:
    import importlib

    loading = time.perf_counter()
    for module in IMPORTS[args.side]:
        importlib.import_module(module)
    imports = round(time.perf_counter() - loading, 2)
    started, cpu = time.perf_counter(), _cpu()
    if args.command == "validate":
        out = side_validate(generate_csv(args.workdir, args.rows), args, args.side)
    else:
        source, export = generate(args.workdir, args.rows)
        out = globals()[f"side_{args.side}"](source, export, args)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    peak = _measure.status_bytes("VmHWM")
    load = round(os.getloadavg()[0], 1)
    times = {"seconds": seconds, "cpu": cpu, "imports": imports}
    print(json.dumps({**times, "load": load, "peak": peak, **out}))


def run_side(args: argparse.Namespace, side: str, rows: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        args.command,
        "--side",
        side,
        "--rows",
        str(rows),
        "--workdir",
        str(args.workdir),
        "--memory-limit",
        args.memory_limit,
        *(["--threads", str(args.threads)] if args.threads else []),
    ]
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=args.timeout,
            cwd=_measure.ROOT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"over {args.timeout}s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        err = proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"]
        # The exception's own line (DuckDB ends its messages with advice and a link).
        tail = next((line for line in reversed(err) if "Error" in line), err[-1])
        return {"error": tail[:160], "seconds": time.perf_counter() - started}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def report(results: dict[str, dict[str, Any]], floor: str, counts: list[str]) -> None:
    # Wall time, and CPU time (user + system, every thread): on a shared machine the CPU
    # time's ratio is the steadier one.
    finished = results.get(floor, {}) if "error" not in results.get(floor, {}) else {}
    base, base_cpu = finished.get("seconds"), finished.get("cpu")  # no ratio to a failed floor
    print(
        f"{'side':<24}{'time':>10}{'x ' + floor:>12}{'cpu':>10}{'x ' + floor:>12}"
        f"{'load':>6}{'peak RSS':>10}{'imports':>9}  counts"
    )
    for name, r in results.items():
        if "error" in r:
            print(f"{name:<24}{'failed':>10}{'':>12}{'':>12}  {r['error']}")
            continue
        ratio = f"{r['seconds'] / base:.2f}x" if base else "-"
        cpu = r.get("cpu")
        cpu_ratio = f"{cpu / base_cpu:.2f}x" if cpu and base_cpu else "-"
        shown = ", ".join(
            f"{c} {r[c]:,}" if isinstance(r[c], int) else f"{c} {r[c]}" for c in counts if c in r
        )
        print(
            f"{name:<24}{r['seconds']:>9.1f}s{ratio:>12}{(cpu or 0):>9.1f}s{cpu_ratio:>12}"
            f"{r.get('load', 0):>6}{r['peak'] / GB:>7.2f}GiB{r.get('imports', 0):>8.1f}s  {shown}"
        )
    same_size = [r for n, r in results.items() if "error" not in r and "rows)" not in n]
    keys = {json.dumps({c: r.get(c) for c in counts}) for r in same_size}
    print(f"identical counts on every side that finished at full size: {len(keys) == 1}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["reconcile", "validate"])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--datacompy-rows", type=int, default=None)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (all cores)")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument(
        "--data",
        type=Path,
        help="a folder for the generated files, kept and reused (default:"
        " a temporary folder, deleted at the end)",
    )
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        child(args)
        return
    started = time.perf_counter()
    print(_measure.versions(["duckdb", "ibis-framework", "polars", "datacompy", "pyarrow"]))
    print(f"load average before: {os.getloadavg()}, {os.cpu_count()} cores")
    if args.data is not None:
        args.data.mkdir(parents=True, exist_ok=True)
    args.workdir = args.data or Path(tempfile.mkdtemp(prefix="migkit-scale-bench-"))
    try:
        if args.command == "reconcile":
            t = time.perf_counter()
            generate(args.workdir, args.rows)
            print(f"generated {args.rows:,} + export in {time.perf_counter() - t:.0f}s")
            results = {}
            for side in args.sides.split(","):
                rows = (
                    args.datacompy_rows
                    if side == "datacompy" and args.datacompy_rows
                    else args.rows
                )
                if rows != args.rows:
                    generate(args.workdir, rows)
                name = side if rows == args.rows else f"{side} ({rows:,} rows)"
                results[name] = run_side(args, side, rows)
                print(f"  {name}: {results[name]}", flush=True)
            report(
                results, "floor", ["matched", "missing", "extra", "changed cells", "changed rows"]
            )
        else:
            t = time.perf_counter()
            generate_csv(args.workdir, args.rows)
            print(f"generated {args.rows:,} rows CSV in {time.perf_counter() - t:.0f}s")
            results = {s: run_side(args, s, args.rows) for s in ("pandas", "duckdb")}
            report(results, "pandas", ["rows", "errors", "flagged rows", "by rule", "digest"])
        print(f"load average after: {os.getloadavg()}")
    finally:
        if args.data is None:
            shutil.rmtree(args.workdir, ignore_errors=True)
    _measure.finish([f"memory limit {args.memory_limit} for the DuckDB sides"], started)


if __name__ == "__main__":
    main()
