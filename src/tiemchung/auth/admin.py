"""Administering users (issue 17): list, change role or area, disable and re-enable, reset a
password. One service for ``tiemchung users``, ``/api/v1/users`` and the users page.

Province and central users administer; a user grants only within their own area and below
(:meth:`~tiemchung.registry.scope.Actor.may_administer`): a province user never sees, creates
or changes a central user nor one of another province. A user outside the caller's reach
answers as if it did not exist (404), as persons do. Every change is audited in its
transaction, and bumps the user's token version when it must end the sessions it had (a
disable, a reset, a new role or area): a token carries the role and area it was issued with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from tiemchung.auth.passwords import check_password
from tiemchung.auth.users import grant_refused, hash_password, resolve_scope
from tiemchung.registry.errors import ServiceError, not_found, role_not_allowed, rule_error
from tiemchung.registry.models import Person, User
from tiemchung.registry.scope import Actor, Role
from tiemchung.store.audit import audit

ADMIN_ROLES = (Role.CENTRAL, Role.PROVINCE)


@dataclass(frozen=True)
class UserChange:
    """A change of one user: each field None when left as it is. A new role, or a new key
    of the role's area, resolves the whole area again."""

    role: Role | None = None
    province_code: str | None = None
    ward_code: str | None = None
    site_id: str | None = None
    person_id: str | None = None
    disabled: bool | None = None


def require_admin(actor: Actor) -> None:
    if actor.role not in ADMIN_ROLES:
        raise role_not_allowed(
            "Chỉ cán bộ tỉnh hoặc trung ương được quản lý người dùng",
            "only province and central users administer users",
        )


def _reach(actor: Actor) -> ColumnElement[bool]:
    """The users ``actor`` may see and administer."""
    if actor.role is Role.CENTRAL:
        return true()
    if actor.role is Role.PROVINCE and actor.province_code:
        return (User.province_code == actor.province_code) & (User.role != Role.CENTRAL.value)
    return false()


def user_view(user: User, person_id: str | None = None) -> dict[str, Any]:
    """A user as the list, the API and the CLI show it (never the password hash)."""
    created: datetime | None = user.created_at
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "province_code": user.province_code,
        "ward_code": user.ward_code,
        "site_id": user.site_id,
        "person_id": person_id,
        "active": bool(user.active),
        "must_change_password": bool(user.must_change_password),
        "created_at": created,
    }


def _person_ids(session: Session, users: list[User]) -> dict[int, str]:
    pks = [u.person_pk for u in users if u.person_pk is not None]
    if not pks:
        return {}
    rows = session.execute(select(Person.id, Person.person_id).where(Person.id.in_(pks)))
    return {int(pk): str(pid) for pk, pid in rows}


def list_users(
    session: Session,
    actor: Actor,
    *,
    role: Role | None = None,
    search: str | None = None,
    active: bool | None = None,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[dict[str, Any]], int | None]:
    """The users the caller administers, by id (keyset: ``after`` the last id of the page
    before); the id to ask ``after`` for the next page, None on the last."""
    require_admin(actor)
    query = select(User).where(_reach(actor))
    if role is not None:
        query = query.where(User.role == role.value)
    if search:
        query = query.where(User.username.contains(search.strip(), autoescape=True))
    if active is not None:
        query = query.where(User.active.is_(active))
    if after is not None:
        query = query.where(User.id > after)
    users = list(session.scalars(query.order_by(User.id).limit(limit + 1)))
    more = len(users) > limit
    users = users[:limit]
    pids = _person_ids(session, users)
    items = [user_view(u, pids.get(u.person_pk or -1)) for u in users]
    return items, (users[-1].id if more and users else None)


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    """A user the caller may administer (404 otherwise: others' users do not exist for it)."""
    require_admin(actor)
    user = session.scalar(select(User).where(User.id == user_id, _reach(actor)))
    if user is None:
        raise not_found("user_id", "người dùng", "user")
    return user


