"""Verification at the point of vaccination: is the person at the desk the register's person?

The desk scans the chip card's QR code or types what the person says (ID, name, date of birth,
sex, ward) before the dose is given. :func:`verify` answers with one of four statuses:

``verified``
    the dose recorded with these fields would be saved ``verified`` by the dose path. The rule
    is the dose path's own (``registry/doses/record.py``: ``_link_person`` / ``_agrees``): the
    typed ID
    (12-digit or old 9-digit) is the person's, the name is the same once formatting is
    standardised (NFC, case, spacing, tone placement — not diacritics), the date of birth agrees
    as far as both are known and the sex agrees; exactly one register person must pass. Without
    a typed ID, a single person found by name + date of birth who passes the same checks is
    ``verified`` as the dose path verifies a dose submitted with that ``person_id``.
``mismatch``
    one register person was found but a field differs (``mismatches`` says which and how).
``ambiguous``
    several register persons fit (``candidates``): the desk must tell them apart.
``not_found``
    no register person has this ID, or this name and date of birth.

Fields the desk did not type are not compared (a dose needs a name: take the register's).
The ward is compared but never decides (people move; the dose is still theirs).

What a caller sees of the register follows the role: a site user (and a commune or province
user looking at someone outside their area) sees the name, date of birth, sex, ward and a
masked ID (``0010******56``), never the phone or address; central, and commune/province users
in their area, see the whole record. Citizens may not verify. Every person shown is audited
as read (``person.read``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Row, Table, and_, bindparam, case, func, insert, or_, select
from sqlalchemy.orm import Session

from tiemchung.identity import (
    IdentityError,
    fold_name,
    id_conflicts,
    parse_cccd_qr,
    ward_of_address,
)
from tiemchung.identity.dates import iso_compatible
from tiemchung.identity.ids import parse_national_id
from tiemchung.registry.doses import rules as dose_rules
from tiemchung.registry.errors import FieldProblem, ServiceError, role_not_allowed, rule_error
from tiemchung.registry.fields import (
    clean_dob,
    clean_id,
    clean_name,
    clean_sex,
    identity_agrees,
)
from tiemchung.registry.models import AuditEvent, Dose, Person, Product
from tiemchung.registry.people.persons import full_view, mask_id, person_view
from tiemchung.registry.people.register_source import RegisterSource, RegisterUnavailable
from tiemchung.registry.people.register_store import begin_write, store_persons
from tiemchung.registry.scope import Actor, Role

VERIFIED, MISMATCH, AMBIGUOUS, NOT_FOUND = "verified", "mismatch", "ambiguous", "not_found"
MAX_CANDIDATES = 20
REMOTE_UNREACHABLE = (
    "Không liên lạc được Sổ dân cư, đã đối chiếu với bản sao tại chỗ / "
    "register unreachable, checked against the local copy"
)

_P = Person.__table__.c
_PERSON_COLS = (
    _P.id, _P.person_id, _P.national_id, _P.old_id, _P.full_name, _P.dob, _P.sex,
    _P.ward_code, _P.province_code, _P.address, _P.phone,
)  # fmt: skip
#: the register's columns every verification reads (a list checked at once reads the same)
PERSON_COLUMNS = _PERSON_COLS
_D = Dose.__table__.c
_AUDIT: Table = AuditEvent.__table__  # type: ignore[assignment]
_DOSE_COLS = (_D.dose_number, _D.dose_date, _D.product_code, _D.site_id, _D.status)


@dataclass(frozen=True)
class VerifyRecord:
    """What the desk scanned (``qr``) or typed (the other fields; any subset, but at least an
    ID or a name with a date of birth)."""

    qr: str | None = None
    national_id: str | None = None
    full_name: str | None = None
    dob: str | None = None
    sex: str | None = None
    ward_code: str | None = None


@dataclass(frozen=True)
class Typed:
    """The record cleaned of formatting: what is compared with the register."""

    national_id: str | None
    id_kind: str | None  # cccd | cmnd | None (not a Vietnamese ID number)
    old_id: str | None  # from a QR payload only
    full_name: str | None
    dob: str | None
    sex: str | None
    ward_code: str | None
    source: str  # "qr" | "fields"
    #: the address as the card prints it (QR only): the dose carries it to its commune
    address: str | None = None


@dataclass(frozen=True)
class Mismatch:
    field: str
    kind: str  # different | diacritics | day_month_swapped | register_has_none
    typed: str | None
    in_register: str | None  # masked as the caller's view requires
    decisive: bool  # False: reported, but does not stop the dose being verified (ward)
    message_vi: str
    message_en: str


@dataclass(frozen=True)
class IdConflict:
    code: str  # identity.id_conflicts codes: century | birth_year | sex | unknown_province
    source: str  # "typed": the typed ID against the typed fields; "register": the register's
    message_vi: str
    message_en: str


@dataclass(frozen=True)
class DoseEntry:
    dose_number: int
    dose_date: date
    product_code: str
    site_id: str
    status: str


@dataclass(frozen=True)
class NextDose:
    dose_number: int
    kind: str  # primary | booster
    product_code: str | None  # the series' product; None for a first dose (any product)
    earliest_date: date | None  # None: from today
    message_vi: str
    message_en: str


@dataclass
class Verification:
    status: str
    typed: Typed
    person: dict[str, Any] | None = None
    matched_on: str | None = None  # national_id | old_id | name_dob
    view: str = "desk"  # desk | full: how much of the register the caller sees
    mismatches: list[Mismatch] = field(default_factory=list)
    id_conflicts: list[IdConflict] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    more_candidates: bool = False
    doses: list[DoseEntry] = field(default_factory=list)
    unlinked_doses: list[DoseEntry] = field(default_factory=list)
    next_dose: NextDose | None = None
    notes: list[str] = field(default_factory=list)
    read_person_ids: list[str] = field(default_factory=list)


# -- cleaning the record ------------------------------------------------------------------------


def _qr_error(exc: IdentityError) -> ServiceError:
    return rule_error("qr", f"invalid_qr:{exc.code}", exc.message_vi, exc.message_en)


def _check_text(name: str, value: str | None) -> None:
    """Control characters (NUL, ESC…) are refused by name: a scanner's CR/LF at the ends is
    trimmed later, but a NUL cannot even be sent to PostgreSQL."""
    if value is None:
        return
    if not isinstance(value, str):
        raise rule_error(name, "not_text", "Giá trị phải là chuỗi ký tự", "the value must be text")
    inner = value.strip("\r\n\t ")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in inner):
        raise rule_error(
            name,
            "control_character",
            "Có ký tự điều khiển không hợp lệ",
            "the value contains a control character",
        )


def _ward_of(address: str) -> str | None:
    """The 2021 ward code the card's address names (``Xóm 2, Xã Nghĩa Mai, Huyện Nghĩa Đàn,
    Tỉnh Nghệ An``), so the desk shows the scanned ward and the dose reaches its commune."""
    unit = ward_of_address(address, scheme="2021")
    return unit.code if unit is not None else None


def clean_record(record: VerifyRecord) -> Typed:
    """Parse the QR payload or clean the typed fields; a bad value is a 422 naming its field."""
    for field_name in ("qr", "national_id", "full_name", "dob", "sex", "ward_code"):
        _check_text(field_name, getattr(record, field_name))
    typed_fields = (record.national_id, record.full_name, record.dob, record.sex)
    if record.qr is not None:
        if any(v is not None and str(v).strip() for v in typed_fields):
            raise rule_error(
                "qr",
                "qr_or_fields",
                "Gửi mã QR hoặc các trường nhập tay, không gửi cả hai",
                "send either the QR payload or the typed fields, not both",
            )
        try:
            card = parse_cccd_qr(record.qr)
            card_name = clean_name(card.full_name, "qr")[0]
        except IdentityError as exc:
            raise _qr_error(exc) from exc
        return Typed(
            national_id=card.national_id.digits,
            id_kind="cccd",
            old_id=card.old_id,
            full_name=card_name,
            dob=card.dob.isoformat(),
            sex="M" if card.sex == "male" else "F",
            ward_code=record.ward_code or _ward_of(card.address),
            source="qr",
            address=card.address or None,
        )
    cid = clean_id(record.national_id)
    name = (
        clean_name(record.full_name)[0] if record.full_name and record.full_name.strip() else None
    )
    dob = clean_dob(record.dob)
    if cid.value is None and not (name and dob):
        raise ServiceError(
            422,
            "Rule violated / Vi phạm quy tắc",
            [
                FieldProblem(
                    "national_id",
                    "identifier_required",
                    "Cần số định danh, hoặc họ tên và ngày sinh",
                    "an ID number, or a full name and date of birth, is required",
                )
            ],
        )
    return Typed(
        national_id=cid.value,
        id_kind=cid.kind,
        old_id=None,
        full_name=name,
        dob=dob,
        sex=clean_sex(record.sex),
        ward_code=record.ward_code.strip() if record.ward_code else None,
        source="fields",
    )


# -- look-ups (each an index probe; see docs/registry.md) ---------------------------------------


#: the look-up by either ID, built once with a bound parameter: every desk request asks it,
#: and building the statement and its cache key cost more CPU than the indexed probe
_BY_ID = (
    select(*_PERSON_COLS)
    .where(or_(_P.national_id == bindparam("digits"), _P.old_id == bindparam("digits")))
    .limit(MAX_CANDIDATES + 1)
)


def _by_id(conn: Any, digits: str) -> list[Row[Any]]:
    return list(conn.execute(_BY_ID, {"digits": digits}))


def dob_condition(dob: str) -> Any:
    """Register dates of birth compatible with a typed one: equal, a less precise prefix of it
    (register ``1990`` for typed ``1990-03-05``), or more precise within it (typed ``1990``).
    The index-friendly SQL form of identity.dates.iso_compatible, which decides."""
    prefixes = [dob[:n] for n in (4, 7, 10) if n <= len(dob)]
    if len(dob) == 10:
        return _P.dob.in_(prefixes)
    shorter = [p for p in prefixes if len(p) < len(dob)]
    within = and_(_P.dob >= dob, _P.dob <= dob + "-99")
    return or_(_P.dob.in_(shorter), within) if shorter else within


def _by_name_dob(conn: Any, name: str, dob: str) -> list[Row[Any]]:
    """Persons with the folded name and a compatible date of birth, the exact date first,
    then the more precise ones: the desk reads the likeliest candidates at the top (a typed
    ``1985-04-12`` fits every register ``1985``, and older people often have only a year)."""
    stmt = select(*_PERSON_COLS).where(_P.name_key == fold_name(name), dob_condition(dob))
    order = (case((_P.dob == dob, 0), else_=1), func.length(_P.dob).desc(), _P.id)
    return list(conn.execute(stmt.order_by(*order).limit(MAX_CANDIDATES + 1)))


# -- comparing ------------------------------------------------------------------------------------


def _swapped(dob: str) -> str | None:
    """A typed ISO day ``YYYY-MM-DD`` with day and month exchanged, else ``None``. Not
    ``identity.dates.PartialDate.swapped``: that one answers only for a value read day-first
    and knows how it was read, while the desk holds an ISO string whose reading is gone
    (``PartialDate(1985, 4, 12).swapped()`` is ``None``; the desk must try ``1985-12-04``)."""
    if len(dob) != 10 or dob[5:7] == dob[8:10]:
        return None
    return f"{dob[:4]}-{dob[8:10]}-{dob[5:7]}"


def mismatches(actor: Actor, person: Any, t: Typed) -> list[Mismatch]:
    """Each field that differs, and how; formatting differences never reach here (both sides
    are in standard form)."""
    full = full_view(actor, person)
    out: list[Mismatch] = []
    if t.national_id is not None and t.national_id not in {person.national_id, person.old_id}:
        reg = person.national_id if full else mask_id(person.national_id)
        if person.national_id is None:
            out.append(Mismatch("national_id", "register_has_none", t.national_id, None, True,
                                "Sổ dân cư chưa có số định danh 12 số của người này",
                                "the register holds no 12-digit ID for this person"))  # fmt: skip
        else:
            out.append(Mismatch("national_id", "different", t.national_id, reg, True,
                                "Số định danh khác với sổ dân cư",
                                "the ID number differs from the register's"))  # fmt: skip
    if t.full_name is not None and person.full_name != t.full_name:
        if fold_name(person.full_name) == fold_name(t.full_name):
            out.append(Mismatch("full_name", "diacritics", t.full_name, person.full_name, True,
                                "Họ tên khác dấu (thiếu hoặc sai dấu) so với sổ dân cư",
                                "the name differs in diacritics (missing or wrong)"))  # fmt: skip
        else:
            out.append(Mismatch("full_name", "different", t.full_name, person.full_name, True,
                                "Họ tên khác với sổ dân cư",
                                "the name differs from the register's"))  # fmt: skip
    if not iso_compatible(person.dob, t.dob):
        assert t.dob is not None
        swap = _swapped(t.dob)
        if swap is not None and iso_compatible(person.dob, swap):
            out.append(Mismatch("dob", "day_month_swapped", t.dob, person.dob, True,
                                "Ngày sinh bị đảo ngày và tháng",
                                "the birth date has day and month swapped"))  # fmt: skip
        else:
            out.append(Mismatch("dob", "different", t.dob, person.dob, True,
                                "Ngày sinh khác với sổ dân cư",
                                "the birth date differs from the register's"))  # fmt: skip
    if t.sex is not None and person.sex is not None and t.sex != person.sex:
        out.append(Mismatch("sex", "different", t.sex, person.sex, True,
                            "Giới tính khác với sổ dân cư",
                            "the sex differs from the register's"))  # fmt: skip
    if t.ward_code is not None and person.ward_code is not None and t.ward_code != person.ward_code:
        out.append(Mismatch("ward_code", "different", t.ward_code, person.ward_code, False,
                            "Phường/xã khác với sổ dân cư (không ảnh hưởng xác minh)",
                            "the ward differs from the register's (does not block "
                            "verification)"))  # fmt: skip
    return out


def _conflicts(t: Typed, person: Any | None) -> list[IdConflict]:
    out: list[IdConflict] = []
    if t.id_kind == "cccd" and t.national_id is not None:
        for c in id_conflicts(t.national_id, t.dob, t.sex):
            out.append(IdConflict(c.code, "typed", c.message_vi, c.message_en))
    if person is not None and person.national_id:
        try:
            found = id_conflicts(parse_national_id(person.national_id), person.dob, person.sex)
        except IdentityError:
            found = []
        for c in found:
            out.append(IdConflict(c.code, "register", c.message_vi, c.message_en))
    return out


# -- history and the next dose ------------------------------------------------------------------


def _entries(rows: Sequence[Any]) -> list[DoseEntry]:
    return [
        DoseEntry(r.dose_number, r.dose_date, r.product_code, r.site_id, r.status) for r in rows
    ]


class _Schedule(NamedTuple):
    primary_doses: int
    min_interval_days: int


def next_dose(doses: Sequence[DoseEntry], products: dict[str, tuple[int, int]]) -> NextDose | None:
    """The dose the rules expect next: number N+1 of the highest recorded, from the minimum
    interval after it (the previous product's own within its primary series; past it the dose
    is a booster and waits the booster interval, tiemchung.vaccines.min_interval_before): the
    rule of registry/doses/rules.py ``earliest_date``, which the dose path warns on. An
    earlier dose is still stored, with a warning. ``products``: code → (primary_doses,
    min_interval_days)."""
    if not doses:
        return NextDose(1, "primary", None, None, "Chưa có mũi nào: tiêm mũi 1",
                        "no dose recorded: dose 1 is next")  # fmt: skip
    last = max(doses, key=lambda d: (d.dose_number, d.dose_date))
    number = last.dose_number + 1
    if not dose_rules.dose_number_ok(number):
        return None
    schedules = {code: _Schedule(*known) for code, known in products.items()}
    earliest, _days = dose_rules.earliest_date(
        last.dose_date,
        last.product_code,
        number,
        lambda code, n: dose_rules.interval_before(schedules.get(code), n),
    )
    primary = products.get(last.product_code, (0, 0))[0]
    kind = "primary" if number <= primary else "booster"
    what_vi = f"mũi {number}" + (" (nhắc lại)" if kind == "booster" else "")
    what_en = f"dose {number}" + (" (booster)" if kind == "booster" else "")
    return NextDose(
        number, kind, last.product_code, earliest,
        f"Tiếp theo: {what_vi}, {last.product_code}, từ ngày {earliest:%d/%m/%Y}",
        f"next: {what_en}, {last.product_code}, from {earliest.isoformat()}",
    )  # fmt: skip


#: every product's rules: the catalogue is a handful of rows, and one constant statement is
#: compiled once, where ``code IN (…)`` of the person's products was re-rendered per request
#: (its expanding parameter): ~0.1 ms of CPU at the desk
_PC = Product.__table__.c
_ALL_PRODUCTS = select(_PC.code, _PC.primary_doses, _PC.min_interval_days)


def _products(conn: Any, codes: set[str]) -> dict[str, tuple[int, int]]:
    if not codes:
        return {}
    rows = conn.execute(_ALL_PRODUCTS)
    return {r.code: (r.primary_doses, r.min_interval_days) for r in rows if r.code in codes}


# -- the service ---------------------------------------------------------------------------------


def _forbidden_role(actor: Actor) -> ServiceError:
    return role_not_allowed(
        f"Vai trò {actor.role.value} không được xác minh người tiêm",
        f"role {actor.role.value} may not verify persons",
    )


def _decide(conn: Any, t: Typed) -> tuple[str, list[Row[Any]], str | None]:
    """(status, persons, matched_on): one person for verified/mismatch, several if ambiguous."""
    return decide(
        t, lambda digits: _by_id(conn, digits), lambda name, dob: _by_name_dob(conn, name, dob)
    )


def decide(
    t: Typed,
    find_by_id: Callable[[str], list[Any]],
    find_by_name_dob: Callable[[str, str], list[Any]],
) -> tuple[str, list[Any], str | None]:
    """The desk's decision over two look-ups: :func:`_by_id` and :func:`_by_name_dob` at the
    desk, or an answer prepared for a whole list at once (an organisation's 10,000 rows,
    ``registry/people/checking.py``), so both ask the same question the same way."""
    if t.national_id is not None:
        by_id = find_by_id(t.national_id)
        if by_id:
            on = "national_id" if any(p.national_id == t.national_id for p in by_id) else "old_id"
            agreeing = [p for p in by_id if identity_agrees(p, t.full_name, t.dob, t.sex)]
            if len(agreeing) == 1:
                return VERIFIED, agreeing, on
            if len(by_id) == 1:
                return MISMATCH, by_id, on
            return AMBIGUOUS, agreeing or by_id, on
        if t.old_id is not None:  # a chip card whose new ID the register lacks, its old ID not
            by_old = find_by_id(t.old_id)
            if by_old:
                agreeing = [p for p in by_old if identity_agrees(p, t.full_name, t.dob, t.sex)]
                pool = agreeing or by_old
                return (MISMATCH if len(pool) == 1 else AMBIGUOUS), pool, "old_id"
    if t.full_name is None or t.dob is None:
        return NOT_FOUND, [], None
    found = find_by_name_dob(t.full_name, t.dob)
    if not found:
        return NOT_FOUND, [], None
    agreeing = [p for p in found if identity_agrees(p, t.full_name, t.dob, t.sex)]
    if t.national_id is not None:  # the ID is nobody's: the dose would be unverified
        if len(found) == 1:
            return MISMATCH, found, "name_dob"
        pool = agreeing or found
        return (MISMATCH if len(pool) == 1 else AMBIGUOUS), pool, "name_dob"
    if len(agreeing) == 1:
        return VERIFIED, agreeing, "name_dob"
    if len(found) == 1:
        return MISMATCH, found, "name_dob"
    if t.ward_code is not None:  # the ward tells same-name, same-birthday neighbours apart
        here = [p for p in (agreeing or found) if p.ward_code == t.ward_code]
        if len(here) == 1:
            return (VERIFIED if agreeing else MISMATCH), here, "name_dob"
    return AMBIGUOUS, agreeing or found, "name_dob"


def _ask_remote(session: Session, actor: Actor, t: Typed, remote: RegisterSource) -> str | None:
    """The remote register asked what the snapshot could not answer; the persons it knows
    are stored (audited, a ``Patient`` change) and committed, so the dose made next links to
    them. The note for the desk when the remote cannot answer (the snapshot's answer
    stands), else ``None``. The read transaction ends first (nothing is pending in it): no
    transaction stays open while the register is asked."""
    session.commit()
    try:
        status, found, _ = decide(t, remote.by_id, remote.by_name_dob)
    except RegisterUnavailable:
        return REMOTE_UNREACHABLE
    if status != NOT_FOUND:
        begin_write(session)
        store_persons(session, actor, found, source="desk")
        session.commit()
    return None


def verify(
    session: Session,
    actor: Actor,
    record: VerifyRecord,
    *,
    audit: bool = True,
    remote: RegisterSource | None = None,
) -> Verification:
    """Check a scanned or typed identity against the register (see the module docstring).

    Raises :class:`ServiceError` for a citizen (403), a garbled QR payload or an invalid field
    (422 naming it). With ``audit`` the reads are appended to ``audit_log`` in ``session``
    (the caller commits); the API passes ``audit=False`` and appends them through the
    platform's writer from ``read_person_ids``. With ``remote`` (``Platform.register_remote``)
    a record the snapshot does not know is asked of the remote register (see _ask_remote).
    """
    if actor.role is Role.CITIZEN:
        raise _forbidden_role(actor)
    t = clean_record(record)
    conn = session.connection()
    status, persons, matched_on = _decide(conn, t)
    note = None
    if status == NOT_FOUND and remote is not None:
        note = _ask_remote(session, actor, t, remote)
        conn = session.connection()  # _ask_remote ended the first transaction
        if note is None:  # the remote's persons are in the snapshot now: decide on them
            status, persons, matched_on = _decide(conn, t)
    v = Verification(status=status, typed=t, matched_on=matched_on)
    if note is not None:
        v.notes.append(note)
    if t.national_id is not None and t.id_kind is None:
        try:
            parse_national_id(t.national_id)
        except IdentityError as exc:
            v.notes.append(f"{exc.message_vi} / {exc.message_en}")
    person = persons[0] if status in (VERIFIED, MISMATCH) else None
    more = len(persons) > MAX_CANDIDATES
    persons = persons[:MAX_CANDIDATES]
    if person is not None:
        v.person = person_view(actor, person)
        v.view = v.person["view"]
        v.mismatches = mismatches(actor, person, t)
        linked = conn.execute(
            select(*_DOSE_COLS)
            .where(_D.person_pk == person.id)
            .order_by(_D.dose_number, _D.dose_date)
        ).all()
        v.doses = _entries(linked)
    elif status == AMBIGUOUS:
        v.candidates = [person_view(actor, p) for p in persons]
        v.more_candidates = more
    v.id_conflicts = _conflicts(t, person)
    if t.national_id is not None and status != AMBIGUOUS:
        # By the typed ID only, unlinked ones kept here: with "person_pk IS NULL" in SQL,
        # SQLite chose the person_pk index, i.e. a walk over every unlinked dose.
        typed_id = conn.execute(
            select(*_DOSE_COLS, _D.person_pk)
            .where(_D.national_id == t.national_id)
            .order_by(_D.dose_number, _D.dose_date)
        ).all()
        v.unlinked_doses = _entries([r for r in typed_id if r.person_pk is None])
    # A person's next dose counts the doses stored unlinked under the typed ID too (as the
    # dose path's sequence rules do): dose 2 saved unverified last month, name typed off.
    history = v.doses if person is not None else v.unlinked_doses
    if person is not None and v.unlinked_doses:
        known = {d.dose_number for d in v.doses}
        history = history + [d for d in v.unlinked_doses if d.dose_number not in known]
    if status != AMBIGUOUS:
        v.next_dose = next_dose(history, _products(conn, {d.product_code for d in history}))
    v.read_person_ids = [p.person_id for p in ([person] if person is not None else persons)]
    if audit and v.read_person_ids:
        session.execute(
            insert(_AUDIT),
            [
                {
                    "user_id": actor.user_id,
                    "username": actor.username,
                    "action": "person.read",
                    "entity": "person",
                    "entity_id": pid,
                    "detail": {"via": "verify", "status": status},
                }
                for pid in v.read_person_ids
            ],
        )
    return v
