"""The SMS templates: stored, edited by the centre, rendered, and what each one costs.

One row per key in ``sms_templates`` (``registry/tables/templates.py``); no row is the
built-in text (:data:`DEFAULTS`, the texts the platform always sent), so "reset" deletes the
row. A body names its values as ``{day}``, ``{site}``, ``{link}``…: each key allows its own
set, and a body that names an unknown one, or lacks one without which the text is useless
(``{link}`` in an invitation, ``{code}`` in a one-time code), is refused before it is stored.

Who edits: the centre only. A template is one text for the whole country (there is one row
per key, no area), so a province that changed it would change every province's texts; a
province may read the templates and preview a body, and asks the centre for a change.

Rendering (:func:`render`) is the only place a text is made from a template: the value of
``{site}`` is cut so that the site's name never adds a segment — a text whose link is cut is
useless, so the name gives way first. A template is unaccented (GSM-7, 160/153 characters a
segment) unless it keeps its accents (UCS-2, 70/67); the text is prepared here, so the sender
sends it as rendered (``sender.outgoing``). The budget (:func:`budget_of`) renders a body with
the longest plausible values (a 40-character site, the real link) through the same function.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.identity.sms import (
    LIMITS,
    Encoding,
    encoding_for,
    is_gsm7,
    segment_count,
    unaccent,
    units,
)
from tiemchung.registry.errors import (
    FieldProblem,
    Message,
    ServiceError,
    not_found,
    role_not_allowed,
)
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.templates import SmsTemplate
from tiemchung.store.audit import audit

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_BODY = 1000


@dataclass(frozen=True)
class Spec:
    """What a key's body may name, must name, and its built-in text."""

    key: str
    default: str
    allowed: tuple[str, ...]
    required: tuple[str, ...]
    name_vi: str
    name_en: str


SPECS: dict[str, Spec] = {
    s.key: s
    for s in (
        Spec(
            "invitation",
            "TiemChung: Moi ban tiem vac xin ngay {day} {slot} tai {site}. Tra loi: {link}",
            ("day", "slot", "site", "link"),
            ("link",),
            "Thư mời tiêm",
            "Invitation",
        ),
        Spec(
            "moved_up",
            "TiemChung: Da co cho cho ban ngay {day} {slot} tai {site}. Tra loi: {link}",
            ("day", "slot", "site", "link"),
            ("link",),
            "Có chỗ từ danh sách chờ",
            "Moved up from the wait list",
        ),
        Spec(
            "cancelled",
            "TiemChung: Buoi tiem ngay {day} tai {site} da huy. Xin loi ban.",
            ("day", "site"),
            (),
            "Buổi tiêm bị hủy",
            "Session cancelled",
        ),
        Spec(
            "reminder",
            "TiemChung: Ban den lich tiem mui {dose} vac xin {product} tu ngay {due}. "
            "Lien he tram y te xa/phuong de hen ngay tiem.",
            ("dose", "product", "due"),
            (),
            "Nhắc lịch tiêm",
            "Reminder",
        ),
        Spec(
            "otp",
            "Ma xac nhan dang ky tiem chung: {code} (hieu luc {minutes} phut). "
            "Khong chia se ma nay.",
            ("code", "minutes"),
            ("code",),
            "Mã xác nhận đăng ký",
            "Registration code",
        ),
    )
}
DEFAULTS: dict[str, str] = {k: s.default for k, s in SPECS.items()}

#: The longest plausible values, for the budget: a 40-character site name (accented, as
#: names are stored), the longest slot label, dose 10, the longest product code.
SITE_SAMPLE = "Trạm Y tế phường Nguyễn Thái Bình Quận 1"
SAMPLES: dict[str, str] = {
    "day": "31/12",
    "slot": "13:30-16:30",
    "site": SITE_SAMPLE,
    "dose": "10",
    "product": "EU/1/20/1525",
    "due": "31/12/2026",
    "code": "000000",
    "minutes": "10",
}


#: The invitation id of the budget's link: nine digits (a billion invitations), its real
#: length otherwise (``auth/invitelinks.link_maker`` over ``TIEMCHUNG_PUBLIC_URL``).
SAMPLE_INVITATION_ID = 999_999_999


@dataclass(frozen=True)
class Template:
    """A template as used: the stored row, or the built-in text (``is_default``)."""

    key: str
    body: str
    keep_accents: bool = False
    is_default: bool = True
    updated_by: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class TemplateBudget:
    """What a body costs at worst: the text rendered with :data:`SAMPLES` (and the real link),
    its alphabet, characters (septets or UTF-16 units), segments, room left, and warnings."""

    key: str
    text: str
    encoding: str
    characters: int
    segments: int
    left: int
    single_limit: int
    segment_limit: int
    site_cut: int
    warnings: list[Message] = field(default_factory=list)


def spec(key: str) -> Spec:
    """The key's spec, or a 404 naming the key and the known ones."""
    found = SPECS.get(key)
    if found is None:
        known = ", ".join(SPECS)
        raise not_found(
            "key", f"mẫu tin '{key}' (có: {known})", f"template '{key}' (known: {known})"
        )
    return found


