"""Recording doses: rule checks, linking to the register person, idempotency.

A dose is keyed by the client's UUID: the same submission twice is the same dose, and a UUID
reused for different content is refused rather than silently ignored. The person's data is
kept as the site entered it (cleaned of formatting only); the link to the register person is
made when the typed identity agrees with the register, and the dose is saved ``unverified``
otherwise — the vaccination happened, so the data must not be lost.

One set-based implementation serves a single POST and a 1,000-dose batch alike: it prefetches
what the rules need in a few queries, checks items in order (so dose 1 and dose 2 of a person
in the same batch see each other) and inserts the accepted rows in one statement.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from functools import cache, lru_cache
from operator import attrgetter, itemgetter
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Row, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tiemchung.registry import entry_review
from tiemchung.registry.catalog import Catalog, WardInfo
from tiemchung.registry.errors import ServiceError, forbidden, rule_error
from tiemchung.registry.fields import (
    clean_dob,
    clean_id,
    clean_name,
    clean_phone,
    clean_sex,
    identity_agrees,
)
from tiemchung.registry.models import (
    AuditEvent,
    Dose,
    Lot,
    Person,
    Product,
    ReviewItem,
    Site,
    VaccinationSession,
)
from tiemchung.registry.scope import Actor, Role

VERIFIED = "verified"
UNVERIFIED = "unverified"

DOSE_COLUMNS = (
    "id",
    "client_uuid",
    "record_id",
    "person_pk",
    "national_id",
    "full_name",
    "dob",
    "sex",
    "phone",
    "ward_code",
    "address",
    "product_code",
    "lot_id",
    "dose_number",
    "dose_date",
    "site_id",
    "session_id",
    "entered_by",
    "status",
    "area_ward_code",
    "area_province_code",
)


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


def _keys_filter(column: Any, dialect: str) -> ColumnElement[bool]:
    """``column IN :keys`` with all the keys as one parameter, built once per statement.

    PostgreSQL takes an array (as :func:`tiemchung.registry.db.in_keys`); on SQLite the keys
    travel as one JSON array read by ``json_each``, where a thousand placeholders cost more
    to render and bind than the query to run. The statements are built once (see
    :func:`_keyed`): building and cache-keying them per call cost more than running them
    for the small groups concurrent single POSTs make.
    """
    if dialect == "postgresql":
        return column == any_(bindparam("keys", type_=ARRAY(column.type)))  # type: ignore[no-any-return]
    if dialect == "sqlite":
        each = func.json_each(bindparam("keys", type_=String())).table_valued("value")
        return column.in_(select(each.c.value))  # type: ignore[no-any-return]
    return column.in_(bindparam("keys", expanding=True))  # type: ignore[no-any-return]


def _keys_param(keys: Collection[Any], dialect: str) -> Any:
    """The ``:keys`` value of :func:`_keys_filter` (UUIDs on SQLite as stored there: hex)."""
    if dialect == "sqlite":
        return orjson.dumps([k.hex if isinstance(k, uuid.UUID) else k for k in keys]).decode()
    return list(keys)


@cache
def _keyed(name: str, dialect: str) -> Any:
    """The prefetch statements, each filtered on one key column."""
    dose_cols = (
        Dose.person_pk,
        Dose.national_id,
        Dose.dose_number,
        Dose.dose_date,
        Dose.product_code,
    )
    if name == "replay":
        return _REPLAY_SELECT.where(_keys_filter(_DOSES.c.client_uuid, dialect))
    if name.startswith("person."):
        column = getattr(Person, name.removeprefix("person."))
        return select(*_PERSON_COLUMNS).where(_keys_filter(column, dialect))
    column = getattr(Dose, name.removeprefix("history."))
    return select(*dose_cols).where(_keys_filter(column, dialect))


def _by_keys(conn: Connection, name: str, keys: Collection[Any]) -> Any:
    dialect = conn.dialect.name
    return conn.execute(_keyed(name, dialect), {"keys": _keys_param(keys, dialect)})


_HASHED_FIELDS = tuple(f.name for f in fields(DoseSubmission) if f.name != "client_uuid")
_hashed_values = attrgetter(*_HASHED_FIELDS)


_DOSES = Dose.__table__
_REPLAY_SELECT = select(
    *(_DOSES.c[c] for c in DOSE_COLUMNS),
    _DOSES.c.submission_hash,
    Person.__table__.c.person_id.label("linked_person_id"),
).select_from(_DOSES.outerjoin(Person.__table__, _DOSES.c.person_pk == Person.__table__.c.id))


@dataclass
class DoseResult:
    """The answer for one submission: the stored dose (created or replayed) or the error."""

    created: bool = False
    dose: dict[str, Any] | None = None
    person_id: str | None = None
    error: ServiceError | None = None

    @property
    def status(self) -> int:
        if self.error is not None:
            return self.error.status
        return 201 if self.created else 200


class _Lookups:
    """Reference data looked up once per call: a batch names a handful of sites, wards,
    products and lots a thousand times, and each catalog lookup checks its freshness."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._memo: dict[tuple[Any, ...], Any] = {}

    def _get(self, kind: str, find: Any, *key: Any) -> Any:
        memo_key = (kind, *key)
        try:
            return self._memo[memo_key]
        except KeyError:
            found = self._memo[memo_key] = find(*key)
            return found

    def site(self, site_id: str) -> Site | None:
        return self._get("site", self._catalog.site, site_id)  # type: ignore[no-any-return]

    def ward(self, code: str) -> WardInfo | None:
        return self._get("ward", self._catalog.ward, code)  # type: ignore[no-any-return]

    def product(self, code: str) -> Product | None:
        return self._get("product", self._catalog.product, code)  # type: ignore[no-any-return]

    def lot(self, product_code: str, lot_number: str) -> Lot | None:
        found = self._get("lot", self._catalog.lot, product_code, lot_number)
        return found  # type: ignore[no-any-return]


