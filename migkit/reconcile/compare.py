"""The two entry points, :func:`reconcile` and :func:`diff_exports`, and the report they build."""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from migkit.errors import UsageError
from migkit.reconcile.comparison import Comparison
from migkit.reconcile.normalize import Normalize
from migkit.reconcile.preview_sides import PreviewSides
from migkit.reconcile.reasons import Evidence, change_reasons, missing_table
from migkit.reconcile.report import ReconcileReport

if TYPE_CHECKING:
    from migkit.models import ProposedPatch, Run
    from migkit.preview import Preview, PreviewSheet
    from migkit.validation.report import ValidationReport

NormalizeLike = Normalize | str | Iterable[str] | Mapping[str, Any] | None
Key = Hashable | Sequence[Hashable] | None


def reconcile(
    source: pd.DataFrame | Preview | PreviewSheet,
    export: pd.DataFrame | Preview | PreviewSheet,
    key: Key = None,
    *,
    normalize: NormalizeLike = None,
    flagged: pd.DataFrame | None = None,
    validation: ValidationReport | None = None,
    patch: ProposedPatch | Run | Sequence[Mapping[str, Any]] | None = None,
    duplicates: str = "occurrence",
    on_index: bool = False,
    heal_headers: bool = True,
    engine: Any = "auto",
    thread: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
    template: str | None = None,
) -> ReconcileReport:
    """Compare the rows you imported (``source``) with what the export holds.

    Rows are paired by ``key``: a column label, a list of them, or ``"index"`` (or
    ``on_index=True``) to pair on the frames' index. Without a key, identical rows are paired
    (a full-row hash) and the report says so. When a key repeats, the n-th row of it on one
    side pairs with the n-th on the other (``duplicates="first"`` pairs only the first ones).
    A key of several columns pairs empty parts with empty parts; a key empty as a whole never
    pairs.

    Columns are paired by label, then string labels are healed as the server heals headers
    (``heal_headers=False`` turns that off). Cells are compared as canonical text (``1.0``
    and ``"1"`` are equal, an empty string equals a missing value, numbers on both sides by
    value); ``normalize`` (``"trim"``, ``["trim", "case"]`` or a :class:`Normalize` with
    tolerances, dates, booleans) says which formatting is not a change, and the report lists
    what it hid.

    Each source row missing from the export gets a reason, the first that its evidence
    supports: ``flagged by the server`` (it is in ``flagged``, the sheet's
    ``exports.frame(..., filter="flagged")``); ``deleted by an accepted patch`` (``patch``,
    the accepted ``proposed_patch`` or the paused run, deletes rows empty in a column where
    this row is empty); ``empty key``; ``duplicate key``; ``predicted invalid locally``
    (``validation``, a :func:`migkit.validate` report of this source, flags it); ``unknown``.
    ``detail`` lists its predicted problems either way.

    ``source`` and ``export`` may also be paths (CSV, Parquet), Arrow tables or datasets:
    ``engine="auto"`` keeps frames that fit in memory and runs the rest on DuckDB (out of
    core, a memory cap); ``engine="duckdb"``, ``migkit.scale.DuckDB(memory_limit=...)`` or a
    Spark session force an engine, with the same answers (see ``docs/scale.md``).

    A Generation-2 :class:`migkit.Preview` can be either side (``template=`` picks its sheet
    when it has several): ``reconcile(source, preview, key=..., thread=events)`` says what
    the agent's recipe changed (columns it mapped, each changed cell's ``value fix`` with the
    instruction and run behind it, rows ``dropped by the recipe``), and
    ``reconcile(preview, export, key=..., flagged=invalid)`` whether every previewed row
    landed (``flagged in the preview`` rows are in the ``invalid`` export). See
    ``docs/reconcile.md``. A preview is compared in memory (it is a sample of rows).

    >>> import migkit, pandas as pd
    >>> source = pd.DataFrame({"Email": ["a@x.io", "b@x.io"], "Zip": ["02139", "007"]})
    >>> export = pd.DataFrame({"Email": ["a@x.io", "b@x.io"], "Zip": ["2139", "007"]})
    >>> migkit.reconcile(source, export, key="Email", normalize=Normalize(abs_tol=0.5)).changed[
    ...     ["Email", "column", "source", "export"]].values.tolist()
    [['a@x.io', 'Zip', '02139', '2139']]
    """
    evidence = Evidence.of(flagged, validation, patch)  # checked before the slow part
    sides = PreviewSides.of(source, export, thread, template)
    plain = sides.left is source and sides.right is export  # no Generation-2 preview involved
    if plain and _on_engine(source, export, engine, on_index or _index_key(key, source, export)):
        return _engine_report(
            engine,
            source,
            export,
            key,
            ("source", "export"),
            normalize,
            duplicates,
            heal_headers,
            evidence,
        )
    evidence = dataclasses.replace(evidence, **sides.evidence)
    comparison = _compare(
        sides.left, sides.right, key, sides.names, normalize, duplicates, on_index, heal_headers
    )
    return sides.finish(_report(comparison, evidence, Normalize.of(normalize)))


