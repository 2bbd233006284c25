"""A citizen's own record as the citizen pages show it (``/me`` and the public look-up): the
register person, their doses with the names of the products and sites, and their reports.

It reads through the same services as the API (``get_person``, ``person_doses``,
``list_tickets``) with the citizen's :class:`~tiemchung.registry.scope.Actor`, so it can never
show anyone else. It sits with the reports (``registry/review``) because it reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiemchung.registry.models import Dose, Person, Product, Site
from tiemchung.registry.people.own import own_person_id
from tiemchung.registry.people.persons import get_person, person_doses
from tiemchung.registry.review import tickets as tk
from tiemchung.registry.scope import Actor

#: At most this many of the citizen's reports are shown (newest first, as list_tickets sorts).
TICKETS_SHOWN = 50


@dataclass
class CitizenRecord:
    """The person (detached from its session), their doses, names and reports."""

    person: Person
    doses: list[Dose]
    #: product code → name (every product)
    products: dict[str, str]
    #: site id → name (the sites of the doses)
    sites: dict[str, str]
    tickets: list[dict[str, Any]]

    @property
    def verified(self) -> list[Dose]:
        return [d for d in self.doses if d.status == "verified"]


def citizen_record(session: Session, actor: Actor, today: date) -> CitizenRecord | None:
    """The actor's own person, doses and reports (None when the person left the register).
    The objects are detached: the page renders them after the session is closed."""
    person = get_person(session, actor, own_person_id(session, actor))
    if person is None:
        return None
    doses = person_doses(session, person)
    products = {p.code: p.name for p in session.scalars(select(Product))}
    sites = {
        s.site_id: s.name
        for s in session.scalars(select(Site).where(Site.site_id.in_({d.site_id for d in doses})))
    }
    tickets, _ = tk.list_tickets(session, actor, today=today, limit=TICKETS_SHOWN)
    session.expunge_all()
    return CitizenRecord(person, doses, products, sites, tickets)
