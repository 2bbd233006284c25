"""The dashboard's summary cards and tables agree, under a filter, with figures counted here.

The expected figures are counted in plain Python over the store's own rows (read with SQL, not
through ``tiemchung.stats``): register persons of the ward in the age group, the ones with a
verified dose up to the end date, doses of the period in the area of the dose, recorded vs
reported from the tallies of the ward's sites. The page must show them in the summary cards
*and* in the tables, whatever the filter (area, age group, date range) — a card that ignored
the age group (7,906 against 3,750) is what this guards against.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from tests.factories import PROVINCE_A, world
from tests.stats.scenario import Scenario, make
from tests.web.conftest import Web
from tests.web.test_dashboard import cells
from tiemchung.core import Platform
from tiemchung.registry.models import Dose, Person, Product, Site, Tally
from tiemchung.server import create_app

AGES = {"0-11": (0, 11), "12-17": (12, 17), "18-49": (18, 49), "50-64": (50, 64), "65+": (65, 999)}


@pytest.fixture
def dash(platform: Platform) -> Iterator[tuple[Web, Scenario]]:
    with platform.sessions() as s:
        sc = make(s, seed=11, extra_people=240)
    with TestClient(create_app(platform)) as client:
        yield Web(client), sc


def _year(dob: str | None) -> int | None:
    return int(dob[:4]) if dob and dob[:4].isdigit() else None


def _in_age(year: int | None, group: str, ref: int) -> bool:
    lo, hi = AGES[group]
    return year is not None and lo <= ref - year <= hi


def expected(platform: Platform, ward: str, group: str, start: date, end: date) -> dict[str, int]:
    """The figures of ``ward``, age ``group`` (by birth year, in the end date's year) and the
    period, from the store's rows."""
    ref = end.year
    with platform.sessions() as s:
        persons = {
            pk: (dob, w)
            for pk, dob, w in s.execute(select(Person.id, Person.dob, Person.ward_code))
        }
        primary = dict(s.execute(select(Product.code, Product.primary_doses)).all())
        doses = s.execute(
            select(
                Dose.person_pk,
                Dose.status,
                Dose.dose_number,
                Dose.dose_date,
                Dose.product_code,
                Dose.dob,
                Dose.site_id,
                Dose.area_ward_code,
            )
        ).all()
        site_ward = dict(s.execute(select(Site.site_id, Site.ward_code)).all())
        tallies = s.execute(
            select(Tally.site_id, Tally.report_date, Tally.product_code, Tally.reported)
        ).all()
    chosen = {
        pk for pk, (dob, w) in persons.items() if w == ward and _in_age(_year(dob), group, ref)
    }
    reached: dict[str, set[int]] = {"first": set(), "full": set(), "booster": set()}
    for d in doses:
        if d.person_pk in chosen and d.status == "verified" and d.dose_date <= end:
            reached["first"].add(d.person_pk)
            if d.dose_number >= primary[d.product_code]:
                reached["full"].add(d.person_pk)
            if d.dose_number > primary[d.product_code]:
                reached["booster"].add(d.person_pk)
    in_period = 0
    for d in doses:
        if d.status == "duplicate" or d.area_ward_code != ward or not start <= d.dose_date <= end:
            continue
        linked = persons.get(d.person_pk) if d.person_pk is not None else None
        year = _year(linked[0]) if linked else None
        if _in_age(year if year is not None else _year(d.dob), group, ref):
            in_period += 1
    tallied: dict[tuple[str, date, str], int] = {}
    for t in tallies:
        if site_ward.get(t.site_id) == ward and start <= t.report_date <= end:
            key = (t.site_id, t.report_date, t.product_code)
            tallied[key] = tallied.get(key, 0) + t.reported
    recorded = sum(
        1
        for d in doses
        if d.status != "duplicate" and (d.site_id, d.dose_date, d.product_code) in tallied
    )
    return {
        "registered": len(chosen),
        "first": len(reached["first"]),
        "full": len(reached["full"]),
        "booster": len(reached["booster"]),
        "doses": in_period,
        "recorded": recorded,
        "reported": sum(tallied.values()),
    }


def daily_chart(html: str) -> tuple[str, list[str]]:
    """The doses-per-day chart and its time axis labels."""
    m = re.search(r'id="daily">.*?(<svg.*?</svg>)', html, re.S)
    assert m, "no doses-per-day chart"
    return m.group(1), re.findall(r">(\d\d/\d{4}|\d\d/\d\d/\d{4})</text>", m.group(1))


def vi_int(text: str) -> int:
    """A whole number as the Vietnamese page writes it (1.234)."""
    assert re.fullmatch(r"\d{1,3}(\.\d{3})*", text), text
    return int(text.replace(".", ""))


def shown_cards(html: str) -> dict[str, tuple[str, str | None]]:
    """Each card's visible value and percentage."""
    out = {}
    for key, body in re.findall(r'<div class="kpi" id="kpi-(\w+)"[^>]*>(.*?)</div>', html, re.S):
        value = re.search(r'<span class="value">(.*?)</span>', body, re.S)
        pct = re.search(r'<span class="pct">(.*?)</span>', body, re.S)
        assert value, body
        out[key] = (value.group(1).strip(), pct.group(1).strip() if pct else None)
    return out


def vi_pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%".replace(".", ",")


@pytest.mark.parametrize(
    ("group", "start", "end"),
    [
        ("18-49", date(2021, 9, 20), date(2021, 11, 15)),  # ≤ 62 days: the table per day
        ("65+", date(2021, 9, 1), date(2022, 3, 31)),  # longer: the table per month
    ],
)
def test_cards_and_tables_agree_with_the_store(
    dash: tuple[Web, Scenario], platform: Platform, group: str, start: date, end: date
) -> None:
    web, _sc = dash
    ward = world().wards["a1"]
    want = expected(platform, ward, group, start, end)
    assert want["registered"] > want["first"] > 0 and want["doses"] > 0 and want["reported"] > 0
    # the age group matters (the fault: the cards counted every age)
    everyone = sum(1 for k in AGES if expected(platform, ward, k, start, end)["registered"])
    assert everyone > 1

    web.sign_in("prov_a")
    query = {
        "ward": ward,
        "age_group": group,
        "date_from": f"{start:%d/%m/%Y}",
        "date_to": f"{end:%d/%m/%Y}",
    }
    r = web.page(f"/dashboard?{urlencode(query)}")
    assert r.status_code == 200, r.text
    html = r.text
    # the form keeps the filter, dates as dd/mm/yyyy
    assert f'value="{start:%d/%m/%Y}"' in html and f'value="{end:%d/%m/%Y}"' in html

    cards = shown_cards(html)
    assert vi_int(cards["registered"][0]) == want["registered"]
    for m in ("first", "full", "booster"):
        assert vi_int(cards[m][0]) == want[m], m
        assert cards[m][1] == (vi_pct(want[m], want["registered"]) if want[m] else "0,0%")
    assert vi_int(cards["doses"][0]) == want["doses"]
    rec, rep = cards["rvr"][0].split(" / ")
    assert (vi_int(rec), vi_int(rep)) == (want["recorded"], want["reported"])
    assert cards["rvr"][1] == vi_pct(want["recorded"], want["reported"])

    # the tables say the same
    (row,) = cells(html, "coverage")
    assert row[0] == ward
    assert [vi_int(row[i]) for i in (2, 3, 5, 7)] == [
        want["registered"],
        want["first"],
        want["full"],
        want["booster"],
    ]
    # the age-group breakdown marks the chosen group, whose row says the same again
    by_age_table = re.search(r'data-table="coverage_by_age">(.*?)</table>', html, re.S)
    assert by_age_table
    chosen = re.findall(r'<tr class="chosen">(.*?)</tr>', by_age_table.group(1), re.S)
    assert len(chosen) == 1
    by_age = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", chosen[0], re.S)
    ]
    assert [vi_int(by_age[i]) for i in (1, 2, 4, 6)] == [
        want["registered"],
        want["first"],
        want["full"],
        want["booster"],
    ]
    daily = cells(html, "doses_per_day") if 'data-table="doses_per_day"' in html else []
    monthly = cells(html, "doses_per_month") if 'data-table="doses_per_month"' in html else []
    assert bool(daily) != bool(monthly)  # one or the other, by the length of the period
    if (end - start).days <= 62:
        assert daily and not monthly
    else:
        months = [f"{m:02d}/2021" for m in range(9, 13)] + [f"0{m}/2022" for m in (1, 2, 3)]
        labels = [r[0] for r in monthly]
        assert len(labels) > 1 and labels == [m for m in months if m in labels]
    assert sum(vi_int(r[-1]) for r in daily or monthly) == want["doses"]
    (total,) = cells(html, "recorded_vs_reported")
    assert (vi_int(total[0]), vi_int(total[1])) == (want["recorded"], want["reported"])
    assert 'id="kpi-rvr"' in html and "không theo nhóm tuổi" in html  # tallies have no age


