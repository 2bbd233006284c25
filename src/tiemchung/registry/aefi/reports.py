"""AEFI reports: recorded against a dose, corrected with history, listed within the area.

The WHO AEFI reporting form's core fields: onset (date and time), symptoms (coded, with free
text for "other"), seriousness (the criteria of a serious event, none for a non-serious one),
outcome, the reporter, notes. One service for the CLI, the API and the desk's form.

Who may (issue 17): a site user records (and corrects) reports for the doses given at its
site; commune, province and central read the reports of the sites of their area (a site its
own); citizens nothing for now. A report outside the caller's area answers 404, as one that
does not exist. Every write is audited; a correction's event keeps each changed field's value
before and after, so the report's history is the audit log's events for it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tiemchung.registry.errors import (
    RULE_VIOLATED,
    FieldProblem,
    ServiceError,
    not_found,
    role_not_allowed,
)
from tiemchung.registry.models import AefiReport, Dose, Lot, Site
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.audit import audit

#: symptom codes (the WHO form's common events) with their words: Vietnamese, English
SYMPTOMS: dict[str, tuple[str, str]] = {
    "anaphylaxis": ("Sốc phản vệ", "Anaphylaxis"),
    "fever": ("Sốt (≥ 38 °C)", "Fever (≥ 38 °C)"),
    "local_reaction": ("Phản ứng tại chỗ tiêm", "Local reaction at the injection site"),
    "seizure": ("Co giật", "Seizure"),
    "myocarditis": ("Viêm cơ tim / màng ngoài tim", "Myocarditis / pericarditis"),
    "thrombosis": ("Huyết khối kèm giảm tiểu cầu", "Thrombosis with thrombocytopenia"),
    "other": ("Khác", "Other"),
}
#: the criteria that make an event serious (WHO form): any one of them
SERIOUSNESS: dict[str, tuple[str, str]] = {
    "death": ("Tử vong", "Death"),
    "life_threatening": ("Đe dọa tính mạng", "Life-threatening"),
    "hospitalisation": ("Nhập viện / kéo dài nằm viện", "Hospitalisation or prolonged"),
    "disability": ("Tàn tật", "Disability"),
    "congenital_anomaly": ("Dị tật bẩm sinh", "Congenital anomaly"),
}
OUTCOMES: dict[str, tuple[str, str]] = {
    "recovered": ("Đã hồi phục", "Recovered"),
    "recovering": ("Đang hồi phục", "Recovering"),
    "not_recovered": ("Chưa hồi phục", "Not recovered"),
    "sequelae": ("Hồi phục có di chứng", "Recovered with sequelae"),
    "died": ("Tử vong", "Died"),
    "unknown": ("Không rõ", "Unknown"),
}
READERS = (Role.CENTRAL, Role.PROVINCE, Role.COMMUNE, Role.SITE)
MAX_PAGE = 500
#: the most reports one CSV export carries
MAX_EXPORT = 100_000
CSV_TYPE = "text/csv; charset=utf-8"


@dataclass
class AefiInput:
    """What a reporter tells (a new report, or every field of a corrected one)."""

    onset_at: datetime
    symptoms: list[str]
    reporter_name: str
    outcome: str = "unknown"
    seriousness: list[str] = field(default_factory=list)
    symptoms_other: str | None = None
    death_date: date | None = None
    reporter_role: str | None = None
    reporter_contact: str | None = None
    notes: str | None = None


#: the fields a correction may change (the dose, site, product and lot never change)
EDITABLE = tuple(f.name for f in fields(AefiInput))


def _problem(field_: str, rule: str, vi: str, en: str) -> FieldProblem:
    return FieldProblem(field_, rule, vi, en)


def validate(data: AefiInput, dose_date: date, today: date, tz: tzinfo) -> list[FieldProblem]:
    """Every problem of a report at once (the form shows them all beside their fields):
    unknown codes, no symptom, "other" without words, an onset before the dose's day or in
    the future, an outcome and criteria that disagree about a death, a death without its
    date (or one before the onset), no reporter."""
    out: list[FieldProblem] = []
    if not data.symptoms:
        out.append(_problem("symptoms", "required", "Chưa chọn triệu chứng", "no symptom given"))
    bad = [c for c in data.symptoms if c not in SYMPTOMS]
    if bad:
        codes = ", ".join(SYMPTOMS)
        out.append(
            _problem(
                "symptoms",
                "unknown_code",
                f"Mã triệu chứng không hợp lệ: {', '.join(bad)} (dùng: {codes})",
                f"unknown symptom code(s): {', '.join(bad)} (one of: {codes})",
            )
        )
    if "other" in data.symptoms and not (data.symptoms_other or "").strip():
        out.append(
            _problem(
                "symptoms_other",
                "required",
                "Triệu chứng 'Khác': hãy mô tả",
                "symptom 'other': describe it",
            )
        )
    bad = [c for c in data.seriousness if c not in SERIOUSNESS]
    if bad:
        codes = ", ".join(SERIOUSNESS)
        out.append(
            _problem(
                "seriousness",
                "unknown_code",
                f"Mức độ nghiêm trọng không hợp lệ: {', '.join(bad)} (dùng: {codes})",
                f"unknown seriousness criterion: {', '.join(bad)} (one of: {codes})",
            )
        )
    if data.outcome not in OUTCOMES:
        codes = ", ".join(OUTCOMES)
        out.append(
            _problem(
                "outcome",
                "unknown_code",
                f"Kết quả không hợp lệ: {data.outcome} (dùng: {codes})",
                f"unknown outcome: {data.outcome} (one of: {codes})",
            )
        )
    onset = data.onset_at if data.onset_at.tzinfo else data.onset_at.replace(tzinfo=tz)
    onset_day = onset.astimezone(tz).date()
    if onset_day < dose_date:
        out.append(
            _problem(
                "onset_at",
                "before_dose",
                f"Ngày khởi phát {onset_day:%d/%m/%Y} trước ngày tiêm {dose_date:%d/%m/%Y}",
                f"onset {onset_day.isoformat()} is before the dose date {dose_date.isoformat()}",
            )
        )
    if onset_day > today:
        out.append(
            _problem("onset_at", "future_date", "Ngày khởi phát ở tương lai", "onset in the future")
        )
    died = data.outcome == "died"
    if died != ("death" in data.seriousness):
        out.append(
            _problem(
                "seriousness",
                "death_mismatch",
                "Kết quả 'Tử vong' đi cùng tiêu chí nghiêm trọng 'Tử vong' (và ngược lại)",
                "outcome 'died' goes with the seriousness criterion 'death' (and back)",
            )
        )
    if died and data.death_date is None:
        out.append(
            _problem("death_date", "required", "Tử vong: cần ngày tử vong", "a death needs a date")
        )
    if data.death_date is not None:
        if not died:
            out.append(
                _problem(
                    "death_date",
                    "not_a_death",
                    "Có ngày tử vong nhưng kết quả không phải 'Tử vong'",
                    "a death date but the outcome is not 'died'",
                )
            )
        elif data.death_date < onset_day or data.death_date > today:
            out.append(
                _problem(
                    "death_date",
                    "out_of_range",
                    "Ngày tử vong phải từ ngày khởi phát đến hôm nay",
                    "the death date must be between the onset and today",
                )
            )
    if not data.reporter_name.strip():
        out.append(
            _problem("reporter_name", "required", "Chưa có tên người báo cáo", "no reporter's name")
        )
    return out


def _refuse(problems: list[FieldProblem]) -> None:
    if problems:
        raise ServiceError(422, RULE_VIOLATED, problems)


def _normalised(data: AefiInput, tz: tzinfo) -> AefiInput:
    """Trimmed words, no repeated code, and the onset in Vietnam's time: SQLite keeps the
    wall-clock time without its offset, so every stored onset must be in the one zone that
    reading it back assumes."""
    onset = data.onset_at if data.onset_at.tzinfo else data.onset_at.replace(tzinfo=tz)
    onset = onset.astimezone(tz)
    return AefiInput(
        onset_at=onset,
        symptoms=list(dict.fromkeys(data.symptoms)),
        reporter_name=data.reporter_name.strip(),
        outcome=data.outcome,
        seriousness=list(dict.fromkeys(data.seriousness)),
        symptoms_other=(data.symptoms_other or "").strip() or None,
        death_date=data.death_date,
        reporter_role=(data.reporter_role or "").strip() or None,
        reporter_contact=(data.reporter_contact or "").strip() or None,
        notes=(data.notes or "").strip() or None,
    )


def _only_sites(actor: Actor) -> None:
    if actor.role is not Role.SITE:
        raise role_not_allowed(
            "Chỉ điểm tiêm ghi phản ứng sau tiêm cho mũi tiêm tại điểm mình",
            "only a site records an adverse event, for a dose given there",
        )


def record_report(
    session: Session, actor: Actor, dose_id: int, data: AefiInput, *, today: date, tz: tzinfo
) -> AefiReport:
    """Record an adverse event against a dose given at the caller's site (a dose elsewhere
    is not found); the caller commits; audited."""
    _only_sites(actor)
    dose = session.scalar(select(Dose).where(Dose.id == dose_id, Dose.site_id == actor.site_id))
    if dose is None:
        raise not_found(
            "dose_id", f"mũi tiêm {dose_id} tại điểm tiêm này", f"dose {dose_id} at this site"
        )
    _refuse(validate(data, dose.dose_date, today, tz))
    clean = _normalised(data, tz)
    report = AefiReport(
        dose_id=dose.id,
        site_id=dose.site_id,
        product_code=dose.product_code,
        lot_id=dose.lot_id,
        dose_date=dose.dose_date,
        serious=bool(clean.seriousness),
        created_by=actor.user_id,
        version=1,
        **{k: getattr(clean, k) for k in EDITABLE},
    )
    session.add(report)
    session.flush()
    audit(
        session,
        actor,
        "aefi.create",
        "aefi",
        report.id,
        {"dose_id": dose.id, "serious": report.serious, "symptoms": report.symptoms},
    )
    return report


def _stored(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def correct_report(
    session: Session,
    actor: Actor,
    report_id: int,
    changes: dict[str, Any],
    *,
    today: date,
    tz: tzinfo,
) -> AefiReport:
    """Change some fields of a report of the caller's site (the others as they are); the
    whole report is checked again. The audit event holds each changed field as [before,
    after]: the history. Nothing changed: nothing written."""
    _only_sites(actor)
    report = session.scalar(
        select(AefiReport).where(AefiReport.id == report_id, AefiReport.site_id == actor.site_id)
    )
    if report is None:
        raise not_found("id", f"báo cáo phản ứng {report_id}", f"AEFI report {report_id}")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ServiceError(
            422,
            RULE_VIOLATED,
            [
                _problem(k, "not_editable", "Không sửa được trường này", "this field cannot change")
                for k in sorted(unknown)
            ],
        )
    merged = AefiInput(**{k: changes.get(k, getattr(report, k)) for k in EDITABLE})
    _refuse(validate(merged, report.dose_date, today, tz))
    clean = _normalised(merged, tz)
    diff: dict[str, list[Any]] = {}
    for k in EDITABLE:
        before, after = getattr(report, k), getattr(clean, k)
        if k == "onset_at" and before is not None and before.tzinfo is None:
            before = before.replace(tzinfo=tz)  # SQLite gives back a naive time
        if before != after:  # aware times compare as instants, whatever their offsets
            diff[k] = [_stored(before), _stored(after)]
            setattr(report, k, after)
    if not diff:
        return report
    report.serious = bool(clean.seriousness)
    report.version += 1
    report.updated_at = datetime.now(tz)
    session.flush()
    audit(session, actor, "aefi.update", "aefi", report.id, diff | {"version": report.version})
    return report


# -- reading -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AefiQuery:
    """The list's filters: onset days (both included), seriousness, product, lot, place."""

    since: date | None = None
    until: date | None = None
    serious: bool | None = None
    product_code: str | None = None
    lot_number: str | None = None
    site_id: str | None = None
    ward_code: str | None = None
    province_code: str | None = None


