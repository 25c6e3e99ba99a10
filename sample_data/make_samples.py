"""Regenerate migkit's sample data: realistic, deliberately messy customer files.

Run ``python sample_data/make_samples.py``; every file is written next to this script and the
output is byte-for-byte reproducible (``random.Random(7)``, fixed workbook timestamps). Only the
standard library and openpyxl are used.

The files target the Accounts, Contacts and Deals templates in ``templates.json``. Problems are
injected on purpose (header drift, invalid values, duplicates, blanks, broken links, awkward
CSV quoting, a non-UTF-8 file). After generating, the script audits the rows it wrote with the
templates' rules, checks the audit against what it meant to inject, prints the counts and writes
them into ``README.md`` so the documentation can never drift from the data.
"""

from __future__ import annotations

import csv
import io
import random
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import agent_story  # the Generation-2 agent story's workbook (sample_data/agent_story.py)
from openpyxl import Workbook
from openpyxl.styles import Font

HERE = Path(__file__).resolve().parent
SEED = 7

# The templates' rules (mirrors templates.json).
DOMAIN_RE = re.compile(r"^[a-z0-9.-]+\.[a-z]{2,}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9 ().-]{7,20}$")
AMOUNT_RE = re.compile(r"^\d+(\.\d{1,2})?$")
TIERS = ("Gold", "Silver", "Bronze")
STATUSES = ("Open", "Closed", "Pending")
STAGES = ("Prospect", "Negotiation", "Won", "Lost")

# File headers (drifted) in file order, keyed to the template column each one should heal to.
ACCOUNT_HEADERS = {"Company Name": "Name", "Website": "Domain", "tier": "Tier"}
CONTACT_HEADERS = {
    "E-mail": "Email",
    "first_name": "First Name",
    "Surname": "Last Name",
    "Phone Number": "Phone",
    "status": "Status",
    "Company": "Account",
}
DEAL_HEADERS = {
    "Deal Name": "Title",
    "Value": "Amount",
    "stage": "Stage",
    "Contact E-mail": "Contact Email",
}
ACCOUNT_COLUMNS = ["Name", "Domain", "Tier"]
CONTACT_COLUMNS = ["Email", "First Name", "Last Name", "Phone", "Status", "Account"]

Row = dict[str, str]

ACCOUNTS: list[tuple[str, str]] = [
    ("Acme Corporation", "acme.com"),
    ("Globex Industries", "globex-industries.com"),
    ("Société Générale Ltd", "sg-ltd.fr"),
    ("Hart, Pryce & Co", "hartpryce.co.uk"),
    ("Müller Logistik GmbH", "mueller-logistik.de"),
    ("Nordström Design AB", "nordstromdesign.se"),
    ("Øresund Analytics ApS", "oresund-analytics.dk"),
    ("€uroLink Logistics SARL", "eurolink-logistics.fr"),
    ("Initrode Systems", "initrode.io"),
    ("Vandelay Industries", "vandelay.com"),
    ("Stark Fabrication", "starkfab.com"),
    ("Wayne Biotech", "waynebiotech.com"),
    ("Cyberdyne Robotics", "cyberdyne.ai"),
    ("Tyrell Components", "tyrell-components.com"),
    ("Soylent Foods", "soylentfoods.com"),
    ("Hooli Cloud Services", "hooli.cloud"),
    ("Pied Piper Compression", "piedpiper.net"),
    ("Aperture Labs", "aperturelabs.org"),
    ("Massive Dynamic", "massivedynamic.com"),
    ("Oscorp Materials", "oscorp.com"),
    ("Blue Sun Trading", "bluesun.trade"),
    ("Dunder Mifflin Paper", "dundermifflin.com"),
    ("Prestige Worldwide", "prestigeworldwide.biz"),
    ("Bluth Property Group", "bluthgroup.com"),
    ("Gringotts Advisory", "gringotts-advisory.co.uk"),
    ("Wonka Confectionery", "wonka.com"),
    ("Zorg Industries", "zorg.fr"),
    ("Monarch Analytics", "monarch-analytics.com"),
    ("Sirius Cybernetics", "siriuscybernetics.com"),
    ("Bright Horizon Dental", "brighthorizondental.com.au"),
    ("Kowalski & Nowak Sp. z o.o.", "kowalski-nowak.pl"),
    ("Ōkami Trading KK", "okami-trading.jp"),
    ("Café Lumière SAS", "cafelumiere.fr"),
    ("São Paulo Têxteis Ltda", "sptexteis.com.br"),
    ("Čapek Robotics s.r.o.", "capek-robotics.cz"),
    ("Northwind Traders", "northwindtraders.com"),
    ("Contoso Pharmaceuticals", "contoso-pharma.com"),
    ("Fabrikam Engineering", "fabrikam.eng.br"),
]
BAD_DOMAINS = {"Acme Corporation": "Acme.COM", "Prestige Worldwide": "not a domain"}
BAD_TIERS = {"Globex Industries": "gold", "Wayne Biotech": "Platinum"}
DUPLICATE_ACCOUNT = ("Northwind Traders", "northwind.example.org")
BLANK_NAME_DOMAIN = "unknown-co.net"

