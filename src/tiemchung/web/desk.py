"""What the vaccination desk shows and submits, built on the registry's services.

The check-in asks :func:`tiemchung.registry.doses.verify.verify` (the same rule the dose path uses
to
decide verified or unverified); the dose is recorded by :meth:`Platform.record_dose`, the call
the API's ``POST /doses`` makes. The sequence warnings the desk shows before the dose is saved
come from the dose path's own rule (registry/doses/rules.py) on the history the check-in read,
so the nurse reads the same words before and after saving. This module only turns their
answers into what a page needs (prefilled form values, messages in the page's language) and a
submitted form back into a :class:`~tiemchung.registry.doses.record.DoseSubmission`. What the
desk offers (today's sessions, products, lots) is read by
:func:`tiemchung.registry.catalog.reference.desk_offer`, with the API's ``/sessions`` filter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tiemchung.identity import IdentityError, parse_dob, parse_national_id
from tiemchung.registry.catalog.reference import SessionRow
from tiemchung.registry.doses.record import DoseSubmission
from tiemchung.registry.doses.rules import DOSE_NUMBER_TYPED, DoseWarning, sequence_warnings
from tiemchung.registry.doses.verify import MISMATCH, VERIFIED, Verification, VerifyRecord
from tiemchung.registry.errors import FieldProblem, ServiceError, future_dose_date
from tiemchung.registry.scope import Actor

#: The fields of the dose form, in the order a nurse reads them.
FORM_FIELDS = (
    "full_name",
    "national_id",
    "dob",
    "sex",
    "session_id",
    "product_code",
    "lot_number",
    "dose_number",
    "dose_date",
    "person_id",
    "client_uuid",
    # carried from the check-in: its status (the form warns when the dose will be
    # unverified), and the scanned address and its ward (the dose's commune)
    "match",
    "address",
    "ward_code",
)


@dataclass
class Problem:
    """A message for one field (or ``""`` for the page), already in the page's language."""

    field: str
    text: str


@dataclass
class DoseForm:
    values: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    #: the sequence warnings predicted for the prefilled dose, in the page's language
    warnings: list[str] = field(default_factory=list)

    def errors_for(self, name: str) -> list[str]:
        return [p.text for p in self.problems if p.field == name]


def say(lang: str, vi: str, en: str) -> str:
    return en if lang == "en" else vi


def problems_of(exc: ServiceError, lang: str) -> list[Problem]:
    return [Problem(p.field, say(lang, p.message_vi, p.message_en)) for p in exc.problems]


def record_of(typed: str) -> VerifyRecord:
    """A scan (the chip card's payload has ``|`` between fields) or a typed ID number."""
    text = typed.strip("\r\n\t ")
    if "|" in text:
        return VerifyRecord(qr=text)
    return VerifyRecord(national_id=text)


def check_typed_id(typed: str) -> IdentityError | None:
    """A typed ID must be a Vietnamese ID number (12-digit CCCD or 9-digit CMND)."""
    try:
        parse_national_id(typed.strip())
    except IdentityError as exc:
        return exc
    return None


def prefill(
    v: Verification,
    sessions: list[SessionRow],
    lots: list[tuple[str, str, date]],
    today: date,
    fallback_product: str | None,
) -> dict[str, str]:
    """The dose form as the rules prefill it: the identity scanned (or the register's when
    only an ID was typed), the session's product, its first usable lot, the next dose number."""
    t = v.typed
    person = v.person or {}
    typed_only_id = t.source == "fields" and t.full_name is None
    use_register = typed_only_id and v.person is not None
    session = sessions[0] if sessions else None
    product = session.product_code if session else (fallback_product or "")
    lot = next((n for p, n, _ in lots if p == product), "")
    nxt = v.next_dose
    return {
        "full_name": (person.get("full_name") if use_register else t.full_name) or "",
        "national_id": t.national_id or "",
        "dob": _ddmmyyyy((person.get("dob") if use_register else t.dob) or ""),
        "sex": (person.get("sex") if use_register else t.sex) or "",
        "session_id": str(session.id) if session else "",
        "product_code": product,
        "lot_number": lot,
        "dose_number": str(nxt.dose_number if nxt else 1),
        "dose_date": f"{today:%d/%m/%Y}",
        # The register person the check-in matched, also when a field differs: the dose is
        # then saved unverified, but its sequence is checked against this person's history.
        "person_id": (person.get("person_id") or "") if v.status in (VERIFIED, MISMATCH) else "",
        "client_uuid": str(uuid.uuid4()),
        "match": v.status,
        "address": t.address or "",
        "ward_code": t.ward_code or "",
    }


def predicted_warnings(
    v: Verification, dose_number: int, day: date, interval_of: Any
) -> list[DoseWarning]:
    """What the dose path will warn about this dose, predicted from the check-in's history:
    the register person's doses (and, unless verified, the ones stored unlinked under the
    typed ID, as the dose path counts them), or only the latter for someone not found."""
    if v.status not in ("verified", "mismatch", "not_found"):
        return []  # several candidates: the dose path will not know whose history it is
    history = {d.dose_number: (d.dose_date, d.product_code) for d in v.doses}
    if v.status != "verified":
        for d in v.unlinked_doses:
            history.setdefault(d.dose_number, (d.dose_date, d.product_code))
    return sequence_warnings(history, dose_number, day, interval_of)


