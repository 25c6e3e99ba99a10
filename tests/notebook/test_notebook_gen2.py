"""Generation 2 in the notebook, against the real sandbox: the preview widget (tabs, invalid
cells, Approve and execute, Ask, Change), the thread panel (live from the stream), the
review widget answering a blocked agent run, and the credentials form.

Buttons are clicked in-process (ipywidgets fires ``on_click`` from ``.click()``);
``tests/browser/test_browser.py`` clicks them in JupyterLab.
"""

from __future__ import annotations

import re
import threading
import uuid
from html import escape
from typing import Any

import pytest

import migkit
import migkit.notebook
from migkit.notebook.agent_review import AgentReview
from migkit.notebook.credentials import CredentialsForm
from migkit.notebook.panel import WIDGET_VIEW
from migkit.notebook.preview_widget import PreviewWidget
from migkit.notebook.review import DECISIONS
from migkit.notebook.thread_panel import ThreadPanel, event_html
from migkit.sandbox import Sandbox
from tests.helpers import SAMPLES
from tests.notebook.test_notebook import MARKUP, bundle

WORKBOOK = SAMPLES / "agent_workbook.xlsx"
ANSWERS = {"Tier": "Map them all to 'Gold'", "Status": "open", "Stage": "Keep them flagged"}


def blocked_migration(client: migkit.Client, name: str = "Acme") -> tuple[Any, Any]:
    """A migration of the sample workbook whose generate waits on three questions."""
    migration = client.migrations.create(f"{name} {uuid.uuid4().hex[:8]}")
    client.migrations.upload(migration, [WORKBOOK])
    run = client.migrations.generate(migration).wait()
    assert run.status == "blocked", run
    return migration, run


def answers_for(run: Any) -> dict[str, str]:
    return {q.id: ANSWERS[q.prompt.split()[1]] for q in run.questions}


def previewed(client: migkit.Client, name: str = "Acme") -> Any:
    migration, run = blocked_migration(client, name)
    assert run.answer(answers_for(run)).wait().status == "awaiting_approval"
    return migration


# -- the review widget, for a blocked agent run --------------------------------------------------
def test_review_answers_a_blocked_agent_run_and_shows_the_preview_is_ready(
    client: migkit.Client,
) -> None:
    _, run = blocked_migration(client, "Review")
    widget = AgentReview(run)
    assert [c.question.id for c in widget.questions] == [q.id for q in run.questions]
    control = widget.questions[0]
    assert escape(run.questions[0].prompt) in control.children[0].value
    assert "0 rows" not in control.children[0].value  # an agent question names no rows
    assert "Map them all to 'Gold'" in control.options.options
    before = bundle(widget)
    assert "Tier" in before["text/plain"] and WIDGET_VIEW in before
    for control in widget.questions:
        value = ANSWERS[control.question.prompt.split()[1]]
        if value in control.options.options:
            control.options.value = value
        else:
            control.custom.value = value  # "open": typed, as allowCustom lets a person
    widget.submit_button.click()
    assert widget.run.status == "awaiting_approval"
    assert DECISIONS[run.id].button == "Submit answers"
    after = bundle(widget)
    assert WIDGET_VIEW not in after  # decided: only the static state is left
    assert "Decision: Submit answers" in after["text/plain"]
    assert "The preview is ready." in after["text/plain"]
    assert not MARKUP.search(after["text/plain"])


