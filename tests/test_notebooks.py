"""The notebooks in ``notebooks/`` run top to bottom, unedited, against the embedded sandbox.

Each is executed in a real Jupyter kernel (nbclient); a cell that raises fails the test, and
each notebook ends with assertions on the numbers it shows. The live panels are widgets there.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "name", ["01_quickstart.ipynb", "02_review_flagged_rows.ipynb", "03_diff_exports.ipynb"]
)
def test_notebook_runs_top_to_bottom(name: str) -> None:
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), (
        "commit notebooks without outputs"
    )
    NotebookClient(
        book, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    shown = [o for o in outputs if o.get("output_type") in ("display_data", "execute_result")]
    assert any(WIDGET_VIEW in o.get("data", {}) for o in shown), "no live panel was displayed"
    assert any("<table>" in o.get("data", {}).get("text/html", "") for o in shown)
