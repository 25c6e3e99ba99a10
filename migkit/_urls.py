"""Addresses the client talks to: which base URLs are safe, and URLs fit for a message.

>>> check_base_url("http://127.0.0.1:8787/api/v1/")
'http://127.0.0.1:8787/api/v1'
>>> redact("https://store.example/upload/tok123?sig=abc")
'https://store.example/upload/<token>'
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from migkit.errors import ConfigurationError
from migkit.printable import printable

DEFAULT_BASE_URL = "https://app.vern.so/api/v1"


def check_base_url(base_url: str, what: str = "base_url") -> str:
    """The base URL without a trailing slash; plain ``http://`` only for loopback hosts."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{what} {redact(base_url)!r} is not an http(s) URL; use e.g. {DEFAULT_BASE_URL}"
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"{what} {redact(base_url)!r} uses plain http to a non-loopback host, which would "
            "send the API key or the data unencrypted; use https (plain http is allowed for the "
            "local sandbox only)"
        )
    return base_url.rstrip("/")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (the local sandbox)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact(url: str) -> str:
    """A URL safe for messages: no user info or query string (signed URLs carry tokens
    there), no token path segment of a signed upload, and control characters escaped."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
    except ValueError:
        return printable(url.split("?", 1)[0], limit=300)
    path = parts.path
    if "/upload/" in path:  # the sandbox's signed URLs carry the token in the path
        path = path.rsplit("/", 1)[0] + "/<token>"
    return printable(f"{parts.scheme}://{netloc}{path}", limit=300)