def test_review_outside_jupyter_prints_the_agents_questions(
    client: migkit.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    _, run = blocked_migration(client, "Outside")
    assert migkit.notebook.review(run) is None
    out = capsys.readouterr().out
    assert "(blocked)" in out and "[q1]" in out and "run.answer(" in out


def test_review_needs_an_answer_and_a_free_form_answer_is_sent_as_text(
    client: migkit.Client,
) -> None:
    _, run = blocked_migration(client, "Free form")
    widget = AgentReview(run)
    assert widget.submit() is None
    assert "Choose an option" in widget.said
    widget.questions[0].options.value = widget.questions[0].options.options[0]
    assert widget.said == ""  # picking an option clears the message
    widget.free.value = 'map "Platinum" to "Gold" in Tier'
    assert widget.answers() == widget.free.value  # free text wins: sent as a string
    rest = widget.submit()
    assert rest is not None and rest.status in ("blocked", "awaiting_approval")
    said = [
        str(e.text or e.data.get("answers"))
        for e in client.migrations.events(run.migration_id)
        if e.type == "message" and e.data.get("role") == "user"
    ]
    assert said == [widget.decision.sent if widget.decision else widget.earlier[-1].sent]
    assert "Platinum" in said[0]  # the free-form string reached the agent as the answer


# -- the preview widget --------------------------------------------------------------------------
def test_preview_widget_has_a_tab_per_template_with_invalid_cells_and_their_errors(
    client: migkit.Client,
) -> None:
    migration = previewed(client, "Tabs")
    preview = client.migrations.preview(migration)
    widget = PreviewWidget(client, migration, preview)
    assert len(widget.tabs.children) == len(preview.sheets) == 3
    assert [t.split(" · ")[0] for t in widget.tabs.titles] == ["Accounts", "Contacts", "Deals"]
    assert widget.tabs.titles[1] == "Contacts · 14 rows · 6 flagged"
    contacts = widget.tabs.children[1].value
    cells = preview.sheets["contacts"].invalid_cells
    assert contacts.count("data-invalid='1'") == cells[["row", "column"]].drop_duplicates().shape[0]
    first = cells.iloc[0]
    assert f"title='{escape(first['error'], quote=True)}" in contacts  # the error on hover
    counts = widget.counts.value
    assert f"{preview.flagged_rows:,} flagged" in counts and f"{preview.rows:,} rows" in counts
    assert [
        b.description for b in (widget.approve_button, widget.ask_button, widget.change_button)
    ] == [
        "Approve and execute",
        "Ask",
        "Change",
    ]
    plain = bundle(widget)["text/plain"]
    assert "Contacts: 14 rows" in plain and not MARKUP.search(plain)


def test_ask_shows_the_agents_answer_in_place_and_changes_nothing(client: migkit.Client) -> None:
    migration = previewed(client, "Ask")
    widget = PreviewWidget(client, migration)
    before = widget.preview
    widget.question.value = "How many contacts are flagged?"
    widget.ask_button.click()
    assert "You asked" in widget.answer_text and "contacts" in widget.answer_text
    assert escape(widget.answer_text[:40]) in widget.answer.value
    assert widget.question.value == ""
    assert client.migrations.preview(migration).frames["contacts"].equals(before.frames["contacts"])
    assert "Agent: You asked" in bundle(widget)["text/plain"]


def test_change_replaces_the_preview_and_marks_what_changed(client: migkit.Client) -> None:
    migration = previewed(client, "Change")
    widget = PreviewWidget(client, migration)
    old = widget.preview
    widget.instruction.value = "use Work Email for missing Email"
    widget.change_button.click()
    assert widget.preview is not old
    change = widget.changes["contacts"]
    assert sorted(column for _, column in change.cells) == ["Email"] * 3
    assert all(was is None for was in change.cells.values())  # the emails were empty
    assert not widget.changes["accounts"]
    contacts = widget.tabs.children[1].value
    assert contacts.count("data-changed='1'") == 3 and "changed; was empty" in contacts
    assert widget.tabs.titles[1] == "Contacts · 14 rows · 3 flagged · changed"
    assert "Contacts: 3 cells changed" in widget.said
    assert "changed: 3 cells changed" in bundle(widget)["text/plain"]


def test_an_unreadable_change_keeps_the_preview_and_says_the_agent_asks(
    client: migkit.Client,
) -> None:
    migration = previewed(client, "Unreadable")
    widget = PreviewWidget(client, migration)
    old = widget.preview
    assert widget.change("please make it nicer somehow") is old
    assert widget.blocked is not None and widget.blocked.status == "blocked"
    assert "did not change the preview" in widget.said and "review(run)" in widget.said


def test_approve_and_execute_runs_once_and_leaves_the_static_state(client: migkit.Client) -> None:
    migration = previewed(client, "Approve")
    widget = PreviewWidget(client, migration)
    widget.approve_button.click()
    run = widget.executed
    assert run is not None and run.status == "completed"
    assert run.report is not None and run.report.inserted == 26
    assert widget.approve() is run  # a second approval is the same run, never a second import
    assert len([r for r in client.migrations.runs(migration) if r.kind == "execute"]) == 1
    assert widget.approve_button.disabled and widget.change_button.disabled
    saved = bundle(widget)
    assert WIDGET_VIEW not in saved
    assert "Executed: completed" in saved["text/plain"] and "26 inserted" in saved["text/plain"]


def test_preview_cells_are_escaped(client: migkit.Client) -> None:
    migration = client.migrations.create("Escape", templates=["accounts"])
    client.migrations.upload(
        migration, {"accounts.csv": b"Name,Domain\n<script>alert(1)</script>,x' onmouseover='y\n"}
    )
    client.migrations.generate(migration).wait()
    widget = PreviewWidget(client, migration)
    html = widget.tabs.children[0].value + bundle(widget)["text/html"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "x' onmouseover" not in html


# -- the thread panel ----------------------------------------------------------------------------
def test_thread_panel_shows_events_as_the_stream_delivers_them(client: migkit.Client) -> None:
    migration = client.migrations.create("Thread live")
    panel = migkit.notebook.thread_panel(client, migration, include="tools")
    assert panel.following and "live" in panel.header.value
    client.migrations.upload(migration, [WORKBOOK])
    run = client.migrations.generate(migration)
    asked = panel.wait_for(lambda e: e.type == "request_input", timeout=60)
    assert asked is not None  # arrived while the run went on, from the background thread
    assert "asks 3 questions" in panel.feed.value
    assert "<details" in panel.feed.value  # tool calls are folded
    run.wait()
    panel.stop()
    assert not panel.following
    saved = bundle(panel)
    assert WIDGET_VIEW not in saved
    lines = saved["text/plain"].splitlines()
    assert any("· Reading your files" in line for line in lines)
    assert any("→ read_file" in line for line in lines)
    sequences = [e.sequence for e in panel.events]
    assert sequences == sorted(set(sequences))  # in order, none twice
    assert not MARKUP.search(saved["text/plain"])


def test_thread_panel_renders_each_kind_of_event_and_escapes_the_server() -> None:
    panel = ThreadPanel()
    events = [
        {"sequence": 1, "type": "message", "data": {"role": "agent", "text": "<b>hi</b>"}},
        {"sequence": 2, "type": "tool_call", "data": {"tool": "edit", "input": {"a": "<i>"}}},
        {"sequence": 3, "type": "error", "data": {"error": "boom"}},
        {"sequence": 3, "type": "error", "data": {"error": "boom"}},  # a repeat: shown once
        {"sequence": 4, "type": "request_input", "data": {"questions": [{"question": "Q?"}]}},
    ]
    for e in events:
        panel.add(e)
    assert len(panel.events) == 4
    html = panel.feed.value
    assert "<b>hi</b>" not in html and "&lt;b&gt;hi&lt;/b&gt;" in html and "&lt;i&gt;" in html
    assert "✗ boom" in html and "asks 1 question: Q?" in html
    assert event_html(events[1]).startswith("<details")


def test_thread_panel_says_when_the_stream_stops() -> None:
    def broken() -> Any:
        yield {"sequence": 1, "type": "status", "data": {"message": "Reading"}}
        raise migkit.TransportError("GET /thread/stream: connection refused")

    panel = ThreadPanel()
    reader = panel.follow(broken())
    reader.join(5)
    assert "connection refused" in panel.error and "The stream stopped" in panel.plain_text()


# -- the credentials form ------------------------------------------------------------------------
@pytest.fixture
def credential_run(client: migkit.Client) -> Any:
    migration = client.migrations.create(f"Live source {uuid.uuid4().hex[:8]}", "Spreadsheet")
    client.migrations.connect_source(migration, "sandbox_crm")
    run = client.migrations.generate(migration).wait()
    assert run.needs_credentials, run
    return run


def test_credentials_form_uses_password_fields_and_never_shows_the_secret(
    credential_run: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import ipywidgets as widgets

    form = CredentialsForm(credential_run)
    assert isinstance(form.fields["api_token"], widgets.Password)
    secret = "tok-SECRET-4242"
    form.fill(api_token=secret)
    run = form.send()
    assert run.status in ("awaiting_approval", "blocked"), run
    assert form.fields["api_token"].value == ""  # cleared after sending
    saved = bundle(form)
    shown = saved["text/plain"] + saved["text/html"] + form.message.value + repr(form.fields)
    assert secret not in shown + capsys.readouterr().out
    assert "Credentials accepted" in saved["text/plain"]


def test_a_refused_credential_is_cleared_and_the_error_never_holds_it(credential_run: Any) -> None:
    form = CredentialsForm(credential_run)
    form.send_button.click()  # nothing typed
    assert "fill in the fields" in form.said
    credential_run.cancel()
    secret = "tok-REFUSED-777"
    form.fill(api_token=secret)
    with pytest.raises(migkit.MigkitError) as caught:
        form.send()
    assert form.fields["api_token"].value == ""
    assert secret not in str(caught.value) + form.said + bundle(form)["text/plain"]
    assert form.said.startswith("Could not send the credentials")


def test_guidance_links_are_only_http(credential_run: Any) -> None:
    from migkit.notebook.credentials import _safe_link

    assert _safe_link({"label": "x", "url": "javascript:alert(1)"}) == "x"
    assert "href='https://help.example.com/a'" in _safe_link(
        {"label": "docs", "url": "https://help.example.com/a"}
    )
    form = CredentialsForm(credential_run)
    assert re.search(r"api_token", form.plain_text())


def test_widgets_are_drawn_from_the_notebook_thread_safely(sandbox: Sandbox) -> None:
    # the thread panel takes events from another thread while the main thread reads it
    panel = ThreadPanel()
    done = threading.Event()

    def feed() -> None:
        for n in range(1, 301):
            panel.add({"sequence": n, "type": "status", "data": {"message": f"step {n}"}})
        done.set()

    threading.Thread(target=feed).start()
    while not done.is_set():
        panel.plain_text()
    assert len(panel.events) == 300 and panel.plain_text().count("step") == 300
