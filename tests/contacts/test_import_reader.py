"""Streaming rows from the stored upload: numbering, malformed rows, offsets, limits."""

import io

import pytest

from contacts.importing.reader import ImportLimitExceeded, RawRow, count_rows, read_rows

LIMITS = {"max_rows": 1000, "max_columns": 200, "max_cell_bytes": 32 * 1024}

# Quoted newlines and delimiters, CRLF, a blank line, ragged rows, bad bytes, no final newline.
TRICKY = (
    b"name,email,note\r\n"
    b'"Bob ""B"" Smith",bob@example.com,"line 1\r\nline 2, with comma"\r\n'
    b"\r\n"
    b"Ann,ann@example.com\n"
    b"Jos\xe9,jose@example.com,x\n"
    b'"multi\n\nline",,\n'
    b"a,b,c,d\n"
    b"nul\x00,x,y\n"
    b"Zo\xc3\xab,zoe@example.com,last"
)


def rows(data: bytes, **options) -> list[RawRow]:
    options = {"delimiter": ",", "header_columns": 3, **LIMITS, **options}
    return list(read_rows(io.BytesIO(data), **options))


def cells(data: bytes, **options) -> list[list[str] | None]:
    return [row.cells for row in rows(data, **options)]


def test_header_only_file_has_no_rows():
    for data in (b"name,email,note", b"name,email,note\n", b'"name\n",email,note\r\n'):
        assert rows(data) == []
        assert count_rows(io.BytesIO(data), delimiter=",", max_rows=10) == 0


def test_rows_are_numbered_and_end_where_the_next_begins():
    data = b"name,email,note\nAnn,a@x.io,\nBob,b@x.io,hi\n"
    assert rows(data) == [
        RawRow(number=1, cells=["Ann", "a@x.io", ""], error=None, end_offset=28),
        RawRow(number=2, cells=["Bob", "b@x.io", "hi"], error=None, end_offset=len(data)),
    ]
    assert data[:28].endswith(b"a@x.io,\n")


def test_tricky_file():
    result = rows(TRICKY)
    assert [row.number for row in result] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [row.cells for row in result] == [
        ['Bob "B" Smith', "bob@example.com", "line 1\r\nline 2, with comma"],
        ["", "", ""],
        ["Ann", "ann@example.com", ""],
        None,
        ["multi\n\nline", "", ""],
        None,
        None,
        ["Zoë", "zoe@example.com", "last"],
    ]
    assert [row.error for row in result if row.error] == [
        "The row is not valid UTF-8.",
        "The row has 4 cells; the header has 3.",
        "The row contains a NUL byte.",
    ]
    offsets = [row.end_offset for row in result]
    assert offsets[-1] == len(TRICKY)
    assert TRICKY[: offsets[0]].endswith(b'comma"\r\n')
    assert TRICKY[offsets[0] : offsets[1]] == b"\r\n"
    assert TRICKY[offsets[3] : offsets[4]] == b'"multi\n\nline",,\n'


def test_crlf_and_a_last_line_without_newline():
    assert cells(b"name,email,note\r\nAnn,a@x.io,1\r\nBob,b@x.io,2") == [
        ["Ann", "a@x.io", "1"],
        ["Bob", "b@x.io", "2"],
    ]


def test_a_trailing_newline_is_no_row_but_a_blank_line_before_it_is():
    assert cells(b"name\nAnn\n", header_columns=1) == [["Ann"]]
    assert cells(b"name\nAnn\r\n", header_columns=1) == [["Ann"]]
    assert cells(b"name\nAnn\n\n", header_columns=1) == [["Ann"], [""]]
    assert cells(b"name\n\nAnn\n", header_columns=1) == [[""], ["Ann"]]


def test_blank_line_in_the_middle_is_an_all_empty_row():
    result = rows(b"name,email,note\nAnn,a@x.io,\n\nBob,b@x.io,\n")
    assert [(row.number, row.cells) for row in result] == [
        (1, ["Ann", "a@x.io", ""]),
        (2, ["", "", ""]),
        (3, ["Bob", "b@x.io", ""]),
    ]


def test_ragged_rows():
    result = rows(b"name,email,note\nAnn\nBob,b@x.io\nCy,c@x.io,x,y\nDee,d@x.io,z\n")
    assert [row.cells for row in result] == [
        ["Ann", "", ""],
        ["Bob", "b@x.io", ""],
        None,
        ["Dee", "d@x.io", "z"],
    ]
    assert result[2].error == "The row has 4 cells; the header has 3."


def test_other_delimiters():
    assert cells(b"name;email\nAnn;a@x.io\n", delimiter=";", header_columns=2) == [
        ["Ann", "a@x.io"]
    ]
    assert cells(b'name\temail\n"A\tB"\ta@x.io\n', delimiter="\t", header_columns=2) == [
        ["A\tB", "a@x.io"]
    ]


