"""Tiny OLE (compound file) and BIFF8 writers, so tests build hostile ``.xls`` files and
encrypted workbooks themselves instead of committing binaries.

Each stream is padded to at least 4096 bytes, so it lives in regular 512-byte sectors (no mini
stream); sector 0 is the FAT, sector 1 the directory, the streams follow.
"""

from __future__ import annotations

import struct

END, FREE, FAT_SECTOR = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD


def _entry(
    name: str, kind: int, start: int, size: int, right: int = FREE, child: int = FREE
) -> bytes:
    encoded = (name + "\x00").encode("utf-16-le")
    return (
        encoded.ljust(64, b"\x00")
        + struct.pack("<HBB", len(encoded), kind, 1)
        + struct.pack("<III", FREE, right, child)
        + b"\x00" * 36
        + struct.pack("<IQ", start, size)
    )


def ole_file(streams: dict[str, bytes]) -> bytes:
    """An OLE file whose root holds ``streams`` (at most three)."""
    assert 0 < len(streams) <= 3
    names = list(streams)
    datas = [streams[n].ljust(max(4096, len(streams[n])), b"\x00") for n in names]
    datas = [d.ljust(-(-len(d) // 512) * 512, b"\x00") for d in datas]
    fat = [FAT_SECTOR, END]
    directory = [_entry("Root Entry", 5, END, 0, child=1)]
    sector = 2
    for index, (name, data) in enumerate(zip(names, datas, strict=True)):
        count = len(data) // 512
        fat += [sector + i + 1 for i in range(count - 1)] + [END]
        right = index + 2 if index + 1 < len(names) else FREE
        size = max(4096, len(streams[name]))  # smaller ones would belong in the mini stream
        directory.append(_entry(name, 2, sector, size, right=right))
        sector += count
    assert len(fat) <= 128
    header = (
        bytes.fromhex("d0cf11e0a1b11ae1")
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, END, 0, END, 0)
        + struct.pack("<I", 0)
        + struct.pack("<108I", *[FREE] * 108)
    )
    fat_sector = struct.pack(f"<{len(fat)}I", *fat) + b"\xff" * (512 - 4 * len(fat))
    dir_sector = b"".join(directory).ljust(512, b"\x00")
    for entry in range(len(directory), 4):  # unused entries
        dir_sector = (
            dir_sector[: entry * 128] + _entry("", 0, 0, 0) + dir_sector[(entry + 1) * 128 :]
        )
    return header + fat_sector + dir_sector + b"".join(datas)


def _record(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def biff8_workbook(cells: list[tuple[int, int, float]], *, password: bool = False) -> bytes:
    """A one-sheet BIFF8 ``.xls`` holding numbers at ``(row, column)``; ``password`` adds the
    FILEPASS record an encrypted workbook starts with."""
    bof_globals = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0, 0, 0, 0))
    filepass = _record(0x002F, b"\x01\x00" + b"\x00" * 52) if password else b""
    name = "Sheet1".encode("latin-1")
    boundsheet_size = 4 + 8 + len(name)
    position = len(bof_globals) + len(filepass) + boundsheet_size + 4  # + EOF record
    boundsheet = _record(0x0085, struct.pack("<IBBBB", position, 0, 0, len(name), 0) + name)
    globals_ = bof_globals + filepass + boundsheet + _record(0x000A, b"")
    sheet = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0, 0, 0, 0))
    for row, column, value in cells:
        sheet += _record(0x0203, struct.pack("<HHHd", row, column, 0, value))
    sheet += _record(0x000A, b"")
    return ole_file({"Workbook": globals_ + sheet})
