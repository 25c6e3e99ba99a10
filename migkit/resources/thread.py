"""A migration's thread: the snapshot (``GET …/thread``) and the live stream (``…/thread/stream``).

The stream is Server-Sent Events, parsed by ``sseclient-py`` over the transport's streamed body
(so every connection passes the request budget, the retry loop and the size caps). After a
drop it reconnects with ``Last-Event-ID`` (and ``after``, which the docs name for resuming):
every event is given once, in order, whatever the connection does. When the server has no
stream (404, 405, 501, or an answer that is not ``text/event-stream``) the thread is polled
instead, with the same intervals as a run's polls.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from sseclient import SSEClient

from migkit.errors import (
    APIError,
    TransportError,
    UnexpectedRedirect,
    UnexpectedResponse,
    UsageError,
)
from migkit.fields import object_list
from migkit.migration_models import ThreadEvent
from migkit.resources._base import ClientCore, Resource, lacks_extension

THREAD = "/migrations/{id}/thread"
STREAM = "/migrations/{id}/thread/stream"
INCLUDE = ("user", "tools", "all")
# A stream lives while a byte moves every minute (the sandbox sends a heartbeat every 15 s; a
# silent connection past that is dead, and is resumed).
STREAM_STALL = (60.0, 1)
RECONNECTS = 8  # drops in a row without an event before the stream gives up


def check_include(include: str) -> None:
    if include not in INCLUDE:
        raise UsageError(f"include must be 'user', 'tools' or 'all', not {include!r}")


class _Ended(Exception):
    """The server ended the stream (a clean close): reconnect."""


class _Stop(Exception):
    """The caller's ``stop()`` said to stop between two reads."""


def migration_id(migration: Any) -> str:
    """The id of a :class:`~migkit.migration_models.Migration` or a migration id string."""
    return str(getattr(migration, "id", migration))


