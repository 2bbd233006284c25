"""A person registers themselves on the citizen pages (issue 18 point 2), confirmed by a
6-digit one-time code sent by SMS.

:func:`start` checks the form (the same row check as an organisation's list, so a garbled
ID or date is named before any text is sent), stores it waiting in ``registration_codes``
with the code hashed (HMAC with the installation's secret: the table alone reveals no code),
and queues the text in the same transaction (``registry/messages/outbox.enqueue``, kind
``otp``; the sender sends it). :func:`confirm` takes the code back: at most
:data:`MAX_ATTEMPTS` tries, within :data:`CODE_MINUTES`; then the form is submitted as a
``self`` source through ``submit_rows`` — the same check, and the same ONE registration if
an organisation already put the person forward.

Throttled against abuse in the database, so every server process counts the same: at most
:data:`PER_PHONE` codes per phone and :data:`PER_IP` per client address in an hour (a 429
saying when to try again).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiemchung.identity import IdentityError
from tiemchung.identity.phones import normalize_phone
from tiemchung.registry.errors import FieldProblem, ServiceError, not_found, rule_error
from tiemchung.registry.messages.outbox import enqueue
from tiemchung.registry.messages.templates import current, render
from tiemchung.registry.people.registration.checking import check_rows
from tiemchung.registry.people.registration.priority import active_codes
from tiemchung.registry.people.registration.registrations import SELF, RowResult, submit_rows
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.orgusers import RegistrationCode
from tiemchung.store.audit import audit

CODE_MINUTES = 10
MAX_ATTEMPTS = 5
PER_PHONE = 3
PER_IP = 10
FORM_FIELDS = (
    "national_id",
    "full_name",
    "dob",
    "phone",
    "ward_code",
    "priority_group",
    "underlying_condition",
)
SELF_ACTOR = Actor.anonymous("self-registration")


@dataclass(frozen=True)
class Started:
    code_id: int
    expires_at: datetime
    phone: str


def _hash(secret: bytes, code_id: int, code: str) -> str:
    return hmac.new(secret, f"{code_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _too_many(field: str, vi: str, en: str) -> ServiceError:
    return ServiceError(
        429, "Too many requests / Quá nhiều yêu cầu", [FieldProblem(field, "throttled", vi, en)]
    )


def start(
    session: Session,
    form: dict[str, Any],
    *,
    ip: str | None,
    secret: bytes,
    now: datetime | None = None,
    code: str | None = None,
) -> Started:
    """Check the form, store it waiting and queue its code (the caller commits). ``code`` is
    for tests only; otherwise 6 random digits."""
    now = now or datetime.now(UTC)
    values = {k: form.get(k) for k in FORM_FIELDS if form.get(k) not in (None, "")}
    phone_text = str(values.get("phone") or "").strip()
    if not phone_text:
        raise rule_error(
            "phone",
            "required",
            "Cần số điện thoại để nhận mã",
            "a phone number is needed for the code",
        )
    try:
        phone = normalize_phone(phone_text)
    except IdentityError as exc:
        raise rule_error("phone", exc.code, exc.message_vi, exc.message_en) from exc
    if not phone.startswith(("03", "05", "07", "08", "09")) or len(phone) != 10:
        raise rule_error(
            "phone",
            "not_mobile",
            "Cần số di động để nhận tin nhắn",
            "a mobile number is needed to receive the text",
        )
    if not values.get("national_id") or not values.get("full_name") or not values.get("dob"):
        missing = next(k for k in ("national_id", "full_name", "dob") if not values.get(k))
        raise rule_error(missing, "required", f"Thiếu trường {missing}", f"{missing} is required")
    check = check_rows(session, SELF_ACTOR, [values], active_codes(session))[0]
    if check.result == "rejected":
        raise ServiceError(
            422,
            "Rule violated / Vi phạm quy tắc",
            [
                FieldProblem(r["field"], r["rule"], r["message_vi"], r["message_en"])
                for r in check.reasons
            ],
        )
    hour = now - timedelta(hours=1)
    sent = (
        select(func.count())
        .select_from(RegistrationCode)
        .where(RegistrationCode.created_at >= hour)
    )
    if (session.scalar(sent.where(RegistrationCode.phone == phone)) or 0) >= PER_PHONE:
        raise _too_many(
            "phone",
            f"Số này đã nhận {PER_PHONE} mã trong một giờ: thử lại sau",
            f"this number had {PER_PHONE} codes within an hour: try again later",
        )
    if ip and (session.scalar(sent.where(RegistrationCode.ip == ip)) or 0) >= PER_IP:
        raise _too_many(
            "phone",
            "Quá nhiều đăng ký từ máy này: thử lại sau một giờ",
            "too many registrations from this address: try again in an hour",
        )
    row = RegistrationCode(
        phone=phone,
        code_hash="-",
        payload=values | {"phone": phone},
        ip=(ip or None) and ip[:64],
        attempts=0,
        expires_at=now + timedelta(minutes=CODE_MINUTES),
        created_at=now,
    )
    session.add(row)
    session.flush()
    digits = code or f"{secrets.randbelow(10**6):06d}"
    row.code_hash = _hash(secret, row.id, digits)
    otp = current(session, "otp")
    enqueue(
        session,
        phone=phone,
        body=render(otp, {"code": digits, "minutes": str(CODE_MINUTES)})[0],
        keep_accents=otp.keep_accents or None,
        kind="otp",
        ref_type="registration_code",
        ref_id=row.id,
        dedupe_key=f"registration_code:{row.id}",
    )
    audit(session, SELF_ACTOR, "registration.code_sent", "registration_code", row.id, {"ip": ip})
    return Started(row.id, row.expires_at, phone)


def confirm(
    session: Session, code_id: int, code: str, *, secret: bytes, now: datetime | None = None
) -> RowResult:
    """Take the code back and register (the caller commits). A wrong code counts an attempt
    (its 422 says how many are left); an expired one, or one tried too often, is refused
    and a new code must be asked for."""
    now = now or datetime.now(UTC)
    row = session.get(RegistrationCode, code_id, with_for_update=True)
    if row is None:
        raise not_found("code_id", "yêu cầu đăng ký", "registration request")
    if row.confirmed_at is not None:
        raise rule_error(
            "code",
            "already_confirmed",
            "Đăng ký này đã được xác nhận",
            "this registration is already confirmed",
            status=409,
        )
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if now > expires:
        raise rule_error(
            "code",
            "expired",
            "Mã đã hết hạn: hãy yêu cầu mã mới",
            "the code has expired: ask for a new one",
            status=410,
        )
    if row.attempts >= MAX_ATTEMPTS:
        raise _too_many(
            "code",
            "Nhập sai quá nhiều lần: hãy yêu cầu mã mới",
            "too many wrong codes: ask for a new one",
        )
    if not hmac.compare_digest(row.code_hash, _hash(secret, row.id, code.strip())):
        row.attempts += 1
        session.flush()
        left = MAX_ATTEMPTS - row.attempts
        raise rule_error(
            "code",
            "wrong_code",
            f"Mã không đúng, còn {left} lần thử",
            f"wrong code, {left} attempts left",
        )
    row.confirmed_at = now
    report = submit_rows(
        session,
        SELF_ACTOR,
        [dict(row.payload)],
        organisation_id=None,
        source=SELF,
        batch=f"self:{row.id}",
    )
    return report.rows[0]
