"""One worklist item's page and its decisions (accept / reject / edit), for the commune
worklist (:mod:`tiemchung.web.routes.worklist` includes this router after its fixed paths).

The page puts the record next to its register candidate(s), says why the item needs a person
in words, and — when nobody in the register is shown — says why, and offers to correct the
record, search the register (and link the dose to the person found) or reject. A citizen's
report shows the value held now next to the one proposed, with buttons that say whether the
correction is applied. After a decision the browser goes to the ward's next open item, told
what the decision did to the dose.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.core import Platform
from tiemchung.registry.doses.rules import DOSE_CHECK
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.review import decisions as wd
from tiemchung.registry.review import navigation as nav
from tiemchung.registry.review.explain import FIELD_LABELS
from tiemchung.registry.scope import Actor, Role
from tiemchung.serving.types import RowId
from tiemchung.web import pages
from tiemchung.web.guard import Csrf, WebActor, is_htmx, platform_of, require_role
from tiemchung.web.routes.worklist_common import (
    DOSE_OUTCOMES,
    EDITABLE,
    ROLES,
    TICKET_OUTCOMES,
    _flash,
    _names,
    _problems,
)

router = APIRouter(include_in_schema=False)
#: The edit form's choices besides a person: check the corrected record again, or no link.
RECHECK, NO_LINK = "recheck", "none"


# -- one item ---------------------------------------------------------------------------------
def _item_context(
    platform: Platform, actor: Actor, item_id: int, find: dict[str, str] | None
) -> dict[str, Any]:
    with platform.sessions() as session:
        return nav.item_page(session, actor, item_id, find)


@router.get("/worklist/{item_id}")
async def item_page(
    request: Request,
    actor: WebActor,
    item_id: RowId,
    done: RowId | None = None,
    outcome: str | None = None,
    dose: str | None = None,
    person: str | None = None,
    done_kind: str | None = None,
    ticket: str | None = None,
    find: str | None = None,
    national_id: str | None = None,
    full_name: str | None = None,
    dob: str | None = None,
) -> Response:
    """One item: the record and its register candidate(s) side by side, and the decision;
    with ``find``, the register persons matching a search typed on the page."""
    require_role(actor, *ROLES)
    platform = platform_of(request)
    lang = pages.lang_of(request)
    typed = {"national_id": national_id, "full_name": full_name, "dob": dob}
    searched = {k: v.strip()[:100] for k, v in typed.items() if v and v.strip()}
    base = _names(platform) | {"values": {}, "problems": {}, "error": None, "searched": searched}
    try:
        ctx = await run_in_threadpool(
            _item_context, platform, actor, item_id, searched if find else None
        )
    except ServiceError as exc:  # another ward's item, or none: 404 as in the API
        return pages.render(
            request,
            "worklist/missing.html",
            {"problems": _problems(exc, pages.lang_of(request))},
            actor=actor,
            status=exc.status,
        )
    await platform.audit_read(actor, "review_item.read", "review_item", [str(item_id)])
    if ctx["found"]:
        await platform.audit_read(
            actor, "person.read", "person", [p["person_id"] for p in ctx["found"]]
        )
    if ctx["find_error"] is not None:
        ctx["find_error"] = _problems(ctx["find_error"], lang)
    flash = _flash(done, outcome, dose, person, kind=done_kind, ticket=ticket)
    return pages.render(request, "worklist/item.html", base | ctx | {"flash": flash}, actor=actor)


async def _decide(request: Request, actor: Actor, item_id: int, job: Any) -> Response:
    """Run a decision on the writer; on success go to the ward's next open item, on a refusal
    answer the message (a 409: someone decided first) in the item's decision area."""
    platform = platform_of(request)
    lang = pages.lang_of(request)
    try:
        result = await platform.write(job)
    except ServiceError as exc:

        def around() -> tuple[dict[str, Any] | None, int | None]:
            with platform.sessions() as session:
                return nav.after_refusal(session, actor, item_id)

        item, nxt = await run_in_threadpool(around)
        problems = _problems(exc, lang)
        return pages.render(
            request,
            "worklist/_refused.html",
            {
                "status": exc.status,
                "problems": problems,
                "by_field": {p.field: p.text for p in problems},
                "item": item,
                "next_id": nxt,
                "fragment": is_htmx(request),
                "field_labels": FIELD_LABELS,
            },
            actor=actor,
            status=exc.status,
        )

    def following() -> tuple[int | None, str, str]:
        with platform.sessions() as session:
            return nav.after_decision(session, actor, item_id)

    nxt, ward, kind = await run_in_threadpool(following)
    said: dict[str, Any] = {"done": item_id, "outcome": result["status"]}
    if kind == DOSE_CHECK:  # its buttons say "done" / "nothing to do": so does the next page
        said["done_kind"] = kind
    ticket = result.get("ticket")
    if isinstance(ticket, dict) and ticket.get("outcome") in TICKET_OUTCOMES:
        # a citizen's report: what became of the report (corrected here, or forwarded to the
        # register authority), not of the dose the item happens to hang on
        said["ticket"] = ticket["outcome"]
    else:
        if result.get("dose_status") in DOSE_OUTCOMES:
            said["dose"] = result["dose_status"]
        if result.get("person_id") and result.get("dose_status") == "verified":
            said["person"] = result["person_id"]
    if nxt is not None:
        target = f"/worklist/{nxt}?{urlencode(said)}"
    else:
        keep = {"ward": ward} if actor.role is not Role.COMMUNE else {}
        target = f"/worklist?{urlencode(keep | said)}"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _opt(value: str) -> str | None:
    return value.strip() or None


