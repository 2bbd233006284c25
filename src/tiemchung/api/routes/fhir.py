"""The FHIR R4 read and search API at ``/fhir/R4`` (issue 19 point 1): thin routes over
``tiemchung.fhir``, which calls the registry's scoped services.

Every answer is ``application/fhir+json``, and every error, including the 401 of a missing
token and a parameter the server does not support, an ``OperationOutcome`` rather than the
API's problem document: :class:`FhirRoute` turns the same ``ServiceError`` the services raise
into one, so scoping and its refusals stay exactly those of ``/api/v1``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from tiemchung.api.deps import PlatformDep, require_roles, require_scope
from tiemchung.auth.scopes import read_scope
from tiemchung.core import Platform
from tiemchung.fhir import codes, naming, places, recommend, resources, search
from tiemchung.fhir.capability import capability_statement
from tiemchung.registry.errors import ServiceError, not_found
from tiemchung.registry.scope import Actor, Role

MEDIA_TYPE = "application/fhir+json"
PREFIX = "/fhir/R4"
#: the issue type of each refusal (FHIR's IssueType value set)
_ISSUE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    422: "invalid",
    429: "throttled",
}
#: the caller of a route reading one resource type: a staff token as today, a partner
#: client's token with that type's ``system/<Type>.read`` scope (or ``system/*.read``)
PatientReader = Annotated[Actor, Depends(require_scope(read_scope("Patient")))]
ImmunizationReader = Annotated[Actor, Depends(require_scope(read_scope("Immunization")))]
#: the search may ``_include`` the patients: then it reads Patients too
ImmunizationSearcher = Annotated[
    Actor,
    Depends(
        require_scope(read_scope("Immunization"), with_param={"_include": read_scope("Patient")})
    ),
]
LocationReader = Annotated[Actor, Depends(require_scope(read_scope("Location")))]
RecommendationReader = Annotated[
    Actor, Depends(require_scope(read_scope("ImmunizationRecommendation")))
]
OrganizationReader = Annotated[Actor, Depends(require_scope(read_scope("Organization")))]


class FhirJSONResponse(JSONResponse):
    """JSON as FHIR names it, so the OpenAPI documents the media type it is sent with.

    Encoded by orjson: the same compact UTF-8 text as Starlette's ``json.dumps`` (the
    resources are plain dicts of strings, numbers and lists), at a fraction of the CPU of a
    Bundle on the search's hot path."""

    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def fhir_json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return FhirJSONResponse(body, status_code=status)


