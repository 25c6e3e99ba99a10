"""What :func:`migkit.read` refuses, and the caps that keep a hostile file from costing more
than a bounded amount of time and memory.

Every cap is a field of :class:`ReadLimits`; pass your own to ``migkit.read(...,
limits=...)`` or ``migkit.validate_file(..., limits=...)`` to raise or lower one.

>>> ReadLimits().max_columns
16384
>>> ReadLimits(max_sheet_cells=50_000_000).max_sheet_cells
50000000
"""

from __future__ import annotations

from dataclasses import dataclass

from migkit.errors import ReadError as ReadError  # defined with every error, read here too


@dataclass(frozen=True)
class ReadLimits:
    """The caps every read applies before it allocates anything in proportion to them.

    - ``max_columns``: columns a table may have (Excel's own limit, 16,384);
    - ``max_header_bytes``: how long the header record of a text file may be (1 MiB);
    - ``max_row_bytes``: how long one record of a text file may be (16 MiB);
    - ``max_sheet_cells``: cells a worksheet may span, from its first to its last cell
      (rows × columns, 10 million); workbooks are read whole, so a bigger sheet should be
      saved as CSV, which is streamed;
    - ``max_empty_ratio``: a worksheet spanning more than a million cells must fill at least one
      in ``max_empty_ratio`` of them (100); a stray cell at ``XFD1048576`` is refused, not
      allocated;
    - ``max_part_bytes``: how big one XML part of an ``.xlsx`` may be once decompressed
      (1 GiB; a ZIP bomb is refused while it is being measured).
    """

    max_columns: int = 16_384
    max_header_bytes: int = 1 << 20
    max_row_bytes: int = 16 << 20
    max_sheet_cells: int = 10_000_000
    max_empty_ratio: int = 100
    max_part_bytes: int = 1 << 30

    def check_columns(self, count: int, name: str, where: str) -> None:
        """Raise :class:`ReadError` when ``count`` columns are more than the cap."""
        if count > self.max_columns:
            raise ReadError(
                f"{name} has {count:,} columns in {where}; migkit reads at most "
                f"{self.max_columns:,} (Excel's limit). Check the delimiter, or pass "
                "limits=ReadLimits(max_columns=...)"
            )


DEFAULT_LIMITS = ReadLimits()