def default(key: str) -> Template:
    """The built-in template of ``key``."""
    return Template(key, spec(key).default)


def _of(row: SmsTemplate) -> Template:
    return Template(
        row.key, row.body, bool(row.keep_accents), False, row.updated_by_name, row.updated_at
    )


def current(session: Session, key: str) -> Template:
    """The template a run uses (read once per run: the callers keep it for all its texts)."""
    spec(key)
    row = session.get(SmsTemplate, key)
    return _of(row) if row is not None else default(key)


def list_templates(session: Session, actor: Actor) -> list[Template]:
    """Every key's template, stored or built-in, in :data:`SPECS`' order."""
    _may_read(actor)
    rows = {r.key: r for r in session.scalars(select(SmsTemplate))}
    return [_of(rows[k]) if k in rows else default(k) for k in SPECS]


def get_template(session: Session, actor: Actor, key: str) -> Template:
    """One key's template."""
    _may_read(actor)
    return current(session, key)


def _may_read(actor: Actor) -> None:
    if actor.role not in (Role.CENTRAL, Role.PROVINCE):
        raise role_not_allowed(
            "Chỉ trung ương và tỉnh xem được mẫu tin nhắn",
            "only the centre and provinces see the SMS templates",
        )


def _may_edit(actor: Actor) -> None:
    if actor.role is not Role.CENTRAL:
        raise role_not_allowed(
            "Chỉ trung ương sửa được mẫu tin nhắn (một mẫu dùng cho cả nước)",
            "only the centre edits the SMS templates (one template serves the whole country)",
        )


def check_body(key: str, body: str) -> str:
    """The body, stripped, or a 422 naming each unknown or missing placeholder."""
    s = spec(key)
    text = unicodedata.normalize("NFC", body).strip()
    problems: list[FieldProblem] = []
    if not text:
        problems.append(
            FieldProblem(
                "body", "required", "Nội dung mẫu tin trống", "the template's body is empty"
            )
        )
    if len(text) > MAX_BODY:
        problems.append(
            FieldProblem(
                "body",
                "too_long",
                f"Nội dung dài {len(text)} ký tự, tối đa {MAX_BODY}",
                f"the body is {len(text)} characters long, at most {MAX_BODY}",
            )
        )
    named = PLACEHOLDER.findall(text)
    allowed = ", ".join("{" + a + "}" for a in s.allowed)
    for name in dict.fromkeys(named):
        if name not in s.allowed:
            problems.append(
                FieldProblem(
                    "body",
                    "unknown_placeholder",
                    f"Mẫu '{key}' không có giá trị {{{name}}} (dùng được: {allowed})",
                    f"template '{key}' has no value {{{name}}} (allowed: {allowed})",
                )
            )
    for name in s.required:
        if name not in named:
            problems.append(
                FieldProblem(
                    "body",
                    "missing_placeholder",
                    f"Mẫu '{key}' phải có {{{name}}}: thiếu nó tin nhắn vô dụng",
                    f"template '{key}' must contain {{{name}}}: the text is useless without it",
                )
            )
    if problems:
        raise ServiceError(422, "Invalid template / Mẫu tin không hợp lệ", problems)
    return text


def update_template(
    session: Session, actor: Actor, key: str, body: str, *, keep_accents: bool = False
) -> Template:
    """Store ``key``'s new body (flushed, audited; the caller commits)."""
    _may_edit(actor)
    text = check_body(key, body)
    row = session.get(SmsTemplate, key)
    old = row.body if row is not None else None
    if row is None:
        row = SmsTemplate(key=key)
        session.add(row)
    row.body, row.keep_accents = text, keep_accents
    row.updated_by, row.updated_by_name = actor.user_id, actor.username
    row.updated_at = datetime.now().astimezone()
    session.flush()
    audit(
        session,
        actor,
        "sms_template.update",
        "sms_template",
        key,
        {
            "old": old if old is not None else SPECS[key].default,
            "new": text,
            "keep_accents": keep_accents,
        },
    )
    return _of(row)


def reset_template(session: Session, actor: Actor, key: str) -> Template:
    """Back to the built-in text (the row deleted; audited even when there was none)."""
    _may_edit(actor)
    spec(key)
    row = session.get(SmsTemplate, key)
    if row is not None:
        old = row.body
        session.delete(row)
        session.flush()
    else:
        old = None
    audit(session, actor, "sms_template.reset", "sms_template", key, {"old": old})
    return default(key)


#: the ASCII characters GSM-7 lacks, and those it sends as two septets: a plain ASCII text
#: (most texts, every link) is counted by C-level string calls instead of a loop a character
_ASCII_NOT_GSM = re.compile(
    "[" + re.escape("".join(chr(i) for i in range(128) if not is_gsm7(chr(i)))) + "]"
)
_ASCII_EXT = tuple(chr(i) for i in range(128) if is_gsm7(chr(i)) and units(chr(i), "gsm7") == 2)


