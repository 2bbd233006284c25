"""Issuing and revoking certificates: the one service the CLI, the API and the web use.

A certificate is issued only from doses linked to a register person (``status == "verified"``):
the register is the root of the platform, and a dose typed with a wrong ID or name must be
reconciled first. The EU DCC holds one vaccination entry (schema 1.3: ``v`` has one item), so
the certificate attests the person's latest verified dose; the printed PDF lists every one.

A certificate stays valid while the data it attests still stands. Issuing again re-checks the
person's earlier active certificates: one whose content would now be different (a corrected
name or date of birth, a corrected dose, a dose no longer verified) is revoked, naming the new
certificate that replaces it. Every issue and revocation is audited in the same transaction.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiemchung.certificates import hcert
from tiemchung.certificates.custody import KeyCustodyError
from tiemchung.certificates.hsm import HsmError
from tiemchung.certificates.keys import KeysMissingError, KeyStore, b64
from tiemchung.certificates.names import dcc_name
from tiemchung.certificates.schema import schema_errors, schema_version
from tiemchung.certificates.uvci import new_uvci
from tiemchung.certificates.verify import verify
from tiemchung.registry.errors import (
    FieldProblem,
    ServiceError,
    not_found,
    role_not_allowed,
    rule_error,
)
from tiemchung.registry.models import Dose, IssuedCertificate, Person, Product, Site
from tiemchung.registry.people import persons
from tiemchung.registry.people.persons import certifiable_person
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.audit import audit

COUNTRY = "VN"
ISSUER = "Bộ Y tế Việt Nam / Ministry of Health of Viet Nam"
TARGET_COVID19 = "840539006"  # disease-agent-targeted: COVID-19
VALID_MONTHS = 12
_DOB = re.compile(r"^((19|20)\d\d(-\d\d){0,2})?$")


@dataclass(frozen=True)
class DoseLine:
    """One verified dose as the PDF prints it."""

    dose_id: int
    dose_number: int
    dose_date: date
    product_code: str
    product_name: str
    site_name: str


@dataclass
class Issued:
    """A freshly issued (or stored) certificate and what the PDF needs to print it."""

    uvci: str
    hc1: str
    dcc: dict[str, Any]
    issued_at: datetime
    expires_at: datetime
    kid: str
    person_id: str
    full_name: str
    dob: str | None
    national_id: str | None
    doses: list[DoseLine] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "uvci": self.uvci,
            "hc1": self.hc1,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "kid": self.kid,
            "person_id": self.person_id,
            "dcc": self.dcc,
            "revoked": self.revoked,
        }


def add_months(moment: datetime, months: int) -> datetime:
    """Same day and time ``months`` later (the last day of a shorter month: 29 Feb → 28 Feb)."""
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def mask_id(national_id: str | None) -> str:
    """The ID as the register masks it (registry/people/persons.py); "—" when there is none."""
    return persons.mask_id(national_id) or "—"


def content_hash(dcc: dict[str, Any]) -> str:
    """SHA-256 of the DCC without the certificate identifier: what the certificate attests."""
    body = json.loads(json.dumps(dcc))
    for group in ("v", "t", "r"):
        for entry in body.get(group, []):
            entry.pop("ci", None)
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def verified_doses(session: Session, person: Person) -> list[tuple[Dose, Product, Site]]:
    rows = session.execute(
        select(Dose, Product, Site)
        .join(Product, Product.code == Dose.product_code)
        .join(Site, Site.site_id == Dose.site_id)
        .where(Dose.person_pk == person.id, Dose.status == "verified")
        .order_by(Dose.dose_number, Dose.dose_date, Dose.id)
    ).all()
    return [(d, p, s) for d, p, s in rows]


def build_dcc(person: Person, dose: Dose, product: Product, ci: str) -> dict[str, Any]:
    """The DCC vaccination payload for one verified dose of a register person."""
    dob = person.dob or ""
    if not _DOB.match(dob):  # the schema allows 1900–2099 only; outside that, leave it empty
        dob = ""
    return {
        "ver": schema_version(),
        "nam": dcc_name(person.full_name),
        "dob": dob,
        "v": [
            {
                "tg": TARGET_COVID19,
                "vp": product.vp,
                "mp": product.mp,
                "ma": product.ma,
                # EU practice: a booster counts on (3/2); a complete primary series is n/n.
                "dn": dose.dose_number,
                "sd": product.primary_doses,
                "dt": dose.dose_date.isoformat(),
                "co": COUNTRY,
                "is": ISSUER,
                "ci": ci,
            }
        ],
    }


def keys_missing(exc: KeysMissingError) -> ServiceError:
    """The 503 when no signing keys exist (run ``tiemchung keys init``): one answer for issuing
    here and for the API's trust list and verification, which read the keys themselves."""
    return ServiceError(
        503,
        "Signing keys missing / Chưa có khoá ký",
        [FieldProblem("keys", "keys_missing", "Chưa có khoá ký chứng nhận", str(exc))],
    )


