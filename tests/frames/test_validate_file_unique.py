"""``validate_file`` checks unique columns across batches exactly as ``validate`` checks them in
one frame (first occurrence wins, blanks never repeat, trimmed text compared), even when every
value's hash collides, and the work per batch does not grow with the batches before it."""

from __future__ import annotations

import csv
import io
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import migkit
import migkit.validation.files as files
import migkit.validation.seen as seen_module
from migkit.rules import Template
from migkit.validation.seen import SeenValues

PEOPLE = Template.from_api(
    {
        "name": "People",
        "columns": [
            {"name": "Email", "required": True, "unique": True},
            {"name": "Code", "unique": True},
            {"name": "Note"},
        ],
    }
)

# Repeats once trimmed (spaces, tabs, no-break and ideographic spaces, a line break), blanks,
# and look-alikes that are not repeats (case, a combining accent).
VALUES = ["a", "A", "b", "a ", " a", "\ta", "a\u00a0", "\u3000b", "b\n", "ab", "é", "e\u0301",
          "", "  ", "\t", "\u00a0"]  # fmt: skip

HASHES: dict[str, Callable[[pa.Array], np.ndarray]] = {
    "every value collides": lambda values: np.zeros(len(values), dtype=np.int64),
    "values of a length collide": lambda values: np.asarray(
        pa.compute.utf8_length(values), dtype=np.int64
    ),
}


def write(path: Path, rows: list[tuple[str, str]]) -> Path:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["Email", "Code", "Note"])
    writer.writerows([(email, code, "n") for email, code in rows])  # no row is all empty
    path.write_text(text.getvalue(), encoding="utf-8")
    return path


def both(path: Path, **options: Any) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", migkit.MigkitWarning)
        whole = migkit.validate(migkit.read(path), PEOPLE)
        streamed = migkit.validate_file(path, PEOPLE, engine="pandas", **options)
    assert streamed.rows == len(whole.frame)
    return (
        streamed.errors.reset_index(drop=True),
        whole.errors.reset_index(drop=True),
        streamed.predicted_flagged_rows - whole.predicted_flagged_rows,
    )


@pytest.mark.parametrize("hashes", [None, *HASHES])
def test_repeats_across_batches_are_flagged_as_in_one_frame(
    hashes: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if hashes is not None:
        monkeypatch.setattr(seen_module, "text_hashes", HASHES[hashes])
    emails = ["a@x", " a@x", "", "b@x", "a@x\t", "  ", "B@x", "b@x", "\u00a0b@x\u00a0", "c@x"]
    path = write(tmp_path / "people.csv", [(e, "") for e in emails])
    streamed, whole, _ = both(path, batch_rows=1, block_bytes=64)
    pd.testing.assert_frame_equal(streamed, whole)
    assert streamed[["row", "rule"]].values.tolist() == [
        [1, "unique"], [2, "required"], [4, "unique"], [5, "required"], [7, "unique"],
        [8, "unique"],
    ]  # fmt: skip
    assert streamed["value"].tolist()[2] == "a@x\t"  # the value as written, not trimmed


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.tuples(st.sampled_from(VALUES), st.sampled_from(VALUES)), max_size=40),
    batch_rows=st.integers(1, 7),
    block_bytes=st.sampled_from([64, 256, 1 << 16]),
    hashes=st.sampled_from([None, *HASHES]),
)
def test_property_streamed_unique_checks_are_those_of_validate(
    tmp_path: Path,
    rows: list[tuple[str, str]],
    batch_rows: int,
    block_bytes: int,
    hashes: str | None,
) -> None:
    path = write(tmp_path / "people.csv", rows)
    with pytest.MonkeyPatch.context() as patch:
        if hashes is not None:  # collisions must never flag a row
            patch.setattr(seen_module, "text_hashes", HASHES[hashes])
        streamed, whole, flagged = both(path, batch_rows=batch_rows, block_bytes=block_bytes)
    pd.testing.assert_frame_equal(streamed, whole)
    assert flagged == 0


