"""Every level's dashboard (issue 17 point 6) over a small hand-made history whose figures are
counted by hand below, read through ``stats.reads`` — the functions the API, the page and the
CLI share — on SQLite and PostgreSQL.

The history (the test world: An M and Bình F live in ward a1, Cường M in a2, Dũng M in b1):

=====  ======  ==========  =======  =========  ==========================
dose   person  date        product  site       note
=====  ======  ==========  =======  =========  ==========================
1      An      2021-10-01  PFIZER   a1         dose 1
2      An      2021-10-22  PFIZER   a1         dose 2: full primary series
3      Bình    2021-10-01  AZ       a1
4      Cường   2021-10-02  MODERNA  a1         lives in a2
5      Dũng    2021-10-01  PFIZER   b1
6      nobody  2021-10-03  PFIZER   b2         not in the register, no sex
=====  ======  ==========  =======  =========  ==========================

Site a1 reported 3 Pfizer doses on 2021-10-01 (one tally); one review item is open in ward a1
and one in a2. Site a1 received 10 doses of lot PF-OK, 1 of AZ-OK, 5 of PF-SOON (expiring 10
days after the test's today).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from tests.factories import PROVINCE_A, PROVINCE_B, submission, world
from tiemchung.core import Platform
from tiemchung.registry.catalog.lots import LotReceipt, receive_lot
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.models import Dose, ReviewItem, Tally
from tiemchung.registry.scope import Actor, Role
from tiemchung.stats import reads
from tiemchung.stats.filters import Filters
from tiemchung.stats.page import clear

CENTRAL = Actor.system("tests")
TODAY = date(2022, 6, 1)


def _actors() -> dict[str, Actor]:
    w = world()
    return {
        "central": CENTRAL,
        "prov_a": Actor(11, "prov_a", Role.PROVINCE, province_code=PROVINCE_A),
        "ward_a1": Actor(12, "ward_a1", Role.COMMUNE, ward_code=w.wards["a1"]),
        "ward_b1": Actor(13, "ward_b1", Role.COMMUNE, ward_code=w.wards["b1"]),
        "site_a1": Actor(14, "site_a1", Role.SITE, site_id=w.sites["a1"]),
    }


@pytest.fixture
def history(platform: Platform) -> Platform:
    w = world()
    a1, b1, b2 = w.sites["a1"], w.sites["b1"], w.sites["b2"]
    subs = [
        submission("an", dose_date=date(2021, 10, 1)),
        submission("an", dose_number=2, dose_date=date(2021, 10, 22)),
        submission("binh", product_code="AZ", lot_number="AZ-OK", dose_date=date(2021, 10, 1)),
        submission(
            "cuong", product_code="MODERNA", lot_number="MO-OK", dose_date=date(2021, 10, 2)
        ),
        submission("dung", site_id=b1, dose_date=date(2021, 10, 1)),
        submission(None, site_id=b2, dose_date=date(2021, 10, 3), full_name="Người Lạ"),
    ]
    results = platform.writer.run(
        lambda s: record_doses(s, platform.catalog, CENTRAL, subs, today=TODAY)
    )
    assert [r.error for r in results] == [None] * 6
    with platform.sessions() as s:
        ids = dict(s.execute(select(Dose.full_name, Dose.id).where(Dose.dose_number == 1)).all())
        s.execute(
            insert(Tally),
            [
                {
                    "site_id": a1,
                    "report_date": date(2021, 10, 1),
                    "product_code": "PFIZER",
                    "reported": 3,
                }
            ],
        )
        s.execute(
            insert(ReviewItem),
            [
                {"dose_id": ids["Trần Thị Bình"], "kind": "review", "status": "open",
                 "ward_code": w.wards["a1"], "province_code": PROVINCE_A},
                {"dose_id": ids["Lê Mạnh Cường"], "kind": "review", "status": "open",
                 "ward_code": w.wards["a2"], "province_code": PROVINCE_A},
            ],
        )  # fmt: skip
        for lot, product, expiry, n in (
            ("PF-OK", "PFIZER", date(2030, 1, 1), 10),
            ("AZ-OK", "AZ", date(2030, 1, 1), 1),
            ("PF-SOON", "PFIZER", TODAY + timedelta(days=10), 5),
        ):
            receive_lot(s, CENTRAL, LotReceipt(product, lot, expiry, a1, n), today=TODAY)
        s.commit()
    clear()
    return platform


def rows(p: Platform, who: str, name: str, **f: Any) -> list[dict[str, Any]]:
    return reads.read_table(p, _actors()[who], name, Filters(**f), TODAY, full=True)[0].rows


def by_product(p: Platform, who: str, **f: Any) -> dict[str, tuple[int, int, int, int]]:
    return {
        r["product"]: (r["male"], r["female"], r["unknown"], r["total"])
        for r in rows(p, who, "doses_by_product", **f)
    }


def test_commune_sees_its_ward(history: Platform) -> None:
    w = world()
    cov = rows(history, "ward_a1", "coverage")
    # An and Bình live in a1, both dosed, An has the full series
    assert [(r["code"], r["registered"], r["first"], r["full"], r["booster"]) for r in cov] == [
        (w.wards["a1"], 2, 2, 1, 0)
    ]
    daily = {r["day"]: r["total"] for r in rows(history, "ward_a1", "doses_per_day")}
    # by residence: Cường's dose given at a1 counts in a2
    assert daily == {date(2021, 10, 1): 2, date(2021, 10, 22): 1}
    assert by_product(history, "ward_a1") == {
        "PFIZER": (2, 0, 0, 2),
        "AZ": (0, 1, 0, 1),
        "Tổng / Total": (2, 1, 0, 3),
    }
    rvr = rows(history, "ward_a1", "recorded_vs_reported")[0]
    # the tally (a1, 01/10, Pfizer) = 3 against An's dose 1; AZ 01/10, Moderna 02/10 and
    # Pfizer 22/10 at a1 have no tally
    assert (rvr["recorded"], rvr["reported"], rvr["gap"], rvr["recorded_untallied"]) == (
        1,
        3,
        2,
        3,
    )
    backlog = rows(history, "ward_a1", "backlog")
    assert [(r["code"], r["open"]) for r in backlog] == [(w.wards["a1"], 1)]
    people = rows(history, "ward_a1", "site_people")
    assert [(r["site_id"], r["people"]) for r in people] == [(w.sites["a1"], 3)]


def test_commune_stock_on_its_dashboard(history: Platform) -> None:
    board = reads.dashboard(history, _actors()["ward_a1"], Filters(), TODAY)
    assert board.error is None and board.stock is not None
    got = {
        r["lot_number"]: (r["received"], r["administered"], r["on_hand"], r["state"])
        for r in board.stock.rows
    }
    # An's two Pfizer doses came from PF-OK, Bình's AZ from AZ-OK; MO-OK was never received
    # (untracked) and b1's use of PF-OK is not in this commune
    assert got == {
        "PF-OK": (10, 2, 8, "ok"),
        "AZ-OK": (1, 1, 0, "exhausted"),
        "PF-SOON": (5, 0, 5, "near_expiry"),
    }
    assert {r["place_code"] for r in board.stock.rows} == {world().sites["a1"]}
    b1 = reads.dashboard(history, _actors()["ward_b1"], Filters(), TODAY)
    assert b1.stock is not None
    assert all(r["place_code"] == world().sites["b1"] for r in b1.stock.rows)


def test_site_sees_its_own_doses_and_its_wards_coverage(history: Platform) -> None:
    w = world()
    cov = rows(history, "site_a1", "coverage")
    assert [(r["code"], r["registered"], r["first"]) for r in cov] == [(w.wards["a1"], 2, 2)]
    daily = {r["day"]: r["total"] for r in rows(history, "site_a1", "doses_per_day")}
    # every dose given at a1, wherever the person lives
    assert daily == {date(2021, 10, 1): 2, date(2021, 10, 2): 1, date(2021, 10, 22): 1}
    assert by_product(history, "site_a1") == {
        "PFIZER": (2, 0, 0, 2),
        "AZ": (0, 1, 0, 1),
        "MODERNA": (1, 0, 0, 1),
        "Tổng / Total": (3, 1, 0, 4),
    }
    assert [(r["site_id"], r["people"]) for r in rows(history, "site_a1", "site_people")] == [
        (w.sites["a1"], 3)
    ]
    rvr = rows(history, "site_a1", "recorded_vs_reported_by_site")
    assert {(r["site_id"], r["day"], r["recorded"], r["reported"]) for r in rvr} == {
        (w.sites["a1"], date(2021, 10, 1), 1, 3),
        (w.sites["a1"], date(2021, 10, 2), 0, 0),
        (w.sites["a1"], date(2021, 10, 22), 0, 0),
    }
    with pytest.raises(ServiceError) as exc:
        rows(history, "site_a1", "doses_per_day", site=w.sites["b1"])
    assert exc.value.status == 403 and exc.value.problems[0].field == "site"


def test_breakdowns_at_province_and_country(history: Platform) -> None:
    assert by_product(history, "prov_a") == {  # by residence in province A: An, Bình, Cường
        "PFIZER": (2, 0, 0, 2),
        "AZ": (0, 1, 0, 1),
        "MODERNA": (1, 0, 0, 1),
        "Tổng / Total": (3, 1, 0, 4),
    }
    assert by_product(history, "central") == {  # + Dũng (M) and the stranger (no sex)
        "PFIZER": (3, 0, 1, 4),
        "AZ": (0, 1, 0, 1),
        "MODERNA": (1, 0, 0, 1),
        "Tổng / Total": (4, 1, 1, 6),
    }
    # a date range: only 01/10
    assert by_product(
        history, "central", date_from=date(2021, 10, 1), date_to=date(2021, 10, 1)
    ) == {"PFIZER": (2, 0, 0, 2), "AZ": (0, 1, 0, 1), "Tổng / Total": (2, 1, 0, 3)}
    assert by_product(history, "central", province=PROVINCE_B)["Tổng / Total"] == (1, 0, 1, 2)


def test_province_drills_down_to_a_commune(history: Platform) -> None:
    w = world()
    a1 = {"ward": w.wards["a1"]}
    assert rows(history, "prov_a", "coverage", **a1) == rows(history, "ward_a1", "coverage")
    assert by_product(history, "prov_a", **a1) == by_product(history, "ward_a1")
    board = reads.dashboard(history, _actors()["prov_a"], Filters(ward=w.wards["a1"]), TODAY)
    assert board.error is None and board.stock is not None
    assert {r["lot_number"] for r in board.stock.rows} == {"PF-OK", "AZ-OK", "PF-SOON"}
    # the province's own view has no stock panel (its stock page sums every site's lots)
    assert reads.dashboard(history, _actors()["prov_a"], Filters(), TODAY).stock is None
    with pytest.raises(ServiceError) as exc:  # a province never drills into another's
        rows(history, "prov_a", "coverage", ward=w.wards["b1"])
    assert exc.value.status == 403


#: the history's verified doses above: (person, dose number, product, day); primary series of
#: two doses for each of these products
GIVEN = [
    ("an", 1, "PFIZER", date(2021, 10, 1)),
    ("an", 2, "PFIZER", date(2021, 10, 22)),
    ("binh", 1, "AZ", date(2021, 10, 1)),
    ("cuong", 1, "MODERNA", date(2021, 10, 2)),
    ("dung", 1, "PFIZER", date(2021, 10, 1)),
]


def by_sex_counted(wards: set[str], to: date = date.max) -> dict[str, tuple[int, int, int, int]]:
    """Register persons of ``wards`` per sex and how many reached ≥ 1 dose, the full primary
    series (dose 2) and a booster (dose 3+) by ``to``, counted here from the world's persons."""
    out: dict[str, list[int]] = {}
    for label, p in world().persons.items():
        if world().wards[p["ward"]] not in wards:
            continue
        numbers = [n for who, n, _, day in GIVEN if who == label and day <= to]
        row = out.setdefault(p["sex"] or "U", [0, 0, 0, 0])
        row[0] += 1
        row[1] += bool(numbers)
        row[2] += any(n >= 2 for n in numbers)
        row[3] += any(n >= 3 for n in numbers)
    return {k: (v[0], v[1], v[2], v[3]) for k, v in out.items()}


