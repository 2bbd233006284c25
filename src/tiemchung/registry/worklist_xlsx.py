"""A ward's worklist as a spreadsheet, and the decisions typed into it applied back.

Many commune health stations work offline in Excel, so the worklist travels as an ``.xlsx``:
one row per open item with the record's fields next to the best candidate's, the fields that
differ highlighted, the explanation in words, and three columns to fill — the decision (a
drop-down list ``chấp nhận / từ chối / sửa``), the right value(s) for an edit, the reason.

Importing it back reads the columns by their header (a reordered sheet still imports) and
applies each row through the same service as the API (:mod:`tiemchung.registry.worklists`), each
row in its own savepoint, so a bad row fails alone. Every row with something in it gets an
outcome in the report — applied, failed with the reason (unknown id, outside the user's ward,
already decided, unknown decision word, edit without a reason, …) or skipped (no decision
typed) — nothing is dropped silently.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.identity import IdentityError, fold_name
from tiemchung.registry import worklists as wl
from tiemchung.registry.corrections import CORRECTABLE
from tiemchung.registry.errors import ServiceError, rule_error
from tiemchung.registry.models import ReviewItem
from tiemchung.registry.persons import mask_candidates
from tiemchung.registry.scope import Actor
from tiemchung.registry.worklist_explain import COMPARED, FIELD_LABELS

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
]
_HEADER_KEY = {fold_name(h): k for k, h in COLUMNS}
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

GUIDE = [
    "Cột 'Quyết định': chọn chấp nhận (đúng người, dùng giá trị sổ dân cư), từ chối (không phải "
    "người này; ghi 'Mã người khác' nếu là ứng viên khác, để trống nếu không có trong sổ dân cư) "
    "hoặc sửa (ghi 'Giá trị đúng' và bắt buộc 'Lý do').",
    "'Giá trị đúng': một giá trị nếu chỉ một trường khác nhau, hoặc 'trường=giá trị; …', ví dụ "
    "'Ngày sinh=12/04/1985; Số điện thoại=0912000001'.",
    "Ô tô vàng: trường khác nhau giữa hồ sơ và sổ dân cư (đã bỏ qua khác biệt chỉ do cách viết).",
    "Decision column: chấp nhận = accept, từ chối = reject, sửa = edit (needs a reason). Rows "
    "without a decision are skipped and listed in the import report.",
]


def _all_open(session: Session, actor: Actor, ward_code: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = wl.list_items(
            session,
            actor,
            wl.WorklistQuery(ward_code=ward_code, status=wl.OPEN, limit=wl.MAX_PAGE, offset=offset),
        )
        out.extend(page.items)
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return out


def export_workbook(
    session: Session, actor: Actor, ward_code: str | None
) -> tuple[bytes, list[int]]:
    """The caller's open items of ``ward_code`` as an .xlsx, and the ids exported (for the
    caller's read audit)."""
    summaries = _all_open(session, actor, ward_code)
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
            "kind": item.kind,
            "dose_id": item.dose_id,
            "dose_date": detail["record"]["dose_date"],
            "person_id": best["person_id"] if best else None,
            "match_probability": best["match_probability"] if best else None,
            "differing": ", ".join(FIELD_LABELS[f][0] for f in best["differing"]) if best else "",
            "explanation": "\n".join(e["vi"] for e in detail["explanation"]),
        }
        for f in COMPARED:
            row[f"record.{f}"] = detail["record"][f]
        for x in best["fields"] if best else []:
            row[f"register.{x['field']}"] = x["register"]
        for key, value in row.items():
            ws.cell(row=r, column=col[key], value=value)
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
    guide = wb.create_sheet("Hướng dẫn")
    for line in GUIDE:
        guide.append([line])
    guide.column_dimensions["A"].width = 120
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), ids


@dataclass
class RowOutcome:
    row: int
    item_id: int | None
    outcome: str  # applied | failed | skipped
    decision: str | None = None
    status: int | None = None
    rule: str | None = None
    message: str | None = None