FIRST_NAMES = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Ethan",
    "Sophia",
    "Mason",
    "Isabella",
    "Lucas",
    "Mia",
    "Oliver",
    "Amelia",
    "James",
    "Harper",
    "Benjamin",
    "Evelyn",
    "Elijah",
    "Abigail",
    "Henry",
    "Priya",
    "Arjun",
    "Mei",
    "Hiroshi",
    "Fatima",
    "Omar",
    "Ingrid",
    "Lars",
    "Matteo",
    "Giulia",
    "Sven",
    "Aisha",
    "Kwame",
    "Nadia",
    "Pieter",
    "Anouk",
    "Diego",
    "Grace",
    "Tomas",
    "Rachel",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Patel",
    "Nakamura",
    "Chen",
    "Okafor",
    "Haddad",
    "Larsen",
    "Rossi",
    "Dubois",
    "Janssen",
    "Novak",
    "Schneider",
    "O'Brien",
    "Kowalczyk",
    "Ibrahim",
    "Mensah",
    "van Dijk",
    "Sato",
    "Kim",
    "Nguyen",
    "Campbell",
]
UNICODE_PEOPLE = [
    ("Zoë", "Müller"),
    ("José", "Núñez"),
    ("Łukasz", "Wiśniewski"),
    ("娜", "李"),
    ("Søren", "Ødegaard"),
    ("Chloé", "Lefèvre"),
]
TRANSLIT = {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "李": "li", "娜": "na", "€": "e"}

BAD_EMAILS = [
    ("jane.doe@", "Jane", "Doe"),
    ("bob at example.com", "Bob", "Fischer"),
    ("x@y", "Xavier", "Young"),
    ("ann@ex.com ", "Ann", "Exley"),
]
BAD_STATUSES = ["open", "open", "in progress", "DONE", "closed ", "Pending?", "CLOSED", "Active"]
BAD_PHONES = ["call me", "12", "+1 415 555 0199 ext. 4"]
UNKNOWN_ACCOUNTS = ["Acme Corp", "Globex Holdings", "Umbrella Pharma"]
LEADING_ZERO_PHONE = "00441632960958"
# Awkward for CSV quoting, not invalid: an embedded comma, double quote and newline ("" = keep).
AWKWARD_PEOPLE = [("", "Whitaker, Jr."), ('Robert "Bob"', ""), ("", "García\nLópez")]

DEAL_KINDS = [
    "Annual renewal",
    "Platform expansion",
    "Pilot",
    "Support upgrade",
    "Data migration",
    "Training package",
    "Multi-year licence",
    "Add-on seats",
]
BAD_AMOUNTS = ["1,200.00", "$300", "12.345"]
BAD_STAGES = ["won", "Closed Won", "closed lost"]
UNKNOWN_DEAL_EMAILS = [
    "sales@initech.com",
    "m.jones@oldclient.net",
    "procurement@umbrella-pharma.com",
]

