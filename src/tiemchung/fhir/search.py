"""The FHIR reads and searches: the query string checked (a parameter the server does not
support is a 400 naming it, never silently ignored, so a partner never takes an unfiltered
answer for a filtered one), the registry's scoped services called, their rows mapped.

Paging is by keyset: the ``next`` link carries ``_cursor``, the last row id of the page, and
repeats every other parameter, so following ``next`` to the end gives every match once even
while doses are being recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from tiemchung.fhir import codes, resources
from tiemchung.registry.catalog.reference import get_site
from tiemchung.registry.doses.immunizations import ImmunizationQuery, search_immunizations
from tiemchung.registry.errors import FieldProblem, ServiceError, not_found
from tiemchung.registry.people.persons import (
    PersonQuery,
    get_person,
    person_view,
    persons_after,
    persons_by_ids,
)
from tiemchung.registry.scope import Actor

DEFAULT_COUNT = 50
MAX_COUNT = 500
PATIENT_PARAMS = (
    "identifier",
    "name",
    "birthdate",
    "gender",
    "_lastUpdated",
    "_id",
    "_count",
    "_cursor",
)
IMMUNIZATION_PARAMS = (
    "patient",
    "date",
    "_lastUpdated",
    "_id",
    "_count",
    "_cursor",
    "_include",
)
INCLUDE_PATIENT = "Immunization:patient"


def bad_param(name: str, vi: str, en: str) -> ServiceError:
    """A 400 naming the parameter (the routes answer it as an ``OperationOutcome``)."""
    return ServiceError(
        400, "Bad search parameter / Tham số tìm kiếm sai", [FieldProblem(name, "invalid", vi, en)]
    )


@contextmanager
def reading(sessions: Callable[[], Session]) -> Iterator[Session]:
    """A session for one FHIR read that ends with COMMIT (nothing is written) rather than the
    pool's ROLLBACK: psycopg forgets its prepared statements on a ROLLBACK, and the
    Immunization search's eight-table query then costs ~2 ms of planning on every request,
    twenty times its execution (bench/fhir.py search). An error still rolls back."""
    with sessions() as session:
        yield session
        session.commit()


@dataclass
class Result:
    """A search's Bundle and the ids read, for the audit log."""

    bundle: dict[str, Any]
    patient_ids: list[str] = field(default_factory=list)
    dose_ids: list[str] = field(default_factory=list)


