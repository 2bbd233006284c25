"""Priority groups (issue 18 point 3): the government's list, its default, and age bands.

The default is the list of Nghị quyết 21/NQ-CP (26/02/2021) on buying and using COVID-19
vaccines: its eleven groups, and two the Government and the Ministry of Health added in 2021
(people sent abroad for work or study; other groups the Ministry decides). The groups' words
are short forms of the resolution's; an operator edits them (``tiemchung groups edit``,
``PATCH /api/v1/priority-groups/{code}``) and adds a later government's groups, and
:func:`load_priority_groups` never overwrites an edit: ``tiemchung init`` runs it every time,
as it runs ``load_products``.

The age band is computed from the date of birth whenever it is needed (never stored: it
changes with the day), and the underlying condition is one yes/no.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tiemchung.registry.errors import not_found, role_not_allowed, rule_error
from tiemchung.registry.scope import Actor
from tiemchung.registry.tables.registrations import PriorityGroup
from tiemchung.store.audit import audit


@dataclass(frozen=True)
class GroupDefault:
    code: str
    name_vi: str
    name_en: str


#: Nghị quyết 21/NQ-CP's groups in its order, then the 2021 additions
DEFAULT_GROUPS: tuple[GroupDefault, ...] = (
    GroupDefault("NQ21-01", "Người làm việc trong các cơ sở y tế, ngành y tế",
                 "Health workers (public and private)"),
    GroupDefault("NQ21-02", "Người tham gia phòng chống dịch (ban chỉ đạo, khu cách ly, truy "
                 "vết, tổ COVID cộng đồng, tình nguyện viên, phóng viên)",
                 "People on the front line of epidemic control (steering committees, "
                 "quarantine, tracing, community teams, volunteers, reporters)"),
    GroupDefault("NQ21-03", "Lực lượng Quân đội", "The armed forces"),
    GroupDefault("NQ21-04", "Lực lượng Công an", "The police"),
    GroupDefault("NQ21-05", "Cán bộ ngoại giao, người làm việc trong cơ quan ngoại giao, lãnh sự, "
                 "tổ chức quốc tế tại Việt Nam",
                 "Diplomatic staff, staff of diplomatic missions and international "
                 "organisations in Viet Nam"),
    GroupDefault("NQ21-06", "Nhân viên hải quan, cán bộ làm công tác xuất nhập cảnh",
                 "Customs and immigration officers"),
    GroupDefault("NQ21-07", "Người cung cấp dịch vụ thiết yếu (hàng không, vận tải, du lịch, "
                 "điện, nước...)",
                 "Providers of essential services (aviation, transport, tourism, power, "
                 "water...)"),
    GroupDefault("NQ21-08", "Giáo viên, người làm việc, học sinh, sinh viên tại cơ sở giáo dục; "
                 "người làm việc tại cơ quan hành chính thường xuyên tiếp xúc nhiều người",
                 "Teachers, staff and students of schools and universities; public "
                 "administration staff in frequent contact with people"),
    GroupDefault("NQ21-09", "Người mắc bệnh mạn tính; người trên 65 tuổi",
                 "People with chronic diseases; people over 65"),
    GroupDefault("NQ21-10", "Người sinh sống tại vùng có dịch", "People living in outbreak areas"),
    GroupDefault("NQ21-11", "Người nghèo, các đối tượng chính sách xã hội",
                 "The poor and social-policy beneficiaries"),
    GroupDefault("NQ21-12", "Người được cử đi công tác, học tập, lao động ở nước ngoài hoặc có "
                 "nhu cầu xuất cảnh",
                 "People sent abroad for work or study, or needing to travel abroad"),
    GroupDefault("NQ21-13", "Các đối tượng khác do Bộ Y tế quyết định",
                 "Other groups the Ministry of Health decides"),
)  # fmt: skip

#: (lowest age, label) from the youngest: a band runs to the next one's lowest age
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (0, "0-11"),
    (12, "12-17"),
    (18, "18-49"),
    (50, "50-64"),
    (65, "65-74"),
    (75, "75+"),
)

_YES = {"1", "x", "co", "có", "yes", "y", "true", "đúng", "c"}
_NO = {"", "0", "khong", "không", "no", "n", "false", "k"}


def load_priority_groups(session: Session) -> int:
    """Insert the default groups not stored yet (the caller commits); returns how many. An
    operator's edit of a stored group survives: a stored code is never touched."""
    stored = set(session.scalars(select(PriorityGroup.code)))
    rows = [
        {"code": g.code, "name_vi": g.name_vi, "name_en": g.name_en, "sort": i, "active": True}
        for i, g in enumerate(DEFAULT_GROUPS, start=1)
        if g.code not in stored
    ]
    if rows:
        session.execute(insert(PriorityGroup), rows)
    return len(rows)


