"""Users: argon2 password hashes, roles and the area each role is scoped to; whether a
signed-in user's token or session still holds (disabled, password to change, revoked).

Administering users (list, change, disable, reset) is :mod:`tiemchung.auth.admin`; the
password policy :mod:`tiemchung.auth.passwords`. This module keeps what sign-in needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.auth.passwords import check_password
from tiemchung.registry.errors import FieldProblem, ServiceError, rule_error
from tiemchung.registry.models import AdminUnit, Person, Site, User
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.audit import audit

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@dataclass(frozen=True)
class Scope:
    """The area a role is scoped to, resolved from the one key the role needs."""

    province_code: str | None = None
    ward_code: str | None = None
    site_id: str | None = None
    person_pk: int | None = None


def resolve_scope(
    session: Session,
    role: Role,
    *,
    province_code: str | None = None,
    ward_code: str | None = None,
    site_id: str | None = None,
    person_id: str | None = None,
) -> Scope:
    """The scope of ``role`` from its key (a commune user needs a ward, …); raises a 422
    naming the missing or unknown key."""
    if role is Role.PROVINCE:
        unit = session.get(AdminUnit, ("2021", province_code or ""))
        if unit is None or unit.level != "province":
            raise rule_error(
                "province_code",
                "unknown_province",
                "Không có tỉnh này",
                "a province user needs a valid province code",
            )
        return Scope(province_code=province_code)
    if role is Role.COMMUNE:
        unit = session.get(AdminUnit, ("2021", ward_code or ""))
        if unit is None or unit.level != "ward":
            raise rule_error(
                "ward_code",
                "unknown_ward",
                "Không có phường/xã này",
                "a commune user needs a valid ward code",
            )
        return Scope(province_code=unit.province_code, ward_code=ward_code)
    if role is Role.SITE:
        site = session.get(Site, site_id or "")
        if site is None:
            raise rule_error(
                "site_id",
                "unknown_site",
                "Không có điểm tiêm này",
                "a site user needs a valid site",
            )
        return Scope(site.province_code, site.ward_code, site.site_id)
    if role is Role.ORGANISATION:
        raise rule_error(
            "role",
            "organisation_user",
            "Tài khoản tổ chức được cấp từ tổ chức đã duyệt (tiemchung orgs add-user, "
            "POST /organisations/{id}/users)",
            "an organisation's user is given from its approved organisation (tiemchung orgs "
            "add-user, POST /organisations/{id}/users)",
        )
    if role is Role.CITIZEN:
        person = session.scalar(select(Person).where(Person.person_id == (person_id or "")))
        if person is None:
            raise rule_error(
                "person_id",
                "unknown_person",
                "Không có người này",
                "a citizen user needs a register person",
            )
        return Scope(person.province_code, person.ward_code, person_pk=person.id)
    return Scope()


def grant_refused(by: Actor, role: Role, scope: Scope) -> ServiceError:
    """The 403 for granting ``role`` in ``scope`` beyond ``by``'s own area, saying why."""
    if by.role not in (Role.CENTRAL, Role.PROVINCE):
        return ServiceError(
            403,
            "Forbidden / Không có quyền",
            [
                FieldProblem(
                    "role",
                    "role_not_allowed",
                    "Chỉ cán bộ tỉnh hoặc trung ương được quản lý người dùng",
                    "only province and central users administer users",
                )
            ],
        )
    if role is Role.CENTRAL:
        vi = "Cán bộ tỉnh không được cấp vai trò trung ương"
        en = "a province user may not grant the central role"
    else:
        vi = f"Chỉ được cấp quyền trong tỉnh của mình ({by.province_code})"
        en = f"a province user may only grant roles within its own province ({by.province_code})"
    return ServiceError(
        403,
        "Outside your area / Ngoài phạm vi",
        [FieldProblem("role", "grant_out_of_area", vi, en)],
    )


@dataclass(frozen=True)
class AreaKeys:
    """The keys a caller gives for a role's area; :func:`resolve_scope` reads the one the
    role needs."""

    province_code: str | None = None
    ward_code: str | None = None
    site_id: str | None = None
    person_id: str | None = None


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
    """Create a user whose scope fits its role (a commune user needs a ward, …), granted
    within ``by``'s own area; the password must be changed at the first sign-in when a
    signed-in administrator chose it (see :func:`add_user`)."""
    keys = AreaKeys(province_code, ward_code, site_id, person_id)
    return add_user(session, by, username, password, role, keys)


