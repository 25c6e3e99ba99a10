"""``client.migrations`` over HTTP against the sandbox: the Generation-2 story through the
client (create, upload, generate, answer, clarify, update, execute, export, thread), and the
promises of each call (idempotent create, generate not re-run silently, typed runs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import migkit
from migkit.errors import BadRequest, ExternalIdConflict, NotFound, UsageError
from migkit.migration_models import MigrationRun
from migkit.resources.migrations import derived_migration_id
from migkit.sandbox import Sandbox
from tests.helpers import CONTACTS, SAMPLES
from tests.helpers_client_gen2 import clean_contacts
from tests.helpers_gen2 import Gen2

Make = Callable[..., migkit.Client]


@pytest.fixture(scope="module")
def story(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sample workbook's agent story, through one client."""
    from tests.conftest import TINY_POLL

    ledger = tmp_path_factory.mktemp("story") / "ledger.db"
    with migkit.Client(
        sandbox.api_key, sandbox.base_url, ledger=ledger, progress=False, poll=TINY_POLL
    ) as client:
        m = client.migrations.create("Story Corp")
        files = client.migrations.upload(m, SAMPLES / "agent_workbook.xlsx")
        blocked = client.migrations.generate(m).wait()
        asked = {q.prompt.split()[1]: q for q in blocked.questions}
        answered = blocked.answer(
            {
                asked["Tier"].id: asked["Tier"].options[0],  # an Option: its label is sent
                asked["Status"].id: "open",
                asked["Stage"].id: "Keep them flagged",
            }
        ).wait()
        again = client.migrations.generate(m)
        preview = client.migrations.preview(m)
        clarified = client.migrations.clarify(m, "How many contacts are flagged?")
        updated = client.migrations.update(m, "use Work Email for missing Email").wait()
        executed = client.migrations.execute(m).wait()
        executed_again = client.migrations.execute(m)
        frames = {
            f: client.migrations.export_frame(m, "contacts", filter=f)
            for f in ("valid", "all", "invalid")
        }
        thread = client.migrations.thread(m, include="tools")
        listed = client.migrations.files(m)
        return {
            "migration": m,
            "files": files,
            "listed": listed,
            "blocked": blocked,
            "answered": answered,
            "again": again,
            "preview": preview,
            "clarified": clarified,
            "updated": updated,
            "executed": executed,
            "executed_again": executed_again,
            "frames": frames,
            "thread": thread,
            "requests": client.requests_sent,
        }


def test_generate_waits_until_blocked_with_typed_questions(story: dict[str, Any]) -> None:
    blocked: MigrationRun = story["blocked"]
    assert blocked.status == "blocked" and blocked.waiting and not blocked.done
    assert blocked.kind == "generate"
    assert [q.prompt.split()[1] for q in blocked.questions] == ["Tier", "Status", "Stage"]
    assert all(q.allow_custom for q in blocked.questions)
    assert "run.answer(" in str(blocked)


def test_answers_by_option_label_and_text_give_a_preview(story: dict[str, Any]) -> None:
    assert story["answered"].status == "awaiting_approval"
    assert story["answered"].id == story["blocked"].id


def test_a_second_generate_for_the_same_files_returns_the_run_made(story: dict[str, Any]) -> None:
    assert story["again"].id == story["blocked"].id
    assert story["again"].status == "awaiting_approval"


def test_preview_gives_frames_invalid_cells_and_truncation(story: dict[str, Any]) -> None:
    preview = story["preview"]
    assert set(preview) == {"accounts", "contacts", "deals"}
    contacts = preview["contacts"]
    assert list(contacts.columns) == CONTACTS and len(contacts) == 14
    cells = preview.invalid_cells
    assert {"row", "column", "error"} <= set(cells.columns)
    assert set(cells["column"]) >= {"Email"}
    assert preview.truncated is False


def test_clarify_returns_the_agents_answer_text(story: dict[str, Any]) -> None:
    text = story["clarified"]
    assert 'You asked: "How many contacts are flagged?"' in text
    assert "contacts: 14 rows" in text and "Nothing was changed." in text


def test_update_and_execute_end_as_documented(story: dict[str, Any]) -> None:
    assert story["updated"].status == "awaiting_approval" and story["updated"].kind == "update"
    executed = story["executed"]
    assert executed.status == "completed" and executed.report is not None
    assert executed.report.inserted == 26
    assert story["executed_again"].id == executed.id  # the same preview is never run twice


def test_exports_are_frames_that_add_up(story: dict[str, Any]) -> None:
    frames = story["frames"]
    assert list(frames["all"].columns) == CONTACTS
    assert len(frames["all"]) == len(frames["valid"]) + len(frames["invalid"])
    assert len(frames["invalid"]) == 3
    assert frames["invalid"].attrs["migkit"]["filter"] == "invalid"


