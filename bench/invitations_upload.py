"""Issue 18's targets (``bench/invitations.py``). This part: ``bench_upload`` — an
organisation's list of ``--rows`` rows (100,000) checked against a register of ``--people``
invented persons (10M) through ``tiemchung registrations import``'s service
(``registry/people/registration/upload.import_list``), on PostgreSQL.

  1. a throw-away PostgreSQL server; ``tiemchung init``; the register bulk-loaded by
     ``bench/_register.py`` (COPY, indexes rebuilt after) — not measured in the target;
  2. an approved organisation and its user; a CSV with Vietnamese headers of rows drawn from
     the register: most exact, some with the name's diacritics lost, the day and month
     swapped, an unknown ID, no ID (name and date of birth), garbage (rejected);
  3. time the import (the target: ≤ 60 s), then check every row was answered: one source
     row per list row, the counts of results against the mix the file was written with;
  4. baselines in the same run: reading the file alone (``read_list``), the bare
     ``national_id = ANY(...)`` look-up of the same IDs, and the desk's one-probe-per-row
     ``verify()`` over a sample, extrapolated to the list (what checking row by row costs).

    nice -n 10 .venv/bin/python bench/invitations.py upload [--people 10000000] [--rows 100000]

Everyone in the files is made up. Writes bench/results/invitations_upload.json.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from bench import _register  # noqa: E402
from bench._common import Timer, write_result  # noqa: E402

SEED = 18
HEADER = ["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Số điện thoại",
          "Nhóm ưu tiên", "Bệnh nền"]  # fmt: skip
#: what the file's rows are, and the result each must get
MIX = {
    "exact": 0.85,  # verified
    "no_diacritics": 0.04,  # mismatch (full_name)
    "swapped": 0.03,  # mismatch (dob), only for days ≤ 12: else exact
    "unknown_id": 0.03,  # the desk's rule: name + date of birth find the person: mismatch
    "name_dob": 0.03,  # no ID: verified or ambiguous by name + date of birth
    "garbage": 0.02,  # rejected
}


def log(msg: str) -> None:
    print(msg, flush=True)


def _strip(text_: str) -> str:
    import unicodedata

    out = unicodedata.normalize("NFD", text_.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in out if unicodedata.category(ch) != "Mn")


def _dmy(iso: str) -> str:
    if len(iso) == 10:
        return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"
    return iso


def write_list(path: Path, persons: list[dict[str, Any]], n: int) -> dict[str, int]:
    """The organisation's CSV; returns how many rows of each kind it holds."""
    rng = random.Random(SEED)
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]
    made: dict[str, int] = dict.fromkeys(kinds, 0)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["DANH SÁCH ĐĂNG KÝ TIÊM CHỦNG CỦA CÔNG TY"])
        w.writerow(HEADER)
        for i in range(n):
            p = persons[i % len(persons)]
            kind = rng.choices(kinds, weights)[0]
            name, dob, nid = p["full_name"], p["dob"], p["national_id"]
            if kind == "no_diacritics":
                name = _strip(name)
            elif kind == "swapped":
                if len(dob) == 10 and int(dob[8:10]) <= 12 and dob[8:10] != dob[5:7]:
                    dob = f"{dob[:4]}-{dob[8:10]}-{dob[5:7]}"
                else:
                    kind = "exact"
            elif kind == "unknown_id":
                nid = f"{int(nid[:3]):03d}{nid[3:6]}9{int(nid[7:]) ^ 0x5A5A5:05d}"[:12]
            elif kind == "name_dob":
                nid = ""
                if len(dob) != 10:
                    kind, nid = "exact", p["national_id"]
            elif kind == "garbage":
                nid, dob = "12AB", "31/02/2020"
            made[kind] += 1
            sex = "Nữ" if p["sex"] == "F" else "Nam"
            group = f"NQ21-{rng.randint(1, 13):02d}"
            w.writerow([i + 1, name, _dmy(dob), sex, nid, p.get("phone") or "", group,
                        rng.choice(["", "", "", "có", "không"])])  # fmt: skip
    return made


