"""The notebooks where users see them: JupyterLab in a real (headless) browser.

``test_notebooks`` proves the notebooks execute and save readable final states; these prove
what JupyterLab draws:

- the quickstart, Run All: panels, the reconciliation's HTML table, no markup, no traceback;
- a live run with a ticking panel and its *Cancel run* button, clicked while the cell waits;
  then a paused run's review widget, clicked;
- the review notebook with the widget manager disabled (VS Code without widgets, a notebook
  viewer): every output is readable text, never markup or "model not found".

Element pictures of the live panel, the review widget and the reconciliation report, in the
light and the dark theme, are saved to ``tests/artifacts/`` (gitignored; CI's artifact, and
the source of ``docs/screenshots/``), as is a full-page picture of the quickstart.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.browser_lab import (
    ARTIFACTS,
    HTML_OUTPUT,
    OUTPUT,
    STDERR_OUTPUT,
    finish_run_all,
    jupyter_lab,
    launch,
    missing,
    open_notebook,
    output_texts,
    screenshot,
    set_theme,
    shoot,
    start_run_all,
    visible,
)

FINAL_LINE = "flagged and explained"  # the quickstart's last print, after its own assertions
MARKUP = re.compile(r"HTML\(value=|VBox\(|Review\(|<span|<div|&middot;|model not found")
SETUP = """import migkit, migkit.sandbox, migkit.notebook
slow = migkit.sandbox.start(step_seconds=4)  # slow steps: time to look at it, and to click
fast = migkit.sandbox.start(step_seconds=0.3)
clients = [migkit.Client(sb.api_key, sb.base_url, ledger=None) for sb in (slow, fast)]
acme = clients[0].companies.create("Acme Corp", "Spreadsheet", templates=["Accounts"])
initech = clients[1].companies.create("Initech", "Spreadsheet", templates=["Contacts"])"""
SLOW_RUN = (
    """run = clients[0].imports.create(acme, rows=[{"Name": "Acme"}], sheet="Accounts").wait()"""
)
AFTER = 'print("after the click:", run.status)'
PAUSE = """rows = [{"Email": f"p{n}@example.com", "First Name": "P", "Account": "Acme",
         "Status": ["open", "Closed", "Pending?"][n % 3]} for n in range(6)]
paused = clients[1].imports.create(initech, rows=rows, sheet="Contacts").wait()"""
REVIEW = "review = migkit.notebook.review(paused)\nreview"


def _live_notebook() -> Any:
    book = nbformat.v4.new_notebook()
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    book.cells = [nbformat.v4.new_code_cell(c) for c in (SETUP, SLOW_RUN, AFTER, PAUSE, REVIEW)]
    return book


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """The system chromium under Playwright, shared by the module's tests."""
    if importlib.util.find_spec("jupyterlab") is None:
        missing("jupyterlab is not installed (pip install -e '.[dev]')")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as pw:
        chromium = launch(pw)
        try:
            yield chromium
        finally:
            chromium.close()


def _fail_with(log: list[str]) -> None:
    print("--- browser console and blocked requests ---", *log[-60:], sep="\n", file=sys.stderr)


def _no_markup_or_traceback(page: Any) -> None:
    texts = output_texts(page)
    shown = [t for t in texts if MARKUP.search(t)]
    assert not shown, f"outputs showing markup or a lost widget: {shown}"
    tracebacks = page.locator(STDERR_OUTPUT).filter(has_text="Traceback")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()


def _both_themes(page: Any, locator: Any, name: str) -> None:
    for dark in (False, True):
        set_theme(page, dark)
        shoot(locator, f"{name}-{'dark' if dark else 'light'}.png")
    set_theme(page, False)


