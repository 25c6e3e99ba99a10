"""Companies: ``POST /companies``, plus the sandbox's lookups (``GET /companies[/{id}]``).

Creation is not idempotent on the server (a reused ``external_id`` is a 409), so the client
makes it safe: every company gets an ``external_id`` (derived from its name, source and
templates when you give none), the ledger notes it before the request, and when a response is
lost the company is looked up instead of created twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from migkit.errors import (
    APIError,
    ExternalIdConflict,
    NotFound,
    ServerError,
    TransportError,
    UnexpectedRedirect,
)
from migkit.fields import object_list
from migkit.models import Company
from migkit.preflight import check_or_raise, company_problems
from migkit.printable import printable
from migkit.resources._context import Context, company_id, looks_like_id
from migkit.resources.catalog import Sources, Templates


def derived_external_id(name: str, source_id: str, template_ids: Sequence[str] | None) -> str:
    """A stable ``external_id`` for a company created without one.

    >>> derived_external_id("Acme", "s1", None)
    'migkit-3eacb8bab7bcbf9bf794a3f2'
    """
    text = json.dumps([name, source_id, sorted(template_ids or [])])
    return "migkit-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class Companies:
    """``client.companies``: provision and find customers' companies."""

    def __init__(self, ctx: Context, sources: Sources, templates: Templates) -> None:
        self._ctx = ctx
        self._sources = sources
        self._templates = templates

    def create(
        self,
        name: str,
        source: str,
        *,
        external_id: str | None = None,
        templates: Sequence[str] | None = None,
        connections: Mapping[str, Any] | None = None,
    ) -> Company:
        """Provision a company; safe to re-run (returns the one already created).

        ``source`` and ``templates`` take names or ids. ``connections`` is the destination
        connection for exports (write-only: never returned).

        >>> acme = client.companies.create("Acme", "Spreadsheet", external_id="acme-001")
        ... # doctest: +SKIP
        """
        check_or_raise(company_problems(name, external_id))
        source_id = source if looks_like_id(source) else self._sources.get(source).id
        template_ids = (
            None
            if templates is None
            else [t if looks_like_id(t) else str(self._templates.get(t).id) for t in templates]
        )
        derived = external_id is None
        ext = external_id or derived_external_id(name, source_id, template_ids)
        ctx, ledger = self._ctx, self._ctx.ledger
        known = ledger.company(ctx.account, ctx.base_url, ext) if ledger else None
        if known is not None and known.body is not None:
            return self._same(Company.from_api(known.body), name, template_ids)
        if ledger:
            ledger.record_company(ctx.account, ctx.base_url, ext, name)
        body: dict[str, Any] = {"name": name, "source": source_id, "external_id": ext}
        if template_ids is not None:
            body["template_ids"] = template_ids
        if connections is not None:
            body["connections"] = dict(connections)
        last: Exception | None = None
        for attempt in range(ctx.transport.retry.attempts + 1):  # looked up before each retry
            try:
                created = ctx.send("POST", "/companies", "POST /companies", body, safe=False)
            except UnexpectedRedirect:
                raise
            except (TransportError, ServerError) as exc:
                last = exc  # did it happen? look before trying again
                found = self._lookup(ext)
                if found is not None:
                    return self._remember(ext, self._same(found, name, template_ids))
                continue
            except ExternalIdConflict:
                ours = attempt > 0 or known is not None or derived
                found = self._lookup(ext) if ours else None
                if found is not None:
                    return self._remember(ext, self._same(found, name, template_ids))
                raise
            return self._remember(ext, created.parse(Company.from_api))
        assert last is not None
        raise last

    @staticmethod
    def _same(company: Company, name: str, template_ids: Sequence[str] | None) -> Company:
        """``company`` if it is the one this create asks for, else an ExternalIdConflict."""
        sheets = {s.template_id for s in company.sheets}
        if company.name == name and (template_ids is None or sheets == set(template_ids)):
            return company
        raise ExternalIdConflict(
            409,
            f"external_id {printable(company.external_id, limit=300)!r} already names company "
            f"{printable(company.name, limit=200)!r} ({printable(company.id, limit=80)}) with "
            "other settings than this create asks for",
            method="POST",
            path="/companies",
        )

    def _remember(self, external_id: str, company: Company) -> Company:
        if self._ctx.ledger:
            self._ctx.ledger.set_company(
                self._ctx.account, self._ctx.base_url, external_id, dict(company.raw)
            )
        return company

    def _lookup(self, external_id: str) -> Company | None:
        try:
            answer = self._ctx.get("/companies", "GET /companies", {"external_id": external_id})
        except UnexpectedRedirect:
            raise
        except (NotFound, TransportError):
            return None
        except APIError as exc:
            if exc.status in (404, 405, 501):  # no lookup on this server
                return None
            raise
        companies = answer.parse(
            lambda body: [Company.from_api(c) for c in object_list(body, "companies")]
        )
        found = [c for c in companies if c.external_id == external_id]
        return found[0] if found else None

    def get(self, company: Company | str) -> Company:
        """A company by id (sandbox extension; falls back to the ledger's copy).

        >>> client.companies.get("c0a8012e-...").sheets  # doctest: +SKIP
        """
        cid = company_id(company)
        try:
            answer = self._ctx.get(f"/companies/{cid}", "GET /companies/{id}")
        except APIError as exc:
            ledger = self._ctx.ledger
            entry = (
                ledger.company_by_id(self._ctx.account, self._ctx.base_url, cid)
                if ledger and exc.status in (404, 405)
                else None
            )
            if entry is not None and entry.body is not None:
                return Company.from_api(entry.body)
            raise
        return answer.parse(Company.from_api)

    def find(self, external_id: str) -> Company | None:
        """The company with this ``external_id``: from the ledger, else the sandbox lookup.

        >>> client.companies.find("acme-001")  # doctest: +SKIP
        """
        ledger = self._ctx.ledger
        entry = (
            ledger.company(self._ctx.account, self._ctx.base_url, external_id) if ledger else None
        )
        if entry is not None and entry.body is not None:
            return Company.from_api(entry.body)
        return self._lookup(external_id)
