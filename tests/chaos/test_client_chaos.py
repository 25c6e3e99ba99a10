"""Chaos tests for ``migkit.Client``: never twice, never lost.

A dedicated sandbox injects the request faults of ``FAULTS`` (500 before and after the handler
commits, 429 bursts, connections dropped before and after the commit, slow responses). Through
them, one shared client (one thread per company) creates several companies and runs 50+
imports, inline rows and uploaded files mixed. Afterwards a *fault-free* sandbox is started on
the same database file, and its EXT lists are the truth: every company exists once, every
payload has exactly one import run (``completed``), every submitted row was exported exactly
once, and no exception reached the caller.

The crash variants simulate a process dying mid-way: a new client instance on the same ledger
file recovers what the first one left behind (``imports.recover()``, or re-running the same
``create`` calls) without losing a run or starting a second one.

The fault draws are seeded, but several threads share the injector, so which request meets
which fault changes with thread timing; the assertions hold for every order. Each test prints
how many requests the client spent (``pytest -s`` shows the numbers).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

import migkit
import migkit.sandbox
from migkit.ledger import fingerprint
from migkit.resources.imports import canonical
from migkit.sandbox import Sandbox
from tests.helpers import CONTACTS, Api, csv_bytes, records

KEY = "sk_chaos_0123456789abcdef"
FAULTS = (
    "error_before=0.1,error_after=0.1,burst_429=0.05,drop_before=0.05,drop_after=0.1,"
    "slow=0.05,slow_seconds=0.2,seed=1234"
)
RETRY = migkit.RetryPolicy(attempts=10, backoff_start=0.01, backoff_cap=0.05, jitter=0.01)
POLL = migkit.PollSchedule(first=0.02, growth=0, cap=0.05, jitter=0)
ROWS_PER_IMPORT = 3
FILE_EVERY = 4  # every 4th import of a company is an uploaded file, the others inline rows
USER_RERUNS = 3  # how often a call that raised is re-run before the script gives up
T = TypeVar("T")

pytestmark = pytest.mark.timeout(120)


# -- sandboxes and clients ---------------------------------------------------------------------
def serve(db: Path, *, port: int = 0, faults: str | None = None, workers: int = 2) -> Sandbox:
    """A sandbox on the SQLite file ``db``: instant run steps, no server-side rate limit
    (the faults bring their own 429s). ``workers=0`` freezes runs in ``queued``."""
    return migkit.sandbox.start(
        port=port,
        db=str(db),
        api_key=KEY,
        faults=faults,
        step_seconds=0,
        rate_limit=100_000,
        workers=workers,
    )


def new_client(base_url: str, ledger: Path) -> migkit.Client:
    """A client with fast retries and polls, no progress bars and no client-side limiter."""
    return migkit.Client(
        KEY,
        base_url,
        ledger=ledger,
        retry=RETRY,
        poll=POLL,
        progress=False,
        rate_limit=None,
    )


# -- what gets imported ------------------------------------------------------------------------
@dataclass(frozen=True)
class Payload:
    """One import: a few Contacts rows with globally unique emails, inline or as a file."""

    tag: str
    file: Path | None  # the CSV to upload, or None for inline rows

    @property
    def emails(self) -> list[str]:
        return [f"{self.tag}-{n}@chaos.example" for n in range(ROWS_PER_IMPORT)]

    def rows(self) -> list[dict[str, str]]:
        return [
            {
                "Email": email,
                "First Name": "Chaos",
                "Last Name": self.tag,
                "Phone": "+1 555 0100",
                "Status": "Open",
                "Account": "Acme",
            }
            for email in self.emails
        ]

    def body(self, sheet_id: str) -> dict[str, Any]:
        """The import body the client builds for inline rows (without the key)."""
        return {"rows": self.rows(), "sheet_id": sheet_id}

    def submit(self, client: migkit.Client, company: migkit.Company) -> migkit.Run:
        if self.file is not None:
            return client.imports.create(company, files=[self.file])
        return client.imports.create(company, rows=self.rows(), sheet="Contacts")


def payloads(root: Path, company: int, count: int) -> list[Payload]:
    """``count`` payloads for company number ``company``: inline rows, except that every
    ``FILE_EVERY``-th one is written under ``root`` as a ``contacts.csv`` to upload."""
    made = []
    for number in range(count):
        payload = Payload(f"co{company}-imp{number:02d}", None)
        if number % FILE_EVERY == FILE_EVERY - 1:
            file = root / payload.tag / "contacts.csv"
            file.parent.mkdir(parents=True)
            table = [CONTACTS, *[[row[c] for c in CONTACTS] for row in payload.rows()]]
            file.write_bytes(csv_bytes(table))
            payload = Payload(payload.tag, file)
        made.append(payload)
    return made


def content_hash(body: dict[str, Any]) -> str:
    """The ledger's content hash of an import body (``Imports.create``)."""
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def default_key(company_id: str, body: dict[str, Any]) -> str:
    """The idempotency key ``imports.create`` derives for inline rows (``Imports._submit``)."""
    content = content_hash(body)
    return "migkit-" + hashlib.sha256((company_id + content).encode("utf-8")).hexdigest()[:40]