def single(params: list[tuple[str, str]], allowed: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in params:
        if name not in allowed:
            raise bad_param(
                name,
                f"Tham số không được hỗ trợ: {name}",
                f"unsupported search parameter: {name}",
            )
        out.setdefault(name, []).append(value)
    for name, values in out.items():
        if name != "date" and len(values) > 1:
            raise bad_param(name, "Tham số chỉ được dùng một lần", "give this parameter once")
    return out


def _int(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise bad_param(
            name, f"Phải là số nguyên từ {low} đến {high}", f"must be a whole number {low}-{high}"
        )
    return number


def _count(args: dict[str, list[str]]) -> tuple[int, int]:
    count = _int("_count", args["_count"][0], 1, MAX_COUNT) if "_count" in args else DEFAULT_COUNT
    cursor = _int("_cursor", args["_cursor"][0], 0, 2**62) if "_cursor" in args else 0
    return count, cursor


def _next_url(url: str, params: list[tuple[str, str]], cursor: int) -> str:
    kept = [(k, v) for k, v in params if k != "_cursor"] + [("_cursor", str(cursor))]
    return f"{url}?{urlencode(kept)}"


def self_url(url: str, params: list[tuple[str, str]]) -> str:
    return f"{url}?{urlencode(params)}" if params else url


# -- Patient ------------------------------------------------------------------------------------


def read_patient(
    session: Session, actor: Actor, sy: codes.Systems, person_id: str
) -> dict[str, Any]:
    """One ``Patient``; 404 when absent or outside the caller's view, as ``/api/v1``."""
    person = get_person(session, actor, person_id)
    if person is None:
        raise not_found("id", "người này", "Patient")
    return resources.patient(person_view(actor, person), sy, person.updated_at)


def _identifier(sy: codes.Systems, value: str) -> PersonQuery:
    system, sep, code = value.partition("|")
    if not sep:
        system, code = "", value
    if not code.strip():
        raise bad_param("identifier", "Thiếu giá trị định danh", "the identifier has no value")
    if system == sy.cccd:
        if not (code.isdigit() and len(code) == 12):
            raise bad_param("identifier", "Số định danh có 12 chữ số", "a citizen ID has 12 digits")
        return PersonQuery(national_id=code)
    if system == sy.cmnd:
        if not (code.isdigit() and len(code) == 9):
            raise bad_param("identifier", "Số CMND có 9 chữ số", "an old ID card has 9 digits")
        return PersonQuery(old_id=code)
    if system in ("", sy.person):
        if system == "" and code.isdigit() and len(code) in (9, 12):
            return PersonQuery(national_id=code)  # no system: either ID number
        return PersonQuery()  # the register id: filtered by _id below
    raise bad_param(
        "identifier",
        f"Hệ định danh không được hỗ trợ: {system}",
        f"unsupported identifier system: {system}",
    )


#: FHIR administrative gender → the register's sex (the register knows only these two: an
#: ``other`` or ``unknown`` search could match nobody, so it is refused rather than empty)
_SEX = {"male": "M", "female": "F"}


def _gender(value: str) -> str:
    if value not in _SEX:
        raise bad_param(
            "gender",
            "Giới tính: male hoặc female (sổ đăng ký chỉ ghi hai giá trị này)",
            "gender is male or female (the only values the register records)",
        )
    return _SEX[value]


def _aware(value: datetime) -> datetime:
    """A stored time with its zone (SQLite gives back the UTC it stored, naive)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def search_patients(
    session: Session, actor: Actor, sy: codes.Systems, url: str, params: list[tuple[str, str]]
) -> Result:
    """``Patient?identifier=system|value``, ``name`` (the whole name, accents optional),
    ``birthdate``, ``gender``, ``_lastUpdated=gt…``, ``_id``: the caller's persons (a site:
    an exact look-up only, as ``/api/v1/persons``), keyset-paged."""
    args = single(params, PATIENT_PARAMS)
    count, cursor = _count(args)
    query = _identifier(sy, args["identifier"][0]) if "identifier" in args else PersonQuery()
    register_id = None
    if "identifier" in args and args["identifier"][0].startswith(sy.person + "|"):
        register_id = args["identifier"][0].partition("|")[2]
    if "_id" in args:
        register_id = args["_id"][0]
    query = PersonQuery(
        national_id=query.national_id,
        old_id=query.old_id,
        full_name=args["name"][0] if "name" in args else None,
        dob=args["birthdate"][0] if "birthdate" in args else None,
        sex=_gender(args["gender"][0]) if "gender" in args else None,
    )
    updated_gt = _updated(args["_lastUpdated"][0]) if "_lastUpdated" in args else None
    if register_id is not None:
        person = get_person(session, actor, register_id)
        rows = [person] if person is not None and cursor == 0 else []
        # the one person must still meet the other filters a partner gave with the id
        if query.sex is not None:
            rows = [p for p in rows if p.sex == query.sex]
        if updated_gt is not None:
            rows = [p for p in rows if _aware(p.updated_at) > updated_gt]
    else:
        rows = persons_after(
            session, actor, query, after_pk=cursor, limit=count + 1, updated_gt=updated_gt
        )
    more = len(rows) > count
    rows = rows[:count]
    matches = [
        (f"{url}/{p.person_id}", resources.patient(person_view(actor, p), sy, p.updated_at))
        for p in rows
    ]
    next_url = _next_url(url, params, rows[-1].id) if more else None
    return Result(
        resources.bundle(self_url(url, params), matches, [], next_url),
        patient_ids=[p.person_id for p in rows],
    )


def read_location(
    session: Session, actor: Actor, sy: codes.Systems, site_id: str
) -> dict[str, Any]:
    """One site as a ``Location``, for the staff whose area holds it (as
    ``/api/v1/sites/{id}``: the route refuses a citizen); 404 otherwise."""
    site = get_site(session, actor, site_id)
    if site is None:
        raise not_found("id", "điểm tiêm", "Location")
    return resources.location(site, sy)


# -- Immunization -------------------------------------------------------------------------------


def read_immunization(
    session: Session, actor: Actor, sy: codes.Systems, dose_id: str
) -> dict[str, Any]:
    """One ``Immunization``; 404 when absent or outside the caller's area."""
    number = int(dose_id) if dose_id.isdigit() and len(dose_id) < 19 else None
    rows = (
        search_immunizations(session, actor, ImmunizationQuery(dose_id=number), limit=1)
        if number is not None
        else []
    )
    if not rows:
        raise not_found("id", "mũi tiêm", "Immunization")
    return resources.immunization(rows[0], sy)


def _day(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise bad_param(
            name, "Ngày phải có dạng YYYY-MM-DD", "a date is written YYYY-MM-DD"
        ) from None


def _dates(values: list[str]) -> tuple[date | None, date | None]:
    """``date=geYYYY-MM-DD`` (also gt, le, lt, eq or none): the range of dose days."""
    low: date | None = None
    high: date | None = None
    for value in values:
        prefix, day = (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)
        when = _day("date", day)
        if prefix not in ("eq", "ge", "gt", "le", "lt"):
            raise bad_param(
                "date", f"Tiền tố không hỗ trợ: {prefix}", f"unsupported prefix {prefix}"
            )
        if prefix in ("eq", "ge", "gt"):
            start = date.fromordinal(when.toordinal() + 1) if prefix == "gt" else when
            low = start if low is None else max(low, start)
        if prefix in ("eq", "le", "lt"):
            end = date.fromordinal(when.toordinal() - 1) if prefix == "lt" else when
            high = end if high is None else min(high, end)
    return low, high


def _updated(value: str) -> datetime:
    """``_lastUpdated=gt…``: an instant (a zone-less one is UTC) or a day (its start)."""
    if not value.startswith("gt"):
        raise bad_param("_lastUpdated", "Chỉ hỗ trợ gt", "only the gt prefix is supported")
    text = value[2:].replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise bad_param(
            "_lastUpdated", "Thời điểm không hợp lệ", "not an instant (YYYY-MM-DDThh:mm:ssZ)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def patient_ref(value: str) -> str:
    ref = value.removeprefix("Patient/")
    if not ref or "/" in ref:
        raise bad_param("patient", "Tham chiếu bệnh nhân sai", "patient is Patient/{id} or an id")
    return ref


def search_immunizations_bundle(
    session: Session, actor: Actor, sy: codes.Systems, base: str, params: list[tuple[str, str]]
) -> Result:
    """``Immunization?patient=``, ``date=``, ``_lastUpdated=gt…``, ``_id``, ``_count``,
    ``_include=Immunization:patient``: the caller's doses (``Actor.dose_filter``), keyset
    pages in dose-id order."""
    args = single(params, IMMUNIZATION_PARAMS)
    count, cursor = _count(args)
    if "_include" in args and args["_include"][0] != INCLUDE_PATIENT:
        raise bad_param(
            "_include", "Chỉ hỗ trợ Immunization:patient", "only Immunization:patient is supported"
        )
    low, high = _dates(args.get("date", []))
    dose_id = None
    if "_id" in args:
        dose_id = _int("_id", args["_id"][0], 1, 2**62)
    query = ImmunizationQuery(
        person_id=patient_ref(args["patient"][0]) if "patient" in args else None,
        dose_id=dose_id,
        date_ge=low,
        date_le=high,
        updated_gt=_updated(args["_lastUpdated"][0]) if "_lastUpdated" in args else None,
        after_id=cursor,
    )
    rows = search_immunizations(session, actor, query, limit=count + 1)
    more = len(rows) > count
    rows = rows[:count]
    url = f"{base}/Immunization"
    matches = [(f"{url}/{r['id']}", resources.immunization(r, sy)) for r in rows]
    includes: list[tuple[str, dict[str, Any]]] = []
    patient_ids: list[str] = []
    if "_include" in args:
        wanted = sorted({r["person_id"] for r in rows if r["person_id"]})
        for p in persons_by_ids(session, actor, wanted):
            includes.append(
                (
                    f"{base}/Patient/{p.person_id}",
                    resources.patient(person_view(actor, p), sy, p.updated_at),
                )
            )
            patient_ids.append(p.person_id)
    next_url = _next_url(url, params, rows[-1]["id"]) if more else None
    return Result(
        resources.bundle(self_url(url, params), matches, includes, next_url),
        patient_ids=patient_ids,
        dose_ids=[str(r["id"]) for r in rows],
    )
