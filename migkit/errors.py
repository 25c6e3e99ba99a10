"""Every error migkit raises, in one tree; catch :class:`MigkitError` to catch them all.

::

    MigkitError
    ├── ConfigurationError          no key, an unsafe base URL
    ├── UsageError (ValueError)     a call migkit cannot make as written
    ├── ValidationFailed (ValueError)  a request the API would refuse; nothing was sent
    ├── ReadError (ValueError)      a file migkit cannot read as it is
    ├── UnknownName (KeyError)      no source, template, sheet or column by that name
    ├── TransportError              no HTTP answer (refused, dropped, past the deadline)
    │   └── UnexpectedRedirect      a 3xx, which migkit never follows
    ├── UnexpectedResponse          an answer the API does not give (HTML, cut-off JSON, ...)
    │   ├── ResponseTooLarge        past a cap of ResponseLimits
    │   └── MalformedPreview        a Generation-2 preview body of the wrong shape
    ├── APIError                    the API answered an error status
    │   ├── BadRequest              400, 413
    │   ├── AuthenticationError     401
    │   ├── Forbidden               403
    │   ├── NotFound                404
    │   ├── Conflict                409
    │   │   ├── IdempotencyConflict
    │   │   ├── ImportInProgress
    │   │   └── ExternalIdConflict
    │   ├── RateLimited             429, after migkit's own retries
    │   └── ServerError             5xx, after migkit's own retries
    ├── RunError                    a run did not end as hoped (``run_id``)
    │   ├── RunFailed               it ended ``failed``
    │   └── WaitTimeout             the wait gave up; the run goes on
    ├── EngineOutOfMemory (MemoryError)  DuckDB ran out of memory within its cap
    └── ExportIncomplete            a downloaded export is truncated or malformed
        └── ExportTooLarge          past ResponseLimits.download_bytes or zip_ratio
    MigkitWarning (UserWarning)     something migkit did on your behalf

An :class:`APIError` carries its evidence: ``status_code``, the response ``headers``, the
server's ``request_id`` (whichever request-id header it sends; the Vern API documents none),
the server's ``error`` text, the decoded ``body`` and a redacted ``body_excerpt``. Its message
adds what to do next. Lower-level causes are chained (``raise ... from exc``), except where the
cause would carry a secret; those places say why.

>>> try:
...     raise NotFound(404, "Company c0a8 isn't in your account")
... except APIError as exc:
...     print(exc.status_code, exc.server_message)
404 Company c0a8 isn't in your account
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from migkit.printable import printable

MESSAGE_LIMIT = 500  # characters of a server's text kept in an exception message
# Headers servers and proxies use to name a request for their logs (the first one found wins).
REQUEST_ID_HEADERS = (
    "x-request-id",
    "request-id",
    "x-correlation-id",
    "x-amzn-requestid",
    "x-amz-request-id",
    "cf-ray",
)


class MigkitError(Exception):
    """Base class of every error migkit raises."""


class MigkitWarning(UserWarning):
    """Something migkit did on your behalf that you should know about (e.g. a file it
    re-encoded before uploading)."""


class ConfigurationError(MigkitError):
    """migkit is not set up to talk to the API (no key, an unsafe URL, ...)."""


class UsageError(MigkitError, ValueError):
    """A call migkit cannot make as written; the message says how to call it."""


class ValidationFailed(MigkitError, ValueError):
    """The request would be refused; ``problems`` lists every reason. Nothing was sent.

    >>> ValidationFailed(["name is empty"]).problems
    ['name is empty']
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{len(self.problems)} problem(s) found before sending; nothing was "
            f"sent. Fix them and call again:\n{listing}"
        )


class ReadError(MigkitError, ValueError):
    """A file migkit cannot read as it is; the message says where and what to do."""