@pytest.mark.timeout(600)
def test_quickstart_renders_in_jupyterlab(browser: Any, tmp_path: Path) -> None:
    log: list[str] = []
    with jupyter_lab(tmp_path) as (base, token):
        page = open_notebook(browser, base, token, "01_quickstart.ipynb", log)
        try:
            start_run_all(page)
            finish_run_all(page)
            visible(page.locator(OUTPUT).filter(has_text=FINAL_LINE), "the final line")
            # the panels: labelled with company and sheet, ended with the numbers in words
            panel = page.locator(OUTPUT).filter(has_text="Acme Corp · Contacts")
            visible(panel.filter(has_text="184 valid + 12 flagged = 196 inserted"), "a panel")
            # the import cell's returned run points to its panel: the report is shown once
            assert page.locator(OUTPUT).filter(has_text="196 inserted").count() == 1
            # the reconciliation: its headline and its table, rendered as HTML
            reconcile = (
                page.locator(HTML_OUTPUT)
                .filter(has_text=re.compile(r"\d+ matched"))
                .filter(has=page.locator("table"))
            )
            visible(reconcile.first.locator("table"), "the reconciliation's table")
            assert "Not an Accounts Name" in " ".join(output_texts(page))  # never a template id
            _no_markup_or_traceback(page)
            _both_themes(page, reconcile.first, "reconciliation")
        except BaseException:
            _fail_with(log)
            raise
        finally:
            screenshot(page, ARTIFACTS / "01_quickstart.png")


@pytest.mark.timeout(600)
def test_a_live_panel_ticks_and_cancels_and_the_review_widget_decides(
    browser: Any, tmp_path: Path
) -> None:
    log: list[str] = []
    with jupyter_lab(tmp_path, extra={"live.ipynb": _live_notebook()}) as (base, token):
        page = open_notebook(browser, base, token, "live.ipynb", log)
        try:
            start_run_all(page)
            panel = page.locator(OUTPUT).filter(has_text="Acme Corp · Accounts")
            cancel = panel.get_by_role("button", name="Cancel run")
            visible(cancel, "the live panel's Cancel run button", 120)
            clock = panel.locator(".widget-html-content").filter(has_text="next poll in")
            first = clock.first.inner_text()
            page.wait_for_timeout(1200)
            assert clock.first.inner_text() != first, "the clock did not tick between polls"
            assert "Acme Corp · Accounts" in panel.inner_text()
            assert re.search(r"step \d of 7", panel.inner_text())
            _both_themes(page, panel, "live-panel")
            cancel.click()
            visible(page.locator(OUTPUT).filter(has_text="after the click: canceled"), "canceled")
            ended = panel.filter(has_text="Cancel run clicked at").filter(has_text="canceled")
            visible(ended, "the panel saying it was canceled, and by whom")

            apply = page.get_by_role("button", name="Apply suggested fix")
            visible(apply, "the review widget", 120)
            review = page.locator(OUTPUT).filter(has=apply)
            assert "Skip for now" in review.inner_text()
            _both_themes(page, review, "review-widget")
            apply.click()
            decided = page.locator(OUTPUT).filter(has_text="Decision: Apply suggested fix")
            visible(decided.filter(has_text="Run completed."), "the decision and its outcome", 120)
            _both_themes(page, decided, "review-decided")
            finish_run_all(page)
            _no_markup_or_traceback(page)
        except BaseException:
            _fail_with(log)
            raise
        finally:
            screenshot(page, ARTIFACTS / "live.png")


@pytest.mark.timeout(600)
def test_without_the_widget_manager_every_output_is_readable(browser: Any, tmp_path: Path) -> None:
    log: list[str] = []
    with jupyter_lab(tmp_path, widgets=False) as (base, token):
        page = open_notebook(browser, base, token, "02_review_flagged_rows.ipynb", log)
        try:
            start_run_all(page)
            finish_run_all(page)
            assert page.locator(".jupyter-widgets").count() == 0  # no widget was drawn
            texts = output_texts(page)
            _no_markup_or_traceback(page)
            joined = "\n".join(texts)
            # the paused run's panel, then the review widget in its final state
            assert "needs_attention" in joined and "178 clean rows inserted so far" in joined
            assert "Decision: Apply suggested fix" in joined and "Run completed." in joined
            assert "Error displaying widget" not in joined
            review = page.locator(OUTPUT).filter(has_text="Decision: Apply suggested fix")
            shoot(review.first, "review-without-widgets.png")
        except BaseException:
            _fail_with(log)
            raise
        finally:
            screenshot(page, ARTIFACTS / "02_without_widgets.png")


