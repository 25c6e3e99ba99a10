"""The base every resource stands on: requests by path template, and the lookups they share.

A resource module (``client.imports``, ``client.companies``, ...) only describes endpoints and
shapes. It names each endpoint by its path template, ``self._get("/companies/{id}", id=cid)``:
:func:`path_template` quotes the ids into the path, and the template itself is the route, the
key of the request budget and the name in every message (``GET /companies/{id}``, never an id).

What several resources need lives here once:

- names to ids: a sheet of a company (:meth:`Resource._sheet_id`), templates and sources
  (:meth:`Resource._template_ids`, :meth:`Resource._source_id`), all by
  :meth:`Resource._pick`, which raises :class:`~migkit.errors.UnknownName` listing what exists;
- "this server lacks the extension": the sandbox's EXT endpoints answer 404, 405 or 501 on the
  real service (:func:`lacks_extension`, :meth:`Resource._if_supported`);
- look-up-then-retry for actions the server does not make idempotent
  (:meth:`Resource._act_once`): when the outcome is unknown, look whether it happened before
  acting again.

>>> path_template("/companies/{id}/imports/{run_id}", id="c1", run_id="r/../x?y")
'/companies/c1/imports/r%2F..%2Fx%3Fy'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from migkit._answers import Answer
from migkit._body import Body
from migkit._http import Transport
from migkit.errors import (
    APIError,
    ServerError,
    TransportError,
    UnexpectedRedirect,
    UnknownName,
    UsageError,
)
from migkit.fields import object_list
from migkit.ledger import ClientLedger
from migkit.models import Company, Source, Template
from migkit.polling import PollSchedule
from migkit.printable import printable
from migkit.rules import name_links

T = TypeVar("T")
MISSING_EXTENSION = frozenset({404, 405, 501})  # what a server without a sandbox EXT answers
_FIELD = re.compile(r"\{(\w+)\}")


def path_template(template: str, **ids: str) -> str:
    """``template`` with each ``{name}`` replaced by ``ids[name]``, percent-quoted whole, so an
    id holding ``/``, ``?`` or ``#`` stays one path segment. An empty id, or one of dots only
    (which URL normalizing would turn into a step up the path), is a
    :class:`~migkit.errors.UsageError`."""

    def fill(match: re.Match[str]) -> str:
        value = str(ids[match.group(1)])
        if not value.strip("."):
            raise UsageError(f"{value!r} is not a {match.group(1)}; pass the id the API gave")
        return quote(value, safe="")

    return _FIELD.sub(fill, template)


def lacks_extension(exc: APIError) -> bool:
    """True when ``exc`` is how a server without a sandbox extension answers its endpoint."""
    return exc.status_code in MISSING_EXTENSION


def outcome_unknown(exc: Exception) -> bool:
    """True when ``exc`` leaves it unknown whether the server acted: no answer came
    (:class:`~migkit.errors.TransportError`, but not a redirect, which is an answer) or a
    5xx (:class:`~migkit.errors.ServerError`)."""
    if isinstance(exc, UnexpectedRedirect):
        return False
    return isinstance(exc, TransportError | ServerError)


def looks_like_id(value: str) -> bool:
    """True for a UUID-shaped string (ids are UUIDs; names practically never are)."""
    return len(value) == 36 and value.count("-") == 4


def company_id(company: Any) -> str:
    """The id of a :class:`~migkit.models.Company` or a company id string."""
    return str(getattr(company, "id", company))


def run_id(run: Any) -> str:
    """The id of a run object or a run id string."""
    return str(getattr(run, "id", run))


@dataclass
class ClientCore:
    """What the resources of one client share: its transport, its ledger (scoped to its
    account and base URL, or a null one), the key's fingerprint, and settings."""

    transport: Transport
    ledger: ClientLedger
    account: str  # fingerprint of the API key
    schedule: PollSchedule
    progress: bool = True


