"""Reconciliation benchmark: migkit vs datacompy vs a polars full-join floor.

Not a test: it prints numbers and ratios, it asserts nothing. Run::

    .venv/bin/python benchmarks/reconcile.py [--rows 1000000] [--seed 7] [--repeats 3]

(datacompy and polars come from the ``bench`` extra: ``pip install -e '.[bench]'``.
datacompy 1.1.0 declares ``pandas<3.1``; see the note printed at the end.)

Two reproducible Contacts frames (numpy seed; pandas ``str`` columns, Arrow-backed): the
``source`` (``--rows`` rows: Email, the unique key, First Name, Last Name, Phone with 5% nulls,
Status Open/Closed/Pending with 1% nulls, Account) and the ``export``, built from it as an
export would come back: 1% of the source rows dropped (missing), 1,000 new rows with new
emails (extra), 2% of the rows with another Last Name (changed), and formatting drift on
Status in half the rows ("open", "OPEN", "Open ", " open  "), which trimming plus
case-insensitive comparison hides, so it is not a change on any side. The export's rows are
fully shuffled (a permutation of kept + extra rows, new RangeIndex): no side can rely on order.

Three sides, each in its own fresh subprocess so that peak memory is measured fairly:

- ``migkit``: ``migkit.reconcile(source, export, key="Email",
  normalize=migkit.Normalize(trim=True, ignore_case=True))``, counts from the report
  (``len(missing)``, ``len(extra)``, ``changed_rows``, ``matched``). The report's ``changed``
  cell table, ``missing``/``extra`` frames and per-column counts are built inside the call;
  ``report.hidden`` is lazy and not built.
- ``datacompy``: ``PandasCompare(source, export, join_columns=["Email"], ignore_spaces=True,
  ignore_case=True)``. Timed: the construction, which does all the work (outer merge, per-column
  ``*_match`` columns), plus the counts (``df1_unq_rows``, ``df2_unq_rows``, intersecting rows
  with any ``*_match`` False). datacompy renames the columns of the frames it is given and
  strips their join column in place, so each run gets shallow copies (``copy(deep=False)``,
  timed, microseconds). ``all_mismatch(ignore_matching_cols=True)`` (one row per changed row,
  both values of every column that has a mismatch, the closest thing to a per-cell report) and
  the text ``report()`` are timed once, separately, and printed apart from the ratio.
- ``polars`` (the floor): both frames converted with ``pl.from_pandas`` untimed; timed: one lazy
  full join on Email and three counts (missing, extra, changed rows), where changed means any
  compared column differs with nulls equal (``ne_missing``) after ``strip_chars`` +
  ``to_lowercase`` on Status, the drift column, only. ``polars-all`` (printed apart) strips and
  lower-cases every compared column, which is what the other two sides do.

Memory per side: the resident high-water mark (``VmHWM``) of the first timed run minus the
resident size just before it (the high-water mark is reset through ``/proc/self/clear_refs``
after the frames are loaded, so loading does not count).

Targets from the issue (printed, not asserted): datacompy/migkit >= 5x, migkit/polars <= 2x,
migkit's peak RSS < 3x the two frames' ``memory_usage(deep=True)``, identical counts.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

try:  # run as a script: this folder is on sys.path
    import _measure
except ImportError:  # imported as benchmarks.reconcile from the repository root
    from benchmarks import _measure

SIDES = ("migkit", "datacompy", "polars")
POLARS_ALL = "polars-all"  # the floor normalizing every compared column, printed apart
SLOW_SECONDS = 30.0  # one run this slow: don't repeat it
MB = 2**20
KEY = "Email"
COMPARED = ["First Name", "Last Name", "Phone", "Status", "Account"]
DRIFT_COLUMN = "Status"

MISSING_RATE = 0.01
EXTRA_ROWS = 1_000
CHANGED_RATE = 0.02
DRIFT_RATE = 0.5
PHONE_NULL_RATE = 0.05
STATUS_NULL_RATE = 0.01

# --- the frames ------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    "Ana José Zoë Björn Łukasz François Søren Chloé Renée Mia Noah Liam Olivia Emma Ava Lucas "
    "Ethan Amelia Harper Elijah Aiko Mateo Priya Yusuf Ngozi Sven Inès Dmitri Hana Kofi"
)
FIRST_SLUGS = _words(
    "ana jose zoe bjorn lukasz francois soren chloe renee mia noah liam olivia emma ava lucas "
    "ethan amelia harper elijah aiko mateo priya yusuf ngozi sven ines dmitri hana kofi"
)
LAST_NAMES = _words(
    "García Müller Nowak Smith Johnson O'Brien Dubois Rossi Kowalski Nguyen Jensen Silva "
    "Tanaka Okafor Novák Brown Lee Martin Haddad Ivanova"
)
LAST_SLUGS = _words(
    "garcia muller nowak smith johnson obrien dubois rossi kowalski nguyen jensen silva "
    "tanaka okafor novak brown lee martin haddad ivanova"
)
DOMAINS = ["example.com", "example.org", "mail.example.net", "corp.example.co.uk"]
ACCOUNT_WORDS = _words(
    "Acme Globex Initech Umbrella Hooli Vandelay Stark Wayne Wonka Cyberdyne Soylent Tyrell "
    "Aperture Gringotts Zürich Société Nørd Café Élan Dunder Piper Massive Oceanic Monarch"
)
ACCOUNT_KINDS = _words(
    "Logistics Holdings Labs GmbH S.A. Ltd Partners Group Systems Foods Media Energy Capital "
    "Robotics Health Retail Studios AG Consulting Analytics"
)
ACCOUNTS = [f"{w} {k}" for w in ACCOUNT_WORDS for k in ACCOUNT_KINDS]
STATUSES = ["Open", "Closed", "Pending"]
# Drift variants of a Status value; all equal to it after trim + case folding.
DRIFTS: list[Callable[[str], str]] = [
    str.lower,
    str.upper,
    lambda s: s + " ",
    lambda s: " " + s.lower() + "  ",
]
# Status text by code: 0..2 the clean values, then 3 + 4 * status + variant the drifted ones.
STATUS_TEXT = STATUSES + [drift(s) for s in STATUSES for drift in DRIFTS]


def _strings(values: list[str], codes: np.ndarray, nulls: np.ndarray | None = None) -> pa.Array:
    """``values[codes]`` as an Arrow string array (null where ``nulls``)."""
    indices = pa.array(codes, mask=nulls) if nulls is not None else pa.array(codes)
    return pa.array(values, pa.large_string()).take(indices)


def _digits(numbers: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pa.array(numbers).cast(pa.large_string()), width=width, padding="0")


def _people(rng: np.random.Generator, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Codes for ``len(ids)`` contacts (text is built from codes by :func:`_table`)."""
    n = len(ids)
    last = rng.integers(0, len(LAST_NAMES), n)
    return {
        "id": ids,
        "first": rng.integers(0, len(FIRST_NAMES), n),
        "last": last,
        "email_last": last.copy(),  # the email keeps the original last name when it changes
        "domain": rng.integers(0, len(DOMAINS), n),
        "phone": rng.integers(0, 10**7, n),
        "phone_style": rng.integers(0, 2, n),
        "phone_null": rng.random(n) < PHONE_NULL_RATE,
        "status": rng.choice(3, n, p=[0.6, 0.3, 0.1]),
        "status_null": rng.random(n) < STATUS_NULL_RATE,
        "account": rng.integers(0, len(ACCOUNTS), n),
    }