def test_a_month_links_to_its_days(dash: tuple[Web, Scenario]) -> None:
    web, _sc = dash
    web.sign_in("prov_a")
    html = web.page("/dashboard?date_from=01/09/2021&date_to=31/03/2022").text
    link = re.search(r'<td class="text"><a href="([^"]+)">10/2021</a>', html)
    assert link, "no link on the month 10/2021"
    href = link.group(1).replace("&amp;", "&")
    assert "date_from=2021-10-01" in href and "date_to=2021-10-31" in href
    days = web.page(href).text
    rows = cells(days, "doses_per_day")
    assert rows and all(r[0].endswith("/10/2021") for r in rows)
    assert 'value="01/10/2021"' in days  # the form shows the link's ISO dates as dd/mm/yyyy


def test_a_province_user_sees_the_province_in_the_cards(
    dash: tuple[Web, Scenario], platform: Platform
) -> None:
    """No filter at all: the cards are the province's totals, the sum of the ward rows."""
    web, _sc = dash
    web.sign_in("prov_a")
    html = web.page("/dashboard").text
    with platform.sessions() as s:
        registered = len(
            s.scalars(select(Person.id).where(Person.province_code == PROVINCE_A)).all()
        )
    assert vi_int(shown_cards(html)["registered"][0]) == registered
    assert sum(vi_int(r[2]) for r in cells(html, "coverage")) == registered


