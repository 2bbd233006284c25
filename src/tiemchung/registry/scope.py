"""Who is asking, and which part of the country they may see and change.

Every query of persons, doses, sites and sessions is filtered through one of these predicates,
so area scoping lives in one place rather than in each route.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, false, select, true

from tiemchung.registry.models import Dose, Person, Site, VaccinationSession


class Role(StrEnum):
    CENTRAL = "central"
    PROVINCE = "province"
    COMMUNE = "commune"
    SITE = "site"
    CITIZEN = "citizen"


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

    def can_record_at(self, site: Site) -> bool:
        if self.role is Role.SITE:
            return site.site_id == self.site_id
        if self.role is Role.CITIZEN:
            return False
        return self.covers_area(site.province_code, site.ward_code)

    def can_see_person(self, person: Person) -> bool:
        if self.role is Role.CITIZEN:
            return person.id == self.person_pk
        if self.role is Role.SITE:
            return True  # the desk looks people up by exact identifier only (see persons.py)
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
