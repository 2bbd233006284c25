"""Register persons: look-up by ID, old ID, or name + date of birth (+ ward); every read audited.

What a caller sees of a person is decided in ``registry/scope.py`` and
``registry/people/persons.py``
(``person_view``): the whole record inside the caller's area, the masked desk view for a site.
The desk view has no ``phone``/``address`` keys, hence ``response_model_exclude_unset``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import CurrentActor, PlatformDep
from tiemchung.api.problems import ERROR_RESPONSES as _ERRORS
from tiemchung.api.schemas import Page, PersonDetail, PersonDose, PersonPublic
from tiemchung.registry.errors import not_found
from tiemchung.registry.people.detail import person_detail
from tiemchung.registry.people.persons import PersonQuery, find_persons, person_view
from tiemchung.serving.types import Offset

router = APIRouter(tags=["persons"])


@router.get(
    "/persons",
    response_model=Page[PersonPublic],
    response_model_exclude_unset=True,
    responses=_ERRORS,
)
async def list_persons(
    actor: CurrentActor,
    platform: PlatformDep,
    national_id: str | None = None,
    old_id: str | None = None,
    full_name: str | None = None,
    dob: str | None = None,
    ward_code: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[PersonPublic]:
    """Persons of the caller's area matching the filters. A site may only look a person up
    by ID number or by full name + date of birth (the person checking in at its desk), never
    list, and sees the masked desk view."""
    query = PersonQuery(national_id, old_id, full_name, dob, ward_code)

    def read() -> tuple[list[PersonPublic], int]:
        with platform.sessions() as session:
            rows, total = find_persons(session, actor, query, limit=limit, offset=offset)
            return [PersonPublic(**person_view(actor, p)) for p in rows], total

    items, total = await run_in_threadpool(read)
    ids = [p.person_id for p in items]
    await platform.audit_read(actor, "person.read", "person", ids)
    return Page[PersonPublic](items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/persons/{person_id}",
    response_model=PersonDetail,
    response_model_exclude_unset=True,
    responses=_ERRORS,
)
async def read_person(person_id: str, actor: CurrentActor, platform: PlatformDep) -> PersonDetail:
    """One person with their dose history: the whole record inside the caller's area; for a
    site, the masked desk view of a person with a dose recorded at its site. 404 otherwise,
    whether or not the person exists."""

    def read() -> PersonDetail | None:
        with platform.sessions() as session:
            found = person_detail(session, actor, person_id)
            if found is None:
                return None
            view, doses = found
            return PersonDetail(**view, doses=[PersonDose.model_validate(d) for d in doses])

    detail = await run_in_threadpool(read)
    if detail is None:
        raise not_found("person_id", "người này", "person")
    await platform.audit_read(actor, "person.read", "person", [person_id])
    return detail