def _no_dose_error(session: Session, person: Person) -> ServiceError:
    """Why there is nothing to certify: no dose at all, or doses that are not verified."""
    unverified = 0
    ids = [i for i in (person.national_id, person.old_id) if i]
    if ids:
        unverified = (
            session.scalar(
                select(func.count())
                .select_from(Dose)
                .where(Dose.national_id.in_(ids), Dose.status != "verified")
            )
            or 0
        )
    if unverified:
        return rule_error(
            "person_id",
            "no_verified_dose",
            f"Có {unverified} mũi tiêm mang số định danh này nhưng chưa được xác minh với sổ "
            "dân cư (unverified): cần đối soát trước khi cấp chứng nhận",
            f"{unverified} dose(s) recorded with this ID are not verified against the "
            "population register (unverified); they must be reconciled before a certificate "
            "can be issued",
        )
    return rule_error(
        "person_id",
        "no_verified_dose",
        "Người này chưa có mũi tiêm nào đã xác minh với sổ dân cư",
        "this person has no dose verified against the population register",
    )


#: Why a site may not print someone's certificate, in words: a person it did not vaccinate
#: and one who does not exist answer alike (404, registry/scope.py), and for a site both mean
#: the same thing.
NOT_VACCINATED_HERE = (
    "Chỉ in được chứng nhận cho người đã tiêm tại điểm tiêm này",
    "a certificate can be printed here only for a person vaccinated at this site",
)


def may_certify(session: Session, actor: Actor, person_id: str) -> bool:
    """Whether ``actor`` may issue or read this person's certificate — the rule of
    :func:`issue_certificate`, asked before a button offers it (the desk's reprint), so the
    rule has one home."""
    return certifiable_person(session, actor, person_id) is not None


def issue_certificate(
    session: Session,
    actor: Actor,
    person_id: str,
    *,
    keys: KeyStore,
    now: datetime | None = None,
) -> Issued:
    """Issue a signed vaccination certificate for a register person: 404 unless the caller's
    area holds the person or one of the person's doses (a site: a dose given at its site;
    a citizen: itself; ``registry/scope.py``, ``certify_filter``). Raises ``ServiceError`` (422
    ``no_verified_dose``) when no verified dose exists, 503 when no signing keys exist."""
    person = certifiable_person(session, actor, person_id)
    if person is None:
        raise not_found("person_id", "người này", "person")
    doses = verified_doses(session, person)
    if not doses:
        raise _no_dose_error(session, person)
    try:
        signer = keys.signer
    except KeysMissingError as exc:
        raise keys_missing(exc) from exc
    except (KeyCustodyError, HsmError) as exc:  # no or a wrong passphrase, a loose mode, HSM
        raise ServiceError(
            503,
            "Signing key cannot be used / Không dùng được khoá ký",
            [FieldProblem("keys", "keys_unusable", "Không dùng được khoá ký chứng nhận", str(exc))],
        ) from exc
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    expires = add_months(now, VALID_MONTHS)
    if now < signer.certificate.not_valid_before_utc:
        raise ServiceError(
            503,
            "Signing key not yet valid / Khoá ký chưa có hiệu lực",
            [
                FieldProblem(
                    "keys",
                    "dsc_not_yet_valid",
                    "Chứng thư ký chưa có hiệu lực tại thời điểm cấp",
                    "the document signer is not valid yet at the issue time",
                )
            ],
        )
    if signer.certificate.not_valid_after_utc < expires:
        raise ServiceError(
            503,
            "Signing key expires too soon / Khoá ký sắp hết hạn",
            [
                FieldProblem(
                    "keys",
                    "dsc_expiring",
                    "Chứng thư ký hết hạn trước chứng nhận: hãy chạy `tiemchung keys rotate`",
                    "the document signer expires before the certificate would: run "
                    "`tiemchung keys rotate`",
                )
            ],
        )
    dose, product, _site = doses[-1]
    uvci = new_uvci(COUNTRY)
    dcc = build_dcc(person, dose, product, uvci)
    problems = schema_errors(dcc)
    if problems:  # our own data must never produce a certificate others would refuse
        raise rule_error(
            "person_id",
            "dcc_schema",
            "Dữ liệu không tạo được chứng nhận hợp lệ: " + "; ".join(problems),
            "the data does not make a valid EU DCC: " + "; ".join(problems),
        )
    payload = hcert.cwt_payload(
        dcc, issuer=COUNTRY, iat=int(now.timestamp()), exp=int(expires.timestamp())
    )
    hc1 = hcert.encode(signer.sign(payload))
    kid = b64(signer.kid)
    revoked = _revoke_outdated(session, actor, person, doses, uvci, now)
    session.add(
        IssuedCertificate(
            uvci=uvci,
            person_pk=person.id,
            dose_id=dose.id,
            kind="v",
            content_hash=content_hash(dcc),
            payload_hash=hashlib.sha256(payload).hexdigest(),
            hc1=hc1,
            kid=kid,
            issued_at=now,
            expires_at=expires,
            issued_by=actor.user_id,
        )
    )
    audit(
        session,
        actor,
        "certificate.issue",
        "certificate",
        uvci,
        {"person_id": person.person_id, "dose_id": dose.id, "kid": kid, "revoked": revoked},
    )
    session.flush()
    return Issued(
        uvci=uvci,
        hc1=hc1,
        dcc=dcc,
        issued_at=now,
        expires_at=expires,
        kid=kid,
        person_id=person.person_id,
        full_name=person.full_name,
        dob=person.dob,
        national_id=person.national_id,
        doses=[_line(d, p, s) for d, p, s in doses],
        revoked=revoked,
    )


