"""A ward's worklist as a spreadsheet, and the decisions typed into it applied back.

Many commune health stations work offline in Excel, so the worklist travels as an ``.xlsx``:
one row per open item with the record's fields next to the best candidate's, the fields that
differ highlighted, the explanation in words, and three columns to fill — the decision (a
drop-down list ``chấp nhận / từ chối / sửa``), the right value(s) for an edit, the reason.

What a reader sees is words, not codes: the kind of item and the sex in Vietnamese, dates as
real Excel dates shown ``dd/mm/yyyy`` (a date of birth known only to the month or year as
``mm/yyyy`` / ``yyyy`` text), the match as a percentage. The codes an import may need (the
differing fields' keys, the kind's code) travel in hidden columns at the end.

Importing it back reads the columns by their header (a reordered sheet still imports) and
applies each row through the same service as the API (:mod:`tiemchung.registry.review.decisions`),
each row in its own savepoint, so a bad row fails alone. Every row with something in it gets an
outcome in the report — applied, failed with the reason (unknown id, outside the user's ward,
already decided, unknown decision word, edit without a reason, …) or skipped (no decision
typed) — nothing is dropped silently.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.identity import IdentityError, fold_name
from tiemchung.localtime import DEFAULT_ZONE, format_local
from tiemchung.registry.errors import Message, ServiceError, rule_error
from tiemchung.registry.models import ReviewItem
from tiemchung.registry.people.persons import mask_candidates
from tiemchung.registry.review import decisions, items
from tiemchung.registry.review import worklists as wl
from tiemchung.registry.review.corrections import CORRECTABLE
from tiemchung.registry.review.explain import (
    COMPARED,
    FIELD_LABELS,
    OLD_FIELD_LABELS,
    SEX_LABELS,
    kind_label,
)
from tiemchung.registry.scope import Actor
from tiemchung.workbooks import WorkbookError, open_workbook

SHEET = "Danh sách rà soát"
DECISIONS = ("chấp nhận", "từ chối", "sửa")
MAX_ROWS = 20_000
_HIGHLIGHT = PatternFill("solid", fgColor="FFE699")
_INPUT = PatternFill("solid", fgColor="E2EFDA")

#: (key, Vietnamese header) in sheet order; the import finds columns by these headers.
COLUMNS: list[tuple[str, str]] = [
    ("id", "Mã mục"),
    ("kind", "Loại"),
    ("dose_id", "Mã mũi tiêm"),
    ("dose_date", "Ngày tiêm"),
    ("opened_at", "Mở mục lúc"),  # the platform's wall-clock time, not UTC
    *[(f"record.{f}", f"{FIELD_LABELS[f][0]} (hồ sơ)") for f in COMPARED],
    ("person_id", "Mã người (sổ dân cư)"),
    *[(f"register.{f}", f"{FIELD_LABELS[f][0]} (sổ dân cư)") for f in COMPARED],
    ("match_probability", "Xác suất khớp"),
    ("differing", "Trường khác nhau"),
    ("explanation", "Giải thích"),
    ("decision", "Quyết định"),
    ("value", "Giá trị đúng"),
    ("other_person", "Mã người khác (nếu có)"),
    ("reason", "Lý do"),
    # hidden: the codes behind the words above, for the import and for tools
    ("kind_code", "Mã loại (kỹ thuật)"),
    ("differing_codes", "Mã trường khác nhau (kỹ thuật)"),
]
HIDDEN = ("kind_code", "differing_codes")
DATE_FORMAT = "DD/MM/YYYY"
_HEADER_KEY = {fold_name(h): k for k, h in COLUMNS}
# a sheet exported before the fields were renamed ("Số CCCD (hồ sơ)", …) still imports
for _f, _old in OLD_FIELD_LABELS.items():
    for _side, _words in (("record", "hồ sơ"), ("register", "sổ dân cư")):
        _HEADER_KEY[fold_name(f"{_old} ({_words})")] = f"{_side}.{_f}"
_WORDS = {
    "chap nhan": "accept",
    "dong y": "accept",
    "accept": "accept",
    "tu choi": "reject",
    "reject": "reject",
    "sua": "edit",
    "edit": "edit",
}
# A field in "Giá trị đúng" may be named by its key or its Vietnamese label.
_FIELD_NAMES = {fold_name(FIELD_LABELS[f][0]): f for f in COMPARED} | {f: f for f in COMPARED}
_FIELD_NAMES |= {"ho ten": "full_name", "cccd": "national_id", "so cmnd": "national_id"}
_FIELD_NAMES |= {fold_name(old): f for f, old in OLD_FIELD_LABELS.items()}

GUIDE = [
    "Cột 'Quyết định': chọn chấp nhận (đúng người, dùng giá trị sổ dân cư), từ chối (không phải "
    "người này; ghi 'Mã người khác' nếu là ứng viên khác, để trống nếu không có trong sổ dân cư) "
    "hoặc sửa (ghi 'Giá trị đúng' và bắt buộc 'Lý do').",
    "'Giá trị đúng': một giá trị nếu chỉ một trường khác nhau, hoặc 'trường=giá trị; …', ví dụ "
    "'Ngày sinh=12/04/1985; Số điện thoại=0912000001'. Ngày viết dd/mm/yyyy (ngày/tháng/năm); "
    "giới tính viết Nam hoặc Nữ.",
    "Ô tô vàng: trường khác nhau giữa hồ sơ và sổ dân cư (đã bỏ qua khác biệt chỉ do cách viết).",
    "Decision column: chấp nhận = accept, từ chối = reject, sửa = edit (needs a reason). Rows "
    "without a decision are skipped and listed in the import report.",
]


def _all_open(
    session: Session, actor: Actor, ward_code: str | None, kind: str | None = None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = wl.list_items(  # checks every filter first: a bad one is a 422 naming it
            session,
            actor,
            wl.WorklistQuery(
                ward_code=ward_code, status=items.OPEN, kind=kind, limit=wl.MAX_PAGE, offset=offset
            ),
        )
        out.extend(page.items)
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return out


def _shown(key: str, value: Any) -> tuple[Any, str | None]:
    """A value as the sheet shows it, and its number format: dates as Excel dates
    (dd/mm/yyyy), a partial date of birth as mm/yyyy or yyyy text, sex in words."""
    if value is None or value == "":
        return None, None
    f = key.partition(".")[2] or key
    if isinstance(value, datetime):
        return value, DATE_FORMAT  # (no time is exported; a stored timestamp keeps its own)
    if isinstance(value, date):
        return value, DATE_FORMAT
    if f == "dob":
        text = str(value)
        try:
            if len(text) == 10:
                return date.fromisoformat(text), DATE_FORMAT
            if len(text) == 7:
                return f"{text[5:7]}/{text[:4]}", None
        except ValueError:
            pass  # not an ISO date: shown as stored
        return text, None
    if f == "sex":
        return SEX_LABELS.get(str(value), (str(value), ""))[0], None
    if key == "match_probability":
        return float(value), "0%"
    return value, None


def export_workbook(
    session: Session,
    actor: Actor,
    ward_code: str | None,
    tz: str = DEFAULT_ZONE,
    *,
    kind: str | None = None,
    status: str | None = None,
) -> tuple[bytes, list[int]]:
    """The caller's open items of ``ward_code`` (and ``kind``) as an .xlsx, and the ids
    exported (for the caller's read audit). Times are written as text in the zone ``tz``
    (``Settings.timezone``): a spreadsheet cell has no time zone, so a UTC value would be read
    as local time.

    The sheet is for deciding offline, so it holds open items only: a ``status`` other than
    ``open`` is refused (422 naming it), never silently ignored, and so is an unknown kind."""
    if status not in (None, "", items.OPEN):
        raise rule_error(
            "status",
            "invalid_choice",
            f"Tệp Excel chỉ gồm các mục đang mở (status=open), không nhận status={status!r}",
            f"the spreadsheet holds open items only (status=open), not status={status!r}",
        )
    summaries = _all_open(session, actor, ward_code, kind or None)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    ws.append([h for _, h in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    col = {k: i + 1 for i, (k, _) in enumerate(COLUMNS)}
    ids: list[int] = []
    for r, summary in enumerate(summaries, start=2):
        item = session.get(ReviewItem, summary["id"])
        assert item is not None
        detail = wl.item_detail(session, item)
        mask_candidates(session, actor, detail["candidates"])
        ids.append(item.id)
        best = detail["candidates"][0] if detail["candidates"] else None
        row: dict[str, Any] = {
            "id": item.id,
            "kind": kind_label(item.kind)[0],
            "kind_code": item.kind,
            "dose_id": item.dose_id,
            "dose_date": detail["record"]["dose_date"],
            "opened_at": format_local(item.created_at, tz),
            "person_id": best["person_id"] if best else None,
            "match_probability": best["match_probability"] if best else None,
            "differing": ", ".join(FIELD_LABELS[f][0] for f in best["differing"]) if best else "",
            "differing_codes": ",".join(best["differing"]) if best else "",
            "explanation": "\n".join(e["vi"] for e in detail["explanation"]),
        }
        for f in COMPARED:
            row[f"record.{f}"] = detail["record"][f]
        for x in best["fields"] if best else []:
            row[f"register.{x['field']}"] = x["register"]
        for key, raw in row.items():
            value, number_format = _shown(key, raw)
            cell = ws.cell(row=r, column=col[key], value=value)
            if number_format:
                cell.number_format = number_format
        for f in best["differing"] if best else []:
            ws.cell(row=r, column=col[f"record.{f}"]).fill = _HIGHLIGHT
            ws.cell(row=r, column=col[f"register.{f}"]).fill = _HIGHLIGHT
        for key in ("decision", "value", "other_person", "reason"):
            ws.cell(row=r, column=col[key]).fill = _INPUT
        ws.cell(row=r, column=col["explanation"]).alignment = Alignment(wrap_text=True)
    last = max(2, len(summaries) + 1)
    letter = get_column_letter(col["decision"])
    dv = DataValidation(
        type="list",
        formula1='"' + ",".join(DECISIONS) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Quyết định",
        error="Chọn: chấp nhận, từ chối hoặc sửa",
    )
    ws.add_data_validation(dv)
    dv.add(f"{letter}2:{letter}{last}")
    ws.freeze_panes = "B2"
    for key, i in col.items():
        width = 40 if key == "explanation" else 18
        ws.column_dimensions[get_column_letter(i)].width = width
        ws.column_dimensions[get_column_letter(i)].hidden = key in HIDDEN
    guide = wb.create_sheet("Hướng dẫn")
    for line in GUIDE:
        guide.append([line])
    guide.column_dimensions["A"].width = 120
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), ids


def _said(words: Message | str) -> dict[str, str]:
    """A reason as RowOutcome's messages: joined, and each language apart if it has them."""
    if isinstance(words, str):
        return {"message": words}
    return {"message": words.joined(), "message_vi": words.vi, "message_en": words.en}


@dataclass
class RowOutcome:
    row: int
    item_id: int | None
    outcome: str  # applied | failed | skipped
    decision: str | None = None
    status: int | None = None
    rule: str | None = None
    message: str | None = None  #: both languages in one line (the API's rows[].message)
    message_vi: str | None = None
    message_en: str | None = None


#: Words for a row's outcome and decision (the report's columns), Vietnamese and English.
OUTCOME_WORDS = {
    "applied": ("đã áp dụng", "applied"),
    "failed": ("lỗi, chưa lưu", "failed, not saved"),
    "skipped": ("bỏ qua", "skipped"),
}
DECISION_WORDS = {
    "accept": ("chấp nhận", "accept"),
    "reject": ("từ chối", "reject"),
    "edit": ("sửa", "edit"),
}
#: What each reason a row was not applied means, for the report's summary (a rule not listed
#: here is summed up by its first row's own message).
RULE_WORDS = {
    "no_decision": (
        "Chưa điền cột 'Quyết định': dòng được giữ nguyên, mục vẫn chờ quyết định",
        "no decision typed: the row is left as it is and the item stays open",
    ),
    "unknown_id": ("Mã mục không có hoặc không hợp lệ", "no such item, or an invalid item id"),
    "unknown_decision": (
        "Quyết định không phải 'chấp nhận', 'từ chối' hoặc 'sửa'",
        "the decision is not 'chấp nhận', 'từ chối' or 'sửa'",
    ),
    "duplicate_row": ("Mục đã có ở một dòng trước", "the item is on an earlier row too"),
    "out_of_area": ("Mục ngoài xã/phường của bạn", "the item is outside your area"),
    "already_decided": (
        "Mục đã có quyết định (có thể từ lần nhập trước)",
        "the item is already decided (perhaps by an earlier import)",
    ),
    "reason_required": ("Sửa mà chưa ghi 'Lý do'", "an edit without a reason"),
    "value_required": ("Sửa mà chưa ghi 'Giá trị đúng'", "an edit without the right value"),
    "field_required": (
        "'Giá trị đúng' không nói trường nào: ghi 'trường=giá trị'",
        "the right value names no field: write 'field=value'",
    ),
    "unknown_field": ("'Giá trị đúng' ghi một trường không biết", "an unknown field"),
    "no_candidate": (
        "Chấp nhận một mục không có ứng viên: hãy từ chối hoặc sửa",
        "accepting an item without a candidate: reject or edit it",
    ),
}


@dataclass
class ImportReport:
    rows: list[RowOutcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(r.outcome == outcome for r in self.rows)

    def by_reason(self) -> list[dict[str, Any]]:
        """The rows not applied, summed up by reason (the most frequent first): the reason's
        words in both languages, how many rows, and the first few row numbers."""
        groups: dict[tuple[str, str], list[RowOutcome]] = {}
        for r in self.rows:
            if r.outcome != "applied":
                groups.setdefault((r.outcome, r.rule or r.outcome), []).append(r)
        out = []
        for (outcome, rule), rows in groups.items():
            first_vi = rows[0].message_vi or rows[0].message or rule
            vi, en = RULE_WORDS.get(rule, (first_vi, rows[0].message_en or first_vi))
            out.append(
                {
                    "outcome": outcome,
                    "rule": rule,
                    "count": len(rows),
                    "vi": vi,
                    "en": en,
                    "rows": [r.row for r in rows[:5]],
                }
            )
        return sorted(out, key=lambda g: (-g["count"], g["outcome"], g["rule"]))

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": self.count("applied"),
            "failed": self.count("failed"),
            "skipped": self.count("skipped"),
            "rows": [r.__dict__ for r in self.rows],
        }


def _text(value: Any) -> str | None:
    """A cell as text: a date cell (Excel turns a typed 12/04/1985 into one) as dd/mm/yyyy,
    a whole number without its ``.0``."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _fold(text: str) -> str:
    try:
        return fold_name(text)
    except IdentityError:  # free text the toolkit cannot fold: compare it as typed
        return text.casefold()


def _edit_fields(
    value: str | None, differing: str | None, codes: str | None = None
) -> dict[str, str | None]:
    """``trường=giá trị; …``, or one bare value for the row's only differing field (named by
    the hidden codes column, or by the labels of an older sheet without it)."""
    if not value:
        raise rule_error(
            "Giá trị đúng",
            "value_required",
            "Sửa cần 'Giá trị đúng'",
            "an edit needs the right value",
        )
    if "=" not in value:
        if codes:
            fields = [c.strip() if c.strip() in COMPARED else None for c in codes.split(",")]
        else:
            names = [n.strip() for n in (differing or "").split(",") if n.strip()]
            fields = [_FIELD_NAMES.get(_fold(n)) for n in names]
        if len(fields) != 1 or fields[0] is None:
            raise rule_error(
                "Giá trị đúng",
                "field_required",
                "Có nhiều (hoặc không có) trường khác nhau: ghi 'trường=giá trị'",
                "several (or no) fields differ: write 'field=value'",
            )
        return {fields[0]: value}
    out: dict[str, str | None] = {}
    for part in value.split(";"):
        if not part.strip():
            continue
        name, _, new = part.partition("=")
        f = _FIELD_NAMES.get(_fold(name.strip()))
        if f is None or f not in CORRECTABLE:
            raise rule_error(
                "Giá trị đúng",
                "unknown_field",
                f"Không biết trường '{name.strip()}'",
                f"unknown field '{name.strip()}'",
            )
        out[f] = new.strip() or None
    return out


def _read_rows(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    try:
        wb = open_workbook(data)
    except WorkbookError as exc:
        raise rule_error("file", exc.code, exc.message_vi, exc.message_en) from None
    ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None) or ()
    keys = [_HEADER_KEY.get(_fold(str(h))) if h is not None else None for h in header]
    for needed in ("id", "decision"):
        if needed not in keys:
            label = dict(COLUMNS)[needed]
            raise rule_error(
                "file",
                "missing_column",
                f"Thiếu cột '{label}' ở dòng tiêu đề",
                f"the header row has no '{label}' column",
            )
    out = []
    for n, values in enumerate(rows, start=2):
        if n - 1 > MAX_ROWS:
            raise rule_error(
                "file", "too_many_rows", f"Tối đa {MAX_ROWS} dòng", f"at most {MAX_ROWS} rows"
            )
        record = {k: v for k, v in zip(keys, values, strict=False) if k is not None}
        out.append((n, record))
    wb.close()
    return out


def import_workbook(session: Session, actor: Actor, data: bytes) -> ImportReport:
    """Apply the decisions of a filled-in export; one outcome per non-empty row."""
    items.require_worklist_role(actor)
    report = ImportReport()
    seen: dict[int, int] = {}
    for n, row in _read_rows(data):
        raw_id = _text(row.get("id"))
        word = _text(row.get("decision"))
        typed = [_text(row.get(k)) for k in ("decision", "value", "other_person", "reason")]
        if raw_id is None and not any(typed):
            continue  # an empty line carries nothing
        item_id = int(raw_id) if raw_id is not None and raw_id.isdigit() else None
        if word is None:
            said = _said(Message("không có quyết định", "no decision"))
            report.rows.append(RowOutcome(n, item_id, "skipped", None, None, "no_decision", **said))
            continue
        decision = _WORDS.get(_fold(word))

        def fail(
            status: int,
            rule: str,
            message: Message | str,
            d: str | None = decision,
            n: int = n,
            item_id: int | None = item_id,
        ) -> None:
            report.rows.append(RowOutcome(n, item_id, "failed", d, status, rule, **_said(message)))

        if item_id is None:
            fail(422, "unknown_id", Message(f"Mã mục không hợp lệ: {raw_id!r}", "invalid item id"))
            continue
        if decision is None:
            fail(
                422,
                "unknown_decision",
                Message(
                    f"Quyết định '{word}' không hợp lệ; chọn: {', '.join(DECISIONS)}",
                    "unknown decision word",
                ),
                None,
            )
            continue
        if item_id in seen:
            again = Message(f"Mục đã có ở dòng {seen[item_id]}", "item repeated")
            fail(409, "duplicate_row", again)
            continue
        seen[item_id] = n
        savepoint = session.begin_nested()
        try:
            _apply(session, actor, item_id, decision, row)
            savepoint.commit()
            report.rows.append(RowOutcome(n, item_id, "applied", decision, 200))
        except ServiceError as exc:
            savepoint.rollback()
            p = exc.problems[0] if exc.problems else None
            status, rule = exc.status, p.rule if p else str(exc.status)
            message: Message | str = p.message if p else exc.title
            if status == 404 and session.get(ReviewItem, item_id) is not None:
                status, rule = 403, "out_of_area"
                message = Message("Mục ngoài xã/phường của bạn", "item outside your area")
            elif status == 404:
                rule, message = "unknown_id", Message(f"Không có mục {item_id}", "no such item")
            fail(status, rule, message)
    return report


def _apply(session: Session, actor: Actor, item_id: int, decision: str, row: dict[str, Any]):
    reason = _text(row.get("reason"))
    other = _text(row.get("other_person"))
    if decision == "accept":
        return decisions.accept(session, actor, item_id, person_id=other, reason=reason)
    if decision == "reject":
        return decisions.reject(session, actor, item_id, reason=reason, person_id=other)
    if not reason:  # checked before the value, so the reviewer learns both are needed
        decisions.edit(session, actor, item_id, fields={}, reason=None, person_id=other)
    fields = _edit_fields(
        _text(row.get("value")), _text(row.get("differing")), _text(row.get("differing_codes"))
    )
    return decisions.edit(session, actor, item_id, fields=fields, reason=reason, person_id=other)


REPORT_SHEET = "Báo cáo nhập"
#: The report's columns: what a reader reads first, the codes (for tools) after.
REPORT_COLUMNS = [
    "Dòng",
    "Mã mục",
    "Kết quả",
    "Quyết định",
    "Lý do",
    "Mã kết quả",
    "Mã quyết định",
    "Mã trạng thái",
    "Mã lỗi",
]


def report_workbook(report: ImportReport) -> bytes:
    """The import report as an .xlsx: every row with something typed in it (applied, failed
    or skipped) with its outcome and reason in Vietnamese, the codes alongside; and a summary
    sheet by reason."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = REPORT_SHEET
    ws.append(REPORT_COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in report.rows:
        ws.append(
            [
                r.row,
                r.item_id,
                OUTCOME_WORDS.get(r.outcome, (r.outcome,))[0],
                DECISION_WORDS.get(r.decision or "", (r.decision,))[0],
                r.message_vi or r.message or "",
                r.outcome,
                r.decision,
                r.status,
                r.rule,
            ]
        )
    for letter, width in (("C", 16), ("D", 14), ("E", 80)):
        ws.column_dimensions[letter].width = width
    summary = wb.create_sheet("Tóm tắt")
    summary.append(["Kết quả", "Lý do", "Số dòng", "Mã lỗi"])
    for cell in summary[1]:
        cell.font = Font(bold=True)
    if report.count("applied"):
        summary.append([OUTCOME_WORDS["applied"][0], "", report.count("applied"), None])
    for g in report.by_reason():
        summary.append([OUTCOME_WORDS[g["outcome"]][0], g["vi"], g["count"], g["rule"]])
    summary.column_dimensions["B"].width = 80
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def visible_ids(session: Session, actor: Actor, ids: list[int]) -> list[int]:
    """Which of ``ids`` the caller may see (for audit of what an import touched)."""
    return list(
        session.scalars(
            select(ReviewItem.id).where(ReviewItem.id.in_(ids), items.item_filter(actor))
        )
    )