CP1252_PEOPLE = [
    ("Renée", "Dupré"),
    ("Jürgen", "Müller"),
    ("Zoë", "Brontë"),
    ("André", "Lefèvre"),
    ("Günter", "Schäfer"),
    ("Inés", "Peña"),
    ("François", "Béranger"),
    ("Björn", "Åkesson"),
    ("Noémie", "Fèvre"),
    ("Ümit", "Öztürk"),
]
NO_EMAIL_HEADERS = ["Name", "Phone", "Company"]
FIXED_TIME = datetime(2025, 1, 1)


# --------------------------------------------------------------------------- helpers


def ascii_slug(text: str) -> str:
    """Fold a name to the lower-case ASCII used in email local parts."""
    text = "".join(TRANSLIT.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", plain.casefold())


def make_email(rng: random.Random, first: str, last: str, domain: str, used: set[str]) -> str:
    """A plausible, unused work email for a person at ``domain``."""
    f, lst = ascii_slug(first) or "contact", ascii_slug(last) or "person"
    local = rng.choice([f"{f}.{lst}", f"{f[0]}.{lst}", f"{f}{lst[0]}", f"{f}_{lst}"])
    email, n = f"{local}@{domain}", 2
    while email in used:
        email, n = f"{local}{n}@{domain}", n + 1
    used.add(email)
    return email


def make_phone(rng: random.Random) -> str:
    """A valid phone number in one of several national formats (fictional ranges)."""
    n = rng.randrange(100, 1000)
    return rng.choice(
        [
            f"+1 415 555 0{n}",
            f"+1 (212) 555-0{n}",
            f"(020) 7946 0{n}",
            f"+44 20 7946 0{n}",
            f"+49 30 901820{n % 100:02d}",
            f"+33 1 23 45 6{n % 10} {n % 100:02d}",
            f"555.01{n % 100:02d}",
        ]
    )


def make_amount(rng: random.Random) -> str:
    """A valid amount: whole, one decimal or two decimals."""
    whole = rng.choice([rng.randrange(500, 5000), rng.randrange(5000, 250_000)])
    return rng.choice([str(whole), f"{whole}.{rng.randrange(100):02d}", f"{whole}.5"])


def domain_for(account: str, domains: dict[str, str]) -> str:
    """The email domain of an account (a made-up one when the account has none)."""
    return domains.get(account) or f"{ascii_slug(account)[:12]}.com"


def write_csv(
    path: Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    newline: str = "\n",
) -> None:
    """Write an RFC 4180 file (minimal quoting) with the given separator, encoding and EOL."""
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator=newline)
        writer.writerow(headers)
        writer.writerows(rows)


def as_table(rows: list[Row], headers: dict[str, str]) -> list[list[str]]:
    """Rows keyed by template column, laid out in the (drifted) file header order."""
    return [[row[column] for column in headers.values()] for row in rows]


# --------------------------------------------------------------------------- generators


def build_accounts(rng: random.Random) -> list[Row]:
    """~40 accounts: mostly clean, plus bad domains/tiers, a duplicate and a blank name."""
    rows: list[Row] = []
    for name, domain in ACCOUNTS:
        tier = rng.choice(TIERS)
        rows.append(
            {
                "Name": name,
                "Domain": BAD_DOMAINS.get(name, domain),
                "Tier": BAD_TIERS.get(name, tier),
            }
        )
    clean = [
        i
        for i, r in enumerate(rows)
        if r["Name"] not in BAD_DOMAINS
        and r["Name"] not in BAD_TIERS
        and r["Name"] != DUPLICATE_ACCOUNT[0]
    ]
    for i in rng.sample(clean, 5)[:2]:
        rows[i]["Domain"] = ""
    for i in rng.sample(clean, 5)[:3]:
        rows[i]["Tier"] = ""
    original = next(i for i, r in enumerate(rows) if r["Name"] == DUPLICATE_ACCOUNT[0])
    rows.insert(
        rng.randrange(original + 1, len(rows) + 1),
        {"Name": DUPLICATE_ACCOUNT[0], "Domain": DUPLICATE_ACCOUNT[1], "Tier": "Silver"},
    )
    rows.insert(
        rng.randrange(5, len(rows)), {"Name": "", "Domain": BLANK_NAME_DOMAIN, "Tier": "Bronze"}
    )
    return rows


