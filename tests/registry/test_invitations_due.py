"""The next dose due for everyone (registry/invitations/due.py), its reminders and the overdue
list, over SQLite and PostgreSQL. The set-based SQL is run against the desk's own rule,
``verify.next_dose``, person by person; the reminder run is run twice to show it never texts
twice; the list's figures are written by hand."""

from __future__ import annotations

import io
import random
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.factories import resolve_scope, world
from tests.registry.invite_world import CENTRAL, dose, person, register
from tiemchung.core import Platform
from tiemchung.registry.doses.verify import DoseEntry, next_dose
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.invitations import reminders
from tiemchung.registry.invitations.due import BOOSTERS_DUE, next_due
from tiemchung.registry.messages.outbox import enqueue
from tiemchung.registry.models import Product
from tiemchung.registry.scope import Actor, Role
from tiemchung.registry.tables.messages import OutboxMessage

WARD_A1 = Actor(None, "ward_a1", Role.COMMUNE, **resolve_scope({"ward_code": "a1"}))  # type: ignore[arg-type]
WARD_B1 = Actor(None, "ward_b1", Role.COMMUNE, **resolve_scope({"ward_code": "b1"}))  # type: ignore[arg-type]
SITE_A1 = Actor(None, "site_a1", Role.SITE, **resolve_scope({"site_id": "a1"}))  # type: ignore[arg-type]
TODAY = date(2026, 12, 1)


def test_the_sql_agrees_with_the_desks_next_dose_for_random_histories(platform: Platform) -> None:
    rng = random.Random(18)
    with platform.sessions() as s:
        products = {
            p.code: (p.primary_doses, p.min_interval_days) for p in s.scalars(select(Product))
        }
        codes = sorted(products)
        histories: dict[int, list[DoseEntry]] = {}
        for i in range(60):
            pid = person(s, f"r{i}")
            entries = []
            day = date(2025, 1, 1) + timedelta(days=rng.randrange(300))
            for n in range(1, rng.randrange(2, 6)):
                code = rng.choice(codes)
                day += timedelta(days=rng.randrange(0, 120))
                dose(s, pid, n, day, code)
                entries.append(DoseEntry(n, day, code, "S-A1", "verified"))
            if rng.random() < 0.2:  # a double entry is not a dose given
                dose(s, pid, 9, day, codes[0], status="duplicate")
            histories[pid] = entries
        s.commit()
        got = next_due(s, list(histories))
    checked = 0
    for pid, entries in histories.items():
        want = next_dose(entries, products)
        assert want is not None and entries  # every history here has a dose
        primary = products[max(entries, key=lambda e: (e.dose_number, e.dose_date)).product_code][0]
        if want.dose_number > primary + BOOSTERS_DUE:
            assert pid not in got  # a further booster is not "due"
            continue
        assert pid in got, pid
        assert (got[pid].next_number, got[pid].due_date) == (want.dose_number, want.earliest_date)
        assert got[pid].product_code == want.product_code
        checked += 1
    assert checked >= 30


def test_a_pfizer_second_dose_by_hand(platform: Platform) -> None:
    with platform.sessions() as s:
        pid = person(s, "hand")
        dose(s, pid, 1, date(2026, 11, 1), "PFIZER")
        other = person(s, "booster")
        dose(s, other, 1, date(2026, 1, 1), "PFIZER")
        dose(s, other, 2, date(2026, 1, 22), "PFIZER")
        s.commit()
        got = next_due(s, [pid, other])
    interval = 21  # the catalogue's Pfizer interval
    assert got[pid].due_date == date(2026, 11, 1) + timedelta(days=interval)
    assert (got[other].next_number, got[other].due_date) == (3, date(2026, 4, 22))  # + 90 days