class UnknownName(MigkitError, KeyError):
    """A lookup by name or id found nothing: no source or template in the account, no sheet
    in a company, no column in a template or frame. It is a ``KeyError`` too, as any lookup
    that misses is; the message lists what there is.

    >>> str(UnknownName("no template 'Contcts'; templates: 'Contacts'"))
    "no template 'Contcts'; templates: 'Contacts'"
    """

    def __str__(self) -> str:
        # KeyError's str is the repr of its argument; the message reads better plain.
        return str(self.args[0]) if self.args else ""


class TransportError(MigkitError):
    """The request never got an HTTP answer (connection refused or dropped, timeout).

    Whether the server acted on it is unknown; migkit only retries such requests when that is
    safe (GETs, fresh signed uploads, POSTs with an idempotency key).
    """


class UnexpectedRedirect(TransportError):
    """The server answered a redirect (3xx), which migkit never follows.

    The Vern API documents no redirects. Following one would send the API key (or a
    signed upload's data) wherever the ``Location`` points, and turn a POST into a GET whose
    answer is not the run it seems to be. ``location`` is the target (without its query
    string), ``status_code`` the 3xx code (also ``status``).
    """

    def __init__(self, method: str, path: str, status: int, location: str) -> None:
        self.method = method
        self.path = path
        self.status_code = self.status = status
        self.location = location
        super().__init__(
            f"{method} {printable(path)} answered {status} with a redirect to "
            f"{printable(location, limit=300)}; migkit follows no redirects, so the API key "
            "and the request stay where they were sent. If the API moved, pass the new address "
            "as base_url (or VERN_BASE_URL); otherwise check that base_url points at the API "
            "itself, not a login page or proxy."
        )


class UnexpectedResponse(MigkitError):
    """The server answered, but not with what the API documents: HTML where JSON belongs,
    JSON cut off, a body of the wrong shape or without an id it must carry.

    Nothing from such an answer is returned or recorded in the ledger. ``method``, ``path`` and
    ``status_code`` (also ``status``) name the request; ``excerpt`` is the start of the body
    (the API key redacted, control characters escaped).
    """

    def __init__(
        self, method: str, path: str, status: int, problem: str, excerpt: str = ""
    ) -> None:
        self.method = method
        self.path = path
        self.status_code = self.status = status
        self.problem = problem
        self.excerpt = excerpt
        shown = f' (it begins "{excerpt}")' if excerpt else ""
        super().__init__(
            f"{method} {printable(path)} answered {status} with {problem}{shown}. {self.hint}"
        )

    hint = (
        "This is not an answer the Vern API gives: check that base_url points at the API (a "
        "proxy or login page answers HTML), then retry; if it persists, report it with this "
        "message."
    )


class ResponseTooLarge(UnexpectedResponse):
    """An answer was larger than migkit accepts (see ``migkit.ResponseLimits``); reading
    stopped at the cap, so memory stays bounded."""

    hint = (
        "Reading stopped there. If the answer is genuine, raise the cap with "
        "Client(limits=migkit.ResponseLimits(...)) (see docs/limits.md)."
    )


class MalformedPreview(UnexpectedResponse):
    """A Generation-2 preview (``GET /migrations/{id}/preview``) that is not the documented
    shape; ``problem`` names where (``sheets[1].rows[3]``) and what is wrong.

    >>> MalformedPreview("sheets is a null where the sheets (an array) belongs").status_code
    200
    """

    hint = (
        "Nothing of this preview was used. Fetch it again; if it persists, report it with "
        "this message."
    )

    def __init__(
        self, problem: str, path: str = "/migrations/{migration_id}/preview", status: int = 200
    ) -> None:
        super().__init__("GET", path, status, f"a malformed preview: {problem}")