def test_a_dose_recorded_today_does_not_stretch_the_chart(
    dash: tuple[Web, Scenario], platform: Platform
) -> None:
    """The 2021–22 history and one dose at the desk today: the doses-per-day axis shows the
    history and today, with the empty years cut out, not years of zeros; with the filter's
    dates the axis spans exactly them."""
    web, _sc = dash
    w = world()
    today = platform.today()
    with platform.sessions() as s:
        s.execute(
            insert(Dose).values(
                client_uuid=uuid.uuid4(),
                submission_hash="t" * 64,
                full_name="Người Thử Hôm Nay",
                dob="1980",
                product_code="PFIZER",
                dose_number=1,
                dose_date=today,
                site_id=w.sites["a1"],
                status="unverified",
                area_ward_code=w.wards["a1"],
                area_province_code=PROVINCE_A,
            )
        )
        s.commit()
    web.sign_in("prov_a")
    html = web.page("/dashboard").text
    svg, labels = daily_chart(html)
    assert labels[-1] == f"{today:%d/%m/%Y}" and labels[0].endswith("/2021")
    years = {int(label[-4:]) for label in labels}
    assert not years & set(range(2023, today.year)), labels  # no empty years on the axis
    assert svg.count('<path d="M') == 1  # the cut, marked
    html = web.page("/dashboard?date_from=01/10/2021&date_to=30/11/2021").text
    svg, labels = daily_chart(html)
    assert labels == ["10/2021", "11/2021"]
