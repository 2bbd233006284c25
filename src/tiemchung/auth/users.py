"""Users: argon2 password hashes, roles and the area each role is scoped to."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.registry.errors import rule_error
from tiemchung.registry.models import AdminUnit, Person, Site, User
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.audit import audit

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session,
    by: Actor,
    username: str,
    password: str,
    role: Role,
    *,
    province_code: str | None = None,
    ward_code: str | None = None,
    site_id: str | None = None,
    person_id: str | None = None,
) -> User:
    """Create a user whose scope fits its role (a commune user needs a ward, …)."""
    if len(password) < 8:
        raise rule_error(
            "password",
            "too_short",
            "Mật khẩu tối thiểu 8 ký tự",
            "password must have at least 8 characters",
        )
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise rule_error(
            "username", "taken", "Tên đăng nhập đã tồn tại", "username already exists", status=409
        )
    person_pk = None
    if role is Role.PROVINCE:
        unit = session.get(AdminUnit, ("2021", province_code or ""))
        if unit is None or unit.level != "province":
            raise rule_error(
                "province_code",
                "unknown_province",
                "Không có tỉnh này",
                "a province user needs a valid province code",
            )
    elif role is Role.COMMUNE:
        unit = session.get(AdminUnit, ("2021", ward_code or ""))
        if unit is None or unit.level != "ward":
            raise rule_error(
                "ward_code",
                "unknown_ward",
                "Không có phường/xã này",
                "a commune user needs a valid ward code",
            )
        province_code = unit.province_code
    elif role is Role.SITE:
        site = session.get(Site, site_id or "")
        if site is None:
            raise rule_error(
                "site_id",
                "unknown_site",
                "Không có điểm tiêm này",
                "a site user needs a valid site",
            )
        province_code, ward_code = site.province_code, site.ward_code
    elif role is Role.CITIZEN:
        person = session.scalar(select(Person).where(Person.person_id == (person_id or "")))
        if person is None:
            raise rule_error(
                "person_id",
                "unknown_person",
                "Không có người này",
                "a citizen user needs a register person",
            )
        person_pk, province_code, ward_code = person.id, person.province_code, person.ward_code
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role.value,
        province_code=province_code,
        ward_code=ward_code,
        site_id=site_id,
        person_pk=person_pk,
    )
    session.add(user)
    session.flush()
    audit(session, by, "user.create", "user", user.id, {"role": role.value})
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        _hasher.hash(password)  # same cost whether or not the user exists
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def active_actor(session: Session, username: str) -> Actor | None:
    """The actor an operator acts as on the command line (``--user``): an active user's role
    and area, without a password — whoever runs the CLI already holds the server's keys."""
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    return None if user is None else actor_for(user)


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        province_code=user.province_code,
        ward_code=user.ward_code,
        site_id=user.site_id,
        person_pk=user.person_pk,
    )
