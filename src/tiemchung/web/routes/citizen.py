"""A citizen's record: signed in (``/me``) or by the public look-up (``/lookup``, no account).

Both show the same templates (``citizen/_record.html``): the register data, the doses
(product, date, site), the certificate PDF (through the certificates service: verified doses
only, and why not when there is none), "report wrong information" (a ticket through
``registry/review/tickets.py``, channel ``web``) and the tickets' status. Both read through the same
services as the API with a citizen :class:`~tiemchung.registry.scope.Actor` whose
``person_pk`` is the one person — the signed-in user's, or the look-up capability's (see
:mod:`tiemchung.auth.lookup`) — so neither can read anyone else; reads are audited as the API
audits them (``person.read``, ``ticket.read``, ``certificate.read``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.auth import lookup as capability
from tiemchung.auth.throttle import Failure, SignInThrottle, wait_words
from tiemchung.auth.throttlestore import shared_store
from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.fields import clean_dob
from tiemchung.registry.models import Person
from tiemchung.registry.people.own import own_person_id
from tiemchung.registry.review import tickets as tk
from tiemchung.registry.review.citizen import CitizenRecord, citizen_record
from tiemchung.registry.review.explain import FIELD_LABELS
from tiemchung.registry.scope import Actor, Role
from tiemchung.web import desk, lookup, pages
from tiemchung.web.guard import Csrf, WebActor, is_htmx, platform_of, require_role
from tiemchung.web.printing import certificate_pdf

router = APIRouter(include_in_schema=False)


# -- the record, shared by /me and /lookup ----------------------------------------------------
def _record(platform: Platform, actor: Actor) -> CitizenRecord | None:
    """The actor's own person, doses and tickets (None when the person left the register)."""
    today = platform.today()
    with platform.sessions() as session:
        return citizen_record(session, actor, today)


def _labels() -> dict[str, Any]:
    return {"field_labels": FIELD_LABELS, "report_fields": tk.FIELDS}


async def _show(
    request: Request, actor: Actor, *, base: str, page_actor: Actor | None, extra: dict[str, Any]
) -> Response:
    platform = platform_of(request)
    data = await run_in_threadpool(_record, platform, actor)
    if data is not None:
        await platform.audit_read(actor, "person.read", "person", [data.person.person_id])
        ids = [str(t["id"]) for t in data.tickets]
        await platform.audit_read(actor, "ticket.read", "ticket", ids)
    ctx: dict[str, Any] = {"data": data, "base": base, "values": {}, "problems": {}, "opened": None}
    return pages.render(request, "citizen/me.html", ctx | _labels() | extra, actor=page_actor)


async def _report(request: Request, actor: Actor, base: str, page_actor: Actor | None) -> Response:
    """Open a ticket from the form; answer the report area again (htmx) with the new ticket,
    or the form with what was typed and the message at its field."""
    platform = platform_of(request)
    lang = pages.lang_of(request)
    form = await request.form()
    values = {
        k: str(form.get(k) or "")[:2000] for k in ("about", "field", "proposed_value", "message")
    }
    about = values["about"].strip()
    problems: dict[str, str] = {}
    opened = None
    status = 422
    if about and about != "register" and not about.isdigit():
        problems["about"] = desk.say(lang, "Chọn hồ sơ cần sửa", "choose what is wrong")
    else:
        req = tk.TicketRequest(
            field=values["field"].strip(),
            proposed_value=values["proposed_value"],
            message=values["message"],
            dose_id=int(about) if about.isdigit() else None,
            channel="web",
        )
        today = platform.today()
        try:
            opened = await platform.write(lambda s: tk.open_ticket(s, actor, req, today=today))
        except ServiceError as exc:
            for p in desk.problems_of(exc, lang):
                problems[p.field] = (problems.get(p.field, "") + " " + p.text).strip()
            status = exc.status
    data = await run_in_threadpool(_record, platform, actor)
    ctx = {
        "data": data,
        "base": base,
        "values": {} if opened else values,
        "problems": problems,
        "opened": opened,
        "fragment": is_htmx(request),
    } | _labels()
    template = "citizen/_report.html" if is_htmx(request) else "citizen/me.html"
    return pages.render(request, template, ctx, actor=page_actor, status=201 if opened else status)


# -- signed in: /me ---------------------------------------------------------------------------
@router.get("/me")
async def my_record(request: Request, actor: WebActor) -> Response:
    require_role(actor, Role.CITIZEN)
    return await _show(request, actor, base="/me", page_actor=actor, extra={})


@router.post("/me/certificate", dependencies=[Csrf])
async def my_certificate(request: Request, actor: WebActor) -> Response:
    """The citizen's own certificate PDF (issued now if none attests the latest dose)."""
    require_role(actor, Role.CITIZEN)
    return await certificate_pdf(request, actor, await _person_id(request, actor))


@router.post("/me/report", dependencies=[Csrf])
async def my_report(request: Request, actor: WebActor) -> Response:
    require_role(actor, Role.CITIZEN)
    return await _report(request, actor, "/me", actor)


