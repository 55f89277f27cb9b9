"""The upload's first 64 KiB, checked at once; and the upload stored as UTF-8 (contract §4, §7).

An upload that can never import — empty, binary, in an encoding we do not read, or without a
usable header — is refused while the client is still waiting (422 `invalid_csv`), not hours
later as a failed import. Everything past the first SNIFF_BYTES is the reader's business, row
by row. Storing the upload as UTF-8 without BOM means the reader deals with one encoding only.
"""

import codecs
import csv
import io
import re
from dataclasses import dataclass

SNIFF_BYTES = 64 * 1024
_SNIFF_KIB = SNIFF_BYTES // 1024

# Candidate delimiters, in order of preference when they split the header equally.
DELIMITERS = (",", ";", "\t")

_CHUNK_BYTES = 64 * 1024

# Control characters other than tab, LF and CR: text hardly ever holds them, binary data does.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MAX_CONTROL_SHARE = 0.05

_HEADER_NOISE = re.compile(r"[\s_-]+")

# The columns an export writes that the import ignores (§10), by their normalised names.
# A tenant may have a custom field of one of these names, so an export of it names the
# column twice: the one place a header may repeat a name (`columns.map_columns`).
EXPORT_OWN_COLUMNS = frozenset({"id", "archived", "createdat", "updatedat"})


class InvalidCsv(Exception):
    """The upload cannot be read as CSV; `message` says why in words for the client."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class UploadShape:
    encoding: str  # the codec that decodes the upload: "utf-8", "utf-8-sig" or "utf-16"
    delimiter: str  # one of DELIMITERS
    header: list[str]  # the header cells as written, without surrounding whitespace


def normalize_header(cell: str) -> str:
    """The form in which two header names are the same column: "Email Identity",
    "email_identity" and "EMAIL-IDENTITY" all give "emailidentity"."""
    return _HEADER_NOISE.sub("", cell.lower())


def inspect_upload(head: bytes) -> UploadShape:
    """Check the first SNIFF_BYTES of an upload (all of it when shorter) and describe it.

    A head shorter than SNIFF_BYTES is the whole file, so only a full-length head may end in
    the middle of a character or a line. Raises InvalidCsv for an empty file, binary content,
    an encoding other than UTF-8 (with or without BOM) or UTF-16 with BOM, or a header that is
    missing, has a column without a name or names a column twice.
    """
    encoding = _encoding(head)
    if encoding != "utf-16" and b"\x00" in head:
        raise InvalidCsv(
            "The file contains NUL bytes: it is binary, or UTF-16 without a byte order mark."
        )
    whole_file = len(head) < SNIFF_BYTES
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(head, final=whole_file)
    except UnicodeDecodeError:
        raise InvalidCsv(
            "The file is not in a supported encoding: use UTF-8, or UTF-16 with a byte order mark."
        ) from None
    if not text.strip():
        raise InvalidCsv("The file is empty.")
    if len(_CONTROL.findall(text)) > _MAX_CONTROL_SHARE * len(text):
        raise InvalidCsv("The file is binary, not CSV text.")
    if not whole_file:
        text = text[: text.rfind("\n") + 1]  # the last line is cut: keep whole lines only
    delimiter, cells = _header(text, whole_file)
    header = [cell.strip() for cell in cells]
    _check_header(header)
    return UploadShape(encoding=encoding, delimiter=delimiter, header=header)


def store_upload(source, shape: UploadShape, storage, name: str) -> tuple[str, int]:
    """Stream `source` (a binary file at position 0) into `storage` under `name` as UTF-8
    without BOM. Returns the name storage chose and the size of the original upload.

    UTF-8 bytes are copied as they are, even invalid ones past the checked head, so that the
    reader reports the row that holds them as malformed; UTF-16 is transcoded, and what does
    not decode becomes U+FFFD, since its rows have no bytes to flag once they are UTF-8.
    """
    content = _Utf8Stream(source, shape.encoding)
    stored_name = storage.save(name, content)
    return stored_name, content.bytes_read


def _encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # the codec reads the BOM and drops it
    return "utf-8"


def _header(text: str, whole_file: bool) -> tuple[str, list[str]]:
    """The delimiter that splits the first record into the most cells, and those cells.

    A single column is only taken when no delimiter found broken quoting: `name,"notes` is a
    comma header with an unterminated quote, not a one-column header with `;` or tab.

    Lines end at LF only, as in the reader, so that a header checked here reads the same there.
    """
    best: tuple[str, list[str]] | None = None
    error: csv.Error | None = None
    for delimiter in DELIMITERS:
        lines = io.StringIO(text, newline="\n")
        try:
            record = next(csv.reader(lines, delimiter=delimiter, strict=True), None)
        except csv.Error as exc:
            error = error or exc
            continue
        if record is not None and (best is None or len(record) > len(best[1])):
            best = (delimiter, record)
    # One column while another delimiter broke the quoting: that delimiter is the real one.
    if best is not None and (len(best[1]) > 1 or error is None):
        return best
    if error is None:
        raise InvalidCsv(f"The header row does not end within the first {_SNIFF_KIB} KiB.")
    where = "" if whole_file else f" within the first {_SNIFF_KIB} KiB"
    raise InvalidCsv(f"The header row cannot be read as CSV{where} ({error}).")


def _check_header(header: list[str]) -> None:
    if not any(header):
        raise InvalidCsv("The first row, which must be the header, is empty.")
    seen: dict[str, tuple[int, str]] = {}
    repeated: set[str] = set()
    for column, cell in enumerate(header, start=1):
        if not cell:
            raise InvalidCsv(f"Column {column} of the header has no name.")
        key = normalize_header(cell)
        if key in seen and key in EXPORT_OWN_COLUMNS and key not in repeated:
            repeated.add(key)  # an export of a tenant with a custom field of that name (§10)
            continue
        if key in seen:
            first_column, first_cell = seen[key]
            raise InvalidCsv(
                f'The header names the same column twice: "{first_cell}" (column {first_column})'
                f' and "{cell}" (column {column}).'
            )
        seen[key] = (column, cell)


class _Utf8Stream(io.RawIOBase):
    """A read-only file over `source` that yields it as UTF-8 without BOM, chunk by chunk, so
    that Storage.save streams it; `bytes_read` counts the original bytes consumed.

    A file object proper (closed, readable, not seekable): the S3 backend asks whether it can
    seek back before uploading, and uploads what cannot in parts as it reads them.
    """

    def __init__(self, source, encoding: str):
        self._source = source
        self._decoder = (
            codecs.getincrementaldecoder("utf-16")("replace") if encoding == "utf-16" else None
        )
        self._bom_left = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0
        self._buffer = b""
        self._exhausted = False
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        # Chunks are joined once: S3 reads a 5 MiB part at a time, which growing one bytes
        # object chunk by chunk would copy again with every chunk.
        chunks, length = [self._buffer], len(self._buffer)
        while not self._exhausted and (size < 0 or length < size):
            chunk = self._convert(self._source.read(_CHUNK_BYTES))
            chunks.append(chunk)
            length += len(chunk)
        buffer = b"".join(chunks)
        if size < 0:
            size = len(buffer)
        data, self._buffer = buffer[:size], buffer[size:]
        return data

    def _convert(self, chunk: bytes) -> bytes:
        self.bytes_read += len(chunk)
        self._exhausted = not chunk
        if self._decoder is not None:
            return self._decoder.decode(chunk, final=self._exhausted).encode("utf-8")
        skip = min(self._bom_left, len(chunk))
        self._bom_left -= skip
        return chunk[skip:]
