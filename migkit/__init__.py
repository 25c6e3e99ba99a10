"""migkit: validate, import, watch, export and reconcile spreadsheets via the Vern Migration API.

>>> import migkit
>>> client = migkit.Client(api_key="sk_...", ledger=None)  # doctest: +SKIP
>>> acme = client.companies.create("Acme", "Spreadsheet")  # doctest: +SKIP

The client never imports :mod:`migkit.sandbox`; start the local emulator explicitly::

    import migkit.sandbox
    with migkit.sandbox.start(step_seconds=0.1) as sb:
        client = migkit.Client(sb.api_key, sb.base_url)
"""

from __future__ import annotations

__version__ = "0.1.0"

from migkit._http import RequestBudget, ResponseLimits, RetryPolicy
from migkit.client import Client
from migkit.errors import (
    APIError,
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    Conflict,
    ExternalIdConflict,
    IdempotencyConflict,
    ImportInProgress,
    MigkitError,
    MigkitWarning,
    NotFound,
    RateLimited,
    ResponseTooLarge,
    RunFailed,
    ServerError,
    TransportError,
    UnexpectedRedirect,
    UnexpectedResponse,
    UsageError,
    WaitTimeout,
)
from migkit.export_files import ExportIncomplete, ExportTooLarge
from migkit.models import (
    Company,
    ExportReport,
    ExportRun,
    Question,
    Report,
    Run,
    Source,
    Template,
    Upload,
)
from migkit.polling import PollSchedule
from migkit.preflight import ValidationFailed
from migkit.read import ReadError, read
from migkit.reconcile import Normalize, ReconcileReport, diff_exports, reconcile
from migkit.validation import ValidationReport, validate, validate_file

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequest",
    "Client",
    "Company",
    "ConfigurationError",
    "Conflict",
    "ExportIncomplete",
    "ExportReport",
    "ExportRun",
    "ExportTooLarge",
    "ExternalIdConflict",
    "IdempotencyConflict",
    "ImportInProgress",
    "MigkitError",
    "MigkitWarning",
    "Normalize",
    "NotFound",
    "PollSchedule",
    "Question",
    "RateLimited",
    "ReadError",
    "ReconcileReport",
    "Report",
    "RequestBudget",
    "ResponseLimits",
    "ResponseTooLarge",
    "RetryPolicy",
    "Run",
    "RunFailed",
    "ServerError",
    "Source",
    "Template",
    "TransportError",
    "UnexpectedRedirect",
    "UnexpectedResponse",
    "Upload",
    "UsageError",
    "ValidationFailed",
    "ValidationReport",
    "WaitTimeout",
    "__version__",
    "diff_exports",
    "read",
    "reconcile",
    "validate",
    "validate_file",
]
