"""Issuing and revoking over a real database, SQLite and PostgreSQL.

Expected payload values are written out by hand from the factories' register data and the
EU DCC rules, never taken from the code under test.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from tests.certificates.conftest import record
from tests.factories import submission
from tiemchung.certificates import verify
from tiemchung.certificates.keys import KeysMissingError, KeyStore
from tiemchung.certificates.service import (
    add_months,
    certificate_now,
    current_certificate,
    issue_certificate,
    keys_missing,
    mask_id,
    reissued_if_stale,
    revoke_certificate,
    revoked_list,
)
from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.models import AuditEvent, IssuedCertificate, Person
from tiemchung.registry.scope import Actor, Role

CENTRAL = Actor.system("tests")
NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def _issue(platform: Platform, keys: KeyStore, person_id: str, actor: Actor = CENTRAL, now=NOW):  # type: ignore[no-untyped-def]
    return platform.writer.run(lambda s: issue_certificate(s, actor, person_id, keys=keys, now=now))


def test_issue_an(platform: Platform, keys: KeyStore, vaccinated: dict) -> None:
    issued = _issue(platform, keys, "P-AN")
    v = issued.dcc["v"][0]
    assert issued.dcc["nam"] == {"fn": "Nguyễn", "fnt": "NGUYEN", "gn": "Văn An", "gnt": "VAN<AN"}
    assert issued.dcc["dob"] == "1985-04-12"
    assert issued.dcc["ver"] == "1.3.3"
    assert {k: v[k] for k in ("tg", "vp", "mp", "ma", "dn", "sd", "dt", "co")} == {
        "tg": "840539006",
        "vp": "1119349007",  # mRNA
        "mp": "EU/1/20/1528",  # Comirnaty
        "ma": "ORG-100030215",  # BioNTech
        "dn": 2,
        "sd": 2,
        "dt": "2021-10-22",
        "co": "VN",
    }
    assert v["is"] == "Bộ Y tế Việt Nam / Ministry of Health of Viet Nam"
    assert v["ci"] == issued.uvci and issued.uvci.startswith("URN:UVCI:01:VN:")
    assert issued.expires_at == datetime(2027, 3, 1, 8, 30, tzinfo=UTC)
    assert [(d.dose_number, d.product_code) for d in issued.doses] == [(1, "PFIZER"), (2, "PFIZER")]
    verdict = verify(issued.hc1, keys.dsc_certificates(), NOW, revoked=set())
    assert verdict.valid, verdict.reasons
    assert verdict.dcc == issued.dcc
    with platform.sessions() as s:
        row = s.scalar(select(IssuedCertificate).where(IssuedCertificate.uvci == issued.uvci))
        assert row is not None and row.hc1 == issued.hc1 and row.revoked_at is None
        assert row.kid == verdict.kid
        events = s.scalars(select(AuditEvent).where(AuditEvent.entity_id == issued.uvci)).all()
        assert [e.action for e in events] == ["certificate.issue"]
        cur = current_certificate(s, CENTRAL, "P-AN")
        assert cur is not None and cur.uvci == issued.uvci and cur.dcc == issued.dcc


def test_booster_partial_dob_and_icao(platform: Platform, keys: KeyStore, vaccinated: dict) -> None:
    issued = _issue(platform, keys, "P-DUNG")
    v = issued.dcc["v"][0]
    assert (v["dn"], v["sd"], v["mp"], v["dt"]) == (3, 2, "EU/1/20/1507", "2022-03-01")
    assert issued.dcc["nam"] == {"fn": "Phạm", "fnt": "PHAM", "gn": "Văn Dũng", "gnt": "VAN<DUNG"}
    with platform.sessions() as s:  # a register date of birth known to the year only
        s.get(Person, s.scalar(select(Person.id).where(Person.person_id == "P-DUNG"))).dob = "1965"  # type: ignore[union-attr]
        s.commit()
    again = _issue(platform, keys, "P-DUNG")
    assert again.dcc["dob"] == "1965"
    assert again.revoked == [issued.uvci]  # the date of birth changed: the old one is revoked


def test_refusals_name_why(platform: Platform, keys: KeyStore, vaccinated: dict) -> None:
    with pytest.raises(ServiceError) as err:
        _issue(platform, keys, "P-BINH")
    assert err.value.status == 422 and err.value.problems[0].rule == "no_verified_dose"
    assert "unverified" in err.value.problems[0].message_en
    assert "1 dose" in err.value.problems[0].message_en
    with pytest.raises(ServiceError) as err:
        _issue(platform, keys, "P-CUONG")
    assert "no dose verified" in err.value.problems[0].message_en
    with pytest.raises(ServiceError) as err:
        _issue(platform, keys, "P-NOBODY")
    assert err.value.status == 404
    outsider = Actor(user_id=None, username="prov_b", role=Role.PROVINCE, province_code="40")
    with pytest.raises(ServiceError) as err:
        _issue(platform, keys, "P-AN", actor=outsider)
    assert err.value.status == 404  # not visible: existence does not leak
    with platform.sessions() as s:
        assert s.scalars(select(IssuedCertificate)).all() == []


def test_correction_revokes_and_same_data_does_not(
    platform: Platform, keys: KeyStore, vaccinated: dict
) -> None:
    first = _issue(platform, keys, "P-AN")
    reprint = _issue(platform, keys, "P-AN")
    assert reprint.revoked == [] and reprint.uvci != first.uvci
    with platform.sessions() as s:
        person = s.scalar(select(Person).where(Person.person_id == "P-AN"))
        assert person is not None
        person.full_name = "Nguyễn Văn Ân"  # a corrected name
        s.commit()
    corrected = _issue(platform, keys, "P-AN")
    assert sorted(corrected.revoked) == sorted([first.uvci, reprint.uvci])
    assert corrected.dcc["nam"]["gn"] == "Văn Ân"
    with platform.sessions() as s:
        listed = {r["uvci"] for r in revoked_list(s)}
        assert listed == {first.uvci, reprint.uvci}
        old = s.scalar(select(IssuedCertificate).where(IssuedCertificate.uvci == first.uvci))
        assert old is not None and old.replaced_by == corrected.uvci
        actions = s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity == "certificate")
            .order_by(AuditEvent.id)
        ).all()
        assert actions.count("certificate.issue") == 3 and actions.count("certificate.revoke") == 2
    v = verify(first.hc1, keys.dsc_certificates(), NOW, revoked=listed)
    assert v.failed == ["revocation"]


def test_revoke_by_uvci(platform: Platform, keys: KeyStore, vaccinated: dict) -> None:
    issued = _issue(platform, keys, "P-AN")
    citizen = Actor(user_id=None, username="c", role=Role.CITIZEN, person_pk=1)
    with pytest.raises(ServiceError) as err:
        platform.writer.run(lambda s: revoke_certificate(s, citizen, issued.uvci, "x"))
    assert err.value.status == 403
    prov_b = Actor(user_id=None, username="prov_b", role=Role.PROVINCE, province_code="40")
    with pytest.raises(ServiceError) as err:
        platform.writer.run(lambda s: revoke_certificate(s, prov_b, issued.uvci, "x"))
    assert err.value.status == 404
    with pytest.raises(ServiceError):
        platform.writer.run(lambda s: revoke_certificate(s, CENTRAL, issued.uvci, "  "))
    prov_a = Actor(user_id=None, username="prov_a", role=Role.PROVINCE, province_code="01")
    platform.writer.run(
        lambda s: revoke_certificate(s, prov_a, issued.uvci.lower(), "lost card").uvci
    )
    with platform.sessions() as s:
        assert [r["uvci"] for r in revoked_list(s)] == [issued.uvci]
        assert current_certificate(s, CENTRAL, "P-AN") is None


def test_helpers() -> None:
    assert mask_id("001085123456") == "0010******56"
    assert mask_id("012345678") == "0123***78"
    assert mask_id(None) == "—"
    assert add_months(datetime(2024, 2, 29, tzinfo=UTC), 12) == datetime(2025, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2025, 11, 30, tzinfo=UTC), 3) == datetime(2026, 2, 28, tzinfo=UTC)


def test_payload_hash_is_of_the_signed_payload(
    platform: Platform, keys: KeyStore, vaccinated: dict
) -> None:
    import zlib

    import base45
    import cbor2

    issued = _issue(platform, keys, "P-AN")
    payload = cbor2.loads(zlib.decompress(base45.b45decode(issued.hc1[4:]))).value[2]
    with platform.sessions() as s:
        row = s.scalar(select(IssuedCertificate).where(IssuedCertificate.uvci == issued.uvci))
        assert row is not None and row.payload_hash == hashlib.sha256(payload).hexdigest()
        assert cbor2.loads(payload)[6] == int(NOW.timestamp())


def test_keys_must_cover_the_certificate(
    platform: Platform, keys: KeyStore, vaccinated: dict
) -> None:
    with pytest.raises(ServiceError) as err:  # before the DSC existed
        _issue(platform, keys, "P-AN", now=datetime(2025, 6, 1, tzinfo=UTC))
    assert err.value.status == 503 and err.value.problems[0].rule == "dsc_not_yet_valid"
    with pytest.raises(ServiceError) as err:  # the DSC (2 years) ends before exp (12 months)
        _issue(platform, keys, "P-AN", now=datetime(2027, 6, 1, tzinfo=UTC))
    assert err.value.problems[0].rule == "dsc_expiring"


def _correct_name(platform: Platform, person_id: str, name: str) -> None:
    with platform.sessions() as s:
        person = s.scalar(select(Person).where(Person.person_id == person_id))
        assert person is not None
        person.full_name = name
        s.commit()


def test_certificate_now_reuses_until_the_data_changes(
    platform: Platform, keys: KeyStore, vaccinated: dict
) -> None:
    def now() -> object:
        return platform.writer.run(lambda s: certificate_now(s, CENTRAL, "P-AN", keys=keys))

    first = now()  # none yet: issued
    again = now()
    assert again.uvci == first.uvci and again.dcc == first.dcc and again.revoked == []
    _correct_name(platform, "P-AN", "Nguyễn Văn Ân")  # a correction: the first one is stale
    corrected = now()
    assert corrected.uvci != first.uvci and corrected.revoked == [first.uvci]
    assert corrected.dcc["nam"]["gn"] == "Văn Ân"
    assert now().uvci == corrected.uvci  # and that one is handed out from then on
    booster = submission(
        "an", full_name="Nguyễn Văn Ân", dose_number=3, dose_date=date(2022, 4, 20)
    )
    assert record(platform, booster)[0].dose["status"] == "verified"
    boosted = now()  # a later verified dose: a new one attests it
    # the dose-2 certificate stays valid: what it says is still true
    assert boosted.uvci != corrected.uvci and boosted.revoked == []
    assert boosted.dcc["v"][0]["dn"] == 3 and boosted.dcc["v"][0]["dt"] == "2022-04-20"
    with platform.sessions() as s:
        issued = s.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "certificate.issue")
        ).all()
        assert len(issued) == 3


def test_reissued_if_stale_never_issues_a_first_one(
    platform: Platform, keys: KeyStore, vaccinated: dict
) -> None:
    def stale_or_none(person_id: str) -> object:
        return platform.writer.run(lambda s: reissued_if_stale(s, CENTRAL, person_id, keys=keys))

    assert stale_or_none("P-AN") is None
    with platform.sessions() as s:
        assert s.scalars(select(IssuedCertificate)).all() == []
    first = platform.writer.run(lambda s: issue_certificate(s, CENTRAL, "P-AN", keys=keys))
    assert stale_or_none("P-AN").uvci == first.uvci
    _correct_name(platform, "P-AN", "Nguyễn Văn Ân")
    got = stale_or_none("P-AN")
    assert got.uvci != first.uvci and got.revoked == [first.uvci]
    assert got.dcc["nam"]["gn"] == "Văn Ân"
    with pytest.raises(ServiceError) as err:  # outside the caller's area: 404 as for issuing
        stale_or_none("P-NOBODY")
    assert err.value.status == 404


def test_missing_keys_are_one_503_for_issuing_and_the_api() -> None:
    """certificates.service.keys_missing is the answer both the issue path and the API's trust
    list and verification give when ``tiemchung keys init`` has not been run."""
    exc = keys_missing(KeysMissingError("no keys in /data/keys"))
    assert (exc.status, exc.title) == (503, "Signing keys missing / Chưa có khoá ký")
    assert [(p.field, p.rule, p.message_vi, p.message_en) for p in exc.problems] == [
        ("keys", "keys_missing", "Chưa có khoá ký chứng nhận", "no keys in /data/keys")
    ]
