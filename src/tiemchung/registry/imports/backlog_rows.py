"""The backlog import's row rules: a row's texts, its content hash and idempotency key, and
the cleaning that stores it or refuses it with its first broken rule (``backlog.py`` reads
the files and writes the rows; this module decides what each row is).

Written for a million rows: each distinct value of a column is cleaned once per import (a
person's identity repeats on each of their doses; a few hundred dose dates cover two years),
the cached results looked up inline, and a row becomes the driver's tuple directly.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from json.encoder import encode_basestring as _json_str
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.columns import RECORD_COLUMNS
from tiemchung.identity import IdentityError, parse_dob
from tiemchung.registry.doses import rules as dose_rules
from tiemchung.registry.doses.record import UNVERIFIED
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.fields import clean_dob, clean_id, clean_name, clean_phone, clean_sex
from tiemchung.registry.imports.rejects import RowRejectedError
from tiemchung.registry.imports.synonyms import product_names, vaccine_key
from tiemchung.registry.models import AdminUnit, Product, Site
from tiemchung.registry.scope import Actor
from tiemchung.vaccines import LEGACY_NAMES

BACKLOG_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:tiemchung:backlog-dose-record")
#: the columns of ``doses`` an imported row fills, in the order of :meth:`Cleaner.clean`'s
#: tuples (the others are NULL or the database's default)
INSERT_COLUMNS = (
    "client_uuid",
    "submission_hash",
    "record_id",
    "national_id",
    "full_name",
    "dob",
    "sex",
    "phone",
    "ward_code",
    "address",
    "product_code",
    "dose_number",
    "dose_date",
    "site_id",
    "status",
    "area_ward_code",
    "area_province_code",
    "entered_by",
)
#: distinct values remembered per column (cleaned once each; names and dates repeat a lot)
MEMO_LIMIT = 200_000

RID, _NID, _NAME, _DOB, _SEX, _PHONE, _WARD, _ADDRESS, VACCINE, _NUMBER, _DATE, _SITE = range(
    len(RECORD_COLUMNS)
)
_NS = BACKLOG_NAMESPACE.bytes
_MISS: Any = object()


def client_uuid_for(record_id: str) -> uuid.UUID:
    """The dose's idempotency key: the same record_id always gives the same UUID."""
    return uuid.uuid5(BACKLOG_NAMESPACE, record_id)


