"""The date-of-birth compatibility rule has one home (``identity.dates.iso_compatible``) and two
SQL forms that must say the same: the desk's index-friendly ``verify.dob_condition`` and the
reconciliation's exact pass and its ``compatible`` comparison level (both
``reconcile/comparisons.dob_compatible_sql``, on year/month/day columns). Each form is
run by its real engine over every pair of a grid of dates and compared with the rule.

The grid mixes year-only, year-month and full dates that share or differ in each part, so a
form that forgot one precision or compared the wrong prefix disagrees somewhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import duckdb
import pytest
from sqlalchemy import Engine, insert, select

from tiemchung.identity.dates import iso_compatible
from tiemchung.reconcile.comparisons import DobCompatible, dob_compatible_sql
from tiemchung.reconcile.dialects import DUCKDB, SPARK
from tiemchung.registry.doses.verify import dob_condition
from tiemchung.registry.models import Person
from tiemchung.store.db import make_engine
from tiemchung.store.migrate import upgrade

GRID = [
    "1990",
    "1991",
    "1990-03",
    "1990-04",
    "1991-03",
    "1990-03-05",
    "1990-03-06",
    "1990-04-05",
    "1990-05-03",
    "1991-03-05",
]


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated SQLite registry whose persons carry each date of the grid once."""
    path = tmp_path_factory.mktemp("dob") / "r.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as conn:
        for i, dob in enumerate(GRID):
            conn.execute(
                insert(Person).values(
                    person_id=f"P{i}", full_name="Nguyễn Văn A", name_key="nguyen van a", dob=dob
                )
            )
    yield engine
    engine.dispose()


@pytest.mark.parametrize("typed", GRID)
def test_the_desks_sql_form_finds_exactly_the_compatible_register_dates(
    register: Engine, typed: str
) -> None:
    with register.connect() as conn:
        found = set(conn.scalars(select(Person.dob).where(dob_condition(typed))))
    assert found == {dob for dob in GRID if iso_compatible(dob, typed)}


def test_the_reconciliation_sql_form_agrees_with_the_rule_on_every_pair() -> None:
    con = duckdb.connect()
    rows = []
    for dob in GRID:
        parts = [int(p) for p in dob.split("-")] + [None, None]
        rows.append((dob, *parts[:3]))
    for name in ("i", "g"):
        con.execute(f"CREATE TABLE {name} (dob VARCHAR, dob_y INT, dob_m INT, dob_d INT)")
        con.executemany(f"INSERT INTO {name} VALUES (?, ?, ?, ?)", rows)
    condition = dob_compatible_sql("i", "g")
    got = set(con.execute(f"SELECT i.dob, g.dob FROM i, g WHERE {condition}").fetchall())
    want = {(a, b) for a, b in itertools.product(GRID, GRID) if iso_compatible(a, b)}
    assert got == want


def test_the_comparison_level_is_the_exact_pass_condition_on_its_columns() -> None:
    """The probabilistic model's ``compatible`` level once spelt the rule out itself; it now
    asks dob_compatible_sql, and the SQL it hands the model is the very string it wrote."""
    before = (
        "l_dob_y = r_dob_y AND (l_dob_m IS NULL OR r_dob_m IS NULL OR l_dob_m = r_dob_m) "
        "AND (l_dob_d IS NULL OR r_dob_d IS NULL OR l_dob_d = r_dob_d)"
    )
    for dialect in (DUCKDB, SPARK):
        assert DobCompatible().create_sql(dialect) == before
    assert dob_compatible_sql("l", "r", sep="_") == before
    assert dob_compatible_sql("i", "g") == before.replace("l_", "i.").replace("r_", "g.")
