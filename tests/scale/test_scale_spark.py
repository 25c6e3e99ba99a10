"""One end-to-end reconcile on a local Spark session: a CSV source and a Parquet export by
path, normalization, repeated keys, evidence, and a large part kept lazy and written out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

import migkit
import migkit.scale.reconcile as engine_reconcile
from migkit.export_files import read_export_csv
from migkit.export_parquet import csv_to_parquet
from migkit.scale import LazyTable, Spark
from tests.scale.test_scale_inputs import EXPORT, HOW, SOURCE
from tests.scale_helpers import assert_same_report, table


@pytest.mark.spark
@pytest.mark.timeout(900)
def test_reconcile_paths_on_spark(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SOURCE.to_csv(tmp_path / "source.csv", index=False)
    EXPORT.to_csv(tmp_path / "export.csv", index=False)
    csv_to_parquet(tmp_path / "export.csv", tmp_path / "export.parquet")
    source, export = (
        read_export_csv(tmp_path / "source.csv"),
        read_export_csv(tmp_path / "export.csv"),
    )
    flagged = source.iloc[[2]]
    expected = migkit.reconcile(
        source, export, key="Email", normalize=HOW, flagged=flagged, engine="pandas"
    )
    monkeypatch.setattr(engine_reconcile, "SMALL_ROWS", 1)  # the changed cells stay on Spark
    engine = Spark(spark, staging_dir=tmp_path / "staging")
    actual = migkit.reconcile(
        tmp_path / "source.csv",
        tmp_path / "export.parquet",
        key="Email",
        normalize=HOW,
        flagged=flagged,
        engine=engine,
    )
    assert isinstance(actual.changed, LazyTable)
    assert_same_report(expected, actual)
    written = pq.read_table(actual.changed.to_parquet(tmp_path / "changed.parquet")).to_pandas()
    pd.testing.assert_frame_equal(
        written.astype(object), table(expected.changed).astype(object), check_dtype=False
    )
    assert set(expected.missing["reason"]) >= {"flagged by the server", "duplicate key"}
