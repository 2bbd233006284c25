"""One register person as ``GET /persons/{id}`` answers it: what the caller may see of the
person (:func:`~tiemchung.registry.people.persons.person_view`) and their dose history."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tiemchung.registry.models import Dose
from tiemchung.registry.people.persons import get_person, person_doses, person_view
from tiemchung.registry.scope import Actor


def person_detail(
    session: Session, actor: Actor, person_id: str
) -> tuple[dict[str, Any], list[Dose]] | None:
    """The person as the caller may see them (the whole record inside its area, the masked
    desk view for a site) and their doses by number and date; None when the person is
    absent or outside the caller's view (the API's 404, whether or not they exist)."""
    person = get_person(session, actor, person_id)
    if person is None:
        return None
    return person_view(actor, person), person_doses(session, person)
