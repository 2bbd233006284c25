"""The public look-up: a person finds their own record by ID number and date of birth.

No account is needed, so three things keep it from becoming an enumeration oracle:

* **Throttle**, the sign-in's :class:`~tiemchung.web.throttle.Throttle` reused: every attempt
  counts (not only failures, since a hit is as informative as a miss), at most 5 per ID number
  and 20 per client address in an hour, per server process.
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

from tiemchung.registry.models import Person
from tiemchung.registry.scope import Actor, Role
from tiemchung.web.throttle import Throttle

COOKIE = "tc_lookup"
AUDIENCE = "tiemchung-lookup"
TTL = timedelta(minutes=15)
ALGORITHM = "HS256"


class LookupThrottle:
    """Attempts per ID number (5 an hour) and per client address (20 an hour)."""

    def __init__(self, per_id: int = 5, per_client: int = 20, window: float = 3600.0) -> None:
        self.ids = Throttle(per_id, window)
        self.clients = Throttle(per_client, window)

    @staticmethod
    def _id_key(national_id: str) -> str:
        # The counter keys are digests, so the process's memory holds no list of typed IDs.
        return hashlib.sha256(national_id.encode()).hexdigest()

    def attempt(self, national_id: str, client: str) -> int:
        """0 and the attempt counted, or the seconds to wait (the attempt not counted)."""
        key = self._id_key(national_id)
        wait = max(self.ids.wait_seconds(key), self.clients.wait_seconds(client))
        if wait:
            return wait
        self.ids.failed(key)
        self.clients.failed(client)
        return 0


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