def _line(d: Dose, p: Product, s: Site) -> DoseLine:
    return DoseLine(d.id, d.dose_number, d.dose_date, p.code, p.name, s.name)


def _revoke_outdated(
    session: Session,
    actor: Actor,
    person: Person,
    doses: list[tuple[Dose, Product, Site]],
    new_uvci_: str,
    now: datetime,
) -> list[str]:
    """Revoke the person's active certificates whose content no longer matches the data."""
    current = {d.id: content_hash(build_dcc(person, d, p, "")) for d, p, _s in doses}
    outdated = []
    for cert in session.scalars(
        select(IssuedCertificate).where(
            IssuedCertificate.person_pk == person.id, IssuedCertificate.revoked_at.is_(None)
        )
    ):
        if cert.dose_id is not None and current.get(cert.dose_id) == cert.content_hash:
            continue
        cert.revoked_at = now
        cert.revoke_reason = "superseded after a correction / thay thế sau khi đính chính"
        cert.replaced_by = new_uvci_
        audit(
            session,
            actor,
            "certificate.revoke",
            "certificate",
            cert.uvci,
            {"reason": cert.revoke_reason, "replaced_by": new_uvci_},
        )
        outdated.append(cert.uvci)
    return outdated


def _active_certificate(session: Session, person: Person) -> IssuedCertificate | None:
    """The person's latest certificate neither revoked nor expired (None if there is none)."""
    cert = session.scalar(
        select(IssuedCertificate)
        .where(IssuedCertificate.person_pk == person.id, IssuedCertificate.revoked_at.is_(None))
        .order_by(IssuedCertificate.issued_at.desc(), IssuedCertificate.id.desc())
        .limit(1)
    )
    if cert is None or _utc(cert.expires_at) < datetime.now(UTC):
        return None
    return cert


def _stored(
    person: Person, cert: IssuedCertificate, doses: list[tuple[Dose, Product, Site]]
) -> Issued:
    """A stored certificate as :class:`Issued`, with the content it signed."""
    verdict = verify(cert.hc1)  # the decoded content of what was signed
    return Issued(
        uvci=cert.uvci,
        hc1=cert.hc1,
        dcc=verdict.dcc or {},
        issued_at=_utc(cert.issued_at),
        expires_at=_utc(cert.expires_at),
        kid=cert.kid,
        person_id=person.person_id,
        full_name=person.full_name,
        dob=person.dob,
        national_id=person.national_id,
        doses=[_line(d, p, s) for d, p, s in doses],
    )


def current_certificate(session: Session, actor: Actor, person_id: str) -> Issued | None:
    """The person's latest active, unexpired certificate (None if there is none), stale or
    not (:func:`certificate_now` is what hands one out); 404 when the caller may not certify
    the person (the rule of :func:`issue_certificate`)."""
    person = certifiable_person(session, actor, person_id)
    if person is None:
        raise not_found("person_id", "người này", "person")
    cert = _active_certificate(session, person)
    if cert is None:
        return None
    return _stored(person, cert, verified_doses(session, person))