# -- watching the client -----------------------------------------------------------------------
@dataclass
class Outcome:
    """What the caller saw: runs per company (in submission order) and every exception that
    reached it (``escaped``: the call was then re-run; ``died``: the script stopped)."""

    runs: dict[str, list[migkit.Run]] = field(default_factory=dict)
    companies: dict[str, migkit.Company] = field(default_factory=dict)
    escaped: list[str] = field(default_factory=list)
    died: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_run(self, external_id: str, run: migkit.Run) -> None:
        with self.lock:
            self.runs.setdefault(external_id, []).append(run)

    def as_user(self, label: str, call: Callable[[], T]) -> T:
        """``call()`` as a notebook user would make it: when a ``MigkitError`` reaches the
        caller, note it (a failure of its own) and re-run the very same call, so the run
        ledger and idempotency still get checked to the end."""
        for _ in range(USER_RERUNS):
            try:
                return call()
            except migkit.MigkitError:
                with self.lock:
                    self.escaped.append(f"{label}:\n{traceback.format_exc()}")
        return call()

    def guarded(self, label: str, work: Callable[[], None]) -> Callable[[], None]:
        """``work`` with an exception that ends it recorded (label and traceback)."""

        def run() -> None:
            try:
                work()
            except BaseException:
                with self.lock:
                    self.died.append(f"{label}:\n{traceback.format_exc()}")

        return run

    def check_finished(self) -> None:
        assert not self.died, "scripts stopped by an exception:\n\n" + "\n\n".join(
            self.died + self.escaped
        )


def check_no_escapes(tally: RetryTally, *outcomes: Outcome) -> None:
    """No exception reached the caller; else each one with its traceback, and the retry
    history of the requests that came to their last retry."""
    escaped = [e for outcome in outcomes for e in outcome.escaped]
    assert not escaped, (
        f"exceptions that reached the caller: {len(escaped)} (each call was re-run, and the "
        "never-twice, never-lost checks above passed):\n\n"
        + "\n\n".join(escaped)
        + "\n\nrequests that came to their last retry (cause of each failed attempt):\n"
        + "\n".join(tally.last_chance)
    )


def in_threads(jobs: dict[str, Callable[[], None]], outcome: Outcome) -> None:
    """Run each job in its own thread (sharing one client) and wait for all of them."""
    threads = [
        threading.Thread(target=outcome.guarded(label, job), name=label)
        for label, job in jobs.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=100)
    assert not [t.name for t in threads if t.is_alive()], "threads still running"


