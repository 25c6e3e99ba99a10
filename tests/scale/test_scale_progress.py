"""The engines load lazily, and long engine work shows its stages."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import migkit
from migkit.scale import DuckDB, progress


def test_import_migkit_loads_no_engine() -> None:
    code = (
        "import sys, migkit, migkit.scale; "
        "loaded = [m for m in ('duckdb', 'ibis', 'pyspark', 'polars') if m in sys.modules]; "
        "print(loaded)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_engine_work_shows_its_stages(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real = progress.Stages.start

    def start(self: progress.Stages, stage: str, rows: int | None) -> None:
        seen.append(stage)
        real(self, stage, rows)

    monkeypatch.setattr(progress.Stages, "start", start)
    monkeypatch.setattr(progress, "POLL_SECONDS", 0.01)
    frame = pd.DataFrame({"k": ["a", "b"], "v": ["1", "2"]}, dtype="str")
    migkit.reconcile(frame, frame, key="k", engine=DuckDB(memory_limit="128MB"))
    assert seen == ["staging", "pairing", "comparing", "writing"]
    with progress.Stages(DuckDB(memory_limit="128MB"), enabled=True) as stages:
        stages.start("pairing", 1_000)
        stages._bar.refresh()  # what the bar shows once its one-second delay has passed
    assert "migkit on duckdb: pairing 1,000 rows" in capsys.readouterr().err