def linkable_accounts(rows: list[Row]) -> list[str]:
    """Account names that are safe link targets: the row is valid and the name is unique."""
    counts = Counter(r["Name"] for r in rows)
    return [
        r["Name"]
        for r in rows
        if r["Name"]
        and counts[r["Name"]] == 1
        and (not r["Domain"] or DOMAIN_RE.match(r["Domain"]))
        and (not r["Tier"] or r["Tier"] in TIERS)
    ]


def build_contacts(rng: random.Random, accounts: list[Row]) -> tuple[list[Row], list[int]]:
    """200 contacts with the problems listed in README.md; also returns the indices of the
    rows whose emails are later repeated (so they are not used as link targets)."""
    targets = linkable_accounts(accounts)
    domains = {r["Name"]: r["Domain"] for r in accounts if r["Name"]}
    used: set[str] = set()
    rows: list[Row] = []
    for _ in range(200):
        first, last, account = (
            rng.choice(FIRST_NAMES),
            rng.choice(LAST_NAMES),
            rng.choice(targets),
        )
        rows.append(
            {
                "Email": make_email(rng, first, last, domain_for(account, domains), used),
                "First Name": first,
                "Last Name": last,
                "Phone": "" if rng.random() < 0.08 else make_phone(rng),
                "Status": "" if rng.random() < 0.06 else rng.choice(STATUSES),
                "Account": account,
            }
        )

    def rename(i: int, first: str, last: str) -> None:
        used.discard(rows[i]["Email"])
        email = make_email(rng, first, last, domain_for(rows[i]["Account"], domains), used)
        rows[i].update({"First Name": first, "Last Name": last, "Email": email})

    originals = rng.sample(range(20), 3)
    picks = rng.sample(range(20, 200), 28)
    touched = set(originals) | set(picks)
    bad_email, picks = picks[:4], picks[4:]
    dup_email, picks = picks[:3], picks[3:]
    blank_email, picks = picks[:3], picks[3:]
    blank_first, picks = picks[:1], picks[1:]
    bad_status, picks = picks[:8], picks[8:]
    bad_phone, picks = picks[:3], picks[3:]
    unknown, cosmetic = picks[:3], picks[3:]

    for i, (email, first, last) in zip(bad_email, BAD_EMAILS, strict=True):
        rows[i].update({"Email": email, "First Name": first, "Last Name": last})
    for i, src in zip(dup_email, originals, strict=True):
        rows[i].update({k: rows[src][k] for k in ("Email", "First Name", "Last Name", "Account")})
    for i in blank_email:
        rows[i]["Email"] = ""
    for i in blank_first:
        rows[i]["First Name"] = ""
    for i, status in zip(bad_status, BAD_STATUSES, strict=True):
        rows[i]["Status"] = status
    for i, phone in zip(bad_phone, BAD_PHONES, strict=True):
        rows[i]["Phone"] = phone
    for i, account in zip(unknown, UNKNOWN_ACCOUNTS, strict=True):
        rows[i]["Account"] = account
    for i, (first, last) in zip(cosmetic, AWKWARD_PEOPLE, strict=True):
        rename(i, first or rows[i]["First Name"], last or rows[i]["Last Name"])

    clean = [i for i in range(200) if i not in touched]
    specials = rng.sample(clean, len(UNICODE_PEOPLE) + 1)
    for i, (first, last) in zip(specials, UNICODE_PEOPLE, strict=False):
        rename(i, first, last)
    rows[specials[-1]]["Phone"] = LEADING_ZERO_PHONE
    return rows, originals


