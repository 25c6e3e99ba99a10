"""A delimited file streams: each frame is parsed when it is taken, so reading (and
``validate_file``) holds a block or two of the file, never all of it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO

from migkit.read.streamed import CHUNK, open_delimited


class Counting(io.FileIO):
    """A file that counts the bytes read from it."""

    read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data or b"")
        return data or b""


def test_frames_are_parsed_as_they_are_taken(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    row = "user{}@example.com,Ann,García,555-0100,Open,Account {}\n"
    lines = ["Email,First Name,Last Name,Phone,Status,Account\n"]
    lines += [row.format(i, i % 97) for i in range(200_000)]  # about 11 MB
    path.write_text("".join(lines), encoding="utf-8")
    size = path.stat().st_size
    opened: list[Counting] = []

    def opener() -> IO[bytes]:
        opened.append(Counting(path))
        return opened[-1]

    rows, _ = open_delimited(opener, path.name, "csv", encoding="utf-8", block_bytes=1 << 16)
    frames = rows.frames()
    first = next(frames)
    # the stream the rows come from has read a block and its buffers' worth, not the file
    assert 0 < len(first) < 2_000
    assert max(f.read_bytes for f in opened) <= 3 * CHUNK + (1 << 16) < size
    taken = len(first) + sum(len(f) for f in frames)
    assert taken == 200_000
    assert max(f.read_bytes for f in opened) == size  # then all of it, as the frames came
