"""Sources and templates: ``GET /sources`` and ``GET /templates``."""

from __future__ import annotations

from migkit.errors import MigkitError
from migkit.fields import object_list
from migkit.models import Source, Template
from migkit.printable import printable
from migkit.resources._context import Context
from migkit.rules import name_links


class UnknownName(MigkitError, KeyError):
    """No source or template with that name or id in the account."""

    def __str__(self) -> str:
        return str(self.args[0])


def _pick(kind: str, items: list[tuple[str, str]], name_or_id: str) -> int:
    wanted = name_or_id.casefold()
    for index, (item_id, name) in enumerate(items):
        if item_id == name_or_id or name.casefold() == wanted:
            return index
    names = printable(", ".join(repr(n) for _, n in items) or "none", limit=1000)
    raise UnknownName(f"no {kind} {name_or_id!r} in this account; {kind}s: {names}")


class Sources:
    """``client.sources``: the systems customers migrate from."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def list(self) -> list[Source]:
        """Every source of the account.

        >>> [s.name for s in client.sources.list()]  # doctest: +SKIP
        ['Legacy CRM', 'Spreadsheet']
        """
        answer = self._ctx.get("/sources", "GET /sources")
        return answer.parse(lambda body: [Source.from_api(s) for s in object_list(body, "sources")])

    def get(self, name_or_id: str) -> Source:
        """One source by name (case-insensitive) or id."""
        sources = self.list()
        return sources[_pick("source", [(s.id, s.name) for s in sources], name_or_id)]


class Templates:
    """``client.templates``: target schemas with their column rules."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def list(self) -> list[Template]:
        """Every template of the account, with columns and rules.

        >>> client.templates.list()[0].column_names  # doctest: +SKIP
        ['Name', 'Domain', 'Tier']
        """
        answer = self._ctx.get("/templates", "GET /templates")
        # Link columns name their linked template (the API gives only its id) for messages.
        return answer.parse(
            lambda body: name_links([Template.from_api(t) for t in object_list(body, "templates")])
        )

    def get(self, name_or_id: str) -> Template:
        """One template by name (case-insensitive) or id."""
        templates = self.list()
        return templates[_pick("template", [(t.id or "", t.name) for t in templates], name_or_id)]