def check_reader(actor: Actor) -> None:
    if actor.role not in READERS:
        raise role_not_allowed(
            "Chỉ cán bộ y tế được xem phản ứng sau tiêm",
            "only health staff may see adverse event reports",
        )


def scoped(actor: Actor, q: AefiQuery, tz: tzinfo) -> Select[Any]:
    """The reports the caller's area holds (by the dose's site) that the query keeps."""
    sites = select(Site.site_id).where(actor.site_filter())
    if q.ward_code:
        sites = sites.where(Site.ward_code == q.ward_code)
    if q.province_code:
        sites = sites.where(Site.province_code == q.province_code)
    stmt = select(AefiReport).where(AefiReport.site_id.in_(sites))
    if q.site_id:
        stmt = stmt.where(AefiReport.site_id == q.site_id)
    if q.since:
        stmt = stmt.where(AefiReport.onset_at >= datetime.combine(q.since, time(), tz))
    if q.until:
        end = datetime.combine(q.until + timedelta(days=1), time(), tz)
        stmt = stmt.where(AefiReport.onset_at < end)
    if q.serious is not None:
        stmt = stmt.where(AefiReport.serious.is_(q.serious))
    if q.product_code:
        stmt = stmt.where(AefiReport.product_code == q.product_code)
    if q.lot_number:
        stmt = stmt.where(
            AefiReport.lot_id.in_(select(Lot.id).where(Lot.lot_number == q.lot_number))
        )
    return stmt


