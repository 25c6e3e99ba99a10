"""The notebooks in ``notebooks/`` run top to bottom, unedited, against the embedded sandbox.

Each is executed in a real Jupyter kernel (nbclient); a cell that raises fails the test, and
each notebook ends with assertions on the numbers it shows. What the saved notebook then
holds is what GitHub, nbviewer or a reopened notebook shows: every panel's final state as
readable text and HTML, never a widget model that is gone.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MARKUP = re.compile(
    r"<(span|div|b|code|table|tr|td|br|ul|li)\b|</|HTML\(value=|VBox\(|Review\(|&middot;"
)
PANEL = re.compile(r"run [0-9a-f]{8}: ")


def _run(name: str) -> list[list[dict[str, Any]]]:
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), (
        "commit notebooks without outputs"
    )
    NotebookClient(
        book, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return [c.get("outputs", []) if c.cell_type == "code" else [] for c in book.cells]


def _shown(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kinds = ("display_data", "execute_result")
    return [o.get("data", {}) for o in outputs if o.get("output_type") in kinds]


def _import_cells_show_each_report_once(cells: list[list[dict[str, Any]]]) -> None:
    # 01: each import cell shows its panel, and the returned run points there instead of
    # showing the same report again.
    for index in (10, 11):
        html = [d.get("text/html", "") for d in _shown(cells[index])]
        assert sum("inserted" in h for h in html) == 1, html
        assert "shown in the panel above" in html[-1]


def _the_review_keeps_its_decision(cells: list[list[dict[str, Any]]]) -> None:
    # 02: the review widget (decided by the next cell) saved in its final state
    (review,) = _shown(cells[4])
    assert "Decision: Apply suggested fix" in review["text/plain"]
    assert "completed" in review["text/plain"] and "Run completed." in review["text/plain"]


def _a_paused_then_decided_run_keeps_one_panel(cells: list[list[dict[str, Any]]]) -> None:
    # 03: the April run paused, was decided and ran again in one cell: one panel, both states
    panels = [d["text/plain"] for d in _shown(cells[3])]
    assert len(panels) == 4, panels  # Accounts and Contacts, March and April: once each
    (april,) = [p for p in panels if p.startswith("Acme (April) · Contacts")]
    assert "needs_attention:" in april and "-> completed:" in april
    assert "removed" in cells[4][0]["data"]["text/html"]  # the diff says removed/added


def _the_agent_story_saves_each_widget_in_its_final_state(
    cells: list[list[dict[str, Any]]],
) -> None:
    # 04: the thread panel (stopped by the last cell), the generate run's panel, the review
    # widget (answered by the next cell), and the preview widget (changed, then executed)
    (thread,) = _shown(cells[5])
    assert "asks 3 questions" in thread["text/plain"] and "→ read_file" in thread["text/plain"]
    assert "✓ completed (26 rows inserted, 5 flagged)" in thread["text/plain"]
    assert "<details" in thread["text/html"]  # tool calls folded
    panel = _shown(cells[7])[0]["text/plain"]
    assert "blocked; 3 questions to answer" in panel
    (review,) = _shown(cells[9])
    assert "Decision: Submit answers" in review["text/plain"]
    assert "The preview is ready." in review["text/plain"]
    (preview,) = _shown(cells[12])
    assert "changed: 3 cells changed" in preview["text/plain"]
    assert "Executed: completed; 21 valid + 5 flagged = 26 inserted" in preview["text/plain"]
    assert "data-invalid='1'" in preview["text/html"] and "data-changed='1'" in preview["text/html"]


CHECKS = {
    "01_quickstart.ipynb": _import_cells_show_each_report_once,
    "02_review_flagged_rows.ipynb": _the_review_keeps_its_decision,
    "03_diff_exports.ipynb": _a_paused_then_decided_run_keeps_one_panel,
    "04_agent_migration.ipynb": _the_agent_story_saves_each_widget_in_its_final_state,
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_notebook_runs_and_saves_readable_final_states(name: str) -> None:
    cells = _run(name)
    outputs = [o for cell in cells for o in cell]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    shown = [data for cell in cells for data in _shown(cell)]
    assert any("<table>" in data.get("text/html", "") for data in shown)
    panels = [d for d in shown if PANEL.search(d.get("text/plain", ""))]
    assert panels, "no run panel was displayed"
    for data in shown:
        assert WIDGET_VIEW not in data, f"a live widget left in the saved notebook: {data}"
        assert not MARKUP.search(data.get("text/plain", "")), data["text/plain"]
    CHECKS[name](cells)
