"""The upload checks of contract §7 ("Bad uploads") and storing uploads as UTF-8."""

import codecs
import io

import pytest
from django.core.files.storage import FileSystemStorage

from contacts.importing.sniff import (
    SNIFF_BYTES,
    InvalidCsv,
    UploadShape,
    inspect_upload,
    normalize_header,
    store_upload,
)

CSV = "Name,Email,Phone\nZoë Ünal,zoe@example.com,+33 6 12 34 56 78\nBob,bob@example.com,\n"


def invalid(head: bytes) -> str:
    with pytest.raises(InvalidCsv) as caught:
        inspect_upload(head)
    return caught.value.message


def store(tmp_path, upload: bytes) -> tuple[bytes, str, int]:
    shape = inspect_upload(upload[:SNIFF_BYTES])
    storage = FileSystemStorage(location=tmp_path)
    name, size = store_upload(io.BytesIO(upload), shape, storage, "imports/upload.csv")
    with storage.open(name, "rb") as stored:
        return stored.read(), name, size


@pytest.mark.parametrize(
    ("upload", "encoding"),
    [
        (CSV.encode(), "utf-8"),
        (codecs.BOM_UTF8 + CSV.encode(), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + CSV.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + CSV.encode("utf-16-be"), "utf-16"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be"],
)
def test_supported_encodings_are_stored_as_utf8_without_bom(tmp_path, upload, encoding):
    assert inspect_upload(upload) == UploadShape(
        encoding=encoding, delimiter=",", header=["Name", "Email", "Phone"]
    )
    stored, name, size = store(tmp_path, upload)
    assert stored == CSV.encode()
    assert name == "imports/upload.csv"
    assert size == len(upload)


def test_a_large_utf16_upload_is_transcoded_in_chunks(tmp_path):
    text = "name,note\n" + "".join(f"Ünal {i},😀 {'x' * 50}\r\n" for i in range(20_000))
    upload = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    assert len(upload) > 20 * SNIFF_BYTES
    stored, _, size = store(tmp_path, upload)
    assert stored == text.encode()
    assert size == len(upload)


def test_storage_does_not_overwrite_and_reports_the_name_it_chose(tmp_path):
    _, first, _ = store(tmp_path, CSV.encode())
    _, second, _ = store(tmp_path, CSV.encode())
    assert first == "imports/upload.csv"
    assert second != first and second.startswith("imports/upload")


def test_invalid_utf8_after_the_head_is_copied_unchanged(tmp_path):
    upload = b"name\n" + b"a\n" * SNIFF_BYTES + b"Jos\xe9\n"
    stored, _, size = store(tmp_path, upload)
    assert stored == upload
    assert size == len(upload)


def test_undecodable_utf16_past_the_head_is_replaced(tmp_path):
    # A lone high surrogate (D800) in the second row, and an odd byte at the end.
    upload = codecs.BOM_UTF16_LE + "name\na\n".encode("utf-16-le") + b"\x00\xd8b\x00\n\x00!"
    shape = UploadShape(encoding="utf-16", delimiter=",", header=["name"])
    storage = FileSystemStorage(location=tmp_path)
    name, size = store_upload(io.BytesIO(upload), shape, storage, "upload.csv")
    with storage.open(name, "rb") as stored:
        assert stored.read() == "name\na\n\ufffdb\n\ufffd".encode()
    assert size == len(upload)


def test_latin1_is_refused():
    assert "encoding" in invalid("name,city\nJosé,Zürich\n".encode("latin-1"))


def test_invalid_utf8_at_the_very_end_of_a_short_file_is_refused():
    assert "encoding" in invalid(b"name\nJos\xc3")


@pytest.mark.parametrize(
    "upload",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
        b"name,email\nbob,bob@example.com\x00\n",
        "name\n".encode("utf-16-le"),  # UTF-16 without BOM
        b"name\n" + bytes(range(1, 32)) * 4,
        codecs.BOM_UTF16_LE + b"\x01\x00\x02\x00\x03\x00n\x00",
    ],
    ids=["png", "nul", "utf-16-no-bom", "control-characters", "utf-16-control-characters"],
)
def test_binary_content_is_refused(upload):
    message = invalid(upload)
    assert "binary" in message


@pytest.mark.parametrize(
    "upload",
    [b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b" \r\n\t\n  "],
    ids=["zero-bytes", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "whitespace"],
)
def test_empty_files_are_refused(upload):
    assert invalid(upload) == "The file is empty."


@pytest.mark.parametrize(
    ("upload", "delimiter", "header"),
    [
        (b"name;email;phone\nbob;b@x.io;\n", ";", ["name", "email", "phone"]),
        (b"name\temail\nbob\tb@x.io\n", "\t", ["name", "email"]),
        (b"name,email\n", ",", ["name", "email"]),
        (b"name\n", ",", ["name"]),
        (b"name", ",", ["name"]),
        (b"name,note;x\n", ",", ["name", "note;x"]),  # a tie goes to the comma
        (b'"name;x";email;"tags,list"\n', ";", ["name;x", "email", "tags,list"]),
        (b'"Full\nname",email\r\nbob,b@x.io\r\n', ",", ["Full\nname", "email"]),
        (b" Name , E-mail\t\n", ",", ["Name", "E-mail"]),
    ],
    ids=[
        "semicolon",
        "tab",
        "comma",
        "one-column",
        "no-newline",
        "tie",
        "quoted-delimiters",
        "multi-line-header",
        "whitespace-stripped",
    ],
)
def test_delimiter_and_header(upload, delimiter, header):
    shape = inspect_upload(upload)
    assert (shape.delimiter, shape.header) == (delimiter, header)


def test_duplicated_header_is_refused_and_named():
    message = invalid(b"Email,Name, email \nb@x.io,Bob,b@x.io\n")
    assert '"Email" (column 1)' in message
    assert '"email" (column 3)' in message


def test_duplicate_after_normalisation():
    assert "twice" in invalid(b"email_identity,Email Identity\n")


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (b"name,,email\n", "Column 2 of the header has no name."),
        (b"name, \t ,email\n", "Column 2 of the header has no name."),
        (b"name,\n", "Column 2 of the header has no name."),
        (b"\nname,email\n", "The first row, which must be the header, is empty."),
        (b" , \nname,email\n", "The first row, which must be the header, is empty."),
    ],
)
def test_header_without_names_is_refused(upload, message):
    assert invalid(upload) == message


