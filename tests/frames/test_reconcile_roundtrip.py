"""Reconciliation against real imports: the messy samples through the sandbox and back."""

from __future__ import annotations

import pandas as pd
import pytest

import migkit
from tests.helpers import SAMPLES, new_company


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(SAMPLES / name, dtype="str", keep_default_na=False)


def finished(client: migkit.Client, run: migkit.Run, **decision: object) -> migkit.Run:
    """Wait for ``run``; a pause gets ``decision`` (default: reject, keeping flagged rows)."""
    run = client.imports.wait(run)
    if run.status == "needs_attention":
        run = client.imports.wait(client.imports.decide(run, **(decision or {"reject": True})))  # type: ignore[arg-type]
    assert run.status == "completed", run
    return run


FILTERS = ("valid", "flagged", "all")


def accepted(
    client: migkit.Client, rows: pd.DataFrame
) -> tuple[migkit.Run, dict[str, pd.DataFrame]]:
    """Import ``rows`` into a new Contacts company, accept the suggested fix, and return the
    paused run (it carries the patch) and the valid, flagged and all exports."""
    company = new_company(client, "Contacts")
    paused = client.imports.wait(client.imports.create(company, frame=rows))
    assert paused.status == "needs_attention"
    finished(client, client.imports.decide(paused, accept=True))
    exports = {f: client.exports.frame(company, "Contacts", filter=f) for f in FILTERS}
    return paused, exports


@pytest.fixture
def imported(client: migkit.Client) -> tuple[migkit.Company, pd.DataFrame, pd.DataFrame]:
    company = new_company(client, "Accounts", "Contacts")
    finished(client, client.imports.create(company, files=[SAMPLES / "accounts.csv"]))
    finished(client, client.imports.create(company, files=[SAMPLES / "contacts.csv"]))
    return company, read("accounts.csv"), read("contacts.csv")


def test_every_source_row_is_accounted_for_with_a_reason(
    client: migkit.Client, imported: tuple[migkit.Company, pd.DataFrame, pd.DataFrame]
) -> None:
    company, accounts, contacts = imported
    valid = client.exports.frame(company, "Contacts")
    flagged = client.exports.frame(company, "Contacts", filter="flagged")
    validation = migkit.validate(
        contacts,
        client.templates.get("Contacts"),
        links={"Account": accounts["Company Name"]},
    )
    report = migkit.reconcile(contacts, valid, key="Email", flagged=flagged, validation=validation)
    assert report.rows == (200, 175)
    assert report.matched + len(report.missing) == 200
    assert report.extra.empty and report.changed.empty  # values land exactly as sent
    assert report.columns["E-mail"] == "Email" and report.columns["Company"] == "Account"
    reasons = report.missing["reason"].value_counts().to_dict()
    # 25 flagged rows, all in the flagged export, which outranks every other reason: 3 with an
    # empty Email (found as whole rows, having no key), 3 repeating an earlier Email, and 19
    # more (the local prediction names the problem of every one of them)
    assert reasons == {"flagged by the server": 25}
    server_flagged = report.missing[report.missing["reason"] == "flagged by the server"]
    assert (server_flagged["detail"] != "").all()
    no_flagged = migkit.reconcile(contacts, valid, key="Email", validation=validation)
    assert no_flagged.missing["reason"].value_counts().to_dict() == {
        "predicted invalid locally": 19,
        "empty key": 3,
        "duplicate key": 3,
    }
    assert validation.predicted_flagged_rows == 25 == len(flagged)


def test_the_all_export_matches_the_source_cell_for_cell(
    client: migkit.Client, imported: tuple[migkit.Company, pd.DataFrame, pd.DataFrame]
) -> None:
    company, _, contacts = imported
    everything = client.exports.frame(company, "Contacts", filter="all")
    report = migkit.reconcile(contacts, everything)  # no key: whole rows
    assert report.matched == 200 and report.ok
    keyed = migkit.reconcile(contacts, everything, key="Email")
    assert keyed.changed.empty
    assert len(keyed.duplicates) == 12  # 3 emails appear twice, on both sides
    assert set(keyed.duplicates["side"]) == {"source", "export"}


def test_an_accepted_patch_explains_changed_cells_and_deleted_rows(
    client: migkit.Client,
) -> None:
    company = new_company(client, "Contacts")
    rows = pd.DataFrame(
        {
            "Email": ["ann@x.io", "bob@x.io", "", "dee@x.io"],
            "First Name": ["Ann", "Bob", "Cy", "Dee"],
            "Status": ["Open", "open", "Open", "Closed"],
            "Account": ["Acme"] * 4,
        }
    )
    paused = client.imports.wait(client.imports.create(company, frame=rows))
    assert paused.status == "needs_attention"
    finished(client, client.imports.decide(paused, accept=True))
    export = client.exports.frame(company, "Contacts")
    report = migkit.reconcile(
        rows,
        export,
        key="First Name",
        validation=migkit.validate(rows, client.templates.get("Contacts")),
        patch=paused,
    )
    assert report.changed[
        ["First Name", "column", "source", "export", "reason"]
    ].values.tolist() == [["Bob", "Status", "open", "Open", "set by the accepted patch"]]
    assert report.missing["First Name"].tolist() == ["Cy"]
    assert report.missing["reason"].tolist() == ["deleted by an accepted patch"]


