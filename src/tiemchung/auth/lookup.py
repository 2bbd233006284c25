"""The public look-up's rules: which register record an ID number and a date of birth open,
and the short-lived capability (a signed token of kind ``tiemchung-lookup``) naming that one
person. The page that asks, its throttle and its cookie are in :mod:`tiemchung.web.lookup`.

The capability is a token like the others (:mod:`tiemchung.auth.tokens`: HS256 with the
platform's key, 15 minutes), of its own kind, so it is never accepted as a session or an API
token. The pages build from it a citizen :class:`~tiemchung.registry.scope.Actor` whose
``person_pk`` is that person, so every service scopes it to that person exactly as it scopes a
signed-in citizen — it can read no one else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tiemchung.auth import tokens
from tiemchung.auth.tokens import Kind, TokenError
from tiemchung.registry.models import Person
from tiemchung.registry.scope import Actor, Role

AUDIENCE = Kind.LOOKUP.value
TTL = timedelta(minutes=15)


def find_person(session: Session, national_id: str, dob_iso: str) -> Person | None:
    """The register person with this ID number (CCCD or the old CMND) and date of birth.

    Only a full date of birth in the register opens the record. Where the register knows only
    the year (or year and month), the date is no secret: a CCCD number carries the birth year
    itself, so accepting any date of that year would open the record to anyone who has the
    number. Those people get the same "not found" answer, which sends them to their commune
    health station, as everyone else the look-up cannot vouch for."""
    rows = session.scalars(
        select(Person).where(or_(Person.national_id == national_id, Person.old_id == national_id))
    ).all()
    for person in rows:
        known = person.dob or ""
        if len(known) == 10 and known == dob_iso:
            return person
    return None


@dataclass(frozen=True)
class Capability:
    person_pk: int
    person_id: str
    expires: datetime

    def actor(self, client: str) -> Actor:
        """A citizen actor for exactly this person (no user behind it)."""
        return Actor(
            user_id=None,
            username=f"lookup@{client}"[:80],
            role=Role.CITIZEN,
            person_pk=self.person_pk,
        )


def issue(secret: bytes, person: Person) -> tuple[str, int]:
    """The capability for ``person`` and its lifetime in seconds."""
    return tokens.encode(secret, Kind.LOOKUP, {"pk": person.id, "pid": person.person_id}, TTL)


def read(secret: bytes, value: str | None) -> Capability | None:
    """The capability in ``value``, or None (absent, forged, expired, of another kind)."""
    if not value:
        return None
    try:
        c = tokens.decode(secret, Kind.LOOKUP, value, require=("pk", "pid"))
        return Capability(int(c["pk"]), str(c["pid"]), tokens.expires_at(c))
    except (TokenError, ValueError, TypeError):
        return None