def find_user_id(session: Session, actor: Actor, username: str) -> int:
    """The id of the user called ``username`` within the caller's reach (the CLI's name)."""
    require_admin(actor)
    found = session.scalar(select(User.id).where(User.username == username, _reach(actor)))
    if found is None:
        raise not_found("username", f"người dùng {username}", f"user {username}")
    return int(found)


def _not_self(actor: Actor, user: User, what_vi: str, what_en: str) -> None:
    if actor.user_id is not None and actor.user_id == user.id:
        raise rule_error(
            "user_id",
            "self",
            f"Không thể tự {what_vi} chính mình",
            f"you may not {what_en} yourself",
            status=409,
        )


def update_user(session: Session, actor: Actor, user_id: int, change: UserChange) -> dict[str, Any]:
    """Change a user's role, area or disabled flag (each audited, ``user.update``)."""
    user = get_user(session, actor, user_id)
    detail: dict[str, Any] = {}
    area_keys = (change.province_code, change.ward_code, change.site_id, change.person_id)
    if change.role is not None or any(k is not None for k in area_keys):
        _not_self(actor, user, "đổi vai trò hoặc khu vực của", "change the role or area of")
        detail |= _new_scope(session, actor, user, change)
    if change.disabled is not None and change.disabled == user.active:
        _not_self(actor, user, "khoá", "disable")
        user.active = not change.disabled
        detail["active"] = user.active
    if detail:
        user.token_version = (user.token_version or 0) + 1
        action = (
            "user.update"
            if "active" not in detail or len(detail) > 1
            else ("user.enable" if user.active else "user.disable")
        )
        audit(session, actor, action, "user", user.id, detail)
        session.flush()
    pids = _person_ids(session, [user])
    return user_view(user, pids.get(user.person_pk or -1))


def _new_scope(session: Session, actor: Actor, user: User, change: UserChange) -> dict[str, Any]:
    old_role = Role(user.role)
    role = change.role or old_role
    same = role is old_role
    person_id = change.person_id
    if person_id is None and same and user.person_pk is not None:
        person_id = _person_ids(session, [user]).get(user.person_pk)
    scope = resolve_scope(
        session,
        role,
        province_code=change.province_code or (user.province_code if same else None),
        ward_code=change.ward_code or (user.ward_code if same else None),
        site_id=change.site_id or (user.site_id if same else None),
        person_id=person_id,
    )
    if not actor.may_administer(role, scope.province_code):
        raise grant_refused(actor, role, scope)
    now = (user.role, user.province_code, user.ward_code, user.site_id, user.person_pk)
    if now == (role.value, scope.province_code, scope.ward_code, scope.site_id, scope.person_pk):
        # The same role and area (a form sent back unchanged): nothing to audit, and the
        # user's sessions are not ended for it.
        return {}
    before = {"role": user.role, "province_code": user.province_code, "ward_code": user.ward_code}
    user.role = role.value
    user.province_code = scope.province_code
    user.ward_code = scope.ward_code
    user.site_id = scope.site_id
    user.person_pk = scope.person_pk
    return {
        "before": before,
        "role": role.value,
        "province_code": scope.province_code,
        "ward_code": scope.ward_code,
        "site_id": scope.site_id,
    }


def reset_password(
    session: Session, actor: Actor, user_id: int, new_password: str
) -> dict[str, Any]:
    """Set a user's password to one the administrator chose: the user must change it at the
    next sign-in, and every session of the old one ends (``user.reset_password``)."""
    user = get_user(session, actor, user_id)
    _not_self(actor, user, "đặt lại mật khẩu của", "reset the password of")
    check_password(new_password, user.username)
    user.password_hash = hash_password(new_password)
    user.must_change_password = True
    user.token_version = (user.token_version or 0) + 1
    audit(session, actor, "user.reset_password", "user", user.id, None)
    session.flush()
    pids = _person_ids(session, [user])
    return user_view(user, pids.get(user.person_pk or -1))


__all__ = [
    "ServiceError",
    "UserChange",
    "find_user_id",
    "get_user",
    "list_users",
    "require_admin",
    "reset_password",
    "update_user",
    "user_view",
]
