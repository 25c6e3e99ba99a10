"""Why a source row is missing from the export, and why a cell changed: decided from
evidence, in a fixed precedence.

A missing row gets the first of these reasons that its evidence supports:

1. ``flagged by the server``: the row is in ``flagged=`` (by key, or as a whole row when its
   key is empty). The server's own export is the strongest evidence there is, so it wins
   over anything a patch could have done.
2. ``flagged in the preview`` (a Generation-2 preview as the first side): the preview marks
   an invalid cell in the row, so an execute inserts it flagged (in the ``invalid`` export).
3. ``deleted by an accepted patch``: ``patch=`` has a ``delete_invalid_rows`` action for a
   column in which the row is empty (the contract issues that action for missing required
   cells, and only for them).
4. ``dropped by the recipe`` (a preview as the second side, with ``thread=``): an
   instruction or answer of the thread drops rows empty in, or holding a value it quotes in,
   a column it names; ``detail`` names it and its run.
5. ``empty key``: the key is empty as a whole, so the row could not be paired.
6. ``duplicate key``: the key repeats, and the export holds fewer rows with it.
7. ``predicted invalid locally``: ``validation=`` flags the row.
8. ``past the preview's sample``: the preview is truncated, so the row may be past its rows.
9. ``unknown``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from migkit.column_kernels import blank, is_in
from migkit.errors import UsageError
from migkit.reconcile.canonical import canonical
from migkit.reconcile.comparison import Comparison
from migkit.reconcile.labels import IndexLevel
from migkit.reconcile.pairing import full_row_key, row_key
from migkit.reconcile.sides import Side

if TYPE_CHECKING:
    from migkit.reconcile.agent import RecipeEvidence
    from migkit.validation.report import ValidationReport

FLAGGED = "flagged by the server"
DELETED = "deleted by an accepted patch"
EMPTY_KEY = "empty key"
DUPLICATE_KEY = "duplicate key"
PREDICTED = "predicted invalid locally"
UNKNOWN = "unknown"
FLAGGED_IN_PREVIEW = "flagged in the preview"
DROPPED = "dropped by the recipe"
PAST_SAMPLE = "past the preview's sample"
PRECEDENCE = (
    FLAGGED,
    FLAGGED_IN_PREVIEW,
    DELETED,
    DROPPED,
    EMPTY_KEY,
    DUPLICATE_KEY,
    PREDICTED,
    PAST_SAMPLE,
    UNKNOWN,
)
SET_BY_PATCH = "set by the accepted patch"
NO_EVIDENCE = "pass flagged=, validation= or patch= to explain missing rows"
NO_THREAD = "pass thread= (the migration's thread, include='tools') to explain dropped rows"


@dataclass(frozen=True)
class Evidence:
    """What the caller passed to explain missing rows and changed cells."""

    flagged: pd.DataFrame | None = None
    validation: ValidationReport | None = None
    actions: tuple[Mapping[str, Any], ...] = ()
    questions: tuple[Any, ...] = ()  # the paused run's questions, when it was passed
    recipe: RecipeEvidence | None = None  # source vs a Generation-2 preview
    preview_problems: pd.Series | None = None  # a preview as the first side: its invalid rows
    sample_cut: bool = False  # the preview side is truncated

    @classmethod
    def of(
        cls, flagged: Any = None, validation: ValidationReport | None = None, patch: Any = None
    ) -> Evidence:
        """Check what the caller passed (``patch``: a ProposedPatch, the paused Run that
        carried it, or a list of its actions)."""
        if flagged is not None and not isinstance(flagged, pd.DataFrame):
            raise UsageError(f"flagged must be a pandas DataFrame, not {type(flagged).__name__}")
        questions: tuple[Any, ...] = ()
        attention = getattr(patch, "needs_attention", None)
        if attention is not None:  # a paused Run
            questions = tuple(attention.questions)
            patch = attention.proposed_patch
        if patch is None:
            return cls(flagged, validation, (), questions)
        actions = getattr(patch, "actions", patch)
        if not isinstance(actions, Sequence) or not all(isinstance(a, Mapping) for a in actions):
            raise UsageError(
                "patch must be a ProposedPatch, the paused Run that carried it, or a list of its"
                f" actions, not {type(patch).__name__}"
            )
        return cls(flagged, validation, tuple(actions), questions)

    @property
    def given(self) -> bool:
        """True when any evidence was passed."""
        return (
            self.flagged is not None
            or self.validation is not None
            or bool(self.actions)
            or self.preview_problems is not None
            or (self.recipe is not None and self.recipe.thread_given)
        )

    def deletions(self) -> list[Hashable]:
        """The columns of the patch's ``delete_invalid_rows`` actions."""
        return [
            a["column"]
            for a in self.actions
            if a.get("action") == "delete_invalid_rows" and a.get("column") is not None
        ]


