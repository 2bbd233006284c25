"""`tiemchung demo` plans today's sessions, so the vaccination desk has one out of the box."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import world
from tiemchung.core import Platform
from tiemchung.demo import plan_today
from tiemchung.registry.models import VaccinationSession


def _today(platform: Platform) -> list[tuple[str, str, str]]:
    with platform.sessions() as s:
        rows = s.execute(
            select(
                VaccinationSession.site_id,
                VaccinationSession.product_code,
                VaccinationSession.status,
            ).where(VaccinationSession.session_date == platform.today())
        ).all()
    return sorted((a, b, c) for a, b, c in rows)


def test_plan_today_adds_one_session_per_site_once(platform: Platform) -> None:
    assert _today(platform) == []  # the test world's sessions are in 2021
    assert plan_today(platform) == 4
    planned = _today(platform)
    assert sorted(site for site, _, _ in planned) == sorted(world().sites.values())
    # open: the desk records doses only in an open session (registry/catalog/sessions.py)
    assert {status for _, _, status in planned} == {"open"}
    assert {product for _, product, _ in planned} <= {"PFIZER", "AZ", "VEROCELL"}
    assert plan_today(platform) == 0  # a second run (a reused demo) adds nothing
    assert _today(platform) == planned
