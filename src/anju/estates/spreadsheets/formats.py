"""The register's spreadsheet format: sheets, columns, labels, and turning files into rows and back.

One workbook (.xlsx) holds up to three sheets — ``楼栋`` (buildings, optional), ``房屋`` (homes) and
``住户`` (people: one row per occupancy, so a person's history is several rows). A CSV file holds one
of them, recognised from its header row. Headers are Chinese (English field names are accepted too),
and the coded columns (use, status, role...) accept the Chinese labels as well as the English codes.

Nothing here touches the database: :mod:`.planning` validates the rows, :mod:`.exporting` fills them.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

BUILDINGS, HOMES, PEOPLE = "buildings", "homes", "people"
KINDS = (BUILDINGS, HOMES, PEOPLE)
SHEET_TITLES = {BUILDINGS: "楼栋", HOMES: "房屋", PEOPLE: "住户"}


@dataclass(frozen=True)
class Column:
    """One column: the field it fills, its Chinese header, other spellings accepted on import."""

    field: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False


COLUMNS: dict[str, tuple[Column, ...]] = {
    BUILDINGS: (
        Column("building", "楼栋", ("楼栋号", "楼号", "栋", "building"), required=True),
        Column("name", "名称", ("楼栋名称", "building_name")),
        Column("floors_above", "地上层数", ("层数", "总层数", "floors_above")),
        Column("floors_below", "地下层数", ("floors_below",)),
        Column("has_lift", "电梯", ("有无电梯", "有电梯", "has_lift", "lift")),
    ),
    HOMES: (
        Column("building", "楼栋", ("楼栋号", "楼号", "栋", "building"), required=True),
        Column("unit", "单元", ("单元号", "unit")),
        Column("number", "房号", ("房间号", "门牌号", "室号", "number", "home"), required=True),
        Column("floor", "楼层", ("所在楼层", "层", "floor"), required=True),
        Column("floor_area", "建筑面积", ("面积", "floor_area", "area"), required=True),
        Column("use", "用途", ("房屋用途", "use")),
        Column("status", "状态", ("房屋状态", "status")),
    ),
    PEOPLE: (
        Column("building", "楼栋", ("楼栋号", "楼号", "栋", "building"), required=True),
        Column("unit", "单元", ("单元号", "unit")),
        Column("number", "房号", ("房间号", "门牌号", "室号", "number", "home"), required=True),
        Column("name", "姓名", ("名字", "name"), required=True),
        Column("phone", "手机号", ("手机", "手机号码", "联系电话", "电话", "mobile", "phone")),
        Column("id_number", "身份证号", ("身份证", "身份证号码", "证件号码", "证件号", "id_number")),
        Column("role", "关系", ("身份", "住户类型", "人员类型", "role"), required=True),
        Column("share", "份额", ("产权份额", "share", "share_percent")),
        Column("starts_on", "起始日期", ("开始日期", "入住日期", "起始", "starts_on", "start")),
        Column("ends_on", "结束日期", ("截止日期", "迁出日期", "结束", "ends_on", "end")),
        Column("relation", "与业主关系", ("与户主关系", "relation")),
        Column("person_kind", "类别", ("人员类别", "kind")),
    ),
}

# Coded values: code -> accepted labels; the first label is what an export writes.
USE_LABELS = {
    "residential": ("住宅",),
    "commercial": ("商业", "商铺", "商用"),
    "parking": ("车位", "停车位"),
    "storage": ("储藏室", "储藏间", "杂物间", "地下室"),
}
STATUS_LABELS = {
    "unsold": ("未售",),
    "delivered": ("已交付", "已交房", "未入住"),
    "occupied": ("已入住", "入住", "自住"),
    "vacant": ("空置",),
}
ROLE_LABELS = {
    "owner": ("业主", "产权人"),
    "co_owner": ("共有人", "共同业主", "共有产权人"),
    "tenant": ("租户", "租客"),
    "family": ("家属", "家庭成员", "同住人"),
}
PERSON_KIND_LABELS = {
    "individual": ("个人",),
    "organization": ("单位", "机构"),
    "developer": ("开发商", "建设单位"),
}
LIFT_LABELS = {"yes": ("有", "是", "y", "true", "1"), "no": ("无", "否", "没有", "n", "false", "0")}


def parse_code(value: str, labels: dict[str, tuple[str, ...]]) -> str | None:
    """The code for a label or code (case-insensitive for English); ``None`` when unknown."""
    text = value.strip()
    lowered = text.lower()
    for code, names in labels.items():
        if lowered == code or lowered == code.replace("_", "-") or text in names or lowered in names:
            return code
    return None


def label_for(code: str, labels: dict[str, tuple[str, ...]]) -> str:
    return labels[code][0] if code in labels else code


def allowed_labels(labels: dict[str, tuple[str, ...]]) -> str:
    return "、".join(names[0] for names in labels.values())


# --- cells ----------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as the text a clerk typed: numbers without a spurious ``.0``, dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")


def parse_date(value: Any) -> dt.date | None:
    """A date from an Excel date cell or the usual written forms; ``None`` for an empty cell.
    Raises ``ValueError`` for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = cell_text(value)
    if not text:
        return None
    text = text.split(" ")[0] if re.match(r"^\d{4}-\d{2}-\d{2} \d", text) else text
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


