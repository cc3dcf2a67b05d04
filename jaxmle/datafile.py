"""Columns of data files for the command line: CSV/TSV and other delimited
text (header or not, delimiter sniffed), ``.npy`` and Parquet.

:func:`open_data` looks at a file once (format, delimiter, header, column
names) and :func:`read_columns` reads the requested columns in chunks (blocks
of ``TEXT_BLOCK_BYTES`` of text, parsed by numpy's C reader, or ``CHUNK_ROWS``
rows of ``.npy`` and Parquet), checking every cell as it goes: a cell that is not a
number is an error naming the file, its line and column; a missing cell (empty,
``NA``, ``NaN``, ``null``) is reported by line, or dropped with its row when
asked. Numbers are parsed once. A numeric column larger than
``IN_MEMORY_BYTES`` is spilled, chunk by chunk, to a temporary file read back
as a ``np.memmap``, which :func:`jaxmle.fit` streams to the device in chunks:
a file larger than memory is read once and never held whole. A ``.npy`` file
is memory-mapped, not read.

Errors are :class:`DataFileError` (a ``ValueError``) with one line of text.
This module imports nothing from jaxmle: it only turns files into arrays.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import numpy as np

__all__ = [
    "CHUNK_ROWS",
    "IN_MEMORY_BYTES",
    "MISSING_TOKENS",
    "TEXT_BLOCK_BYTES",
    "Column",
    "DataFile",
    "DataFileError",
    "open_data",
    "read_columns",
]

# Rows of a .npy or Parquet file read at a time.
CHUNK_ROWS = 1 << 18
# Bytes of a text file parsed at a time by numpy's C reader (cut at a line end).
TEXT_BLOCK_BYTES = 1 << 23
# A numeric column past this many bytes goes to a temporary memory-mapped file.
IN_MEMORY_BYTES = 1 << 31
# Cells that mean "no value" (compared lower-cased, quotes and blanks stripped).
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "-nan", "?"})
_SNIFF_LINES = 50
_DELIMITERS = (",", "\t", ";", "|")


class DataFileError(ValueError):
    """A data file that cannot be read as asked (one line: file, row, column)."""


class DataFile(NamedTuple):
    """What :func:`open_data` found in a file.

    Attributes:
        path: the file.
        kind: ``"text"``, ``"npy"`` or ``"parquet"``.
        columns: the column names: the header's, else ``"1"``, ``"2"``, ...
        header: whether the first data line of a text file is a header.
        delimiter: a text file's delimiter (``None``: runs of whitespace).
    """

    path: str
    kind: str
    columns: tuple[str, ...]
    header: bool = False
    delimiter: str | None = None

    def index(self, name: str) -> int:
        """The position of column ``name`` (a header name, or a 1-based
        number), or a :class:`DataFileError` listing the columns."""
        if name in self.columns:
            return self.columns.index(name)
        if name.isdigit() and 1 <= int(name) <= len(self.columns):
            return int(name) - 1
        shown = ", ".join(repr(c) for c in self.columns[:20])
        more = f" (and {len(self.columns) - 20} more)" if len(self.columns) > 20 else ""
        return _fail(f"{self.path} has no column {name!r}; its columns are {shown}{more}")


class Column(NamedTuple):
    """A column read by :func:`read_columns`.

    Attributes:
        name: the column's name in the file.
        values: float64 numbers (NaN where a cell is missing and missing cells
            are allowed), or strings for a label column; a ``np.memmap`` when
            spilled.
    """

    name: str
    values: np.ndarray


def _fail(message: str):
    raise DataFileError(message)


def _kind(path: str) -> str:
    lower = path.lower()
    if lower.endswith(".npy"):
        return "npy"
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    return "text"


def open_data(path: str) -> DataFile:
    """Look at ``path``: its format, and for text its delimiter, header and columns.

    Raises:
        DataFileError: no such file, a directory, unreadable, empty, a header
            without data rows, an unreadable ``.npy``/Parquet file.
    """
    if not os.path.exists(path):
        _fail(f"cannot read {path}: no such file")
    if os.path.isdir(path):
        _fail(f"cannot read {path}: it is a directory, not a data file")
    if not os.access(path, os.R_OK):
        _fail(f"cannot read {path}: permission denied")
    kind = _kind(path)
    if os.path.getsize(path) == 0:
        _fail(f"{path} is empty")
    if kind == "npy":
        return _open_npy(path)
    if kind == "parquet":
        return _open_parquet(path)
    return _open_text(path)


def _open_npy(path: str) -> DataFile:
    arr = _load_npy(path)
    if arr.dtype.names:
        return DataFile(path, "npy", tuple(arr.dtype.names))
    if arr.ndim not in (1, 2):
        _fail(f"{path}: expected a 1-D or 2-D array, got shape {arr.shape}")
    k = 1 if arr.ndim == 1 else arr.shape[1]
    return DataFile(path, "npy", tuple(str(i + 1) for i in range(k)))


def _load_npy(path: str) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        return _fail(f"cannot read {path} as a .npy array: {exc}")


def _parquet_file(path: str):
    try:
        import pyarrow.parquet as pq
    except ModuleNotFoundError:
        _fail(f"reading {path} needs pyarrow: pip install 'jaxmle[parquet]'")
    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid/OSError types
        return _fail(f"cannot read {path} as Parquet: {exc}")


def _open_parquet(path: str) -> DataFile:
    return DataFile(path, "parquet", tuple(_parquet_file(path).schema_arrow.names))


def _text_lines(path: str) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of the lines holding data (not blank, not a
    ``#`` comment), numbered from 1 as an editor does."""
    with open(path, encoding="utf-8-sig", errors="replace", newline=None) as f:
        for number, line in enumerate(f, 1):
            text = line.strip()
            if text and not text.startswith("#"):
                yield number, line.rstrip("\r\n")