class Resource:
    """A group of endpoints of one client (``client.imports``, ...)."""

    def __init__(self, core: ClientCore) -> None:
        self._core = core

    @property
    def _ledger(self) -> ClientLedger:
        return self._core.ledger

    # -- requests ----------------------------------------------------------------------------
    def _get(self, template: str, *, params: Mapping[str, Any] | None = None, **ids: str) -> Answer:
        """GET a JSON answer (always safe to retry); build results with ``.parse(...)``."""
        path = path_template(template, **ids)
        return self._core.transport.call(
            "GET", path, route=template, idempotent=True, params=params
        )

    def _send(
        self, method: str, template: str, body: Any, *, idempotent: bool, **ids: str
    ) -> Answer:
        """A write with a JSON body; ``idempotent`` when sending it twice cannot do anything
        twice (it carries an idempotency key, or it is a cancel)."""
        path = path_template(template, **ids)
        return self._core.transport.call(
            method, path, route=template, idempotent=idempotent, json=body
        )

    def _stream(
        self,
        template: str,
        *,
        params: Mapping[str, Any] | None = None,
        label: str = "the download",
        noun: str = "a download",
        headers: Mapping[str, str] | None = None,
        stall: tuple[float, int] | None = None,
        **ids: str,
    ) -> Body:
        """GET a download, read as it arrives (see :class:`~migkit._body.Body`)."""
        path = path_template(template, **ids)
        return self._core.transport.stream(
            path,
            route=template,
            params=params,
            label=label,
            noun=noun,
            headers=headers,
            stall=stall,
        )

    # -- what a server without the sandbox's extensions answers ------------------------------
    def _if_supported(self, call: Callable[[], T]) -> T | None:
        """``call()``, or ``None`` when the server lacks the endpoint (404, 405, 501)."""
        try:
            return call()
        except APIError as exc:
            if lacks_extension(exc):
                return None
            raise

    # -- look, then act again ----------------------------------------------------------------
    def _act_once(
        self,
        act: Callable[[], T],
        look: Callable[[], T | None],
        *,
        tries: int | None = None,
        unknown: Callable[[Exception], bool] | None = None,
    ) -> T:
        """``act()``, an action the server does not make idempotent, done at most once: when
        its outcome is unknown (:func:`outcome_unknown`: no answer, or a 5xx, after the
        transport's own retries; or what ``unknown`` says), ``look()`` whether it happened, and
        act again only when it finds nothing. ``tries`` acts in all (the retry policy's
        ``attempts`` + 1 by default)."""
        last: Exception | None = None
        for _ in range(tries or self._core.transport.retry.attempts + 1):
            try:
                return act()
            except Exception as exc:
                if not (unknown or outcome_unknown)(exc):
                    raise
                last = exc
            found = look()
            if found is not None:
                return found
        assert last is not None
        raise last

    # -- names to ids ------------------------------------------------------------------------
    @staticmethod
    def _pick(kind: str, items: Sequence[tuple[str, str]], name_or_id: str) -> int:
        """The index of the item whose id is ``name_or_id`` or whose name is it (any case);
        :class:`~migkit.errors.UnknownName` listing the names otherwise."""
        wanted = name_or_id.casefold()
        for index, (item_id, name) in enumerate(items):
            if item_id == name_or_id or name.casefold() == wanted:
                return index
        names = printable(", ".join(repr(n) for _, n in items) or "none", limit=1000)
        raise UnknownName(f"no {kind} {name_or_id!r} in this account; {kind}s: {names}")

    def _list_sources(self) -> list[Source]:
        answer = self._get("/sources")
        return answer.parse(lambda body: [Source.from_api(s) for s in object_list(body, "sources")])

    def _list_templates(self) -> list[Template]:
        answer = self._get("/templates")
        # Link columns name their linked template (the API gives only its id) for messages.
        return answer.parse(
            lambda body: name_links([Template.from_api(t) for t in object_list(body, "templates")])
        )

    def _source_id(self, name_or_id: str) -> str:
        """A source's id from its name (one ``GET /sources``) or id (no request)."""
        if looks_like_id(name_or_id):
            return name_or_id
        sources = self._list_sources()
        return sources[self._pick("source", [(s.id, s.name) for s in sources], name_or_id)].id

    def _template_ids(self, names_or_ids: Sequence[str]) -> list[str]:
        """Template ids from names or ids, in order; one ``GET /templates`` if any is a name."""
        if all(looks_like_id(t) for t in names_or_ids):
            return list(names_or_ids)
        templates = self._list_templates()
        items = [(t.id or "", t.name) for t in templates]
        return [
            t if looks_like_id(t) else str(templates[self._pick("template", items, t)].id)
            for t in names_or_ids
        ]

    def _company(self, company: Company | str) -> Company:
        """A company by id (``GET /companies/{id}``, a sandbox EXT): a server without it
        falls back to the ledger's copy of a company this machine created."""
        cid = company_id(company)
        try:
            return self._get("/companies/{id}", id=cid).parse(Company.from_api)
        except APIError as exc:
            entry = self._ledger.company_by_id(cid) if lacks_extension(exc) else None
            if entry is None or entry.body is None:
                raise
            return Company.from_api(entry.body)

    def _sheet_id(self, company: Company | str, sheet: str) -> str:
        """The id of a company's sheet given by name (any case) or id; a sheet name with a
        company given by id costs one ``GET /companies/{id}``."""
        if isinstance(company, Company):
            return company.sheet(sheet).id
        if looks_like_id(sheet):
            return sheet
        return self._company(company).sheet(sheet).id
