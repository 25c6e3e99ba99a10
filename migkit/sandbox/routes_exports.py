"""Routes for exports: the streamed ``export.csv`` and runs that write to a destination."""

from __future__ import annotations

import json
from typing import Any, cast

from flask import Flask, Response, jsonify, request

from migkit.sandbox import exporter
from migkit.sandbox.http import (
    attachment,
    company_or_404,
    fail,
    idempotency_key,
    json_body,
    run_or_404,
)
from migkit.sandbox.routes_imports import insert_run, run_body
from migkit.sandbox.rowstore import RowFilter
from migkit.sandbox.sheets import company_sheets
from migkit.sandbox.state import current_state


def export_csv(company_id: str) -> Response:
    company = company_or_404(company_id)
    row_filter = cast(RowFilter, request.args.get("filter", "valid"))
    if row_filter not in ("valid", "all"):
        fail(400, "filter must be one of: valid, all")
    store = current_state().store
    sheets = company_sheets(store, company_id)
    sheet_id = request.args.get("sheet_id")
    if sheet_id is not None:
        sheet = next((s for s in sheets if s.id == sheet_id), None)
        if sheet is None:
            fail(
                404,
                f"Sheet {sheet_id} isn't in this company; GET /companies/{{id}} lists its sheets",
            )
        sheets = [sheet]
        body = exporter.csv_chunks(store, sheet, row_filter)
        content_type, filename = "text/csv; charset=utf-8", f"{sheet.name}.csv"
    else:
        body = exporter.zip_chunks(store, sheets, row_filter)
        content_type, filename = "application/zip", f"{company['name']}.zip"
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = attachment(filename)
    response.headers["X-Total-Records"] = str(exporter.export_count(store, sheets, row_filter))
    return response


def _selection(company_id: str, body: dict[str, Any]) -> None:
    selection = body.get("selection")
    if selection is None:
        return
    if not isinstance(selection, dict):
        fail(400, 'selection must be an object like {"template_ids": [...]}')
    if "row_filter" in selection and not isinstance(selection["row_filter"], dict):
        fail(400, "selection.row_filter must be an object")
    wanted = selection.get("template_ids")
    if wanted is None:
        return
    known = {s.template.id for s in company_sheets(current_state().store, company_id)}
    if not isinstance(wanted, list) or not wanted or not all(isinstance(t, str) for t in wanted):
        fail(400, "selection.template_ids must be a non-empty array of template ids")
    unknown = [t for t in wanted if t not in known]
    if unknown:
        fail(400, f"selection.template_ids {unknown} are not sheets of this company")


def create_export(company_id: str) -> Response:
    company = company_or_404(company_id)
    body = json_body(request.get_data())
    key = idempotency_key(body)
    if body.get("mode", "full") not in ("full", "canary"):
        fail(400, "mode must be one of: full, canary")
    _selection(company_id, body)
    connections = json.loads(company["connections_json"] or "{}")
    if not connections.get("base_url"):
        fail(400, "company has no destination connection")
    return insert_run(company, "export", body, key)


def poll_export(company_id: str, run_id: str) -> Response:
    company_or_404(company_id)
    return jsonify(run_body(run_or_404(company_id, run_id, "export")))


def register(app: Flask, prefix: str) -> None:
    """Attach this module's routes to ``app``."""
    base = f"{prefix}/companies/<company_id>"
    app.add_url_rule(f"{base}/export.csv", view_func=export_csv, methods=["GET"])
    app.add_url_rule(f"{base}/exports", view_func=create_export, methods=["POST"])
    app.add_url_rule(f"{base}/exports/<run_id>", view_func=poll_export, methods=["GET"])
