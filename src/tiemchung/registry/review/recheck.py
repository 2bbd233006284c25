"""After a reviewer corrects a record by hand: does it now verify against the register?

Most hand edits on an unverified dose fix the very thing that kept it from verifying — a digit
of the ID number, a tone mark, the day and month of birth swapped. Leaving such a dose
unverified until someone also finds and links its person would make the reviewer do the
register's work twice, and the edit's promise ("the record is right now") would not reach the
dose. So an edit may ask for the corrected record to be checked again (``recheck``): the rule
is the desk's and the dose path's own (:func:`tiemchung.registry.doses.verify.verify`: exactly one
register person whose ID, name, date of birth and sex agree), so a corrected record is verified
exactly when the same fields typed at the desk would have been. The person must be one the
reviewer may see (a commune does not link a dose to someone outside its area); otherwise the
dose stays unverified, and the decision's answer says which happened.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.registry.doses.verify import VERIFIED, VerifyRecord, verify
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.models import Person
from tiemchung.registry.scope import Actor


def verified_person(
    session: Session, actor: Actor, values: Mapping[str, str | None]
) -> Person | None:
    """The one register person the corrected ``values`` (the record's identity fields, as
    stored) verify against, when the caller may see them; else None. The persons read are
    audited (``person.read``, via verify)."""
    record = VerifyRecord(
        national_id=values.get("national_id"),
        full_name=values.get("full_name"),
        dob=values.get("dob"),
        sex=values.get("sex"),
        ward_code=values.get("ward_code"),
    )
    try:
        found = verify(session, actor, record)
    except ServiceError:  # too little to check (no ID, no name with a date of birth)
        return None
    if found.status != VERIFIED or found.person is None:
        return None
    person = session.scalar(select(Person).where(Person.person_id == found.person["person_id"]))
    if person is None or not actor.can_see_person(person):
        return None
    return person
