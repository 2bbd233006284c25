"""Recording doses: rule checks, linking to the register person, idempotency.

A dose is keyed by the client's UUID: the same submission twice is the same dose, and a UUID
reused for different content is refused rather than silently ignored. The person's data is
kept as the site entered it (cleaned of formatting only); the link to the register person is
made when the typed identity agrees with the register, and the dose is saved ``unverified``
otherwise — the vaccination happened, so the data must not be lost.

Only invalid input is refused (an unknown or expired lot, a lot with no stock left at the site
(registry/catalog/stock.py), an unknown product, site or ward, a future date, a dose number
outside 1-10, a session that does not match, a reused UUID). The sequence rules — a missing
earlier dose, a dose before the minimum interval, a dose number recorded twice — only warn
(registry/doses/rules.py): the dose is stored, the answer carries the warnings and they reach
the person's commune on the dose's one worklist item. They run on the history of the register
person the dose belongs to: the linked one, else the one the desk chose (``person_id``), else
the only register person carrying the typed ID; a typed identity that differs from the register
has no history of its own, and a gap in the system's history never blocks the next dose.

An unverified dose always carries a ward, so it reaches a commune: the typed ward, else the
ward named by the typed or scanned address, else the site's ward.

One set-based implementation serves a single POST and a 1,000-dose batch alike: it prefetches
what the rules need in one or two queries, checks items in order (so dose 1 and dose 2 of a
person in the same batch see each other) and inserts the accepted rows in one statement (the
statements are in registry/doses/sql.py), and a group's changes for partners in one more
(registry/changes/log.py). The checks that need no database (:func:`prepare_submissions`) may
run before the write is queued, off the writer thread."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from functools import lru_cache
from operator import attrgetter, itemgetter
from typing import Any

import orjson
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tiemchung.identity import ward_of_address
from tiemchung.registry.catalog.products import Catalog
from tiemchung.registry.catalog.stock import stock_left
from tiemchung.registry.changes.log import append_doses
from tiemchung.registry.doses import entry as entry_review
from tiemchung.registry.doses import rules as dose_rules
from tiemchung.registry.doses import sql
from tiemchung.registry.doses.lookups import Lookups
from tiemchung.registry.doses.rules import DoseWarning
from tiemchung.registry.doses.sql import DOSE_COLUMNS, PersonRow, Persons
from tiemchung.registry.errors import ServiceError, forbidden, future_dose_date, rule_error
from tiemchung.registry.fields import (
    clean_dob,
    clean_id,
    clean_name,
    clean_phone,
    clean_sex,
    identity_agrees,
)
from tiemchung.registry.models import (
    VaccinationSession,
)
from tiemchung.registry.scope import Actor, Role

VERIFIED = "verified"
UNVERIFIED = "unverified"


@dataclass(frozen=True)
class DoseSubmission:
    """What a site submits for one dose (the API's ``DoseCreate`` maps onto this)."""

    client_uuid: uuid.UUID
    full_name: str
    product_code: str
    lot_number: str
    dose_number: int
    dose_date: date
    site_id: str
    national_id: str | None = None
    dob: str | None = None
    sex: str | None = None
    phone: str | None = None
    ward_code: str | None = None
    address: str | None = None
    person_id: str | None = None
    session_id: int | None = None
    record_id: str | None = None

    def content_hash(self) -> str:
        """SHA-256 of everything but the UUID: a retry must carry the same content.

        The bytes are those of ``json.dumps(values, default=str, ensure_ascii=False,
        separators=(",", ":"))`` (the hashes already stored were made so); orjson writes the
        same bytes for these types (str, int, None, date) in a tenth of the time, which
        tests/registry/test_doses.py checks over every Unicode character.
        """
        return hashlib.sha256(orjson.dumps(_hashed_values(self))).hexdigest()


# Dates of birth, names and sexes come from small domains (a few tens of thousands of dates,
# recurring names), so their cleaning is memoised for the life of the process: parsing a date
# of birth was the largest single cost of a batch. Pure functions; errors are not cached.
_clean_dob = lru_cache(maxsize=1 << 16)(clean_dob)
_clean_name = lru_cache(maxsize=1 << 16)(clean_name)
_clean_sex = lru_cache(maxsize=64)(clean_sex)


@lru_cache(maxsize=1 << 14)
def _address_ward(address: str) -> str | None:
    """The 2021 ward code an address names (identity/places.py), memoised: a site's people
    live in a handful of wards and the parse walks several name indexes."""
    unit = ward_of_address(address, scheme="2021")
    return unit.code if unit is not None else None


_HASHED_FIELDS = tuple(f.name for f in fields(DoseSubmission) if f.name != "client_uuid")
_hashed_values = attrgetter(*_HASHED_FIELDS)


@dataclass
class DoseResult:
    """The answer for one submission: the stored dose (created or replayed) or the error."""

    created: bool = False
    dose: dict[str, Any] | None = None
    person_id: str | None = None
    error: ServiceError | None = None
    #: the sequence rules this dose broke; it is stored all the same (dose_rules.py)
    warnings: list[DoseWarning] = field(default_factory=list)

    @property
    def status(self) -> int:
        if self.error is not None:
            return self.error.status
        return 201 if self.created else 200


@dataclass
class _Pending:
    index: int
    sub: DoseSubmission
    row: dict[str, Any] = field(default_factory=dict)
    #: the register person whose history the sequence rules read, and what they found
    subject: PersonRow | None = None
    warnings: list[DoseWarning] = field(default_factory=list)


def record_dose(
    session: Session, catalog: Catalog, actor: Actor, sub: DoseSubmission, *, today: date
) -> DoseResult:
    """Record one dose; raises :class:`ServiceError` when a rule is broken."""
    result = record_doses(session, catalog, actor, [sub], today=today)[0]
    if result.error is not None:
        raise result.error
    return result


def record_doses(
    session: Session,
    catalog: Catalog,
    actor: Actor,
    subs: Sequence[DoseSubmission],
    *,
    today: date,
) -> list[DoseResult]:
    """Record many doses of one actor in order; a broken rule fails that item only."""
    return record_submissions(session, catalog, [(actor, s) for s in subs], today=today)


def record_submissions(
    session: Session,
    catalog: Catalog,
    items: Sequence[tuple[Actor, DoseSubmission]],
    *,
    today: date,
) -> list[DoseResult]:
    """Record doses of possibly different callers (the writer coalesces concurrent requests
    into one call). Items are checked in order; nothing is committed here."""
    return record_prepared(session, prepare_submissions(catalog, items, today=today))


@dataclass
class PreparedDoses:
    """Submissions with the checks done that need no database (see
    :func:`prepare_submissions`), ready for :func:`record_prepared` in the writer."""

    items: Sequence[tuple[Actor, DoseSubmission]]
    hashes: list[str]
    #: per item: the cleaned row, or the rule it broke (answered unless its UUID is stored)
    checked: list[_Pending | ServiceError]
    lookups: Lookups


def prepare_submissions(
    catalog: Catalog, items: Sequence[tuple[Actor, DoseSubmission]], *, today: date
) -> PreparedDoses:
    """The part of recording that reads no database beyond the reference-data cache:
    content hashes, field cleaning and the rules on site, ward, product, lot, dates and
    numbers.

    It may run on the caller's thread before the job is queued, so that the single writer
    thread (store/writer.py), which every write waits for, spends its time only on what
    needs the database; for a 1,000-dose batch this was a quarter of the writer's time. An
    item whose UUID turns out to be stored is answered as that stored dose whatever these
    checks said, as before.
    """
    lookups = Lookups(catalog)
    checked: list[_Pending | ServiceError] = []
    hashes = []
    for i, (actor, sub) in enumerate(items):
        digest = sub.content_hash()
        hashes.append(digest)
        try:
            pending = _prepare(lookups, actor, sub, i, today)
        except ServiceError as exc:
            checked.append(exc)
            continue
        pending.row["submission_hash"] = digest
        checked.append(pending)
    return PreparedDoses(items, hashes, checked, lookups)


def record_prepared(session: Session, prepared: PreparedDoses) -> list[DoseResult]:
    """Record submissions checked by :func:`prepare_submissions`; nothing is committed here.

    If the insert meets a UUID that another connection committed after this call looked
    (a writer outside the server's serialised writers, see store/writer.py), the unique
    constraint refuses it and the call runs once more: the UUID is then stored, so the retry
    answers 200 with the original dose, never a second row.
    """
    for attempt in (1, 2):
        savepoint = session.begin_nested()
        try:
            results = _record(session, prepared)
        except IntegrityError:
            savepoint.rollback()
            if attempt == 2:
                raise
            continue
        savepoint.commit()
        return results
    raise AssertionError("unreachable")


def _record(session: Session, prepared: PreparedDoses) -> list[DoseResult]:
    items, hashes, lookups = prepared.items, prepared.hashes, prepared.lookups
    # Core statements on the session's connection: the ORM execution layer cost a fifth of
    # the writer's time on single-dose groups and adds nothing here.
    conn = session.connection()
    dialect = conn.dialect.name
    results = [DoseResult() for _ in items]

    # 1. Replays: a UUID already stored (or seen earlier in this batch) is the same dose.
    stored = sql.stored_doses(conn, {s.client_uuid for _, s in items})
    pending: list[_Pending] = []
    first_in_batch: dict[uuid.UUID, int] = {}
    twins: dict[int, int] = {}  # a UUID repeated inside the batch answers like its first
    replayed: list[int] = []
    for i, (_actor, sub) in enumerate(items):
        if sub.client_uuid in stored:
            existing = stored[sub.client_uuid]
            results[i] = _replay(existing, hashes[i] == existing.submission_hash)
            if results[i].dose is not None:
                replayed.append(i)
        elif sub.client_uuid in first_in_batch:
            j = first_in_batch[sub.client_uuid]
            if hashes[i] == hashes[j]:
                twins[i] = j
            else:
                results[i].error = _uuid_conflict()
        else:
            first_in_batch[sub.client_uuid] = i
            checked = prepared.checked[i]
            try:
                if isinstance(checked, ServiceError):
                    raise checked
                if sub.session_id is not None:
                    _check_session(session, sub)
                pending.append(checked)
            except ServiceError as exc:
                results[i].error = exc

    # 2. Link persons and check dose sequences against stored history plus this batch.
    persons, history = sql.prefetch_persons(
        conn,
        {p.row["national_id"] for p in pending if p.row["national_id"]},
        {p.sub.person_id for p in pending if p.sub.person_id},
        dialect,
    )
    links = [_link_person(persons, p) for p in pending]
    for p, person in zip(pending, links, strict=True):
        if not isinstance(person, ServiceError):
            p.subject = person if person is not None else _matched_person(persons, p)
    # Doses stored unlinked under the typed ID are history too for a dose that links to no
    # one: the same card with the same typo last month left an unverified dose 2 there.
    unlinked = {
        p.row["national_id"]
        for p, person in zip(pending, links, strict=True)
        if person is None and p.row["national_id"]
    }
    if unlinked:
        history.update(sql.unlinked_history(conn, unlinked, dialect))
    # Stock: what is left of each tracked lot at its site, taken down as this call accepts
    # doses in order (the writer runs one call at a time, so nothing interleaves).
    left = stock_left(conn, {(p.row["lot_id"], p.row["site_id"]) for p in pending}, memo=True)
    accepted: list[_Pending] = []
    for p, person in zip(pending, links, strict=True):
        if isinstance(person, ServiceError):
            results[p.index].error = person
            continue
        stock_key = (p.row["lot_id"], p.row["site_id"])
        if stock_key in left:
            if left[stock_key] <= 0:
                results[p.index].error = _lot_exhausted(p.sub.lot_number, p.row["site_id"])
                continue
            left[stock_key] -= 1
        key: tuple[str, Any] | None = (
            ("pk", p.subject.id)
            if p.subject is not None
            else ("id", p.row["national_id"])
            if p.row["national_id"]
            else None
        )
        if key is not None:
            previous = history.setdefault(key, {})
            if person is None and key[0] == "pk" and p.row["national_id"]:
                for number, when in history.get(("id", p.row["national_id"]), {}).items():
                    previous.setdefault(number, when)
            p.warnings = dose_rules.sequence_warnings(
                previous, p.sub.dose_number, p.sub.dose_date, lookups.interval_of
            )
            # The first record of a number stays the reference for a later double entry.
            previous.setdefault(p.sub.dose_number, (p.sub.dose_date, p.sub.product_code))
        _finish_row(lookups, p, person)
        results[p.index].person_id = person.person_id if person is not None else None
        results[p.index].warnings = p.warnings
        accepted.append(p)

    # 3. Insert accepted rows and their audit events, each in one statement.
    if accepted:
        ids = sql.insert_doses(conn, [p.row for p in accepted])
        sql.insert_audit(conn, [(items[p.index][0], p.row) for p in accepted], ids)
        append_doses(conn, ids, action="created", source="dose")
        for p, dose_id in zip(accepted, ids, strict=True):
            results[p.index].created = True
            values = (dose_id, *_dose_values(p.row))
            results[p.index].dose = dict(zip(DOSE_COLUMNS, values, strict=True))
        # 4. One worklist item per dose that needs the commune (never a rejection): an
        # unverified dose's item carries the sequence rules it broke; a verified dose that
        # broke some gets a dose_check item (the commune fills the gap or checks the date).
        review = [
            entry_review.item_row(dose_id, p.row, _typed_candidates(persons, p), p.warnings)
            if p.row["status"] == UNVERIFIED
            else dose_rules.item_row(dose_id, p.row, p.subject, p.warnings)
            for p, dose_id in zip(accepted, ids, strict=True)
            if p.row["status"] == UNVERIFIED or p.warnings
        ]
        if review:
            sql.insert_review(conn, review)

    # A replay answers the warnings the dose was stored with (read only when there are
    # replays: a retry after a lost answer must not lose them).
    if replayed:
        found = sql.stored_warnings(conn, [results[i].dose["id"] for i in replayed])  # type: ignore[index]
        for i in replayed:
            texts = found.get(results[i].dose["id"], [])  # type: ignore[index]
            results[i].warnings = [
                w for w in map(dose_rules.warning_of_segment, texts) if w is not None
            ]
    for i, j in twins.items():
        twin = results[j]
        results[i] = DoseResult(False, twin.dose, twin.person_id, twin.error, twin.warnings)
    return results


def _matched_person(persons: Persons, p: _Pending) -> PersonRow | None:
    """The register person an unverified dose belongs to as far as the desk could tell: the
    person it chose (``person_id``), else the only one carrying the typed ID. The sequence
    rules read this person's history; None when nobody (or several) fit."""
    found = _typed_candidates(persons, p)
    return found[0] if len(found) == 1 else None


#: A stored row's values in DOSE_COLUMNS order after the id (the answer's dose dict).
_dose_values = itemgetter(*DOSE_COLUMNS[1:])


def _typed_candidates(persons: Persons, p: _Pending) -> list[PersonRow]:
    """The register persons an unverified dose's typed identity points at: the chosen person,
    or those carrying the typed ID (12-digit or old)."""
    if p.sub.person_id is not None:
        chosen = persons.by_person_id.get(p.sub.person_id)
        return [chosen] if chosen is not None else []
    national_id = p.row["national_id"]
    return list(persons.by_any_id.get(national_id, [])) if national_id else []


def _lot_exhausted(lot_number: str, site_id: str) -> ServiceError:
    """The 409 of a dose from a lot with nothing left at the site (registry/catalog/stock.py):
    a dose the stock says was never there is a wrong lot typed or a delivery not recorded,
    and either must be put right before the dose is stored."""
    return rule_error(
        "lot_number",
        "lot_exhausted",
        f"Lô vắc xin {lot_number} đã hết tại điểm tiêm {site_id} (tồn kho 0 liều): "
        "kiểm tra số lô hoặc ghi nhận lô đã nhận",
        f"lot {lot_number} is exhausted at site {site_id} (0 doses on hand): "
        "check the lot number or record the delivery",
        status=409,
    )


def _uuid_conflict() -> ServiceError:
    return rule_error(
        "client_uuid",
        "idempotency_conflict",
        "Mã gửi (UUID) này đã được dùng cho một mũi tiêm khác",
        "this client UUID was already used for a different dose",
        status=409,
    )


def _replay(existing: Row[Any], same_content: bool) -> DoseResult:
    if not same_content:
        return DoseResult(error=_uuid_conflict())
    return DoseResult(
        created=False,
        person_id=existing.linked_person_id,
        dose={c: existing._mapping[c] for c in DOSE_COLUMNS},
    )


def _prepare(
    catalog: Lookups, actor: Actor, sub: DoseSubmission, index: int, today: date
) -> _Pending:
    """Checks that need no database beyond reference data; cleans the typed fields."""
    site = catalog.site(sub.site_id)
    if site is None or not site.active:
        raise rule_error(
            "site_id", "unknown_site", "Không có điểm tiêm này", "no such vaccination site"
        )
    if not actor.can_record_at(site):
        raise forbidden(
            "site_id",
            "Bạn không được ghi nhận mũi tiêm tại điểm tiêm này",
            "you may not record doses at this site",
        )
    if sub.ward_code is not None:
        ward = catalog.ward(sub.ward_code)
        if ward is None:
            raise rule_error(
                "ward_code",
                "unknown_ward",
                "Mã phường/xã không tồn tại",
                "no ward with this code (2021 GSO codes)",
            )
        if actor.role in (Role.PROVINCE, Role.COMMUNE) and not actor.covers_area(
            ward.province_code, ward.code
        ):
            raise forbidden(
                "ward_code", "Phường/xã nằm ngoài địa bàn của bạn", "this ward is outside your area"
            )
    product = catalog.product(sub.product_code)
    if product is None:
        raise rule_error(
            "product_code",
            "unknown_product",
            "Không có loại vắc xin này",
            "no such vaccine product",
        )
    lot = catalog.lot(sub.product_code, sub.lot_number)
    if lot is None:
        raise rule_error(
            "lot_number",
            "unknown_lot",
            "Lô vắc xin không tồn tại cho loại này",
            "no such lot for this product",
        )
    if sub.dose_date > today:
        raise future_dose_date()
    if lot.expiry < sub.dose_date:
        raise rule_error(
            "lot_number",
            "lot_expired",
            f"Lô vắc xin {lot.lot_number} đã hết hạn ngày {lot.expiry:%d/%m/%Y}",
            f"lot {lot.lot_number} expired on {lot.expiry.isoformat()}",
        )
    if not dose_rules.dose_number_ok(sub.dose_number):
        words = dose_rules.DOSE_NUMBER_RANGE
        raise rule_error("dose_number", "out_of_range", words.vi, words.en)
    display_name, _key = _clean_name(sub.full_name)
    row = {
        "client_uuid": sub.client_uuid,
        "record_id": sub.record_id,
        "national_id": clean_id(sub.national_id).value,
        "full_name": display_name,
        "dob": _clean_dob(sub.dob),
        "sex": _clean_sex(sub.sex),
        "phone": clean_phone(sub.phone),
        "ward_code": sub.ward_code,
        "address": sub.address.strip() if sub.address else None,
        "product_code": product.code,
        "lot_id": lot.id,
        "dose_number": sub.dose_number,
        "dose_date": sub.dose_date,
        "site_id": site.site_id,
        "session_id": sub.session_id,
        "entered_by": actor.user_id,
    }
    return _Pending(index, sub, row)


def _check_session(session: Session, sub: DoseSubmission) -> None:
    vs = session.get(VaccinationSession, sub.session_id)
    if vs is None:
        raise rule_error(
            "session_id", "unknown_session", "Không có buổi tiêm này", "no such session"
        )
    if vs.status != "open":
        # the desk works in today's open session (registry/catalog/sessions.py)
        raise rule_error(
            "session_id",
            "session_not_open",
            f"Buổi tiêm {vs.id} không mở (trạng thái: {vs.status}); mở buổi tiêm trước khi ghi",
            f"session {vs.id} is not open (status: {vs.status}); open it before recording",
            status=409,
        )
    products = vs.products or [vs.product_code]
    if (vs.site_id, vs.session_date) != (sub.site_id, sub.dose_date) or (
        sub.product_code not in products
    ):
        raise rule_error(
            "session_id",
            "session_mismatch",
            "Buổi tiêm không khớp điểm tiêm, ngày tiêm hoặc loại vắc xin",
            "the session's site, date or product differs from the dose",
        )


def _link_person(persons: Persons, p: _Pending) -> PersonRow | ServiceError | None:
    """The register person this dose verifiably belongs to, or None (saved as unverified).

    Verified means: the ID (12-digit or old 9-digit) as entered is the person's, the
    name is the same and the date of birth agrees as far as both are known. Anything less is
    left to reconciliation and the commune worklist rather than guessed here.
    """
    national_id = p.row["national_id"]
    if p.sub.person_id is not None:
        chosen = persons.by_person_id.get(p.sub.person_id)
        if chosen is None:
            return rule_error(
                "person_id",
                "unknown_person",
                "Không có người này trong sổ dân cư",
                "no such person in the register",
            )
        ids = {chosen.national_id, chosen.old_id} - {None}
        if (national_id is None or national_id in ids) and _agrees(chosen, p.row):
            return chosen
        return None
    if national_id is None:
        return None
    agreeing = [c for c in persons.by_any_id.get(national_id, []) if _agrees(c, p.row)]
    return agreeing[0] if len(agreeing) == 1 else None


def _agrees(person: PersonRow, row: dict[str, Any]) -> bool:
    """The typed identity agrees with the register once formatting is standardised.

    Names are compared in display form (NFC, case, spacing and tone placement normalised), not
    folded: a name typed without diacritics is a wrong field that the commune must confirm.
    """
    return identity_agrees(person, row["full_name"], row["dob"], row["sex"])


def _finish_row(catalog: Lookups, p: _Pending, person: PersonRow | None) -> None:
    row = p.row
    row["person_pk"] = person.id if person is not None else None
    row["status"] = VERIFIED if person is not None else UNVERIFIED
    if person is not None:
        row["area_ward_code"], row["area_province_code"] = person.ward_code, person.province_code
        return
    # The commune that must review it: the typed ward, else the address's, else the site's.
    # (The address is read only here, for the few doses that link to no one: ~40 µs each.)
    if row["ward_code"]:
        ward = catalog.ward(row["ward_code"])
    else:
        code = _address_ward(row["address"]) if row["address"] else None
        ward = catalog.ward(code) if code is not None else None
    if ward is not None:
        row["area_ward_code"], row["area_province_code"] = ward.code, ward.province_code
        return
    site = catalog.site(row["site_id"])
    row["area_ward_code"] = site.ward_code if site is not None else None
    row["area_province_code"] = site.province_code if site is not None else None
