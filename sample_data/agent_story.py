"""The workbook for the Generation-2 agent story: ``agent_workbook.xlsx``.

Written by ``make_samples.py`` (which calls :func:`sheets`). Four sheets with names that are
not template names, so the agent routes them by their headers:

- ``Companies`` → Accounts. ``Level`` holds ``silver`` and ``GOLD`` (fixed without asking)
  and ``Platinum``, ``Enterprise`` (ambiguous: generate asks about Tier).
- ``People`` → Contacts. ``Status`` holds ``open`` and ``CLOSED `` (fixed) and
  ``in progress``, ``Done`` (asked). Three rows have no ``Email Address`` but a
  ``Work Email``: the update ``use Work Email for missing Email`` fills them in the preview.
  One row has neither, one a phone that is not a phone, one a company that does not exist:
  those stay flagged and execute inserts them flagged.
- ``Opportunities`` → Deals. ``Phase`` holds ``won`` (fixed) and ``Closed Won`` (asked);
  one ``Value`` is ``1,200.00`` (not an amount: flagged).
- ``Notes`` matches no template; the agent says so and leaves it out.
"""

from __future__ import annotations

COMPANY_HEADERS = ["Company Name", "Website", "Level"]
COMPANIES = [
    ["Northwind Traders", "northwind.example.org", "Gold"],
    ["Contoso Ltd", "contoso.com", "silver"],
    ["Fabrikam Inc", "fabrikam.com", "Platinum"],
    ["Tailspin Toys", "tailspintoys.com", "Bronze"],
    ["Litware Inc", "litware.io", "GOLD"],
    ["Adventure Works", "adventure-works.com", "Enterprise"],
]
PEOPLE_HEADERS = ["Email Address", "Work Email", "First", "Last", "Mobile", "Status", "Company"]
PEOPLE = [
    [
        "nancy@northwind.example.org",
        "",
        "Nancy",
        "Davolio",
        "+1 206 555 0101",
        "Open",
        "Northwind Traders",
    ],
    [
        "andrew@northwind.example.org",
        "",
        "Andrew",
        "Fuller",
        "+1 206 555 0102",
        "open",
        "Northwind Traders",
    ],
    [
        "",
        "janet.leverling@contoso.com",
        "Janet",
        "Leverling",
        "+1 425 555 0103",
        "Pending",
        "Contoso Ltd",
    ],
    [
        "margaret@contoso.com",
        "",
        "Margaret",
        "Peacock",
        "+1 425 555 0104",
        "CLOSED ",
        "Contoso Ltd",
    ],
    ["steven@fabrikam.com", "", "Steven", "Buchanan", "call me", "Open", "Fabrikam Inc"],
    [
        "",
        "michael.suyama@fabrikam.com",
        "Michael",
        "Suyama",
        "+44 20 5555 0106",
        "in progress",
        "Fabrikam Inc",
    ],
    [
        "robert@tailspintoys.com",
        "",
        "Robert",
        "King",
        "+44 20 5555 0107",
        "Closed",
        "Tailspin Toys",
    ],
    ["laura@tailspintoys.com", "", "Laura", "Callahan", "", "Done", "Tailspin Toys"],
    ["anne@litware.io", "", "Anne", "Dodsworth", "+49 30 5555 0109", "Pending", "Litware Inc"],
    ["", "", "Pat", "Nobody", "", "Open", "Litware Inc"],
    [
        "",
        "ines.garcia@adventure-works.com",
        "Inés",
        "García",
        "+34 91 555 0111",
        "open",
        "Adventure Works",
    ],
    ["oliver@umbrella.example", "", "Oliver", "Wood", "+1 312 555 0112", "Open", "Umbrella Corp"],
    [
        "zoe@adventure-works.com",
        "",
        "Zoë",
        "Martin",
        "+34 91 555 0113",
        "in progress",
        "Adventure Works",
    ],
    ["li.na@litware.io", "", "Na", "Li", "+86 10 5555 0114", "Closed", "Litware Inc"],
]
OPPORTUNITY_HEADERS = ["Opportunity", "Value", "Phase", "Contact"]
OPPORTUNITIES = [
    ["Northwind renewal", "12000", "Negotiation", "nancy@northwind.example.org"],
    ["Contoso expansion", "1,200.00", "Prospect", "margaret@contoso.com"],
    ["Fabrikam pilot", "4500.50", "won", "steven@fabrikam.com"],
    ["Tailspin holiday order", "980", "Closed Won", "robert@tailspintoys.com"],
    ["Litware migration", "23000", "Lost", "anne@litware.io"],
    ["Adventure Works trial", "300", "Prospect", "zoe@adventure-works.com"],
]
NOTE_HEADERS = ["Note", "Author"]
NOTES = [
    ["Call Fabrikam about the pilot", "Nancy"],
    ["Contoso wants an invoice in EUR", "Andrew"],
]


def sheets() -> dict[str, tuple[list[str], list[list[str]]]]:
    """The workbook's sheets, in order: name → (headers, rows)."""
    return {
        "Companies": (COMPANY_HEADERS, COMPANIES),
        "People": (PEOPLE_HEADERS, PEOPLE),
        "Opportunities": (OPPORTUNITY_HEADERS, OPPORTUNITIES),
        "Notes": (NOTE_HEADERS, NOTES),
    }


def readme_line() -> tuple[str, str, str, str]:
    """The README table row for the workbook."""
    emails_filled = sum(1 for p in PEOPLE if not p[0] and p[1])
    return (
        "agent_workbook.xlsx",
        f"{len(COMPANIES)} + {len(PEOPLE)} + {len(OPPORTUNITIES)} + {len(NOTES)}",
        "The Generation-2 agent story (see below): sheets `Companies`, `People`, "
        "`Opportunities` named after nothing, routed to Accounts, Contacts, Deals by their "
        "headers; `Notes` matches no template",
        "generate fixes `silver`, `GOLD`, `open`, `CLOSED `, `won` and asks about Tier "
        "(`Platinum`, `Enterprise`), Status (`in progress`, `Done`) and Stage (`Closed Won`); "
        f"{emails_filled} contacts have only a `Work Email`; after the answers, execute "
        "still flags a contact without any email, a phone `call me`, a company `Umbrella "
        "Corp` and an amount `1,200.00`",
    )


STORY = """
## The agent story (`agent_workbook.xlsx`, Generation 2)

The sandbox's agent stand-in ([`docs/sandbox-agent.md`](../docs/sandbox-agent.md)) tells a
whole Generation-2 story with this workbook (`tests/sandbox/test_sandbox_gen2_story.py` runs it):

1. `generate` routes `Companies`, `People` and `Opportunities` to Accounts, Contacts and Deals
   by their headers (`Company Name`, `Email Address`, `Opportunity`…), says `Notes` matches no
   template, fixes values that differ from an allowed value only in case or spacing, and stops
   `blocked` with three questions: Tier, Status and Stage.
2. Answer them, e.g. Tier `Map them all to 'Gold'`, Status with the free text `open`, Stage
   `Keep them flagged`: the run ends `awaiting_approval` with a preview in which three
   contacts have an empty, invalid Email.
3. `update` with `use Work Email for missing Email`: the preview now shows those three emails.
4. `execute` inserts every row; the contact with no email at all, the phone `call me`, the
   company `Umbrella Corp`, the amount `1,200.00` and the kept `Closed Won` are flagged, so
   `exports/contacts.csv?filter=invalid` and `exports/deals.csv?filter=invalid` list them.
"""
