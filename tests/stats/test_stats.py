"""Every dashboard figure against counts made here from the rows the scenario inserted."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest

from tests.factories import PROVINCE_A, PROVINCE_B, world
from tests.stats.scenario import PRIMARY, Scenario, make
from tiemchung.core import Platform
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.scope import Actor, Role
from tiemchung.stats.filters import Filters
from tiemchung.stats.queries import table
from tiemchung.stats.service import StatsService

CENTRAL = Actor(1, "central", Role.CENTRAL)
PROV_A = Actor(2, "prov_a", Role.PROVINCE, province_code=PROVINCE_A)
TODAY = date(2021, 12, 31)


def age_group(dob: str | None, year: int) -> str:
    if not dob:
        return "unknown"
    age = year - int(dob[:4])
    for lo, hi, code in ((0, 11, "0-11"), (12, 17, "12-17"), (18, 49, "18-49"), (50, 64, "50-64")):
        if lo <= age <= hi:
            return code
    return "65+" if age >= 65 else "unknown"


@pytest.fixture
def world_stats(platform: Platform) -> tuple[Scenario, StatsService]:
    with platform.sessions() as s:
        sc = make(s)
    svc = StatsService(platform.engine, platform.settings.data_dir)
    svc.refresh()
    return sc, svc


def q(svc: StatsService, name: str, actor: Actor, **f: Any) -> list[dict[str, Any]]:
    with svc.cursor() as (cur, _snap):
        return table(cur, name, actor, Filters(**f), TODAY, full=True).rows


def expected_coverage(sc: Scenario, key: Any, keep: Any, to: date) -> dict[Any, dict[str, int]]:
    out: dict[Any, dict[str, int]] = {}
    by_person: dict[int, list[dict[str, Any]]] = {}
    for d in sc.doses:
        if d["person_pk"] is not None and d["status"] == "verified" and d["day"] <= to:
            by_person.setdefault(d["person_pk"], []).append(d)
    for p in sc.persons:
        if not keep(p):
            continue
        row = out.setdefault(key(p), {"registered": 0, "first": 0, "full": 0, "booster": 0})
        row["registered"] += 1
        ds = by_person.get(p["id"], [])
        row["first"] += bool(ds)
        row["full"] += any(d["dose_number"] >= PRIMARY[d["product"]] for d in ds)
        row["booster"] += any(d["dose_number"] > PRIMARY[d["product"]] for d in ds)
    return out


def test_coverage_by_ward_and_age(world_stats: tuple[Scenario, StatsService]) -> None:
    sc, svc = world_stats
    for to in (date(2021, 10, 15), TODAY, None):  # None: as of the snapshot (every dose)
        want = expected_coverage(
            sc, lambda p: p["ward"], lambda p: p["province"] == PROVINCE_A, to or date.max
        )
        got = {
            r["code"]: {k: r[k] for k in ("registered", "first", "full", "booster")}
            for r in q(svc, "coverage", PROV_A, date_to=to)
        }
        assert got == want
        assert sum(v["first"] for v in want.values()) > 0
    assert expected_coverage(sc, lambda p: 1, lambda p: True, date.max) != expected_coverage(
        sc, lambda p: 1, lambda p: True, TODAY
    )  # doses after TODAY exist, so the "as of" paths differ
    # one ward as of a date, by age group (the per-ward path)
    ward = world().wards["a1"]
    want = expected_coverage(
        sc, lambda p: age_group(p["dob"], 2021), lambda p: p["ward"] == ward, TODAY
    )
    got = {
        r["age_group"]: {k: r[k] for k in ("registered", "first", "full", "booster")}
        for r in q(svc, "coverage_by_age", PROV_A, ward=ward, date_to=TODAY)
        if r["registered"]
    }
    assert got == want
    want = expected_coverage(sc, lambda p: age_group(p["dob"], 2021), lambda p: True, TODAY)
    rows = q(svc, "coverage_by_age", CENTRAL, date_to=TODAY)
    got = {
        r["age_group"]: {k: r[k] for k in ("registered", "first", "full", "booster")}
        for r in rows
        if r["registered"]
    }
    assert got == want
    one = next(r for r in rows if r["registered"] and r["first"])
    assert one["first_pct"] == round(100 * one["first"] / one["registered"], 1)
    # the age filter on the area table
    want = expected_coverage(
        sc, lambda p: p["province"], lambda p: age_group(p["dob"], 2021) == "18-49", TODAY
    )
    got = {
        r["code"]: {k: r[k] for k in ("registered", "first", "full", "booster")}
        for r in q(svc, "coverage", CENTRAL, age_group="18-49", date_to=TODAY)
    }
    assert got == want


def test_coverage_by_sex(world_stats: tuple[Scenario, StatsService]) -> None:
    sc, svc = world_stats

    def sex(p: dict[str, Any]) -> str:
        return p["sex"] if p["sex"] in ("M", "F") else "U"

    def got(actor: Actor, **f: Any) -> dict[str, dict[str, int]]:
        return {
            r["sex"]: {k: r[k] for k in ("registered", "first", "full", "booster")}
            for r in q(svc, "coverage_by_sex", actor, **f)
        }

    assert {sex(p) for p in sc.persons} == {"M", "F", "U"}
    for to in (date(2021, 10, 15), TODAY, None):
        want = expected_coverage(sc, sex, lambda p: True, to or date.max)
        assert got(CENTRAL, date_to=to) == want
        assert sum(v["full"] for v in want.values()) > 0
    ward = world().wards["a2"]
    want = expected_coverage(sc, sex, lambda p: p["ward"] == ward, TODAY)
    assert got(PROV_A, ward=ward, date_to=TODAY) == want
    assert got(PROV_A) == expected_coverage(
        sc, sex, lambda p: p["province"] == PROVINCE_A, date.max
    )
    adults = expected_coverage(
        sc,
        sex,
        lambda p: p["province"] == PROVINCE_B and age_group(p["dob"], 2021) == "18-49",
        TODAY,
    )
    rows = got(CENTRAL, province=PROVINCE_B, age_group="18-49", date_to=TODAY)
    assert {k: v for k, v in rows.items() if v["registered"]} == adults
    one = next(r for r in q(svc, "coverage_by_sex", CENTRAL) if r["first"])
    assert one["first_pct"] == round(100 * one["first"] / one["registered"], 1)


def test_doses_per_day_in_a_ward(world_stats: tuple[Scenario, StatsService]) -> None:
    sc, svc = world_stats
    ward = world().wards["b1"]
    ages = {p["id"]: p["dob"] for p in sc.persons}
    for group in (None, "18-49"):
        want: Counter[date] = Counter()
        for d in sc.doses:
            # the register person's birth year when the register has one, else the record's
            dob = (ages[d["person_pk"]] if d["person_pk"] else None) or d["dob"]
            if (
                d["status"] != "duplicate"
                and d["area"][0] == ward
                and (group is None or age_group(dob, 2021) == group)
            ):
                want[d["day"]] += 1
        rows = q(svc, "doses_per_day", CENTRAL, ward=ward, age_group=group, date_to=TODAY)
        assert {r["day"]: r["total"] for r in rows} == {k: v for k, v in want.items() if k <= TODAY}
        assert want


def test_doses_per_day(world_stats: tuple[Scenario, StatsService]) -> None:
    sc, svc = world_stats
    lo, hi = date(2021, 9, 10), date(2021, 11, 30)
    want: Counter[tuple[date, int]] = Counter()
    for d in sc.doses:
        if d["status"] != "duplicate" and d["area"][1] == PROVINCE_B and lo <= d["day"] <= hi:
            want[(d["day"], min(d["dose_number"], 4))] += 1
    rows = q(svc, "doses_per_day", CENTRAL, province=PROVINCE_B, date_from=lo, date_to=hi)
    got: Counter[tuple[date, int]] = Counter()
    for r in rows:
        for n in (1, 2, 3, 4):
            if r[f"dose{n}"]:
                got[(r["day"], n)] = r[f"dose{n}"]
        assert r["total"] == sum(r[f"dose{n}"] for n in (1, 2, 3, 4))
    assert got == want and want


def test_recorded_vs_reported(world_stats: tuple[Scenario, StatsService]) -> None:
    sc, svc = world_stats
    w = world()
    site = w.sites["a1"]
    tallied = {
        (t["site_id"], t["report_date"], t["product_code"]): t["reported"] for t in sc.tallies
    }
    rec: Counter[tuple[str, date, str]] = Counter(
        (d["site"], d["day"], d["product"]) for d in sc.doses if d["status"] != "duplicate"
    )
    in_a = {s for s, (_w, p) in sc.sites.items() if p == PROVINCE_A}
    recorded = sum(n for k, n in rec.items() if k in tallied and k[0] in in_a)
    reported = sum(n for k, n in tallied.items() if k[0] in in_a)
    untallied = sum(n for k, n in rec.items() if k not in tallied and k[0] in in_a)
    (tot,) = q(svc, "recorded_vs_reported", PROV_A)
    assert (tot["recorded"], tot["reported"], tot["recorded_untallied"]) == (
        recorded,
        reported,
        untallied,
    )
    assert tot["gap"] == reported - recorded
    assert tot["recorded_pct"] == round(100 * recorded / reported, 1)
    rows = q(svc, "recorded_vs_reported_by_site", CENTRAL, ward=w.wards["a1"])
    want = {}
    for k in set(tallied) | set(rec):
        if k[0] == site:
            r = want.setdefault((k[0], k[1]), [0, 0])
            r[0] += rec[k] if k in tallied else 0
            r[1] += tallied.get(k, 0)
    assert {(r["site_id"], r["day"]): [r["recorded"], r["reported"]] for r in rows} == want
    gaps = [r["gap"] for r in rows]
    assert gaps == sorted(gaps, reverse=True)  # the largest shortfall first
    days = q(svc, "recorded_vs_reported_by_day", CENTRAL, date_from=date(2022, 1, 1))
    per_day: dict[date, list[int]] = {}
    for k in set(tallied) | set(rec):
        if k[1] >= date(2022, 1, 1):
            r = per_day.setdefault(k[1], [0, 0])
            r[0] += rec[k] if k in tallied else 0
            r[1] += tallied.get(k, 0)
    assert {r["day"]: [r["recorded"], r["reported"]] for r in days} == per_day
    assert per_day[date(2022, 1, 5)][1] >= 9  # the tally of a day nothing was recorded


def test_quality_categories(world_stats: tuple[Scenario, StatsService]) -> None:
    sc, svc = world_stats
    corr: dict[int, set[str]] = {}
    for c in sc.corrections:
        corr.setdefault(c["dose_id"], set()).add(c["field"])
    open_items: dict[int, list[dict[str, Any]]] = {}
    for it in sc.items:
        if it["status"] == "open":
            open_items.setdefault(it["dose_id"], []).append(it)
    want: dict[str, Counter[str]] = {}
    for d in sc.doses:
        c = want.setdefault(d["area"][0], Counter())
        c["total"] += 1
        items = open_items.get(d["id"], [])
        fields: set[str] = set()
        if d["status"] == "duplicate":
            cat = "duplicate"
        elif d["status"] == "verified":
            cat = "verified_wrong" if d["id"] in corr else "verified"
            fields = corr.get(d["id"], set())
        elif any(i["kind"] == "not_found" for i in items):
            cat = "not_found"
        elif any(i["kind"] in ("review", "ticket") for i in items):
            cat = "review"
            fields = {f for i in items for f in (i["mismatches"] or "").split(";") if f}
        else:
            cat = "pending"
        c[cat] += 1
        c["wrong_id"] += "national_id" in fields
        c["wrong_dob"] += "dob" in fields
        c["wrong_name"] += "full_name" in fields
        c["wrong_other"] += bool(fields - {"national_id", "dob", "full_name"})
    keys = (
        "total",
        "verified",
        "verified_wrong",
        "review",
        "not_found",
        "duplicate",
        "pending",
        "wrong_id",
        "wrong_dob",
        "wrong_name",
        "wrong_other",
    )
    for province in (PROVINCE_A, PROVINCE_B):
        rows = q(svc, "quality", CENTRAL, province=province)
        got = {r["code"]: {k: r[k] for k in keys} for r in rows}
        exp = {
            ward: {k: c[k] for k in keys}
            for ward, c in want.items()
            if ward in {p["ward"] for p in sc.persons if p["province"] == province}
        }
        assert got == exp
    assert sum(c["verified_wrong"] for c in want.values()) > 0
    assert sum(c["review"] for c in want.values()) > 0


def test_backlog_per_ward(world_stats: tuple[Scenario, StatsService]) -> None:
    sc, svc = world_stats
    want: dict[str, Counter[str]] = {}
    for it in sc.items:
        if it["province_code"] != PROVINCE_A:
            continue
        c = want.setdefault(it["ward_code"], Counter())
        if it["status"] == "open":
            c["open"] += 1
            c[f"open_{it['kind']}"] += 1
        elif it["status"] == "superseded":
            c["superseded"] += 1
        else:
            c["decided"] += 1
    keys = (
        "open",
        "open_review",
        "open_not_found",
        "open_unverified",
        "open_ticket",
        "decided",
        "superseded",
    )
    got = {r["code"]: {k: r[k] for k in keys} for r in q(svc, "backlog", PROV_A)}
    assert got == {w: {k: c[k] for k in keys} for w, c in want.items()}


def test_scoping(world_stats: tuple[Scenario, StatsService]) -> None:
    sc, svc = world_stats
    rows = q(svc, "coverage", PROV_A)
    assert {r["code"] for r in rows} == {
        p["ward"] for p in sc.persons if p["province"] == PROVINCE_A
    }
    assert {r["code"] for r in q(svc, "coverage", CENTRAL)} == {PROVINCE_A, PROVINCE_B}
    w = world()
    for name in ("coverage", "quality", "backlog", "doses_per_day"):
        with pytest.raises(ServiceError) as e:
            q(svc, name, PROV_A, province=PROVINCE_B)
        assert e.value.status == 403
        with pytest.raises(ServiceError) as e:
            q(svc, name, PROV_A, ward=w.wards["b1"])
        assert e.value.status == 403
    commune = Actor(3, "x", Role.COMMUNE, ward_code=w.wards["a1"])
    site = Actor(4, "s", Role.SITE, site_id=w.sites["a1"])
    for actor in (commune, site):  # issue 17: their own ward, whatever they ask for
        assert {r["code"] for r in q(svc, "coverage", actor)} == {w.wards["a1"]}
        assert {r["code"] for r in q(svc, "backlog", actor)} <= {w.wards["a1"]}
        for asked in ({"ward": w.wards["a2"]}, {"province": PROVINCE_B}, {"site": w.sites["a2"]}):
            with pytest.raises(ServiceError) as e:
                q(svc, "coverage", actor, **asked)
            assert e.value.status == 403 and e.value.problems[0].field == next(iter(asked))
    with pytest.raises(ServiceError) as e:
        q(svc, "coverage", Actor(5, "c", Role.CITIZEN, person_pk=1))
    assert e.value.status == 403 and e.value.problems[0].field == "role"
    # the statistics' long-standing rule name, kept through errors.role_not_allowed
    assert e.value.problems[0].rule == "role" and e.value.title == "Forbidden / Không có quyền"
    with pytest.raises(ServiceError) as e:  # a province user asking for another's site
        q(svc, "doses_per_day", PROV_A, site=w.sites["b1"])
    assert e.value.status == 403 and e.value.problems[0].field == "site"
    with pytest.raises(ServiceError) as e:
        q(svc, "doses_per_day", CENTRAL, site="NO-SUCH-SITE")
    assert e.value.status == 422 and e.value.problems[0].field == "site"
    with pytest.raises(ServiceError) as e:
        q(svc, "coverage", CENTRAL, age_group="40-45")
    assert e.value.status == 422 and e.value.problems[0].field == "age_group"
    with pytest.raises(ServiceError) as e:
        q(svc, "coverage", CENTRAL, ward="99999")
    assert e.value.status == 422 and e.value.problems[0].field == "ward"


def test_snapshot_is_a_snapshot_until_refreshed(
    world_stats: tuple[Scenario, StatsService], platform: Platform
) -> None:
    _sc, svc = world_stats
    before = q(svc, "recorded_vs_reported", CENTRAL)[0]["reported"]
    with platform.sessions() as s:
        from sqlalchemy import insert

        from tiemchung.registry.models import Tally

        s.execute(
            insert(Tally).values(
                site_id=world().sites["b2"],
                report_date=date(2022, 2, 1),
                product_code="AZ",
                reported=1000,
            )
        )
        s.commit()
    assert q(svc, "recorded_vs_reported", CENTRAL)[0]["reported"] == before
    old = svc.current().built_at
    svc.refresh()
    assert q(svc, "recorded_vs_reported", CENTRAL)[0]["reported"] == before + 1000
    assert svc.current().built_at >= old


def test_stale_snapshot_refreshes_in_the_background(platform: Platform) -> None:
    """A request finding the snapshot too old is answered from it at once; a new one follows."""
    from sqlalchemy import insert

    from tiemchung.registry.models import Tally
    from tiemchung.stats.service import wait_refreshed

    svc = StatsService(platform.engine, platform.settings.data_dir, max_age=3600)
    first = svc.current()  # none yet: taken now, and waited for
    with platform.sessions() as s:
        s.execute(
            insert(Tally).values(
                site_id=world().sites["a1"],
                report_date=date(2021, 9, 9),
                product_code="AZ",
                reported=77,
            )
        )
        s.commit()
    assert svc.current().path == first.path  # fresh enough: not refreshed
    svc.max_age = 0
    answered = svc.current()
    assert answered.path == first.path  # answered from the old one…
    wait_refreshed(svc)
    assert svc.last_error is None
    now = svc.current()
    assert now.path != first.path  # …and replaced in the background
    with svc.cursor() as (cur, _snap):
        (tot,) = table(cur, "recorded_vs_reported", CENTRAL, Filters(), TODAY).rows
    assert tot["reported"] == 77


def test_concurrent_first_requests_take_one_snapshot(platform: Platform) -> None:
    """Requests arriving together before the first snapshot wait for one, not one each."""
    import threading

    svc = StatsService(platform.engine, platform.settings.data_dir)
    paths: list[str] = []
    threads = [
        threading.Thread(target=lambda: paths.append(str(svc.current().path))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(paths) == 4 and len(set(paths)) == 1
    assert len(list((platform.settings.data_dir / "stats").glob("snapshot-*.duckdb"))) == 1


def test_first_snapshot_not_ready_in_time_is_pending(platform: Platform) -> None:
    from tiemchung.stats.service import SnapshotPendingError, wait_refreshed

    svc = StatsService(platform.engine, platform.settings.data_dir, first_wait=0)
    with pytest.raises(SnapshotPendingError) as info:
        svc.current()
    assert info.value.status == 503 and svc.refreshing
    wait_refreshed(svc)
    first = svc.current()  # ready now, and only one was taken
    assert svc.current().path == first.path and svc.last_error is None


def test_closing_the_platform_waits_for_a_running_refresh(settings: Any) -> None:
    """A DuckDB build left running when the interpreter exits aborts the process, so the
    platform's close() must wait for the refresh its statistics service started."""
    from tiemchung.stats.service import stats_for

    with Platform(settings) as core:
        svc = stats_for(core)
        svc.start_refresh()
        assert svc.refreshing  # the build takes far longer than starting the thread
    assert not svc.refreshing
