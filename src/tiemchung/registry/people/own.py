"""The one register person a citizen actor stands for (the signed-in citizen's own, or the
public look-up's): its ``person_id``, from the actor's ``person_pk``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.registry.models import Person
from tiemchung.registry.scope import Actor


def own_person_id(session: Session, actor: Actor) -> str:
    """The ``person_id`` of the actor's own person; ``""`` when the actor has none or the
    person has left the register (every read by that id then answers "not found")."""
    if actor.person_pk is None:
        return ""
    found = session.scalar(select(Person.person_id).where(Person.id == actor.person_pk))
    return found or ""
