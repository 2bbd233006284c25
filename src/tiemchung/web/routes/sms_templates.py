"""The SMS templates page (``/messages/templates``): a form per template whose budget (the
worst-case text, alphabet, characters, segments) is shown and updated as the user types.

Thin over ``registry/messages/templates.py`` (``/api/v1/message-templates`` and ``tiemchung
messages templates`` call the same functions). The live figures come from
``static/smsbudget.js``, which counts as ``identity/sms.py`` does; without the script the
Preview button posts the form and the server's figures come back (the same numbers: a test
checks both). The centre saves and resets; a province reads and previews.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tiemchung.auth.invitelinks import link_maker
from tiemchung.identity.sms import GSM7_BASIC, GSM7_EXTENDED, unaccent
from tiemchung.registry.errors import FieldProblem, ServiceError
from tiemchung.registry.messages import templates as svc
from tiemchung.registry.scope import Actor, Role
from tiemchung.web import pages
from tiemchung.web.guard import Csrf, WebActor, platform_of, require_role

router = APIRouter(include_in_schema=False)
Key = Annotated[str, Path(max_length=20)]


def _samples(link: str) -> dict[str, dict[str, str]]:
    """The worst-case values as the script substitutes them: accented and unaccented (the
    same preparation as the server's, so both count alike)."""
    values = {**svc.SAMPLES, "link": link}
    return {
        "kept": {k: svc.render(svc.Template("x", v, True), {})[0] for k, v in values.items()},
        "plain": {k: svc.render(svc.Template("x", v, False), {})[0] for k, v in values.items()},
    }


@cache
def _alphabet_json() -> str:
    """What the script needs to count as ``identity/sms.py`` does: the GSM-7 alphabet, its
    extension, and every character ``unaccent`` changes (from the same function, so the
    page and the sender fold alike)."""
    fold = {}
    for cp in range(0xA0, 0x2100):
        ch = chr(cp)
        folded = unaccent(ch)
        if folded != ch:
            fold[ch] = folded
    alphabet = {"basic": GSM7_BASIC.replace("\x1b", ""), "ext": "".join(GSM7_EXTENDED)}
    return json.dumps(alphabet | {"fold": fold}, ensure_ascii=False)


async def _page(
    request: Request,
    actor: Actor,
    *,
    failed: str = "",
    typed: dict[str, str] | None = None,
    problems: list[FieldProblem] | None = None,
    preview: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    platform = platform_of(request)
    link = link_maker(platform.token_secret, platform.settings.public_url)(svc.SAMPLE_INVITATION_ID)

    def read() -> list[dict[str, Any]]:
        with platform.sessions() as s:
            return [svc.as_dict(t, sample_link=link) for t in svc.list_templates(s, actor)]

    rows = await run_in_threadpool(read)
    ctx = {
        "templates": rows,
        "edits": actor.role is Role.CENTRAL,
        "failed": failed,
        "typed": typed or {},
        "problems": problems or [],
        "preview": preview,
        "done": request.query_params.get("done", ""),
        "who": request.query_params.get("who", "")[:20],
        "samples_json": json.dumps(_samples(link), ensure_ascii=False),
        "gsm_json": _alphabet_json(),
    }
    return pages.render(request, "sms/templates.html", ctx, actor=actor, status=status)


@router.get("/messages/templates")
async def templates_page(request: Request, actor: WebActor) -> Response:
    require_role(actor, Role.CENTRAL, Role.PROVINCE)
    return await _page(request, actor)


@router.post("/messages/templates/{key}", dependencies=[Csrf])
async def save_or_preview(
    request: Request,
    actor: WebActor,
    key: Key,
    body: str = Form("", max_length=svc.MAX_BODY + 200),
    keep_accents: str = Form("", max_length=5),
    action: str = Form("preview", max_length=10),
) -> Response:
    """``action=preview`` prices the typed body (nothing stored: the page without script);
    ``save`` stores it (the centre)."""
    require_role(actor, Role.CENTRAL, Role.PROVINCE)
    platform = platform_of(request)
    keep = bool(keep_accents)
    typed = {"body": body, "keep_accents": keep_accents}
    fid = f"tpl-{key}"
    try:
        if action == "save":
            await platform.write(
                lambda s: svc.update_template(s, actor, key, body, keep_accents=keep).key
            )
            return RedirectResponse(
                "/messages/templates?" + urlencode({"done": "saved", "who": key}), 303
            )
        link = link_maker(platform.token_secret, platform.settings.public_url)(
            svc.SAMPLE_INVITATION_ID
        )
        svc.spec(key)
        budget = svc.budget_dict(svc.budget_of(key, body, keep_accents=keep, sample_link=link))
    except ServiceError as exc:
        return await _page(
            request, actor, failed=fid, typed=typed, problems=exc.problems, status=exc.status
        )
    return await _page(request, actor, failed=fid, typed=typed, preview=budget)


@router.post("/messages/templates/{key}/reset", dependencies=[Csrf])
async def reset(request: Request, actor: WebActor, key: Key) -> Response:
    """Back to the built-in text (the centre)."""
    require_role(actor, Role.CENTRAL, Role.PROVINCE)
    platform = platform_of(request)
    try:
        await platform.write(lambda s: svc.reset_template(s, actor, key).key)
    except ServiceError as exc:
        return await _page(
            request, actor, failed=f"tpl-{key}", problems=exc.problems, status=exc.status
        )
    return RedirectResponse("/messages/templates?" + urlencode({"done": "reset", "who": key}), 303)