# --- reading ----------------------------------------------------------------------------------------


@dataclass
class Problem:
    """One thing wrong with the file, where a clerk will find it: the sheet (or CSV file), the row
    number as Excel shows it, the column header as written, and what is wrong in plain words."""

    sheet: str
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        where = _("row %(row)s") % {"row": self.row} if self.row else ""
        parts = [p for p in (self.sheet, where, self.column) if p]
        return f"{' · '.join(parts)}: {self.message}"


@dataclass
class Row:
    number: int
    cells: dict[str, Any]

    def text(self, name: str) -> str:
        return cell_text(self.cells.get(name))

    def raw(self, name: str) -> Any:
        return self.cells.get(name)


@dataclass
class Sheet:
    kind: str
    title: str
    headers: dict[str, str]  # field -> header as written in the file
    rows: list[Row] = field(default_factory=list)

    def header(self, name: str) -> str:
        return self.headers.get(name) or next(c.header for c in COLUMNS[self.kind] if c.field == name)


@dataclass
class ReadResult:
    sheets: dict[str, Sheet]
    problems: list[Problem]
    kind: str  # "workbook" or the kind of a CSV file


class UnreadableFile(Exception):
    """The file is not a spreadsheet we can read; the message says what to do instead."""


def _normalise_header(text: str) -> str:
    text = re.sub(r"\s+", "", cell_text(text))
    text = re.sub(r"[(（\[【].*?[)）\]】]$", "", text)  # "建筑面积(m²)", "份额（%）"
    return text.lower()


_LOOKUP: dict[str, dict[str, str]] = {
    kind: {_normalise_header(name): col.field for col in cols for name in (col.header, *col.aliases)}
    for kind, cols in COLUMNS.items()
}


def detect_kind(headers: Iterable[Any]) -> str | None:
    """Which sheet a header row belongs to: people have names, homes have areas, buildings floors."""
    names = {_normalise_header(h) for h in headers if cell_text(h)}
    if names & {k for k, v in _LOOKUP[PEOPLE].items() if v == "name"}:
        return PEOPLE
    if names & {k for k, v in _LOOKUP[HOMES].items() if v == "floor_area"}:
        return HOMES
    if names & {k for k, v in _LOOKUP[BUILDINGS].items() if v in ("floors_above", "has_lift")}:
        return BUILDINGS
    return None


def _build_sheet(kind: str, title: str, raw_rows: Iterable[tuple[Any, ...]], problems: list[Problem]) -> Sheet | None:
    iterator = iter(raw_rows)
    header_row = next(iterator, None) or ()
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    for index, value in enumerate(header_row):
        name = _LOOKUP[kind].get(_normalise_header(value)) if cell_text(value) else None
        if name and name not in positions:
            positions[name] = index
            headers[name] = cell_text(value)
    missing = [c.header for c in COLUMNS[kind] if c.required and c.field not in positions]
    if missing:
        for header in missing:
            problems.append(Problem(title, 1, header, _("This column is missing from the header row.")))
        return None
    sheet = Sheet(kind=kind, title=title, headers=headers)
    for number, values in enumerate(iterator, start=2):
        if not any(cell_text(v) for v in values):
            continue
        cells = {name: values[i] if i < len(values) else None for name, i in positions.items()}
        sheet.rows.append(Row(number, cells))
    return sheet


def _kind_for_title(title: str) -> str | None:
    for kind, sheet_title in SHEET_TITLES.items():
        if title.strip() == sheet_title or title.strip().lower() == kind:
            return kind
    return None