class APIError(MigkitError):
    """The API answered with an error status, and this is the evidence.

    - ``status_code``: the HTTP status (``status`` is the same number, kept for old code);
    - ``server_message``: the server's ``error`` string; ``body``: the decoded JSON (if any);
    - ``headers``: the response headers; ``request_id``: the server's request id, from
      whichever of :data:`REQUEST_ID_HEADERS` it sent (``None`` otherwise; Vern sends none);
    - ``body_excerpt``: the start of the body as text, the API key redacted;
    - ``method`` and ``path``: the request, its path as a route (``/companies/{id}``).
    """

    hint = "Check the request against the API reference."

    def __init__(
        self,
        status: int,
        server_message: str,
        *,
        body: Any = None,
        method: str = "",
        path: str = "",
        headers: Mapping[str, str] | None = None,
        body_excerpt: str = "",
    ) -> None:
        self.status_code = status
        self.server_message = server_message
        self.body = body
        self.method = method
        self.path = path
        self.headers: dict[str, str] = dict(headers or {})
        self.request_id = request_id(self.headers)
        self.body_excerpt = body_excerpt
        where = f" on {method} {printable(path)}" if method else ""
        said = printable(server_message, limit=MESSAGE_LIMIT)
        named = f" (request id {printable(self.request_id, limit=100)})" if self.request_id else ""
        super().__init__(f"{status}{where}: {said}.{named} {self.hint}")

    @property
    def status(self) -> int:
        """The HTTP status: the same as ``status_code``."""
        return self.status_code


class BadRequest(APIError):
    """400: the request was malformed or a value is invalid (413: the body is too large)."""

    hint = "Fix the value the message names and send the request again."


class AuthenticationError(APIError):
    """401: the API key is missing, malformed or revoked."""

    hint = (
        "Check the API key (Client(api_key=...), the VERN_API_KEY environment variable or "
        "VERN_API_KEY in a .env file); revoked keys fail at once."
    )


class Forbidden(APIError):
    """403: not allowed; for a signed upload, the URL was already used or has expired."""

    hint = "Check that the API key may do this; a signed upload URL is single-use."


class NotFound(APIError):
    """404: the company, run or sheet is not in this key's account."""

    hint = "Check the id and that the API key belongs to the account that owns it."


class Conflict(APIError):
    """409: a uniqueness or idempotency conflict."""

    hint = "The resource already exists or is busy."


class IdempotencyConflict(Conflict):
    """409: this idempotency key was already used with a different payload."""

    hint = (
        "Use a new idempotency_key for a different payload, or send the original payload "
        "again to get the existing run back."
    )


class ImportInProgress(Conflict):
    """409: another import is queued, running or waiting for a decision for this company.

    ``run_id`` names the active run when the server gives it.
    """

    def __init__(
        self, status: int, server_message: str, *, run_id: str | None = None, **kwargs: Any
    ) -> None:
        self.run_id = run_id
        self.hint = (
            f"Wait for run {printable(run_id, limit=80)} (client.imports.wait(...)) or "
            "decide/cancel it first."
            if run_id
            else "Wait for the active import (client.imports.active(company)) first."
        )
        super().__init__(status, server_message, **kwargs)


class ExternalIdConflict(Conflict):
    """409: another company in the account already uses this ``external_id``."""

    hint = "Find it with client.companies.find(external_id=...) instead of creating it again."


class RateLimited(APIError):
    """429: over the ~100 requests/minute budget, after migkit's own retries ran out."""

    hint = "Slow down; migkit already backed off and retried."


class ServerError(APIError):
    """5xx: the server failed; safe to retry idempotent requests."""

    hint = "Retry later; requests with an idempotency key are safe to repeat."


class RunError(MigkitError):
    """A run did not end as the caller hoped; ``run_id`` names it. An outcome, not a bug."""

    def __init__(self, run_id: str, message: str) -> None:
        self.run_id = run_id
        super().__init__(message)


class RunFailed(RunError):
    """A run ended ``failed``; ``error`` is the server's reason and no rows were inserted."""

    def __init__(self, run_id: str, error: str | None) -> None:
        self.error = error
        reason = printable(error, limit=MESSAGE_LIMIT) if error else "no reason given"
        super().__init__(
            run_id,
            f"Run {printable(run_id, limit=80)} failed: {reason}. No rows were inserted; fix the "
            "file (see the reason) and import again with a new idempotency key.",
        )


