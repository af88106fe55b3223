"""Roster files (CSV or XLSX, English or Vietnamese headers) and the rules of one delegate row.

A file is read into rows, every row is checked, and the report names each bad row by its
spreadsheet row number (the header is row 1). Whether a file with errors imports the good
rows is the caller's choice (`partial`); the checks are the same either way.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from runtime.errors import Invalid, UnsupportedMediaType

MAX_ROWS = 10_000
FIELDS = ("full_name", "unit", "phone", "email", "delegate_type")
LIMITS = {"full_name": 200, "unit": 300, "phone": 40, "email": 254, "delegate_type": 100}

# Header spellings, compared without case, spaces, punctuation or diacritics ("Họ và tên" → "hovaten").
HEADER_ALIASES = {
    "full_name": {"fullname", "name", "hovaten", "hoten", "hotendaibieu", "hovatendaibieu"},
    "unit": {"unit", "donvi", "coquan", "donvicongtac"},
    "phone": {"phone", "phonenumber", "mobile", "sodienthoai", "sdt", "dienthoai", "didong"},
    "email": {"email", "mail", "thudientu"},
    "delegate_type": {"delegatetype", "type", "loaidaibieu", "loai"},
}

# Vietnamese mobile numbers since the 2018 renumbering: 10 digits, 03/05/07/08/09.
MOBILE = re.compile(r"0[35789]\d{8}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def ascii_key(text: str) -> str:
    """'Số điện thoại' → 'sodienthoai': for matching headers typed by hand."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed.casefold() if c.isascii() and c.isalnum())


def name_key(full_name: str, unit: str) -> str:
    """Two rows are the same person when name and unit match, whatever the case or spacing."""
    squeeze = lambda s: " ".join(nfc(s).casefold().split())  # noqa: E731
    return f"{squeeze(full_name)}|{squeeze(unit)}"


def normalise_phone(raw: str) -> str | None:
    """'+84 981 551 382', '0981.551.382', 981551382 (a spreadsheet ate the 0) → '0981551382'.
    None when it is not a Vietnamese mobile number; '' when empty."""
    digits = re.sub(r"[\s.\-()]", "", raw)
    if not digits:
        return ""
    if digits.endswith(".0") or digits.endswith(",0"):
        digits = digits[:-2]
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    elif len(digits) == 9 and digits[0] in "35789":
        digits = "0" + digits
    return digits if MOBILE.fullmatch(digits) else None


@dataclass(frozen=True)
class DelegateInput:
    full_name: str
    unit: str = ""
    phone: str = ""
    email: str = ""
    delegate_type: str = ""

    @property
    def key(self) -> str:
        return name_key(self.full_name, self.unit)


@dataclass(frozen=True)
class RowError:
    row: int
    code: str
    reason: str  # English msgid, translated when reported
    params: dict[str, object] = field(default_factory=dict)


class RowProblem(Exception):
    def __init__(self, code: str, reason: str, **params: object) -> None:
        super().__init__(reason)
        self.code, self.reason, self.params = code, reason, params


def checked_delegate(values: dict[str, str]) -> DelegateInput:
    """One delegate's fields, cleaned (NFC, trimmed), or RowProblem naming the first fault."""
    cleaned: dict[str, str] = {}
    for name in FIELDS:
        text = " ".join(nfc(str(values.get(name) or "")).split())
        if len(text) > LIMITS[name]:
            raise RowProblem("too_long", "The field {field} is too long.", field=name)
        if any(unicodedata.category(c) == "Cc" for c in text):
            raise RowProblem("control_characters", "The field {field} contains control characters.", field=name)
        cleaned[name] = text
    if not cleaned["full_name"]:
        raise RowProblem("missing_name", "The full name is missing.")
    phone = normalise_phone(cleaned["phone"])
    if phone is None:
        raise RowProblem("bad_phone", "The phone number {phone} is not a Vietnamese mobile number.",
                         phone=cleaned["phone"])
    cleaned["phone"] = phone
    if cleaned["email"] and not EMAIL.fullmatch(cleaned["email"]):
        raise RowProblem("bad_email", "The email address {email} is not valid.", email=cleaned["email"])
    return DelegateInput(**cleaned)


