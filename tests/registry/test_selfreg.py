"""A person registers themselves with a one-time code (issue 18 point 2), both backends:
the code is queued in the outbox (kind otp) and stored only hashed; wrong codes count, an
expired code is refused, the per-phone throttle answers 429, and a person an organisation
already put forward gets ONE registration with two sources."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.people.registration import selfreg
from tiemchung.registry.people.registration.priority import load_priority_groups
from tiemchung.registry.tables.messages import OutboxMessage
from tiemchung.registry.tables.orgusers import RegistrationCode
from tiemchung.registry.tables.registrations import Registration, RegistrationSource

SECRET = b"test-secret"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
FORM = {
    "national_id": "001085123456",
    "full_name": "Nguyễn Văn An",
    "dob": "12/04/1985",
    "phone": "0912 000 001",
    "priority_group": "NQ21-09",
    "underlying_condition": "có",
}


def _start(platform: Platform, form: dict[str, str] = FORM, ip: str = "10.0.0.1") -> int:
    with platform.sessions() as s:
        load_priority_groups(s)
        started = selfreg.start(s, form, ip=ip, secret=SECRET, now=NOW)
        s.commit()
        return started.code_id


def _code_sent(platform: Platform, code_id: int) -> str:
    with platform.sessions() as s:
        msg = s.scalars(select(OutboxMessage).where(OutboxMessage.ref_id == str(code_id))).one()
        assert (msg.kind, msg.phone) == ("otp", "0912000001")
        found = re.search(r"\b(\d{6})\b", msg.body)
        assert found is not None, msg.body
        stored = s.get(RegistrationCode, code_id)
        assert stored is not None and found.group(1) not in stored.code_hash
        return found.group(1)


def test_the_code_registers_the_person(platform: Platform) -> None:
    code_id = _start(platform)
    code = _code_sent(platform, code_id)
    wrong = "000000" if code != "000000" else "111111"
    with platform.sessions() as s:
        with pytest.raises(ServiceError) as exc:
            selfreg.confirm(s, code_id, wrong, secret=SECRET, now=NOW)
        assert exc.value.problems[0].rule == "wrong_code"
        assert "4" in exc.value.problems[0].message_en
        s.commit()
        result = selfreg.confirm(s, code_id, code, secret=SECRET, now=NOW + timedelta(minutes=5))
        s.commit()
        assert result.result == "verified"
        reg = s.scalars(select(Registration)).one()
        assert (reg.priority_group, reg.underlying_condition, reg.phone) == (
            "NQ21-09",
            True,
            "0912000001",
        )
        src = s.scalars(select(RegistrationSource)).one()
        assert (src.source, src.organisation_id) == ("self", None)
        with pytest.raises(ServiceError) as exc:
            selfreg.confirm(s, code_id, code, secret=SECRET, now=NOW)
        assert exc.value.status == 409


def test_expiry_attempts_and_throttle(platform: Platform) -> None:
    code_id = _start(platform)
    code = _code_sent(platform, code_id)
    with platform.sessions() as s:
        with pytest.raises(ServiceError) as exc:
            selfreg.confirm(s, code_id, code, secret=SECRET, now=NOW + timedelta(minutes=11))
        assert exc.value.status == 410
    second = _start(platform)
    with platform.sessions() as s:
        for _ in range(selfreg.MAX_ATTEMPTS):
            with pytest.raises(ServiceError):
                selfreg.confirm(s, second, "999999" if code != "999999" else "888888",
                                secret=SECRET, now=NOW)  # fmt: skip
            s.commit()
        with pytest.raises(ServiceError) as exc:
            selfreg.confirm(s, second, _code_sent(platform, second), secret=SECRET, now=NOW)
        assert exc.value.status == 429
    _start(platform)  # the third code of this phone within the hour
    with platform.sessions() as s, pytest.raises(ServiceError) as exc:
        selfreg.start(s, FORM, ip="10.0.0.2", secret=SECRET, now=NOW)
    assert exc.value.status == 429 and exc.value.problems[0].field == "phone"


def test_a_bad_form_is_named_before_any_text(platform: Platform) -> None:
    with platform.sessions() as s:
        load_priority_groups(s)
        for change, field in (
            ({"phone": "024 3826 1234"}, "phone"),  # a fixed line takes no text
            ({"dob": "31/02/1985"}, "dob"),
            ({"national_id": ""}, "national_id"),
            ({"priority_group": "X9"}, "priority_group"),
        ):
            with pytest.raises(ServiceError) as exc:
                selfreg.start(s, FORM | change, ip=None, secret=SECRET, now=NOW)
            assert exc.value.problems[0].field == field, change
        assert s.scalars(select(OutboxMessage)).all() == []