# -- Generation 2: the agent notebook --------------------------------------------------------
AGENT_NOTEBOOK = "04_agent_migration.ipynb"
APPROVE_CELL = 19  # `executed = view.approve()`: the cell a click on the widget stands in for
JS_RUN_PART = """([index, command]) => {
    window.__migkitRunAll = null;
    const panel = window.jupyterapp.shell.currentWidget;
    panel.content.activeCellIndex = index;
    window.jupyterapp.commands.execute(command).then(
        (ok) => { window.__migkitRunAll = String(ok); },
        (err) => { window.__migkitRunAll = 'rejected: ' + err; },
    );
}"""


def _run_part(page: Any, index: int, command: str, timeout: float = 300) -> None:
    """Run the cells above ``index`` (``notebook:run-all-above``) or from it on
    (``notebook:run-all-below``), and wait for them without errors."""
    from tests.browser_lab import JS_STATE, poll

    page.evaluate(JS_RUN_PART, [index, command])
    state = poll(
        page,
        JS_STATE,
        lambda s: s["errors"] or s["dialog"] or (s["runAll"] == "true" and s["kernel"] == "idle"),
        timeout,
        f"{command} from cell {index} to finish",
    )
    assert not state["dialog"] and not state["errors"], state


def _events_shown(panel: Any) -> int:
    match = re.search(r"(\d+) events? · (live|stopped)", panel.inner_text())
    return int(match.group(1)) if match else -1


@pytest.mark.timeout(600)
def test_the_agent_notebook_previews_streams_and_executes_on_a_click(
    browser: Any, tmp_path: Path
) -> None:
    log: list[str] = []
    with jupyter_lab(tmp_path) as (base, token):
        page = open_notebook(browser, base, token, AGENT_NOTEBOOK, log)
        try:
            # everything up to the approve cell: create, upload, thread, generate, answer,
            # preview, ask, change, what the recipe changed
            page.evaluate(JS_RUN_PART, [APPROVE_CELL, "notebook:run-all-above"])
            thread = page.locator(OUTPUT).filter(has_text="Agent thread · Acme Corp (agent)")
            visible(thread.filter(has_text="live"), "the live thread panel", 120)
            visible(thread.filter(has_text="asks 3 questions"), "the agent's questions", 120)
            _run_part(page, APPROVE_CELL, "notebook:run-all-above")

            approve = page.get_by_role("button", name="Approve and execute")
            visible(approve, "the preview widget", 60)
            view = page.locator(OUTPUT).filter(has=approve)
            counts = view.inner_text()  # after the Change: 3 more emails, 3 fewer flagged
            assert "Preview: 3 templates · 26 rows · 21 valid · 5 flagged" in counts, counts
            view.get_by_role("tab", name=re.compile(r"^Contacts · 14 rows")).click()
            invalid = view.locator("td[data-invalid='1']")
            visible(invalid, "the invalid cells, highlighted")
            assert invalid.first.get_attribute("title")  # the error on hover
            assert view.locator("td[data-changed='1']").count() == 3  # the Change, marked
            _both_themes(page, view, "preview-widget")

            before = _events_shown(thread.first)
            assert "26 rows inserted" not in thread.first.inner_text()
            approve.click()  # the kernel is idle: the click runs the execute
            done = page.locator(OUTPUT).filter(has_text="Executed: completed")
            visible(done.filter(has_text="26 inserted"), "the execute, from the click", 120)
            # No cell runs now: the thread panel, streaming in the background, shows the
            # execute's events as they come (its count moves, its completion appears).
            visible(thread.filter(has_text="26 rows inserted, 5 flagged"), "the execute, live")
            assert _events_shown(thread.first) > before
            _both_themes(page, thread.first, "thread-panel")

            _run_part(page, APPROVE_CELL, "notebook:run-all-below")  # approve() is the click's
            texts = "\n".join(output_texts(page))
            assert "every previewed row landed" in texts
            assert "execute run " in texts and "(completed)" in texts  # approve() returned it
            _no_markup_or_traceback(page)
        except BaseException:
            _fail_with(log)
            raise
        finally:
            screenshot(page, ARTIFACTS / "04_agent_migration.png")
