"""The SMS templates: thin over ``registry/messages/templates.py`` (``tiemchung messages
templates`` and the ``/messages/templates`` page call the same functions). The centre edits,
the centre and the provinces read and preview."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import CurrentActor, PlatformDep
from tiemchung.api.problems import ERROR_RESPONSES
from tiemchung.api.templates_schemas import (
    TemplateBody,
    TemplateBudgetPublic,
    TemplateList,
    TemplatePublic,
)
from tiemchung.auth.invitelinks import link_maker
from tiemchung.core import Platform
from tiemchung.registry.messages import templates as svc

router = APIRouter(tags=["messages"])


def _sample_link(platform: Platform) -> str:
    links = link_maker(platform.token_secret, platform.settings.public_url)
    return links(svc.SAMPLE_INVITATION_ID)


@router.get("/message-templates", response_model=TemplateList, responses=ERROR_RESPONSES)
def list_templates(actor: CurrentActor, platform: PlatformDep) -> Any:
    """Every template (the stored one, or the built-in text) with its budget."""
    link = _sample_link(platform)
    with platform.sessions() as s:
        rows = svc.list_templates(s, actor)
    return {"items": [svc.as_dict(t, sample_link=link) for t in rows]}


@router.get("/message-templates/{key}", response_model=TemplatePublic, responses=ERROR_RESPONSES)
def get_template(key: str, actor: CurrentActor, platform: PlatformDep) -> Any:
    """One template (404 for an unknown key, naming the known ones)."""
    with platform.sessions() as s:
        t = svc.get_template(s, actor, key)
    return svc.as_dict(t, sample_link=_sample_link(platform))


@router.put("/message-templates/{key}", response_model=TemplatePublic, responses=ERROR_RESPONSES)
async def put_template(
    key: str, body: TemplateBody, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """Store a new body (central only; audited). A placeholder the key does not know, or a
    missing required one (``{link}`` in an invitation, ``{code}`` in a one-time code), is a
    422 naming it."""
    t = await run_in_threadpool(
        platform.in_transaction,
        lambda s: svc.update_template(s, actor, key, body.body, keep_accents=body.keep_accents),
    )
    return svc.as_dict(t, sample_link=_sample_link(platform))


@router.post(
    "/message-templates/{key}:reset", response_model=TemplatePublic, responses=ERROR_RESPONSES
)
async def reset_template(key: str, actor: CurrentActor, platform: PlatformDep) -> Any:
    """Back to the built-in text (central only; audited)."""
    t = await run_in_threadpool(
        platform.in_transaction, lambda s: svc.reset_template(s, actor, key)
    )
    return svc.as_dict(t, sample_link=_sample_link(platform))


@router.post(
    "/message-templates/{key}:preview",
    response_model=TemplateBudgetPublic,
    responses=ERROR_RESPONSES,
)
def preview_template(
    key: str, body: TemplateBody, actor: CurrentActor, platform: PlatformDep
) -> Any:
    """The budget of an unsaved body (nothing stored): its worst-case text, alphabet,
    characters and segments, and the same 422 as ``PUT`` for a wrong placeholder."""
    with platform.sessions() as s:
        svc.get_template(s, actor, key)  # who may read may preview
    link = _sample_link(platform)
    b = svc.budget_of(key, body.body, keep_accents=body.keep_accents, sample_link=link)
    return svc.budget_dict(b)