async def _person_id(request: Request, actor: Actor) -> str:
    platform = platform_of(request)

    def pid() -> str:
        with platform.sessions() as session:
            return own_person_id(session, actor)

    return await run_in_threadpool(pid)


# -- no account: /lookup ----------------------------------------------------------------------
def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _throttle(request: Request) -> SignInThrottle:
    state = request.app.state
    found = getattr(state, "lookup_throttle", None)
    if found is None:  # one per process, made on first use (no await in between: no race)
        found = state.lookup_throttle = lookup.new_throttle(shared_store(state))
    return found  # type: ignore[no-any-return]


def _capability_actor(request: Request) -> Actor | None:
    cap = capability.read(platform_of(request).token_secret, request.cookies.get(lookup.COOKIE))
    return cap.actor(_client(request)) if cap is not None else None


def _form(
    request: Request,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    wait_minutes: int = 0,
    headers: dict[str, str] | None = None,
    failure: Failure | None = None,
) -> Response:
    return pages.render(
        request,
        "citizen/lookup.html",
        {
            "error": error,
            "values": values or {},
            "wait_minutes": wait_minutes,
            # after a miss: attempts left (from the 3rd) or the wait that has started
            "remaining": failure.remaining if failure and failure.warn else None,
            "wait": wait_words(failure.wait) if failure and failure.wait else None,
            "has_capability": _capability_actor(request) is not None,
            "expired": request.query_params.get("expired") == "1",
        },
        status=status,
        headers=headers,
    )


@router.get("/lookup")
async def lookup_page(request: Request) -> Response:
    return _form(request)


@router.post("/lookup", dependencies=[Csrf])
async def lookup_person(
    request: Request,
    national_id: str = Form("", max_length=40),
    dob: str = Form("", max_length=40),
) -> Response:
    """ID number + date of birth → the capability cookie for that one person, or "not found"
    (the same page whether the ID exists or the date is wrong)."""
    platform = platform_of(request)
    values = {"national_id": national_id.strip(), "dob": dob.strip()}
    nid = lookup.clean_typed_id(national_id)
    if len(nid) not in (9, 12):
        return _form(request, error="bad_id", values=values, status=422)
    try:
        dob_iso = clean_dob(dob.strip(), "dob")
    except ServiceError:
        return _form(request, error="bad_dob", values=values, status=422)
    if not dob_iso or len(dob_iso) != 10:
        return _form(request, error="bad_dob", values=values, status=422)
    throttle, key, client = _throttle(request), lookup.id_key(nid), _client(request)
    wait = await run_in_threadpool(throttle.wait_seconds, key, client)
    if wait:
        return _form(
            request,
            error="throttled",
            values=values,
            status=429,
            wait_minutes=-(-wait // 60),
            headers={"Retry-After": str(wait)},
        )

    def find() -> Person | None:
        with platform.sessions() as session:
            person = capability.find_person(session, nid, dob_iso)
            if person is not None:
                session.expunge(person)
            return person

    person = await run_in_threadpool(find)
    if person is None:
        failure = await run_in_threadpool(throttle.failed, key, client)
        return _form(request, error="not_found", values=values, status=404, failure=failure)
    await run_in_threadpool(throttle.succeeded, key, client)
    value, ttl = capability.issue(platform.token_secret, person)
    response = RedirectResponse("/lookup/record", status_code=303)
    response.set_cookie(
        lookup.COOKIE,
        value,
        max_age=ttl,
        path="/lookup",
        httponly=True,
        samesite="strict",
        secure=pages._secure(request),
    )
    return response


def _need_capability(request: Request) -> Actor | Response:
    actor = _capability_actor(request)
    if actor is None:
        if is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": "/lookup?expired=1"})
        return RedirectResponse("/lookup?expired=1", status_code=303)
    return actor


@router.get("/lookup/record")
async def lookup_record(request: Request) -> Response:
    actor = _need_capability(request)
    if isinstance(actor, Response):
        return actor
    return await _show(request, actor, base="/lookup", page_actor=None, extra={"public": True})


@router.post("/lookup/certificate", dependencies=[Csrf])
async def lookup_certificate(request: Request) -> Response:
    actor = _need_capability(request)
    if isinstance(actor, Response):
        return actor
    return await certificate_pdf(request, actor, await _person_id(request, actor))


@router.post("/lookup/report", dependencies=[Csrf])
async def lookup_report(request: Request) -> Response:
    actor = _need_capability(request)
    if isinstance(actor, Response):
        return actor
    return await _report(request, actor, "/lookup", None)


@router.post("/lookup/end", dependencies=[Csrf])
async def lookup_end(request: Request) -> Response:
    """Forget the look-up on this device (a shared computer at the commune)."""
    response = RedirectResponse("/lookup", status_code=303)
    response.delete_cookie(lookup.COOKIE, path="/lookup", httponly=True, samesite="strict")
    return response
