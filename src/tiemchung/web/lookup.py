"""The public look-up: a person finds their own record by ID number and date of birth.

No account is needed, so three things keep it from becoming an enumeration oracle:

* **Throttle**, the sign-in's own :class:`~tiemchung.auth.throttle.SignInThrottle` (one
  implementation for both doors that take a secret), the ID number in the user name's place:
  failures are counted per ID number *and* source (client address), so nobody elsewhere can
  block a citizen's own look-up by typing her number with wrong dates (a count per ID number
  alone let anyone do that for an hour); 5 failures are free, a warning from the 3rd says how
  many are left, then each failure doubles the wait (30 s … at most an hour). A second count
  per source alone (20 free) brakes one machine trying many numbers. A success is no
  failure: it clears that number's count from that source and costs nothing. Per server
  process, forgotten an hour after the last failure.
* **One answer for every miss**: an unknown ID and a known ID with the wrong date of birth
  get the same page, status and words.
* **A capability, not a session**: a hit sets a short-lived signed cookie (HS256 with the
  platform's key, its own audience ``tiemchung-lookup``, 15 minutes) naming that one person.
  The pages build from it a citizen :class:`~tiemchung.registry.scope.Actor` whose
  ``person_pk`` is that person, so every service (``get_person``, the certificates service,
  ``tickets``) scopes it to that person exactly as it scopes a signed-in citizen — it can read
  no one else, and it is never accepted as a session or an API token.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tiemchung.auth.throttle import SignInThrottle
from tiemchung.registry.models import Person
from tiemchung.registry.scope import Actor, Role

COOKIE = "tc_lookup"
AUDIENCE = "tiemchung-lookup"
TTL = timedelta(minutes=15)
ALGORITHM = "HS256"


def new_throttle() -> SignInThrottle:
    """The look-up's brake: the sign-in's, with the look-up's limits (5 failures per ID
    number and source, 20 per source, forgotten an hour after the last failure)."""
    return SignInThrottle(free=5, per_client=20, forget=3600.0, client_forget=3600.0)


def id_key(national_id: str) -> str:
    """The throttle's key for an ID number: a digest, so the process's memory holds no list
    of typed ID numbers."""
    return hashlib.sha256(national_id.encode()).hexdigest()


def clean_typed_id(text: str) -> str:
    """The digits of a typed ID number (spaces and dots people type are dropped)."""
    return "".join(ch for ch in text if ch.isdigit())


def find(session: Session, national_id: str, dob_iso: str) -> Person | None:
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
    now = datetime.now(UTC)
    claims = {
        "pk": person.id,
        "pid": person.person_id,
        "iat": now,
        "exp": now + TTL,
        "aud": AUDIENCE,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), int(TTL.total_seconds())


def read(secret: bytes, value: str | None) -> Capability | None:
    """The capability in ``value``, or None (absent, forged, expired)."""
    if not value:
        return None
    try:
        c = jwt.decode(
            value,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "pk", "pid", "aud"]},
        )
        return Capability(int(c["pk"]), str(c["pid"]), datetime.fromtimestamp(float(c["exp"]), UTC))
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        return None
