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

from migkit.errors import ExternalIdConflict, ServerError, TransportError, UnexpectedRedirect
from migkit.fields import object_list
from migkit.models import Company
from migkit.preflight import check_or_raise, company_problems
from migkit.printable import printable
from migkit.resources._base import Resource


def derived_external_id(name: str, source_id: str, template_ids: Sequence[str] | None) -> str:
    """A stable ``external_id`` for a company created without one.

    >>> derived_external_id("Acme", "s1", None)
    'migkit-3eacb8bab7bcbf9bf794a3f2'
    """
    text = json.dumps([name, source_id, sorted(template_ids or [])])
    return "migkit-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class Companies(Resource):
    """``client.companies``: provision and find customers' companies."""

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
        source_id = self._source_id(source)
        template_ids = None if templates is None else self._template_ids(templates)
        ext = external_id or derived_external_id(name, source_id, template_ids)
        known = self._ledger.company(ext)
        if known is not None and known.body is not None:
            return self._same(Company.from_api(known.body), name, template_ids)
        self._ledger.record_company(ext, name)
        body: dict[str, Any] = {"name": name, "source": source_id, "external_id": ext}
        if template_ids is not None:
            body["template_ids"] = template_ids
        if connections is not None:
            body["connections"] = dict(connections)
        # A 409 for our external_id is ours when an earlier attempt (of this call, of a crashed
        # one the ledger remembers, or of the same call with a derived id) may have landed.
        tried: list[int] = []
        ours = known is not None or external_id is None

        def post() -> Company:
            tried.append(1)
            try:
                answer = self._send("POST", "/companies", body, idempotent=False)
            except ExternalIdConflict:
                found = self._lookup(ext) if ours or len(tried) > 1 else None
                if found is None:
                    raise
                return self._same(found, name, template_ids)
            return answer.parse(Company.from_api)

        def look() -> Company | None:
            # Nothing found, or the lookup failed too: sending the create again is safe, since
            # the server refuses a second company with this external_id (the 409 above).
            try:
                found = self._lookup(ext)
            except ServerError:
                return None
            return None if found is None else self._same(found, name, template_ids)

        company = self._act_once(post, look)
        self._ledger.set_company(ext, dict(company.raw))
        return company

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

    def _lookup(self, external_id: str) -> Company | None:
        """The company with this ``external_id`` (sandbox EXT lookup); ``None`` when there is
        none, the server lacks the lookup, or no answer came. A 5xx is raised."""
        try:
            answer = self._if_supported(
                lambda: self._get("/companies", params={"external_id": external_id})
            )
        except UnexpectedRedirect:
            raise  # an answer: only a missing one leaves it unknown
        except TransportError:
            return None
        if answer is None:
            return None
        companies = answer.parse(
            lambda body: [Company.from_api(c) for c in object_list(body, "companies")]
        )
        found = [c for c in companies if c.external_id == external_id]
        return found[0] if found else None

    def get(self, company: Company | str) -> Company:
        """A company by id (sandbox extension; falls back to the ledger's copy).

        >>> client.companies.get("c0a8012e-...").sheets  # doctest: +SKIP
        """
        return self._company(company)

    def find(self, external_id: str) -> Company | None:
        """The company with this ``external_id``: from the ledger, else the sandbox lookup.

        >>> client.companies.find("acme-001")  # doctest: +SKIP
        """
        entry = self._ledger.company(external_id)
        if entry is not None and entry.body is not None:
            return Company.from_api(entry.body)
        return self._lookup(external_id)