def _table(c: dict[str, np.ndarray]) -> pa.Table:
    """The Contacts table for a set of codes, built with Arrow kernels (no Python loop)."""
    dot = pa.scalar(".", pa.large_string())
    local = pc.binary_join_element_wise(
        _strings(FIRST_SLUGS, c["first"]),
        _strings(LAST_SLUGS, c["email_last"]),
        pa.array(c["id"]).cast(pa.large_string()),
        dot,
    )
    email = pc.binary_join_element_wise(
        local, _strings(DOMAINS, c["domain"]), pa.scalar("@", pa.large_string())
    )
    head, tail = _digits(c["phone"] // 10**4, 3), _digits(c["phone"] % 10**4, 4)
    us = pc.binary_join_element_wise(
        pa.scalar("+1 (555) ", pa.large_string()),
        head,
        pa.scalar("-", pa.large_string()),
        tail,
        pa.scalar("", pa.large_string()),
    )
    dotted = pc.binary_join_element_wise(pa.scalar("555", pa.large_string()), head, tail, dot)
    phone = pc.if_else(pa.array(c["phone_style"] == 0), us, dotted)
    phone = pc.if_else(pa.array(c["phone_null"]), pa.scalar(None, pa.large_string()), phone)
    return pa.table(
        {
            "Email": email,
            "First Name": _strings(FIRST_NAMES, c["first"]),
            "Last Name": _strings(LAST_NAMES, c["last"]),
            "Phone": phone,
            "Status": _strings(STATUS_TEXT, c["status"], c["status_null"]),
            "Account": _strings(ACCOUNTS, c["account"]),
        }
    )


def make_frames(rows: int, seed: int) -> tuple[pa.Table, pa.Table, dict[str, int]]:
    """The source and export tables and what was injected into the export."""
    rng = np.random.default_rng(seed)
    source = _people(rng, np.arange(rows))

    dropped = rng.choice(rows, round(rows * MISSING_RATE), replace=False)
    keep = np.ones(rows, dtype=bool)
    keep[dropped] = False
    kept = np.flatnonzero(keep)
    export = {name: codes[kept].copy() for name, codes in source.items()}

    changed = rng.choice(len(kept), min(round(rows * CHANGED_RATE), len(kept)), replace=False)
    shift = rng.integers(1, len(LAST_NAMES), len(changed))  # never the same name
    export["last"][changed] = (export["last"][changed] + shift) % len(LAST_NAMES)

    can_drift = np.flatnonzero(~export["status_null"])
    drifted = rng.choice(can_drift, round(len(can_drift) * DRIFT_RATE), replace=False)
    variant = rng.integers(0, len(DRIFTS), len(drifted))
    export["status"][drifted] = 3 + 4 * export["status"][drifted] + variant

    extra = _people(rng, np.arange(rows, rows + EXTRA_ROWS))  # new ids, so new emails
    export = {name: np.concatenate([export[name], extra[name]]) for name in export}
    order = rng.permutation(len(export["id"]))  # fully shuffled export
    export = {name: codes[order] for name, codes in export.items()}

    counts = {
        "missing": len(dropped),
        "extra": EXTRA_ROWS,
        "changed": len(changed),
        "drifted": len(drifted),
    }
    return _table(source), _table(export), counts


# --- the sides -------------------------------------------------------------------------------
# Each ``prepare_*`` does its untimed setup and returns ``run``: what gets timed, returning
# (result, counts) where counts = {"missing", "extra", "changed", "matched"}.

Counts = dict[str, int]
Runner = Callable[[], tuple[Any, Counts]]


def prepare_migkit(source: pd.DataFrame, export: pd.DataFrame) -> Runner:
    import migkit

    how = migkit.Normalize(trim=True, ignore_case=True)

    def run() -> tuple[Any, Counts]:
        report = migkit.reconcile(source, export, key=KEY, normalize=how)
        return report, {
            "missing": len(report.missing),
            "extra": len(report.extra),
            "changed": int(report.changed_rows),
            "matched": int(report.matched),
        }

    return run


def _datacompy_class() -> Any:
    import datacompy

    # ``PandasCompare`` since datacompy 1.0; ``Compare`` before.
    return getattr(datacompy, "PandasCompare", None) or datacompy.Compare


def prepare_datacompy(source: pd.DataFrame, export: pd.DataFrame) -> Runner:
    compare_class = _datacompy_class()

    def run() -> tuple[Any, Counts]:
        compare = compare_class(
            source.copy(deep=False),  # datacompy renames and strips the frames it is given
            export.copy(deep=False),
            join_columns=[KEY],
            ignore_spaces=True,
            ignore_case=True,
        )
        both = compare.intersect_rows
        match = [c for c in both.columns if str(c).endswith("_match")]
        return compare, {
            "missing": len(compare.df1_unq_rows),
            "extra": len(compare.df2_unq_rows),
            "changed": int((~both[match].all(axis=1)).sum()) if match else 0,
            "matched": len(both),
        }

    return run


def _prepare_polars(source: pd.DataFrame, export: pd.DataFrame, normalized: list[str]) -> Runner:
    import polars as pl

    left, right = pl.from_pandas(source), pl.from_pandas(export)

    def value(name: str, column: str) -> pl.Expr:
        expr = pl.col(name)
        return expr.str.strip_chars().str.to_lowercase() if column in normalized else expr

    # Which side a joined row came from: a marker column, not the key (a key may be null).
    in_left, in_right = pl.col("_in_left").is_not_null(), pl.col("_in_right").is_not_null()
    both = in_left & in_right
    differs = pl.any_horizontal(
        [value(c, c).ne_missing(value(f"{c}_x", c)) for c in COMPARED if c in right.columns]
    )
    query = (
        left.lazy()
        .with_columns(_in_left=pl.lit(True))
        .join(right.lazy().with_columns(_in_right=pl.lit(True)), on=KEY, how="full", suffix="_x")
        .select(
            missing=(~in_right).sum(),
            extra=(~in_left).sum(),
            changed=(both & differs).sum(),
            matched=both.sum(),
        )
    )

    def run() -> tuple[Any, Counts]:
        out = query.collect().row(0, named=True)
        return out, {k: int(out[k]) for k in ("missing", "extra", "changed", "matched")}

    return run


def prepare_polars(source: pd.DataFrame, export: pd.DataFrame) -> Runner:
    return _prepare_polars(source, export, [DRIFT_COLUMN])


def prepare_polars_all(source: pd.DataFrame, export: pd.DataFrame) -> Runner:
    return _prepare_polars(source, export, COMPARED)


PREPARE: dict[str, Callable[[pd.DataFrame, pd.DataFrame], Runner]] = {
    "migkit": prepare_migkit,
    "datacompy": prepare_datacompy,
    "polars": prepare_polars,
    POLARS_ALL: prepare_polars_all,
}

# --- measuring one side (in its own subprocess) ----------------------------------------------


def load_frames(workdir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        _measure.read_arrow_frame(workdir / "source.arrow"),
        _measure.read_arrow_frame(workdir / "export.arrow"),
    )


def measure_side(side: str, workdir: Path, repeats: int) -> dict[str, Any]:
    source, export = load_frames(workdir)
    frame_bytes = int(source.memory_usage(deep=True).sum() + export.memory_usage(deep=True).sum())
    dtypes = sorted({str(t) for t in [*source.dtypes, *export.dtypes]})
    setup, run = _measure.timed(lambda: PREPARE[side](source, export))
    gc.collect()
    rss = _measure.PeakRss()

    times: list[float] = []
    rss_peak = 0
    result: Any = None
    counts: Counts = {}
    for _ in range(max(repeats, 1)):
        result = None
        seconds, (result, counts) = _measure.timed(run)
        times.append(seconds)
        if len(times) == 1:  # memory: the first run's peak (later runs reuse freed memory)
            rss_peak = rss.peak()
        if seconds > SLOW_SECONDS:
            break

    extra: dict[str, Any] = {}
    if side == "migkit":
        extra = {"changed_cells": len(result.changed), "hidden_cells": int(result.hidden_cells)}
    elif side == "datacompy":
        seconds, mismatch = _measure.timed(lambda: result.all_mismatch(ignore_matching_cols=True))
        extra = {"mismatch_seconds": seconds, "mismatch_rows": len(mismatch)}
        del mismatch
        seconds, text = _measure.timed(result.report)
        extra |= {"report_seconds": seconds, "report_chars": len(text)}
    return {
        "side": side,
        "times": times,
        "setup": setup,
        "counts": counts,
        "rss_peak": rss_peak,
        "rss_reset": rss.reset,
        "frame_bytes": frame_bytes,
        "dtypes": dtypes,
        **extra,
    }


def generate(workdir: Path, rows: int, seed: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    source, export, counts = make_frames(rows, seed)
    _measure.write_arrow(source, workdir / "source.arrow")
    _measure.write_arrow(export, workdir / "export.arrow")
    return {
        "counts": counts,
        "rows": [source.num_rows, export.num_rows],
        "seconds": time.perf_counter() - t0,
    }


# --- semantic probes (own subprocess, after the timed sides) ---------------------------------
# Each probe is a tiny pair of frames (columns Email, Phone, Status); every side reports
# matched/missing/extra/changed rows for it. Status is the column both polars variants
# normalize, so case and whitespace probes use it.

PROBES: list[tuple[str, list[tuple[str, str | None, str | None]], list[Any]]] = [
    ("Status 'Open' vs ' open  '", [("a@x.io", "1", "Open")], [("a@x.io", "1", " open  ")]),
    ("Status 'Open' vs 'OPEN\\t\\n'", [("a@x.io", "1", "Open")], [("a@x.io", "1", "OPEN\t\n")]),
    ("Status 'Open' vs 'Open' + NBSP", [("a@x.io", "1", "Open")], [("a@x.io", "1", "Open\xa0")]),
    ("Status 'Straße' vs 'STRASSE'", [("a@x.io", "1", "Straße")], [("a@x.io", "1", "STRASSE")]),
    ("Status 'Σίσυφος' vs 'ΣΊΣΥΦΟΣ'", [("a@x.io", "1", "Σίσυφος")], [("a@x.io", "1", "ΣΊΣΥΦΟΣ")]),
    ("Phone null vs null", [("a@x.io", None, "Open")], [("a@x.io", None, "Open")]),
    ("Phone '' vs null", [("a@x.io", "", "Open")], [("a@x.io", None, "Open")]),
    ("Phone '  ' vs null", [("a@x.io", "  ", "Open")], [("a@x.io", None, "Open")]),
    (
        "Phone 'datacompy_null' vs null",
        [("a@x.io", "datacompy_null", "Open")],
        [("a@x.io", None, "Open")],
    ),
    ("key 'Ann@x.io' vs 'ann@x.io'", [("Ann@x.io", "1", "Open")], [("ann@x.io", "1", "Open")]),
    ("key 'a@x.io ' vs 'a@x.io'", [("a@x.io ", "1", "Open")], [("a@x.io", "1", "Open")]),
    ("key null on both sides", [(None, "1", "Open")], [(None, "1", "Open")]),
    (
        "key twice on both sides, same order",
        [("a@x.io", "1", "Open"), ("a@x.io", "2", "Open")],
        [("a@x.io", "1", "Open"), ("a@x.io", "2", "Open")],
    ),
    (
        "key twice on both sides, swapped",
        [("a@x.io", "1", "Open"), ("a@x.io", "2", "Open")],
        [("a@x.io", "2", "Open"), ("a@x.io", "1", "Open")],
    ),
]
PROBE_SIDES = ("migkit", "datacompy", "polars", POLARS_ALL)


def _probe_frame(rows: list[tuple[str | None, str | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[KEY, "Phone", "Status"], dtype="str")


def report() -> None:
    print("Semantic probes: matched/missing/extra/changed rows for each tiny pair of frames:")
    width = max(len(name) for name, _, _ in PROBES)
    print(f"  {'case':<{width}}  " + "  ".join(f"{s:>10}" for s in PROBE_SIDES))
    for name, left, right in PROBES:
        cells = []
        for side in PROBE_SIDES:
            try:
                _, c = PREPARE[side](_probe_frame(left), _probe_frame(right))()
                cells.append(f"{c['matched']}/{c['missing']}/{c['extra']}/{c['changed']}")
            except Exception as exc:  # an unavailable side: say so, keep going
                cells.append(type(exc).__name__)
        differs = " <- differs" if len(set(cells)) > 1 else ""
        print(f"  {name:<{width}}  " + "  ".join(f"{c:>10}" for c in cells) + differs)
    print()
    try:  # run as a script: this folder is on sys.path
        import reconcile_probes
    except ImportError:  # imported as benchmarks.reconcile from the repository root
        from benchmarks import reconcile_probes
    reconcile_probes.report()


NOTES = [
    "Keys: migkit normalizes the key like every other column (trim and, with ignore_case, case),"
    " so 'Ann@x.io' and 'ann@x.io ' pair with 'ann@x.io'. datacompy strips the join column"
    " (ignore_spaces) but keeps its case (ignore_case applies to compared columns only); the"
    " polars floor joins on the raw key. The benchmark frames have no key drift, so this does"
    " not show in the counts.",
    "Case: datacompy upper-cases (pandas' str.upper, Arrow's utf8_upper on str columns: 'ß'"
    " becomes 'ẞ', so 'Straße' still differs from 'STRASSE' on every side); migkit lower-cases"
    " with Arrow's utf8_lower, one character at a time, and polars with Rust's full mapping."
    " They part on the Greek final sigma: Arrow lower-cases 'ΣΊΣΥΦΟΣ' to 'σίσυφοσ', polars to"
    " 'σίσυφος', so only migkit reports 'Σίσυφος' vs 'ΣΊΣΥΦΟΣ' as a change (upper-casing"
    " or case folding both sides would hide it).",
    "Nulls: every side treats null == null as equal. migkit also treats an empty (or, with"
    " trim, blank) cell as null, as CSV cannot tell them apart; datacompy and polars count ''"
    " vs null as a change. datacompy fills nulls with the text 'DATACOMPY_NULL' before"
    " comparing, so that text (any case, with ignore_case) equals a null.",
    "Null keys: migkit reports a key empty as a whole as missing/extra with reason 'empty key'"
    " (it cannot say which row it is); pandas' merge in datacompy pairs a null key with a null"
    " key; polars' join never matches nulls. In a key of several columns, migkit pairs an"
    " empty part with an empty part when the rest matches, as datacompy does.",
    "Duplicate keys: migkit and datacompy pair the n-th row of a key with the n-th (by row"
    " order; migkit's duplicates='first' pairs only the first rows and reports later ones as"
    " 'duplicate key'); a plain join pairs every combination (2 x 2 = 4 matched rows). The"
    " benchmark frames have unique keys.",
    "Typed probes: migkit compares text that only looks numeric ('007') by value only when a"
    " tolerance names its column, and then says which tolerance hid it; datacompy compares two"
    " text columns as text whatever abs_tol says. migkit's rel_tol is math.isclose's (relative"
    " to the larger value, symmetric); datacompy's is numpy.isclose's (relative to the second"
    " value), so 110 vs 100 at rel_tol=0.095 is equal in migkit only. Booleans vs '1' are one"
    " option in migkit (booleans=True); datacompy has none.",
    "datacompy 1.1.0, the newest release, declares pandas<3.1 (1.0.4 too; 0.19.5 pandas<=2.3.3):"
    " installing it resolves pandas down to 3.0.x. Here it runs on pandas 3.1 anyway (installed"
    " over it) and its counts agree with the other sides.",
]


# --- orchestration ---------------------------------------------------------------------------


def _child(workdir: Path, side: str, args: argparse.Namespace) -> dict[str, Any]:
    try:
        return _measure.child_json(_measure.side_command(__file__, side, workdir, args))
    except _measure.ChildFailed as exc:
        return {"side": side, "error": str(exc)}


VERSIONS = ("migkit", "pandas", "pyarrow", "numpy", "datacompy", "polars")


def main() -> None:
    parser = _measure.side_parser(__doc__.splitlines()[0], seed=7, sides=(*SIDES, POLARS_ALL))
    args = parser.parse_args()

    if args.side == "generate":
        print(json.dumps(generate(args.workdir, args.rows, args.seed)))
        return
    if args.side == "report":
        report()
        return
    if args.side:
        try:
            print(json.dumps(measure_side(args.side, args.workdir, args.repeats)))
        except Exception as exc:  # e.g. an API still being written: report it, don't crash
            traceback.print_exc(file=sys.stderr)
            print(json.dumps({"side": args.side, "error": f"{type(exc).__name__}: {exc}"}))
        return

    print(f"Reconciliation benchmark: Contacts, {args.rows:,} source rows, seed {args.seed}")
    print(_measure.versions(VERSIONS))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="migkit-bench-") as tmp:
        workdir = Path(tmp)
        gen = _child(workdir, "generate", args)
        if "error" in gen:
            raise SystemExit(f"generating the frames failed: {gen['error']}")
        injected = gen["counts"]
        print(
            f"Frames generated in {gen['seconds']:.1f}s: source {gen['rows'][0]:,} rows, export"
            f" {gen['rows'][1]:,} rows (fully shuffled). Injected: missing {injected['missing']:,},"
            f" extra {injected['extra']:,}, changed rows {injected['changed']:,} (Last Name),"
            f" drifted Status cells {injected['drifted']:,} (not changes)"
        )
        results: dict[str, dict[str, Any]] = {}
        for side in (*SIDES, POLARS_ALL):
            results[side] = _child(workdir, side, args)
            if "error" in results[side]:
                print(f"{side} side unavailable: {results[side]['error']}")
        ok = {s: r for s, r in results.items() if "error" not in r}
        if not ok:
            raise SystemExit("no side ran")
        any_ok = next(iter(ok.values()))
        frame_bytes = any_ok["frame_bytes"]
        print(
            f"Frames: {frame_bytes / MB:.1f} MB together (source + export,"
            f" memory_usage(deep=True)), dtypes {any_ok['dtypes']}"
        )
        print()
        head = (
            f"{'side':<10} {'runs':>9} {'best s':>8} {'missing':>9} {'extra':>7}"
            f" {'changed rows':>13} {'matched':>10} {'peak RSS MB':>12}"
        )
        print(head)
        print("-" * len(head))
        for side, r in ok.items():
            c = r["counts"]
            print(
                f"{side:<10} {'best of ' + str(len(r['times'])):>9} {min(r['times']):>8.3f}"
                f" {c['missing']:>9,} {c['extra']:>7,} {c['changed']:>13,} {c['matched']:>10,}"
                f" {r['rss_peak'] / MB:>12.1f}"
            )
        c = injected
        expected_matched = gen["rows"][0] - c["missing"]
        print(
            f"{'injected':<10} {'':>9} {'':>8} {c['missing']:>9,} {c['extra']:>7,}"
            f" {c['changed']:>13,} {expected_matched:>10,}"
        )
        print(
            "(peak RSS = VmHWM of the first timed run minus resident size before it, high-water"
            " mark reset after loading the frames"
            + ("" if all(r["rss_reset"] for r in ok.values()) else "; RESET FAILED")
            + "; polars frames converted untimed"
            + (f" ({ok['polars']['setup'] * 1000:.0f} ms)" if "polars" in ok else "")
            + f"; polars runs on {_threads()} threads)"
        )
        print()
        best = {s: min(r["times"]) for s, r in ok.items()}

        have = all(s in ok for s in SIDES)
        if "migkit" in ok and "datacompy" in ok:
            speedup = _measure.ratio(best["datacompy"], best["migkit"])
            _measure.target(f"datacompy/migkit = {speedup:.1f}x", ">= 5x", speedup >= 5)
        else:
            _measure.target("datacompy/migkit", ">= 5x", None)
        if "migkit" in ok and "polars" in ok:
            floor = _measure.ratio(best["migkit"], best["polars"])
            _measure.target(f"migkit/polars = {floor:.2f}x", "<= 2x", floor <= 2)
        else:
            _measure.target("migkit/polars", "<= 2x", None)
        if "migkit" in ok:
            memory = _measure.ratio(ok["migkit"]["rss_peak"], frame_bytes)
            _measure.target(f"migkit peak RSS / both frames = {memory:.2f}x", "< 3x", memory < 3)
        else:
            _measure.target("migkit peak RSS / both frames", "< 3x", None)
        keys = ("missing", "extra", "changed")
        seen = {s: tuple(ok[s]["counts"][k] for k in keys) for s in SIDES if s in ok}
        want = tuple(injected[k] for k in keys)
        same = len(set(seen.values())) == 1 and next(iter(seen.values())) == want
        _measure.target(
            "counts (missing, extra, changed rows) equal across sides",
            "equal",
            same if have else None,
        )
        if POLARS_ALL in ok and "polars" in ok:
            all_cols = best[POLARS_ALL]
            extra_line = f"polars-all {all_cols:.3f} s"
            if "migkit" in ok:
                vs_all = _measure.ratio(best["migkit"], all_cols)
                extra_line += f", migkit/polars-all = {vs_all:.2f}x"
            print(f"({extra_line}: the floor stripping and lower-casing all five columns)")
        if "migkit" in ok:
            m = ok["migkit"]
            print(
                f"(migkit: {m['changed_cells']:,} changed cells, {m['hidden_cells']:,} cells"
                f" hidden by normalization; injected drift {injected['drifted']:,})"
            )
        if "datacompy" in ok:
            d = ok["datacompy"]
            print(
                f"(datacompy extras, once, not in the ratio: all_mismatch(ignore_matching_cols="
                f"True) {d['mismatch_seconds']:.2f} s, {d['mismatch_rows']:,} rows;"
                f" report() {d['report_seconds']:.2f} s)"
            )
        print()
        _measure.child_passthrough(
            _measure.script_command(__file__, side="report", workdir=workdir)
        )
    _measure.finish(NOTES, started)


def _threads() -> str:
    try:
        import polars as pl

        return str(pl.thread_pool_size())
    except Exception:
        return "?"


if __name__ == "__main__":
    main()