def _encoding(text: str) -> Encoding:
    if text.isascii() and not _ASCII_NOT_GSM.search(text):
        return "gsm7"
    return encoding_for(text)


def _units(text: str, enc: Encoding) -> int:
    if enc == "gsm7" and text.isascii():
        return len(text) + sum(text.count(c) for c in _ASCII_EXT)
    return units(text, enc)


def _segments(text: str, enc: Encoding) -> int:
    n = _units(text, enc)
    single, each = LIMITS[enc]
    if n <= single:
        return 1 if n else 0
    return -(-n // each)


@lru_cache(maxsize=4096)
def _clean(text: str, keep_accents: bool) -> str:
    """The text as it will be sent: NFC with accents, or unaccented with anything left that
    GSM-7 lacks dropped (one stray character would turn the whole text into UCS-2)."""
    if text.isascii() and not _ASCII_NOT_GSM.search(text):
        return text  # nothing to fold, nothing to drop
    if keep_accents:
        return unicodedata.normalize("NFC", text)
    return "".join(ch for ch in unaccent(text) if is_gsm7(ch))


def render(template: Template, values: Mapping[str, str]) -> tuple[str, int]:
    """The text of ``template`` with ``values``, ready to send, and how many characters of
    the site's name were cut so that the name adds no segment."""
    keep = template.keep_accents
    vals = {k: _clean(v, keep) for k, v in values.items()}
    site = " ".join(vals.get("site", "").split())
    body = _clean(template.body, keep)

    def fill(site_value: str) -> str:
        return PLACEHOLDER.sub(
            lambda m: site_value if m.group(1) == "site" else vals.get(m.group(1), m.group(0)),
            body,
        )

    if "{site}" not in body or not site:
        return fill(site), 0
    full = fill(site)
    enc = _encoding(full)
    rest = fill("")
    rest_units = _units(rest, enc)
    single, each = LIMITS[enc]
    n = max(_segments(rest, enc), 1)
    room = (single if n == 1 else n * each) - rest_units
    used, end = 0, 0
    for end, ch in enumerate(site):  # noqa: B007 (end is read after the loop)
        used += units(ch, enc)
        if used > room:
            break
    else:
        end = len(site)
    cut = site[:end].rstrip()
    return (full, 0) if cut == site else (fill(cut), len(site) - len(cut))


def budget_of(
    key: str, body: str, *, keep_accents: bool = False, sample_link: str
) -> TemplateBudget:
    """The worst case of a body (checked first): rendered with :data:`SAMPLES` and the real
    link's length (``sample_link``), through :func:`render` as the real texts are."""
    text = check_body(key, body)
    values = {**SAMPLES, "link": sample_link}
    sent, site_cut = render(Template(key, text, keep_accents, False), values)
    enc = encoding_for(sent)
    n = units(sent, enc)
    count = segment_count(sent, enc)
    single, each = LIMITS[enc]
    left = (single if count <= 1 else count * each) - n
    warnings: list[Message] = []
    if count > 1:
        warnings.append(
            Message(
                f"Tin này tốn {count} tin nhắn (quá {single} ký tự): tính tiền từng tin",
                f"this text takes {count} segments (over {single} characters): each one is billed",
            )
        )
    if site_cut:
        warnings.append(
            Message(
                f"Tên cơ sở dài 40 ký tự bị cắt {site_cut} ký tự để vừa tin nhắn",
                f"a 40-character site name loses {site_cut} characters to fit the text",
            )
        )
    if keep_accents and enc == "ucs2":
        warnings.append(
            Message(
                "Giữ dấu: bảng mã UCS-2, chỉ 70 ký tự một tin",
                "accents kept: UCS-2, only 70 characters a segment",
            )
        )
    return TemplateBudget(key, sent, enc, n, count, left, single, each, site_cut, warnings)


def as_dict(template: Template, *, sample_link: str) -> dict[str, Any]:
    """A template with its rules and its budget, as the API, the page and the CLI show it."""
    s = SPECS[template.key]
    return {
        "key": template.key,
        "name_vi": s.name_vi,
        "name_en": s.name_en,
        "body": template.body,
        "keep_accents": template.keep_accents,
        "is_default": template.is_default,
        "default_body": s.default,
        "allowed": list(s.allowed),
        "required": list(s.required),
        "updated_by": template.updated_by,
        "updated_at": template.updated_at,
        "budget": budget_dict(
            budget_of(
                template.key,
                template.body,
                keep_accents=template.keep_accents,
                sample_link=sample_link,
            )
        ),
    }


def budget_dict(b: TemplateBudget) -> dict[str, Any]:
    """A budget as plain values (the warnings in both languages)."""
    return {
        "text": b.text,
        "encoding": b.encoding,
        "characters": b.characters,
        "segments": b.segments,
        "left": b.left,
        "single_limit": b.single_limit,
        "segment_limit": b.segment_limit,
        "site_cut": b.site_cut,
        "warnings": [{"message_vi": w.vi, "message_en": w.en} for w in b.warnings],
    }