def _split(line: str, delimiter: str | None, path: str = "") -> list[str]:
    """The cells of one line (quotes removed; whitespace-delimited when ``delimiter`` is None)."""
    if delimiter is None:
        return line.split()
    try:
        return next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))
    except csv.Error as exc:  # a NUL byte, an unclosed quote at the end of the file
        return _fail(f"{path}: cannot split a line at {delimiter!r}: {exc}")


def _sniff_delimiter(path: str, lines: Sequence[str]) -> str | None:
    """The delimiter that splits the first line into the most cells (more than
    one), and nine in ten of the sampled lines (all but one of a few) into as
    many (a ragged row is then reported by line, not mistaken for one
    column); ``.tsv`` means tab.
    ``None``: whitespace (or one column)."""
    if path.lower().endswith(".tsv"):
        return "\t"
    best, cells = None, 1
    for d in _DELIMITERS:
        try:
            counts = [len(_split(ln, d)) for ln in lines]
        except DataFileError:
            continue
        same = sum(c == counts[0] for c in counts)
        if counts[0] > cells and same >= min(len(counts) - 1, 0.9 * len(counts)):
            best, cells = d, counts[0]
    return best


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _open_text(path: str) -> DataFile:
    sample = [ln for _, ln in itertools.islice(_text_lines(path), _SNIFF_LINES)]
    if not sample:
        _fail(f"{path} holds no data (only blank lines or comments)")
    delimiter = _sniff_delimiter(path, sample)
    first = [c.strip() for c in _split(sample[0], delimiter, path)]
    header = any(not _is_number(c) and c.lower() not in MISSING_TOKENS for c in first)
    if header:
        if len(sample) == 1:
            _fail(f"{path} has a header ({', '.join(first[:10])}) but no data rows")
        names = tuple(c or str(i + 1) for i, c in enumerate(first))
        dup = {c for c in names if names.count(c) > 1}
        if dup:
            _fail(f"{path}: the header names column(s) {sorted(dup)} more than once")
    else:
        names = tuple(str(i + 1) for i in range(len(first)))
    return DataFile(path, "text", names, header, delimiter)


# ---- reading ---------------------------------------------------------------------


