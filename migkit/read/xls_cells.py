"""The size of each sheet of a legacy ``.xls`` (BIFF5/BIFF8 in an OLE container), measured from
its cell records without building anything, and the OLE container's stream names (an
encrypted ``.xlsx`` is an OLE file holding ``EncryptedPackage``).

A BIFF stream is a run of records ``(type: u16, length: u16, body)``; every cell record starts
with its row and column, so one pass over the records gives each sheet's span and cell count.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import olefile

from migkit.read.limits import ReadError

if TYPE_CHECKING:
    from migkit.read.workbook import SheetSize

BOF, EOF, BOUNDSHEET, FILEPASS = 0x0809, 0x000A, 0x0085, 0x002F
# NUMBER, LABEL, LABELSST, RK, BOOLERR, FORMULA, BLANK, RSTRING: row and column come first.
ONE_CELL = frozenset({0x0203, 0x0204, 0x00FD, 0x027E, 0x0205, 0x0006, 0x0201, 0x00D6})
MANY_CELLS = frozenset({0x00BD, 0x00BE})  # MULRK, MULBLANK: row, first column, ..., last column


def ole_streams(data: bytes, name: str) -> set[str]:
    """The names of the streams at the root of an OLE (compound) file."""
    try:
        with olefile.OleFileIO(data) as ole:
            return {"/".join(path) for path in ole.listdir(streams=True, storages=False)}
    except (OSError, ValueError, struct.error, IndexError) as exc:
        raise ReadError(f"{name} is a damaged .xls workbook ({exc}); save it again") from None


def _workbook_stream(data: bytes, name: str) -> bytes:
    try:
        with olefile.OleFileIO(data) as ole:
            for stream in ("Workbook", "Book", "WORKBOOK", "BOOK"):
                if ole.exists(stream):
                    return bytes(ole.openstream(stream).read())
    except (OSError, ValueError, struct.error, IndexError) as exc:
        raise ReadError(f"{name} is a damaged .xls workbook ({exc}); save it again") from None
    raise ReadError(f"{name} is an OLE file without a workbook stream: not an Excel workbook")


def _sheet_name(body: bytes, biff8: bool) -> str:
    count = body[6]
    if not biff8:  # BIFF5: a byte string in the workbook's code page
        return body[7 : 7 + count].decode("cp1252", "replace")
    if len(body) > 7 and body[7] & 1:  # BIFF8: UTF-16, or "compressed" to one byte each
        return body[8 : 8 + 2 * count].decode("utf-16-le", "replace")
    return body[8 : 8 + count].decode("latin-1")


def xls_sheet_sizes(data: bytes, name: str) -> dict[str, SheetSize]:
    """Each worksheet's span and cell count by title, from one pass over its records."""
    from migkit.read.workbook import SheetSize

    stream = _workbook_stream(data, name)
    titles: dict[int, str] = {}
    spans: dict[str, list[int]] = {}
    position, current, biff8 = 0, None, True
    while position + 4 <= len(stream):
        kind, length = struct.unpack_from("<HH", stream, position)
        body = stream[position + 4 : position + 4 + length]
        if kind == FILEPASS and current is None:
            raise ReadError(
                f"{name} is encrypted (saved with a password); open it in Excel, remove the "
                "password and save it again"
            )
        if kind == BOF and position == 0 and len(body) >= 2:
            biff8 = struct.unpack_from("<H", body)[0] >= 0x0600
        if kind == BOUNDSHEET and len(body) >= 8:
            titles[struct.unpack_from("<I", body)[0]] = _sheet_name(body, biff8)
        elif kind == BOF and position in titles:
            current = spans.setdefault(titles[position], [1 << 30, -1, 1 << 30, -1, 0])
        elif kind == EOF:
            current = None
        elif current is not None and len(body) >= 4 and (kind in ONE_CELL or kind in MANY_CELLS):
            row, first = struct.unpack_from("<HH", body)
            last = struct.unpack_from("<H", body, len(body) - 2)[0] if kind in MANY_CELLS else first
            current[0], current[1] = min(current[0], row), max(current[1], row)
            current[2], current[3] = min(current[2], first), max(current[3], last, first)
            current[4] += max(1, last - first + 1)
        position += 4 + length
    return {
        title: SheetSize(s[1] - s[0] + 1, s[3] - s[2] + 1, s[4]) if s[4] else SheetSize(0, 0, 0)
        for title, s in spans.items()
    }
