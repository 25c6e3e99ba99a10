"""Local validation that predicts the server: which rows it will flag, and why.

It uses the very rules engine (:mod:`migkit.rules`) and header healing
(:mod:`migkit.header_healing`) the sandbox runs, so the prediction and the sandbox cannot drift.

>>> import pandas as pd, migkit
>>> from migkit.rules import Template
>>> t = Template.from_api({"name": "T", "columns": [
...     {"name": "Email", "required": True, "desiredRule": "strict", "strictRule": "^.+@.+$"}]})
>>> report = migkit.validate(pd.DataFrame({"E-mail": ["a@b", "nope", None]}), t)
>>> report.predicted_flagged_rows, len(report.valid_rows)
(2, 1)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import pandas as pd

from migkit.errors import UnknownName, UsageError
from migkit.header_healing import match_headers
from migkit.rules import Column, Link, Template, check, link_values
from migkit.validation.files import FileValidationReport, validate_file
from migkit.validation.report import ValidationReport

__all__ = ["FileValidationReport", "ValidationReport", "validate", "validate_file"]


def _template(template: Template | Mapping[str, Any]) -> Template:
    if isinstance(template, Template):
        return template
    try:
        return Template.from_api(template)
    except (ValueError, TypeError, AttributeError) as exc:
        raise UsageError(
            f"template= is not a template ({exc}); pass client.templates.get(name) or a "
            "dict shaped like one template of GET /templates"
        ) from exc


def _link_values(template: Template, links: Mapping[str, Any] | None) -> dict[str, Iterable[Any]]:
    """Per link column, the values it may take: ``links`` is keyed by the link column
    (values) or by a linked template's name or id (a frame holding the linked column). A
    column with several ``linkRule`` entries takes the values of every one given."""
    link_columns = [c for c in template.columns if c.rule == "link"]
    targets = {link.template for c in link_columns for link in c.links}
    known = {c.name for c in link_columns} | targets
    folded = {n.casefold() for n in known}
    unknown = [k for k in (links or {}) if str(k) not in known and str(k).casefold() not in folded]
    if unknown:
        raise UnknownName(
            f"links keys {unknown} name no link column of {template.name}; use the "
            f"link column ({sorted(c.name for c in link_columns)}) or the linked "
            "template"
        )
    out: dict[str, Iterable[Any]] = {}
    for column in link_columns if links else []:
        given = (links or {}).get(column.name)
        if given is not None and not isinstance(given, pd.DataFrame):
            out[column.name] = given  # the column's values, whatever its links
            continue
        allowed = link_values(column, _lookup(links or {}, column))
        if allowed is not None:
            out[column.name] = allowed
    return out


def _lookup(links: Mapping[str, Any], column: Column) -> Callable[[Link], Iterable[Any] | None]:
    # The values given for one link of ``column``: the entry keyed by the column (values, or a
    # frame), else the one keyed by the link's template id or name (a frame). A frame gives
    # its column the link names, headers healed as on the server.
    by_column = links.get(column.name)

    def values_of(link: Link) -> Iterable[Any] | None:
        given = by_column
        if given is None:
            wanted = link.template.casefold()
            given = next((v for k, v in links.items() if str(k).casefold() == wanted), None)
        if not isinstance(given, pd.DataFrame):
            return cast("Iterable[Any] | None", given)
        match = match_headers([str(c) for c in given.columns], [link.column])
        source = next((h for h, c in match.mapping.items() if c == link.column), None)
        if source is None:
            raise UnknownName(
                f"the frame given for {column.name}'s link has no column "
                f"{link.column!r}; columns: {list(given.columns)}"
            )
        return cast("Iterable[Any]", given[source])

    return values_of


def validate(
    frame: pd.DataFrame,
    template: Template | Mapping[str, Any],
    *,
    links: Mapping[str, Any] | None = None,
    existing: Mapping[str, Iterable[Any]] | None = None,
) -> ValidationReport:
    """Predict what an import of ``frame`` into ``template``'s sheet will flag.

    Headers are healed as the server heals them (case, spacing, punctuation, synonyms).
    ``links`` gives the values link columns may take: ``{"Account": accounts["Name"]}`` or
    ``{"Accounts": accounts_frame}``; a link column without an entry is not checked.
    ``existing`` gives values already in the sheet, for unique columns. ``frame`` is never
    modified.

    >>> report = migkit.validate(contacts, client.templates.get("Contacts"),
    ...                          links={"Accounts": accounts})  # doctest: +SKIP
    >>> report.summary()  # doctest: +SKIP
    """
    spec = _template(template)
    headers = [str(c) for c in frame.columns]
    match = match_headers(headers, spec.column_names)
    positions: dict[str, int] = {}
    for index, header in enumerate(headers):
        positions.setdefault(header, index)  # a repeated header: the first one counts
    mapped = pd.DataFrame(
        {column: frame.iloc[:, positions[header]] for header, column in match.mapping.items()},
        index=frame.index,
    )
    link_values = _link_values(spec, links)
    errors = check(mapped, spec, links=link_values, existing=existing)
    unchecked = tuple(
        (c.name, c.rule)
        for c in spec.columns
        if c.rule == "ai" or (c.rule == "link" and c.name not in link_values)
    )
    return ValidationReport(
        frame=frame, template=spec, headers=match, errors=errors, unchecked=unchecked
    )