def read_workbook(content: bytes) -> ReadResult:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError, TypeError):
        raise UnreadableFile(
            _("This file could not be read as an Excel workbook (.xlsx). Save it from Excel as .xlsx and try again.")
        ) from None
    problems: list[Problem] = []
    sheets: dict[str, Sheet] = {}
    try:
        for worksheet in workbook.worksheets:
            rows = list(worksheet.iter_rows(values_only=True))
            if not rows:
                continue
            kind = _kind_for_title(worksheet.title) or detect_kind(rows[0])
            if kind is None:
                continue  # an instructions sheet or similar
            if kind in sheets:
                problems.append(
                    Problem(worksheet.title, 0, "", _("A second sheet of the same kind was ignored; merge them."))
                )
                continue
            sheet = _build_sheet(kind, worksheet.title, rows, problems)
            if sheet is not None:
                sheets[kind] = sheet
    finally:
        workbook.close()
    if not sheets and not problems:
        problems.append(
            Problem(
                "",
                0,
                "",
                _("The workbook has no sheet named 楼栋, 房屋 or 住户 and no sheet with their column headers."),
            )
        )
    return ReadResult(sheets, problems, "workbook")


def decode_csv(content: bytes) -> str:
    """UTF-8 with or without the BOM Excel writes, else GB18030 (what older Chinese Excel saves)."""
    if content.startswith(codecs.BOM_UTF8):
        content = content[len(codecs.BOM_UTF8) :]
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError:
        raise UnreadableFile(_("The CSV file's text encoding is not UTF-8 or GB18030; save it again as CSV.")) from None


def read_csv(content: bytes, title: str) -> ReadResult:
    text = decode_csv(content)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    rows = [tuple(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    if not rows or not any(cell_text(v) for v in rows[0]):
        raise UnreadableFile(_("The file is empty."))
    kind = detect_kind(rows[0])
    if kind is None:
        return ReadResult(
            {},
            [
                Problem(
                    title,
                    1,
                    "",
                    _(
                        "The header row was not recognised: a homes file needs 楼栋, 房号, 楼层 and 建筑面积; "
                        "a people file needs 楼栋, 房号, 姓名 and 关系; a buildings file needs 楼栋 and 地上层数."
                    ),
                )
            ],
            HOMES,
        )
    problems: list[Problem] = []
    sheet = _build_sheet(kind, title, rows, problems)
    return ReadResult({kind: sheet} if sheet else {}, problems, kind)


def read_file(name: str, content: bytes) -> ReadResult:
    """Read an uploaded register file, deciding by its name whether it is a workbook or a CSV."""
    lowered = name.lower()
    if not content:
        raise UnreadableFile(_("The file is empty."))
    if lowered.endswith(".xlsx"):
        return read_workbook(content)
    if lowered.endswith(".csv"):
        return read_csv(content, name)
    raise UnreadableFile(_("Only Excel workbooks (.xlsx) and CSV files (.csv) can be imported."))


# --- writing ----------------------------------------------------------------------------------------

_WIDTHS = {"floor_area": 12, "phone": 15, "id_number": 22, "starts_on": 12, "ends_on": 12, "name": 12}


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "0.00"
        return cell
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    return value


def write_workbook(tables: dict[str, list[list[Any]]]) -> bytes:
    """A workbook with one sheet per kind. Identifiers (building, home, phone and ID numbers) are
    written as text so Excel keeps leading zeros and all 18 digits of an ID number."""
    workbook = Workbook(write_only=True)
    for kind in KINDS:
        if kind not in tables:
            continue
        sheet = workbook.create_sheet(SHEET_TITLES[kind])
        columns = COLUMNS[kind]
        for index, column in enumerate(columns):
            letter = chr(ord("A") + index)
            sheet.column_dimensions[letter].width = _WIDTHS.get(column.field, 10)
        sheet.freeze_panes = "A2"
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=column.header)
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
        for values in tables[kind]:
            sheet.append([_cell(sheet, v) for v in values])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_csv(kind: str, rows: list[list[Any]]) -> bytes:
    """UTF-8 with a BOM, so Excel on a Chinese Windows opens it without garbling the headers."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([c.header for c in COLUMNS[kind]])
    for values in rows:
        writer.writerow([_csv_text(v) for v in values])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
