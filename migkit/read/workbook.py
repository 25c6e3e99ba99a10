"""Workbooks (``.xlsx``/``.xlsm``, ``.xls``) as rows of cell values, each sheet measured before
anything is allocated for it.

calamine (the reader underneath) builds a dense rows × columns grid from a sheet's first to its
last cell: a 1.6 KB file whose only cells are ``A1`` and ``XFD1048576`` asks for 512 GiB. So
every sheet is measured first from the file itself (the cells an ``.xlsx`` part really holds,
streamed and decompressed under a cap; the cell records of an ``.xls``), and refused by
:class:`~migkit.read.limits.ReadLimits` when its span is too big or too empty. This module is
the one bounded path both :func:`migkit.read` and the sandbox's reader use.

>>> import io, openpyxl
>>> book = openpyxl.Workbook()
>>> for row in (["Email", "Zip"], ["a@b", 2134]):
...     book.active.append(row)
>>> buffer = io.BytesIO(); book.save(buffer)
>>> sheets = workbook_rows(buffer.getvalue(), "c.xlsx")
>>> sheets["Sheet"].rows, sheets["Sheet"].first_row
([['Email', 'Zip'], ['a@b', 2134.0]], 0)
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from xml.etree import ElementTree

import python_calamine

from migkit.read.limits import DEFAULT_LIMITS, ReadError, ReadLimits
from migkit.read.xls_cells import ole_streams, xls_sheet_sizes

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SCAN_CHUNK = 4 << 20
SPARSE_FROM = 1_000_000  # spans up to this many cells are never too empty
# A cell that may have content (not self-closing: <c r="XFD5" s="1"/> is formatting only), with
# its reference first as every writer we know puts it; anything else (a namespace prefix, no
# reference) takes the exact, slower scan.
_FAST_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>/]*(/?)>')
_TAG = re.compile(rb"<(/?)(?:[\w.-]+:)?(row|c)(?=[\s/>])([^>]*)>")
_REF = re.compile(rb'\sr\s*=\s*["\']([A-Z]{0,3})([0-9]{0,7})["\']')


@dataclass(frozen=True)
class SheetSize:
    """How much of a sheet holds cells: the span from its first to its last cell, and how many
    cells are filled."""

    rows: int
    columns: int
    cells: int

    @property
    def span(self) -> int:
        return self.rows * self.columns


@dataclass(frozen=True)
class SheetRows:
    """One sheet's cells from its first filled row and column on (empty cells are ``""``)."""

    rows: list[list[Any]]
    first_row: int  # 0-based row of the sheet where ``rows`` start