def build_deals(rng: random.Random, contacts: list[Row], originals: list[int]) -> list[Row]:
    """60 deals linked to valid contacts, with bad amounts/stages and unknown contacts."""
    valid_accounts = {c["Account"] for c in contacts} - set(UNKNOWN_ACCOUNTS)
    emails = Counter(c["Email"] for c in contacts)
    pool = [
        c
        for i, c in enumerate(contacts)
        if i not in originals
        and emails[c["Email"]] == 1
        and EMAIL_RE.match(c["Email"])
        and c["First Name"]
        and (not c["Phone"] or PHONE_RE.match(c["Phone"]))
        and (not c["Status"] or c["Status"] in STATUSES)
        and c["Account"] in valid_accounts
    ]
    rows: list[Row] = []
    for _ in range(60):
        contact = rng.choice(pool)
        rows.append(
            {
                "Title": f"{contact['Account']} – {rng.choice(DEAL_KINDS)}",
                "Amount": make_amount(rng),
                "Stage": rng.choices(STAGES, weights=(4, 3, 2, 1))[0],
                "Contact Email": contact["Email"],
            }
        )
    picks = rng.sample(range(60), 18)
    for i, amount in zip(picks[0:3], BAD_AMOUNTS, strict=True):
        rows[i]["Amount"] = amount
    for i, stage in zip(picks[3:6], BAD_STAGES, strict=True):
        rows[i]["Stage"] = stage
    for i, email in zip(picks[6:9], UNKNOWN_DEAL_EMAILS, strict=True):
        rows[i]["Contact Email"] = email
    rows[picks[9]]["Title"] = ""
    for i in picks[10:14]:
        rows[i]["Contact Email"] = ""
    for i in picks[14:16]:
        rows[i]["Amount"] = ""
    for i in picks[16:18]:
        rows[i]["Stage"] = ""
    return rows


def build_clean(rng: random.Random, accounts: list[Row]) -> tuple[list[Row], list[Row]]:
    """A small, fully valid Accounts/Contacts pair using the exact template headers."""
    chosen = [
        r
        for r in accounts
        if r["Name"] in linkable_accounts(accounts) and r["Domain"] and r["Tier"]
    ]
    clean_accounts = [dict(r) for r in rng.sample(chosen, 5)]
    used: set[str] = set()
    contacts: list[Row] = []
    people = [
        *UNICODE_PEOPLE[:3],
        *[(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)) for _ in range(47)],
    ]
    for first, last in people:
        account = rng.choice(clean_accounts)
        contacts.append(
            {
                "Email": make_email(rng, first, last, account["Domain"], used),
                "First Name": first,
                "Last Name": last,
                "Phone": make_phone(rng),
                "Status": rng.choice(STATUSES),
                "Account": account["Name"],
            }
        )
    return clean_accounts, contacts


def build_no_email(rng: random.Random, accounts: list[Row]) -> list[list[str]]:
    """10 contact-like rows whose headers contain nothing that could be an email column."""
    targets = linkable_accounts(accounts)
    return [
        [
            f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            make_phone(rng),
            rng.choice(targets),
        ]
        for _ in range(10)
    ]


def build_cp1252(rng: random.Random, accounts: list[Row]) -> list[Row]:
    """10 valid contacts whose names (and one account, with €) need cp1252, not ASCII."""
    domains = {r["Name"]: r["Domain"] for r in accounts if r["Name"]}
    targets = [n for n in linkable_accounts(accounts) if _encodes(n, "cp1252")]
    euro = next(n for n in targets if "€" in n)
    used: set[str] = set()
    rows: list[Row] = []
    for k, (first, last) in enumerate(CP1252_PEOPLE):
        account = euro if k in (2, 7) else rng.choice(targets)
        rows.append(
            {
                "Email": make_email(rng, first, last, domain_for(account, domains), used),
                "First Name": first,
                "Last Name": last,
                "Phone": make_phone(rng),
                "Status": rng.choice(STATUSES),
                "Account": account,
            }
        )
    return rows


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


# --------------------------------------------------------------------------- workbook


def write_workbook(path: Path, sheets: dict[str, tuple[list[str], list[list[str]]]]) -> None:
    """Write every sheet as text cells (blank cells left empty), with reproducible bytes."""
    wb = Workbook()
    for default_sheet in list(wb.worksheets):
        wb.remove(default_sheet)
    for title, (headers, rows) in sheets.items():
        ws = wb.create_sheet(title)
        ws.append(headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([value if value != "" else None for value in row])
        for data_row in ws.iter_rows(min_row=2):
            for cell in data_row:
                if cell.value is not None:
                    cell.number_format = "@"  # Text: keeps e.g. 0044... a string in Excel
        ws.freeze_panes = "A2"
    wb.properties.creator = "migkit sample data"
    wb.properties.created = FIXED_TIME
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(_reproducible_zip(buffer.getvalue()))


def _reproducible_zip(data: bytes) -> bytes:
    """Pin the zip entry times and the workbook's modified stamp so reruns are identical."""
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            payload = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                payload = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, payload)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, payload)
    return out.getvalue()