def warning_texts(warnings: list[DoseWarning], lang: str) -> list[str]:
    return [say(lang, w.message_vi, w.message_en) for w in warnings]


def _ddmmyyyy(iso: str) -> str:
    return "/".join(reversed(iso.split("-"))) if iso else ""


def _problem(name: str, vi: str, en: str) -> ServiceError:
    return ServiceError(422, "Invalid / Không hợp lệ", [FieldProblem(name, "invalid", vi, en)])


def parse_day(text: str, name: str, today: date | None = None) -> date:
    """A full date typed as dd/mm/yyyy (or ISO); a wrong one says what to type. ``today`` is
    Vietnam's date (the platform's): the machine's own clock may still be on yesterday.

    Only a date that cannot be read asks for the format. A well-typed date that does not
    exist (31/02) says so, and one after today is refused with the dose path's own rule and
    words ("Ngày tiêm ở tương lai"), as the API answers it."""
    try:
        parsed = parse_dob(text.strip(), today=today)
    except IdentityError as exc:
        if exc.code == "dob_future":
            if name == "dose_date":
                raise future_dose_date() from None
            vi, en = f"Ngày '{text}' ở tương lai", f"'{text}' is in the future"
            raise _problem(name, vi, en) from None
        if exc.code == "dob_invalid":
            raise _problem(
                name, f"Ngày '{text}' không tồn tại", f"'{text}' is not a real date"
            ) from None
        parsed = None
    if parsed is None or parsed.precision != "day":
        raise _problem(
            name,
            f"Ngày '{text}' không hợp lệ: gõ theo dạng ngày/tháng/năm, ví dụ 05/10/2021",
            f"'{text}' is not a valid date: type day/month/year, e.g. 05/10/2021",
        )
    return parsed.to_date()  # type: ignore[no-any-return]


#: The date-of-birth errors that come from the typed format; the others (a date that does not
#: exist, one in the future, a year out of range) are about the date and need no format hint.
_DOB_FORMAT_CODES = frozenset({"dob_format", "dob_empty"})


def submission_from(
    form: dict[str, str], actor: Actor, sessions: list[SessionRow], today: date | None = None
) -> DoseSubmission:
    """The dose the form describes; raises ``ServiceError`` naming every bad field at once."""
    problems: list[FieldProblem] = []

    def take(name: str, fn: Any) -> Any:
        try:
            return fn()
        except ServiceError as exc:
            problems.extend(exc.problems)
            return None

    session_id = form.get("session_id") or ""
    product = form.get("product_code") or ""
    chosen = next((s for s in sessions if str(s.id) == session_id), None)
    if session_id and chosen is None:
        problems.append(
            FieldProblem(
                "session_id",
                "unknown_session",
                "Không có buổi tiêm này hôm nay",
                "no such session today",
            )
        )
    if chosen is not None:
        product = chosen.product_code
    dose_date = take("dose_date", lambda: parse_day(form.get("dose_date", ""), "dose_date", today))
    dob_text = form.get("dob", "").strip()
    dob = None
    if dob_text:
        try:
            dob = parse_dob(dob_text, today=today).iso
        except IdentityError as exc:
            hint = exc.code in _DOB_FORMAT_CODES
            problems.append(
                FieldProblem(
                    "dob",
                    exc.code,
                    exc.message_vi + (": gõ theo dạng ngày/tháng/năm, ví dụ 05/03/1990" * hint),
                    exc.message_en + (": type day/month/year, e.g. 05/03/1990" * hint),
                )
            )
    number_text = form.get("dose_number", "").strip()
    if not number_text.isdigit():
        problems.append(
            FieldProblem("dose_number", "invalid", DOSE_NUMBER_TYPED.vi, DOSE_NUMBER_TYPED.en)
        )
    if not form.get("full_name", "").strip():
        problems.append(
            FieldProblem(
                "full_name",
                "required",
                "Cần họ và tên người tiêm",
                "the person's full name is required",
            )
        )
    if not product:
        problems.append(
            FieldProblem("product_code", "required", "Chọn loại vắc xin", "choose the vaccine")
        )
    try:
        client_uuid = uuid.UUID(form.get("client_uuid", ""))
    except ValueError:
        client_uuid = uuid.uuid4()
    if problems:
        raise ServiceError(422, "Invalid / Không hợp lệ", problems)
    assert actor.site_id is not None and dose_date is not None
    ward_code = form.get("ward_code", "").strip()
    return DoseSubmission(
        client_uuid=client_uuid,
        full_name=form["full_name"].strip(),
        product_code=product,
        lot_number=form.get("lot_number", "").strip(),
        dose_number=int(number_text),
        dose_date=dose_date,
        site_id=actor.site_id,
        national_id=form.get("national_id", "").strip() or None,
        dob=dob,
        sex=form.get("sex") or None,
        person_id=form.get("person_id") or None,
        session_id=chosen.id if chosen is not None else None,
        ward_code=ward_code if ward_code.isdigit() and len(ward_code) == 5 else None,
        address=form.get("address", "").strip() or None,
    )
