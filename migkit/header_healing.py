"""Header-drift healing: match a file's column headers to a template's columns.

Pure and shared: the sandbox's run worker and migkit's local validation use the same mapping,
so a local prediction and the server never disagree.

>>> m = match_headers(["E-mail", "first_name", "Notes"], ["Email", "First Name", "Phone"])
>>> m.mapping
{'E-mail': 'Email', 'first_name': 'First Name'}
>>> m.extra, m.missing
(['Notes'], ['Phone'])
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

_NON_ALNUM = re.compile(r"[^0-9a-z]+")

# Synonyms, keyed by the normalized template column name. Values are normalized too.
SYNONYMS: dict[str, frozenset[str]] = {
    "email": frozenset({"emailaddress", "mail", "emailaddr", "primaryemail", "workemail"}),
    "firstname": frozenset({"first", "givenname", "forename", "fname"}),
    "lastname": frozenset({"last", "surname", "familyname", "lname"}),
    "phone": frozenset({"phonenumber", "telephone", "tel", "mobile", "phoneno", "cell"}),
    "status": frozenset({"state", "contactstatus"}),
    "account": frozenset(
        {"company", "companyname", "accountname", "organization", "organisation", "org"}
    ),
    "name": frozenset(
        {"companyname", "accountname", "organization", "organisation", "company", "orgname"}
    ),
    "domain": frozenset({"website", "url", "web", "domainname", "site"}),
    "tier": frozenset({"level", "plan", "servicetier"}),
    "title": frozenset({"dealname", "deal", "dealtitle", "opportunity", "opportunityname"}),
    "amount": frozenset({"value", "dealvalue", "dealamount", "total"}),
    "stage": frozenset({"dealstage", "pipelinestage", "phase"}),
    "contactemail": frozenset({"contact", "contactemailaddress", "email", "emailaddress"}),
}


def normalize_header(name: str) -> str:
    """Fold a header to its comparable form: accents, case, spacing and punctuation removed.

    >>> normalize_header("  E-Mail Address ")
    'emailaddress'
    """
    decomposed = unicodedata.normalize("NFKD", str(name))
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub("", ascii_only.casefold())


def _singular(key: str) -> str:
    return key[:-1] if len(key) > 3 and key.endswith("s") else key


@dataclass(frozen=True)
class HeaderMatch:
    """How a file's headers map onto a template's columns.

    ``mapping`` maps each matched file header to its template column, in file order.
    ``missing`` lists template columns no header matched, ``extra`` the headers that matched
    nothing (or repeated an already-matched column), and ``how`` says why each match was made
    (``exact``, ``normalized`` or ``synonym``).
    """

    mapping: dict[str, str]
    missing: list[str]
    extra: list[str]
    how: dict[str, str] = field(default_factory=dict)

    def missing_required(self, required: Sequence[str]) -> list[str]:
        """Required template columns that no header matched, in template order."""
        return [c for c in required if c in self.missing]


def _candidates(column: str) -> tuple[str, frozenset[str]]:
    key = normalize_header(column)
    return key, SYNONYMS.get(key, frozenset())


def match_headers(headers: Sequence[str], columns: Sequence[str]) -> HeaderMatch:
    """Match file headers to template columns, healing case, spacing, punctuation and synonyms.

    Three passes, strongest first: exact name, normalized name (also singular/plural), synonym.
    A template column is matched at most once; the first header that matches it wins.

    >>> match_headers(["EMAIL", "Surname"], ["Email", "Last Name"]).how
    {'EMAIL': 'normalized', 'Surname': 'synonym'}
    """
    mapping: dict[str, str] = {}
    how: dict[str, str] = {}
    taken: set[str] = set()
    keys = {c: _candidates(c) for c in columns}

    def assign(header: str, column: str, reason: str) -> None:
        mapping[header] = column
        how[header] = reason
        taken.add(column)

    for header in headers:
        if header in keys and header not in taken and header not in mapping:
            assign(header, header, "exact")
    for header in headers:
        if header in mapping:
            continue
        hkey = normalize_header(header)
        for column, (ckey, _) in keys.items():
            if column not in taken and ckey and _singular(ckey) == _singular(hkey):
                assign(header, column, "normalized")
                break
    for header in headers:
        if header in mapping:
            continue
        hkey = normalize_header(header)
        for column, (_, synonyms) in keys.items():
            if column not in taken and (hkey in synonyms or _singular(hkey) in synonyms):
                assign(header, column, "synonym")
                break

    ordered = {h: mapping[h] for h in headers if h in mapping}
    extra, used = [], set()
    for header in headers:  # a repeated header counts once; later copies are extra
        if header in ordered and header not in used:
            used.add(header)
        else:
            extra.append(header)
    return HeaderMatch(
        mapping=ordered,
        missing=[c for c in columns if c not in taken],
        extra=extra,
        how={h: how[h] for h in ordered},
    )


def file_stem_matches(file_name: str, template_name: str) -> bool:
    """True when a file name names the template: case-insensitive, extension stripped,
    singular or plural.

    >>> file_stem_matches("contacts.CSV", "Contacts"), file_stem_matches("contact.xlsx", "Contacts")
    (True, True)
    """
    stem = re.sub(r"\.(csv|tsv|xlsx|xls|json|jsonl|txt)$", "", file_name.strip(), flags=re.I)
    return _singular(normalize_header(stem)) == _singular(normalize_header(template_name))