def workbook_rows(
    data: bytes,
    name: str,
    sheet: str | int | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> dict[str, SheetRows]:
    """Every sheet of a workbook (only the one ``sheet`` names or numbers, when given) as rows
    of cell values, in workbook order. Raises :class:`ReadError` for an encrypted, damaged or
    unsupported file, an unknown sheet, or a sheet over ``limits``; nothing is allocated for
    a sheet before it has been measured."""
    sizes = measure_workbook(data, name, limits)
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError:
        raise _encrypted(name) from None
    except BaseException as exc:  # many types for damaged files, and Rust panics
        _reraise_interrupts(exc)
        raise ReadError(f"{name} is not a readable workbook ({_short(exc)}); {_ADVICE}") from None
    titles = list(book.sheet_names)
    chosen = _pick(titles, sheet, name)
    out: dict[str, SheetRows] = {}
    for title in chosen:
        size = sizes.get(title)
        if size is None and sizes:  # a sheet the measuring could not place: the largest one
            size = max(sizes.values(), key=lambda s: s.span)
        if size is not None:
            _check_size(size, name, title, limits)
        try:
            grid = book.get_sheet_by_name(title)
            rows = grid.to_python(skip_empty_area=True)
        except BaseException as exc:
            _reraise_interrupts(exc)
            raise ReadError(
                f"{name}: sheet {title!r} cannot be read ({_short(exc)}); {_ADVICE}"
            ) from None
        start = grid.start
        out[title] = SheetRows(rows=rows, first_row=int(start[0]) if rows and start else 0)
    return out


def _reraise_interrupts(exc: BaseException) -> None:
    # calamine's Rust panics arrive as pyo3's PanicException, a BaseException: a damaged file,
    # not a reason to stop the caller. Interrupts and exits still are.
    if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
        raise exc


_ADVICE = "open it in Excel and save it again as .xlsx, or export the sheet as CSV UTF-8"


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _encrypted(name: str) -> ReadError:
    return ReadError(
        f"{name} is encrypted (saved with a password); open it in Excel, remove the password "
        "(File > Info > Protect Workbook > Encrypt with Password, then clear it) and save it "
        "again"
    )


def _pick(titles: list[str], sheet: str | int | None, name: str) -> list[str]:
    if sheet is None:
        return titles
    if isinstance(sheet, int) and not isinstance(sheet, bool) and 0 <= sheet < len(titles):
        return [titles[sheet]]
    if sheet in titles:
        return [str(sheet)]
    raise ReadError(f"{name} has no sheet {sheet!r}; sheets: {titles}")


def _check_size(size: SheetSize, name: str, title: str, limits: ReadLimits) -> None:
    where = f"{name}: sheet {title!r}"
    limits.check_columns(size.columns, name, f"sheet {title!r}")
    if size.span > SPARSE_FROM and size.span > limits.max_empty_ratio * max(size.cells, 1):
        raise ReadError(
            f"{where} spans {size.rows:,} rows × {size.columns:,} columns but fills only "
            f"{size.cells:,} cells: a stray cell far from the table (such as XFD1048576). "
            "Delete the rows and columns past the table and save it again, or pass "
            "limits=ReadLimits(max_empty_ratio=...)"
        )
    if size.span > limits.max_sheet_cells:
        raise ReadError(
            f"{where} spans {size.rows:,} rows × {size.columns:,} columns "
            f"({size.span:,} cells, {size.cells:,} filled); migkit reads at most "
            f"{limits.max_sheet_cells:,} per sheet. Delete stray cells far from the table, or "
            "save the sheet as CSV (read in bounded memory), or pass "
            "limits=ReadLimits(max_sheet_cells=...)"
        )


def measure_workbook(data: bytes, name: str, limits: ReadLimits) -> dict[str, SheetSize]:
    """Each sheet's size by title, read from the file without building any sheet. Refuses
    encrypted workbooks and files that are not workbooks at all."""
    if data.startswith(ZIP_MAGIC):
        return _measure_xlsx(data, name, limits)
    if data.startswith(OLE_MAGIC):
        streams = ole_streams(data, name)
        if "EncryptedPackage" in streams:
            raise _encrypted(name)  # an .xlsx saved with a password is an OLE file
        return xls_sheet_sizes(data, name)
    if not data.strip():
        raise ReadError(f"{name} is empty (0 bytes of workbook); export the sheet again")
    head = data[:512].lstrip().lower()
    kind = "an HTML page" if head.startswith((b"<!doctype html", b"<html", b"<table")) else None
    kind = kind or (
        "text" if b"\x00" not in data[:4096] else "binary data of an old or unknown kind"
    )
    raise ReadError(
        f"{name} is {kind}, not an Excel workbook, whatever its name says; "
        + ("rename it to .csv if it is delimited text, or " if kind == "text" else "")
        + _ADVICE
    )


def _measure_xlsx(data: bytes, name: str, limits: ReadLimits) -> dict[str, SheetSize]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = _sheet_parts(archive, limits)
        return {title: _measure_part(archive, part, name, limits) for title, part in parts}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        if isinstance(exc, ReadError):
            raise
        raise ReadError(f"{name} is a damaged workbook ({_short(exc)}); {_ADVICE}") from None


_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _sheet_parts(archive: zipfile.ZipFile, limits: ReadLimits) -> list[tuple[str, str]]:
    """(sheet title, ZIP member) pairs from the workbook part and its relationships; the
    worksheet members themselves when those cannot be followed."""
    names = set(archive.namelist())
    sheets = sorted(n for n in names if re.fullmatch(r"xl/worksheets/[^/]+\.xml", n))
    try:
        book = _small_xml(archive, "xl/workbook.xml", limits)
        rels = _small_xml(archive, "xl/_rels/workbook.xml.rels", limits)
        targets = {r.get("Id"): r.get("Target", "") for r in rels}
        pairs = []
        for element in book.iter():
            if element.tag.rsplit("}", 1)[-1] == "sheet":
                target = targets.get(element.get(_REL), "").lstrip("/")
                member = target if target.startswith("xl/") else f"xl/{target}"
                member = str(PurePosixPath(member))
                if member in names:
                    pairs.append((str(element.get("name")), member))
        return pairs
    except (KeyError, ElementTree.ParseError):
        return [(PurePosixPath(s).stem, s) for s in sheets]


def _small_xml(archive: zipfile.ZipFile, member: str, limits: ReadLimits) -> ElementTree.Element:
    info = archive.getinfo(member)
    if info.file_size > min(limits.max_part_bytes, 64 << 20):
        raise ValueError(f"{member} declares {info.file_size:,} bytes")
    return ElementTree.fromstring(archive.read(member))


def _measure_part(
    archive: zipfile.ZipFile, member: str, name: str, limits: ReadLimits
) -> SheetSize:
    info = archive.getinfo(member)
    if info.file_size > limits.max_part_bytes:
        raise ReadError(
            f"{name} holds a sheet of {info.file_size:,} bytes of XML once decompressed; "
            f"migkit reads at most {limits.max_part_bytes:,}. Save the sheet as CSV, or pass "
            "limits=ReadLimits(max_part_bytes=...)"
        )
    scan = _CellScan()
    for chunk in _xml_chunks(archive, member):
        scan.feed(chunk)
    return scan.size()


def _xml_chunks(archive: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    """The decompressed part in pieces that each end at a tag boundary (``zipfile`` stops at
    the declared size, so a lying header cannot inflate it further)."""
    tail = b""
    with archive.open(member) as stream:
        while chunk := stream.read(SCAN_CHUNK):
            chunk = tail + chunk
            cut = chunk.rfind(b"<")
            cut = len(chunk) if cut <= 0 else cut
            tail = chunk[cut:]
            yield chunk[:cut]
    if tail:
        yield tail


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


class _CellScan:
    """Where a worksheet part's cells with content are, as calamine will place them: a cell's
    ``r`` reference, else the next column of the current row (rows by ``r`` or counted)."""

    def __init__(self) -> None:
        self.cells = 0
        self.rows = (1 << 62, -1)
        self.columns = (1 << 62, -1)
        self.row = 0
        self.column = 0

    def _see(self, row: int, column: int, count: int = 1) -> None:
        self.cells += count
        self.rows = (min(self.rows[0], row), max(self.rows[1], row))
        self.columns = (min(self.columns[0], column), max(self.columns[1], column))

    def feed(self, chunk: bytes) -> None:
        tags = _FAST_CELL.findall(chunk)
        if len(tags) == chunk.count(b"<c ") + chunk.count(b"<c>") and b":c " not in chunk:
            fast = [(c, r) for c, r, closed in tags if not closed]  # <c .../> is no cell
            if fast:  # every cell carries its reference: bulk min/max, no per-cell state
                numbers = [int(r) for _, r in fast]
                letters = {c for c, _ in fast}
                columns = [_column_number(c) for c in letters]
                self._see(min(numbers) - 1, min(columns) - 1, len(fast) - 1)
                self._see(max(numbers) - 1, max(columns) - 1)
                self.row, self.column = max(numbers) - 1, 0
            return
        for closing, tag, attributes in _TAG.findall(chunk):
            self._tag(closing == b"/", tag, attributes)

    def _tag(self, closing: bool, tag: bytes, attributes: bytes) -> None:
        if attributes.rstrip().endswith(b"/"):
            return  # an empty element: calamine skips it
        ref = _REF.search(attributes)
        if tag == b"row":
            if closing:
                self.row, self.column = self.row + 1, 0
            elif ref and ref.group(2):
                self.row = int(ref.group(2)) - 1
            return
        if closing:
            return
        if ref and ref.group(1) and ref.group(2):
            self.row = int(ref.group(2)) - 1
            self.column = _column_number(ref.group(1)) - 1
        self._see(self.row, self.column)
        self.column += 1

    def size(self) -> SheetSize:
        if self.cells == 0:
            return SheetSize(0, 0, 0)
        rows = self.rows[1] - self.rows[0] + 1
        return SheetSize(rows, self.columns[1] - self.columns[0] + 1, self.cells)