def list_reports(
    session: Session,
    actor: Actor,
    q: AefiQuery,
    *,
    tz: tzinfo,
    before: int | None = None,
    limit: int = 100,
) -> tuple[list[AefiReport], int | None]:
    """Newest first; ``before`` (an id) pages to older ones (keyset). Returns the page and
    the ``before`` of the next page (None: the last)."""
    check_reader(actor)
    stmt = scoped(actor, q, tz)
    if before is not None:
        stmt = stmt.where(AefiReport.id < before)
    rows = list(session.scalars(stmt.order_by(AefiReport.id.desc()).limit(limit + 1)))
    nxt = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], nxt


def get_report(session: Session, actor: Actor, report_id: int) -> AefiReport:
    """One report of the caller's area (else 404, as if there were none)."""
    check_reader(actor)
    sites = select(Site.site_id).where(actor.site_filter())
    report = session.scalar(
        select(AefiReport).where(AefiReport.id == report_id, AefiReport.site_id.in_(sites))
    )
    if report is None:
        raise not_found("id", f"báo cáo phản ứng {report_id}", f"AEFI report {report_id}")
    return report


def lot_numbers(session: Session, reports: list[AefiReport]) -> dict[int, str]:
    """The lot numbers of the reports' lots (a report names its lot by id)."""
    ids = {r.lot_id for r in reports if r.lot_id is not None}
    if not ids:
        return {}
    return dict(session.execute(select(Lot.id, Lot.lot_number).where(Lot.id.in_(ids))).all())


