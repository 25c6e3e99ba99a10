"""``migkit.read``: whatever the customer sent, as DataFrames of text cells.

CSV and TSV (any delimiter, UTF-8 with or without BOM, UTF-16, cp1252/latin-1), Excel
workbooks (``.xlsx``/``.xls`` through calamine; several sheets give a dict of frames) and JSON
(an array of objects, or JSON lines). Every cell is kept as the customer wrote it, as text:
no type guessing, so leading zeros, long ids and dates survive. What was detected (format,
encoding, BOM, delimiter, sheet, header row) is in ``frame.attrs["migkit"]``.

>>> import io
>>> frame = read(io.BytesIO("Id;Name\\r\\n007;Zoë\\r\\n".encode("cp1252")), name="c.csv")
>>> frame.iloc[0].tolist(), frame.attrs["migkit"]["encoding"], frame.attrs["migkit"]["delimiter"]
(['007', 'Zoë'], 'cp1252', ';')
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from migkit.cells import cell_text
from migkit.errors import ReadError as ReadError  # defined in migkit.errors, read here too

DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 1 << 16
BLOCK_SIZE = 16 << 20  # pyarrow reads this much per block (rows may span several lines)
CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


@dataclass(frozen=True)
class Encoding:
    """What :func:`detect_encoding` found."""

    name: str  # a Python codec name
    bom: bool
    utf8: bool  # the bytes are already UTF-8 (with or without BOM)


def detect_encoding(data: bytes, name: str = "the file") -> Encoding:
    """The text encoding of ``data``: a BOM first, then strict UTF-8, UTF-16 without a BOM
    (NUL bytes on every other position), then cp1252, else latin-1. Text that is none of these
    (binary, or a multi-byte encoding such as Shift-JIS) raises :class:`ReadError` naming the
    first byte that is not UTF-8.

    >>> detect_encoding("café".encode("cp1252")).name, detect_encoding(b"\\xef\\xbb\\xbfa").bom
    ('cp1252', True)
    """
    if data.startswith(codecs.BOM_UTF8):
        return Encoding("utf-8-sig", True, True)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Encoding("utf-16", True, False)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    else:
        return Encoding("utf-8", False, True)
    sample = data[:SNIFF_BYTES]
    if len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
            return Encoding("utf-16-le", False, False)
        if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
            return Encoding("utf-16-be", False, False)
    codec = "latin-1" if CP1252_UNDEFINED & set(data) else "cp1252"
    text = data.decode(codec)
    controls = sum(1 for ch in text[:SNIFF_BYTES] if ord(ch) < 32 and ch not in "\t\r\n")
    high = sum(1 for byte in sample if byte >= 0x80)
    if controls or (sample and high > 0.3 * len(sample)):
        guess = "binary data" if controls else "a multi-byte encoding (e.g. Shift-JIS, GBK)"
        raise ReadError(
            f"{name} is not text migkit can decode: byte 0x{data[first_bad]:02x} at offset "
            f"{first_bad} is not UTF-8, and the rest looks like {guess}. Save it as CSV UTF-8, "
            "or pass encoding=... if you know it"
        )
    return Encoding(codec, False, False)


def sniff_delimiter(text: str, default: str = ",") -> str:
    """The delimiter of delimited ``text``: the candidate (``, ; tab |``) that splits the first
    lines into the same number of fields, preferring more fields.

    >>> sniff_delimiter("a;b;c\\n1;2,5;3\\n"), sniff_delimiter("a\\tb\\n1\\t2\\n")
    (';', '\\t')
    """
    lines = [line for line in io.StringIO(text[:SNIFF_BYTES], newline="") if line.strip()][:20]
    if not lines:
        return default
    if len(lines) > 1 and not text[:SNIFF_BYTES].endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last line short
    best, best_fields = default, 1
    for candidate in DELIMITERS:
        try:
            counts = {len(r) for r in csv.reader(lines, delimiter=candidate)}
        except csv.Error:
            continue
        fields = min(counts)
        if len(counts) == 1 and fields > best_fields:
            best, best_fields = candidate, fields
    return best


def _info(frame: pd.DataFrame, **info: Any) -> pd.DataFrame:
    frame.attrs["migkit"] = info
    return frame


def _text_table(records: list[list[Any]], name: str, **info: Any) -> pd.DataFrame:
    """Rows of cell values (header row first, after skipping banner rows) as text columns."""
    cells = [[cell_text(v) for v in row] for row in records]
    while cells and not any(c is not None for c in cells[-1]):
        cells.pop()  # trailing empty rows
    width = max((len(r) for r in cells), default=0)
    header_row = 0
    for index, row in enumerate(cells[:10]):  # banner/merged title rows above the header
        if sum(c is not None for c in row) >= max(1, math.ceil(width / 2)):
            header_row = index
            break
    if not cells:
        return _info(pd.DataFrame(), **info, header_row=None)
    header = [c if c is not None else f"Unnamed: {i}" for i, c in enumerate(cells[header_row])]
    header += [f"Unnamed: {i}" for i in range(len(header), width)]
    body = [r + [None] * (width - len(r)) for r in cells[header_row + 1 :]]
    body = [r for r in body if any(c is not None for c in r)]
    columns = {h: pd.array([r[i] for r in body], dtype="str") for i, h in enumerate(header)}
    if len(set(header)) != len(header):
        frame = pd.DataFrame(dict(enumerate(columns.values())))
        frame.columns = header
    else:
        frame = pd.DataFrame(columns)
    return _info(frame, **info, header_row=header_row)


def _read_delimited(
    data: bytes, name: str, fmt: str, encoding: str | None, delimiter: str | None
) -> pd.DataFrame:
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            where = f" at offset {exc.start}" if isinstance(exc, UnicodeDecodeError) else ""
            raise ReadError(f"{name} cannot be decoded as {encoding}{where}: {exc}") from None
        found = Encoding(encoding, False, encoding.replace("_", "-").lower() in ("utf-8", "utf8"))
    else:
        found = detect_encoding(data, name)
        text = data.decode(found.name)
    text = text.removeprefix("\ufeff")
    sep = delimiter or sniff_delimiter(text, "\t" if fmt == "tsv" else ",")
    info = {
        "source": name,
        "format": fmt,
        "encoding": found.name,
        "bom": found.bom,
        "delimiter": sep,
        "utf8": found.utf8,
    }
    if not text.strip():
        return _info(pd.DataFrame(), **info, header_row=None)
    header = next(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    utf8 = data if found.utf8 else text.encode("utf-8")  # pyarrow skips a UTF-8 BOM itself
    try:
        frame = text_csv(io.BytesIO(utf8), header, sep)
    except pa.ArrowInvalid as exc:
        raise ReadError(
            f"{name} is not valid delimited text with delimiter {sep!r}: {exc}. Quote cells "
            "that contain the delimiter, or pass delimiter=..."
        ) from None
    return _info(frame, **info, header_row=0)


def text_csv(source: IO[bytes], header: list[str], delimiter: str = ",") -> pd.DataFrame:
    """Parse delimited UTF-8 (RFC 4180: quoted delimiters, quotes and newlines) whose first
    record is ``header`` into pandas ``str`` columns, converting nothing: an empty cell is null,
    a quoted ``""`` the empty string. Repeated header names are kept. Raises
    ``pyarrow.ArrowInvalid`` on malformed text.

    >>> text_csv(io.BytesIO(b'Id,Id\\n007,""\\n'), ["Id", "Id"]).iloc[0].tolist()
    ['007', '']
    """
    names = _unique(header)
    table = pacsv.read_csv(
        source,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=BLOCK_SIZE),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.large_string() for n in names},
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=False,
        ),
    )
    frame: pd.DataFrame = table.to_pandas()
    frame.columns = header  # duplicates kept as written
    return frame


def _unique(names: list[str]) -> list[str]:
    # pyarrow needs distinct names while parsing; the real (maybe repeated) ones come back after.
    return [f"{n}\x00{i}" for i, n in enumerate(names)]


def _read_workbook(data: bytes, name: str, fmt: str, sheet: str | int | None) -> Any:
    try:
        book = pd.read_excel(
            io.BytesIO(data), sheet_name=None, header=None, engine="calamine", dtype=object
        )
    except Exception as exc:  # calamine raises many types for corrupt files
        raise ReadError(f"{name} is not a readable {fmt} workbook: {exc}") from None
    frames = {
        str(title): _text_table(
            [[None if _missing(v) else v for v in row] for row in raw.itertuples(index=False)],
            name,
            source=name,
            format=fmt,
            sheet=str(title),
        )
        for title, raw in book.items()
    }
    if sheet is not None:
        titles = list(frames)
        chosen = titles[sheet] if isinstance(sheet, int) and sheet < len(titles) else sheet
        if chosen not in frames:
            raise ReadError(f"{name} has no sheet {sheet!r}; sheets: {titles}")
        return frames[str(chosen)]
    return next(iter(frames.values())) if len(frames) == 1 else frames


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _read_json(data: bytes, name: str, fmt: str) -> pd.DataFrame:
    text = data.decode(detect_encoding(data, name).name).removeprefix("\ufeff")
    parse = {"parse_float": str, "parse_int": str}  # numbers stay as written
    try:
        stripped = text.lstrip()
        if stripped.startswith("["):
            items = json.loads(text, **parse)  # type: ignore[arg-type]
        else:
            items = [json.loads(line, **parse) for line in text.splitlines() if line.strip()]  # type: ignore[arg-type]
    except json.JSONDecodeError as exc:
        raise ReadError(f"{name} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not all(isinstance(item, Mapping) for item in items):
        raise ReadError(f"{name} must hold JSON objects, one per row")
    header: list[str] = []
    for item in items:
        header += [k for k in item if k not in header]
    records = [header] + [
        [json.dumps(v) if isinstance(v, dict | list) else v for v in (i.get(k) for k in header)]
        for i in items
    ]
    return _text_table(records, name, source=name, format=fmt, encoding="utf-8")


def read(
    source: str | Path | IO[bytes],
    *,
    name: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Any:
    """Read a customer's file into a DataFrame of text cells (a dict of them for a workbook
    with several sheets, unless ``sheet=`` picks one).

    The format comes from the file name (``name=`` for a file object); for text files the
    encoding and the delimiter are detected unless given. ``frame.attrs["migkit"]`` says what
    was found. A file that cannot be decoded raises :class:`ReadError` naming the byte offset
    and the likely encoding.

    >>> contacts = migkit.read("sample_data/contacts_cp1252.csv")  # doctest: +SKIP
    >>> contacts.attrs["migkit"]["encoding"]  # doctest: +SKIP
    'cp1252'
    """
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise ReadError(f"no file at {str(path)!r}")
        data, label = path.read_bytes(), name or path.name
    else:
        data, label = source.read(), name or getattr(source, "name", None) or "data.csv"
    fmt = FORMATS.get(Path(str(label)).suffix.lower())
    if fmt is None:
        raise ReadError(
            f"cannot tell the format of {label!r} from its name; use .csv, .tsv, .xlsx, .xls, "
            ".json or .jsonl, or pass name=..."
        )
    if fmt in ("xlsx", "xls"):
        return _read_workbook(data, str(label), fmt, sheet)
    if fmt in ("json", "jsonl"):
        return _read_json(data, str(label), fmt)
    return _read_delimited(data, str(label), fmt, encoding, delimiter)
