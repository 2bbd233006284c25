"""Register re-check benchmark: a pull of N changed persons re-checks their stored doses.

Issue 19's target: "register pull of 100,000 changed people re-checks their doses in ≤ 60 s".
On SQLite (default) or PostgreSQL (``--pg``, a throw-away server started here):

  1. build a store (not measured) of ``--persons`` register persons (default 1,000,000) and two
     doses each (2,000,000), by driver executemany / COPY. Most doses are linked and verified;
     one person in 20 has a second dose typed with a misspelt name (unlinked); one in 20 had
     no ID in the register, both doses typed with the ID on the card (unlinked);
  2. ``--changed`` persons (default 100,000) change in the register, a mix: phone only (40%,
     nothing to do), date of birth fixed (20%: both doses now disagree), name fixed to the
     card's (20%: the unlinked dose links, the linked one now disagrees), the ID now known
     (20%: both unlinked doses link);
  3. measured: the upsert of the changed persons (a bulk UPDATE, as a pull would do) and
     ``recheck_persons`` over them, in one transaction; the counts checked against what the
     mix must give; a second re-check (nothing more to do) timed too;
  4. baseline in the same run: a bare join of the changed persons with their doses (every
     column the comparison reads), fetched — the least a re-check has to read.

    nice -n 10 .venv/bin/python bench/register_recheck.py [--persons 1000000]
        [--changed 100000] [--pg] [--name register_recheck]

Everyone here is made up.
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

from bench._common import Timer, write_result  # noqa: E402
from tiemchung.config import Settings  # noqa: E402
from tiemchung.identity import fold_name  # noqa: E402
from tiemchung.installation import initialise  # noqa: E402
from tiemchung.registry.review.register_recheck import recheck_persons  # noqa: E402
from tiemchung.registry.scope import Actor  # noqa: E402
from tiemchung.store import bulk  # noqa: E402
from tiemchung.store.db import make_engine, make_sessionmaker  # noqa: E402

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang", "Xuân", "Hồng"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Em", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa",
         "Hùng", "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phúc", "Quân",
         "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vân", "Việt", "Yến"]  # fmt: skip
PERSON_COLS = (
    *("id", "person_id", "national_id", "old_id", "full_name", "name_key", "dob", "sex"),
    *("ward_code", "province_code", "phone"),
)
DOSE_COLS = (
    *("client_uuid", "submission_hash", "person_pk", "national_id", "full_name", "dob", "sex"),
    *("ward_code", "product_code", "dose_number", "dose_date", "site_id", "status"),
    *("area_ward_code", "area_province_code", "link_source"),
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _kind(i: int) -> str:
    """What person ``i`` looks like in the store: ``typo`` (a dose under a misspelt name),
    ``noid`` (the register lacked the ID the doses carry) or ``plain``."""
    return "typo" if i % 20 == 0 else "noid" if i % 20 == 10 else "plain"


def _nid(i: int) -> str:
    return f"0{79 + i % 2:02d}{i:09d}"[:12]


def _phone(i: int) -> str:
    return f"09{i % 100_000_000:08d}"


def build(url: str, n_persons: int, seed: int) -> dict[str, Any]:
    """The store: persons and their doses, bulk-written (not measured)."""
    rnd = random.Random(seed)
    initialise(Settings(database_url=url, data_dir=Path(tempfile.mkdtemp())))
    engine = make_engine(url)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        wards = [
            tuple(r)
            for r in conn.exec_driver_sql(
                "SELECT code, province_code FROM admin_units WHERE scheme = '2021' "
                "AND level = 'ward' ORDER BY code LIMIT 200"
            )
        ]
        sites = [(f"S{k:03d}", f"Trạm {k}", w, p, True) for k, (w, p) in enumerate(wards)]
        site_cols = ("site_id", "name", "ward_code", "province_code", "active")
        (bulk.copy_rows if pg else bulk.insert_tuples)(conn, "sites", site_cols, sites)
    names: dict[str, str] = {}
    step = 100_000
    for start in range(0, n_persons, step):
        persons, doses = [], []
        for i in range(start, min(start + step, n_persons)):
            name = f"{rnd.choice(FAMILY)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}"
            key = names.get(name) or names.setdefault(name, fold_name(name))
            born = date(1940, 1, 1) + timedelta(days=rnd.randrange(25_000))
            sex = rnd.choice("MF")
            w, p = wards[i % len(wards)]
            kind = _kind(i)
            persons.append(
                (i + 1, f"B{i:08d}", None if kind == "noid" else _nid(i), None, name, key,
                 born.isoformat(), sex, w, p, _phone(i))
            )  # fmt: skip
            site = sites[i % len(sites)][0]
            for number in (1, 2):
                typo = kind == "typo" and number == 2
                linked = kind == "plain" or (kind == "typo" and number == 1)
                doses.append(
                    (uuid.uuid4().hex if not pg else uuid.uuid4(), "x" * 64,
                     i + 1 if linked else None, _nid(i), name + "h" if typo else name,
                     born.isoformat(), sex, w, "PFIZER", number,
                     date(2021, 8, 1) + timedelta(days=28 * number), site,
                     "verified" if linked else "unverified", w, p,
                     "entry" if linked else None)
                )  # fmt: skip
        with engine.begin() as conn:
            if pg:
                bulk.copy_rows(conn, "persons", PERSON_COLS, persons)
                bulk.copy_rows(conn, "doses", DOSE_COLS, doses)
            else:
                bulk.insert_tuples(conn, "persons", PERSON_COLS, persons)
                bulk.insert_tuples(conn, "doses", DOSE_COLS, doses)
        log(f"built {min(start + step, n_persons):,} persons")
    with engine.begin() as conn:
        if pg:
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('persons', 'id'), "
                                 "(SELECT max(id) FROM persons))")  # fmt: skip
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return {"persons": n_persons, "doses": 2 * n_persons, "sites": len(sites)}


def changes(
    n_persons: int, n_changed: int, seed: int
) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """The register's new values for ``n_changed`` persons (id, national_id, full_name,
    name_key, dob, phone) and what the re-check must find."""
    rnd = random.Random(seed + 1)
    by_kind: dict[str, list[int]] = {"typo": [], "noid": [], "plain": []}
    for i in range(n_persons):
        by_kind[_kind(i)].append(i)
    for ids in by_kind.values():
        rnd.shuffle(ids)
    quota = {"name": n_changed // 5, "nid": n_changed // 5, "dob": n_changed // 5}
    quota["phone"] = n_changed - sum(quota.values())
    picks = {
        "name": by_kind["typo"][: quota["name"]],
        "nid": by_kind["noid"][: quota["nid"]],
        "dob": by_kind["plain"][: quota["dob"]],
        "phone": by_kind["plain"][quota["dob"] : quota["dob"] + quota["phone"]],
    }
    if any(len(picks[k]) < quota[k] for k in quota):
        raise SystemExit("too few persons for this many changes: use --persons ≥ 10 × --changed")
    return [(k, i) for k, ids in picks.items() for i in ids], {
        "flagged": 2 * quota["dob"] + quota["name"],
        "linked": quota["name"] + 2 * quota["nid"],
        "mix": quota,
    }


def upsert(conn: Any, pg: bool, picked: list[tuple[str, int]]) -> list[int]:
    """What the pull's upsert would write: one bulk UPDATE of the changed persons."""
    cur_rows = conn.exec_driver_sql(
        "SELECT id, national_id, full_name, dob, phone FROM persons WHERE id "
        + bulk.in_keys_sql(conn.dialect.name),
        (bulk.keys_param([i + 1 for _k, i in picked], conn.dialect.name),),
    ).all()
    now = {r[0]: list(r[1:]) for r in cur_rows}
    rows = []
    for kind, i in picked:
        nid, name, dob, phone = now[i + 1]
        if kind == "name":
            name = name + "h"
        elif kind == "nid":
            nid = _nid(i)
        elif kind == "dob":
            dob = (date.fromisoformat(dob) + timedelta(days=1)).isoformat()
        else:
            phone = "08" + phone[2:]
        rows.append((nid, name, fold_name(name), dob, phone, i + 1))
    if pg:
        conn.exec_driver_sql(
            "UPDATE persons SET national_id = t.n, full_name = t.f, name_key = t.k, dob = t.d, "
            "phone = t.ph, updated_at = now() FROM unnest(%s::text[], %s::text[], %s::text[], "
            "%s::text[], %s::text[], %s::bigint[]) AS t(n, f, k, d, ph, id) "
            "WHERE persons.id = t.id",
            tuple(list(c) for c in zip(*rows, strict=True)),
        )
    else:
        conn.exec_driver_sql(
            "UPDATE persons SET national_id = ?, full_name = ?, name_key = ?, dob = ?, "
            "phone = ?, updated_at = CURRENT_TIMESTAMP WHERE id = ?",
            rows,
        )
    return [r[-1] for r in rows]


