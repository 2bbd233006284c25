"""Who is asking, and which part of the country they may see and change.

Every query of persons, doses, sites and sessions is filtered through one of these predicates,
so area scoping lives in one place rather than in each route.

Personal data goes by need (docs/registry.md, "Scope"):

* the **whole record** (full ID numbers, phone, address) only inside the caller's area:
  central all, a province its province, a commune its ward, a citizen itself
  (:meth:`Actor.can_see_person`, :meth:`Actor.person_filter`);
* a **site** (the vaccination desk) sees the masked desk view and only of the people it
  vaccinates or checks in: by register id, those with a dose recorded at its site
  (:meth:`Actor.desk_person_filter`); a person standing at the desk is "checked in" by
  presenting their identity (the chip card's QR, the ID number, or name + date of birth),
  which ``/verify`` and the exact look-up answer with the same masked view;
* a **certificate** is issued or read by a caller whose area holds the person or one of the
  person's doses (a site: a dose given at its site) (:meth:`Actor.certify_filter`).

Anything outside these answers as if it did not exist (404), so a walk over register ids
learns nothing the caller could not already list.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, exists, false, or_, select, true

from tiemchung.registry.models import Dose, Person, Site, VaccinationSession


class Role(StrEnum):
    CENTRAL = "central"
    PROVINCE = "province"
    COMMUNE = "commune"
    SITE = "site"
    CITIZEN = "citizen"
    #: a user who speaks for one organisation (issue 18): submits and fixes its lists, sees
    #: its own rows' results and nothing else of the register (``may_submit_for``)
    ORGANISATION = "org"


@dataclass(frozen=True)
class Actor:
    """The authenticated caller. ``system`` actors (CLI, imports) act with central scope."""

    user_id: int | None
    username: str
    role: Role
    province_code: str | None = None
    ward_code: str | None = None
    site_id: str | None = None
    person_pk: int | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user_id=None, username=name, role=Role.CENTRAL)

    @classmethod
    def anonymous(cls, name: str = "anonymous") -> Actor:
        """An unauthenticated caller (a failed login): the least privilege there is."""
        return cls(user_id=None, username=name, role=Role.CITIZEN)

    # -- area membership ------------------------------------------------------------------
    def covers_area(self, province_code: str | None, ward_code: str | None) -> bool:
        """True when a place (its province and ward) lies inside this actor's area."""
        if self.role is Role.CENTRAL:
            return True
        if self.role is Role.PROVINCE:
            return province_code is not None and province_code == self.province_code
        if self.role is Role.COMMUNE:
            return ward_code is not None and ward_code == self.ward_code
        return False

    def may_administer(self, role: Role, province_code: str | None) -> bool:
        """May create, change, disable or reset a user of ``role`` whose area lies in
        ``province_code`` (issue 17): a user grants only within their own area and below.
        Central: anyone. A province: users of its own province at province level and below,
        never a central one (nor a user of another province). Nobody else administers."""
        if self.role is Role.CENTRAL:
            return True
        if self.role is Role.PROVINCE:
            return (
                role is not Role.CENTRAL
                and province_code is not None
                and province_code == self.province_code
            )
        return False

    def may_decide_organisation(self, province_code: str, ward_code: str) -> bool:
        """May approve or refuse an organisation's application, and give it users: the ward
        it lies in (its commune user), its province, or central (issue 18)."""
        if self.role in (Role.CENTRAL, Role.PROVINCE, Role.COMMUNE):
            return self.covers_area(province_code, ward_code)
        return False

    def may_submit_for(self, province_code: str, ward_code: str, *, member: bool) -> bool:
        """May submit, fix, withdraw and read an organisation's registration rows: its own
        users (``member``: the caller's ``organisation_users`` row names it), or the staff
        who decide on it (:meth:`may_decide_organisation`), who may help it. Nobody else,
        not even to learn that the organisation exists."""
        if self.role is Role.ORGANISATION:
            return member
        return self.may_decide_organisation(province_code, ward_code)

    def may_edit_priority_groups(self) -> bool:
        """The priority groups are the government's list: central only edits it."""
        return self.role is Role.CENTRAL

    def can_record_at(self, site: Site) -> bool:
        if self.role is Role.SITE:
            return site.site_id == self.site_id
        if self.role is Role.CITIZEN:
            return False
        return self.covers_area(site.province_code, site.ward_code)

    def can_see_person(self, person: Person) -> bool:
        """May see the person's whole record: in the caller's area, or the citizen itself.
        Never a site: the desk sees only the masked view (:meth:`desk_person_filter`)."""
        if self.role is Role.CITIZEN:
            return self.person_pk is not None and person.id == self.person_pk
        if self.role is Role.SITE:
            return False
        return self.covers_area(person.province_code, person.ward_code)

    # -- query predicates -------------------------------------------------------------------
    def person_filter(self) -> ColumnElement[bool]:
        match self.role:
            case Role.CENTRAL:
                return true()
            case Role.PROVINCE:
                return Person.province_code == self.province_code
            case Role.COMMUNE:
                return Person.ward_code == self.ward_code
            case Role.CITIZEN:
                return Person.id == self.person_pk
        return false()  # site users never list persons

    def desk_person_filter(self) -> ColumnElement[bool]:
        """The persons a site sees the masked desk view of by register id: those with a dose
        recorded at its site (the people it vaccinates). Nobody for other roles, who see
        whole records through :meth:`person_filter` instead."""
        if self.role is Role.SITE and self.site_id is not None:
            return exists().where(Dose.person_pk == Person.id, Dose.site_id == self.site_id)
        return false()

    def person_view_filter(self) -> ColumnElement[bool]:
        """The persons the caller may read by register id (whole or desk view)."""
        if self.role is Role.SITE:
            return self.desk_person_filter()
        return self.person_filter()

    def certify_filter(self) -> ColumnElement[bool]:
        """The persons the caller may issue (or read) a certificate for: the area holds the
        person, or one of the person's doses was given at a site of the area (a site: at
        itself). Citizens: themselves only."""
        match self.role:
            case Role.CENTRAL:
                return true()
            case Role.PROVINCE | Role.COMMUNE:
                area_sites = select(Site.site_id).where(self.site_filter())
                here = Dose.site_id.in_(area_sites)
                dose_here = exists().where(Dose.person_pk == Person.id, here)
                return or_(self.person_filter(), dose_here)
            case Role.SITE:
                return self.desk_person_filter()
            case Role.CITIZEN:
                return self.person_filter()
        return false()

    def dose_filter(self) -> ColumnElement[bool]:
        match self.role:
            case Role.CENTRAL:
                return true()
            case Role.PROVINCE:
                return Dose.area_province_code == self.province_code
            case Role.COMMUNE:
                return Dose.area_ward_code == self.ward_code
            case Role.SITE:
                return Dose.site_id == self.site_id
            case Role.CITIZEN:
                return Dose.person_pk == self.person_pk
        return false()

    def site_filter(self) -> ColumnElement[bool]:
        match self.role:
            case Role.CENTRAL:
                return true()
            case Role.PROVINCE:
                return Site.province_code == self.province_code
            case Role.COMMUNE:
                return Site.ward_code == self.ward_code
            case Role.SITE:
                return Site.site_id == self.site_id
        return false()

    def session_filter(self) -> ColumnElement[bool]:
        if self.role is Role.SITE:
            return VaccinationSession.site_id == self.site_id
        return VaccinationSession.site_id.in_(select(Site.site_id).where(self.site_filter()))
