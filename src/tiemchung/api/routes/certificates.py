"""Certificates: issue (by the area holding the person or a dose), print, verify, trust list,
revocation.

The trust list, the revocation list and verification are public: any verifier, here or
abroad, needs them without an account, and they reveal nothing a QR code does not carry.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tiemchung.api.certificates_schemas import (
    CertificatePublic,
    Revoked,
    RevokedList,
    TrustList,
    VerifyVerdict,
)
from tiemchung.api.deps import CurrentActor, PlatformDep, require_roles
from tiemchung.api.problems import ERROR_RESPONSES as _ERRORS
from tiemchung.certificates.keys import KeysMissingError, KeyStore
from tiemchung.certificates.service import (
    issue_certificate,
    keys_missing,
    reissued_if_stale,
    revoke_certificate,
    revoked_list,
    revoked_uvcis,
)
from tiemchung.certificates.verify import Trust, verify, verify_image
from tiemchung.core import Platform
from tiemchung.registry.errors import not_found, rule_error
from tiemchung.registry.scope import Role
from tiemchung.serving.downloads import file_response
from tiemchung.serving.types import as_utc

router = APIRouter(tags=["certificates"])


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(None, max_length=20_000, description="the HC1: text")
    image: str | None = Field(
        None, max_length=8_000_000, description="base64 of a photo or scan of the QR code"
    )
    at: datetime | None = Field(None, description="check validity at this time (default now)")


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uvci: str = Field(..., min_length=1, max_length=80, description="the certificate's UVCI")
    reason: str = Field(..., min_length=1, max_length=500)


def _keys(platform: Platform) -> KeyStore:
    return platform.keys


def _json(body: Any, status: int = 200) -> Response:
    import orjson

    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@router.get("/trust-list", response_model=TrustList, responses=_ERRORS)
async def trust_list(platform: PlatformDep) -> Response:
    """Public: every document signer certificate (base64 DER) with its kid, and the CSCA."""
    try:
        return _json(await run_in_threadpool(_keys(platform).trust_list))
    except KeysMissingError as exc:
        raise keys_missing(exc) from exc


@router.get("/certificates/revoked", response_model=RevokedList, responses=_ERRORS)
async def revoked(platform: PlatformDep) -> Response:
    """Public: the UVCIs of revoked certificates, for verifiers to fetch."""

    def read() -> list[dict[str, str]]:
        with platform.sessions() as session:
            return revoked_list(session)

    items = await run_in_threadpool(read)
    return _json({"country": "VN", "count": len(items), "revoked": items})


@router.post("/certificates/verify", response_model=VerifyVerdict, responses=_ERRORS)
async def verify_certificate(body: VerifyRequest, platform: PlatformDep) -> Response:
    """Public: verify an HC1: text or a QR image against our trust list and revocation list.
    Always answers 200 with the verdict (every step pass, fail or not_checked)."""
    if (body.text is None) == (body.image is None):
        raise rule_error(
            "text", "text_or_image", "Cần đúng một trong text, image", "give text or image"
        )

    def run() -> dict[str, Any]:
        try:
            trusted = Trust(_keys(platform).dsc_certificates())
        except KeysMissingError:
            trusted = Trust()
        with platform.sessions() as session:
            revoked_set = revoked_uvcis(session)
        if body.image is not None:
            try:
                data = base64.b64decode(body.image, validate=True)
            except (binascii.Error, ValueError):
                data = b""
            return verify_image(data, trusted, body.at, revoked=revoked_set).as_dict()
        return verify(body.text, trusted, body.at, revoked=revoked_set).as_dict()

    return _json(await run_in_threadpool(run))


@router.post(
    "/persons/{person_id}/certificate",
    status_code=201,
    response_model=CertificatePublic,
    responses=_ERRORS,
)
async def issue(person_id: str, actor: CurrentActor, platform: PlatformDep) -> Response:
    """Issue a certificate from the person's verified doses: by a caller whose area holds the
    person or one of their doses (a site: a dose given there; citizens for themselves), else
    404 as for no such person. Earlier certificates whose data was corrected are revoked."""
    keys = _keys(platform)
    issued = await platform.write(lambda s: issue_certificate(s, actor, person_id, keys=keys))
    return _json(issued.public(), 201)


@router.get(
    "/persons/{person_id}/certificate",
    response_model=CertificatePublic,
    responses={
        200: {
            "description": "The certificate (JSON), or the printable PDF with ?format=pdf",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        **_ERRORS,
    },
)
async def read_certificate(
    person_id: str,
    actor: CurrentActor,
    platform: PlatformDep,
    format: Annotated[str, Query(pattern="^(json|pdf)$")] = "json",
) -> Response:
    """The person's current certificate as JSON, or as the printable PDF (``?format=pdf``);
    one made stale by a correction (or a later verified dose) is reissued first, as the desk
    prints it. 404 when the person has none (issue one with POST)."""
    keys = _keys(platform)
    cert = await platform.write(lambda s: reissued_if_stale(s, actor, person_id, keys=keys))
    if cert is None:
        raise not_found("certificate", "chứng nhận còn hiệu lực", "a current certificate")
    await platform.audit_read(actor, "certificate.read", "person", [person_id])
    if format == "pdf":
        from tiemchung.certificates.pdf import render_bytes

        pdf = await run_in_threadpool(render_bytes, cert, platform.settings.timezone)
        return file_response(pdf, "application/pdf", f"certificate-{person_id}.pdf", inline=True)
    return _json(cert.public())


@router.post("/certificates/revoke", response_model=Revoked, responses=_ERRORS)
async def revoke(body: RevokeRequest, actor: CurrentActor, platform: PlatformDep) -> Response:
    """Revoke a certificate by UVCI (central and province users; province: its persons).
    The UVCI is in the body: its ``#`` would end a URL path."""
    require_roles(actor, Role.CENTRAL, Role.PROVINCE)

    def job(session: Any) -> dict[str, Any]:
        cert = revoke_certificate(session, actor, body.uvci, body.reason)
        at = cert.revoked_at
        return {
            "uvci": cert.uvci,
            "revoked_at": as_utc(at).isoformat() if at else None,  # naive again from SQLite
            "reason": cert.revoke_reason,
        }

    return _json(await platform.write(job))