@pytest.mark.parametrize(
    "upload", [b'"name,email\nbob,b@x.io\n', b'"na"me,email\n', b'name,"notes\nbob,x\n']
)
def test_unreadable_header_is_refused(upload):
    assert invalid(upload).startswith("The header row cannot be read as CSV (")


def test_header_that_does_not_end_within_the_head_is_refused():
    upload = b"name," + b"x" * SNIFF_BYTES + b"\n"
    assert "first 64 KiB" in invalid(upload[:SNIFF_BYTES])


def test_quoted_header_that_does_not_end_within_the_head_is_refused():
    upload = b'name,"notes\n' + b"x\n" * SNIFF_BYTES + b'"\n'
    assert "within the first 64 KiB" in invalid(upload[:SNIFF_BYTES])


@pytest.mark.parametrize(("character", "cut"), [("é", 1), ("€", 1), ("€", 2), ("😀", 3)])
def test_a_character_cut_at_the_head_boundary_is_tolerated(character, cut):
    prefix = b"name,note\n"
    encoded = character.encode()
    filler = b"x" * (SNIFF_BYTES - len(prefix) - cut)
    upload = prefix + filler + encoded + b"\n"
    head = upload[:SNIFF_BYTES]
    assert head.endswith(encoded[:cut])
    assert inspect_upload(head).header == ["name", "note"]


def test_a_utf16_surrogate_pair_cut_at_the_head_boundary_is_tolerated():
    prefix = codecs.BOM_UTF16_BE + "name,note\n".encode("utf-16-be")
    filler = "x".encode("utf-16-be") * ((SNIFF_BYTES - len(prefix) - 2) // 2)
    upload = prefix + filler + "😀\n".encode("utf-16-be")
    head = upload[:SNIFF_BYTES]
    assert head.endswith("😀".encode("utf-16-be")[:2])
    assert inspect_upload(head).header == ["name", "note"]


def test_invalid_utf8_before_the_tail_is_refused_even_in_a_full_head():
    upload = b"name\nJos\xe9\n" + b"x\n" * SNIFF_BYTES
    assert "encoding" in invalid(upload[:SNIFF_BYTES])


@pytest.mark.parametrize(
    "cell", ["Email Identity", "email_identity", "EMAIL-IDENTITY", " e-Mail_ Identity "]
)
def test_normalize_header(cell):
    assert normalize_header(cell) == "emailidentity"
