"""The certificate PDF behind the desk's "print" and the citizen's "download" buttons.

The certificates service hands out the certificate (``certificate_now``; the API's GET applies
the same rule): the current one while its signed content still attests the data, otherwise a
new one (which revokes the outdated ones). Both are allowed, as in the API, only where the
caller's area holds the person or one of the person's doses (the desk: a dose given at its
site; a citizen: itself).

When no certificate can be made, the page says so to whom it is: staff see what is wrong and
the next step (for missing signing keys, the exact command and who runs it); a citizen sees a
plain apology for a fault of the server (a 5xx), never the technical text, and — looking up
without an account — no user name or sign-out button, since there is no session.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tiemchung.certificates.service import NOT_VACCINATED_HERE, certificate_now
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.scope import Actor, Role
from tiemchung.serving.downloads import content_disposition
from tiemchung.web import desk, pages
from tiemchung.web.guard import platform_of


async def certificate_pdf(request: Request, actor: Actor, person_id: str) -> Response:
    platform = platform_of(request)
    keys = platform.keys

    try:
        cert = await platform.write(lambda s: certificate_now(s, actor, person_id, keys=keys))
    except ServiceError as exc:
        return error_page(request, actor, exc)
    await platform.audit_read(actor, "certificate.read", "person", [person_id])
    from tiemchung.certificates.pdf import render_bytes

    pdf = await run_in_threadpool(render_bytes, cert, platform.settings.timezone)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": content_disposition(f"certificate-{person_id}.pdf", inline=True),
            "Cache-Control": "no-store",
        },
    )


def error_page(request: Request, actor: Actor, exc: ServiceError) -> Response:
    """Why no certificate, worded for the reader (see the module's docstring)."""
    citizen = actor.role == Role.CITIZEN
    rules = {p.rule for p in exc.problems}
    lang = pages.lang_of(request)
    problems = desk.problems_of(exc, lang)
    if actor.role == Role.SITE and exc.status == 404:
        # "person not found" would be wrong: the site's rule refused (registry/scope.py)
        problems = [desk.Problem("person_id", desk.say(lang, *NOT_VACCINATED_HERE))]
    return pages.render(
        request,
        "certificate_error.html",
        {
            "problems": problems,
            "apology": citizen and exc.status >= 500,
            "keys_missing": not citizen and "keys_missing" in rules,
            "server_fault": not citizen and exc.status >= 500,
        },
        # the look-up's actor has no user behind it: nothing to name, nothing to sign out of
        actor=actor if actor.user_id is not None else None,
        status=exc.status,
    )