def list_priority_groups(session: Session, *, active_only: bool = False) -> list[PriorityGroup]:
    """The groups in the government's order (anyone may read them: the citizen form lists
    them)."""
    stmt = select(PriorityGroup).order_by(PriorityGroup.sort, PriorityGroup.code)
    if active_only:
        stmt = stmt.where(PriorityGroup.active.is_(True))
    return list(session.scalars(stmt))


def active_codes(session: Session) -> set[str]:
    return set(session.scalars(select(PriorityGroup.code).where(PriorityGroup.active.is_(True))))


@dataclass(frozen=True)
class GroupChanges:
    """What an operator changes in a group (None: as is); a new code is a new group."""

    name_vi: str | None = None
    name_en: str | None = None
    sort: int | None = None
    active: bool | None = None


def _text(field: str, value: str) -> str:
    value = " ".join(value.split())
    if not value or len(value) > 300:
        raise rule_error(
            field,
            "invalid_length",
            f"Trường {field} phải có từ 1 đến 300 ký tự",
            f"{field} must have 1 to 300 characters",
        )
    return value


def _refuse_unless_central(actor: Actor) -> None:
    if not actor.may_edit_priority_groups():
        raise role_not_allowed(
            "Chỉ cấp trung ương được sửa danh sách nhóm ưu tiên",
            "only central users may edit the priority groups",
        )


def save_priority_group(
    session: Session, actor: Actor, code: str, changes: GroupChanges
) -> PriorityGroup:
    """Edit a group, or add one when ``code`` is new (then both names are needed). Central
    only; audited with the values before and after; the caller commits. A group set
    inactive is no longer offered; registrations already in it keep it."""
    _refuse_unless_central(actor)
    code = code.strip().upper()
    if not code or len(code) > 10 or not all(ch.isalnum() or ch in "-_" for ch in code):
        raise rule_error(
            "code",
            "invalid_code",
            "Mã nhóm: 1–10 chữ, số, '-' hoặc '_'",
            "a group code has 1 to 10 letters, digits, '-' or '_'",
        )
    group = session.get(PriorityGroup, code)
    created = group is None
    if group is None:
        if changes.name_vi is None or changes.name_en is None:
            raise rule_error(
                "name_vi",
                "required",
                "Nhóm mới cần tên tiếng Việt và tiếng Anh",
                "a new group needs its Vietnamese and English names",
            )
        group = PriorityGroup(code=code, name_vi="", name_en="", sort=100, active=True)
        session.add(group)
    before = {} if created else _detail(group)
    if changes.name_vi is not None:
        group.name_vi = _text("name_vi", changes.name_vi)
    if changes.name_en is not None:
        group.name_en = _text("name_en", changes.name_en)
    if changes.sort is not None:
        group.sort = changes.sort
    if changes.active is not None:
        group.active = changes.active
    session.flush()
    after = _detail(group)
    if after != before:
        changed = {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}
        action = "priority_group.create" if created else "priority_group.update"
        audit(session, actor, action, "priority_group", code, changed)
    return group


def get_priority_group(session: Session, code: str) -> PriorityGroup:
    group = session.get(PriorityGroup, code)
    if group is None:
        raise not_found("code", f"nhóm ưu tiên {code}", f"priority group {code}")
    return group


def _detail(g: PriorityGroup) -> dict[str, object]:
    return {"name_vi": g.name_vi, "name_en": g.name_en, "sort": g.sort, "active": bool(g.active)}


def age_on(dob: str | None, on: date) -> int | None:
    """Whole years on ``on`` from an ISO date of birth; a year alone counts from its 1 July
    (the middle: off by at most half a year either way), a year and month from the 15th."""
    if not dob or len(dob) < 4 or not dob[:4].isdigit():
        return None
    year = int(dob[:4])
    month = int(dob[5:7]) if len(dob) >= 7 and dob[5:7].isdigit() else 7
    day = int(dob[8:10]) if len(dob) >= 10 and dob[8:10].isdigit() else (15 if len(dob) >= 7 else 1)
    years = on.year - year - ((on.month, on.day) < (month, day))
    return years if years >= 0 else None


def age_band(dob: str | None, on: date) -> str | None:
    """The band (``18-49``, ``65-74``...) of :data:`AGE_BANDS` a person is in on ``on``."""
    age = age_on(dob, on)
    if age is None:
        return None
    label = AGE_BANDS[0][1]
    for lowest, name in AGE_BANDS:
        if age >= lowest:
            label = name
    return label


def parse_yes_no(value: str | bool | None, field: str = "underlying_condition") -> bool:
    """An underlying condition as people write it in a list (``có``, ``x``, ``1``, ``yes``;
    ``không``, ``0``, empty); anything else is refused by name, never guessed."""
    if isinstance(value, bool):
        return value
    text = (value or "").strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise rule_error(
        field,
        "not_yes_no",
        f"'{value}': cần 'có' hoặc 'không'",
        f"'{value}': expected yes or no",
    )