@router.post("/worklist/{item_id}/accept", dependencies=[Csrf])
async def accept(
    request: Request,
    actor: WebActor,
    item_id: RowId,
    person_id: str = Form("", max_length=40),
    reason: str = Form("", max_length=1000),
) -> Response:
    """This is the person (the best candidate, or the one chosen): link, register values win."""
    require_role(actor, *ROLES)
    pid, why = _opt(person_id), _opt(reason)
    return await _decide(
        request, actor, item_id, lambda s: wd.accept(s, actor, item_id, person_id=pid, reason=why)
    )


@router.post("/worklist/{item_id}/reject", dependencies=[Csrf])
async def reject(
    request: Request,
    actor: WebActor,
    item_id: RowId,
    person_id: str = Form("", max_length=40),
    reason: str = Form("", max_length=1000),
) -> Response:
    """Not this person: another candidate (``person_id``), or not in the register (empty)."""
    require_role(actor, *ROLES)
    pid, why = _opt(person_id), _opt(reason)
    return await _decide(
        request, actor, item_id, lambda s: wd.reject(s, actor, item_id, reason=why, person_id=pid)
    )


@router.post("/worklist/{item_id}/edit", dependencies=[Csrf])
async def edit(request: Request, actor: WebActor, item_id: RowId) -> Response:
    """Correct the record's fields by hand, with a reason. Only the fields whose value was
    changed from the record's (as the form showed it) are sent as corrections."""
    require_role(actor, *ROLES)
    form = await request.form()
    fields: dict[str, str | None] = {}
    for f in EDITABLE:
        typed = str(form.get(f"field_{f}") or "")[:200]
        shown = str(form.get(f"shown_{f}") or "")[:200]
        if typed.strip() != shown.strip():
            fields[f] = typed
    why = _opt(str(form.get("reason") or "")[:1000])
    # what becomes of the dose: linked to a person (a candidate, or one found in the register),
    # checked again against the register once corrected ("recheck"), or left unlinked
    link = str(form.get("link") or "")[:40]
    pid = _opt(str(form.get("person_id") or "")[:40]) or (
        link if link not in ("", RECHECK, NO_LINK) else None
    )
    again = pid is None and link == RECHECK
    return await _decide(
        request,
        actor,
        item_id,
        lambda s: wd.edit(
            s, actor, item_id, fields=fields, reason=why, person_id=pid, recheck=again
        ),
    )