def baseline(url: str, keys: list[int]) -> dict[str, Any]:
    """The bare join of the changed persons with their doses, every compared column."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn, Timer() as t:
            rows = bulk.select_keys(
                conn,
                "SELECT d.id, d.status, d.national_id, d.full_name, d.dob, d.sex, d.ward_code, "
                "p.national_id, p.old_id, p.full_name, p.dob, p.sex, p.ward_code FROM doses d "
                "JOIN persons p ON p.id = d.person_pk WHERE d.person_pk {isin}",
                keys,
            )
    finally:
        engine.dispose()
    return {"seconds": round(t.seconds, 2), "rows": len(rows)}


def measure(
    url: str, picked: list[tuple[str, int]], want: dict[str, Any]
) -> tuple[dict[str, Any], list[int]]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    pg = engine.dialect.name == "postgresql"
    actor = Actor.system("bench-register-recheck")
    try:
        load0 = os.getloadavg()[0]
        with sessions() as s:
            with Timer() as t_up:
                keys = upsert(s.connection(), pg, picked)
            with Timer() as t_re:
                rep = recheck_persons(s, keys, actor=actor)
            with Timer() as t_commit:
                s.commit()
        with sessions() as s, Timer() as t2:
            again = recheck_persons(s, keys, actor=actor)
            s.commit()
    finally:
        engine.dispose()
    counts = rep.counts()
    ok = counts["flagged"] == want["flagged"] and counts["linked"] == want["linked"]
    return {
        "upsert_s": round(t_up.seconds, 2),
        "recheck_s": round(t_re.seconds, 2),
        "commit_s": round(t_commit.seconds, 2),
        "total_s": round(t_up.seconds + t_re.seconds + t_commit.seconds, 2),
        "load_1min_before": round(load0, 2),
        "load_1min_after": round(os.getloadavg()[0], 2),
        "report": counts,
        "expected": {"flagged": want["flagged"], "linked": want["linked"]},
        "counts_as_expected": ok,
        "second_recheck": {
            "seconds": round(t2.seconds, 2),
            "flagged": again.flagged,
            "linked": again.linked,
            "changes": again.changes,
            "nothing_more": again.flagged == again.linked == again.changes == 0,
        },
    }, keys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--changed", type=int, default=100_000)
    ap.add_argument("--pg", action="store_true", help="PostgreSQL (a throw-away server)")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--name", default="register_recheck")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tc-bench-recheck-"))
    server = None
    if args.pg:
        from tests.pgserver import PostgresServer

        server = PostgresServer().start()
        url = server.create_database("bench_recheck")
    else:
        url = f"sqlite:///{work / 'bench.db'}"
    try:
        with Timer() as t_build:
            built = build(url, args.persons, args.seed)
        log(f"built in {t_build.seconds:.1f} s")
        picked, want = changes(args.persons, args.changed, args.seed)
        measured, keys = measure(url, picked, want)
        log(str(measured))
        base = baseline(url, keys)
        log(f"baseline {base}")
    finally:
        if server is not None:
            server.stop()
    measured["ratio_to_baseline"] = round(measured["recheck_s"] / max(base["seconds"], 1e-3), 1)
    path = write_result(
        args.name,
        inputs={
            "backend": "postgresql" if args.pg else "sqlite",
            "persons": args.persons,
            "doses": built["doses"],
            "changed": args.changed,
            "mix": want["mix"],
            "build_s": round(t_build.seconds, 1),
            "target": "upsert + re-check of 100,000 changed persons ≤ 60 s",
        },
        results={"measured": measured, "baseline_bare_join": base},
        packages=["sqlalchemy", "psycopg"],
    )
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