@dataclass
class ImportReport:
    rows: list[RowOutcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(r.outcome == outcome for r in self.rows)

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": self.count("applied"),
            "failed": self.count("failed"),
            "skipped": self.count("skipped"),
            "rows": [r.__dict__ for r in self.rows],
        }


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _fold(text: str) -> str:
    try:
        return fold_name(text)
    except IdentityError:  # free text the toolkit cannot fold: compare it as typed
        return text.casefold()


def _edit_fields(value: str | None, differing: str | None) -> dict[str, str | None]:
    """``trường=giá trị; …``, or one bare value for the row's only differing field."""
    if not value:
        raise rule_error(
            "Giá trị đúng",
            "value_required",
            "Sửa cần 'Giá trị đúng'",
            "an edit needs the right value",
        )
    if "=" not in value:
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
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types (zip, XML, key) for a bad file
        raise rule_error(
            "file",
            "invalid_xlsx",
            "Tệp không phải bảng tính .xlsx đọc được",
            f"not a readable .xlsx workbook ({type(exc).__name__})",
        ) from exc
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
    wl.require_worklist_role(actor)
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
            report.rows.append(
                RowOutcome(n, item_id, "skipped", message="không có quyết định / no decision")
            )
            continue
        decision = _WORDS.get(_fold(word))

        def fail(
            status: int,
            rule: str,
            message: str,
            d: str | None = decision,
            n: int = n,
            item_id: int | None = item_id,
        ) -> None:
            report.rows.append(RowOutcome(n, item_id, "failed", d, status, rule, message))

        if item_id is None:
            fail(422, "unknown_id", f"Mã mục không hợp lệ: {raw_id!r} / invalid item id")
            continue
        if decision is None:
            fail(
                422,
                "unknown_decision",
                f"Quyết định '{word}' không hợp lệ; chọn: {', '.join(DECISIONS)} / "
                "unknown decision word",
                None,
            )
            continue
        if item_id in seen:
            fail(409, "duplicate_row", f"Mục đã có ở dòng {seen[item_id]} / item repeated")
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
            message = p.as_dict()["message"] if p else exc.title
            if status == 404 and session.get(ReviewItem, item_id) is not None:
                status, rule = 403, "out_of_area"
                message = "Mục ngoài xã/phường của bạn / item outside your area"
            elif status == 404:
                rule, message = "unknown_id", f"Không có mục {item_id} / no such item"
            fail(status, rule, message)
    return report


def _apply(session: Session, actor: Actor, item_id: int, decision: str, row: dict[str, Any]):
    reason = _text(row.get("reason"))
    other = _text(row.get("other_person"))
    if decision == "accept":
        return wl.accept(session, actor, item_id, person_id=other, reason=reason)
    if decision == "reject":
        return wl.reject(session, actor, item_id, reason=reason, person_id=other)
    if not reason:  # checked before the value, so the reviewer learns both are needed
        wl.edit(session, actor, item_id, fields={}, reason=None, person_id=other)
    fields = _edit_fields(_text(row.get("value")), _text(row.get("differing")))
    return wl.edit(session, actor, item_id, fields=fields, reason=reason, person_id=other)


def report_workbook(report: ImportReport) -> bytes:
    """The import report as an .xlsx (row, item, outcome, rule, reason)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Báo cáo nhập"
    ws.append(["Dòng", "Mã mục", "Kết quả", "Quyết định", "Mã trạng thái", "Mã lỗi", "Lý do"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in report.rows:
        ws.append([r.row, r.item_id, r.outcome, r.decision, r.status, r.rule, r.message])
    ws.column_dimensions["G"].width = 80
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def visible_ids(session: Session, actor: Actor, ids: list[int]) -> list[int]:
    """Which of ``ids`` the caller may see (for audit of what an import touched)."""
    return list(
        session.scalars(select(ReviewItem.id).where(ReviewItem.id.in_(ids), wl.item_filter(actor)))
    )