def test_reminders_go_once_per_dose_however_often_the_run_runs(platform: Platform) -> None:
    with platform.sessions() as s:
        soon = person(s, "soon", phone="0912111001")
        dose(s, soon, 1, date(2026, 11, 12), "PFIZER")  # dose 2 due 2026-12-03: in 3 days
        later = person(s, "later", phone="0912111002")
        dose(s, later, 1, date(2026, 11, 25), "PFIZER")  # due 2026-12-16: not yet
        old = person(s, "old", phone="0912111003")
        dose(s, old, 1, date(2026, 1, 1), "PFIZER")  # due long ago: the overdue list's
        nophone = person(s, "nophone", phone=None)
        dose(s, nophone, 1, date(2026, 11, 12), "PFIZER")
        reg = person(s, "reg", phone=None)
        dose(s, reg, 1, date(2026, 11, 10), "PFIZER")  # due 2026-12-01, the registration's phone
        register(s, reg, None, phone="0912111005")
        s.commit()
        first = reminders.run_reminders(s, CENTRAL, TODAY, 3)
        s.commit()
        again = reminders.run_reminders(s, CENTRAL, TODAY, 3)
        s.commit()
        assert (first.due, first.queued) == (2, 2)
        assert (again.due, again.queued) == (0, 0)
        sent = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder")).all()
        assert sorted((m.person_id, m.phone) for m in sent) == sorted(
            [(soon, "0912111001"), (reg, "0912111005")]
        )
        soon_text = next(m.body for m in sent if m.person_id == soon)
        assert soon_text.isascii() and "mui 2" in soon_text and "03/12/2026" in soon_text
        later_run = reminders.run_reminders(s, CENTRAL, date(2026, 12, 14), 3)
        assert later_run.queued == 1  # "later" is now 2 days away


def test_the_overdue_list_has_phones_last_contacts_and_exports(platform: Platform) -> None:
    with platform.sessions() as s:
        a = person(s, "oa", phone="0912222001")
        dose(s, a, 1, date(2026, 1, 1), "PFIZER")  # due 2026-01-22
        b = person(s, "ob", phone="0912222002")
        dose(s, b, 1, date(2026, 6, 1), "PFIZER")  # due 2026-06-22
        c = person(s, "oc", phone="0912222003")
        dose(s, c, 1, date(2026, 11, 20), "PFIZER")  # due 2026-12-11: not overdue
        elsewhere = person(s, "ob1", ward="a2", phone="0912222004")
        dose(s, elsewhere, 1, date(2026, 1, 1), "PFIZER")
        enqueue(s, phone="0912222001", body="x", kind="reminder", person_id=a)
        s.commit()
        listed = reminders.overdue(s, WARD_A1, TODAY)
        s.commit()
        assert listed["total"] == 2
        assert [i["person_id"] for i in listed["items"]] == ["P-oa", "P-ob"]
        first = listed["items"][0]
        assert (first["phone"], first["due_date"], first["days_overdue"]) == (
            "0912222001",
            "2026-01-22",
            313,
        )
        assert first["last_contact"]["kind"] == "reminder"
        assert listed["items"][1]["last_contact"] is None
        data, n = reminders.overdue_workbook(s, WARD_A1, TODAY)
        sheet = load_workbook(io.BytesIO(data)).active
        assert sheet is not None and n == 2
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == "Mã người / Person id" and rows[1][0] == "P-oa"
        assert rows[1][4] == "0912222001" and rows[2][9] == (TODAY - date(2026, 6, 22)).days
        ward_a2 = world().wards["a2"]
        with pytest.raises(ServiceError) as exc:
            reminders.overdue(s, WARD_B1, TODAY, ward_code=ward_a2)
        assert (exc.value.status, exc.value.problems[0].rule) == (403, "outside_area")
        with pytest.raises(ServiceError) as exc:
            reminders.overdue(s, SITE_A1, TODAY)
        assert exc.value.status == 403
        assert reminders.overdue(s, CENTRAL, TODAY, ward_code=ward_a2)["total"] == 1
