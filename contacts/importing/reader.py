"""The stored upload's data rows, one at a time, with the byte offset after each (contract §4).

The offsets make an import resumable: a worker commits a batch with the `end_offset` of its
last row, and the worker that takes over seeks there instead of reading the file again. Memory
stays the same whatever the file's size. The stored file is UTF-8 without BOM
(sniff.store_upload); bytes that are not UTF-8 survive decoding as lone surrogates
(surrogateescape), so that they spoil only the row that holds them.
"""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings

from .sniff import SNIFF_BYTES

# csv's field limit is process-wide. _Lines already bounds every record in bytes, and a field
# is never larger than its record, so the csv module gets a fixed limit that never fires first
# (the largest value it accepts on every platform).
_CSV_FIELD_LIMIT = 2**31 - 1

_NOT_UTF8 = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class RawRow:
    number: int  # 1-based data-row number (the header is row 0)
    cells: list[str] | None  # None when the row is malformed
    error: str | None  # why the row is malformed, else None
    end_offset: int  # byte offset in the stored file just after this row


class ImportLimitExceeded(Exception):
    """The file is beyond a limit of §4; the whole import fails with `code` and `message`."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code  # "too_many_rows", "too_many_columns" or "cell_too_large"
        self.message = message


def read_rows(
    file,
    *,
    delimiter: str,
    header_columns: int,
    start_offset: int = 0,
    start_row: int = 0,
    max_rows: int,
    max_columns: int,
    max_cell_bytes: int,
) -> Iterator[RawRow]:
    """The data rows of the stored `file` (binary, seekable), padded to `header_columns` cells.

    From offset 0 the header is skipped and rows count from 1; to resume, pass a row's
    `end_offset` and `number` as `start_offset` and `start_row`. A row that is not UTF-8, holds
    a NUL or has more cells than the header comes out malformed and reading goes on; a row the
    csv module cannot parse comes out malformed and is the last, as nothing after it can be
    trusted. Raises ImportLimitExceeded when the file is beyond a limit.
    """
    if header_columns > max_columns:
        raise ImportLimitExceeded(
            "too_many_columns",
            f"The header has {header_columns} columns; an import takes at most {max_columns}.",
        )
    records = _records(
        file,
        delimiter=delimiter,
        start_offset=start_offset,
        start_row=start_row,
        max_rows=max_rows,
        max_columns=max_columns,
        max_cell_bytes=max_cell_bytes,
    )
    for row in records:
        yield _checked(row, header_columns=header_columns, max_cell_bytes=max_cell_bytes)


def count_rows(file, *, delimiter: str, max_rows: int) -> int:
    """Number of data rows (records after the header), for `totalRows` before the work starts.

    Malformed records count as rows, and numbering agrees with read_rows. Raises
    ImportLimitExceeded("too_many_rows") past `max_rows`, and ("cell_too_large") for a record
    longer than the settings' column and cell limits allow, which read_rows would refuse too.
    """
    counted = _count_plain_lines(
        file,
        max_rows=max_rows,
        limit=_record_limit(settings.IMPORT_MAX_COLUMNS, settings.IMPORT_MAX_CELL_BYTES),
    )
    if counted is not None:
        return counted
    records = _records(
        file,
        delimiter=delimiter,
        start_offset=0,
        start_row=0,
        max_rows=max_rows,
        max_columns=settings.IMPORT_MAX_COLUMNS,
        max_cell_bytes=settings.IMPORT_MAX_CELL_BYTES,
    )
    return sum(1 for _ in records)


_PLAIN_CHUNK = 1 << 20


def _count_plain_lines(file, *, max_rows: int, limit: int) -> int | None:
    """The data rows of a file where every line is one record, counted by its line feeds.

    That is a file without a quote (no record spans lines, none is unparseable) and without
    a carriage return (none ends a field early); its count is read_rows', at C speed. None
    for any other file, and for one past a limit, which the csv module then counts, to fail
    it with read_rows' own error.
    """
    file.seek(0)
    lines, pending = 0, 0  # complete lines, and bytes of the line not yet ended
    while chunk := file.read(_PLAIN_CHUNK):
        if b'"' in chunk or b"\r" in chunk:
            return None
        parts = chunk.split(b"\n")
        if len(parts) == 1:  # no line ends in this chunk
            pending += len(chunk)
        else:
            # The lines that end here (the pending one first), each with its line feed.
            if max([pending + len(parts[0]), *map(len, parts[1:-1])]) + 1 > limit:
                return None
            lines += len(parts) - 1
            pending = len(parts[-1])
        if pending > limit:
            return None
    rows = max(lines + (1 if pending else 0) - 1, 0)  # the first record is the header
    return rows if rows <= max_rows else None


class _RecordTooLarge(Exception):
    """A record grew past its byte limit before it ended."""


class _Lines:
    """The file's physical lines (ending at LF) as text, from the file's current position.

    `offset` is the byte position just after the last line handed out. csv.reader pulls exactly
    the lines of one record before it returns that record, so after each record `offset` is
    where the record ends. `record_bytes` counts the bytes of the record being read; the caller
    resets it between records. Past `limit` the record is abandoned, which bounds memory even
    when an unterminated quote would swallow the rest of the file into one field.
    """

    def __init__(self, file, *, offset: int, limit: int):
        self._file = file
        self._limit = limit
        self.offset = offset
        self.record_bytes = 0

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = self._file.readline(self._limit - self.record_bytes + 1)
        if not line:
            raise StopIteration
        self.record_bytes += len(line)
        if self.record_bytes > self._limit:
            raise _RecordTooLarge
        self.offset += len(line)
        return line.decode("utf-8", "surrogateescape")


def _records(
    file,
    *,
    delimiter: str,
    start_offset: int,
    start_row: int,
    max_rows: int,
    max_columns: int,
    max_cell_bytes: int,
) -> Iterator[RawRow]:
    """Every record after the header (or from `start_offset`), numbered, cells unchecked."""
    limit = _record_limit(max_columns, max_cell_bytes)
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    file.seek(start_offset)
    lines = _Lines(file, offset=start_offset, limit=limit)
    records = csv.reader(lines, delimiter=delimiter, strict=True)
    if start_offset == 0:
        next(records, None)  # the header, checked at upload
    number = start_row
    while True:
        number += 1
        lines.record_bytes = 0
        try:
            cells = next(records, None)
        except _RecordTooLarge:
            raise ImportLimitExceeded(
                "cell_too_large",
                f"Row {number} is longer than {limit} bytes, more than {max_columns} cells of"
                f" {max_cell_bytes} bytes can take.",
            ) from None
        except csv.Error as error:
            _check_row_count(number, max_rows)
            reason = f"The row cannot be read as CSV ({error}); the rest of the file was not read."
            file.seek(0, io.SEEK_END)  # the row ends the file: resuming after it reads nothing
            yield RawRow(number=number, cells=None, error=reason, end_offset=file.tell())
            return
        if cells is None:
            return
        _check_row_count(number, max_rows)
        yield RawRow(number=number, cells=cells, error=None, end_offset=lines.offset)


def _record_limit(max_columns: int, max_cell_bytes: int) -> int:
    """The most a record within the limits can take: every cell quoted with each of its bytes
    a doubled quote, a delimiter after each, a CRLF; never less than a header may take."""
    return max(max_columns * (2 * max_cell_bytes + 3) + 2, SNIFF_BYTES)


def _check_row_count(number: int, max_rows: int) -> None:
    if number > max_rows:
        raise ImportLimitExceeded("too_many_rows", f"The file has more than {max_rows} data rows.")


def _checked(row: RawRow, *, header_columns: int, max_cell_bytes: int) -> RawRow:
    """`row` with its cells padded to the header, or malformed; raises on a cell too large."""
    if row.cells is None:
        return row
    for column, cell in enumerate(row.cells, start=1):
        # A character is at most four bytes (a surrogate-escaped one, one): only a cell of
        # more than a quarter of the limit in characters needs encoding to be measured.
        if (
            4 * len(cell) > max_cell_bytes
            and len(cell.encode("utf-8", "surrogateescape")) > max_cell_bytes
        ):
            raise ImportLimitExceeded(
                "cell_too_large",
                f"Row {row.number}, column {column} is larger than {max_cell_bytes} bytes.",
            )
    error = _malformation(row.cells, header_columns)
    if error is not None:
        return RawRow(row.number, None, error, row.end_offset)
    cells = row.cells + [""] * (header_columns - len(row.cells))
    return RawRow(row.number, cells, None, row.end_offset)


def _malformation(cells: list[str], header_columns: int) -> str | None:
    joined = "".join(cells)  # one scan of the row instead of one per cell
    if _NOT_UTF8.search(joined):
        return "The row is not valid UTF-8."
    if "\x00" in joined:
        return "The row contains a NUL byte."
    if len(cells) > header_columns:
        return f"The row has {len(cells)} cells; the header has {header_columns}."
    return None