@dataclass
class RosterCheck:
    valid: list[tuple[int, DelegateInput]]
    errors: list[RowError]


def check_rows(rows: Iterable[tuple[int, dict[str, str]]], existing_keys: set[str],
               existing_phones: set[str]) -> RosterCheck:
    """Each row checked alone, then against the congress's roster and the rows above it."""
    seen_keys, seen_phones = dict.fromkeys(existing_keys, 0), dict.fromkeys(existing_phones, 0)
    valid: list[tuple[int, DelegateInput]] = []
    errors: list[RowError] = []
    for number, values in rows:
        try:
            delegate = checked_delegate(values)
        except RowProblem as problem:
            errors.append(RowError(number, problem.code, problem.reason, problem.params))
            continue
        first = seen_keys.get(delegate.key)
        if first is None and delegate.phone:
            first = seen_phones.get(delegate.phone)
        if first is not None:
            if first == 0:
                errors.append(RowError(number, "duplicate", "This delegate is already on the roster."))
            else:
                errors.append(RowError(number, "duplicate", "Duplicate of row {first}.", {"first": first}))
            continue
        seen_keys[delegate.key] = number
        if delegate.phone:
            seen_phones[delegate.phone] = number
        valid.append((number, delegate))
    return RosterCheck(valid, errors)


# --------------------------------------------------------------------------- reading files


def map_headers(headers: list[str]) -> dict[int, str]:
    """Column index → field; unknown columns (STT, notes...) are ignored."""
    by_alias = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}
    mapping: dict[int, str] = {}
    for index, header in enumerate(headers):
        name = by_alias.get(ascii_key(str(header or "").lstrip("\ufeff")))
        if name and name not in mapping.values():
            mapping[index] = name
    if "full_name" not in mapping.values():
        raise Invalid("no_name_column", "The file has no full name column (full_name or Họ và tên).")
    return mapping


def _rows_from_table(table: Iterable[list[object]]) -> list[tuple[int, dict[str, str]]]:
    iterator = iter(table)
    for header in iterator:
        if any(str(c or "").strip() for c in header):
            break
    else:
        raise Invalid("empty_roster", "The file is empty.")
    mapping = map_headers([str(c or "") for c in header])
    rows: list[tuple[int, dict[str, str]]] = []
    number = 1
    for number, cells in enumerate(iterator, start=2):
        values = {name: _cell_text(cells[i]) if i < len(cells) else "" for i, name in mapping.items()}
        if not any(v.strip() for v in values.values()):
            continue  # blank line
        rows.append((number, values))
        if len(rows) > MAX_ROWS:
            raise Invalid("roster_too_long", "The file has more than {limit} rows.", limit=MAX_ROWS)
    return rows


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone typed into a number cell
    return str(value)


def read_roster(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(row number, raw fields) of every non-blank row of a CSV (UTF-8, BOM or not) or XLSX file."""
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnsupportedMediaType("old_excel", "Old Excel files (.xls) are not supported: save as .xlsx or CSV.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedMediaType("not_utf8", "The file is neither an XLSX workbook nor UTF-8 CSV text.") from exc
    if "\x00" in text:
        raise UnsupportedMediaType("not_utf8", "The file is neither an XLSX workbook nor UTF-8 CSV text.")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    return _rows_from_table(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _read_xlsx(data: bytes) -> list[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the user's file, not our bug
        raise Invalid("bad_xlsx", "The workbook cannot be read.") from exc
    try:
        sheet = workbook.worksheets[0]
        return _rows_from_table(list(row) for row in sheet.iter_rows(values_only=True))
    finally:
        workbook.close()