class WaitTimeout(RunError):
    """``wait()`` gave up before the run finished. The run goes on on the server.

    ``run_status`` is the run's last status (``status`` is the same, kept for old code);
    ``waited`` the seconds spent. Re-attach with ``client.imports.wait(run)``; do not submit it
    again.
    """

    def __init__(self, run_id: str, run_status: str, waited: float) -> None:
        self.run_status = run_status
        self.waited = waited
        shown = printable(run_id, limit=80)
        super().__init__(
            run_id,
            f"Run {shown} is still {printable(run_status, limit=80)} after {waited:.0f}s; it "
            f"keeps going on the server. Call client.imports.wait({shown!r}) again to "
            "re-attach; do not import it again.",
        )

    @property
    def status(self) -> str:
        """The run's last status: the same as ``run_status``."""
        return self.run_status


class EngineOutOfMemory(MigkitError, MemoryError):
    """The engine (DuckDB) ran out of memory within its cap; the message says which cap
    and what to change.

    >>> raise EngineOutOfMemory("duckdb ran out of memory while pairing ...")  # doctest: +SKIP
    """


class ExportIncomplete(MigkitError):
    """A downloaded export is truncated or malformed; download it again.

    ``rows`` is how many rows were read (when parsing got that far), ``expected`` what the
    server announced in ``X-Total-Records`` (when it did).
    """

    def __init__(
        self, message: str, *, rows: int | None = None, expected: int | None = None
    ) -> None:
        super().__init__(message)
        self.rows = rows
        self.expected = expected


class ExportTooLarge(ExportIncomplete):
    """An export is larger than migkit accepts (``ResponseLimits.download_bytes``), or a ZIP
    member inflates more than ``ResponseLimits.zip_ratio`` times its compressed size; it was
    not read further. Raise the limit with ``Client(limits=migkit.ResponseLimits(...))`` if the
    export is genuine."""


def request_id(headers: Mapping[str, str]) -> str | None:
    """The request id a server sent, from the first of :data:`REQUEST_ID_HEADERS` present.

    >>> request_id({"X-Request-Id": "req_42", "Server": "nginx"})
    'req_42'
    """
    lowered = {str(k).lower(): v for k, v in headers.items()}
    return next((str(lowered[h]) for h in REQUEST_ID_HEADERS if lowered.get(h)), None)


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    413: BadRequest,
    401: AuthenticationError,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
}


def error_for(
    status: int,
    body: Any,
    *,
    method: str = "",
    path: str = "",
    headers: Mapping[str, str] | None = None,
    body_excerpt: str = "",
) -> APIError:
    """The most specific :class:`APIError` for a response.

    >>> type(error_for(409, {"error": "idempotency_key reused"})).__name__
    'IdempotencyConflict'
    """
    message = body.get("error") if isinstance(body, dict) else None
    text = str(message) if message else f"HTTP {status} with no error message"
    kwargs: dict[str, Any] = {
        "body": body,
        "method": method,
        "path": path,
        "headers": headers,
        "body_excerpt": body_excerpt,
    }
    if status == 409:
        return _conflict(status, text, body, kwargs)
    if status >= 500:
        return ServerError(status, text, **kwargs)
    return _BY_STATUS.get(status, APIError)(status, text, **kwargs)


def _conflict(status: int, text: str, body: Any, kwargs: dict[str, Any]) -> Conflict:
    # The API has no error codes: a 409's kind is told from its words (and a run_id field).
    lowered = text.lower()
    if "idempotency" in lowered:
        return IdempotencyConflict(status, text, **kwargs)
    if "external_id" in lowered:
        return ExternalIdConflict(status, text, **kwargs)
    if "in progress" in lowered or (isinstance(body, dict) and "run_id" in body):
        run_id = body.get("run_id") if isinstance(body, dict) else None
        return ImportInProgress(status, text, run_id=run_id, **kwargs)
    return Conflict(status, text, **kwargs)
