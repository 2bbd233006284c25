"""The vaccination desk (site role): today's sessions, check-in by scan or typed ID, the
register match, recording the dose and printing the certificate — all from the keyboard.

Each step answers an htmx fragment swapped into the page below the check-in field, so the
field and what was typed in it stay as they are whatever goes wrong.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tiemchung.certificates.service import may_certify
from tiemchung.core import Platform
from tiemchung.registry.catalog.reference import desk_offer
from tiemchung.registry.doses.rules import dose_number_ok, interval_before
from tiemchung.registry.doses.verify import VERIFIED, Verification, VerifyRecord, verify
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.invitations.attendance import desk_invitation
from tiemchung.registry.scope import Actor, Role
from tiemchung.web import desk, pages
from tiemchung.web.guard import Csrf, WebActor, platform_of, require_role
from tiemchung.web.printing import certificate_pdf

router = APIRouter(include_in_schema=False)


def _context(platform: Platform, actor: Actor, today: date) -> dict[str, Any]:
    """Sessions, lots and products the desk offers today."""
    with platform.sessions() as session:
        offer = desk_offer(session, actor, today)
    site = platform.catalog.site(actor.site_id or "")
    return {
        "sessions": offer.sessions,
        "products": offer.products,
        "product_names": dict(offer.products),
        "lots": offer.lots,
        "today": today,
        "site": site,
        "ward_name": lambda code: _name(platform.catalog.ward(code or ""), code),
        "site_name": lambda sid: _name(platform.catalog.site(sid or ""), sid),
        "mismatch_by_field": lambda v: {m.field: m for m in v.mismatches},
    }


def _interval_of(platform: Platform) -> Any:
    """Minimum days after a dose of a product before dose N (the catalog's, cached; the
    booster interval past the primary series, as the dose path counts it)."""

    def interval_of(code: str, dose_number: int) -> int:
        return interval_before(platform.catalog.product(code), dose_number)

    return interval_of


def _name(found: Any, code: str | None) -> str:
    return str(found.name) if found is not None else (code or "")


@router.get("/desk")
async def desk_page(request: Request, actor: WebActor) -> Response:
    require_role(actor, Role.SITE)
    platform = platform_of(request)
    ctx = await run_in_threadpool(_context, platform, actor, platform.today())
    return pages.render(request, "desk/page.html", ctx, actor=actor)


@router.post("/desk/check", dependencies=[Csrf])
async def check_in(
    request: Request, actor: WebActor, scan: str = Form("", max_length=2000)
) -> Response:
    """Look the scanned or typed person up in the register."""
    require_role(actor, Role.SITE)
    platform = platform_of(request)
    lang = pages.lang_of(request)
    typed = scan.strip("\r\n\t ")
    if not typed:
        return _message(request, actor, "empty", typed)
    record = desk.record_of(typed)
    if record.qr is None:
        bad = desk.check_typed_id(typed)
        if bad is not None:
            return _message(
                request, actor, "bad_id", typed, desk.say(lang, bad.message_vi, bad.message_en)
            )
    today = platform.today()

    def run() -> tuple[Verification, dict[str, Any]]:
        with platform.sessions() as session:
            v = verify(session, actor, record, audit=False, remote=platform.register_remote)
            # a reprint only where the certificate rule allows it (a dose given at this site)
            reprint = bool(
                v.status == VERIFIED
                and v.person
                and v.doses
                and may_certify(session, actor, v.person["person_id"])
            )
            # invited to today's session here, and whether they confirmed (issue 18)
            invited = (
                desk_invitation(session, v.person["person_id"], actor.site_id, today)
                if v.person and actor.site_id
                else None
            )
        return v, _context(platform, actor, today) | {
            "may_reprint": reprint,
            "invited": invited.as_dict() if invited else None,
        }

    try:
        v, ctx = await run_in_threadpool(run)
    except ServiceError as exc:
        kind = "garbled" if record.qr is not None else "bad_id"
        text = "; ".join(p.text for p in desk.problems_of(exc, lang))
        return _message(request, actor, kind, typed, text)
    await platform.audit_read(actor, "person.read", "person", v.read_person_ids)
    fallback = v.next_dose.product_code if v.next_dose else None
    values = desk.prefill(v, ctx["sessions"], ctx["lots"], today, fallback)
    number = int(values["dose_number"])
    warnings = desk.predicted_warnings(v, number, today, _interval_of(platform))
    form = desk.DoseForm(values, warnings=desk.warning_texts(warnings, lang))
    return pages.render(request, "desk/_match.html", ctx | {"v": v, "form": form}, actor=actor)


def _message(
    request: Request, actor: Actor, kind: str, typed: str, detail: str | None = None
) -> Response:
    return pages.render(
        request,
        "desk/_message.html",
        {"kind": kind, "typed": typed, "detail": detail},
        actor=actor,
        status=422,
    )


async def _form_values(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(form.get(k) or "")[: 500 if k == "address" else 200] for k in desk.FORM_FIELDS}


@router.post("/desk/dose", dependencies=[Csrf])
async def record_dose(request: Request, actor: WebActor) -> Response:
    """Record the dose through the API's own path; on a refusal the form comes back with what
    was typed and a message at each field."""
    require_role(actor, Role.SITE)
    platform = platform_of(request)
    lang = pages.lang_of(request)
    values = await _form_values(request)
    today = platform.today()
    ctx = await run_in_threadpool(_context, platform, actor, today)
    try:
        sub = desk.submission_from(values, actor, ctx["sessions"], today)
    except ServiceError as exc:
        return _form_again(request, actor, ctx, values, exc, lang)
    result = await platform.record_dose(actor, sub)
    if result.error is not None:
        return _form_again(request, actor, ctx, values, result.error, lang)
    assert result.dose is not None
    v = await run_in_threadpool(_history_after, platform, actor, sub)
    if v is not None:
        await platform.audit_read(actor, "person.read", "person", v.read_person_ids)
    return pages.render(
        request,
        "desk/_recorded.html",
        ctx
        | {
            "dose": result.dose,
            "person_id": result.person_id,
            "replayed": not result.created,
            "lot_number": sub.lot_number,
            "warnings": desk.warning_texts(result.warnings, lang),
            "v": v,
        },
        actor=actor,
        status=result.status,
    )


@router.post("/desk/predict", dependencies=[Csrf])
async def predict(request: Request, actor: WebActor) -> Response:
    """The warnings for the dose as the form now stands (the nurse changed its number or
    date): the check-in read again from the typed identity, the dose path's rule on it."""
    require_role(actor, Role.SITE)
    platform = platform_of(request)
    lang = pages.lang_of(request)
    values = await _form_values(request)
    today = platform.today()
    warnings: list[str] = []
    number = values["dose_number"].strip()
    try:
        day = desk.parse_day(values["dose_date"], "dose_date", today)
    except ServiceError:
        day = None  # the form says what is wrong with the date when it is sent
    if number.isdigit() and dose_number_ok(int(number)) and day is not None:
        record = VerifyRecord(
            national_id=values["national_id"].strip() or None,
            full_name=values["full_name"].strip() or None,
            dob=values["dob"].strip() or None,
            sex=values["sex"] or None,
        )
        v = await run_in_threadpool(_verify_quietly, platform, actor, record)
        if v is not None:
            await platform.audit_read(actor, "person.read", "person", v.read_person_ids)
            found = desk.predicted_warnings(v, int(number), day, _interval_of(platform))
            warnings = desk.warning_texts(found, lang)
    return pages.render(request, "desk/_warnings.html", {"warnings": warnings}, actor=actor)


