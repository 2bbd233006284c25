"""The re-check's SQL form of the desk's decision says what ``verify.decide`` says.

``registry/review/register_rule.py`` writes ``verify.decide`` (over ``fields.identity_agrees``
and ``identity.dates.iso_compatible``) as SQL so that a register pull judges many doses in one
statement. Here both judge a grid of typed records against one register, on both backends:
the SQL by its real engine, the desk's function over the desk's own look-ups (``_by_id``,
``_by_name_dob``) of the same persons. The register holds look-alikes on purpose: a shared
name with compatible dates, two persons with one old ID, a name without diacritics, a person
with no date of birth (never found by name at the desk), wards that tell namesakes apart.
"""

from __future__ import annotations

import itertools

from sqlalchemy import insert

from tiemchung.core import Platform
from tiemchung.identity import fold_name
from tiemchung.registry.doses.verify import Typed, _by_id, _by_name_dob, decide
from tiemchung.registry.models import Person
from tiemchung.registry.review import register_recheck as rc
from tiemchung.registry.review import register_rule as rule

W1, W2 = "00004", "00007"
PERSONS = [
    ("R1", "079085000001", None, "Nguyễn Văn Án", "1985-04-12", "M", W1),
    ("R2", "079190000002", "111111111", "Trần Thị Bé", "1990", "F", W1),
    ("R3", "079190000003", None, "Trần Thị Bé", "1990-11-02", "F", W2),
    ("R4", "079085000004", None, "Nguyễn Văn Án", "1985-04", "M", W2),
    ("R5", "079085000005", "555555555", "Lê Văn Cư", "1985", None, W1),
    ("R6", None, "555555555", "Lê Văn Cư", "1985-04-12", "M", W1),
    ("R7", "079190000007", None, "Tran Thi Be", "1990-11-02", "F", W1),
    ("R8", "079085000008", None, "Lê Văn Cư", None, "M", W2),  # no date: never found by name
]
IDS = [None, "079085000001", "079190000002", "111111111", "555555555", "079099999999"]
NAMES = ["Nguyễn Văn Án", "Trần Thị Bé", "Tran Thi Be", "Lê Văn Cư"]
DOBS = [None, "1985-04-12", "1985", "1990-11-02", "1990-11-20"]
SEXES = [None, "M", "F"]
WARDS = [None, W1, W2]


def test_the_sql_decides_as_the_desk_on_every_case(platform: Platform) -> None:
    cases = list(itertools.product(IDS, NAMES, DOBS, SEXES, WARDS))
    with platform.sessions() as s:
        s.execute(
            insert(Person),
            [
                dict(person_id=pid, national_id=nid, old_id=old, full_name=name,
                     name_key=fold_name(name), dob=dob, sex=sex, ward_code=ward)
                for pid, nid, old, name, dob, sex, ward in PERSONS
            ],
        )  # fmt: skip
        conn = s.connection()
        pg = conn.dialect.name == "postgresql"
        rc._setup(conn, pg)
        rows = [
            (i, nid, name, fold_name(name), dob, sex, ward)
            for i, (nid, name, dob, sex, ward) in enumerate(cases)
        ]
        cols = ("dose_id", "nid", "full_name", "name_key", "dob", "sex", "ward_code")
        rc._fill(conn, pg, "rc_cand", cols, rows)
        conn.exec_driver_sql(rule.pairs_sql())
        got = {int(r[0]): (r[1], r[2]) for r in conn.exec_driver_sql(rule.decide_sql())}
        want = {}  # the desk's own decision over its own look-ups, on the same register
        for i, (nid, name, dob, sex, ward) in enumerate(cases):
            typed = Typed(nid, None, None, name, dob, sex, ward, "fields")
            status, persons, _on = decide(
                typed, lambda d: _by_id(conn, d), lambda n, b: _by_name_dob(conn, n, b)
            )
            chosen = persons[0].id if status in (rule.VERIFIED, rule.MISMATCH) else None
            want[i] = (status, chosen)
        s.rollback()
    assert got == want
    # the grid reaches every answer, so a branch that never fires would show
    assert {s for s, _ in want.values()} == {
        rule.VERIFIED,
        rule.MISMATCH,
        rule.AMBIGUOUS,
        rule.NOT_FOUND,
    }