def by_sex(p: Platform, who: str, **f: Any) -> dict[str, tuple[int, int, int, int]]:
    return {
        r["sex"]: (r["registered"], r["first"], r["full"], r["booster"])
        for r in rows(p, who, "coverage_by_sex", **f)
    }


def test_coverage_by_sex_at_every_level(history: Platform) -> None:
    w = world()
    a1 = {w.wards["a1"]}
    province_a = {w.wards["a1"], w.wards["a2"]}
    assert (
        by_sex(history, "ward_a1")
        == by_sex_counted(a1)
        == {
            "M": (1, 1, 1, 0),  # An: both doses
            "F": (1, 1, 0, 0),  # Bình: one
        }
    )
    assert by_sex(history, "site_a1") == by_sex_counted(a1)  # the site's ward
    assert by_sex(history, "prov_a") == by_sex_counted(province_a)
    assert by_sex(history, "prov_a")["M"] == (2, 2, 1, 0)  # An and Cường
    everyone = set(w.wards.values())
    assert by_sex(history, "central") == by_sex_counted(everyone)
    assert by_sex(history, "central")["F"] == (2, 1, 0, 0)  # Bình dosed, Em not
    # as of a date before An's second dose
    day = date(2021, 10, 15)
    assert by_sex(history, "central", date_to=day) == by_sex_counted(everyone, day)
    assert by_sex(history, "central", date_to=day)["M"][2] == 0
    # the same figures a drill-down shows, and nobody's area beyond their own
    assert by_sex(history, "prov_a", ward=w.wards["a1"]) == by_sex(history, "ward_a1")
    with pytest.raises(ServiceError) as exc:
        rows(history, "ward_a1", "coverage_by_sex", ward=w.wards["b1"])
    assert exc.value.status == 403