def add_user(
    session: Session,
    by: Actor,
    username: str,
    password: str,
    role: Role,
    keys: AreaKeys,
    *,
    must_change: bool | None = None,
) -> User:
    """:func:`create_user`, saying whether the password must be changed at the first
    sign-in. By default it must when a signed-in administrator chose it (whoever chose it
    knows it), not when the operator at the command line bootstraps an installation."""
    username = username.strip()
    if not username or len(username) > 80:
        raise rule_error(
            "username",
            "bad_username",
            "Tên đăng nhập cần 1–80 ký tự",
            "the username needs 1 to 80 characters",
        )
    check_password(password, username)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise rule_error(
            "username", "taken", "Tên đăng nhập đã tồn tại", "username already exists", status=409
        )
    scope = resolve_scope(
        session,
        role,
        province_code=keys.province_code,
        ward_code=keys.ward_code,
        site_id=keys.site_id,
        person_id=keys.person_id,
    )
    if not by.may_administer(role, scope.province_code):
        raise grant_refused(by, role, scope)
    forced = by.user_id is not None if must_change is None else must_change
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role.value,
        province_code=scope.province_code,
        ward_code=scope.ward_code,
        site_id=scope.site_id,
        person_pk=scope.person_pk,
        must_change_password=forced,
        token_version=0,
    )
    session.add(user)
    session.flush()
    audit(
        session,
        by,
        "user.create",
        "user",
        user.id,
        {"role": role.value, "province_code": scope.province_code, "must_change": forced},
    )
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


def change_own_password(session: Session, username: str, old: str, new: str) -> User:
    """The user replaces their password (knowing the old one): clears a forced change and
    bumps the token version, so every other session of the old password ends."""
    user = authenticate(session, username, old)
    if user is None:
        raise ServiceError(
            401,
            "Not authenticated / Chưa đăng nhập",
            [
                FieldProblem(
                    "old_password",
                    "bad_credentials",
                    "Sai tên đăng nhập hoặc mật khẩu hiện tại",
                    "wrong username or current password",
                )
            ],
        )
    check_password(new, user.username, "new_password")
    if new == old:
        raise rule_error(
            "new_password",
            "unchanged",
            "Mật khẩu mới phải khác mật khẩu cũ",
            "the new password must differ from the old one",
        )
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.token_version += 1
    audit(session, actor_for(user), "user.password_change", "user", user.id, None)
    session.flush()
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


# -- does a token or session still hold ------------------------------------------------------


class UserState(NamedTuple):
    """What every request checks of its signed-in user (cached briefly by ``Platform``)."""

    active: bool
    must_change: bool
    version: int


def load_user_state(session: Session, user_id: int) -> UserState:
    row = session.execute(
        select(User.active, User.must_change_password, User.token_version).where(User.id == user_id)
    ).one_or_none()
    if row is None:
        return UserState(False, False, 0)
    return UserState(bool(row[0]), bool(row[1]), int(row[2] or 0))


class Refusal(StrEnum):
    """Why a validly signed token or cookie no longer admits its user."""

    INACTIVE = "inactive_user"
    REVOKED = "token_revoked"
    MUST_CHANGE = "password_change_required"

    @property
    def message(self) -> tuple[str, str]:
        return _REFUSAL_WORDS[self]


_REFUSAL_WORDS = {
    Refusal.INACTIVE: ("Tài khoản đã bị khoá", "the user is disabled"),
    Refusal.REVOKED: (
        "Phiên đăng nhập đã bị thu hồi (mật khẩu, vai trò hoặc khu vực đã đổi): hãy đăng nhập lại",
        "the token was revoked (password, role or area changed): sign in again",
    ),
    Refusal.MUST_CHANGE: (
        "Cần đổi mật khẩu do quản trị viên đặt trước khi dùng hệ thống "
        "(trang đăng nhập hoặc POST /api/v1/auth/password)",
        "the password was set by an administrator and must be changed first "
        "(the sign-in page or POST /api/v1/auth/password)",
    ),
}


def refusal(state: UserState, token_version: int) -> Refusal | None:
    """Why a token issued at ``token_version`` no longer admits a user in ``state`` (None:
    it does). One rule for the API's bearer tokens and the pages' session cookie."""
    if not state.active:
        return Refusal.INACTIVE
    if token_version != state.version:
        return Refusal.REVOKED
    if state.must_change:
        return Refusal.MUST_CHANGE
    return None