@dataclass
class _Pending:
    index: int
    sub: DoseSubmission
    row: dict[str, Any] = field(default_factory=dict)


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
    into one call). Items are checked in order; nothing is committed here.

    If the insert meets a UUID that another connection committed after this call looked
    (a writer outside the server's serialised writers, see registry/writer.py), the unique
    constraint refuses it and the call runs once more: the UUID is then stored, so the retry
    answers 200 with the original dose, never a second row.
    """
    for attempt in (1, 2):
        savepoint = session.begin_nested()
        try:
            results = _record(session, catalog, items, today=today)
        except IntegrityError:
            savepoint.rollback()
            if attempt == 2:
                raise
            continue
        savepoint.commit()
        return results
    raise AssertionError("unreachable")


def _record(
    session: Session,
    catalog: Catalog,
    items: Sequence[tuple[Actor, DoseSubmission]],
    *,
    today: date,
) -> list[DoseResult]:
    subs = [s for _, s in items]
    actors = [a for a, _ in items]
    # Core statements on the session's connection: the ORM execution layer cost a fifth of
    # the writer's time on single-dose groups and adds nothing here.
    conn = session.connection()
    lookups = _Lookups(catalog)
    dialect = conn.dialect.name
    results = [DoseResult() for _ in subs]
    hashes = [s.content_hash() for s in subs]

    # 1. Replays: a UUID already stored (or seen earlier in this batch) is the same dose.
    stored = {r.client_uuid: r for r in _by_keys(conn, "replay", {s.client_uuid for s in subs})}
    pending: list[_Pending] = []
    first_in_batch: dict[uuid.UUID, int] = {}
    twins: dict[int, int] = {}  # a UUID repeated inside the batch answers like its first
    for i, sub in enumerate(subs):
        if sub.client_uuid in stored:
            existing = stored[sub.client_uuid]
            results[i] = _replay(existing, hashes[i] == existing.submission_hash)
        elif sub.client_uuid in first_in_batch:
            j = first_in_batch[sub.client_uuid]
            if hashes[i] == hashes[j]:
                twins[i] = j
            else:
                results[i].error = _uuid_conflict()
        else:
            first_in_batch[sub.client_uuid] = i
            try:
                prepared = _prepare(lookups, actors[i], sub, i, today)
                if sub.session_id is not None:
                    _check_session(session, sub)
                prepared.row["submission_hash"] = hashes[i]
                pending.append(prepared)
            except ServiceError as exc:
                results[i].error = exc

    # 2. Link persons and check dose sequences against stored history plus this batch.
    persons = _prefetch_persons(conn, pending, dialect)
    history = _prefetch_history(conn, pending, persons, dialect)
    accepted: list[_Pending] = []
    for p in pending:
        person = _link_person(persons, p)
        if isinstance(person, ServiceError):
            results[p.index].error = person
            continue
        key: tuple[str, Any] | None = (
            ("pk", person.id)
            if person is not None
            else ("id", p.row["national_id"])
            if p.row["national_id"]
            else None
        )
        if key is not None:
            try:
                _check_sequence(lookups, history.setdefault(key, {}), p.sub)
            except ServiceError as exc:
                results[p.index].error = exc
                continue
            history[key][p.sub.dose_number] = (p.sub.dose_date, p.sub.product_code)
        _finish_row(lookups, p, person)
        results[p.index].person_id = person.person_id if person is not None else None
        accepted.append(p)

    # 3. Insert accepted rows and their audit events, each in one statement.
    if accepted:
        ids = _insert_doses(conn, [p.row for p in accepted])
        _insert_rows(
            conn,
            _AUDIT_TABLE,
            _AUDIT_INSERT_COLUMNS,
            [
                (
                    actors[p.index].user_id,
                    actors[p.index].username,
                    "dose.create",
                    "dose",
                    str(dose_id),
                    _json_param({"site_id": p.row["site_id"], "status": p.row["status"]}),
                )
                for p, dose_id in zip(accepted, ids, strict=True)
            ],
        )
        for p, dose_id in zip(accepted, ids, strict=True):
            results[p.index].created = True
            results[p.index].dose = {c: p.row.get(c) for c in DOSE_COLUMNS} | {"id": dose_id}
        # 4. A dose that did not verify goes to its ward's worklist (never rejected).
        review = [
            entry_review.item_row(dose_id, p.row, _typed_candidates(persons, p))
            for p, dose_id in zip(accepted, ids, strict=True)
            if p.row["status"] == UNVERIFIED
        ]
        if review:
            _insert_rows(
                conn,
                _REVIEW_TABLE,
                entry_review.ITEM_COLUMNS,
                entry_review.item_tuples(review, _json_param),
            )

    for i, j in twins.items():
        twin = results[j]
        results[i] = DoseResult(False, twin.dose, twin.person_id, twin.error)
    return results


_DOSE_INSERT_COLUMNS = (*DOSE_COLUMNS[1:], "submission_hash")
_DATE_AT = _DOSE_INSERT_COLUMNS.index("dose_date")
_insert_values = itemgetter(*_DOSE_INSERT_COLUMNS)
_AUDIT_TABLE = AuditEvent.__tablename__
_AUDIT_INSERT_COLUMNS = ("user_id", "username", "action", "entity", "entity_id", "detail")
_REVIEW_TABLE = ReviewItem.__tablename__
_JSON_COLUMNS = ("detail", "candidates")


def _typed_candidates(persons: _Persons, p: _Pending) -> list[PersonRow]:
    """The register persons an unverified dose's typed identity points at: the chosen person,
    or those carrying the typed ID (12-digit or old)."""
    if p.sub.person_id is not None:
        chosen = persons.by_person_id.get(p.sub.person_id)
        return [chosen] if chosen is not None else []
    national_id = p.row["national_id"]
    return list(persons.by_any_id.get(national_id, [])) if national_id else []


def _insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """One driver-level executemany of ready-made parameter tuples.

    SQLAlchemy's executemany spent more Python time per row (parameter dicts, per-column
    bind processors) than the driver's insert itself; the values here are already in the
    driver's form (see :func:`_driver_row`). The statement is plain SQL for that reason.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    marks = []
    for c in columns:
        # PostgreSQL: JSON values travel as text and are cast to the json column.
        marks.append(f"CAST({mark} AS JSON)" if c in _JSON_COLUMNS and mark == "%s" else mark)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(marks)})"
    conn.exec_driver_sql(sql, rows)


