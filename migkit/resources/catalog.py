"""Sources and templates: ``GET /sources`` and ``GET /templates``."""

from __future__ import annotations

from migkit.errors import UnknownName as UnknownName  # defined in migkit.errors
from migkit.models import Source, Template
from migkit.resources._base import Resource


class Sources(Resource):
    """``client.sources``: the systems customers migrate from."""

    def list(self) -> list[Source]:
        """Every source of the account.

        >>> [s.name for s in client.sources.list()]  # doctest: +SKIP
        ['Legacy CRM', 'Spreadsheet']
        """
        return self._list_sources()

    def get(self, name_or_id: str) -> Source:
        """One source by name (case-insensitive) or id; :class:`~migkit.errors.UnknownName`
        lists the sources when none matches."""
        sources = self.list()
        return sources[self._pick("source", [(s.id, s.name) for s in sources], name_or_id)]


class Templates(Resource):
    """``client.templates``: target schemas with their column rules."""

    def list(self) -> list[Template]:
        """Every template of the account, with columns and rules.

        >>> client.templates.list()[0].column_names  # doctest: +SKIP
        ['Name', 'Domain', 'Tier']
        """
        return self._list_templates()

    def get(self, name_or_id: str) -> Template:
        """One template by name (case-insensitive) or id; :class:`~migkit.errors.UnknownName`
        lists the templates when none matches."""
        templates = self.list()
        items = [(t.id or "", t.name) for t in templates]
        return templates[self._pick("template", items, name_or_id)]
