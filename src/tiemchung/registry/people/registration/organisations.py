"""Organisations (issue 18 point 1): apply, be approved or refused, and who speaks for one.

Anyone may apply (the public form, ``POST /api/v1/organisations``, ``tiemchung orgs add``):
the application names the organisation, its tax or agency code (one application per code),
its kind, its ward (a 2021 ward: the province follows) and a contact. The ward's commune
user, the province or central decides (``registry/scope.Actor.may_decide_organisation``);
each decision is audited with its note. An approved organisation's users (role ``org``, one
``organisation_users`` row each: ``auth/orgusers.py`` creates them) submit its lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.identity import IdentityError
from tiemchung.identity.phones import normalize_phone
from tiemchung.registry.errors import forbidden, not_found, role_not_allowed, rule_error
from tiemchung.registry.models import AdminUnit
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.orgusers import OrganisationUser
from tiemchung.registry.tables.registrations import Organisation
from tiemchung.store.audit import audit

#: the kinds the seeds name (companies, schools, agencies, markets) and the rest
KINDS: dict[str, tuple[str, str]] = {
    "company": ("Doanh nghiệp", "Company"),
    "school": ("Trường học", "School"),
    "agency": ("Cơ quan nhà nước", "Public agency"),
    "market": ("Chợ", "Market"),
    "other": ("Khác", "Other"),
}
APPLIED, APPROVED, REFUSED = "applied", "approved", "refused"
#: a Vietnamese tax code is 10 digits, a branch's 10-3; an agency code is up to 20 letters/digits
_CODE = re.compile(r"^[0-9A-Z][0-9A-Z.\-]{1,19}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Application:
    name: str
    code: str
    kind: str
    ward_code: str
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None


def _clean(field: str, value: str | None, limit: int, *, required: bool = False) -> str | None:
    text = " ".join((value or "").split())
    if not text:
        if required:
            raise rule_error(field, "required", f"Thiếu trường {field}", f"{field} is required")
        return None
    if len(text) > limit:
        raise rule_error(
            field,
            "too_long",
            f"Trường {field} dài quá {limit} ký tự",
            f"{field} is longer than {limit} characters",
        )
    return text


def apply(session: Session, actor: Actor, app: Application) -> Organisation:
    """Store an application (status ``applied``; audited; the caller commits). A code already
    applied is a 409 naming it, whatever its status: one organisation, one account."""
    name = _clean("name", app.name, 300, required=True)
    code = (_clean("code", app.code, 20, required=True) or "").upper().replace(" ", "")
    if not _CODE.match(code):
        raise rule_error(
            "code",
            "invalid_code",
            "Mã số thuế (10 hoặc 13 số) hoặc mã cơ quan (chữ và số)",
            "a tax code (10 or 13 digits) or an agency code (letters and digits)",
        )
    if app.kind not in KINDS:
        raise rule_error(
            "kind",
            "unknown_kind",
            f"Loại tổ chức phải là một trong: {', '.join(KINDS)}",
            f"kind must be one of: {', '.join(KINDS)}",
        )
    ward = session.get(AdminUnit, ("2021", (app.ward_code or "").strip()))
    if ward is None or ward.level != "ward":
        raise rule_error(
            "ward_code", "unknown_ward", "Không có phường/xã này", "no such ward (2021 codes)"
        )
    phone = _clean("contact_phone", app.contact_phone, 32)
    if phone is not None:
        try:
            phone = normalize_phone(phone)
        except IdentityError as exc:
            raise rule_error("contact_phone", exc.code, exc.message_vi, exc.message_en) from exc
    email = _clean("contact_email", app.contact_email, 200)
    if email is not None and not _EMAIL.match(email):
        raise rule_error(
            "contact_email", "invalid_email", "Địa chỉ email không hợp lệ", "not an email address"
        )
    if session.scalar(select(Organisation.id).where(Organisation.code == code)) is not None:
        raise rule_error(
            "code",
            "already_applied",
            f"Tổ chức mã {code} đã đăng ký",
            f"an organisation with code {code} has already applied",
            status=409,
        )
    org = Organisation(
        name=name,
        code=code,
        kind=app.kind,
        ward_code=ward.code,
        province_code=ward.province_code,
        contact_name=_clean("contact_name", app.contact_name, 200),
        contact_phone=phone,
        contact_email=email,
        status=APPLIED,
    )
    session.add(org)
    session.flush()
    audit(session, actor, "organisation.apply", "organisation", org.id,
          {"code": code, "ward_code": ward.code, "kind": app.kind})  # fmt: skip
    return org


def get_organisation(session: Session, actor: Actor, org_id: int) -> Organisation:
    """The organisation if the caller may see it (its deciders, its own users); otherwise a
    404, as if it did not exist."""
    org = session.get(Organisation, org_id)
    if org is None or not actor.may_submit_for(
        org.province_code, org.ward_code, member=is_member(session, actor, org_id)
    ):
        raise not_found("organisation_id", f"tổ chức {org_id}", f"organisation {org_id}")
    return org


def find_organisation(session: Session, actor: Actor, key: str) -> Organisation:
    """By id or by tax/agency code (the CLI's ``--org``)."""
    key = key.strip()
    if key.isdigit() and len(key) < 10:
        return get_organisation(session, actor, int(key))
    org_id = session.scalar(select(Organisation.id).where(Organisation.code == key.upper()))
    if org_id is None:
        raise not_found("organisation", f"tổ chức {key}", f"organisation {key}")
    return get_organisation(session, actor, org_id)


def is_member(session: Session, actor: Actor, org_id: int) -> bool:
    if actor.role is not Role.ORGANISATION or actor.user_id is None:
        return False
    return member_of(session, actor) == org_id


def member_of(session: Session, actor: Actor) -> int | None:
    """The organisation an ``org`` user speaks for (None for anyone else)."""
    if actor.role is not Role.ORGANISATION or actor.user_id is None:
        return None
    return session.scalar(
        select(OrganisationUser.organisation_id).where(OrganisationUser.user_id == actor.user_id)
    )


def decide(
    session: Session, actor: Actor, org_id: int, *, approve: bool, note: str | None = None
) -> Organisation:
    """Approve or refuse an application (audited with the note; the caller commits). Only
    the ward's commune, the province or central decides; a refusal needs a note, so the
    organisation learns why. Deciding again is allowed (a refused one that fixed its papers
    is approved; an approved one may be suspended by a refusal) and audited each time."""
    org = session.get(Organisation, org_id)
    if org is None:
        raise not_found("organisation_id", f"tổ chức {org_id}", f"organisation {org_id}")
    if not actor.may_decide_organisation(org.province_code, org.ward_code):
        raise forbidden(
            "organisation_id",
            "Chỉ phường/xã của tổ chức, tỉnh hoặc trung ương được duyệt",
            "only the organisation's ward, its province or central may decide",
        )
    text = _clean("note", note, 2000)
    if not approve and text is None:
        raise rule_error(
            "note",
            "required",
            "Từ chối cần ghi lý do",
            "a refusal needs a note saying why",
        )
    before = org.status
    org.status = APPROVED if approve else REFUSED
    org.decided_by = actor.user_id
    org.decided_at = datetime.now(UTC)
    org.decision_note = text
    session.flush()
    audit(session, actor, "organisation.approve" if approve else "organisation.refuse",
          "organisation", org.id, {"status": [before, org.status], "note": text})  # fmt: skip
    return org


def list_organisations(
    session: Session, actor: Actor, *, status: str | None = None, limit: int = 200
) -> list[Organisation]:
    """The organisations the caller decides on (an ``org`` user: its own)."""
    stmt = select(Organisation).order_by(Organisation.id)
    if actor.role is Role.ORGANISATION:
        stmt = stmt.where(Organisation.id == (member_of(session, actor) or -1))
    elif actor.role is Role.PROVINCE:
        stmt = stmt.where(Organisation.province_code == actor.province_code)
    elif actor.role is Role.COMMUNE:
        stmt = stmt.where(Organisation.ward_code == actor.ward_code)
    elif actor.role is not Role.CENTRAL:
        raise role_not_allowed(
            f"Vai trò {actor.role.value} không xem được danh sách tổ chức",
            f"role {actor.role.value} may not list organisations",
        )
    if status is not None:
        stmt = stmt.where(Organisation.status == status)
    return list(session.scalars(stmt.limit(limit)))


def require_approved(org: Organisation) -> None:
    if org.status != APPROVED:
        raise rule_error(
            "organisation_id",
            "not_approved",
            f"Tổ chức chưa được duyệt (trạng thái: {org.status})",
            f"the organisation is not approved (status: {org.status})",
            status=409,
        )


def organisation_view(org: Organisation) -> dict[str, object]:
    return {
        "id": org.id,
        "name": org.name,
        "code": org.code,
        "kind": org.kind,
        "ward_code": org.ward_code,
        "province_code": org.province_code,
        "contact_name": org.contact_name,
        "contact_phone": org.contact_phone,
        "contact_email": org.contact_email,
        "status": org.status,
        "decision_note": org.decision_note,
        "decided_at": org.decided_at.isoformat() if org.decided_at else None,
    }
