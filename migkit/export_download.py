"""Export downloads: the streamed ``export.csv`` (or the ZIP of every sheet) as an
:class:`ExportStream`, and :func:`fetch_export`, which spools one to disk and parses it.

The transport hands over a :class:`~migkit._body.Body` (bounded, its cut-offs and stalls
raised); this module adds what an export body promises: ``X-Total-Records``, checked while the
bytes stream (a CSV holding more rows stops at once), and a damaged download fetched once more
before :class:`~migkit.errors.ExportIncomplete` is raised. No HTTP here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from migkit._body import Body
from migkit.errors import ExportIncomplete, ExportTooLarge, TransportError
from migkit.export_files import RecordCounter, too_many_rows

T = TypeVar("T")
DOWNLOAD_ATTEMPTS = 2  # a damaged download is fetched once more before ExportIncomplete


class ExportStream:
    """A streamed ``export.csv`` (or the ZIP of all sheets); read it once, then it closes.

    ``total_records`` is the server's ``X-Total-Records`` when it sends one.

    >>> with client.exports.csv(acme, "Contacts") as stream:  # doctest: +SKIP
    ...     stream.save("contacts_export.csv")
    """

    def __init__(self, body: Body) -> None:
        self._body = body
        header = body.headers.get("X-Total-Records", "")
        self.total_records: int | None = int(header) if header.isdigit() else None
        self.content_type = body.headers.get("Content-Type", "")
        self.max_bytes = body.cap

    @property
    def bytes_read(self) -> int:
        """Bytes of the body read so far."""
        return self._body.bytes_read

    def iter_bytes(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """The body in chunks, as it arrives, bounded while it streams: past
        ``ResponseLimits.download_bytes`` it raises :class:`~migkit.errors.ResponseTooLarge`;
        a CSV holding more rows than ``X-Total-Records`` raises
        :class:`~migkit.errors.ExportIncomplete` at once. A body cut off in transit (the
        connection drops, HTTP framing ends early) or stalled raises
        :class:`~migkit.errors.TransportError`."""
        counter = RecordCounter(self.total_records) if self._counts_rows else None
        for chunk in self._body.chunks(chunk_size):
            if counter is not None and self.total_records is not None:
                counter.feed(chunk)
                if counter.rows > self.total_records:
                    raise too_many_rows("export.csv", counter.rows, self.total_records)
            yield chunk

    @property
    def _counts_rows(self) -> bool:
        # A ZIP's rows are counted while its members inflate (read_export_zip), not here.
        return self.total_records is not None and "zip" not in self.content_type.lower()

    def save(self, path: str | Path, *, progress: bool = False) -> Path:
        """Write the body to ``path``; returns it. ``progress`` shows a byte counter (after
        a second, so quick downloads stay quiet)."""
        from migkit.progress.transfer import byte_progress

        target = Path(path)
        with target.open("wb") as out, byte_progress("export.csv", enabled=progress) as bar:
            for chunk in self.iter_bytes():
                out.write(chunk)
                bar(len(chunk))
        return target

    def close(self) -> None:
        """Release the connection."""
        self._body.close()

    def __enter__(self) -> ExportStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def fetch_export(
    open_stream: Callable[[], ExportStream],
    read: Callable[[Path, int | None], T],
    *,
    progress: bool = False,
) -> T:
    """Download an export with ``open_stream()`` to a temporary file (the body is never held
    in memory) and parse it with ``read(path, total_records)``. A damaged body (cut off, fewer
    or more rows than announced) is downloaded once more before its error is raised; one too
    large is not (the same export again would be as large)."""
    with tempfile.TemporaryDirectory(prefix="migkit-export-") as tmp:
        path = Path(tmp) / "export"
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            with open_stream() as stream:
                try:
                    stream.save(path, progress=progress)
                    return read(path, stream.total_records)
                except ExportTooLarge:
                    raise
                except (ExportIncomplete, TransportError):
                    if attempt == DOWNLOAD_ATTEMPTS:
                        raise
    raise AssertionError("unreachable")  # pragma: no cover
