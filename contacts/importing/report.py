"""The full error report of an import as CSV (`errors.csv`), for the API and the admin alike.

Streamed row by row, UTF-8 with a BOM (so spreadsheets read it as UTF-8), and every cell a
spreadsheet could run as a formula is neutralised (contract §4).
"""

import csv

from django.http import StreamingHttpResponse

from ..models import ContactImport
from ..selectors import contact_import_error_rows

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A write-only file that hands back what csv.writer wrote, for streaming."""

    def write(self, text):
        return text


def neutralize(cell: str) -> str:
    """Keep spreadsheets from running a cell as a formula (CSV injection)."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def error_lines(imp: ContactImport):
    """The lines of errors.csv: the BOM and header, then one line per error in row order."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(["row", "column", "code", "message", "value"])
    for row, column, code, message, value in contact_import_error_rows(contact_import=imp):
        yield writer.writerow(
            [row, neutralize(column), code, neutralize(message), neutralize(value)]
        )


def error_csv_response(imp: ContactImport) -> StreamingHttpResponse:
    """errors.csv as a streamed download named after the import."""
    response = StreamingHttpResponse(error_lines(imp), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{imp.pk}-errors.csv"'
    return response
