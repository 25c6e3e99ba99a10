"""``migkit demo``: one migration end to end against the embedded sandbox, in raw HTTP.

It provisions a company, uploads ``accounts.csv`` and ``contacts.csv`` through the signed-upload
handshake, imports each, polls to a terminal state (printing every status), accepts Vern's
proposed fix when rows need attention, downloads ``export.csv`` and prints the report.
(The client issue replaces the raw HTTP here with ``migkit.Client``.)
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
import uuid
from pathlib import Path
from typing import Any

import requests

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"


def _check(response: requests.Response, *expected: int) -> dict[str, Any]:
    if response.status_code not in expected:
        raise RuntimeError(
            f"{response.request.method} {response.url} answered "
            f"{response.status_code}: {response.text[:300]}"
        )
    body: dict[str, Any] = response.json()
    return body


def _upload(session: requests.Session, base: str, company_id: str, path: Path) -> str:
    data = path.read_bytes()
    grant = _check(
        session.post(
            f"{base}/companies/{company_id}/uploads",
            json={"name": path.name, "content_type": "text/csv", "size": len(data)},
            timeout=30,
        ),
        200,
        201,
    )
    # The signed URL carries its own token: never send the API key there.
    put = requests.put(
        grant["upload_url"], data=data, headers={"Content-Type": "text/csv"}, timeout=60
    )
    _check(put, 200)
    print(f"  uploaded {path.name} ({len(data):,} bytes) -> {grant['upload_ref']}")
    return str(grant["upload_ref"])


def _watch(session: requests.Session, base: str, poll_url: str) -> dict[str, Any]:
    url = base + poll_url.removeprefix("/api/v1") if poll_url.startswith("/") else poll_url
    last = None
    delay = 0.2
    while True:
        body = _check(session.get(url, timeout=30), 200)
        shown = (body["status"], body.get("progress_message"))
        if shown != last:
            extra = f" - {body['progress_message']}" if body.get("progress_message") else ""
            print(f"  status: {body['status']}{extra}")
            last = shown
        if body["status"] in ("completed", "failed", "canceled", "needs_attention"):
            return body
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)


def _report(report: dict[str, Any]) -> None:
    sheets = ", ".join(f"{s['templateName']} {s['rowCount']}" for s in report["perSheet"])
    print(
        f"  report: inserted {report['inserted']} ({sheets}); "
        f"flagged rows {report['invalidCellCount']}"
    )


def _import(session: requests.Session, base: str, company_id: str, path: Path) -> dict[str, Any]:
    print(f"\nImporting {path.name}")
    ref = _upload(session, base, company_id, path)
    key = "demo-" + hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    run = _check(
        session.post(
            f"{base}/companies/{company_id}/imports",
            json={"files": [{"name": path.name, "upload_ref": ref}], "idempotency_key": key},
            timeout=30,
        ),
        200,
        201,
    )
    print(f"  run {run['run_id']}")
    body = _watch(session, base, run["poll_url"])
    while body["status"] == "needs_attention":
        _report(body["report"])
        for q in body["needs_attention"]["questions"]:
            print(f"  question {q['id']}: {q['prompt']}")
            samples = q["target"]["sample_values"]
            print(f"    {q['context']}" + (f" For example: {samples}" if samples else ""))
        print(f"  proposed fix: {body['needs_attention']['proposed_patch']['summary']}")
        print("  -> accepting the proposed fix")
        _check(
            session.post(
                f"{base}{run['poll_url'].removeprefix('/api/v1')}/decisions",
                json={"accept_proposed_patch": True},
                timeout=30,
            ),
            200,
        )
        body = _watch(session, base, run["poll_url"])
    if body["status"] == "completed":
        _report(body["report"])
    else:
        print(f"  run ended {body['status']}: {body.get('error', '')}")
    return body


def _export(session: requests.Session, base: str, company_id: str, sheet: dict[str, Any]) -> None:
    for filter_ in ("valid", "all"):
        response = session.get(
            f"{base}/companies/{company_id}/export.csv",
            params={"sheet_id": sheet["id"], "filter": filter_},
            timeout=60,
        )
        if response.status_code != 200:
            raise RuntimeError(f"export.csv answered {response.status_code}: {response.text}")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
        print(
            f"  {sheet['name']} export.csv?filter={filter_}: {len(rows) - 1} rows "
            f"(X-Total-Records {response.headers.get('X-Total-Records')})"
        )
        if filter_ == "valid":
            for row in rows[:4]:
                print("    " + " | ".join(row))


def run_demo(step_seconds: float = 0.3, data: str | None = None) -> int:
    """Run the demo; returns the process exit code (0 when every import completed).

    >>> run_demo(step_seconds=0)  # doctest: +SKIP
    0
    """
    import migkit.sandbox

    folder = Path(data) if data else SAMPLE_DATA
    files = [folder / "accounts.csv", folder / "contacts.csv"]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(
            f"migkit demo: sample files not found: {', '.join(missing)}; "
            "pass --data FOLDER holding accounts.csv and contacts.csv"
        )
        return 2
    with migkit.sandbox.start(step_seconds=step_seconds) as sb:
        print(f"Sandbox running at {sb.base_url}")
        with requests.Session() as session:
            session.headers["x-api-key"] = sb.api_key
            base = sb.base_url
            source = _check(session.get(f"{base}/sources", timeout=30), 200)["sources"][0]
            company = _check(
                session.post(
                    f"{base}/companies",
                    json={
                        "name": "Acme Corp (demo)",
                        "source": source["id"],
                        "external_id": f"demo-{uuid.uuid4().hex[:12]}",
                    },
                    timeout=30,
                ),
                200,
                201,
            )
            company_id = company["company"]["id"]
            print(
                f"Provisioned company {company_id} from source {source['name']!r} with sheets "
                + ", ".join(s["name"] for s in company["sheets"])
            )
            results = [_import(session, base, company_id, f) for f in files]
            print("\nExports")
            for sheet in company["sheets"]:
                if sheet["name"] in ("Accounts", "Contacts"):
                    _export(session, base, company_id, sheet)
    ok = all(r["status"] == "completed" for r in results)
    print(
        "\nDemo finished: " + ("every import completed." if ok else "an import did not complete.")
    )
    return 0 if ok else 1
