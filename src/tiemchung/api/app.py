"""The HTTP API: its routers under ``/api/v1``, its problem handlers and its OpenAPI document.

It builds the API alone and knows nothing of the pages: the whole server (API, pages, error
pages, the platform's start and stop) is assembled one layer up, in :mod:`tiemchung.server`,
so that ``api`` and ``web`` never import each other.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

import tiemchung
from tiemchung.api import docs, openapi_media, problems
from tiemchung.api.inputs import NoNul
from tiemchung.api.routes import (
    aefi,
    audit,
    auth,
    certificates,
    changes,
    doses,
    fhir,
    fhir_bulk,
    health,
    imports,
    invitations,
    messages,
    oauth,
    persons,
    reference,
    registrations,
    sessions,
    stats,
    stock,
    templates,
    tickets,
    users,
    verify,
    webhooks,
    worklists,
)

DESCRIPTION = """
API of **tiemchung**, the vaccination data platform rooted in the population register.

Authenticate with `POST /api/v1/auth/token` (OAuth2 password flow) and send the token as
`Authorization: Bearer …`. Every query is scoped to the caller's area (central, province,
commune/ward, site, citizen). Errors are RFC 9457 `application/problem+json` documents whose
`errors[]` name the field and the rule broken, in Vietnamese and English (`message`, both in
one line; `message_vi` and `message_en`, each apart).
"""


#: The API's routers, in the order they are documented.
ROUTERS = (
    health,
    auth,
    doses,
    persons,
    reference,
    stock,
    sessions,
    certificates,
    verify,
    worklists,
    tickets,
    stats,
    users,
    audit,
    aefi,
    imports,
    messages,
    templates,
    invitations,
    registrations,
    webhooks,
    changes,
)


def create_api(lifespan: Any = None) -> FastAPI:
    """A FastAPI app serving the API (its OpenAPI and docs included) with every error
    answered as a problem document. ``lifespan`` is the server's (it starts the platform,
    which the caller puts on ``app.state.platform`` before the first request)."""
    app = FastAPI(
        title="tiemchung API",
        version=tiemchung.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    docs.install(app, "/api/v1/openapi.json", "tiemchung API")
    problems.install(app)
    # Routes are matched in the order included, one by one (~3 µs a route): the two paths
    # under load go first. The desk's verification (one literal path, so it cannot shadow
    # another route) and HL7 FHIR R4 for partner systems (issue 19; its own prefix, its
    # errors OperationOutcome resources). Last in the list cost ~0.3 ms a request.
    app.include_router(verify.router, prefix="/api/v1", dependencies=[NoNul])
    app.include_router(fhir.router, prefix=fhir.PREFIX, dependencies=[NoNul])
    app.include_router(fhir_bulk.router, prefix=fhir.PREFIX, dependencies=[NoNul])
    for module in ROUTERS:
        if module is not verify:
            app.include_router(module.router, prefix="/api/v1", dependencies=[NoNul])
    fhir.document(app)
    # partner clients' OAuth2 token endpoint and SMART discovery, at the root as SMART expects
    # (no NoNul: outside /api/ its 422 would be the web's page; the token route refuses a NUL
    # itself, as an RFC 6749 error)
    app.include_router(oauth.router)
    oauth.document(app)
    health.document(app)  # /health's 503 is its Health body, not a problem document
    openapi_media.install(app)  # last: every success body says what it is
    return app