# --------------------------------------------------------------------------- audit


def _blank(rows: list[Row], col: str) -> int:
    return sum(1 for r in rows if r[col] == "")


def _repeats(rows: list[Row], col: str) -> int:
    counts = Counter(r[col] for r in rows if r[col] != "")
    return sum(n - 1 for n in counts.values())


def _pattern_fails(rows: list[Row], col: str, pattern: re.Pattern[str]) -> int:
    return sum(1 for r in rows if r[col] != "" and not pattern.match(r[col]))


def _list_fails(rows: list[Row], col: str, allowed: Sequence[str]) -> int:
    return sum(1 for r in rows if r[col] != "" and r[col] not in allowed)


def _containing(rows: list[Row], char: str) -> int:
    return sum(1 for r in rows for v in r.values() if char in v)


def audit_accounts(rows: list[Row]) -> dict[str, int]:
    """Problem counts for an Accounts file, by the template's rules."""
    return {
        "rows": len(rows),
        "blank Name (required)": _blank(rows, "Name"),
        "duplicate Name (unique)": _repeats(rows, "Name"),
        "bad Domain": _pattern_fails(rows, "Domain", DOMAIN_RE),
        "Tier not in list": _list_fails(rows, "Tier", TIERS),
        "blank Domain (allowed)": _blank(rows, "Domain"),
        "blank Tier (allowed)": _blank(rows, "Tier"),
        "cells with a comma": _containing(rows, ","),
        "non-ASCII names": sum(1 for r in rows if not r["Name"].isascii()),
    }


def audit_contacts(rows: list[Row], account_names: set[str]) -> dict[str, int]:
    """Problem counts for a Contacts file, by the template's rules."""
    return {
        "rows": len(rows),
        "blank Email (required)": _blank(rows, "Email"),
        "bad Email": _pattern_fails(rows, "Email", EMAIL_RE),
        "duplicate Email (unique)": _repeats(rows, "Email"),
        "blank First Name (required)": _blank(rows, "First Name"),
        "bad Phone": _pattern_fails(rows, "Phone", PHONE_RE),
        "Status not in list": _list_fails(rows, "Status", STATUSES),
        "unknown Account (link)": sum(
            1 for r in rows if r["Account"] and r["Account"] not in account_names
        ),
        "blank Account (required)": _blank(rows, "Account"),
        "blank Phone (allowed)": _blank(rows, "Phone"),
        "blank Status (allowed)": _blank(rows, "Status"),
        "cells with a comma": _containing(rows, ","),
        "cells with a double quote": _containing(rows, '"'),
        "cells with a newline": _containing(rows, "\n"),
        "non-ASCII names": sum(1 for r in rows if not (r["First Name"] + r["Last Name"]).isascii()),
    }


def audit_deals(rows: list[Row], contact_emails: set[str]) -> dict[str, int]:
    """Problem counts for a Deals file, by the template's rules."""
    return {
        "rows": len(rows),
        "blank Title (required)": _blank(rows, "Title"),
        "bad Amount": _pattern_fails(rows, "Amount", AMOUNT_RE),
        "Stage not in list": _list_fails(rows, "Stage", STAGES),
        "unknown Contact Email (link)": sum(
            1 for r in rows if r["Contact Email"] and r["Contact Email"] not in contact_emails
        ),
        "blank Amount (allowed)": _blank(rows, "Amount"),
        "blank Stage (allowed)": _blank(rows, "Stage"),
        "blank Contact Email (allowed)": _blank(rows, "Contact Email"),
    }


ERROR_KEYS = ("required", "unique", "bad ", "not in list", "link")


def error_total(counts: dict[str, int]) -> int:
    """Total invalid cells in an audit (blanks in optional columns are not errors)."""
    return sum(n for k, n in counts.items() if _is_error(k))


def _expect(label: str, counts: dict[str, int], expected: dict[str, int]) -> None:
    wrong = {k: (counts[k], v) for k, v in expected.items() if counts[k] != v}
    if wrong:
        raise SystemExit(f"{label}: audit disagrees with the injected problems {wrong}")