REMOVED = "not in the new"  # a diff's reason for a row of the old export only


def diff_exports(
    old: pd.DataFrame,
    new: pd.DataFrame,
    key: Key = None,
    *,
    normalize: NormalizeLike = None,
    duplicates: str = "occurrence",
    on_index: bool = False,
    heal_headers: bool = True,
    engine: Any = "auto",
) -> ReconcileReport:
    """Added, removed and changed rows between two exports of the same sheet.

    The report is a :class:`ReconcileReport` with sides ``old`` and ``new``: ``.added``
    (rows only in ``new``), ``.removed`` (rows only in ``old``) and ``.changed`` cells. The
    arguments mean what they mean for :func:`reconcile` (``old`` and ``new`` may be paths,
    Arrow tables or datasets too, and ``engine`` picks where the work runs).

    >>> old = pd.DataFrame({"Email": ["a@x.io", "b@x.io"], "Tier": ["Gold", "Silver"]})
    >>> new = pd.DataFrame({"Email": ["b@x.io", "c@x.io"], "Tier": ["Gold", "Gold"]})
    >>> d = diff_exports(old, new, key="Email")
    >>> d.added["Email"].tolist(), d.removed["Email"].tolist(), d.changed["column"].tolist()
    (['c@x.io'], ['a@x.io'], ['Tier'])
    """
    if _on_engine(old, new, engine, on_index or _index_key(key, old, new)):
        return _engine_report(
            engine,
            old,
            new,
            key,
            ("old", "new"),
            normalize,
            duplicates,
            heal_headers,
            Evidence(),
            unexplained=REMOVED,
        )
    comparison = _compare(
        old, new, key, ("old", "new"), normalize, duplicates, on_index, heal_headers
    )
    return _report(comparison, Evidence(), Normalize.of(normalize), unexplained=REMOVED)


def _index_key(key: Key, left: Any, right: Any) -> bool:
    """True when ``key="index"`` means the frames' index (no column of that name)."""
    if not (isinstance(key, str) and key == "index"):
        return False
    frames = [f for f in (left, right) if isinstance(f, pd.DataFrame)]
    return len(frames) == 2 and not all("index" in f.columns for f in frames)


def _on_engine(left: Any, right: Any, engine: Any, on_index: bool) -> bool:
    """True when the comparison runs on an engine rather than in memory."""
    if engine in ("pandas", "memory"):
        return False
    frames = isinstance(left, pd.DataFrame) and isinstance(right, pd.DataFrame)
    if engine != "auto":
        if on_index:
            raise UsageError(
                "joining on a frame index (key='index' or on_index=True) is for the in-memory"
                " path only: pass key=<column>, or engine='pandas'"
            )
        return True
    if not frames:
        # Inputs by reference go to an engine; anything else gets the in-memory path's error.
        from migkit.scale.staging import by_reference

        return all(isinstance(v, pd.DataFrame) or by_reference(v) for v in (left, right))
    from migkit.scale import AUTO_ROWS

    return not on_index and max(len(left), len(right)) > AUTO_ROWS