class RetryTally(logging.Handler):
    """Counts the retries the client's transport makes, by cause (status or what went wrong),
    from its debug log: one record per decision, with the fields as record attributes."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.causes: Counter[str] = Counter()
        self.last_chance: list[str] = []  # requests that used up every retry but the last

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "migkit_decision", None) != "retry":
            return
        status = getattr(record, "migkit_status", None)
        cause = str(status) if status is not None else str(getattr(record, "migkit_outcome", ""))
        self.causes[cause] += 1
        attempt = int(getattr(record, "migkit_attempt", 0))
        if attempt >= RETRY.attempts:
            route = f"{getattr(record, 'migkit_method', '')} {getattr(record, 'migkit_route', '')}"
            self.last_chance.append(f"{route}: attempt {attempt} ({cause})")

    @property
    def total(self) -> int:
        return sum(self.causes.values())


@contextmanager
def tally_retries() -> Iterator[RetryTally]:
    logger = logging.getLogger("migkit.transport")
    tally = RetryTally()
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(tally)
    try:
        yield tally
    finally:
        logger.removeHandler(tally)
        logger.setLevel(level)
        logger.propagate = propagate


def report(
    title: str,
    imports: int,
    requests_sent: int,
    tally: RetryTally,
    start: float,
    *outcomes: Outcome,
) -> None:
    """Print what the client spent (``pytest -s`` shows it)."""
    causes = ", ".join(f"{cause}: {n}" for cause, n in tally.causes.most_common())
    escaped = sum(len(o.escaped) for o in outcomes)
    print(
        f"\n[{title}] {imports} imports, {requests_sent} client requests "
        f"({requests_sent / imports:.1f} per import, {tally.total} of them retries) "
        f"({causes}); {len(tally.last_chance)} requests on their last retry, "
        f"exceptions that reached the caller: {escaped}; {time.monotonic() - start:.1f} s"
    )


# -- the truth, read from a fault-free sandbox on the same database ----------------------------
@dataclass
class Truth:
    companies: dict[str, list[str]]  # external_id -> ids of the companies that carry it
    runs: dict[str, list[dict[str, Any]]]  # company id -> its import runs (EXT list)
    emails: dict[str, Counter[str]]  # company id -> exported Contacts emails (filter=all)

    def company(self, external_id: str) -> str:
        ids = self.companies.get(external_id, [])
        assert len(ids) == 1, f"{external_id}: {len(ids)} companies"
        return ids[0]


def read_truth(db: Path) -> Truth:
    """Everything the account holds, read through a sandbox without faults on ``db``."""
    with serve(db) as sb:
        api = Api(sb.base_url, KEY)
        listing = api.get("/companies")
        assert listing.status_code == 200, listing.text
        companies: dict[str, list[str]] = {}
        runs: dict[str, list[dict[str, Any]]] = {}
        emails: dict[str, Counter[str]] = {}
        for item in listing.json()["companies"]:
            cid = item["company"]["id"]
            companies.setdefault(item["company"]["external_id"], []).append(cid)
            imports = api.get(f"/companies/{cid}/imports")
            assert imports.status_code == 200, imports.text
            runs[cid] = imports.json()["imports"]
            sheet = next(s["id"] for s in item["sheets"] if s["name"] == "Contacts")
            export = api.export(cid, sheet, "all")
            assert export.status_code == 200, export.text
            table = records(export.content)
            column = table[0].index("Email")
            emails[cid] = Counter(r[column] for r in table[1:])
        return Truth(companies, runs, emails)


def check_company(
    truth: Truth, external_id: str, sent: list[Payload], seen: list[migkit.Run]
) -> None:
    """One run per payload, each completed, the very runs the caller got, each row once."""
    cid = truth.company(external_id)
    runs = truth.runs[cid]
    keys = Counter(r["idempotency_key"] for r in runs)
    assert len(runs) == len(sent), (
        f"{external_id}: {len(runs)} runs for {len(sent)} payloads; keys used more than "
        f"once: {[k for k, n in keys.items() if n > 1]}"
    )
    assert len(keys) == len(runs), f"{external_id}: two runs share a key: {keys}"
    assert {r["status"] for r in runs} == {"completed"}, runs
    assert {r["run_id"] for r in runs} == {r.id for r in seen}, f"{external_id}: other runs"
    assert [r.status for r in seen] == ["completed"] * len(sent)
    expected = Counter(e for p in sent for e in p.emails)
    got = truth.emails[cid]
    assert got == expected, (
        f"{external_id}: rows twice {sorted(e for e, n in got.items() if n > 1)}, "
        f"rows lost {sorted(expected - got)}, rows unknown {sorted(got - expected)}"
    )


# -- 1. many imports through faults ------------------------------------------------------------
COMPANIES = 5
IMPORTS_EACH = 11  # 55 imports in all


def test_chaos_every_import_runs_exactly_once(tmp_path: Path) -> None:
    """5 companies (created under faults) × 11 imports, one thread per company on one client:
    every import ends ``completed``, with exactly one run per payload and every row once."""
    db = tmp_path / "sandbox.db"
    work = {f"chaos-{c}": payloads(tmp_path / "files", c, IMPORTS_EACH) for c in range(COMPANIES)}
    outcome = Outcome()
    start = time.monotonic()
    with tally_retries() as tally, serve(db, faults=FAULTS) as sb:
        client = new_client(sb.base_url, tmp_path / "ledger.db")

        def migrate(external_id: str) -> Callable[[], None]:
            def job() -> None:
                company = outcome.as_user(
                    f"{external_id}: companies.create",
                    partial(
                        client.companies.create,
                        f"Chaos {external_id}",
                        "Spreadsheet",
                        external_id=external_id,
                        templates=["Contacts"],
                    ),
                )
                outcome.companies[external_id] = company
                for n, payload in enumerate(work[external_id]):
                    label = f"{external_id} import {n}"
                    run = outcome.as_user(
                        f"{label}: imports.create", partial(payload.submit, client, company)
                    )
                    done = outcome.as_user(
                        f"{label}: imports.wait", partial(client.imports.wait, run)
                    )
                    outcome.add_run(external_id, done)

            return job

        in_threads({ext: migrate(ext) for ext in work}, outcome)
        sent = client.requests_sent
        assert client.ledger is not None
        unfinished = client.ledger.unfinished(fingerprint(KEY), client.base_url)
        client.close()
    report("chaos", COMPANIES * IMPORTS_EACH, sent, tally, start, outcome)

    outcome.check_finished()
    assert unfinished == [], "the ledger still lists unfinished imports"
    truth = read_truth(db)
    assert sorted(truth.companies) == sorted(work), truth.companies
    for external_id, sent_payloads in work.items():
        assert truth.company(external_id) == outcome.companies[external_id].id
        check_company(truth, external_id, sent_payloads, outcome.runs[external_id])
    check_no_escapes(tally, outcome)


# -- 2. the process crashes mid-way; a new client recovers from the ledger ---------------------
# Where client A dies in each company, after its first DONE_BY_A imports completed:
#   "a"  the ledger noted the import and the POST created the run, but A never read the answer
#   "a0" the ledger noted the import, then A died before the POST left
#   "b"  the POST answered (A holds the run) but A died before waiting
CRASH_POINTS = ["a", "a0", "b", "a", "a0", "b"]
DONE_BY_A = 4
IMPORTS_PER_CRASHED = 9  # 54 imports in all


def post_until_answered(api: Api, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST through the faults until an answer arrives (safe: the body carries its key)."""
    for _ in range(100):
        try:
            response = api.post(path, json=body)
        except requests.ConnectionError:
            continue
        if response.status_code in (200, 201):
            return dict(response.json())
        assert response.status_code in (429, 500), response.text
        time.sleep(0.01)
    raise AssertionError(f"POST {path} never answered")