def uuid_hex(record_id: str) -> str:
    """:func:`client_uuid_for`'s hex digits without building a ``UUID`` (a million of those
    cost a second): the same SHA-1 of namespace and name, version 5, RFC 4122 variant."""
    digest = bytearray(hashlib.sha1(_NS + record_id.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return digest.hex()


def row_texts(raw: Mapping[str, Any]) -> list[str | None]:
    """The row's ``RECORD_COLUMNS`` as ``rejects.cell_text`` reads them (stripped; blank and
    missing are None), in one comprehension: this runs once per row."""
    get = raw.get
    return [None if (v := get(c)) is None else str(v).strip() or None for c in RECORD_COLUMNS]


def content_hash(texts: Sequence[str | None]) -> str:
    """``submission_hash``: the SHA-256 of ``json.dumps(texts, ensure_ascii=False)``, the
    form every stored backlog dose has (so a file imported before still skips), written
    with the json module's own string encoder rather than a whole ``dumps`` per row."""
    body = ", ".join(["null" if t is None else _json_str(t) for t in texts])
    return hashlib.sha256(f"[{body}]".encode()).hexdigest()


class Cleaner:
    """The row rules of one import, over the store's sites, products and wards as they were
    when it began."""

    def __init__(
        self,
        sites: Mapping[str, tuple[str, str]],
        products: Mapping[str, str],
        ward_province: Mapping[str, str],
        entered_by: int | None,
    ) -> None:
        self.sites, self.products, self.ward_province = sites, products, ward_province
        self.entered_by = entered_by
        kinds = ("vaccine", "dose_date", "dose_number", "name", "dob", "sex", "phone", "id")
        #: kind -> value -> cleaned value; kind -> value -> (field:rule, message)
        self.ok: dict[str, dict[str | None, Any]] = {k: {} for k in kinds}
        self.failed: dict[str, dict[str | None, tuple[str, str]]] = {k: {} for k in kinds}

    @classmethod
    def load(cls, session: Session, synonyms: Mapping[str, str] | None, actor: Actor) -> Cleaner:
        """The active sites the importer may see (a row naming another site is refused as an
        unknown site: an upload by a site or a commune never stores doses elsewhere), the
        products by every name they may be typed as, the wards."""
        sites = {
            s.site_id: (s.ward_code, s.province_code)
            for s in session.scalars(select(Site).where(Site.active.is_(True), actor.site_filter()))
        }
        catalogue = [(p.code, p.name) for p in session.scalars(select(Product))]
        products = product_names(
            catalogue, {**{n: c for c, n in LEGACY_NAMES.items()}, **(synonyms or {})}
        )
        ward_province = dict(
            session.execute(
                select(AdminUnit.code, AdminUnit.province_code).where(
                    AdminUnit.scheme == "2021", AdminUnit.level == "ward"
                )
            ).all()
        )
        return cls(sites, products, ward_province, actor.user_id)

    def _memo(self, kind: str, value: str | None, fn: Callable[[Any], Any]) -> Any:
        """``fn(value)`` the first time ``value`` is seen; a refusal is remembered as its
        reason and raised anew each time (re-raising one exception object grows its
        traceback). The callers look the successes up inline first."""
        ok, failed = self.ok[kind], self.failed[kind]
        hit = ok.get(value, _MISS)
        if hit is not _MISS:
            return hit
        failure = failed.get(value)
        if failure is None:
            try:
                result = fn(value)
            except RowRejectedError as exc:
                failure = (exc.key, str(exc))
            except ServiceError as exc:
                first = exc.problems[0]
                failure = (f"{first.field}:{first.rule}", str(exc))
            else:
                if len(ok) >= MEMO_LIMIT:
                    ok.clear()
                ok[value] = result
                return result
            if len(failed) >= MEMO_LIMIT:
                failed.clear()
            failed[value] = failure
        raise RowRejectedError(*failure)

    def _product(self, vaccine: str) -> str:
        product = self.ok["vaccine"].get(vaccine, _MISS)
        if product is _MISS:
            product = self._memo("vaccine", vaccine, lambda v: self.products.get(vaccine_key(v)))
        if product is None:
            raise RowRejectedError("vaccine:unknown_product", f"no vaccine product '{vaccine}'")
        return str(product)

    def check_stored(self, t: Sequence[str | None]) -> None:
        """A row stored before with this very content passed every rule then; only its site
        (closed since?) and its vaccine (a synonym of an earlier ``--map``) may fail now,
        and they are the first rules :meth:`clean` checks after the record id. The others
        read the row's own text (and the 2021 wards, which do not change)."""
        if t[_SITE] not in self.sites:
            raise RowRejectedError("site_id:unknown_site", f"no vaccination site '{t[_SITE]}'")
        self._product(t[VACCINE] or "")

    def clean(self, t: Sequence[str | None], key: str, digest: str) -> tuple[Any, ...]:
        """The row to insert (:data:`INSERT_COLUMNS`; ``key`` its :func:`uuid_hex`, ``digest``
        its :func:`content_hash`), or :class:`RowRejectedError` naming the first rule it
        breaks, in the order the rejects file has always given."""
        rid = t[RID]
        if rid is None:
            raise RowRejectedError("record_id:required", "record_id is empty")
        if len(rid) > 40:
            raise RowRejectedError("record_id:too_long", "record_id is longer than 40 characters")
        site_id = t[_SITE]
        place = self.sites.get(site_id or "")
        if place is None or site_id is None:
            raise RowRejectedError("site_id:unknown_site", f"no vaccination site '{site_id}'")
        product = self._product(t[VACCINE] or "")
        ok, memo = self.ok, self._memo
        if (when := ok["dose_date"].get(t[_DATE], _MISS)) is _MISS:
            when = memo("dose_date", t[_DATE], _dose_iso)
        if (number := ok["dose_number"].get(t[_NUMBER], _MISS)) is _MISS:
            number = memo("dose_number", t[_NUMBER], _dose_number)
        if (name := ok["name"].get(t[_NAME] or "", _MISS)) is _MISS:
            name = memo("name", t[_NAME] or "", clean_name)
        if (dob := ok["dob"].get(t[_DOB], _MISS)) is _MISS:
            dob = memo("dob", t[_DOB], clean_dob)
        if (sex := ok["sex"].get(t[_SEX], _MISS)) is _MISS:
            sex = memo("sex", t[_SEX], clean_sex)
        if (phone := ok["phone"].get(t[_PHONE], _MISS)) is _MISS:
            phone = memo("phone", t[_PHONE], clean_phone)
        national = t[_NID]
        if national is not None and not (
            len(national) in (9, 12) and national.isdigit() and national.isascii()
        ):  # 9 or 12 plain digits are already what clean_id keeps
            national = memo("id", national, lambda v: clean_id(v).value)
        ward = t[_WARD]
        site_ward, province = place
        if ward is not None:
            ward = ward.zfill(5)
            province = self.ward_province.get(ward)  # type: ignore[assignment]
            if province is None:
                raise RowRejectedError("ward_code:unknown_ward", f"no 2021 ward with code '{ward}'")
        return (
            key,
            digest,
            rid,
            national,
            name[0],
            dob,
            sex,
            phone,
            ward,
            t[_ADDRESS],
            product,
            number,
            when,
            site_id,
            UNVERIFIED,
            ward or site_ward,
            province,
            self.entered_by,
        )


def _dose_number(text: str | None) -> int:
    try:
        number = int(text or "")
    except ValueError:
        raise RowRejectedError(
            "dose_number:unreadable", "dose_number is not a whole number"
        ) from None
    if not dose_rules.dose_number_ok(number):
        raise RowRejectedError("dose_number:out_of_range", dose_rules.DOSE_NUMBER_RANGE.en)
    return number


def _dose_iso(text: str | None) -> str:
    """The dose date as stored (ISO text: SQLite's form of a date, and PostgreSQL reads it)."""
    return dose_date(text).isoformat()


def dose_date(text: str | None) -> date:
    """A legacy file's dose date (day first), or the row's refusal."""
    if text is None:
        raise RowRejectedError("dose_date:required", "dose_date is empty")
    try:
        parsed = parse_dob(text)
    except IdentityError as exc:
        raise RowRejectedError(
            "dose_date:unreadable", f"dose_date '{text}': {exc.message_en}"
        ) from None
    if parsed.day is None:
        raise RowRejectedError("dose_date:unreadable", f"dose_date '{text}' is not a full date")
    return parsed.to_date()