def test_the_thread_is_a_frame_indexed_by_sequence(story: dict[str, Any]) -> None:
    thread: pd.DataFrame = story["thread"]
    assert thread.index.name == "sequence" and thread.index.is_monotonic_increasing
    assert list(thread.columns) == ["type", "created_at", "run_id", "kind", "text", "data"]
    assert {"tool_call", "tool_result", "request_input", "completed"} <= set(thread["type"])
    runs = thread.dropna(subset=["run_id"])
    assert set(runs["kind"]) == {"generate", "clarify", "update", "execute"}


def test_upload_lists_the_file_and_never_sends_the_key_to_storage(story: dict[str, Any]) -> None:
    (uploaded,) = story["files"]
    assert uploaded.name == "agent_workbook.xlsx" and uploaded.status == "uploaded"
    assert [f.storage_path for f in story["listed"]] == [uploaded.storage_path]


def test_create_derives_an_external_id_and_is_idempotent(make_client: Make) -> None:
    client = make_client(ledger=None)
    first = client.migrations.create("Derived Inc", templates=["contacts"])
    second = client.migrations.create("Derived Inc", templates=["contacts"])
    assert first.id == second.id
    assert first.external_id == derived_migration_id("Derived Inc", None, ["contacts"])
    assert first.slugs == ["contacts"]
    assert client.migrations.find(first.external_id or "").id == first.id  # type: ignore[union-attr]
    assert client.migrations.get(first.id).name == "Derived Inc"
    assert client.migrations.find("no-such-external-id") is None


def test_the_same_external_id_with_another_source_is_a_conflict(
    make_client: Make, gen2: Gen2
) -> None:
    client = make_client()
    client.migrations.create("Src", external_id="g2c-src-1")
    source = gen2.get("/sources").json()["sources"][0]["name"]
    with pytest.raises(ExternalIdConflict):
        client.migrations.create("Src", source, external_id="g2c-src-1")


def test_upload_takes_dataframes_bytes_and_named_sources(make_client: Make) -> None:
    client = make_client()
    m = client.migrations.create("Uploads", external_id="g2c-uploads")
    frame = pd.DataFrame([["a@x.io", "A", "B", "", "Open", "Acme"]], columns=CONTACTS)
    before = frame.copy()
    sent = client.migrations.upload(m, {"frame.csv": frame, "raw.csv": clean_contacts("raw")})
    assert [f.name for f in sent] == ["frame.csv", "raw.csv"]
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is untouched
    listed = client.migrations.files(m)
    assert [(f.name, f.status) for f in listed] == [
        ("frame.csv", "uploaded"),
        ("raw.csv", "uploaded"),
    ]
    assert listed[1].size == len(clean_contacts("raw"))
    with pytest.raises(UsageError):
        client.migrations.upload(m, clean_contacts("x"))  # bytes need a name


def test_generate_with_new_files_runs_again_and_force_reruns(make_client: Make) -> None:
    client = make_client()
    m = client.migrations.create("Regen", external_id="g2c-regen")
    client.migrations.upload(m, {"a.csv": clean_contacts("a")})
    first = client.migrations.generate(m).wait()
    assert first.status == "awaiting_approval"
    assert client.migrations.generate(m).id == first.id
    forced = client.migrations.generate(m, force=True).wait()
    assert forced.id != first.id and forced.status == "awaiting_approval"
    client.migrations.upload(m, {"b.csv": clean_contacts("b")})
    fresh = client.migrations.generate(m)
    assert fresh.id not in (first.id, forced.id)
    fresh.wait()


def test_errors_name_what_to_do(make_client: Make) -> None:
    client = make_client()
    m = client.migrations.create("Errors", external_id="g2c-errors")
    with pytest.raises(BadRequest, match="Upload a file"):
        client.migrations.generate(m)
    with pytest.raises(NotFound):
        client.migrations.preview(m)
    with pytest.raises(UsageError, match="message"):
        client.migrations.update(m, "  ")
    with pytest.raises(UsageError, match="filter"):
        client.migrations.export_frame(m, "contacts", filter="flagged")


def test_cancel_a_blocked_run(make_client: Make) -> None:
    client = make_client()
    m = client.migrations.create("Cancel", external_id="g2c-cancel")
    client.migrations.upload(m, SAMPLES / "agent_workbook.xlsx")
    blocked = client.migrations.generate(m).wait()
    assert blocked.status == "blocked"
    canceled = blocked.cancel()
    assert canceled.status == "canceled" and canceled.done
    assert client.migrations.cancel(canceled).status == "canceled"  # a repeat: the 409 is ours
