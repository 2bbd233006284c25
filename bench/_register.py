"""A large invented register, fast: vectorised persons with valid CCCD numbers, bulk-loaded.

``tiemchung.synth`` makes realistic data at ~50k people/s, which is 3+ minutes for 10M before
anything is loaded; the verification benchmark only needs a register of the right size and
shape (valid IDs, folded name keys, partial dates, ~10k wards, duplicate name+dob pairs as
real registers have), so this builds it with numpy in about a second per million and loads it
with the driver's bulk path (sqlite3 ``executemany``; PostgreSQL ``COPY``). The persons
indexes the migrations created are dropped for the load and re-created from their own stored
definitions afterwards: one sort per index instead of 10M random B-tree inserts.

Everyone here is made up.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from tiemchung.identity import CCCD_PROVINCES, fold_name, iter_admin_units
from tiemchung.registry.catalog.products import load_products
from tiemchung.registry.models import Site

FAMILIES = [
    ("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Huỳnh", 4),
    ("Phan", 4), ("Vũ", 4), ("Võ", 4), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 2),
    ("Ngô", 2), ("Dương", 1), ("Lý", 1), ("Đinh", 1), ("Trịnh", 1),
]  # fmt: skip
MIDDLE = {
    "M": ["Văn", "Hữu", "Đức", "Công", "Quang", "Minh", "Xuân", "Thanh", "Ngọc", "Đình"],
    "F": ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Minh", "Phương", "Hồng", "Mai", "Bích"],
}
GIVEN = {
    "M": ["An", "Bình", "Cường", "Dũng", "Hùng", "Hải", "Hiếu", "Huy", "Khánh", "Long",
          "Minh", "Nam", "Phong", "Phúc", "Quân", "Sơn", "Tài", "Thắng", "Toàn", "Trung",
          "Tuấn", "Việt", "Vinh", "Đạt", "Tâm", "Lâm", "Hòa", "Thành", "Hoàng", "Khoa"],
    "F": ["Anh", "Bích", "Châu", "Dung", "Giang", "Hà", "Hằng", "Hạnh", "Hoa", "Hương",
          "Lan", "Linh", "Loan", "Mai", "Nga", "Ngân", "Nhung", "Oanh", "Phương", "Quỳnh",
          "Thảo", "Thủy", "Trang", "Tuyết", "Uyên", "Vân", "Yến", "Xuân", "Ly", "Hiền"],
}  # fmt: skip
PERSON_COLUMNS = (
    "person_id", "national_id", "old_id", "full_name", "name_key", "dob", "sex",
    "ward_code", "province_code", "address", "phone",
)  # fmt: skip
_PROVS = np.array(sorted(int(k) for k in CCCD_PROVINCES), dtype=np.int64)
_YEARS = 92  # birth years 1930..2021


@dataclass
class Names:
    """Every name combination, its display form and folded key, indexed by combo number."""

    display: np.ndarray  # object array of str
    key: np.ndarray
    per_sex: int
    family_p: np.ndarray


def _names() -> Names:
    fams = [f for f, _ in FAMILIES]
    weights = np.array([w for _, w in FAMILIES], dtype=float)
    display, key = [], []
    for sex in ("M", "F"):
        for f in fams:
            for m in MIDDLE[sex]:
                for g in GIVEN[sex]:
                    name = f"{f} {m} {g}"
                    display.append(name)
                    key.append(fold_name(name))
    per_sex = len(fams) * 10 * 30
    return Names(
        np.array(display, dtype=object),
        np.array(key, dtype=object),
        per_sex,
        weights / weights.sum(),
    )


def _zfill(values: np.ndarray, width: int) -> np.ndarray:
    return np.char.zfill(values.astype(str), width).astype(object)


def persons_chunk(
    start: int, stop: int, n_total: int, wards: list[tuple[str, str]], names: Names, seed: int
) -> list[tuple[Any, ...]]:
    """Rows ``start..stop`` of an ``n_total`` register (deterministic per seed and index).

    National IDs are unique by construction: the person index (scrambled by an invertible
    multiplication modulo ``n_total``) is spread over (province, birth year, serial), so two
    persons never share an ID; the CCCD digits agree with the person's birth year and sex.
    """
    rng = np.random.default_rng([seed, start])
    idx = np.arange(start, stop, dtype=np.int64)
    scrambled = (idx * 2_654_435_761) % n_total  # invertible when gcd(mult, n_total) == 1
    prov = _PROVS[scrambled % len(_PROVS)]
    rest = scrambled // len(_PROVS)
    year = 1930 + rest % _YEARS
    serial = (rest // _YEARS * 7_919 + 104_729) % 1_000_000
    n = len(idx)
    sex_f = rng.random(n) < 0.51
    century_digit = np.where(year >= 2000, 2, 0) + sex_f.astype(np.int64)
    nid_int = prov * 1_000_000_000 + century_digit * 100_000_000 + (year % 100) * 1_000_000 + serial
    national_id = _zfill(nid_int, 12)
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    iso = np.char.add(
        np.char.add(np.char.add(year.astype(str), "-"), np.char.zfill(month.astype(str), 2)),
        np.char.add("-", np.char.zfill(day.astype(str), 2)),
    ).astype(object)
    precision = rng.random(n)
    dob = np.where(precision < 0.03, iso.astype(str).astype("U4").astype(object), iso)
    dob = np.where((precision >= 0.03) & (precision < 0.05), iso.astype(str).astype("U7"), dob)
    fam = rng.choice(len(FAMILIES), n, p=names.family_p)
    mid = rng.integers(0, 10, n)
    giv = rng.integers(0, 30, n)
    combo = sex_f * names.per_sex + fam * 300 + mid * 30 + giv
    ward_i = rng.integers(0, len(wards), n)
    ward_arr = np.array([w for w, _ in wards], dtype=object)[ward_i]
    prov_arr = np.array([p for _, p in wards], dtype=object)[ward_i]
    has_old = rng.random(n) < 0.4
    old = _zfill(100_000_000 + (idx * 7) % 899_999_999, 9)
    has_phone = rng.random(n) < 0.6
    phone = np.char.add("09", _zfill(rng.integers(0, 100_000_000, n), 8).astype(str)).astype(object)
    person_id = np.char.add("P", _zfill(idx, 10).astype(str)).astype(object)
    return list(
        zip(
            person_id.tolist(),
            national_id.tolist(),
            np.where(has_old, old, None).tolist(),
            names.display[combo].tolist(),
            names.key[combo].tolist(),
            dob.astype(str).tolist(),
            np.where(sex_f, "F", "M").tolist(),
            ward_arr.tolist(),
            prov_arr.tolist(),
            ["Thôn 1"] * n,
            np.where(has_phone, phone, None).tolist(),
            strict=True,
        )
    )


def all_wards() -> list[tuple[str, str]]:
    return [(u.code, u.province_code) for u in iter_admin_units("2021") if u.level == "ward"]


def iter_persons(n: int, seed: int, chunk: int = 500_000) -> Iterator[list[tuple[Any, ...]]]:
    if np.gcd(2_654_435_761, n) != 1:
        raise ValueError(f"--people {n} shares a factor with the ID scrambler; pick another")
    wards, names = all_wards(), _names()
    for start in range(0, n, chunk):
        yield persons_chunk(start, min(n, start + chunk), n, wards, names, seed)


def seed_reference(session: Session) -> str:
    """Products and one site; returns the site id."""
    load_products(session)
    ward, province = all_wards()[0]
    session.add(Site(site_id="S0001", name="Trạm Y tế", ward_code=ward, province_code=province))
    session.flush()
    return "S0001"


def _persons_indexes(conn: Any, dialect: str) -> list[tuple[str, str]]:
    if dialect == "sqlite":
        q = (
            "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='persons' "
            "AND sql IS NOT NULL"
        )
    else:
        q = (
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename='persons' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        )
    return [(r[0], r[1]) for r in conn.exec_driver_sql(q)]


def load_persons(engine: Engine, n: int, seed: int, progress: Any = print) -> dict[str, Any]:
    """Bulk-load ``n`` persons with the persons indexes dropped, then re-create them."""
    import time

    dialect = engine.dialect.name
    timings: dict[str, Any] = {}
    with engine.begin() as conn:
        indexes = _persons_indexes(conn, dialect)
        for name, _sql in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    t0 = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cols = ", ".join(PERSON_COLUMNS)
        loaded = 0
        if dialect == "sqlite":
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("BEGIN")
            marks = ", ".join("?" * len(PERSON_COLUMNS))
            for rows in iter_persons(n, seed):
                cur.executemany(f"INSERT INTO persons ({cols}) VALUES ({marks})", rows)
                loaded += len(rows)
                progress(f"  persons {loaded:,}/{n:,} ({time.perf_counter() - t0:.0f} s)")
            cur.execute("COMMIT")
        else:
            for rows in iter_persons(n, seed):
                with cur.copy(f"COPY persons ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                raw.commit()
                loaded += len(rows)
                progress(f"  persons {loaded:,}/{n:,} ({time.perf_counter() - t0:.0f} s)")
    finally:
        raw.close()
    timings["persons_load_s"] = round(time.perf_counter() - t0, 1)
    t1 = time.perf_counter()
    with engine.begin() as conn:
        for name, sql in indexes:
            conn.exec_driver_sql(sql)
            progress(f"  index {name} ({time.perf_counter() - t1:.0f} s)")
        conn.exec_driver_sql("ANALYZE")
    timings["persons_index_s"] = round(time.perf_counter() - t1, 1)
    timings["indexes"] = [name for name, _ in indexes]
    return timings


def load_doses(engine: Engine, n_people: int, sample: int, site_id: str, seed: int) -> int:
    """One to three doses for ``sample`` persons (linked, verified), bulk-inserted."""
    from datetime import date, timedelta

    rng = random.Random(seed)
    pks = rng.sample(range(1, n_people + 1), sample)
    ids: dict[int, str | None] = {}
    with engine.connect() as conn:
        for i in range(0, len(pks), 5000):
            part = ", ".join(str(p) for p in pks[i : i + 5000])
            ids.update(
                conn.exec_driver_sql(
                    f"SELECT id, national_id FROM persons WHERE id IN ({part})"
                ).all()
            )
    rows: list[dict[str, Any]] = []
    k = 0
    for pk in pks:
        # Doses carry the ID as typed; one person in ten was never linked (unverified).
        linked = rng.random() >= 0.1
        product = rng.choice(["PFIZER", "AZ", "MODERNA", "VEROCELL"])
        first = date(2021, 7, 1) + timedelta(days=rng.randrange(120))
        for number in range(1, rng.choice([1, 1, 2, 2, 3]) + 1):
            k += 1
            rows.append(
                {
                    "client_uuid": f"{k:032x}",
                    "submission_hash": "0" * 64,
                    "person_pk": pk if linked else None,
                    "national_id": ids[pk],
                    "full_name": "-",
                    "product_code": product,
                    "dose_number": number,
                    "dose_date": (first + timedelta(days=35 * (number - 1))).isoformat(),
                    "site_id": site_id,
                    "status": "verified" if linked else "unverified",
                }
            )
    cols = list(rows[0])
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            marks = ", ".join(f":{c}" for c in cols)
            conn.exec_driver_sql(
                f"INSERT INTO doses ({', '.join(cols)}) VALUES ({marks})",
                rows,  # type: ignore[arg-type]
            )
        else:
            conn.execute(
                text(
                    f"INSERT INTO doses ({', '.join(cols)}) VALUES "
                    f"({', '.join(f':{c}' for c in cols)})"
                ),
                rows,
            )
        conn.exec_driver_sql("ANALYZE doses")
    return len(rows)


def sample_persons(engine: Engine, n_people: int, count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` random register persons by primary key (an index probe each)."""
    rng = random.Random(seed)
    pks = rng.sample(range(1, n_people + 1), count)
    out = []
    with engine.connect() as conn:
        for i in range(0, len(pks), 500):
            part = pks[i : i + 500]
            marks = ", ".join(str(int(p)) for p in part)
            for r in conn.exec_driver_sql(
                f"SELECT id, {', '.join(PERSON_COLUMNS)} FROM persons WHERE id IN ({marks})"
            ):
                out.append(dict(r._mapping))
    return out


def dump_json(path: Any, doc: Any) -> None:
    path.write_text(json.dumps(doc, ensure_ascii=False, default=str), encoding="utf-8")