def _is_error(key: str) -> bool:
    return any(e in key for e in ERROR_KEYS)


def _describe(counts: dict[str, int]) -> str:
    """'N invalid cells (a: 1; b: 2). Also: c: 3' from an audit; empty parts left out."""
    errors = "; ".join(f"{k}: {n}" for k, n in counts.items() if _is_error(k) and n)
    other = "; ".join(
        f"{k}: {n}" for k, n in counts.items() if k != "rows" and not _is_error(k) and n
    )
    text = f"{error_total(counts)} invalid cells ({errors})" if errors else "no invalid cells"
    return f"{text}. Also: {other}" if other else text


# --------------------------------------------------------------------------- main


def main() -> None:
    """Generate every sample file, audit it, print the counts and write README.md."""
    rng = random.Random(SEED)
    accounts = build_accounts(rng)
    contacts, originals = build_contacts(rng, accounts)
    deals = build_deals(rng, contacts, originals)
    clean_accounts, clean_contacts = build_clean(rng, accounts)
    no_email = build_no_email(rng, accounts)
    cp1252_rows = build_cp1252(rng, accounts)

    account_table = as_table(accounts, ACCOUNT_HEADERS)
    contact_table = as_table(contacts, CONTACT_HEADERS)
    deal_table = as_table(deals, DEAL_HEADERS)
    write_csv(HERE / "accounts.csv", list(ACCOUNT_HEADERS), account_table)
    write_csv(HERE / "contacts.csv", list(CONTACT_HEADERS), contact_table)
    write_csv(HERE / "deals.tsv", list(DEAL_HEADERS), deal_table, delimiter="\t")
    write_csv(
        HERE / "accounts_clean.csv",
        ACCOUNT_COLUMNS,
        [[r[c] for c in ACCOUNT_COLUMNS] for r in clean_accounts],
    )
    write_csv(
        HERE / "contacts_clean.csv",
        CONTACT_COLUMNS,
        [[r[c] for c in CONTACT_COLUMNS] for r in clean_contacts],
    )
    write_csv(HERE / "contacts_no_email.csv", NO_EMAIL_HEADERS, no_email)
    write_csv(
        HERE / "contacts_cp1252.csv",
        CONTACT_COLUMNS,
        [[r[c] for c in CONTACT_COLUMNS] for r in cp1252_rows],
        encoding="cp1252",
        newline="\r\n",
    )
    write_workbook(
        HERE / "customer_workbook.xlsx",
        {
            "Accounts": (list(ACCOUNT_HEADERS), account_table),
            "Contacts": (list(CONTACT_HEADERS), contact_table),
            "Deals": (list(DEAL_HEADERS), deal_table),
        },
    )

    cp1252_bytes = (HERE / "contacts_cp1252.csv").read_bytes()
    euros, high = cp1252_bytes.count(b"\x80"), sum(b > 0x7F for b in cp1252_bytes)
    try:
        cp1252_bytes.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        raise SystemExit("contacts_cp1252.csv unexpectedly decodes as UTF-8")

    names = {r["Name"] for r in accounts if r["Name"]}
    a = audit_accounts(accounts)
    c = audit_contacts(contacts, names)
    d = audit_deals(deals, {r["Email"] for r in contacts if r["Email"]})
    ca = audit_accounts(clean_accounts)
    cc = audit_contacts(clean_contacts, {r["Name"] for r in clean_accounts})
    cp = audit_contacts(cp1252_rows, names)
    _expect(
        "accounts",
        a,
        {
            "rows": 40,
            "blank Name (required)": 1,
            "duplicate Name (unique)": 1,
            "bad Domain": 2,
            "Tier not in list": 2,
        },
    )
    _expect(
        "contacts",
        c,
        {
            "rows": 200,
            "blank Email (required)": 3,
            "bad Email": 4,
            "duplicate Email (unique)": 3,
            "blank First Name (required)": 1,
            "bad Phone": 3,
            "Status not in list": 8,
            "unknown Account (link)": 3,
            "blank Account (required)": 0,
            "cells with a double quote": 1,
            "cells with a newline": 1,
        },
    )
    _expect(
        "deals",
        d,
        {
            "rows": 60,
            "blank Title (required)": 1,
            "bad Amount": 3,
            "Stage not in list": 3,
            "unknown Contact Email (link)": 3,
        },
    )
    for label, counts in (("accounts_clean", ca), ("contacts_clean", cc), ("contacts_cp1252", cp)):
        if error_total(counts):
            raise SystemExit(f"{label} should be valid: {_describe(counts)}")

    lines = [
        (
            "accounts.csv",
            str(a["rows"]),
            "Accounts with header drift (`Company Name`, `Website`, `tier` → Name, Domain, Tier)",
            _describe(a),
        ),
        (
            "contacts.csv",
            str(c["rows"]),
            "Contacts with header drift (`E-mail`, `first_name`, "
            "`Surname`, `Phone Number`, `status`, `Company`); Account links to accounts.csv",
            _describe(c),
        ),
        (
            "deals.tsv",
            str(d["rows"]),
            "Deals, tab-separated, header drift (`Deal Name`, `Value`, "
            "`stage`, `Contact E-mail`); Contact Email links to contacts.csv",
            _describe(d),
        ),
        (
            "accounts_clean.csv",
            str(ca["rows"]),
            "Valid Accounts, exact template headers",
            _describe(ca),
        ),
        (
            "contacts_clean.csv",
            str(cc["rows"]),
            "Valid Contacts, exact template headers; Account links to accounts_clean.csv",
            _describe(cc),
        ),
        (
            "contacts_no_email.csv",
            str(len(no_email)),
            "Contacts file with headers `Name,Phone,Company`: unrecoverable drift",
            "no header can map to the required Email (nor to the required First Name: `Name` "
            "maps to nothing); only Phone and Company → Account map, so Last Name and Status "
            "are missing too",
        ),
        (
            "contacts_cp1252.csv",
            str(cp["rows"]),
            "Valid Contacts, exact headers, but cp1252 encoded with CRLF line ends",
            f"not valid UTF-8 ({euros} `€` bytes among {high} non-ASCII bytes); decoded as "
            "cp1252 it has no invalid cells and its accounts exist in accounts.csv",
        ),
        (
            "customer_workbook.xlsx",
            f"{a['rows']} + {c['rows']} + {d['rows']}",
            "Sheets `Accounts`, "
            "`Contacts`, `Deals`: the same headers and rows as accounts.csv, contacts.csv, "
            "deals.tsv, all as text cells (blanks empty)",
            f"the same problems as those three files ({error_total(a)} + {error_total(c)} + "
            f"{error_total(d)} invalid cells); the leading-zero phone `{LEADING_ZERO_PHONE}` "
            "must stay text",
        ),
    ]
    write_workbook(HERE / "agent_workbook.xlsx", agent_story.sheets())
    lines.append(agent_story.readme_line())
    for name, rows, _, problems in lines:
        print(f"{name}: {rows} rows; {problems}")
    write_readme(lines, agent_story.STORY)


def write_readme(lines: list[tuple[str, str, str, str]], story: str = "") -> None:
    """Write README.md: one table of the files, what each is for and its exact problems."""
    table = "\n".join(f"| `{n}` | {r} | {what} | {problems} |" for n, r, what, problems in lines)
    text = f"""# Sample data

Generated by `python sample_data/make_samples.py` (seeded, reproducible; do not edit the data
files or this README by hand, change the script and rerun it). The files target the templates in
`templates.json`. Counts below are computed from the generated rows with the templates' rules;
"invalid cells" counts cells that break a rule (blank optional cells are listed but allowed).

| File | Rows | Purpose | Deliberate problems |
|---|---|---|---|
{table}

Notes: `ann@ex.com ` (contacts.csv) and `closed ` have a trailing space, so they only pass
after trimming. Unknown accounts are near misses (`Acme Corp`, `Globex Holdings`) plus
`Umbrella Pharma`. The comma, double-quote and newline cells are RFC 4180 quoted. Deals and
contacts only link to rows that are themselves valid and unique, so the link counts above are
the only link failures.
{story}"""
    (HERE / "README.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
