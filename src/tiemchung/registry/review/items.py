"""What every kind of review item shares: who has a worklist, which items are theirs, and
when an item is already decided.

The worklist listing (worklists.py), the decisions on an item (decisions.py) and a citizen's
ticket, whose review item is decided through the ticket (tickets.py), all stand on these; they
live here, below all three, so that none of them imports another to reach them.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from tiemchung.identity import IdentityError, ward_by_code
from tiemchung.registry.doses.rules import DOSE_CHECK
from tiemchung.registry.errors import (
    FieldProblem,
    ServiceError,
    not_found,
    role_not_allowed,
    rule_error,
)
from tiemchung.registry.fields import clean_dob, clean_id, clean_name, clean_phone, clean_sex
from tiemchung.registry.models import ReviewItem
from tiemchung.registry.review.corrections import CORRECTABLE
from tiemchung.registry.scope import Actor, Role

WORKLIST_ROLES = (Role.CENTRAL, Role.PROVINCE, Role.COMMUNE)
REOPEN_ROLES = (Role.CENTRAL, Role.PROVINCE)
OPEN = "open"
STATUSES = ("open", "accepted", "rejected", "edited", "superseded")
DECIDED = ("accepted", "rejected", "edited")
KINDS = ("review", "not_found", "unverified", "ticket", DOSE_CHECK)


# -- scope ------------------------------------------------------------------------------------
def require_worklist_role(actor: Actor) -> None:
    """Site and citizen users have no worklist."""
    if actor.role not in WORKLIST_ROLES:
        raise role_not_allowed(
            f"Vai trò {actor.role.value} không dùng danh sách rà soát",
            f"role {actor.role.value} has no worklist",
        )


def item_filter(actor: Actor) -> ColumnElement[bool]:
    """The review items inside the caller's area."""
    match actor.role:
        case Role.CENTRAL:
            return true()
        case Role.PROVINCE:
            return ReviewItem.province_code == actor.province_code
        case Role.COMMUNE:
            return ReviewItem.ward_code == actor.ward_code
    return false()


def already_decided(item: ReviewItem) -> ServiceError:
    """The 409 of a decision on an item someone already decided."""
    return ServiceError(
        409,
        "Already decided / Đã có quyết định",
        [
            FieldProblem(
                "id",
                "already_decided",
                f"Mục {item.id} đã có quyết định ({item.status}); tỉnh hoặc trung ương mở lại "
                "nếu cần",
                f"item {item.id} is already decided ({item.status}); a province or central "
                "user may reopen it",
            )
        ],
    )


def visible_item(session: Session, actor: Actor, item_id: int) -> ReviewItem:
    """The caller's item ``item_id``; 404 when it is outside the caller's area (its
    existence does not leak)."""
    require_worklist_role(actor)
    item = session.scalars(
        select(ReviewItem).where(ReviewItem.id == item_id, item_filter(actor))
    ).first()
    if item is None:
        raise not_found("id", f"mục rà soát {item_id}", f"review item {item_id}")
    return item


def clean_edit(field_: str, value: str | None) -> str | None:
    """A reviewer's typed value in the registry's stored form, or a 422 naming the field."""
    if field_ not in CORRECTABLE:
        raise rule_error(
            field_,
            "not_correctable",
            f"Không sửa được trường {field_}; chỉ: {', '.join(CORRECTABLE)}",
            f"field {field_} cannot be corrected; only: {', '.join(CORRECTABLE)}",
        )
    if value is None or not str(value).strip():
        if field_ == "full_name":
            raise rule_error(field_, "required", "Họ và tên là bắt buộc", "full name is required")
        return None
    value = str(value).strip()
    match field_:
        case "national_id":
            return clean_id(value).value
        case "full_name":
            return clean_name(value, field_)[0]
        case "dob":
            return clean_dob(value, field_)
        case "sex":
            return clean_sex(value, field_)
        case "phone":
            return clean_phone(value, field_)
        case "ward_code":
            try:
                unit = ward_by_code(value, scheme="2021")
            except IdentityError:  # not digits: no ward has it either
                unit = None
            if unit is None:
                raise rule_error(
                    field_,
                    "unknown_ward",
                    f"Không có xã/phường mã {value}",
                    f"no ward has code {value}",
                )
            return value
    return " ".join(value.split())
