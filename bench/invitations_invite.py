"""Invitations (issue 18): plan a session of capacity N and invite from 100,000 eligible.

Target: exactly N invitations (places in slots), no person twice, in <= 5 s. The run:

1. A fresh database (PostgreSQL in a throw-away server by default; ``--backend sqlite``):
   ``initialise``, one site, ``--eligible`` invented persons in its ward, every one with a
   mobile number; a third with a first Pfizer dose long ago (their dose 2 is due, so the
   next-dose statement has real work), and a tenth registered in a priority group.
2. ``bench_invite``: plan a session of capacity N in four slots, then time
   ``send_invitations`` (selection, slots, wait list of 20%, one queued text per place, the
   audit event, the commit) — the function the CLI, the API and the page call.
3. Checks: invitations holding a place = N, one row per person, texts = N.
4. Baseline in the same run: a bare ``INSERT INTO … SELECT`` of N persons of the ward, ordered,
   into a table of the same shape (what the database alone costs for N rows).

Others write other parts of issue 18's bench to ``bench/results/``; this one writes
``bench/results/invitations_invite.json``.

    nice -n 10 .venv/bin/python bench/invitations.py invite [--capacity 1000 --capacity 5000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench._common import Timer, write_result  # noqa: E402
from tiemchung.config import Settings  # noqa: E402
from tiemchung.installation import initialise  # noqa: E402
from tiemchung.registry.catalog import sessions as planning  # noqa: E402
from tiemchung.registry.invitations import send  # noqa: E402
from tiemchung.registry.invitations.select import Selection  # noqa: E402
from tiemchung.registry.models import AdminUnit, Dose, Person, Site  # noqa: E402
from tiemchung.registry.scope import Actor  # noqa: E402
from tiemchung.registry.tables.invitations import Invitation  # noqa: E402
from tiemchung.registry.tables.messages import OutboxMessage  # noqa: E402
from tiemchung.registry.tables.registrations import PriorityGroup, Registration  # noqa: E402
from tiemchung.store.db import make_engine, make_sessionmaker  # noqa: E402

SEED = 18
TODAY = date(2026, 12, 1)
ACTOR = Actor.system("bench")


def log(msg: str) -> None:
    print(msg, flush=True)


def seed(s: Session, eligible: int) -> tuple[str, str]:
    """One site and ``eligible`` persons of its ward; returns (site id, ward code)."""
    ward, province = s.execute(
        select(AdminUnit.code, AdminUnit.province_code)
        .where(AdminUnit.scheme == "2021", AdminUnit.level == "ward")
        .order_by(AdminUnit.code)
        .limit(1)
    ).one()
    s.add(Site(site_id="TYT-B", name="Trạm Y tế phường B", ward_code=ward, province_code=province))
    s.add(PriorityGroup(code="G1", name_vi="Nhóm 1", name_en="group 1", sort=1))
    s.flush()
    rng = random.Random(SEED)
    persons = [
        {
            "person_id": f"B{i:07d}",
            "full_name": f"Người {i}",
            "name_key": f"nguoi {i}",
            "dob": f"{rng.randrange(1930, 2005)}-{rng.randrange(1, 13):02d}-15",
            "sex": "FM"[i % 2],
            "ward_code": ward,
            "province_code": province,
            "phone": f"09{rng.randrange(10**8):08d}",
        }
        for i in range(eligible)
    ]
    for i in range(0, eligible, 10_000):
        s.execute(insert(Person), persons[i : i + 10_000])
    ids = list(s.scalars(select(Person.id).order_by(Person.id)))
    doses = [
        {
            "client_uuid": uuid.UUID(int=rng.getrandbits(128)),
            "submission_hash": f"{pid:064d}",
            "person_pk": pid,
            "full_name": "x",
            "product_code": "PFIZER",
            "dose_number": 1,
            "dose_date": TODAY - timedelta(days=rng.randrange(30, 400)),
            "site_id": "TYT-B",
            "status": "verified",
        }
        for pid in ids[::3]
    ]
    for i in range(0, len(doses), 10_000):
        s.execute(insert(Dose), doses[i : i + 10_000])
    regs = [
        {
            "person_id": pid,
            "full_name": "x",
            "ward_code": ward,
            "province_code": province,
            "priority_group": "G1",
            "underlying_condition": False,
            "check_status": "verified",
        }
        for pid in ids[::10]
    ]
    s.execute(insert(Registration), regs)
    s.commit()
    if s.get_bind().dialect.name == "postgresql" and not os.environ.get("BENCH_NO_ANALYZE"):
        # a bulk load is followed by ANALYZE in production too (autovacuum would get there
        # later): without statistics the planner guesses the register's joins blind
        with s.get_bind().connect() as conn:  # type: ignore[union-attr]
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return "TYT-B", ward


def bench_invite(url: str, capacity: int, ward: str, site_id: str) -> dict[str, Any]:
    """Plan a session of ``capacity`` in four slots and invite from the ward; the figures."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    quarter = capacity // 4
    sizes = [quarter, quarter, quarter, capacity - 3 * quarter]
    hours = ["07:00-08:30", "08:30-10:00", "13:00-14:30", "14:30-16:00"]
    with sessions() as s:
        vs = planning.plan_session(
            s,
            ACTOR,
            planning.SessionPlan(
                site_id=site_id,
                session_date=TODAY + timedelta(days=3 + capacity % 97),
                products=["PFIZER"],
                time_slots=[planning.parse_slot(h, n) for h, n in zip(hours, sizes, strict=True)],
            ),
            TODAY,
        )
        s.commit()
        sid = vs.id
    # where the time goes: the outbox (enqueue_many: the texts in a few statements,
    # registry/messages) against the rest (selection, slots, invitations, audit)
    spent = [0.0]
    real_enqueue = send.enqueue_many

    def timed_enqueue(*a: Any, **k: Any) -> Any:
        start = time.perf_counter()
        try:
            return real_enqueue(*a, **k)
        finally:
            spent[0] += time.perf_counter() - start

    send.enqueue_many = timed_enqueue  # type: ignore[assignment]
    try:
        with sessions() as s, Timer() as t:
            result = send.send_invitations(
                s, ACTOR, sid, Selection(), TODAY, lambda i: f"https://tc.example.vn/i/{i}.x"
            )
            s.commit()
    finally:
        send.enqueue_many = real_enqueue  # type: ignore[assignment]
    with sessions() as s:
        rows = s.scalar(select(func.count()).where(Invitation.session_id == sid))
        people = s.scalar(
            select(func.count(func.distinct(Invitation.person_id))).where(
                Invitation.session_id == sid
            )
        )
        placed = s.scalar(
            select(func.count()).where(
                Invitation.session_id == sid, Invitation.slot_index.is_not(None)
            )
        )
        texts = s.scalar(
            select(func.count()).where(
                OutboxMessage.ref_type == "invitation",
                OutboxMessage.ref_id.in_(
                    select(func.cast(Invitation.id, OutboxMessage.ref_id.type)).where(
                        Invitation.session_id == sid
                    )
                ),
            )
        )
        twice = s.scalar(
            select(func.count()).select_from(
                select(Invitation.person_id)
                .where(Invitation.status.in_(("invited", "confirmed", "waitlisted")))
                .group_by(Invitation.person_id, Invitation.session_date)
                .having(func.count() > 1)
                .subquery()
            )
        )
    with engine.begin() as conn, Timer() as base:
        conn.execute(text("DROP TABLE IF EXISTS bench_bare"))
        conn.execute(
            text(
                "CREATE TABLE bench_bare (person_id BIGINT, session_id INTEGER, "
                "slot_index INTEGER, phone VARCHAR(32), status VARCHAR(12))"
            )
        )
        conn.execute(
            text(
                "INSERT INTO bench_bare SELECT id, :sid, 0, phone, 'invited' FROM persons "
                "WHERE ward_code = :ward ORDER BY dob, id LIMIT :n"
            ),
            {"sid": sid, "ward": ward, "n": capacity},
        )
    engine.dispose()
    return {
        "capacity": capacity,
        "seconds": round(t.seconds, 3),
        "within_target_5s": t.seconds <= 5.0,
        "enqueue_s": round(spent[0], 3),
        "selection_and_invitations_s": round(t.seconds - spent[0], 3),
        "placed": placed,
        "exactly_capacity": placed == capacity,
        "waitlisted": result.waitlisted,
        "rows": rows,
        "distinct_people": people,
        "no_person_twice": rows == people and twice == 0,
        "texts": texts,
        "baseline_insert_select_s": round(base.seconds, 3),
        "vs_baseline": round(t.seconds / max(base.seconds, 1e-6), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--eligible", type=int, default=100_000)
    ap.add_argument("--capacity", type=int, action="append")
    ap.add_argument("--name", default="invitations_invite")
    args = ap.parse_args()
    capacities = args.capacity or [500, 2_000]
    work = Path(tempfile.mkdtemp(prefix="tc-bench-invite-"))
    server = None
    if args.backend == "postgresql":
        from tests.pgserver import PostgresServer

        server = PostgresServer().start()
        url = server.create_database("bench_invite")
    else:
        url = f"sqlite:///{work / 'bench.db'}"
    try:
        log("init")
        initialise(Settings(database_url=url, data_dir=work))
        engine = make_engine(url)
        with make_sessionmaker(engine)() as s, Timer() as t:
            site_id, ward = seed(s, args.eligible)
        engine.dispose()
        log(f"seeded {args.eligible:,} persons in {t.seconds:.1f} s")
        runs = []
        for n in capacities:
            runs.append(bench_invite(url, n, ward, site_id))
            log(str(runs[-1]))
    finally:
        if server is not None:
            server.stop()
    path = write_result(
        args.name,
        inputs={"backend": args.backend, "eligible": args.eligible, "capacities": capacities},
        results={"runs": runs},
        packages=["sqlalchemy", "psycopg"],
    )
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
