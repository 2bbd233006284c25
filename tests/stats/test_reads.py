"""What the API and the dashboard read (stats/reads.py, stats/export.table_file), over a real
snapshot of a SQLite or PostgreSQL database: the same answers to both, the same freshness."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import PROVINCE_A, PROVINCE_B, submission
from tiemchung.core import Platform
from tiemchung.registry.doses.record import record_doses
from tiemchung.registry.errors import ServiceError
from tiemchung.registry.scope import Actor, Role
from tiemchung.stats import reads
from tiemchung.stats.export import CSV_TYPE, XLSX_TYPE, table_file
from tiemchung.stats.filters import Filters
from tiemchung.stats.queries import TABLES
from tiemchung.stats.service import stats_for, wait_refreshed

CENTRAL = Actor.system("tests")
PROV_A = Actor(2001, "prov_a", Role.PROVINCE, province_code=PROVINCE_A)
COMMUNE = Actor(2002, "ward", Role.COMMUNE, ward_code="00001")
TODAY = date(2022, 6, 1)


@pytest.fixture
def dosed(platform: Platform) -> Platform:
    subs = [submission("an"), submission("an", dose_number=2, dose_date=date(2021, 10, 22))]
    platform.writer.run(lambda s: record_doses(s, platform.catalog, CENTRAL, subs, today=TODAY))
    return platform


def test_overview_and_refresh(dosed: Platform) -> None:
    got = reads.overview(dosed, PROV_A)
    assert got["tables"] == [*TABLES, reads.STOCK] and got["province"] == PROVINCE_A
    fresh = got["snapshot"]
    assert fresh["built_at"] and fresh["rows"]["doses"] == 2 and fresh["refreshing"] is False
    assert fresh["max_age_minutes"] == round(stats_for(dosed).max_age / 60)
    assert reads.overview(dosed, CENTRAL)["province"] is None  # the country
    with pytest.raises(ServiceError) as exc:  # citizens see their own page, not statistics
        reads.overview(dosed, Actor(2003, "citizen", Role.CITIZEN, person_pk=1))
    assert exc.value.status == 403
    answered = reads.refresh(dosed)
    assert answered["snapshot"]["built_at"] == fresh["built_at"]  # the one in use until then
    wait_refreshed(stats_for(dosed))
    assert stats_for(dosed).last_error is None


def test_read_table_scopes_and_names_the_filters_applied(dosed: Platform) -> None:
    t, fresh, applied = reads.read_table(dosed, PROV_A, "coverage", Filters(), TODAY)
    assert applied == Filters(province=PROVINCE_A)  # the province user's province filled in
    assert fresh["rows"]["doses"] == 2
    assert sum(r["first"] for r in t.rows) == 1 and sum(r["full"] for r in t.rows) == 1
    with pytest.raises(ServiceError) as exc:
        reads.read_table(dosed, PROV_A, "coverage", Filters(province=PROVINCE_B), TODAY)
    assert exc.value.status == 403
    with pytest.raises(ServiceError) as exc:
        reads.read_table(dosed, CENTRAL, "no_such_table", Filters(), TODAY)
    assert exc.value.status == 404


def test_dashboard_falls_back_to_the_whole_area_and_says_why(dosed: Platform) -> None:
    board = reads.dashboard(dosed, PROV_A, Filters(), TODAY)
    assert board.error is None and board.data.filters.province == PROVINCE_A
    assert board.fresh["rows"]["doses"] == 2 and set(board.data.tables) == set(TABLES)
    outside = reads.dashboard(dosed, PROV_A, Filters(province=PROVINCE_B), TODAY)
    assert outside.error is not None and outside.error.status == 403
    assert outside.data.filters == Filters(province=PROVINCE_A)
    typed_wrong = ServiceError(422, "Rule violated / Vi phạm quy tắc", [])
    unread = reads.dashboard(dosed, CENTRAL, typed_wrong, TODAY)
    assert unread.error is typed_wrong and unread.data.filters == Filters()


def test_table_file(dosed: Platform) -> None:
    t, _fresh, _f = reads.read_table(dosed, CENTRAL, "coverage", Filters(), TODAY, full=True)
    body, media, name = table_file(t, "csv")
    assert media == CSV_TYPE and name == "coverage.csv" and body.startswith(b"\xef\xbb\xbf")
    assert "Người trong sổ dân cư / Register persons" in body.decode("utf-8-sig")
    body, media, name = table_file(t, "xlsx", "named.xlsx")
    assert media == XLSX_TYPE and name == "named.xlsx" and body.startswith(b"PK")
