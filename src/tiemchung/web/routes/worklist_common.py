"""What the commune worklist's pages share: the list's filters and context, the names the
templates look up, and the message after a decision (the neighbours of an item and the wards
to choose from are read by :mod:`tiemchung.registry.review.navigation`).

Split from :mod:`tiemchung.web.routes.worklist` (the list and the spreadsheet round trip) and
:mod:`tiemchung.web.routes.worklist_item` (one item and its decisions) so that each stays
readable; neither imports the other's routes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.review import worklists as wl
from tiemchung.registry.review.corrections import CORRECTABLE
from tiemchung.registry.review.explain import COMPARED, FIELD_LABELS
from tiemchung.registry.review.items import DECIDED
from tiemchung.registry.review.navigation import worklist_page
from tiemchung.registry.scope import Actor, Role
from tiemchung.web import desk, pages
from tiemchung.web.guard import platform_of

ROLES = (Role.COMMUNE, Role.PROVINCE, Role.CENTRAL)
PAGE = 50
#: What a decision's flash message may say (the outcome travels in the next page's URL).
OUTCOMES = ("accepted", "rejected", "edited")
#: What became of the decided item's dose (said in the same message).
DOSE_OUTCOMES = ("verified", "unverified")
#: What became of a citizen's report (registry/review/tickets.py: ``outcome_of``).
TICKET_OUTCOMES = ("corrected", "forwarded", "rejected")
#: Fields an edit offers, in the order a reviewer reads them.
EDITABLE = tuple(f for f in COMPARED if f in CORRECTABLE)


# -- helpers ----------------------------------------------------------------------------------
def _filters(
    ward: str | None, status: str | None, kind: str | None, field: str | None, q: str | None
) -> dict[str, str]:
    """The list's filters as typed (empty ones dropped), to carry in links and forms."""
    raw = {"ward": ward, "status": status, "kind": kind, "field": field, "q": q}
    return {k: v.strip()[:100] for k, v in raw.items() if v and v.strip()}


def _query(f: dict[str, str], offset: int = 0) -> wl.WorklistQuery:
    status = f.get("status", wl.OPEN)
    return wl.WorklistQuery(
        ward_code=f.get("ward"),
        status=None if status == "all" else status,
        kind=f.get("kind"),
        field=f.get("field"),
        q=f.get("q"),
        limit=PAGE,
        offset=max(0, offset),
    )


def _names(platform: Platform) -> dict[str, Any]:
    """Lookups every worklist template uses."""

    def ward_name(code: str | None) -> str:
        found = platform.catalog.ward(code or "")
        return f"{found.name} ({code})" if found is not None else (code or "")

    def site_name(site_id: str | None) -> str:
        found = platform.catalog.site(site_id or "")
        return str(found.name) if found is not None else (site_id or "")

    def product_name(code: str | None) -> str:
        found = platform.catalog.product(code or "")
        return str(found.name) if found is not None else (code or "")

    return {
        "ward_name": ward_name,
        "site_name": site_name,
        "product_name": product_name,
        "field_labels": FIELD_LABELS,
        "statuses": wl.STATUSES,
        "kinds": wl.KINDS,
        "compared": COMPARED,
        "editable": EDITABLE,
    }


def _problems(exc: ServiceError, lang: str) -> list[desk.Problem]:
    return desk.problems_of(exc, lang)


# -- the list ---------------------------------------------------------------------------------
def _list_context(
    platform: Platform, actor: Actor, f: dict[str, str], offset: int
) -> dict[str, Any]:
    with platform.sessions() as session:
        page, wards = worklist_page(session, actor, _query(f, offset))
    decided = sum(page.counts.get(s, 0) for s in DECIDED)
    total = sum(page.counts.values())
    return {
        "page": page,
        "filters": f,
        "wards": wards,
        "decided": decided,
        "all_items": total,
        "offset": page.offset,
        "prev_offset": max(0, page.offset - PAGE) if page.offset else None,
        "next_offset": page.offset + PAGE if page.offset + PAGE < page.total else None,
        "query": urlencode(f),
    }


async def _list_response(
    request: Request,
    actor: Actor,
    f: dict[str, str],
    offset: int,
    *,
    template: str,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    platform = platform_of(request)
    base = {"filters": f, "error": None, "bulk": None} | _names(platform) | (extra or {})
    try:
        ctx = await run_in_threadpool(_list_context, platform, actor, f, offset)
    except ServiceError as exc:  # a filter outside the caller's area or not a choice
        return pages.render(
            request,
            template,
            base | {"page": None, "error": _problems(exc, pages.lang_of(request)), "wards": []},
            actor=actor,
            status=exc.status,
        )
    await platform.audit_read(
        actor, "review_item.read", "review_item", [str(x["id"]) for x in ctx["page"].items]
    )
    return pages.render(request, template, base | ctx, actor=actor, status=status)


def _flash(
    done: int | None,
    outcome: str | None,
    dose: str | None,
    person: str | None,
    *,
    kind: str | None = None,
    ticket: str | None = None,
) -> dict[str, Any] | None:
    """The message about the decision just made (it travels in the next page's URL): the
    item's outcome in the words of its kind's buttons, and what became of its dose (verified
    and linked, or still unverified) — or, for a citizen's report, of the report."""
    if not done or outcome not in OUTCOMES:
        return None
    return {
        "id": done,
        "outcome": outcome,
        "kind": kind if kind in wl.KINDS else None,
        "ticket": ticket if ticket in TICKET_OUTCOMES else None,
        "dose": dose if dose in DOSE_OUTCOMES else None,
        "person": (person or "").strip()[:40] or None,
    }