def _engine_report(
    engine: Any,
    left: Any,
    right: Any,
    key: Key,
    names: tuple[str, str],
    normalize: NormalizeLike,
    duplicates: str,
    heal_headers: bool,
    evidence: Evidence,
    *,
    unexplained: str | None = None,
) -> ReconcileReport:
    from migkit.reconcile.pairing import DUPLICATES
    from migkit.scale import reconcile as on_engine
    from migkit.scale.engines import engine_of

    if duplicates not in DUPLICATES:
        raise UsageError(
            f"duplicates={duplicates!r} is not an option; use 'occurrence' (the n-th row of"
            " a key pairs with the n-th) or 'first' (only the first rows pair)"
        )
    return on_engine.run(
        engine_of("duckdb" if engine == "auto" else engine),
        left,
        right,
        key,
        names=names,
        how=Normalize.of(normalize),
        duplicates="first" if duplicates == "first" else "occurrence",
        heal_headers=heal_headers,
        evidence=evidence,
        unexplained=unexplained,
    )


def _compare(
    left: Any,
    right: Any,
    key: Key,
    names: tuple[str, str],
    normalize: NormalizeLike,
    duplicates: str,
    on_index: bool,
    heal_headers: bool,
) -> Comparison:
    for role, value in zip(names, (left, right), strict=True):
        if not isinstance(value, pd.DataFrame):
            raise UsageError(f"{role} must be a pandas DataFrame, not {type(value).__name__}")
    return Comparison.run(
        left,
        right,
        key,
        names=names,
        how=Normalize.of(normalize),
        duplicates=duplicates,
        on_index=on_index,
        heal_headers=heal_headers,
    )


def _report(
    c: Comparison, evidence: Evidence, how: Normalize, *, unexplained: str | None = None
) -> ReconcileReport:
    missing, evidence_notes = missing_table(c, evidence, unexplained=unexplained)
    return ReconcileReport(
        names=c.names,
        key=None if c.on_index else c.keys,
        rows=(len(c.left.frame), len(c.right.frame)),
        matched=len(c.pairing.left),
        missing=missing,
        extra=c.extra(),
        changed=c.cell_table("changed", change_reasons(evidence.actions, evidence.recipe)),
        build_hidden=lambda: c.cell_table("hidden"),
        duplicates=c.repeated_keys(),
        by_column=c.by_column(),
        columns={a: b for a, b in c.aligned.pairs if a != b},
        only_in=(c.aligned.only_left, c.aligned.only_right),
        notes=tuple([*c.left.notes, *c.right.notes, *_notes(c, how), *evidence_notes]),
        on_index=c.on_index,
        duplicates_mode=c.duplicates,
        fields=dict(c.fields),
    )


def _notes(c: Comparison, how: Normalize) -> list[str]:
    """What the reader of the report should know about how it was made."""
    notes = []
    if c.keys is None:
        notes.append(
            "No key given: rows were paired when every compared column is equal (full-row hash),"
            " so a changed row shows as one missing and one extra row; pass key=... to see"
            " changed cells"
        )
    renamed = [f"{a} → {b}" for a, b in c.aligned.pairs if a != b]
    if renamed:
        notes.append("Columns matched by header healing: " + ", ".join(renamed))
    p = c.pairing
    repeats = [
        f"{int(mask.sum()):,} {name} row(s)"
        for name, mask in zip(c.names, (p.left_repeat, p.right_repeat), strict=True)
        if mask.any()
    ]
    if repeats:
        how_paired = (
            "the n-th row of a key was paired with the n-th on the other side"
            if c.duplicates == "occurrence"
            else "only the first row of a key was paired (duplicates='first')"
        )
        notes.append(
            f"Keys repeat: {' and '.join(repeats)} repeat an earlier row's key; {how_paired};"
            " report.duplicates lists every row of a repeated key"
        )
    # Labels are never renamed, so when one collides the report's column moves: say so.
    moved = {k: v for k, v in c.fields.items() if k != v}
    if moved:
        notes.append(
            "The report's own columns were renamed where the frames already had that label: "
            + ", ".join(f"{k} → {v}" for k, v in moved.items())
        )
    # A tolerance on text-only frames does nothing by design (zeros are kept); a silent no-op
    # would look like a bug, so the report says what to do instead.
    tolerant = any(rules.tolerance is not None for rules in c.rules.values())
    if (how.abs_tol is not None or how.rel_tol is not None or how.tolerance is not None) and not (
        tolerant
    ):
        notes.append(
            "The tolerance applied to no column: no compared column holds numbers on either"
            " side (text that only looks numeric, like a Zip '02139', keeps its zeros); name"
            " the columns that hold numbers, e.g. Normalize(abs_tol={'Amount': 0.01})"
        )
    return notes
