"""The seeded catalog (sources and templates) every sandbox account starts with.

The canonical file is ``sample_data/templates.json`` in the repository; ``templates.json`` in
this folder is a symbolic link to it, so wheels carry its content.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from migkit.sandbox.store import Store, dumps, new_id, now_iso

_PACKAGED = Path(__file__).with_name("templates.json")
_REPO = Path(__file__).resolve().parents[3] / "sample_data" / "templates.json"


def catalog_path() -> Path:
    """The catalog file: the packaged copy, else the repository's ``sample_data`` one."""
    for path in (_PACKAGED, _REPO):
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"sandbox catalog not found at {_PACKAGED} or {_REPO}; reinstall migkit"
    )


def load_catalog() -> dict[str, Any]:
    """The catalog as parsed JSON."""
    data: dict[str, Any] = json.loads(catalog_path().read_text(encoding="utf-8"))
    return data


def new_api_key() -> str:
    """A random sandbox API key."""
    return "sk_sandbox_" + secrets.token_hex(16)


def ensure_account(store: Store, api_key: str) -> str:
    """The account id for ``api_key``, creating and seeding the account on first sight."""
    row = store.one("SELECT account_id FROM api_keys WHERE key_hash = ?", store.key_hash(api_key))
    if row is not None:
        return str(row["account_id"])
    catalog = load_catalog()
    account_id = new_id()
    with store.write() as db:
        db.execute("INSERT INTO accounts VALUES (?, ?)", (account_id, now_iso()))
        db.execute("INSERT INTO api_keys VALUES (?, ?)", (store.key_hash(api_key), account_id))
        for pos, source in enumerate(catalog["sources"]):
            db.execute(
                "INSERT INTO sources VALUES (?, ?, ?, ?, ?)",
                (new_id(), account_id, source["name"], source.get("logo_url"), pos),
            )
        ids = {t["name"]: new_id() for t in catalog["templates"]}
        for pos, template in enumerate(catalog["templates"]):
            columns = [_resolve_links(c, ids) for c in template["columns"]]
            db.execute(
                "INSERT INTO templates VALUES (?, ?, ?, ?, ?, ?)",
                (
                    ids[template["name"]],
                    account_id,
                    template["name"],
                    template.get("description"),
                    dumps(columns),
                    pos,
                ),
            )
    return account_id


def _resolve_links(column: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    if "linkRule" not in column:
        return dict(column)
    links = [
        {"templateId": ids[link["template"]], "columnName": link["columnName"]}
        for link in column["linkRule"]
    ]
    return {**column, "linkRule": links}