def _verify_quietly(platform: Platform, actor: Actor, record: VerifyRecord) -> Verification | None:
    """``verify`` of a typed record, None when it identifies no one it could look up (no ID,
    no name and date of birth, a malformed field): the form reports those when sent."""
    try:
        with platform.sessions() as session:
            return verify(session, actor, record, audit=False)
    except ServiceError:
        return None


def _history_after(platform: Platform, actor: Actor, sub: Any) -> Verification | None:
    """The check-in read again after the dose is stored, so the history and the next dose
    shown above the answer include it (they were the check-in's, one dose behind). None when
    the typed fields identify no one the check-in could look up (no ID, no name and DOB)."""
    record = VerifyRecord(
        national_id=sub.national_id,
        full_name=sub.full_name,
        dob=sub.dob,
        sex=sub.sex,
        ward_code=sub.ward_code,
    )
    return _verify_quietly(platform, actor, record)


def _form_again(
    request: Request,
    actor: Actor,
    ctx: dict[str, Any],
    values: dict[str, str],
    exc: ServiceError,
    lang: str,
) -> Response:
    form = desk.DoseForm(values, desk.problems_of(exc, lang))
    return pages.render(
        request, "desk/_dose_form.html", ctx | {"form": form}, actor=actor, status=422
    )


@router.post("/desk/certificate", dependencies=[Csrf])
async def print_certificate(
    request: Request, actor: WebActor, person_id: str = Form(..., max_length=40)
) -> Response:
    """The person's certificate as a PDF, opened in a new tab."""
    require_role(actor, Role.SITE)
    return await certificate_pdf(request, actor, person_id)