def test_invalid_utf8_spoils_only_its_row():
    result = rows(b"name,note\nAnn,ok\nJos\xe9,x\n\xff\xfe\nBob,\xc3\xa9\n", header_columns=2)
    assert [(row.number, row.cells, row.error) for row in result] == [
        (1, ["Ann", "ok"], None),
        (2, None, "The row is not valid UTF-8."),
        (3, None, "The row is not valid UTF-8."),
        (4, ["Bob", "é"], None),
    ]


def test_invalid_utf8_inside_a_quoted_multi_line_field_spoils_that_record():
    result = rows(b'name,note\nAnn,"a\n\xe9\nb"\nBob,x\n', header_columns=2)
    assert [(row.number, row.cells) for row in result] == [(1, None), (2, ["Bob", "x"])]


def test_nul_byte():
    result = rows(b"name,note\nA\x00n,x\nBob,y\n", header_columns=2)
    assert [(row.cells, row.error) for row in result] == [
        (None, "The row contains a NUL byte."),
        (["Bob", "y"], None),
    ]


@pytest.mark.parametrize(
    "data",
    [
        b'name,note\nAnn,x\nBob,"unterminated\nCy,y\n',
        b'name,note\nAnn,x\nBob,"bad"quote\nCy,y\n',
        b"name,note\nAnn,x\nBob\rold mac\nCy,y\n",
    ],
    ids=["unterminated-quote", "text-after-closing-quote", "lone-cr"],
)
def test_unparsable_record_is_malformed_and_the_last(data):
    result = rows(data, header_columns=2)
    assert [row.number for row in result] == [1, 2]
    assert result[1].cells is None
    assert result[1].error.startswith("The row cannot be read as CSV (")
    assert result[1].error.endswith("the rest of the file was not read.")
    assert result[1].end_offset == len(data)
    assert rows(data, header_columns=2, start_offset=result[1].end_offset, start_row=2) == []
    assert count_rows(io.BytesIO(data), delimiter=",", max_rows=10) == 2


def resume_checks(data: bytes, header_columns: int) -> None:
    whole = rows(data, header_columns=header_columns)
    assert whole
    for done in range(len(whole) + 1):
        offset = whole[done - 1].end_offset if done else 0
        rest = rows(data, header_columns=header_columns, start_offset=offset, start_row=done)
        assert rest == whole[done:], f"resuming after row {done}"


def test_resuming_at_every_row_matches_an_uninterrupted_read():
    resume_checks(TRICKY, header_columns=3)
    resume_checks(TRICKY + b"\n", header_columns=3)
    resume_checks(TRICKY + b"\n\n", header_columns=3)


def test_resuming_a_file_that_ends_in_an_unparsable_record():
    resume_checks(b'"a\nb",c\nx,"y\n\n"\nz\n"unterminated,\n', header_columns=2)


def test_resuming_after_three_rows_reads_from_four():
    data = b"name\n" + b"".join(b"row %d\n" % i for i in range(1, 8))
    first = list(read_rows(io.BytesIO(data), delimiter=",", header_columns=1, **LIMITS))[:3]
    assert first[-1].number == 3
    rest = rows(data, header_columns=1, start_offset=first[-1].end_offset, start_row=3)
    assert [(row.number, row.cells) for row in rest] == [(i, [f"row {i}"]) for i in range(4, 8)]


def test_reading_is_lazy_and_offsets_work_on_a_real_file(tmp_path):
    path = tmp_path / "stored.csv"
    path.write_bytes(TRICKY)
    with path.open("rb") as file:
        iterator = read_rows(file, delimiter=",", header_columns=3, **LIMITS)
        third = [next(iterator) for _ in range(3)][-1]
    with path.open("rb") as file:
        rest = list(
            read_rows(
                file,
                delimiter=",",
                header_columns=3,
                start_offset=third.end_offset,
                start_row=3,
                **LIMITS,
            )
        )
    assert rest == rows(TRICKY)[3:]


def test_too_many_columns_is_refused_before_any_row():
    with pytest.raises(ImportLimitExceeded) as caught:
        rows(b"a,b,c\n1,2,3\n", max_columns=2)
    assert caught.value.code == "too_many_columns"
    assert caught.value.message == "The header has 3 columns; an import takes at most 2."
    assert cells(b"a,b\n1,2\n", header_columns=2, max_columns=2) == [["1", "2"]]