def outcome_response(exc: ServiceError) -> JSONResponse:
    """A service's refusal as an ``OperationOutcome``: a field rule broken by a search value
    (422 in ``/api/v1``) is a bad search parameter here, 400 as FHIR says."""
    status = 400 if exc.status == 422 else exc.status
    items = [(p.field, p.message_vi, p.message_en) for p in exc.problems]
    body = resources.outcome("error", _ISSUE.get(status, "processing"), items)
    response = fhir_json(body, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    retry = getattr(exc, "retry_after", None)  # a client over its rate (auth/clientgate.py)
    if retry is not None:
        response.headers["Retry-After"] = str(retry)
    return response


class FhirRoute(APIRoute):
    """Answers the route's (and its dependencies') refusals as ``OperationOutcome``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except ServiceError as exc:
                return outcome_response(exc)
            except RequestValidationError as exc:
                items = [
                    (".".join(str(p) for p in e.get("loc", ())), str(e["msg"]), str(e["msg"]))
                    for e in exc.errors()
                ]
                return fhir_json(resources.outcome("error", "invalid", items), 400)

        return route


router = APIRouter(tags=["fhir"], route_class=FhirRoute)


def document(app: FastAPI) -> None:
    """Drop the 422 FastAPI documents for every route with parameters: a FHIR route never
    sends one (:class:`FhirRoute` answers a malformed request 400 with an OperationOutcome),
    and the OpenAPI must list only what is sent."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            for path, methods in spec.get("paths", {}).items():
                if path.startswith(PREFIX + "/"):
                    for op in methods.values():
                        op.get("responses", {}).pop("422", None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_OUTCOME = {"description": "OperationOutcome", "content": {MEDIA_TYPE: {}}}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _OUTCOME | {"description": "Bad search parameter (OperationOutcome)"},
    401: _OUTCOME | {"description": "Not authenticated (OperationOutcome)"},
    403: _OUTCOME | {"description": "Outside the caller's role or area (OperationOutcome)"},
    404: _OUTCOME | {"description": "Not found or not visible (OperationOutcome)"},
}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def _systems(platform: Platform) -> codes.Systems:
    """The installation's identifier and code systems (``TIEMCHUNG_FHIR_SYSTEM_BASE``)."""
    return codes.systems(platform.settings.fhir_system_base)


def _params(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


@router.get("/metadata", response_class=FhirJSONResponse)
async def metadata(request: Request, platform: PlatformDep) -> JSONResponse:
    """The ``CapabilityStatement``: the resources, interactions and search parameters served
    (no token needed, as FHIR expects of ``metadata``)."""
    return fhir_json(capability_statement(_base(request), _systems(platform)))


@router.get("/NamingSystem", response_class=FhirJSONResponse)
async def naming_systems(request: Request, platform: PlatformDep) -> JSONResponse:
    """The identifier and code systems this installation publishes (the 12-digit and 9-digit
    ID numbers' systems among them), a searchset Bundle; no token needed, as ``metadata``.
    Vietnam publishes no NamingSystem for its ID numbers: these are the installation's."""
    sy = _systems(platform)
    url = f"{_base(request)}/NamingSystem"
    matches = [(f"{url}/{r['id']}", r) for r in naming.naming_systems(sy)]
    return fhir_json(resources.bundle(url, matches, [], None))


@router.get("/NamingSystem/{ident}", response_class=FhirJSONResponse, responses=_ERRORS)
async def read_naming_system(ident: str, platform: PlatformDep) -> JSONResponse:
    """One ``NamingSystem`` (``cccd``, ``cmnd``, ``register-person``, ``site``…)."""
    found = naming.find(_systems(platform), ident)
    if found is None:
        raise not_found("id", "hệ định danh", "NamingSystem")
    return fhir_json(found)


@router.get("/Patient/{person_id}", response_class=FhirJSONResponse, responses=_ERRORS)
async def read_patient(person_id: str, actor: PatientReader, platform: PlatformDep) -> JSONResponse:
    """One ``Patient`` by register id, as the caller may see it (404 outside its view)."""

    def read() -> dict[str, Any]:
        with search.reading(platform.sessions) as session:
            return search.read_patient(session, actor, _systems(platform), person_id)

    body = await run_in_threadpool(read)
    await platform.audit_read(actor, "person.read", "person", [person_id])
    return fhir_json(body)


@router.get("/Patient", response_class=FhirJSONResponse, responses=_ERRORS)
async def search_patients(
    request: Request, actor: PatientReader, platform: PlatformDep
) -> JSONResponse:
    """``Patient?identifier=system|value`` (the 12-digit and 9-digit IDs are distinct
    systems), ``name``, ``birthdate``, ``_id``, ``_count``: a searchset Bundle."""

    def read() -> search.Result:
        with search.reading(platform.sessions) as session:
            return search.search_patients(
                session, actor, _systems(platform), f"{_base(request)}/Patient", _params(request)
            )

    result = await run_in_threadpool(read)
    await platform.audit_read(actor, "person.read", "person", result.patient_ids)
    return fhir_json(result.bundle)


@router.get("/Immunization/{dose_id}", response_class=FhirJSONResponse, responses=_ERRORS)
async def read_immunization(
    dose_id: str, actor: ImmunizationReader, platform: PlatformDep
) -> JSONResponse:
    """One ``Immunization`` (a stored dose) of the caller's area; 404 otherwise."""

    def read() -> dict[str, Any]:
        with search.reading(platform.sessions) as session:
            return search.read_immunization(session, actor, _systems(platform), dose_id)

    body = await run_in_threadpool(read)
    await platform.audit_read(actor, "dose.read", "dose", [dose_id])
    return fhir_json(body)


@router.get("/Immunization", response_class=FhirJSONResponse, responses=_ERRORS)
async def search_immunizations(
    request: Request, actor: ImmunizationSearcher, platform: PlatformDep
) -> JSONResponse:
    """``Immunization?patient=``, ``date=ge…``, ``_lastUpdated=gt…``, ``_count`` (keyset
    ``next`` links), ``_include=Immunization:patient``: a searchset Bundle."""

    def read() -> search.Result:
        with search.reading(platform.sessions) as session:
            return search.search_immunizations_bundle(
                session, actor, _systems(platform), _base(request), _params(request)
            )

    result = await run_in_threadpool(read)
    await platform.audit_read(actor, "dose.read", "dose", result.dose_ids)
    await platform.audit_read(actor, "person.read", "person", result.patient_ids)
    return fhir_json(result.bundle)


@router.get("/ImmunizationRecommendation", response_class=FhirJSONResponse, responses=_ERRORS)
async def search_recommendations(
    request: Request, actor: RecommendationReader, platform: PlatformDep
) -> JSONResponse:
    """``ImmunizationRecommendation?patient=``: the patient's next dose due by the desk's
    rule (forecastStatus, the earliest date, the dose number, the product), a Bundle of one;
    empty when the caller may not read the patient."""
    today, now = platform.today(), datetime.now(UTC)

    def read() -> tuple[dict[str, Any], list[str]]:
        with search.reading(platform.sessions) as session:
            return recommend.search_recommendations(
                session,
                actor,
                _systems(platform),
                f"{_base(request)}/ImmunizationRecommendation",
                _params(request),
                today=today,
                now=now,
            )

    body, read_ids = await run_in_threadpool(read)
    await platform.audit_read(actor, "person.read", "person", read_ids)
    return fhir_json(body)


@router.get("/Location/{site_id}", response_class=FhirJSONResponse, responses=_ERRORS)
async def read_location(site_id: str, actor: LocationReader, platform: PlatformDep) -> JSONResponse:
    """One vaccination site as a ``Location`` (what an Immunization's ``location`` names),
    for the staff as ``/api/v1/sites/{site_id}``: 403 for a citizen, 404 outside the area."""
    require_roles(actor, Role.CENTRAL, Role.PROVINCE, Role.COMMUNE, Role.SITE)

    def read() -> dict[str, Any]:
        with search.reading(platform.sessions) as session:
            return search.read_location(session, actor, _systems(platform), site_id)

    return fhir_json(await run_in_threadpool(read))


@router.get("/Location", response_class=FhirJSONResponse, responses=_ERRORS)
async def search_locations(
    request: Request, actor: LocationReader, platform: PlatformDep
) -> JSONResponse:
    """``Location?address-city=<province code>``, ``ward=<ward code>``, ``name``, ``_count``
    (keyset ``next`` links): the sites of the caller's area, for the staff as ``/sites``."""
    require_roles(actor, Role.CENTRAL, Role.PROVINCE, Role.COMMUNE, Role.SITE)

    def read() -> search.Result:
        with search.reading(platform.sessions) as session:
            return places.search_locations(
                session, actor, _systems(platform), f"{_base(request)}/Location", _params(request)
            )

    return fhir_json((await run_in_threadpool(read)).bundle)


@router.get("/Organization/{org_id}", response_class=FhirJSONResponse, responses=_ERRORS)
async def read_organization(
    org_id: str, actor: OrganizationReader, platform: PlatformDep
) -> JSONResponse:
    """One unit that runs sites (``so-<province>``, ``tram-<ward>``, ``site-<hospital>``),
    for the staff who may read one of its sites; 404 otherwise."""
    require_roles(actor, Role.CENTRAL, Role.PROVINCE, Role.COMMUNE, Role.SITE)

    def read() -> dict[str, Any]:
        with search.reading(platform.sessions) as session:
            return places.read_organization(session, actor, _systems(platform), org_id)

    return fhir_json(await run_in_threadpool(read))
