"""How rows look in ``export.csv``: Arrow's CSV writer, and where each row's line ends.

The header record is the template's column names, quoted only where RFC 4180 needs it (Python's
``csv`` module). The rows come from Arrow's CSV writer: every non-null cell quoted (an inner
``"`` doubled), a null cell as an empty unquoted field, CRLF after each row, UTF-8.

The row store renders each chunk once, when it is inserted, and keeps the text with the offset
where each row's line ends, so an export only decompresses and sends, or cuts out the rows a
filter keeps, at memory speed. :func:`line_ends` computes the offsets from the cells (the
writer does not report them), and :func:`rendered` checks them against the text it wrote.

>>> import pyarrow as pa
>>> batch = pa.record_batch([pa.array(['say "hi', None]), pa.array(["a,b", ""])], names=["0", "1"])
>>> text, ends = rendered(batch)
>>> text
b'"say ""hi","a,b"\\r\\n,""\\r\\n'
>>> ends.tolist()
[0, 18, 23]
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

EOL = "\r\n"
WRITE_OPTIONS = pacsv.WriteOptions(include_header=False, eol=EOL, batch_size=8192)


def header_line(names: list[str]) -> bytes:
    """The CSV header record: column names quoted only where RFC 4180 needs it.

    >>> header_line(["Email", "Name, full"])
    b'Email,"Name, full"\\r\\n'
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=EOL).writerow(names)
    return buffer.getvalue().encode("utf-8")


def _exportable(batch: pa.RecordBatch) -> pa.RecordBatch:
    if batch.num_columns != 1:
        return batch
    # One column: a null would be an empty line, which readers skip. Write "" instead (as
    # Python's csv module does), so every row keeps its line.
    return pa.record_batch([pc.fill_null(batch.column(0), "")], names=batch.schema.names)


def rows_csv(batch: pa.RecordBatch) -> bytes:
    """The batch's rows as ``export.csv`` lines, without a header."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(_exportable(batch), sink, WRITE_OPTIONS)
    return bytes(sink.getvalue())


def line_ends(batch: pa.RecordBatch) -> np.ndarray:
    """Offsets into :func:`rows_csv` of the batch: 0, then where each row's line ends."""
    batch = _exportable(batch)
    lengths = np.full(batch.num_rows, batch.num_columns - 1 + len(EOL), dtype=np.int64)
    for column in batch.columns:
        lengths += _written_sizes(column)
    return np.concatenate([[0], np.cumsum(lengths)])


def _written_sizes(column: pa.Array) -> np.ndarray:
    # Bytes each cell takes in the output: its UTF-8 bytes, plus one per inner quote (doubled),
    # plus the two enclosing quotes; 0 for a null. Sizes come straight from the offsets.
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = column.cast(pa.large_string())
    width = np.int32 if pa.types.is_string(column.type) else np.int64
    offsets = np.frombuffer(column.buffers()[1], dtype=width)
    offsets = offsets[column.offset : column.offset + len(column) + 1]
    sizes = np.diff(offsets).astype(np.int64) + 2
    data = column.buffers()[2]
    if data is not None and len(offsets) and offsets[-1] > offsets[0]:
        text = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
        if (text == ord('"')).any():  # a memory scan; counting per cell only when needed
            sizes += np.asarray(pc.fill_null(pc.count_substring(column, '"'), 0), dtype=np.int64)
    if column.null_count:
        sizes[~np.asarray(column.is_valid(), dtype=bool)] = 0
    return sizes


def rendered(batch: pa.RecordBatch) -> tuple[bytes, np.ndarray] | None:
    """:func:`rows_csv` and :func:`line_ends` of the batch, or ``None`` when the offsets do not
    add up to the text (a writer that quotes otherwise): then exports render at read time."""
    text = rows_csv(batch)
    ends = line_ends(batch)
    return (text, ends) if int(ends[-1]) == len(text) else None


def kept_lines(text: bytes, ends: np.ndarray, keep: np.ndarray) -> bytes:
    """The lines of ``text`` (rows ending at ``ends``) where ``keep`` is true, in order: one
    Arrow filter over the lines viewed as a binary array, no copy per row in Python."""
    offsets = pa.py_buffer(np.ascontiguousarray(ends, dtype=np.int32))
    lines = pa.Array.from_buffers(pa.binary(), len(keep), [None, offsets, pa.py_buffer(text)])
    kept = lines.filter(pa.array(keep, pa.bool_()))
    if not len(kept):
        return b""
    end = int(np.frombuffer(kept.buffers()[1], dtype=np.int32)[kept.offset + len(kept)])
    start = int(np.frombuffer(kept.buffers()[1], dtype=np.int32)[kept.offset])
    return bytes(kept.buffers()[2][start:end])