def test_crash_midway_new_client_recovers_from_ledger(tmp_path: Path) -> None:
    """Client A runs 4 imports per company, then dies at a different point in each company
    (see ``CRASH_POINTS``). Client B, a new instance on the same ledger, gets every in-flight
    run back from ``recover()`` (the same run ids), re-runs the whole script (the same
    ``create`` calls return the same runs) and finishes it: 6 × 9 imports, each exactly once.

    While A dies and B recovers, the sandbox runs without workers, so the crashed runs are
    still ``queued`` (deterministically in flight); then it restarts on the same db and port
    with workers and B waits them out. Faults are on throughout."""
    db, ledger = tmp_path / "sandbox.db", tmp_path / "ledger.db"
    companies = [f"crash-{n}" for n in range(len(CRASH_POINTS))]
    work = {
        ext: payloads(tmp_path / "files", n, IMPORTS_PER_CRASHED) for n, ext in enumerate(companies)
    }
    point = dict(zip(companies, CRASH_POINTS, strict=True))
    seen_by_a, seen_by_b = Outcome(), Outcome()
    start = time.monotonic()

    def open_company(seen: Outcome, client: migkit.Client, external_id: str) -> migkit.Company:
        create = partial(
            client.companies.create,
            f"Crash {external_id}",
            "Spreadsheet",
            external_id=external_id,
            templates=["Contacts"],
        )
        return seen.as_user(f"{external_id}: companies.create", create)

    def import_each(
        seen: Outcome,
        client: migkit.Client,
        who: str,
        external_id: str,
        company: migkit.Company,
        payloads: list[Any],
    ) -> None:
        """Create and wait for each payload's import in turn, as a user's script would."""
        for n, payload in enumerate(payloads):
            run = seen.as_user(
                f"{who} {external_id} import {n}: imports.create",
                partial(payload.submit, client, company),
            )
            done = seen.as_user(
                f"{who} {external_id} import {n}: imports.wait",
                partial(client.imports.wait, run),
            )
            seen.add_run(external_id, done)

    with tally_retries() as tally:
        # Life 1: A imports the first DONE_BY_A payloads of each company.
        with serve(db, faults=FAULTS) as sb:
            port = sb.port
            client_a = new_client(sb.base_url, ledger)

            def first_part(external_id: str) -> Callable[[], None]:
                def job() -> None:
                    company = open_company(seen_by_a, client_a, external_id)
                    seen_by_a.companies[external_id] = company
                    payloads = work[external_id][:DONE_BY_A]
                    import_each(seen_by_a, client_a, "A", external_id, company, payloads)

                return job

            in_threads({ext: first_part(ext) for ext in companies}, seen_by_a)
        seen_by_a.check_finished()
        for external_id in companies:  # the test's key derivation matches the client's
            company = seen_by_a.companies[external_id]
            sheet = company.sheet("Contacts").id
            for payload, run in zip(work[external_id], seen_by_a.runs[external_id], strict=False):
                if payload.file is None:
                    assert run.idempotency_key == default_key(company.id, payload.body(sheet))

        # Life 2 (no workers: runs stay queued): A dies mid-import; B recovers.
        with serve(db, port=port, faults=FAULTS, workers=0) as sb:
            assert client_a.ledger is not None
            account, base_url = fingerprint(KEY), client_a.base_url
            assert sb.base_url == base_url
            api = Api(sb.base_url, KEY)
            in_flight: dict[str, str | None] = {}  # external_id -> run id A left behind
            for external_id in companies:
                company = seen_by_a.companies[external_id]
                payload = work[external_id][DONE_BY_A]
                assert payload.file is None  # the crashed import is inline rows
                body = payload.body(company.sheet("Contacts").id)
                key = default_key(company.id, body)
                if point[external_id] in ("a", "a0"):  # what _submit does before the POST
                    client_a.ledger.record_import(
                        account, base_url, company.id, key, content_hash(body), body
                    )
                if point[external_id] == "a":
                    answer = post_until_answered(
                        api, f"/companies/{company.id}/imports", {**body, "idempotency_key": key}
                    )
                    in_flight[external_id] = str(answer["run_id"])
                elif point[external_id] == "b":
                    run = seen_by_a.as_user(
                        f"A {external_id} import {DONE_BY_A}: imports.create",
                        partial(payload.submit, client_a, company),
                    )
                    in_flight[external_id] = run.id
                else:
                    in_flight[external_id] = None  # no run exists yet
            sent_by_a = client_a.requests_sent
            client_a.close()  # A is gone

            client_b = new_client(sb.base_url, ledger)
            recovered = {
                run.company_id: run
                for run in seen_by_b.as_user("B: imports.recover", client_b.imports.recover)
            }
            by_company = {seen_by_a.companies[ext].id: ext for ext in companies}
            assert sorted(by_company[cid] for cid in recovered) == companies, recovered
            for cid, run in recovered.items():
                external_id = by_company[cid]
                assert run.status == "queued", run
                if in_flight[external_id] is not None:  # the run A started, not a second one
                    assert run.id == in_flight[external_id], (external_id, point[external_id])
                in_flight[external_id] = run.id
            # (c) re-running the crashed create on B gives the same run back
            for external_id in companies:
                company_b = open_company(seen_by_b, client_b, external_id)
                assert company_b.id == seen_by_a.companies[external_id].id
                again = seen_by_b.as_user(
                    f"B {external_id} import {DONE_BY_A}: imports.create again",
                    partial(work[external_id][DONE_BY_A].submit, client_b, company_b),
                )
                assert again.id == in_flight[external_id], external_id
                listed = seen_by_b.as_user(
                    f"B {external_id}: imports.list(active=True)",
                    partial(client_b.imports.list, company_b, active=True),
                )
                assert [r.id for r in listed] == [in_flight[external_id]], external_id

        # Life 3 (workers back, same db and port): B re-runs the whole script.
        with serve(db, port=port, faults=FAULTS) as sb:

            def whole_script(external_id: str) -> Callable[[], None]:
                def job() -> None:
                    company = open_company(seen_by_b, client_b, external_id)
                    import_each(seen_by_b, client_b, "B", external_id, company, work[external_id])

                return job

            in_threads({ext: whole_script(ext) for ext in companies}, seen_by_b)
            sent_by_b = client_b.requests_sent
            unfinished = client_b.ledger.unfinished(account, base_url)  # type: ignore[union-attr]
            client_b.close()
    imports = len(companies) * IMPORTS_PER_CRASHED
    report("crash", imports, sent_by_a + sent_by_b, tally, start, seen_by_a, seen_by_b)

    seen_by_b.check_finished()
    assert unfinished == [], "the ledger still lists unfinished imports"
    truth = read_truth(db)
    assert sorted(truth.companies) == companies, truth.companies
    for external_id in companies:
        runs_b = seen_by_b.runs[external_id]
        assert [r.id for r in runs_b[:DONE_BY_A]] == [r.id for r in seen_by_a.runs[external_id]]
        assert runs_b[DONE_BY_A].id == in_flight[external_id]
        check_company(truth, external_id, work[external_id], runs_b)
    check_no_escapes(tally, seen_by_a, seen_by_b)