@pytest.mark.parametrize("quoted", [False, True])
def test_cell_size_limit(quoted):
    limit = 32 * 1024
    quote = b'"' if quoted else b""
    at_limit = b"\xc3\xa9" * (limit // 2)  # counted in bytes, not characters
    data = b"name,note\nAnn," + quote + at_limit + quote + b"\n"
    assert cells(data, header_columns=2) == [["Ann", "é" * (limit // 2)]]
    over = b"name,note\nAnn,ok\nBob," + quote + b"x" * (limit + 1) + quote + b"\n"
    with pytest.raises(ImportLimitExceeded) as caught:
        rows(over, header_columns=2)
    assert caught.value.code == "cell_too_large"
    assert caught.value.message == f"Row 2, column 2 is larger than {limit} bytes."


def test_a_record_longer_than_any_within_the_limits_is_refused_without_reading_it_whole():
    # An unterminated quote would otherwise take the rest of the file into one field.
    data = b'name,note\nAnn,"unterminated\n' + b"x\n" * 500_000 + b"Bob,y\n"
    file = io.BytesIO(data)
    options = {"max_rows": 10, "max_columns": 2, "max_cell_bytes": 10}
    with pytest.raises(ImportLimitExceeded) as caught:
        list(read_rows(file, delimiter=",", header_columns=2, **options))
    assert caught.value.code == "cell_too_large"
    assert caught.value.message.startswith("Row 1 is longer than 65536 bytes")
    assert file.tell() <= 10 + 65536 + 1


def test_a_single_huge_line_is_refused(settings):
    settings.IMPORT_MAX_COLUMNS = 2
    settings.IMPORT_MAX_CELL_BYTES = 10
    data = b"name,note\n" + b"x" * 200_000 + b"\n"
    with pytest.raises(ImportLimitExceeded) as caught:
        rows(data, header_columns=2, max_columns=2, max_cell_bytes=10)
    assert caught.value.code == "cell_too_large"
    with pytest.raises(ImportLimitExceeded) as caught:
        count_rows(io.BytesIO(data), delimiter=",", max_rows=10)
    assert caught.value.code == "cell_too_large"


def test_row_limit():
    data = b"name\n1\n2\n3\n"
    assert [row.number for row in rows(data, header_columns=1, max_rows=3)] == [1, 2, 3]
    assert count_rows(io.BytesIO(data), delimiter=",", max_rows=3) == 3
    for more in (data + b"4\n", data + b"\n\n", data + b'"unterminated\n'):
        with pytest.raises(ImportLimitExceeded) as caught:
            rows(more, header_columns=1, max_rows=3)
        assert caught.value.code == "too_many_rows"
        assert caught.value.message == "The file has more than 3 data rows."
        with pytest.raises(ImportLimitExceeded) as caught:
            count_rows(io.BytesIO(more), delimiter=",", max_rows=3)
        assert caught.value.code == "too_many_rows"


def test_row_limit_applies_when_resuming():
    data = b"name\n1\n2\n3\n4\n"
    third = rows(data, header_columns=1)[2]
    with pytest.raises(ImportLimitExceeded):
        rows(data, header_columns=1, max_rows=3, start_offset=third.end_offset, start_row=3)


@pytest.mark.parametrize(
    "data",
    [
        TRICKY,
        TRICKY + b"\n",
        TRICKY + b"\r\n\r\n",
        b'name\n"a\nb"\n\n\n',
        b"name\n\n",
        b"name\r\n\r\n\r\n",
        b'name\n"unterminated\n1\n2\n',
    ],
)
def test_count_rows_agrees_with_read_rows(data):
    expected = len(rows(data, header_columns=3))
    assert count_rows(io.BytesIO(data), delimiter=",", max_rows=1000) == expected


def test_count_rows_reads_from_the_start_wherever_the_file_is():
    file = io.BytesIO(TRICKY)
    file.seek(40)
    assert count_rows(file, delimiter=",", max_rows=1000) == 8


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"name",
        b"name\n",
        b"name,email\nAnn,a@x.io\nBob,b@x.io\n",
        b"name,email\nAnn,a@x.io\nBob,b@x.io",  # no final line feed
        b"name,email\n\n\nAnn,a@x.io\n\n",  # blank lines are rows
        b"name,email\nJos\xe9,x\nN\x00l,y\na,b,c,d\n",  # bad bytes, NUL, ragged: rows all
        b"name,email\r\nAnn,a@x.io\r\n",  # CRLF: counted by the csv module
        b"name,note\nAnn,a\rb\nBob,c\n",  # a bare CR ends the file there
        b'name,note\nAnn,"two\nlines"\nBob,x\n',  # a quote: counted by the csv module
        b'name,note\nAnn,bro"ken\nBob,x\n',
        TRICKY,
    ],
)
def test_the_count_agrees_with_the_rows_read(data):
    assert count_rows(io.BytesIO(data), delimiter=",", max_rows=1000) == len(rows(data))


def test_a_plain_file_of_many_chunks_is_counted_by_its_lines():
    lines = [b"name,email"] + [f"Person {n},p{n}@x.io".encode() for n in range(150_000)]
    data = b"\n".join(lines) + b"\n"
    assert len(data) > 2 * 1024 * 1024  # the line feeds are counted a megabyte at a time
    assert count_rows(io.BytesIO(data), delimiter=",", max_rows=1_048_576) == 150_000
    with pytest.raises(ImportLimitExceeded) as caught:
        count_rows(io.BytesIO(data), delimiter=",", max_rows=149_999)
    assert caught.value.code == "too_many_rows"