def missing_table(
    c: Comparison, evidence: Evidence, *, unexplained: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The rows of the first frame with no partner, with ``reason`` and ``detail``, and notes
    where the evidence disagrees with itself. Rows no evidence explains get ``unknown`` and a
    hint to pass evidence, or ``unexplained`` when given (a diff of two exports: "not in the
    new", which needs no explaining)."""
    p = c.pairing
    unmatched = np.ones(len(c.left.frame), dtype=bool)
    unmatched[p.left] = False
    positions = np.flatnonzero(unmatched)
    reason = np.full(len(positions), UNKNOWN, dtype=object)
    detail = np.full(len(positions), "", dtype=object)
    open_ = np.ones(len(positions), dtype=bool)  # no reason found yet

    def settle(mask: np.ndarray, text: str) -> None:
        # Reasons are settled in PRECEDENCE order: a row keeps the first one that applies.
        nonlocal open_
        reason[open_ & mask] = text
        open_ &= ~mask

    notes: list[str] = []
    if evidence.flagged is not None:
        settle(_in_flagged(c, evidence.flagged, positions), FLAGGED)
    labels = c.left.frame.index[positions]
    shown = evidence.preview_problems
    if shown is not None and len(shown):
        settle(labels.isin(shown.index), FLAGGED_IN_PREVIEW)
    for column in evidence.deletions():
        hit = _deleted(c, column, positions, labels, evidence.validation)
        notes += _check_count(column, int((hit & open_).sum()), evidence.questions)
        settle(hit, DELETED)
    why = np.full(len(positions), "", dtype=object)
    if evidence.recipe is not None and len(positions):
        values = {b: pd.Series(c.left.values(a, positions)) for a, b in c.aligned.pairs}
        for hit, text in evidence.recipe.dropped(values):
            why[open_ & hit] = text
            settle(hit, DROPPED)
    settle(p.left_empty[positions], EMPTY_KEY)
    settle((p.left_repeat & p.left_shared)[positions], DUPLICATE_KEY)
    local = _problems(evidence.validation)
    problems = local
    if shown is not None and len(shown):  # the preview's own errors come first in detail
        problems = pd.concat([shown, local]).groupby(level=0, sort=False).agg("; ".join)
    if len(problems):
        detail[:] = problems.reindex(labels).fillna("").to_numpy(dtype=object)
    if len(local):
        settle(labels.isin(local.index), PREDICTED)
    if evidence.sample_cut:
        settle(np.ones(len(positions), dtype=bool), PAST_SAMPLE)
    dropped = reason == DROPPED
    detail[dropped] = why[dropped]
    if unexplained is not None:
        reason[open_] = unexplained
    elif not evidence.given:
        detail[open_] = NO_THREAD if evidence.recipe is not None else NO_EVIDENCE
    out = c.left.frame.iloc[positions].copy()
    out[c.fields["reason"]] = reason
    out[c.fields["detail"]] = detail
    return out, notes


def _in_flagged(c: Comparison, flagged: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
    # By key where the row has one; as a whole row (every shared column) otherwise, so a row
    # with an empty key the server kept flagged is still found.
    # Whole rows compare every shared column, or none: a part of a row proves nothing.
    pairs = c.aligned.pairs if all(b in flagged.columns for _, b in c.aligned.pairs) else []
    keys = [k for k in c.keys or () if not isinstance(k, IndexLevel)]
    present = [b for b in dict.fromkeys([*(b for _, b in pairs), *keys]) if b in flagged.columns]
    fside = Side.of(flagged, present, "flagged", index=False)
    found = np.zeros(len(positions), dtype=bool)
    take = pa.array(positions)
    lkey = c.key_text[0]
    if keys and lkey is not None and all(k in fside.raw for k in keys):
        fkey = row_key([fside.normalized(k, c.rules[k]) for k in keys])
        found |= is_in(lkey.take(take), fkey)
    if pairs:
        # Only the missing rows are normalized, not the whole first frame.
        lparts = [c.rules[b].apply(c.left.raw[a].take(take)) for a, b in pairs]
        lrow = full_row_key(lparts, len(positions))
        frow = full_row_key([fside.normalized(b, c.rules[b]) for _, b in pairs], len(flagged))
        found |= is_in(lrow, frow)
    return found


def _deleted(
    c: Comparison,
    column: Hashable,
    positions: np.ndarray,
    labels: pd.Index,
    validation: ValidationReport | None,
) -> np.ndarray:
    # Rows empty in the action's column: exactly the rows the action removes, whichever
    # other problems they have. Regex or duplicate misses in that column are not deleted.
    hit = np.zeros(len(positions), dtype=bool)
    left = c.to_left.get(column)
    if left is None and column in c.left.raw:  # the action names the first frame's label
        left = column
    if left is not None:
        hit |= blank(c.left.raw[left].take(pa.array(positions)))
    if validation is not None and not validation.errors.empty:
        errors = validation.errors
        rows = errors.loc[(errors["column"] == column) & (errors["rule"] == "required"), "row"]
        hit |= labels.isin(rows.unique())
    return hit


def _check_count(column: Hashable, rows: int, questions: Sequence[Any]) -> list[str]:
    # The paused run's question about this column says how many rows the action was about:
    # say so when the rows attributed to it here are another number (another source?).
    asked = [q for q in questions if getattr(q, "column", None) == column]
    if len(asked) == 1 and asked[0].affected_rows != rows:
        return [
            f"{rows} missing row(s) are empty in {column!s}, so deleted by the accepted patch;"
            f" the server's question counted {asked[0].affected_rows}"
        ]
    return []


def _problems(validation: ValidationReport | None) -> pd.Series:
    """Per source row label, its predicted problems as one line."""
    if validation is None or validation.errors.empty:
        return pd.Series(dtype=object)
    errors = validation.errors
    lines = errors["column"].astype(str) + ": " + errors["message"].astype(str)
    return lines.groupby(errors["row"], sort=False).agg("; ".join)


def change_reasons(
    actions: Sequence[Mapping[str, Any]], recipe: RecipeEvidence | None = None
) -> Any:
    """A function giving each changed cell its reason: ``set by the accepted patch`` when a
    ``set_value`` action explains it (same column, the export holds the action's value, the
    source held one of its ``values``); against a Generation-2 preview, the recipe's value
    fix (see :mod:`migkit.reconcile.agent`); ``value differs`` otherwise."""

    def reasons(column: Hashable, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        if recipe is not None:
            return recipe.change_reasons(column, first, second)
        out = np.full(len(first), "value differs", dtype=object)
        for action in actions:
            if action.get("action") != "set_value" or action.get("column") != column:
                continue
            value = canonical(pd.Series([action.get("value")], dtype=object)).text[0].as_py()
            new = pd.Series(second, dtype=object)
            hit = np.array(new == value if value is not None else new.isna(), dtype=bool)
            originals = action.get("values")
            if originals is not None:
                hit &= pd.Series(first, dtype=object).isin([str(v) for v in originals]).to_numpy()
            out[hit] = SET_BY_PATCH
        return out

    return reasons