@pytest.mark.parametrize("hashes", HASHES)
def test_a_hash_collision_is_never_taken_for_a_repeat(
    hashes: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seen_module, "text_hashes", HASHES[hashes])
    seen = SeenValues()
    assert not seen.update(pa.array(["a", "b", "cd", None, " ", "a ", "b"])).any()
    found = seen.update(pa.array(["c", " b", "dc", "a", "cd\t", "ab", "", "ba"]))
    assert found.tolist() == [False, True, False, True, True, False, False, False]
    assert len(seen) == 7  # a, b, cd, then c, dc, ab, ba: each once, and no blank


@settings(max_examples=150, deadline=None)
@given(
    batches=st.lists(st.lists(st.sampled_from([*VALUES, None]), max_size=12), max_size=12),
    small=st.sampled_from([4, seen_module.SMALL]),
    hashes=st.sampled_from([None, *HASHES]),
)
def test_property_seen_values_is_a_set_of_trimmed_values(
    batches: list[list[str | None]], small: int, hashes: str | None
) -> None:
    model: set[str] = set()  # what the SeenValues should hold: a plain set of trimmed text
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(seen_module, "SMALL", small)  # 4: 64-bit offsets and positions early
        if hashes is not None:
            patch.setattr(seen_module, "text_hashes", HASHES[hashes])
        seen = SeenValues()
        for batch in batches:
            found = seen.update(pa.array(batch, pa.large_string()))
            text = [v.strip() if v is not None else "" for v in batch]
            assert found.tolist() == [bool(t) and t in model for t in text]
            model |= {t for t in text if t}
            assert len(seen) == len(model)


def counted(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    """Replace ``module.name`` by a wrapper recording the length of its first argument."""
    sizes: list[int] = []
    original = getattr(module, name)

    def wrapper(first: Any, *args: Any) -> Any:
        sizes.append(len(first) if not isinstance(first, seen_module._Run) else len(args[0]))
        return original(first, *args)

    monkeypatch.setattr(module, name, wrapper)
    return sizes


def test_the_work_per_update_does_not_grow_with_the_updates_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hashed = counted(monkeypatch, seen_module, "text_hashes")
    merged: list[int] = []
    merge = seen_module._merge

    def counting_merge(older: Any, newer: Any) -> Any:
        merged.append(len(older) + len(newer))
        return merge(older, newer)

    monkeypatch.setattr(seen_module, "_merge", counting_merge)
    seen, batches, size = SeenValues(), 64, 10
    for b in range(batches):
        # half new values, half repeats of the batch before, and a blank
        column = [f"v{b}-{i}" for i in range(size // 2)] + [f"v{b - 1}-{i}" for i in range(4)]
        found = seen.update(pa.array([*column, " "]))
        assert found.sum() == (4 if b else 0)
    assert hashed == [size - 1] * batches  # each update hashes its own non-blank rows only
    kept = len(seen)
    assert kept == batches * size // 2 + 4
    assert len(seen._runs) <= math.log2(batches) + 1
    assert sum(merged) <= kept * math.log2(batches)  # each value moved log2(batches) times


def test_batches_of_shrinking_sizes_still_merge_into_few_runs() -> None:
    seen = SeenValues()
    for b in range(100):  # 100 new values, then 99, 98, ...: no run is ever the longer
        seen.update(pa.array([f"v{b}-{i}" for i in range(100 - b)]))
    assert len(seen) == 5050
    assert len(seen._runs) <= math.log2(len(seen)) + 1
    classes = [len(run).bit_length() for run in seen._runs]  # powers of two, all different
    assert classes == sorted(set(classes), reverse=True)


def test_each_batch_is_checked_with_its_own_rows_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "people.csv", [(f"u{i % 500}@x", str(i)) for i in range(1000)])
    sizes: list[int] = []
    check = files.check

    def counting_check(frame: pd.DataFrame, *args: Any, **options: Any) -> pd.DataFrame:
        given = [len(frame)]
        for name in ("existing", "earlier"):
            given += [len(list(v)) for v in (options.get(name) or {}).values()]
        sizes.append(max(given))
        return check(frame, *args, **options)

    monkeypatch.setattr(files, "check", counting_check)
    # a batch per parsed block of 512 bytes: about 45 rows
    report = migkit.validate_file(path, PEOPLE, engine="pandas", batch_rows=1, block_bytes=512)
    assert report.errors["row"].tolist() == list(range(500, 1000))  # every repeat
    assert len(sizes) >= 15  # many batches...
    assert max(sizes) <= 100  # ...each given its own rows, nothing sized by the batches before