def bench_upload(people: int, rows: int, sample_calls: int = 2_000) -> dict[str, Any]:
    """The upload target on a fresh PostgreSQL register; returns the result document."""
    from tests.pgserver import PostgresServer

    from tiemchung.auth.orgusers import add_organisation_user
    from tiemchung.auth.users import actor_for
    from tiemchung.config import Settings
    from tiemchung.installation import initialise
    from tiemchung.registry.doses.verify import VerifyRecord, verify
    from tiemchung.registry.people.registration import organisations as orgs
    from tiemchung.registry.people.registration import upload
    from tiemchung.registry.scope import Actor
    from tiemchung.registry.tables.registrations import Registration, RegistrationSource
    from tiemchung.store.db import make_engine, make_sessionmaker

    work = Path(f"/tmp/tiemchung-bench-upload-{people}")
    work.mkdir(parents=True, exist_ok=True)
    pg = PostgresServer().start()
    try:
        url = pg.create_database("bench")
        settings = Settings(data_dir=work / "data", database_url=url)
        initialise(settings)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with sessions() as s:
            _register.seed_reference(s)
            s.commit()
        log(f"loading {people:,} persons")
        with Timer() as t_build:
            register = _register.load_persons(engine, people, SEED, progress=log)
        register["build_s"] = round(t_build.seconds, 1)
        log(f"register: {register}")
        persons = _register.sample_persons(engine, people, min(rows, people), SEED + 1)
        ward = persons[0]["ward_code"]
        with sessions() as s:
            org = orgs.apply(s, Actor.system("bench"), orgs.Application(
                "Công ty Giả Định", "0100000018", "company", ward))  # fmt: skip
            orgs.decide(s, Actor.system("bench"), org.id, approve=True)
            user = add_organisation_user(s, Actor.system("bench"), org.id, "bench-hr",
                                         "bench-org-password-18")  # fmt: skip
            s.commit()
            org_id, actor = org.id, actor_for(user)
        path = work / "list.csv"
        made = write_list(path, persons, rows)
        log(f"list: {rows:,} rows {made}")

        with Timer() as t_read:
            read_rows = sum(1 for _ in upload.read_list(path))
        ids = [p["national_id"] for p in persons]
        with Timer() as t_ids, engine.connect() as conn:
            found = 0
            for i in range(0, len(ids), 5_000):
                q = text("SELECT count(*) FROM persons WHERE national_id = ANY(CAST(:k AS text[]))")
                found += conn.execute(q, {"k": ids[i : i + 5_000]}).scalar_one()
        log(f"baseline: read {read_rows:,} rows {t_read.seconds:.1f} s; "
            f"{found:,} IDs looked up {t_ids.seconds:.1f} s")  # fmt: skip

        with Timer() as t_import:
            summary = upload.import_list(sessions, actor, org_id, path)
        log(f"import: {t_import.seconds:.1f} s {summary.counts}")
        with sessions() as s:
            stored = s.scalar(select(func.count()).select_from(RegistrationSource)) or 0
            registered = s.scalar(select(func.count()).select_from(Registration)) or 0

        rng = random.Random(SEED + 2)
        picks = rng.sample(persons, min(sample_calls, len(persons)))
        desk = Actor.system("bench-desk")
        with Timer() as t_desk, sessions() as s:
            for p in picks:
                rec = VerifyRecord(national_id=p["national_id"], full_name=p["full_name"],
                                   dob=p["dob"])  # fmt: skip
                verify(s, desk, rec, audit=False)
        per_row_ms = t_desk.seconds / len(picks) * 1000
        log(f"desk verify: {per_row_ms:.2f} ms/row")
        return {
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "register": register,
            "list_rows": rows,
            "list_mix_written": made,
            "import_s": round(t_import.seconds, 2),
            "rows_per_s": round(rows / t_import.seconds),
            "target_s": 60,
            "target_met": t_import.seconds <= 60 and stored == rows,
            "results": summary.counts,
            "batches": len(summary.batches),
            "source_rows_stored": stored,
            "every_row_answered": stored == rows and sum(summary.counts.values()) == rows,
            "registrations": registered,
            "baseline": {
                "read_file_only_s": round(t_read.seconds, 2),
                "bare_id_lookup_s": round(t_ids.seconds, 2),
                "ids_found": found,
                "desk_verify_ms_per_row": round(per_row_ms, 3),
                "desk_verify_sample": len(picks),
                "desk_verify_extrapolated_s": round(per_row_ms * rows / 1000, 1),
            },
        }
    finally:
        pg.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--people", type=int, default=10_000_000)
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    with Timer() as total:
        result = bench_upload(args.people, args.rows)
    result["total_s"] = round(total.seconds, 1)
    path = write_result(
        "invitations_upload",
        inputs={"people": args.people, "rows": args.rows, "mix": MIX, "seed": SEED},
        results=result,
        packages=["sqlalchemy", "psycopg", "numpy"],
    )
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