def _json_param(value: Any) -> str:
    """A JSON column's parameter as text (SQLite stores it so; PostgreSQL casts it)."""
    return orjson.dumps(value).decode()


def _driver_row(row: dict[str, Any], sqlite: bool) -> tuple[Any, ...]:
    """A dose row's values as the driver takes them: on SQLite the UUID as the 32-digit hex
    and the date as ISO text, exactly what SQLAlchemy's Uuid and Date types store there."""
    values = list(_insert_values(row))
    if sqlite:
        values[0] = row["client_uuid"].hex
        values[_DATE_AT] = row["dose_date"].isoformat()
    return tuple(values)


def _insert_doses(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert dose rows; their ids, in order.

    A plain executemany, then the ids by UUID: both drivers batch this well, where a
    multi-row INSERT ... RETURNING with 20,000 placeholders is slow to build. The UUIDs
    travel as one parameter (a JSON array on SQLite, an array on PostgreSQL) rather than a
    thousand placeholders.
    """
    sqlite = conn.dialect.name == "sqlite"
    _insert_rows(
        conn, Dose.__tablename__, _DOSE_INSERT_COLUMNS, [_driver_row(r, sqlite) for r in rows]
    )
    if sqlite:
        keys = [r["client_uuid"].hex for r in rows]
        found = conn.exec_driver_sql(
            "SELECT client_uuid, id FROM doses WHERE client_uuid IN "
            "(SELECT value FROM json_each(?))",
            (orjson.dumps(keys).decode(),),
        )
    else:
        keys = [r["client_uuid"] for r in rows]
        found = conn.exec_driver_sql(
            "SELECT client_uuid, id FROM doses WHERE client_uuid = ANY(%s)", (keys,)
        )
    id_of: dict[Any, int] = dict(found.all())
    return [id_of[k] for k in keys]


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
    catalog: _Lookups, actor: Actor, sub: DoseSubmission, index: int, today: date
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
        raise rule_error(
            "dose_date", "future_date", "Ngày tiêm ở tương lai", "the dose date is in the future"
        )
    if lot.expiry < sub.dose_date:
        raise rule_error(
            "lot_number",
            "lot_expired",
            f"Lô vắc xin đã hết hạn ngày {lot.expiry:%d/%m/%Y}",
            f"the lot expired on {lot.expiry.isoformat()}",
        )
    if not 1 <= sub.dose_number <= 10:
        raise rule_error(
            "dose_number", "out_of_range", "Mũi số phải từ 1 đến 10", "dose number must be 1 to 10"
        )
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
    if (vs.site_id, vs.session_date, vs.product_code) != (
        sub.site_id,
        sub.dose_date,
        sub.product_code,
    ):
        raise rule_error(
            "session_id",
            "session_mismatch",
            "Buổi tiêm không khớp điểm tiêm, ngày tiêm hoặc loại vắc xin",
            "the session's site, date or product differs from the dose",
        )


# The columns the rules need, fetched as plain rows: hydrating ORM objects for a thousand
# candidates cost a fifth of a batch.
_PERSON_COLUMNS = (
    Person.id,
    Person.person_id,
    Person.national_id,
    Person.old_id,
    Person.full_name,
    Person.dob,
    Person.sex,
    Person.ward_code,
    Person.province_code,
)
PersonRow = Row[Any]


@dataclass
class _Persons:
    by_person_id: dict[str, PersonRow]
    by_any_id: dict[str, list[PersonRow]]


def _prefetch_persons(conn: Connection, pending: list[_Pending], dialect: str) -> _Persons:
    """Candidate persons by typed ID (12-digit or old) and by chosen person_id.

    One query per key rather than an OR of IN lists, so each uses its index on a
    100M-person register instead of inviting a sequential scan.
    """
    ids = {p.row["national_id"] for p in pending if p.row["national_id"]}
    pids = {p.sub.person_id for p in pending if p.sub.person_id}
    found: dict[int, PersonRow] = {}
    for column, keys in (("national_id", ids), ("old_id", ids), ("person_id", pids)):
        if keys:
            for person in _by_keys(conn, f"person.{column}", keys):
                found[person.id] = person
    by_any: dict[str, list[PersonRow]] = {}
    for person in found.values():
        for key in {person.national_id, person.old_id} - {None}:
            by_any.setdefault(key, []).append(person)  # type: ignore[arg-type]
    return _Persons({p.person_id: p for p in found.values()}, by_any)


def _prefetch_history(
    conn: Connection, pending: list[_Pending], persons: _Persons, dialect: str
) -> dict[tuple[str, Any], dict[int, tuple[date, str]]]:
    """Stored doses per register person, and per typed ID for doses not yet linked."""
    pks = {p.id for p in persons.by_person_id.values()}
    ids = {p.row["national_id"] for p in pending if p.row["national_id"]}
    history: dict[tuple[str, Any], dict[int, tuple[date, str]]] = {}
    rows: list[Any] = []
    if pks:
        rows += _by_keys(conn, "history.person_pk", pks).all()
    if ids:
        # Unlinked doses by typed ID, the link tested here rather than in SQL: with
        # ``person_pk IS NULL`` in the query SQLite walks the index of every unlinked dose
        # instead of the national_id index.
        rows += [r for r in _by_keys(conn, "history.national_id", ids) if r[0] is None]
    for pk, nid, number, when, product in rows:
        key = ("pk", pk) if pk is not None else ("id", nid)
        history.setdefault(key, {})[number] = (when, product)
    return history


def _link_person(persons: _Persons, p: _Pending) -> PersonRow | ServiceError | None:
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


def _check_sequence(
    catalog: _Lookups, previous: dict[int, tuple[date, str]], sub: DoseSubmission
) -> None:
    """Dose N needs dose N-1 at least the product's minimum interval earlier; no N twice."""
    if sub.dose_number in previous:
        raise rule_error(
            "dose_number",
            "dose_already_recorded",
            f"Mũi {sub.dose_number} của người này đã được ghi nhận",
            f"dose {sub.dose_number} is already recorded for this person",
            status=409,
        )
    if sub.dose_number == 1:
        return
    prior = previous.get(sub.dose_number - 1)
    if prior is None:
        raise rule_error(
            "dose_number",
            "previous_dose_missing",
            f"Chưa có mũi {sub.dose_number - 1} trước mũi {sub.dose_number}",
            f"dose {sub.dose_number - 1} must be recorded before dose {sub.dose_number}",
        )
    prior_date, prior_product = prior
    prior_prod = catalog.product(prior_product)
    interval = prior_prod.min_interval_days if prior_prod is not None else 0
    earliest = prior_date + timedelta(days=interval)
    if sub.dose_date < earliest:
        raise rule_error(
            "dose_date",
            "min_interval",
            f"Mũi {sub.dose_number} sớm nhất từ ngày {earliest:%d/%m/%Y} "
            f"({interval} ngày sau mũi trước)",
            f"dose {sub.dose_number} may be given from {earliest.isoformat()} "
            f"({interval} days after the previous dose)",
        )


def _finish_row(catalog: _Lookups, p: _Pending, person: PersonRow | None) -> None:
    row = p.row
    row["person_pk"] = person.id if person is not None else None
    row["status"] = VERIFIED if person is not None else UNVERIFIED
    if person is not None:
        row["area_ward_code"], row["area_province_code"] = person.ward_code, person.province_code
        return
    ward = catalog.ward(row["ward_code"]) if row["ward_code"] else None
    site = catalog.site(row["site_id"])
    row["area_ward_code"] = row["ward_code"]
    row["area_province_code"] = (
        ward.province_code if ward is not None else site.province_code if site else None
    )
