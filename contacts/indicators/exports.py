"""Tables of the indicators as CSV (semicolons, UTF-8 with BOM: what a
French spreadsheet opens) and XLSX (openpyxl)."""

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return value
    return str(value)


def table_rows(table):
    yield [str(column) for column in table.columns]
    for row in table.rows:
        yield [_cell(value) for value in row]


def figure_rows(indicator):
    from django.utils.translation import gettext as _

    yield [_("Figure"), _("Value"), _("Unit"), _("Previous period")]
    for figure in indicator.figures:
        yield [str(figure.label), _cell(figure.value), figure.unit, _cell(figure.previous)]


def as_csv(rows):
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow([str(v).replace(".", ",") if isinstance(v, float) else v for v in row])
    return buffer.getvalue().encode("utf-8")


def as_xlsx(sheets):
    """``sheets``: [(title, rows)], the first row of each in bold."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(_sheet_title(title, workbook))
        widths = {}
        for number, row in enumerate(rows, start=1):
            sheet.append(row)
            for column, value in enumerate(row, start=1):
                widths[column] = max(widths.get(column, 8), min(len(str(value)) + 2, 60))
            if number == 1:
                for cell in sheet[1]:
                    cell.font = Font(bold=True)
        for column, width in widths.items():
            sheet.column_dimensions[get_column_letter(column)].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(title, workbook):
    clean = "".join(" " if ch in "[]:*?/\\" else ch for ch in str(title)).strip()[:28] or "Feuille"
    name, n = clean, 2
    while name in workbook.sheetnames:
        name, n = f"{clean[:25]} {n}", n + 1
    return name
