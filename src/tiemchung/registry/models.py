"""The registry's stored types (SQLAlchemy 2, typed).

What the API accepts and returns are separate pydantic types (``tiemchung.api.schemas``); these
are what is stored. The schema itself is owned by the Alembic migrations in
``tiemchung/registry/migrations``: the application never calls ``create_all``.

Area columns (``ward_code``, ``province_code``) use the pre-July-2025 GSO codes that the
2021–22 data carries; ``admin_units`` keeps both that scheme ("2021") and the 2025 one.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    func,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class AdminUnit(Base):
    """A province, district or ward, in one of two coding schemes (2021 three-level, 2025)."""

    __tablename__ = "admin_units"

    scheme: Mapped[str] = mapped_column(String(4), primary_key=True)
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(120))
    parent_code: Mapped[str | None] = mapped_column(String(8))
    province_code: Mapped[str] = mapped_column(String(8))

    __table_args__ = (Index("ix_admin_units_province", "scheme", "province_code"),)


class Person(Base):
    """A person of the local snapshot of the national population register."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(40), unique=True)
    national_id: Mapped[str | None] = mapped_column(String(12), index=True)
    old_id: Mapped[str | None] = mapped_column(String(12), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    # Folded name (no diacritics, lower case): the look-up key for name + date of birth.
    name_key: Mapped[str] = mapped_column(String(200))
    # ISO form keeping the register's precision: "1990-03-05", "1990-03" or "1990".
    dob: Mapped[str | None] = mapped_column(String(10))
    sex: Mapped[str | None] = mapped_column(String(1))
    ward_code: Mapped[str | None] = mapped_column(String(8), index=True)
    province_code: Mapped[str | None] = mapped_column(String(8), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(15))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (Index("ix_persons_name_dob", "name_key", "dob"),)


class Site(Base):
    """A vaccination site (health station, hospital, mobile team, workplace).

    A closed site keeps its row (its doses and stock still name it) with ``active`` false.
    """

    __tablename__ = "sites"

    site_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    ward_code: Mapped[str] = mapped_column(String(8), index=True)
    province_code: Mapped[str] = mapped_column(String(8), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # commune_health_station | hospital | mobile_team | workplace (registry/catalog/sites.py)
    kind: Mapped[str] = mapped_column(
        String(24), default="commune_health_station", server_default="commune_health_station"
    )


class Product(Base):
    """A vaccine product with its EU DCC value-set codes and its schedule rules."""

    __tablename__ = "products"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    mp: Mapped[str] = mapped_column(String(60))  # EU DCC vaccine-medicinal-product
    ma: Mapped[str] = mapped_column(String(60))  # EU DCC vaccine-mah-manf
    vp: Mapped[str] = mapped_column(String(60))  # EU DCC vaccine-prophylaxis
    primary_doses: Mapped[int] = mapped_column(Integer)
    min_interval_days: Mapped[int] = mapped_column(Integer)
    # An inactive product is no longer received into stock; its doses stay valid.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class Lot(Base):
    __tablename__ = "lots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    lot_number: Mapped[str] = mapped_column(String(40))
    expiry: Mapped[date] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("product_code", "lot_number"),)


class StockMovement(Base):
    """One movement of a lot's doses at a site: received, transferred in or out, or wasted
    (opened-vial wastage, recorded against a session). Stock on hand at a site is these
    summed with their signs minus the doses administered there (registry/catalog/stock.py).
    Append-only like the audit log: a mistake is corrected by a movement the other way."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"), index=True)
    # received | transfer_in | transfer_out | wasted
    kind: Mapped[str] = mapped_column(String(12))
    quantity: Mapped[int] = mapped_column(Integer)
    # the other site of a transfer; the session of a wastage
    other_site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.site_id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class VaccinationSession(Base):
    """A vaccination session at a site on a day: planned, opened, closed (or cancelled)."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"), index=True)
    session_date: Mapped[date] = mapped_column(Date, index=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    planned_count: Mapped[int] = mapped_column(Integer)
    # planned -> open -> closed, or planned -> cancelled (registry/catalog/sessions.py)
    status: Mapped[str] = mapped_column(String(12), default="planned")
    # the plan (issue 17): every product given (product_code is the first), the lots meant,
    # the time slots [{start, end, capacity}], the groups invited, the team [{name, role}]
    products: Mapped[list | None] = mapped_column(JSON)
    lot_numbers: Mapped[list | None] = mapped_column(JSON)
    time_slots: Mapped[list | None] = mapped_column(JSON)
    groups: Mapped[list | None] = mapped_column(JSON)
    team: Mapped[list | None] = mapped_column(JSON)
    # the site said a second session may be open beside this one on the same day
    allow_parallel: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the reconciliation's figures at closing (doses recorded, opened, wasted, difference)
    closing: Mapped[dict | None] = mapped_column(JSON)

    # a site's sessions of a day: the desk's "today's open session", the one-open-a-day rule
    __table_args__ = (Index("ix_sessions_site_date", "site_id", "session_date"),)


class User(Base):
    """A platform user: a role and the area the role is scoped to."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    province_code: Mapped[str | None] = mapped_column(String(8))
    ward_code: Mapped[str | None] = mapped_column(String(8))
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.site_id"))
    person_pk: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # an administrator chose the password: its owner must replace it before anything else
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # tokens carry the version they were issued at; a disable, reset or new role bumps it
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Dose(Base):
    """A dose record: the person's data as entered, and the register person once verified."""

    __tablename__ = "doses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    # Hash of the canonical submission: a retry with the same UUID must carry the same content.
    submission_hash: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    person_pk: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    national_id: Mapped[str | None] = mapped_column(String(20), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    dob: Mapped[str | None] = mapped_column(String(10))
    sex: Mapped[str | None] = mapped_column(String(1))
    phone: Mapped[str | None] = mapped_column(String(15))
    ward_code: Mapped[str | None] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(Text)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    dose_number: Mapped[int] = mapped_column(Integer)
    dose_date: Mapped[date] = mapped_column(Date, index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12))
    # The area the dose belongs to: the register person's ward once linked, else as entered.
    area_ward_code: Mapped[str | None] = mapped_column(String(8), index=True)
    area_province_code: Mapped[str | None] = mapped_column(String(8), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # the last change after it was stored (a link, a correction, a double entry); null: none,
    # ``created_at`` holds. FHIR's meta.lastUpdated, ``_lastUpdated`` and ``$export``'s
    # ``_since`` read coalesce(updated_at, created_at); set with every row of ``changes``.
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who decided the person link: "entry" (verified when recorded), "reconcile" (an applied
    # run), "review" (a commune decision) or "citizen" (a ticket). A run never overrides a
    # person's decision ("review", "citizen"); see registry/imports/apply.py.
    link_source: Mapped[str | None] = mapped_column(String(12))
    run_id: Mapped[str | None] = mapped_column(String(40))
    match_probability: Mapped[float | None] = mapped_column(Float)
    # A double entry of another dose record of the same dose (status "duplicate").
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("doses.id"))

    person: Mapped[Person | None] = relationship(lazy="raise", foreign_keys=[person_pk])

    # the doses administered from a lot at a site: stock on hand (registry/catalog/stock.py),
    # counted from this index alone on every group of dose writes, those since a dose id
    # too (the status says what is not a dose given); migration 0016_stock_index
    __table_args__ = (Index("ix_doses_stock", "lot_id", "site_id", "id", "status"),)


class AefiReport(Base):
    """An adverse event following immunisation reported against one dose (issue 17, the WHO
    AEFI reporting form's core fields). The dose's site, product and lot are copied here when
    the report is made so that the lists, counts and the cluster flag read one table; a
    correction changes the row in place and its audit event keeps the values before
    (registry/aefi/reports.py)."""

    __tablename__ = "aefi_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dose_id: Mapped[int] = mapped_column(ForeignKey("doses.id"), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"), index=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), index=True)
    dose_date: Mapped[date] = mapped_column(Date)
    onset_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    symptoms: Mapped[list[str]] = mapped_column(JSON)
    symptoms_other: Mapped[str | None] = mapped_column(Text)
    serious: Mapped[bool] = mapped_column(Boolean)
    seriousness: Mapped[list[str]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(16))
    death_date: Mapped[date | None] = mapped_column(Date)
    reporter_name: Mapped[str] = mapped_column(String(200))
    reporter_role: Mapped[str | None] = mapped_column(String(80))
    reporter_contact: Mapped[str | None] = mapped_column(String(120))
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # bumped by each correction: the audit events of one report read in order
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class ImportJob(Base):
    """An upload of a site's old spreadsheets, imported by the server's worker thread (issue 17
    point 3, ``POST /api/v1/imports`` and the upload page; registry/imports/jobs.py).

    The files are saved under ``folder`` before the job is answered, so a job ``queued`` or
    left ``running`` by a crash is run again at the next start: the import is idempotent (rows
    already stored are skipped). The area columns are the job's own (its site's, else its
    creator's): who may read it goes by them."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # queued | running | done | failed
    status: Mapped[str] = mapped_column(String(10), index=True)
    folder: Mapped[str] = mapped_column(Text)
    files: Mapped[list[str]] = mapped_column(JSON)  # the saved names, in the folder
    mapping_file: Mapped[str | None] = mapped_column(String(200))
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.site_id"))
    source: Mapped[str | None] = mapped_column(String(64))
    province_code: Mapped[str | None] = mapped_column(String(8), index=True)
    ward_code: Mapped[str | None] = mapped_column(String(8), index=True)
    area_site_id: Mapped[str | None] = mapped_column(String(20), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(10))
    rows_read: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_total: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    report: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[dict | None] = mapped_column(JSON)  # a failed job's problem, vi and en
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Correction(Base):
    """One changed field of a dose record or person, with who, why and where it came from."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dose_id: Mapped[int | None] = mapped_column(ForeignKey("doses.id"), index=True)
    person_pk: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10))  # automatic | review | citizen
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(40))
    evidence: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Ticket(Base):
    """A citizen's report of wrong data, routed to the ward of their register person."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_pk: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    dose_id: Mapped[int | None] = mapped_column(ForeignKey("doses.id"))
    ward_code: Mapped[str | None] = mapped_column(String(8), index=True)
    field: Mapped[str] = mapped_column(String(40))
    proposed_value: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")
    deadline: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the record said when the citizen reported it, so the reviewer sees both.
    current_value: Mapped[str | None] = mapped_column(Text)
    # Where it came from: "api", "web" (the citizen pages), "sms".
    channel: Mapped[str | None] = mapped_column(String(10))


class Tally(Base):
    """What a site reported by hand for a day and a product: the count the campaign was
    judged by before the platform, compared with the doses recorded ("recorded vs reported")."""

    __tablename__ = "tallies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id"), index=True)
    report_date: Mapped[date] = mapped_column(Date, index=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    # None: the tally does not split by dose number (the synthetic and most real ones do not)
    dose_number: Mapped[int | None] = mapped_column(Integer)
    reported: Mapped[int] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("site_id", "report_date", "product_code", "dose_number"),
    )


class ReconcileRun(Base):
    """A reconciliation run applied to the registry (``tiemchung reconcile apply OUT``).

    Keyed by the run's own identifier (the hash of its links and model), so applying the same
    run twice is recognised and changes nothing.
    """

    __tablename__ = "reconcile_runs"

    run_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str | None] = mapped_column(Text)  # the OUT folder it was read from
    model_hash: Mapped[str | None] = mapped_column(String(64))
    counts: Mapped[dict | None] = mapped_column(JSON)
    applied_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReviewItem(Base):
    """One dose record a person must decide on: a commune worklist row.

    Routed to the ward of the best register candidate, or of the record when there is none.
    ``candidates`` holds the register persons considered, best first, with their probability
    and the fields that differ; ``explanation`` the comparisons and their weights.
    """

    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dose_id: Mapped[int] = mapped_column(ForeignKey("doses.id"), index=True)
    run_id: Mapped[str | None] = mapped_column(String(40))
    # review | not_found | unverified | ticket | dose_check (a dose-rule warning, dose_rules.py)
    kind: Mapped[str] = mapped_column(String(12))
    # The citizen's report this item was opened for (kind "ticket").
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    ward_code: Mapped[str | None] = mapped_column(String(8), index=True)
    province_code: Mapped[str | None] = mapped_column(String(8), index=True)
    person_pk: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    match_probability: Mapped[float | None] = mapped_column(Float)
    mismatches: Mapped[str | None] = mapped_column(Text)
    candidates: Mapped[list | None] = mapped_column(JSON)
    explanation: Mapped[str | None] = mapped_column(Text)
    # open | accepted | rejected | edited | superseded (a later run or decision replaced it)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision: Mapped[dict | None] = mapped_column(JSON)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_review_items_ward_status", "ward_code", "status"),)


class AuditEvent(Base):
    """Append-only log of every change and every read of a person's data.

    The migration installs triggers that refuse UPDATE and DELETE on this table.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_audit_entity", "entity", "entity_id"),
        # the audit log's searches by user and by action, newest first (auth/auditlog.py)
        Index("ix_audit_user_id", "user_id", "id"),
        Index("ix_audit_action", "action", "id"),
    )


class IssuedCertificate(Base):
    """An EU DCC issued by the platform: which person and dose it attests, signed by which
    key, and whether it was revoked (the published revocation list is the revoked rows)."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uvci: Mapped[str] = mapped_column(String(80), unique=True)
    person_pk: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    dose_id: Mapped[int | None] = mapped_column(ForeignKey("doses.id"))
    kind: Mapped[str] = mapped_column(String(1))  # v (vaccination), t (test), r (recovery)
    # SHA-256 of the DCC without its ``ci``: what the certificate attests. A later issue with
    # other content for the same dose means the data was corrected.
    content_hash: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the signed CWT payload.
    payload_hash: Mapped[str] = mapped_column(String(64))
    hc1: Mapped[str] = mapped_column(Text)
    kid: Mapped[str] = mapped_column(String(24))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    replaced_by: Mapped[str | None] = mapped_column(String(80))
