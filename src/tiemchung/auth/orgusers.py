"""An organisation's users (issue 18): role ``org``, one ``organisation_users`` row each.

Here rather than in ``auth/users.py``'s ``create_user`` because the one who gives an
organisation its user is whoever approved it (its ward's commune user, the province,
central: ``registry/scope.Actor.may_decide_organisation``), not only the province and
central who administer staff (``may_administer``): a commune approves a market and hands
it its account the same day. The password rules and the audit event are the same.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.auth.passwords import check_password
from tiemchung.auth.users import hash_password
from tiemchung.registry.errors import forbidden, not_found, rule_error
from tiemchung.registry.models import User
from tiemchung.registry.people.registration.organisations import APPROVED
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.orgusers import OrganisationUser
from tiemchung.registry.tables.registrations import Organisation
from tiemchung.store.audit import audit


def add_organisation_user(
    session: Session, by: Actor, organisation_id: int, username: str, password: str
) -> User:
    """A user who submits the approved organisation's lists (audited; the caller commits).
    The password is to be changed at the first sign-in when a signed-in person chose it."""
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise not_found("organisation_id", f"tổ chức {organisation_id}", "the organisation")
    if not by.may_decide_organisation(org.province_code, org.ward_code):
        raise forbidden(
            "organisation_id",
            "Chỉ phường/xã của tổ chức, tỉnh hoặc trung ương được cấp tài khoản",
            "only the organisation's ward, its province or central may give it users",
        )
    if org.status != APPROVED:
        raise rule_error(
            "organisation_id",
            "not_approved",
            "Tổ chức chưa được duyệt",
            "the organisation is not approved",
            status=409,
        )
    username = username.strip()
    if not username or len(username) > 80:
        raise rule_error(
            "username", "bad_username", "Tên đăng nhập cần 1–80 ký tự", "1 to 80 characters"
        )
    check_password(password, username)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise rule_error(
            "username", "taken", "Tên đăng nhập đã tồn tại", "username already exists", status=409
        )
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=Role.ORGANISATION.value,
        must_change_password=by.user_id is not None,
        token_version=0,
    )
    session.add(user)
    session.flush()
    session.add(OrganisationUser(user_id=user.id, organisation_id=org.id))
    session.flush()
    audit(session, by, "user.create", "user", user.id,
          {"role": Role.ORGANISATION.value, "organisation_id": org.id})  # fmt: skip
    return user