def attests_data(
    person: Person, cert: IssuedCertificate, doses: list[tuple[Dose, Product, Site]]
) -> bool:
    """Whether a certificate still says what the register says now: it attests the person's
    latest verified dose, and that dose's content (the person's name and birth date, the
    dose's number, date and product) is what it signed. A correction or a later verified dose
    makes it stale — the rule :func:`_revoke_outdated` applies when the next one is issued."""
    if not doses:
        return False
    dose, product, _site = doses[-1]
    return bool(
        cert.dose_id == dose.id
        and cert.content_hash == content_hash(build_dcc(person, dose, product, ""))
    )


def _hand_out(
    session: Session, actor: Actor, person_id: str, keys: KeyStore, *, issue_missing: bool
) -> Issued | None:
    person = certifiable_person(session, actor, person_id)
    if person is None:
        raise not_found("person_id", "người này", "person")
    cert = _active_certificate(session, person)
    doses = verified_doses(session, person)
    if cert is not None and attests_data(person, cert, doses):
        return _stored(person, cert, doses)
    if cert is None and not issue_missing:
        return None
    return issue_certificate(session, actor, person_id, keys=keys)


def certificate_now(session: Session, actor: Actor, person_id: str, *, keys: KeyStore) -> Issued:
    """The certificate to hand out now (the desk's print, the citizen's download): the
    current one while it attests the data (:func:`attests_data`), else one issued now, which
    revokes the outdated ones — nobody is handed a certificate a correction has made wrong.
    404 as :func:`issue_certificate` when the caller may not certify the person; its refusals
    when a new one cannot be made."""
    issued = _hand_out(session, actor, person_id, keys, issue_missing=True)
    assert issued is not None  # issue_missing: issued, or issue_certificate raised
    return issued


def reissued_if_stale(
    session: Session, actor: Actor, person_id: str, *, keys: KeyStore
) -> Issued | None:
    """The person's current certificate as :func:`certificate_now` hands it out (reissued
    when a correction made it stale), but None when the person has none at all: the API's
    ``GET``, where issuing a first one is a ``POST``."""
    return _hand_out(session, actor, person_id, keys, issue_missing=False)


def _utc(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back: they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def revoke_certificate(
    session: Session, actor: Actor, uvci: str, reason: str, *, now: datetime | None = None
) -> IssuedCertificate:
    """Revoke one certificate by UVCI (central: any; province: persons of its province)."""
    if actor.role not in (Role.CENTRAL, Role.PROVINCE):
        raise role_not_allowed(
            "Chỉ cấp trung ương và tỉnh được thu hồi chứng nhận",
            "only central and province users may revoke certificates",
        )
    reason = (reason or "").strip()
    if not reason:
        raise rule_error("reason", "reason_required", "Cần nêu lý do", "a reason is required")
    row = session.execute(
        select(IssuedCertificate, Person)
        .join(Person, Person.id == IssuedCertificate.person_pk)
        .where(IssuedCertificate.uvci == uvci.strip().upper())
    ).first()
    if row is None or not actor.can_see_person(row[1]):
        raise not_found("uvci", "chứng nhận này", "certificate")
    cert = row[0]
    if cert.revoked_at is None:
        cert.revoked_at = (now or datetime.now(UTC)).astimezone(UTC)
        cert.revoke_reason = reason[:500]
        audit(session, actor, "certificate.revoke", "certificate", cert.uvci, {"reason": reason})
        session.flush()
    return cert


def revoked_list(session: Session) -> list[dict[str, str]]:
    """The published revocation list: every revoked UVCI with when it was revoked."""
    rows = session.execute(
        select(IssuedCertificate.uvci, IssuedCertificate.revoked_at)
        .where(IssuedCertificate.revoked_at.is_not(None))
        .order_by(IssuedCertificate.revoked_at, IssuedCertificate.uvci)
    ).all()
    return [{"uvci": u, "revoked_at": _utc(t).isoformat()} for u, t in rows if t is not None]


def revoked_uvcis(session: Session) -> set[str]:
    return set(
        session.scalars(
            select(IssuedCertificate.uvci).where(IssuedCertificate.revoked_at.is_not(None))
        )
    )


def persons_to_certify(
    session: Session, *, ward_code: str | None = None, province_code: str | None = None
) -> list[str]:
    """Register persons of a ward or province with at least one verified dose."""
    stmt = (
        select(Person.person_id)
        .where(Person.id.in_(select(Dose.person_pk).where(Dose.status == "verified")))
        .order_by(Person.person_id)
    )
    if ward_code:
        stmt = stmt.where(Person.ward_code == ward_code)
    if province_code:
        stmt = stmt.where(Person.province_code == province_code)
    return list(session.scalars(stmt))