# -- 3. a company create whose answer is lost ---------------------------------------------------
def test_lost_company_create_is_found_not_duplicated(tmp_path: Path) -> None:
    """Client A's ``companies.create`` commits but answers 500 (``error_after=1``: every
    answer is lost, so A cannot look it up either and gives up with an error). Client B, a
    new instance on the same ledger once the server is healthy, repeats the same call and
    gets the one company back, for an explicit and for a derived ``external_id``."""
    db, ledger = tmp_path / "sandbox.db", tmp_path / "ledger.db"
    with serve(db) as sb:
        port = sb.port
        client = new_client(sb.base_url, ledger)
        source = client.sources.get("Spreadsheet").id
        template = str(client.templates.get("Contacts").id)
        client.close()
    calls: list[dict[str, Any]] = [
        {"name": "Lost Answer", "source": source, "external_id": "lost-1", "templates": [template]},
        {"name": "Lost Answer Derived", "source": source, "templates": [template]},
    ]

    with serve(db, port=port, faults="error_after=1") as sb:
        client_a = new_client(sb.base_url, ledger)
        for call in calls:
            with pytest.raises(migkit.ServerError):
                client_a.companies.create(**call)
        client_a.close()  # A is gone

    with serve(db, port=port) as sb:
        client_b = new_client(sb.base_url, ledger)
        made = [client_b.companies.create(**call) for call in calls]
        again = [client_b.companies.create(**call) for call in calls]
        client_b.close()
    assert [c.id for c in again] == [c.id for c in made]

    truth = read_truth(db)
    assert sum(len(ids) for ids in truth.companies.values()) == len(calls), truth.companies
    assert truth.company("lost-1") == made[0].id
    assert made[1].external_id is not None
    assert made[1].external_id.startswith("migkit-")
    assert truth.company(made[1].external_id) == made[1].id
