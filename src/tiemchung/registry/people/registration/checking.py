"""Checking a list of registrants against the register with the desk's verification.

The question for each row is the desk's (``registry/doses/verify.py``): ``clean_record``
cleans the typed fields and ``decide`` answers verified / mismatch / not_found / ambiguous by
the same rule; only the look-ups differ. At the desk each is an index probe; here the whole
list's IDs are fetched in two queries and its names with dates of birth in one, and
``decide`` reads those answers, so 10,000 rows cost three queries rather than 20,000.

What an organisation learns is only which of ITS typed fields are wrong and how (``dob``:
day and month swapped), never the register's values, and for an ambiguous row only that
several people fit: it is not staff and sees no one's record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tiemchung.identity import IdentityError, fold_name
from tiemchung.identity.dates import iso_compatible
from tiemchung.identity.phones import normalize_phone
from tiemchung.registry.doses import verify
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.models import Person
from tiemchung.registry.people.registration.priority import parse_yes_no
from tiemchung.registry.scope import Actor
from tiemchung.store.bulk import in_keys

REJECTED = "rejected"
#: the columns a registrant row may carry (the upload's mapping names these)
ROW_COLUMNS = (
    "national_id",
    "full_name",
    "dob",
    "sex",
    "phone",
    "ward_code",
    "priority_group",
    "underlying_condition",
)
_P = Person.__table__.c
#: keys per query: one array parameter on PostgreSQL, a plain IN on SQLite (its limit)
_CHUNK = 5_000


@dataclass
class RowCheck:
    """One row's answer: its result, the reasons (each with a field and both languages),
    the register person a verified row is (never shown to the organisation), and the
    cleaned values stored on the registration."""

    result: str
    reasons: list[dict[str, str]] = field(default_factory=list)
    person_pk: int | None = None
    person_ward: str | None = None
    person_province: str | None = None
    person_name: str | None = None
    national_id: str | None = None
    full_name: str | None = None
    dob: str | None = None
    sex: str | None = None
    phone: str | None = None
    ward_code: str | None = None
    priority_group: str | None = None
    underlying_condition: bool = False


def _reason(fieldname: str, rule: str, vi: str, en: str) -> dict[str, str]:
    return {"field": fieldname, "rule": rule, "message_vi": vi, "message_en": en}


def _text(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _clean_row(
    row: Mapping[str, Any], groups: Collection[str]
) -> tuple[verify.Typed | None, RowCheck]:
    """The row's typed identity (None when it cannot be checked) and its other values; every
    problem of the row is listed, not only the first."""
    out = RowCheck(result=REJECTED)
    if row.get("_problem") == "no_header":
        out.reasons.append(
            _reason("row", "sheet:no_header",
                    "Trang tính không có dòng tiêu đề: không biết cột nào là gì",
                    "the sheet has no header row: its columns cannot be told apart")
        )  # fmt: skip
        return None, out
    typed: verify.Typed | None = None
    try:
        typed = verify.clean_record(
            verify.VerifyRecord(
                national_id=_text(row, "national_id"),
                full_name=_text(row, "full_name"),
                dob=_text(row, "dob"),
                sex=_text(row, "sex"),
                ward_code=_text(row, "ward_code"),
            )
        )
    except ServiceError as exc:
        out.reasons += [_reason(p.field, p.rule, p.message_vi, p.message_en) for p in exc.problems]
    phone = _text(row, "phone")
    if phone is not None:
        try:
            out.phone = normalize_phone(phone)
        except IdentityError as exc:
            out.reasons.append(_reason("phone", exc.code, exc.message_vi, exc.message_en))
    group = _text(row, "priority_group")
    if group is not None:
        if group.upper() in groups:
            out.priority_group = group.upper()
        else:
            out.reasons.append(
                _reason("priority_group", "unknown_group",
                        f"Không có nhóm ưu tiên '{group}'", f"no priority group '{group}'")
            )  # fmt: skip
    try:
        out.underlying_condition = parse_yes_no(_text(row, "underlying_condition"))
    except ServiceError as exc:
        p = exc.problems[0]
        out.reasons.append(_reason(p.field, p.rule, p.message_vi, p.message_en))
    if typed is not None:
        out.national_id, out.full_name, out.dob = typed.national_id, typed.full_name, typed.dob
        out.sex, out.ward_code = typed.sex, typed.ward_code
    return (typed if not out.reasons else None), out


class _Answers:
    """The register's answers to a list's look-ups, fetched at once."""

    def __init__(self, session: Session) -> None:
        self.conn = session.connection()
        self.dialect = self.conn.dialect.name
        self.by_digits: dict[str, list[Any]] = defaultdict(list)
        self.by_name: dict[str, list[Any]] = defaultdict(list)
        self.asked_digits: set[str] = set()
        self.asked_names: set[tuple[str, str]] = set()
        self.named: set[int] = set()

    def fetch_ids(self, digits: set[str]) -> None:
        todo = sorted(digits - self.asked_digits)
        seen: set[tuple[str, int]] = set()
        for i in range(0, len(todo), _CHUNK):
            part = todo[i : i + _CHUNK]
            for col in (_P.national_id, _P.old_id):
                stmt = select(*verify.PERSON_COLUMNS).where(in_keys(col, part, self.dialect))
                for r in self.conn.execute(stmt):
                    for key in {r.national_id, r.old_id}:
                        if key in digits and (key, r.id) not in seen:
                            seen.add((key, r.id))
                            self.by_digits[key].append(r)
        self.asked_digits |= set(todo)

    def fetch_names(self, wanted: set[tuple[str, str]]) -> None:
        """Persons by folded name and a date of birth compatible with a full typed date (the
        register's is then the typed one, its year-month or its year: three pairs each),
        joined to the pairs on PostgreSQL, which probes ``ix_persons_name_dob`` once per
        pair (two separate ``IN`` lists would be probed as their cross product). Elsewhere
        nothing is fetched: each row asks the desk's own probe (``_by_name_dob``)."""
        if self.dialect != "postgresql":
            return
        todo = sorted(wanted - self.asked_names)
        cols = ", ".join(f"p.{c.name}" for c in verify.PERSON_COLUMNS)
        stmt = text(
            f"SELECT {cols} FROM persons p JOIN unnest(CAST(:k AS text[]), CAST(:d AS text[]))"
            " AS t(k, d) ON p.name_key = t.k AND p.dob = t.d"
        )
        for i in range(0, len(todo), _CHUNK):
            part = todo[i : i + _CHUNK]
            keys = [k for k, _d in part for _n in (4, 7, 10)]
            dobs = [d[:n] for _k, d in part for n in (4, 7, 10)]
            for r in self.conn.execute(stmt, {"k": keys, "d": dobs}):
                if r.id not in self.named:  # a year-only person fits several typed dates
                    self.named.add(r.id)
                    self.by_name[fold_name(r.full_name)].append(r)
        self.asked_names |= set(todo)

    def find_by_id(self, digits: str) -> list[Any]:
        return self.by_digits.get(digits, [])[: verify.MAX_CANDIDATES + 1]

    def find_by_name_dob(self, name: str, dob: str) -> list[Any]:
        if (fold_name(name), dob) not in self.asked_names:  # a partial date: the desk's probe
            return verify._by_name_dob(self.conn, name, dob)
        found = [
            p
            for p in self.by_name.get(fold_name(name), [])
            if p.dob is not None and iso_compatible(p.dob, dob)
        ]
        found.sort(key=lambda p: (p.dob != dob, -len(p.dob), p.id))
        return found[: verify.MAX_CANDIDATES + 1]


def check_rows(
    session: Session, actor: Actor, rows: Sequence[Mapping[str, Any]], groups: Collection[str]
) -> list[RowCheck]:
    """Each row's answer, in order. A row that cannot be checked (no ID and no name with a
    date of birth, a garbled value, an unknown group) is ``rejected`` with every reason."""
    cleaned = [_clean_row(row, groups) for row in rows]
    answers = _Answers(session)
    answers.fetch_ids(
        {d for t, _ in cleaned if t is not None for d in (t.national_id, t.old_id) if d}
    )
    answers.fetch_names(
        {
            (fold_name(t.full_name), t.dob)
            for t, _ in cleaned
            if t is not None
            and t.full_name
            and t.dob
            and len(t.dob) == 10
            and not (t.national_id and answers.find_by_id(t.national_id))
        }
    )
    out: list[RowCheck] = []
    for typed, check in cleaned:
        if typed is not None:
            _answer(actor, typed, check, answers)
        out.append(check)
    return out


def _answer(actor: Actor, t: verify.Typed, check: RowCheck, answers: _Answers) -> None:
    status, persons, _on = verify.decide(t, answers.find_by_id, answers.find_by_name_dob)
    check.result = status
    if status == verify.AMBIGUOUS:
        check.reasons.append(
            _reason("national_id" if t.national_id else "full_name", "ambiguous",
                    f"{len(persons)} người trong sổ dân cư khớp: cần số định danh đúng",
                    f"{len(persons)} register persons fit: the right ID number is needed")
        )  # fmt: skip
    elif status == verify.NOT_FOUND:
        check.reasons.append(
            _reason("national_id" if t.national_id else "full_name", "not_found",
                    "Không tìm thấy trong sổ dân cư", "not found in the register")
        )  # fmt: skip
    if status in (verify.VERIFIED, verify.MISMATCH):
        person = persons[0]
        for m in verify.mismatches(actor, person, t):
            check.reasons.append(
                _reason(m.field, m.kind, m.message_vi, m.message_en)
                | {"decisive": "yes" if m.decisive else "no"}
            )
        if status == verify.VERIFIED:
            check.person_pk = int(person.id)
            check.person_ward = person.ward_code
            check.person_province = person.province_code
            check.person_name = person.full_name
