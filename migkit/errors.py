"""One error hierarchy for everything migkit raises.

Every API error carries the HTTP status and the server's own ``error`` text, and its message
adds what to do next. Catch :class:`MigkitError` to catch them all.

>>> try:
...     raise NotFound(404, "Company c0a8 isn't in your account")
... except APIError as exc:
...     print(exc.status, exc.server_message)
404 Company c0a8 isn't in your account
"""

from __future__ import annotations

from typing import Any

from migkit.printable import printable

MESSAGE_LIMIT = 500  # characters of a server's text kept in an exception message


class MigkitError(Exception):
    """Base class of every error migkit raises."""


class MigkitWarning(UserWarning):
    """Something migkit did on your behalf that you should know about (e.g. a file it
    re-encoded before uploading)."""


class ConfigurationError(MigkitError):
    """migkit is not set up to talk to the API (no key, an unsafe URL, ...)."""


class UsageError(MigkitError, ValueError):
    """A call migkit cannot make as written; the message says how to call it."""


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
    string), ``status`` the 3xx code.
    """

    def __init__(self, method: str, path: str, status: int, location: str) -> None:
        self.method = method
        self.path = path
        self.status = status
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
    ``status`` name the request; ``excerpt`` is the start of the body (the API key redacted,
    control characters escaped).
    """

    def __init__(
        self, method: str, path: str, status: int, problem: str, excerpt: str = ""
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
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


class APIError(MigkitError):
    """The API answered with an error status.

    ``status`` is the HTTP status, ``server_message`` the server's ``error`` string and ``body``
    the decoded JSON body (if any).
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
    ) -> None:
        self.status = status
        self.server_message = server_message
        self.body = body
        self.method = method
        self.path = path
        where = f" on {method} {printable(path)}" if method else ""
        said = printable(server_message, limit=MESSAGE_LIMIT)
        super().__init__(f"{status}{where}: {said}. {self.hint}")


class BadRequest(APIError):
    """400: the request was malformed or a value is invalid."""

    hint = "Fix the value the message names and send the request again."


class AuthenticationError(APIError):
    """401: the API key is missing, malformed or revoked."""

    hint = (
        "Check the API key (Client(api_key=...), the VERN_API_KEY environment variable or "
        "VERN_API_KEY in a .env file); revoked keys fail at once."
    )


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


class RunFailed(MigkitError):
    """A run ended ``failed``; ``error`` is the server's reason and no rows were inserted."""

    def __init__(self, run_id: str, error: str | None) -> None:
        self.run_id = run_id
        self.error = error
        reason = printable(error, limit=MESSAGE_LIMIT) if error else "no reason given"
        super().__init__(
            f"Run {printable(run_id, limit=80)} failed: {reason}. No rows were inserted; fix the "
            "file (see the reason) and import again with a new idempotency key."
        )


class WaitTimeout(MigkitError):
    """``wait()`` gave up before the run finished. The run goes on on the server.

    Re-attach with ``client.imports.wait(run)``; do not submit it again.
    """

    def __init__(self, run_id: str, status: str, waited: float) -> None:
        self.run_id = run_id
        self.status = status
        self.waited = waited
        shown = printable(run_id, limit=80)
        super().__init__(
            f"Run {shown} is still {printable(status, limit=80)} after {waited:.0f}s; it keeps "
            f"going on the server. Call client.imports.wait({shown!r}) again to re-attach; do "
            "not import it again."
        )


def error_for(status: int, body: Any, *, method: str = "", path: str = "") -> APIError:
    """The most specific :class:`APIError` for a response."""
    message = body.get("error") if isinstance(body, dict) else None
    text = str(message) if message else f"HTTP {status} with no error message"
    kwargs: dict[str, Any] = {"body": body, "method": method, "path": path}
    if status == 400 or status == 413:
        return BadRequest(status, text, **kwargs)
    if status == 401:
        return AuthenticationError(status, text, **kwargs)
    if status == 404:
        return NotFound(status, text, **kwargs)
    if status == 409:
        lowered = text.lower()
        if "idempotency" in lowered:
            return IdempotencyConflict(status, text, **kwargs)
        if "external_id" in lowered:
            return ExternalIdConflict(status, text, **kwargs)
        if "in progress" in lowered or (isinstance(body, dict) and "run_id" in body):
            run_id = body.get("run_id") if isinstance(body, dict) else None
            return ImportInProgress(status, text, run_id=run_id, **kwargs)
        return Conflict(status, text, **kwargs)
    if status == 429:
        return RateLimited(status, text, **kwargs)
    if status >= 500:
        return ServerError(status, text, **kwargs)
    return APIError(status, text, **kwargs)