class Thread(Resource):
    """The thread endpoints (``client.migrations.thread`` / ``.stream`` use them).

    It remembers the highest sequence it has seen per migration (:meth:`seen`): a safe
    "before" mark for the next run (every event of a run started later comes after it)."""

    def __init__(self, core: ClientCore) -> None:
        super().__init__(core)
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def _saw(self, mid: str, sequence: int) -> None:
        with self._lock:
            if sequence > self._seen.get(mid, 0):
                self._seen[mid] = sequence

    def fresh(self, migration: Any) -> None:
        """Note a migration created just now (201): its thread holds no run yet, so 0 is a
        safe "before" mark and no request is needed to find one."""
        with self._lock:
            self._seen.setdefault(migration_id(migration), 0)

    def seen(self, migration: Any) -> int | None:
        """The highest sequence of this migration's thread seen so far, if any."""
        with self._lock:
            return self._seen.get(migration_id(migration))

    def events(
        self, migration: Any, *, after: int | None = None, include: str = "user"
    ) -> list[ThreadEvent]:
        """Every event after ``after`` (all when ``None``), page by page."""
        return [
            event for page in self.pages(migration, after=after, include=include) for event in page
        ]

    def pages(
        self, migration: Any, *, after: int | None = None, include: str = "user"
    ) -> Iterator[list[ThreadEvent]]:
        """The snapshot page by page (each a request, made when the next page is asked for),
        until a page comes back empty."""
        check_include(include)
        mid = migration_id(migration)
        cursor = after or 0
        while True:
            page, last = self._page(mid, cursor, include)
            if page:  # only what the server gave: a caller's `after` may point past the end
                self._saw(mid, max(e.sequence for e in page))
                yield page
            if not page or last <= cursor:
                return
            cursor = last

    def _page(self, mid: str, after: int, include: str) -> tuple[list[ThreadEvent], int]:
        answer = self._get(THREAD, params={"after": after, "include": include}, id=mid)

        def read(body: dict[str, Any]) -> tuple[list[ThreadEvent], int]:
            events = [ThreadEvent.from_api(e) for e in object_list(body, "events")]
            last = body.get("last_sequence")
            if not isinstance(last, int) or isinstance(last, bool):
                last = events[-1].sequence if events else after
            return events, last

        return answer.parse(read)

    def tail(self, migration: Any) -> int:
        """A sequence no later than the thread's last one now: the highest this client has
        seen (no request), else the thread's last (every level of events)."""
        known = self.seen(migration)
        if known is not None:
            return known
        events = self.events(migration, include="all")
        return events[-1].sequence if events else 0

    # -- the live stream ---------------------------------------------------------------------
    def stream(
        self,
        migration: Any,
        *,
        after: int | None = None,
        include: str = "user",
        stop: Callable[[], bool] | None = None,
        poll_every: Callable[[float], float] | None = None,
    ) -> Iterator[ThreadEvent]:
        """Events after ``after`` as they are written, forever (or until ``stop()`` is true,
        checked whenever bytes arrive, heartbeats included). Resumes after drops; falls back to
        polling the snapshot when the server has no stream (``poll_every(age)`` gives the
        interval; a run's poll schedule by default)."""
        check_include(include)
        mid = migration_id(migration)
        last = after or 0
        drops = 0
        while True:
            try:
                body = self._open(mid, last, include)
            except _NoStream:
                yield from self._polled(mid, last, include, stop, poll_every)
                return
            except UnexpectedRedirect:
                raise  # an answer, and the same one next time
            except TransportError:
                drops += 1
                if drops > RECONNECTS:
                    raise
                time.sleep(min(0.2 * 2**drops, 5.0))
                continue
            try:
                for event in self._parse(body, stop):
                    if event.sequence <= last:
                        continue  # a server resending what was given: never twice
                    last = event.sequence
                    drops = 0
                    self._saw(mid, last)
                    yield event
            except _Stop:
                return
            except (_Ended, TransportError, UnexpectedResponse):
                drops += 1
                if drops > RECONNECTS:
                    raise TransportError(
                        f"the thread stream of migration {mid} dropped {drops} times in a row"
                        " without an event; try again later"
                    ) from None
                time.sleep(min(0.05 * 2**drops, 5.0))
            finally:
                body.close()

    def _open(self, mid: str, after: int, include: str) -> Any:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if after:
            headers["Last-Event-ID"] = str(after)
        try:
            body = self._stream(
                STREAM,
                params={"after": after, "include": include},
                label="the thread stream",
                noun="a thread stream",
                headers=headers,
                stall=STREAM_STALL,
                id=mid,
            )
        except APIError as exc:
            if lacks_extension(exc) or exc.status_code in (406, 415):
                raise _NoStream from exc
            raise
        kind = body.headers.get("Content-Type", "")
        if not kind.lower().startswith("text/event-stream"):
            body.close()
            raise _NoStream
        return body

    @staticmethod
    def _parse(body: Any, stop: Callable[[], bool] | None) -> Iterator[ThreadEvent]:
        chunked = "chunked" in body.headers.get("Transfer-Encoding", "").lower()

        def chunks() -> Iterator[bytes]:
            # Chunked bodies arrive chunk by chunk; others are read a byte at a time, so an
            # event is given as soon as its blank line is in (no waiting for a full buffer).
            for chunk in body.chunks(1 << 16 if chunked else 1):
                yield chunk
                if stop is not None and stop():
                    raise _Stop
            raise _Ended  # a clean close: never let a half-received event through

        for message in SSEClient(chunks()).events():
            if not message.data:
                continue
            try:
                event = ThreadEvent.from_api(json.loads(message.data))
            except (ValueError, TypeError) as exc:
                raise UnexpectedResponse(
                    "GET", STREAM, 200, f"a thread event that is not JSON ({exc})"
                ) from None
            yield event

    def _polled(
        self,
        mid: str,
        last: int,
        include: str,
        stop: Callable[[], bool] | None,
        poll_every: Callable[[float], float] | None,
    ) -> Iterator[ThreadEvent]:
        interval = poll_every or self._core.schedule.interval
        quiet_since = time.monotonic()
        while not (stop is not None and stop()):
            events = self.events(mid, after=last, include=include)
            for event in events:  # (events() notes what it saw)
                if event.sequence > last:
                    last = event.sequence
                    yield event
            if events:
                quiet_since = time.monotonic()
            time.sleep(interval(time.monotonic() - quiet_since))


class _NoStream(Exception):
    """The server has no thread stream (or answered something else than an event stream)."""