class _Spill:
    """A float64 column collected chunk by chunk: in memory, or past
    ``limit`` bytes in a temporary file read back as a memmap."""

    def __init__(self, limit: int):
        self.limit = limit
        self.parts: list[np.ndarray] = []
        self.size = 0
        self.file: io.BufferedWriter | None = None
        self.name = ""

    def add(self, values: np.ndarray) -> None:
        self.size += values.size
        if self.file is None and self.size * 8 > self.limit:
            fd, self.name = tempfile.mkstemp(prefix="jaxmle-column-", suffix=".f64")
            self.file = os.fdopen(fd, "wb")
            for p in self.parts:
                self.file.write(p.tobytes())
            self.parts = []
        if self.file is not None:
            self.file.write(np.ascontiguousarray(values, np.float64).tobytes())
        else:
            self.parts.append(values)

    def result(self) -> np.ndarray:
        if self.file is None:
            return np.concatenate(self.parts) if self.parts else np.zeros(0)
        self.file.close()
        out = np.memmap(self.name, np.float64, mode="r", shape=(self.size,))
        os.unlink(self.name)  # the mapping keeps the data (POSIX); nothing is left behind
        return out


class _Request(NamedTuple):
    """What to read of one column: its position and name, whether it holds
    labels (strings, taken as they are) rather than numbers, and whether a
    numeric column's missing cells are allowed (NaN)."""

    index: int
    name: str
    labels: bool
    allow_missing: bool


def read_columns(
    data: DataFile,
    numbers: Sequence[str] = (),
    labels: Sequence[str] = (),
    *,
    allow_missing: Sequence[str] = (),
    drop_missing: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    text_block_bytes: int = TEXT_BLOCK_BYTES,
    in_memory_bytes: int = IN_MEMORY_BYTES,
) -> tuple[list[Column], int]:
    """Read columns of ``data``: ``numbers`` as float64, ``labels`` as strings.

    Args:
        data: from :func:`open_data`.
        numbers: names of numeric columns.
        labels: names of label columns (groups), read as text.
        allow_missing: numeric columns whose missing cells are kept as NaN
            (censoring bounds: a missing bound is an open end).
        drop_missing: drop every row with a missing cell in another requested
            column (else such a cell is an error naming its lines).
        chunk_rows: rows of a ``.npy`` or Parquet file read at a time.
        text_block_bytes: bytes of a text file parsed at a time (cut at a line end).
        in_memory_bytes: a numeric column larger than this is spilled to a
            temporary memory-mapped file.

    Returns:
        The columns in the order ``numbers`` then ``labels``, and the number
        of rows dropped.

    Raises:
        DataFileError: a missing column, a non-numeric or non-finite cell, a
            missing cell (without ``drop_missing``), a ragged row, no rows left.
    """
    requests = [_Request(data.index(n), n, False, n in allow_missing) for n in numbers] + [
        _Request(data.index(n), n, True, True) for n in labels
    ]
    if data.kind == "text":
        chunks = _text_chunks(data, requests, text_block_bytes)
    elif data.kind == "npy":
        chunks = _npy_chunks(data, requests, chunk_rows)
    else:
        chunks = _parquet_chunks(data, requests, chunk_rows)
    spills = [_Spill(in_memory_bytes) for r in requests if not r.labels]
    label_parts: list[list[np.ndarray]] = [[] for r in requests if r.labels]
    dropped = rows = 0
    for cols, locate in chunks:
        keep = np.ones(len(cols[0]), bool)
        for r, values in zip(requests, cols, strict=True):
            if r.labels:  # any text is a label (an empty one too)
                continue
            bad = np.isnan(values)
            inf = np.isinf(values)
            if inf.any():
                i = int(np.flatnonzero(inf)[0])
                _fail(
                    f"{data.path}, {_where(data, locate()[i])} column {r.name!r}: "
                    f"{values[i]} is not a finite number"
                )
            if bad.any() and not r.allow_missing:
                if not drop_missing:
                    where = _lines_text(data, locate()[bad])
                    _fail(
                        f"{data.path}: column {r.name!r} has {int(bad.sum())} missing cell(s) "
                        f"({where}); pass --drop-missing to leave those rows out"
                    )
                keep &= ~bad
        dropped += int((~keep).sum())
        rows += int(keep.sum())
        numeric = iter(spills)
        labelled = iter(label_parts)
        for r, values in zip(requests, cols, strict=False):
            if r.labels:
                next(labelled).append(values[keep])
            else:
                next(numeric).add(values[keep])
    if rows == 0:
        what = " after dropping rows with missing cells" if dropped else ""
        _fail(f"{data.path} has no data rows{what}")
    numeric = iter(spills)
    labelled = iter(label_parts)
    out = [
        Column(r.name, np.concatenate(next(labelled)) if r.labels else next(numeric).result())
        for r in requests
    ]
    return out, dropped


