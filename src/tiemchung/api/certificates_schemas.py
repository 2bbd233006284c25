"""The certificate routes' answers, as the OpenAPI documents them (issue 20 point 11).

The routes build these bodies as dicts (``certificates/service.py``, ``keys.py``,
``verify.py``) and send them as they are; these models say their shape so that a verifier's
generated client knows it. tests/api/test_certificates_schemas.py checks real answers against
them, so the documentation cannot drift from what is sent.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrustEntry(_Open):
    kid: str = Field(description="key identifier: base64 of the first 8 bytes of SHA-256(DER)")
    certificate: str = Field(description="the X.509 certificate, base64 DER")
    subject: str
    not_before: str = Field(description="ISO 8601, UTC")
    not_after: str = Field(description="ISO 8601, UTC")
    key_usage: list[str]
    current: bool | None = Field(None, description="document signers only: signs new ones")


class TrustList(_Open):
    country: str = Field(examples=["VN"])
    generated_at: str
    csca: list[TrustEntry]
    dsc: list[TrustEntry]


class RevokedEntry(_Open):
    uvci: str
    revoked_at: str


class RevokedList(_Open):
    country: str = Field(examples=["VN"])
    count: int
    revoked: list[RevokedEntry]


class VerifyReason(_Open):
    vi: str
    en: str


class VerifyVerdict(_Open):
    valid: bool
    steps: dict[str, str] = Field(description="each step: pass, fail or not_checked")
    reasons: dict[str, VerifyReason] = Field(description="why a step failed or was skipped")
    kind: str | None
    uvci: str | None
    kid: str | None
    alg: str | None
    signer: str | None
    claims: dict[str, Any]
    dcc: dict[str, Any] | None = Field(description="the decoded EU DCC payload")


class CertificatePublic(_Open):
    uvci: str
    hc1: str = Field(description="the QR code's text (HC1:…)")
    issued_at: str
    expires_at: str
    kid: str
    person_id: str
    dcc: dict[str, Any]
    revoked: list[str] = Field(
        description="UVCIs of earlier certificates this one replaced (revoked on issue)"
    )


class Revoked(_Open):
    uvci: str
    revoked_at: str | None
    reason: str | None
