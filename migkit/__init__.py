"""migkit: validate, import, watch, export and reconcile spreadsheets via the Vern Migration API.

>>> import migkit
>>> client = migkit.Client(api_key="sk_...", ledger=None)  # doctest: +SKIP
>>> acme = client.companies.create("Acme", "Spreadsheet")  # doctest: +SKIP

The client never imports :mod:`migkit.sandbox`; start the local emulator explicitly::

    import migkit.sandbox
    with migkit.sandbox.start(step_seconds=0.1) as sb:
        client = migkit.Client(sb.api_key, sb.base_url)

``import migkit`` itself loads only the errors: every other name here (the client, the frame
functions, pandas and pyarrow behind them) loads on first use, so ``migkit --help`` and a
script that only catches ``migkit.MigkitError`` start at once. ``docs/architecture.md`` maps
the package.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from migkit._version import __version__
from migkit.errors import (
    APIError,
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    Conflict,
    EngineOutOfMemory,
    ExportIncomplete,
    ExportTooLarge,
    ExternalIdConflict,
    Forbidden,
    IdempotencyConflict,
    ImportInProgress,
    MalformedPreview,
    MigkitError,
    MigkitWarning,
    NotFound,
    RateLimited,
    ReadError,
    ResponseTooLarge,
    RunError,
    RunFailed,
    ServerError,
    TransportError,
    UnexpectedRedirect,
    UnexpectedResponse,
    UnknownName,
    UsageError,
    ValidationFailed,
    WaitTimeout,
)

if TYPE_CHECKING:
    from migkit._answers import ResponseLimits
    from migkit._budget import RequestBudget
    from migkit._retry import RetryPolicy
    from migkit.client import Client
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
    from migkit.preview import Preview, PreviewSheet
    from migkit.read import read
    from migkit.reconcile import Normalize, ReconcileReport, diff_exports, reconcile
    from migkit.validation import ValidationReport, validate, validate_file

# Where each lazily loaded name lives.
_LAZY = {
    "Client": "migkit.client",
    "RequestBudget": "migkit._budget",
    "ResponseLimits": "migkit._answers",
    "RetryPolicy": "migkit._retry",
    "PollSchedule": "migkit.polling",
    "Preview": "migkit.preview",
    "PreviewSheet": "migkit.preview",
    **dict.fromkeys(
        ("Company", "ExportReport", "ExportRun", "Question", "Report", "Run", "Source"),
        "migkit.models",
    ),
    "Template": "migkit.models",
    "Upload": "migkit.models",
    "read": "migkit.read",
    **dict.fromkeys(
        ("Normalize", "ReconcileReport", "diff_exports", "reconcile"), "migkit.reconcile"
    ),
    **dict.fromkeys(("ValidationReport", "validate", "validate_file"), "migkit.validation"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'migkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # loaded once; later lookups find it directly
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """The ``migkit`` module, where two functions share their name with a submodule.

    Importing ``migkit.read`` or ``migkit.reconcile`` (as ``from migkit.read import ...``
    does) makes Python record the submodule as an attribute of the package, which would hide
    the function ``migkit.read`` (or ``migkit.reconcile``) that ``__getattr__`` provides. These
    properties come before the module's attributes, and ignore what the import system sets.
    """

    @property
    def read(self) -> Any:
        return importlib.import_module("migkit.read").read

    @read.setter
    def read(self, value: object) -> None:
        return None  # the submodule being recorded: migkit.read stays the function

    @property
    def reconcile(self) -> Any:
        return importlib.import_module("migkit.reconcile").reconcile

    @reconcile.setter
    def reconcile(self, value: object) -> None:
        return None


sys.modules[__name__].__class__ = _Package

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequest",
    "Client",
    "Company",
    "ConfigurationError",
    "Conflict",
    "EngineOutOfMemory",
    "ExportIncomplete",
    "ExportReport",
    "ExportRun",
    "ExportTooLarge",
    "ExternalIdConflict",
    "Forbidden",
    "IdempotencyConflict",
    "ImportInProgress",
    "MalformedPreview",
    "MigkitError",
    "MigkitWarning",
    "Normalize",
    "NotFound",
    "PollSchedule",
    "Preview",
    "PreviewSheet",
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
    "RunError",
    "RunFailed",
    "ServerError",
    "Source",
    "Template",
    "TransportError",
    "UnexpectedRedirect",
    "UnexpectedResponse",
    "UnknownName",
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