def _where(data: DataFile, line: int) -> str:
    return f"line {line}," if data.kind == "text" else f"row {line},"


def _lines_text(data: DataFile, lines: np.ndarray) -> str:
    word = "line" if data.kind == "text" else "row"
    shown = ", ".join(str(int(v)) for v in lines[:5])
    more = f" and {len(lines) - 5} more" if len(lines) > 5 else ""
    return f"{word}{'s' if len(lines) > 1 else ''} {shown}{more}"


def _text_chunks(
    data: DataFile, requests: Sequence[_Request], block_bytes: int
) -> Iterator[tuple[list[np.ndarray], Callable[[], np.ndarray]]]:
    """Each block's columns (blocks of about ``block_bytes``, cut at line
    ends), and a function giving each row's line number in the file
    (computed only when a message needs it)."""
    with open(data.path, "rb") as f:
        line = 1  # the number of the block's first line
        header = data.header  # still to be skipped: the first line holding data
        carry = b""
        while True:
            more = f.read(block_bytes)
            buf = carry + more
            if not buf:
                return
            if line == 1 and buf.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark
                buf = buf[3:]
            cut = buf.rfind(b"\n") + 1 if more else len(buf)
            if cut == 0:  # no line end yet: read on
                carry = buf
                continue
            block, carry = buf[:cut], buf[cut:]
            if b"\r" in block:  # Windows' and old Macs' line ends
                block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if header:
                end = _header_end(block)
                if end is None:  # only blank or comment lines so far
                    line += block.count(b"\n")
                    continue
                line += block.count(b"\n", 0, end)
                block, header = block[end:], False
            if block.strip():
                yield _parse_block(data, block, line, requests)
            line += block.count(b"\n")
            if not more:
                return


def _header_end(block: bytes) -> int | None:
    """Where the first line holding data (the header) ends in ``block``
    (after its line end), or ``None``."""
    start = 0
    while start < len(block):
        end = block.find(b"\n", start)
        end = len(block) if end < 0 else end + 1
        text = block[start:end].strip()
        if text and not text.startswith(b"#"):
            return end
        start = end
    return None


def _data_lines(block: bytes, first: int) -> tuple[np.ndarray, list[str]]:
    """The line numbers and texts of a block's lines that hold data."""
    numbers, texts = [], []
    for i, raw in enumerate(block.decode("utf-8", "replace").splitlines()):
        stripped = raw.strip()
        if stripped and not stripped.startswith("#"):
            numbers.append(first + i)
            texts.append(raw)
    return np.asarray(numbers, np.int64), texts


def _parse_block(
    data: DataFile, block: bytes, first: int, requests: Sequence[_Request]
) -> tuple[list[np.ndarray], Callable[[], np.ndarray]]:
    """The requested columns of a block of lines starting at line ``first``:
    numpy's C reader when every cell parses and every row has its cells, else
    a cell-by-cell pass that keeps missing cells as NaN and names the first bad
    cell by its line."""

    def locate() -> np.ndarray:
        return _data_lines(block, first)[0]

    if b"#" not in block:  # comment lines and trailing comments: the careful pass
        out = _parse_fast(data, block.decode("utf-8", "replace"), requests)
        if out is not None:
            return out, locate
    numbers, texts = _data_lines(block, first)
    return _parse_cells(data, texts, numbers, requests), lambda: numbers


def _parse_fast(data: DataFile, text: str, requests: Sequence[_Request]) -> list[np.ndarray] | None:
    """The columns by numpy's C reader, or ``None`` where a cell does not
    parse or a row has the wrong number of cells (the careful pass says which)."""
    numeric = [r.index for r in requests if not r.labels]
    try:
        parsed = None
        if numeric:
            parsed = np.loadtxt(
                io.StringIO(text), delimiter=data.delimiter, ndmin=2, quotechar='"',
                comments=None, usecols=numeric, dtype=np.float64,
            )  # fmt: skip
    except ValueError:
        return None
    k = len(data.columns)
    if data.delimiter is not None and '"' not in text:
        rows = parsed.shape[0] if parsed is not None else None
        if rows is None or text.count(data.delimiter) != rows * (k - 1):
            return None
    else:  # whitespace or quotes: count the cells of each line
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if any(len(_split(ln, data.delimiter, data.path)) != k for ln in lines):
            return None
    out, j = [], 0
    for r in requests:
        if r.labels:
            labels = np.loadtxt(
                io.StringIO(text), delimiter=data.delimiter, ndmin=2, quotechar='"',
                comments=None, usecols=[r.index], dtype=str,
            )  # fmt: skip
            out.append(np.char.strip(labels[:, 0]))
        else:
            out.append(parsed[:, j])
            j += 1
    return out


