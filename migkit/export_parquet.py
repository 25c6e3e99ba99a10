"""``export.csv`` bodies (or any CSV migkit reads) streamed to Parquet in bounded memory.

The frames layer's answer for exports larger than memory: the CSV is parsed block by block
(``pyarrow.csv.open_csv``, the same options :func:`migkit.read.text_csv` uses: every cell as
text, an empty cell null, a quoted ``""`` the empty string) and each block is appended to a
Parquet file, so a 100M-row export never becomes a DataFrame. Row order is kept: a Parquet
file's row order is its rows' positions, which the engines read back
(:mod:`migkit.scale`). The same damage checks as :func:`~migkit.export_files.read_export_csv`
apply, and a damaged body leaves no Parquet file behind.

>>> import io, tempfile, pyarrow.parquet as pq
>>> body = b'Email,Notes\\r\\nann@x.io,"two\\nlines"\\r\\nbob@x.io,\\r\\n'
>>> with tempfile.TemporaryDirectory() as tmp:
...     written = csv_to_parquet(io.BytesIO(body), f"{tmp}/c.parquet", expected_rows=2)
...     rows = pq.read_table(written.path).to_pylist()
>>> written.rows, rows[1]
(2, {'Email': 'bob@x.io', 'Notes': None})
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from migkit.export_files import ExportIncomplete, check_body

BLOCK_SIZE = 16 << 20  # pyarrow parses this much text per block (a record may span lines)

ROW_GROUP_ROWS = 1 << 20  # rows per Parquet row group (engines read row groups in parallel)


@dataclass(frozen=True)
class ParquetWritten:
    """What :func:`csv_to_parquet` wrote: the file, its rows and its columns."""

    path: Path
    rows: int
    columns: tuple[str, ...]


def csv_to_parquet(
    source: str | Path | IO[bytes],
    path: str | Path,
    *,
    expected_rows: int | None = None,
    name: str = "export.csv",
    delimiter: str = ",",
    block_bytes: int = BLOCK_SIZE,
    on_rows: Callable[[int], None] | None = None,
) -> ParquetWritten:
    """Stream a CSV (a path or a seekable binary file) to the Parquet file ``path``.

    Memory stays bounded by ``block_bytes`` (a few blocks are in flight), whatever the file's
    size. Every column is text. ``expected_rows`` (the server's ``X-Total-Records``) is checked
    at the end; a damaged or short body raises :class:`~migkit.export_files.ExportIncomplete`
    and leaves no file at ``path``. ``on_rows`` is called with the rows written after each
    block (progress).
    """
    if isinstance(source, str | Path):
        with Path(source).open("rb") as stream:
            return csv_to_parquet(
                stream,
                path,
                expected_rows=expected_rows,
                name=name,
                delimiter=delimiter,
                block_bytes=block_bytes,
                on_rows=on_rows,
            )
    names = check_body(source, name, delimiter)
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    schema = pa.schema([(n, pa.large_string()) for n in names])
    rows = 0
    try:
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, block_size=block_bytes, use_threads=True
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.large_string() for n in names},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=False,
            ),
        )
        with pq.ParquetWriter(partial, schema, compression="zstd") as writer:
            for batch in reader:
                writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
                rows += batch.num_rows
                if on_rows is not None:
                    on_rows(rows)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise ExportIncomplete(
            f"{name} is malformed or cut off ({exc}); download it again",
            rows=rows,
            expected=expected_rows,
        ) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    if expected_rows is not None and rows != expected_rows:
        partial.unlink()
        raise ExportIncomplete(
            f"{name} holds {rows:,} rows but the server announced {expected_rows:,}"
            " (X-Total-Records): the download was cut off; download it again",
            rows=rows,
            expected=expected_rows,
        )
    os.replace(partial, target)
    return ParquetWritten(target, rows, tuple(names))