EXPORT_COLUMNS = (
    ("id", "Mã báo cáo", "Report id"),
    ("dose_id", "Mã mũi tiêm", "Dose id"),
    ("site_id", "Điểm tiêm", "Site"),
    ("product_code", "Vắc xin", "Product"),
    ("lot_number", "Số lô", "Lot number"),
    ("dose_date", "Ngày tiêm", "Dose date"),
    ("onset_at", "Khởi phát", "Onset"),
    ("symptoms", "Triệu chứng", "Symptoms"),
    ("serious", "Nghiêm trọng", "Serious"),
    ("seriousness", "Tiêu chí nghiêm trọng", "Seriousness"),
    ("outcome", "Kết quả", "Outcome"),
    ("death_date", "Ngày tử vong", "Death date"),
    ("lot_flagged", "Lô cảnh báo cụm", "Lot flagged"),
)


def export_csv(rows: list[dict[str, Any]]) -> bytes:
    """Reports as CSV (UTF-8 with a BOM for Excel), headers in both languages; no reporter
    contact or notes (free text that may name people): the file travels."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([f"{vi} / {en}" for _, vi, en in EXPORT_COLUMNS])
    for r in rows:
        line = []
        for k, _, _ in EXPORT_COLUMNS:
            v = r.get(k)
            line.append(";".join(v) if isinstance(v, list) else "" if v is None else v)
        w.writerow(line)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