def _check_widths(data: DataFile, texts: list[str], numbers: np.ndarray) -> None:
    """Every line has the header's (or first row's) number of cells."""
    widths = np.array([len(_split(t, data.delimiter, data.path)) for t in texts], np.int64)
    bad = np.flatnonzero(widths != len(data.columns))
    if bad.size:
        i = int(bad[0])
        _fail(
            f"{data.path}, line {int(numbers[i])}: {int(widths[i])} cell(s) where the "
            f"{'header has' if data.header else 'first row has'} {len(data.columns)}"
        )


def _parse_cells(
    data: DataFile, texts: list[str], numbers: np.ndarray, requests: Sequence[_Request]
) -> list[np.ndarray]:
    _check_widths(data, texts, numbers)
    split = [_split(t, data.delimiter, data.path) for t in texts]
    out = []
    for r in requests:
        cells = [row[r.index].strip() for row in split]
        if r.labels:
            out.append(np.array(cells, dtype=str))
            continue
        values = np.empty(len(cells))
        for i, c in enumerate(cells):
            try:
                values[i] = float(c)
            except ValueError:
                if c.lower() not in MISSING_TOKENS:
                    shown = c if len(c) <= 40 else c[:37] + "..."
                    _fail(
                        f"{data.path}, line {int(numbers[i])}, column {r.name!r}: "
                        f"{shown!r} is not a number"
                    )
                values[i] = np.nan
        out.append(values)
    return out


def _npy_chunks(
    data: DataFile, requests: Sequence[_Request], chunk_rows: int
) -> Iterator[tuple[list[np.ndarray], Callable[[], np.ndarray]]]:
    arr = _load_npy(data.path)
    n = arr.shape[0]
    for start in range(0, n, chunk_rows):
        part = arr[start : start + chunk_rows]
        cols = []
        for r in requests:
            if arr.dtype.names:
                v = np.asarray(part[data.columns[r.index]])
            else:
                v = np.asarray(part if arr.ndim == 1 else part[:, r.index])
            cols.append(v.astype(str) if r.labels else _as_float(data, r.name, v))
        rows = np.arange(start + 1, start + part.shape[0] + 1)
        yield cols, lambda rows=rows: rows


def _as_float(data: DataFile, name: str, v: np.ndarray) -> np.ndarray:
    if v.ndim != 1:
        _fail(f"{data.path}: column {name!r} is not one value per row (shape {v.shape})")
    if not (np.issubdtype(v.dtype, np.number) or np.issubdtype(v.dtype, np.bool_)):
        _fail(f"{data.path}: column {name!r} holds {v.dtype}, not numbers")
    if np.iscomplexobj(v):
        _fail(f"{data.path}: column {name!r} holds complex numbers")
    return v.astype(np.float64)


def _parquet_chunks(
    data: DataFile, requests: Sequence[_Request], chunk_rows: int
) -> Iterator[tuple[list[np.ndarray], Callable[[], np.ndarray]]]:
    import pyarrow as pa

    pf = _parquet_file(data.path)
    names = [data.columns[r.index] for r in requests]
    start = 0
    for batch in pf.iter_batches(batch_size=chunk_rows, columns=sorted(set(names))):
        cols = []
        for r, name in zip(requests, names, strict=False):
            col = batch.column(batch.schema.get_field_index(name))
            if r.labels:
                cols.append(np.array([("" if v is None else str(v)) for v in col.to_pylist()]))
                continue
            if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
                if not pa.types.is_boolean(col.type):
                    _fail(f"{data.path}: column {name!r} holds {col.type}, not numbers")
            values = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
            values = np.array(values, np.float64)  # writable, nulls as NaN
            cols.append(values)
        m = batch.num_rows
        rows = np.arange(start + 1, start + m + 1)
        yield cols, lambda rows=rows: rows
        start += m