def test_diff_of_two_exports_a_change_apart(client: migkit.Client) -> None:
    company = new_company(client, "Accounts")
    first = [{"Name": "Acme", "Domain": "acme.com"}, {"Name": "Globex", "Tier": "Gold"}]
    finished(client, client.imports.create(company, rows=first))
    before = client.exports.frame(company, "Accounts")
    finished(client, client.imports.create(company, rows=[{"Name": "Initech", "Tier": "Silver"}]))
    after = client.exports.frame(company, "Accounts")
    diff = migkit.diff_exports(before, after, key="Name")
    assert diff.added["Name"].tolist() == ["Initech"]
    assert diff.removed.empty and diff.changed.empty and diff.matched == 2


def test_each_missing_reason_from_a_real_run_in_a_fixed_precedence(
    client: migkit.Client,
) -> None:
    rows = pd.DataFrame(
        {
            "Email": ["ann@x.io", "bob@x.io", "", "x@y", "ann@x.io", "fay@x.io"],
            "First Name": ["Ann", "Bob", "Cy", "Dee", "Eve", ""],
            "Status": ["Open", "open", "Open", "Open", "Open", "Open"],
            "Account": ["Acme"] * 6,
        }
    )
    paused, exports = accepted(client, rows)
    valid, flagged, everything = (exports[f] for f in FILTERS)
    validation = migkit.validate(rows, client.templates.get("Contacts"))

    def reasons(**evidence: object) -> dict[str, str]:
        report = migkit.reconcile(rows, valid, key="First Name", **evidence)  # type: ignore[arg-type]
        return dict(zip(report.missing["First Name"], report.missing["reason"], strict=True))

    # Every piece of evidence: the server's flagged export outranks everything, then the
    # accepted patch's deletions (Cy has no Email, the last row no First Name: its key)
    full = reasons(flagged=flagged, validation=validation, patch=paused)
    assert full == {
        "Cy": "deleted by an accepted patch",
        "Dee": "flagged by the server",  # x@y: a pattern miss the patch never deletes
        "Eve": "flagged by the server",  # repeats ann@x.io
        "": "deleted by an accepted patch",
    }
    # ... and the evidence is true: deleted rows are in no export, flagged ones in flagged
    assert "Cy" not in set(everything["First Name"])
    assert everything["First Name"].notna().all()
    assert set(flagged["First Name"]) == {"Dee", "Eve"}
    # Without the flagged export, the local prediction explains the rest
    assert reasons(validation=validation, patch=paused) == {
        "Cy": "deleted by an accepted patch",
        "Dee": "predicted invalid locally",
        "Eve": "predicted invalid locally",
        "": "deleted by an accepted patch",
    }
    # Without evidence, only what the frames themselves show: an empty key, a repeated key
    bare = migkit.reconcile(rows, valid, key="Email")
    assert dict(zip(bare.missing["First Name"], bare.missing["reason"], strict=True)) == {
        "Cy": "empty key",
        "Dee": "unknown",
        "Eve": "duplicate key",
        "": "unknown",
    }


def test_the_review_notebooks_reasons_match_what_the_patch_deleted(client: migkit.Client) -> None:
    # notebooks/02: contacts.csv, the suggested fix accepted, reconciled with the prediction
    # and the patch. The patch deletes the 3 rows missing Email and 1 missing First Name.
    contacts = read("contacts.csv")
    paused, exports = accepted(client, contacts)
    valid, flagged, everything = (exports[f] for f in FILTERS)
    prediction = migkit.validate(contacts, client.templates.get("Contacts"))
    report = migkit.reconcile(contacts, valid, key="Email", validation=prediction, patch=paused)
    missing = report.missing
    deleted = missing[missing["reason"] == "deleted by an accepted patch"]
    assert len(deleted) == 4 == len(contacts) - len(everything)
    assert deleted["E-mail"].fillna("").eq("").sum() == 3
    assert "empty key" not in set(missing["reason"])
    bad_emails = missing[missing["E-mail"].isin(["x@y", "jane.doe@", "bob at example.com"])]
    assert set(bad_emails["reason"]) == {"predicted invalid locally"}
    assert not any("question counted" in note for note in report.notes)
    with_flagged = migkit.reconcile(
        contacts, valid, key="Email", validation=prediction, patch=paused, flagged=flagged
    )
    by_reason = with_flagged.missing["reason"].value_counts().to_dict()
    assert by_reason == {"flagged by the server": len(flagged), "deleted by an accepted patch": 4}
