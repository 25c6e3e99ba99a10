"""Reading what a server sends back, within bounds: whole answers up to a cap, and downloads
as a :class:`Body` that streams.

Either way the count is of decoded bytes (after gzip is undone), so a small compressed body
cannot expand past a cap; a body that is cut off in transit, stalls, or passes its attempt's
deadline is a :class:`~migkit.errors.TransportError` naming how far it got.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any

import requests
import urllib3.exceptions

from migkit.errors import ResponseTooLarge, TransportError, UnexpectedResponse

READ_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)


def _deadline(response: requests.Response) -> Any:
    # The attempt's deadline rides on its connection (migkit._deadline); None without one.
    return getattr(getattr(response.raw, "connection", None), "deadline", None)


def _late(deadline: Any) -> str | None:
    return str(deadline.reason) if deadline is not None and deadline.expired else None


def read_capped(
    response: requests.Response, cap: int, method: str, path: str, *, strict: bool = True
) -> bytes:
    """The (decoded) body, at most ``cap`` bytes; the response is closed after. Past the cap:
    :class:`~migkit.errors.ResponseTooLarge` when ``strict``, else the first ``cap`` bytes."""
    status = response.status_code
    declared = response.headers.get("Content-Length", "")
    if strict and declared.isdigit() and int(declared) > cap:
        response.close()
        raise ResponseTooLarge(
            method,
            path,
            status,
            f"a body of {int(declared):,} bytes (Content-Length), "
            f"more than the {cap:,} accepted (ResponseLimits.json_bytes)",
        )
    deadline = _deadline(response)
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(64 << 10):
            parts.append(chunk)
            size += len(chunk)
            if size > cap:
                break
    except requests.exceptions.ContentDecodingError as exc:
        raise UnexpectedResponse(
            method, path, status, "a body whose Content-Encoding cannot be decoded"
        ) from exc
    except READ_ERRORS as exc:
        what = _late(deadline) or "the answer was cut off"
        raise TransportError(
            f"{method} {path}: {what} ({size:,} bytes of the body read); try again, and "
            "check the network or the server if it persists"
        ) from exc
    finally:
        response.close()
    if size > cap and strict:
        raise ResponseTooLarge(
            method, path, status, f"a body of more than {cap:,} bytes (ResponseLimits.json_bytes)"
        )
    return b"".join(parts)[:cap]


class Body:
    """A 2xx answer whose body is read as it arrives (a download); read it once, then it
    closes. At most ``cap`` decoded bytes are accepted (``cap_name`` says which setting that
    is); a ``Content-Length`` over it is refused before reading.

    ``label`` names it in messages about a cut-off (``"the export download"``), ``noun`` in
    those about its size (``"an export"``). ``headers`` are the response's; ``bytes_read``
    counts what :meth:`chunks` has given.
    """

    def __init__(
        self,
        response: requests.Response,
        *,
        method: str,
        path: str,
        cap: int,
        cap_name: str = "ResponseLimits.download_bytes",
        label: str = "the download",
        noun: str = "a download",
    ) -> None:
        self._response = response
        self.method = method
        self.path = path
        self.status_code = response.status_code
        self.headers: dict[str, str] = dict(response.headers)
        self.cap = cap
        self.cap_name = cap_name
        self.label = label
        self.noun = noun
        self.bytes_read = 0
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            response.close()
            raise self.too_large(f"{int(declared):,} bytes (Content-Length)")

    def too_large(self, size: str) -> ResponseTooLarge:
        """The error for a body of ``size`` (words), past the cap."""
        return ResponseTooLarge(
            self.method,
            self.path,
            self.status_code,
            f"{self.noun} of {size}, more than the {self.cap:,} bytes accepted ({self.cap_name})",
        )

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        """The body in chunks as it arrives. Past the cap:
        :class:`~migkit.errors.ResponseTooLarge`; cut off in transit (the connection drops,
        HTTP framing ends early) or stalled: :class:`~migkit.errors.TransportError`."""
        deadline = _deadline(self._response)
        try:
            for chunk in self._response.iter_content(size):
                self.bytes_read += len(chunk)
                if self.bytes_read > self.cap:
                    raise self.too_large(f"more than {self.cap:,} bytes")
                yield chunk
        except READ_ERRORS as exc:
            late = _late(deadline)
            what = (
                f"stopped after {self.bytes_read:,} bytes: {late}"
                if late
                else f"was cut off after {self.bytes_read:,} bytes ({type(exc).__name__})"
            )
            raise TransportError(f"{self.label} {what}; download it again") from exc

    def close(self) -> None:
        """Release the connection."""
        self._response.close()

    def __enter__(self) -> Body:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
