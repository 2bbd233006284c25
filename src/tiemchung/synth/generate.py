"""The generator: cells of people -> register, records, truth; then sites, products, sessions,
tallies, optional legacy spreadsheets. Deterministic for (people, seed, profile).

Cells are independent (see :mod:`.draws`), so with ``workers > 1`` they are made in
parallel processes and written in cell order: the files are the same byte for byte whatever
the number of workers. Only one window of cells is in memory at a time, plus the per-site,
per-day counts for sessions and tallies, so 10 million people stream through in bounded memory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tiemchung.columns import RECORD_COLUMNS, REGISTER_COLUMNS, TRUTH_COLUMNS
from tiemchung.identity import to_tcvn3, to_vni, ward_by_code
from tiemchung.vaccines import VACCINES

from . import tables as tb
from .draws import days, rng_for
from .entry import WRONG_FIELDS, enter
from .output import Sink, write_table, write_xlsx
from .population import make_people
from .profile import Profile, load_profile
from .vaccination import PRODUCTS, vaccinate
from .world import World

#: the truth file: reconcile's scoring columns, and the fields the record lacks (missing or
#: partial, known in the register), apart from the wrong ones
SYNTH_TRUTH_COLUMNS = (*TRUTH_COLUMNS, "incomplete_fields")


def _strings(names: tuple[str, ...]) -> pa.Schema:
    return pa.schema([(n, pa.string()) for n in names])


SCHEMAS = {
    "register": _strings(REGISTER_COLUMNS),
    "records": _strings(RECORD_COLUMNS),
    "truth": _strings(SYNTH_TRUTH_COLUMNS),
    "sites": _strings(("site_id", "name", "kind", "ward_code", "district_code", "province_code")),
    "products": pa.schema(
        [
            ("code", pa.string()),
            ("name", pa.string()),
            ("mp", pa.string()),
            ("ma", pa.string()),
            ("vp", pa.string()),
            ("primary_doses", pa.int32()),
            ("min_interval_days", pa.int32()),
        ]
    ),
    "sessions": pa.schema(
        [
            ("session_id", pa.string()),
            ("site_id", pa.string()),
            ("session_date", pa.date32()),
            ("vaccine", pa.string()),
            ("planned_count", pa.int32()),
        ]
    ),
    "tallies": pa.schema(
        [
            ("site_id", pa.string()),
            ("report_date", pa.date32()),
            ("vaccine", pa.string()),
            ("reported", pa.int32()),
        ]
    ),
}
COUNTERS = (
    "residents",
    "register",
    "foreigners",
    "doses_given",
    "doses_entered",
    "records",
    "duplicates",
    "records_in_register",
    "records_wrong",
    "records_incomplete",
    "contexts",
)


@dataclass
class CellResult:
    cell: int
    register: pa.Table
    records: pa.Table
    truth: pa.Table
    given_keys: np.ndarray
    given_counts: np.ndarray
    legacy: pa.Table | None
    counts: dict[str, int] = field(default_factory=dict)


def _take(values: list, index: np.ndarray) -> pa.Array:
    return pa.array(values, pa.string()).take(pa.array(index))


def _dmy(iso: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(iso, 8, 10),
        pc.utf8_slice_codeunits(iso, 5, 7),
        pc.utf8_slice_codeunits(iso, 0, 4),
        "/",
    )


def make_cell(world: World, cell: int, legacy_sites: frozenset[int] = frozenset()) -> CellResult:
    people = make_people(world, cell)
    doses = vaccinate(world, people, rng_for(world.seed, cell, 2))
    ent = enter(world, people, doses, rng_for(world.seed, cell, 3))
    rng = rng_for(world.seed, cell, 4)
    v = world.profile["vaccination"]
    start = days(v["start_date"])
    span = days(v["end_date"]) - start + 1
    # --- register ---------------------------------------------------------------------------
    inreg = np.flatnonzero(~people.absent)
    pid = [f"P{g:09d}" for g in people.gid.tolist()]
    wards = world.wards
    ward_code = [wards[w].code for w in people.ward.tolist()]
    sexes = ["F" if s else "M" for s in people.sex.tolist()]
    register = pa.table(
        {
            "person_id": _take(pid, inreg),
            "national_id": _take(people.national_id, inreg),
            "old_id": _take(people.old_id, inreg),
            "full_name": _take(people.full_name, inreg),
            "dob": _take(people.dob_iso, inreg),
            "sex": _take(sexes, inreg),
            "ward_code": _take(ward_code, inreg),
            "address": _take(people.address, inreg),
            "phone": _take(people.phone, inreg),
        }
    )
    # --- records, in entry order (by dose date and site) ------------------------------------
    rd = ent.rec_dose
    is_dup = ent.rec_dup_of >= 0
    # (a double entry is typed after the original: after the day's originals)
    order = np.lexsort(
        (doses.number[rd], people.gid[doses.person[rd]], ent.rec_site, is_dup, doses.date[rd])
    )
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    rid = [f"R{cell:05d}{k:06d}" for k in range(len(order))]
    rd_o = rd[order]
    ctx_o = ent.rec_ctx[order]
    site_o = ent.rec_site[order]
    iso = pa.array(doses.date[rd_o].astype("datetime64[D]"), pa.date32()).cast(pa.string())
    dose_date = pc.if_else(
        pa.array(rng.random(len(order)) < world.profile["entry"]["format"]["dose_date_iso"]),
        iso,
        _dmy(iso),
    )
    site_ids = [s.site_id for s in world.sites]
    typed = ent.typed
    records = pa.table(
        {
            "record_id": pa.array(rid, pa.string()),
            "national_id": _take(typed["national_id"], ctx_o),
            "full_name": _take(typed["full_name"], ctx_o),
            "dob": _take(typed["dob"], ctx_o),
            "sex": _take(typed["sex"], ctx_o),
            "phone": _take(typed["phone"], ctx_o),
            "ward_code": _take(typed["ward_code"], ctx_o),
            "address": _take(typed["address"], ctx_o),
            "vaccine": _take(PRODUCTS, doses.product[rd_o]),
            "dose_number": pa.array(doses.number[rd_o]).cast(pa.string()),
            "dose_date": dose_date,
            "site_id": _take(site_ids, site_o),
        }
    )
    # --- truth ------------------------------------------------------------------------------
    person_o = doses.person[rd_o]
    in_register = ~people.absent[person_o]
    dup_of = ent.rec_dup_of[order]
    dup_pos = np.where(dup_of >= 0, position[np.maximum(dup_of, 0)], -1)
    mask = np.where(in_register, ent.wrong[ctx_o], 0)
    imask = np.where(in_register, ent.incomplete[ctx_o], 0)
    texts = [None] + [
        ";".join(WRONG_FIELDS[b] for b in range(5) if m >> b & 1) for m in range(1, 32)
    ]
    truth = pa.table(
        {
            "record_id": records["record_id"],
            "person_id": pa.array(
                [
                    pid[p] if r else None
                    for p, r in zip(person_o.tolist(), in_register.tolist(), strict=True)
                ],
                pa.string(),
            ),
            "duplicate_of": pa.array(
                [rid[k] if k >= 0 else None for k in dup_pos.tolist()], pa.string()
            ),
            "wrong_fields": pa.array([texts[m] for m in mask.tolist()], pa.string()),
            "incomplete_fields": pa.array([texts[m] for m in imask.tolist()], pa.string()),
        }
    )
    # --- what was given, per site, day and product (for sessions and tallies) --------------
    key = (doses.site * span + (doses.date - start)) * len(PRODUCTS) + doses.product
    gk, gc = np.unique(key, return_counts=True)
    legacy = None
    if legacy_sites:
        keep = np.isin(site_o, np.array(sorted(legacy_sites)))
        if keep.any():
            legacy = records.filter(pa.array(keep))
    residents = int((~people.foreign).sum())
    counts = {
        "residents": residents,
        "register": len(inreg),
        "foreigners": int(people.foreign.sum()),
        "doses_given": doses.n,
        "doses_entered": int((~is_dup).sum()),
        "records": len(order),
        "duplicates": int(is_dup.sum()),
        "records_in_register": int(in_register.sum()),
        "records_wrong": int((mask > 0).sum()),
        "records_incomplete": int((imask > 0).sum()),
        "contexts": len(ent.ctx_person),
    }
    return CellResult(cell, register, records, truth, gk, gc, legacy, counts)


# --- process pool plumbing ---------------------------------------------------------------------
_WORLD: World | None = None
_LEGACY: frozenset[int] = frozenset()


def _init_worker(seed: int, people: int, profile: Profile, legacy: frozenset[int]) -> None:
    global _WORLD, _LEGACY
    _WORLD = World.build(seed, people, profile)
    _LEGACY = legacy


def _work(cell: int) -> CellResult:
    assert _WORLD is not None
    return make_cell(_WORLD, cell, _LEGACY)


def _cells(world: World, workers: int, legacy: frozenset[int]) -> Iterator[CellResult]:
    if workers <= 1 or world.cells == 1:
        for c in range(world.cells):
            yield make_cell(world, c, legacy)
        return
    ctx = get_context("forkserver")
    with ProcessPoolExecutor(
        workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(world.seed, world.people, world.profile, legacy),
    ) as ex:
        window: list[Future[CellResult]] = []
        nxt = 0
        while nxt < world.cells or window:
            while nxt < world.cells and len(window) < 2 * workers:
                window.append(ex.submit(_work, nxt))
                nxt += 1
            yield window.pop(0).result()


# --- the whole run -----------------------------------------------------------------------------
def generate(
    people: int,
    seed: int,
    out: Path | str,
    *,
    fmt: str = "parquet",
    profile: Profile | None = None,
    legacy: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write the synthetic population and its vaccination records into ``out``.

    Returns the summary that is also written to ``out/summary.json``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    profile = profile if profile is not None else load_profile()
    if fmt == "xlsx" and people > 100_000:
        raise ValueError(
            "--format xlsx is for small outputs (up to 100,000 people); use parquet or csv"
        )
    world = World.build(seed, people, profile)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if world.cells >= 4 else 1
    legacy_sites = _legacy_sites(world) if legacy else []
    sinks = {
        name: Sink(out / name, SCHEMAS[name], fmt) for name in ("register", "records", "truth")
    }
    v = profile["vaccination"]
    start = days(v["start_date"])
    span = days(v["end_date"]) - start + 1
    given = np.zeros(len(world.sites) * span * len(PRODUCTS), dtype=np.int64)
    counts = dict.fromkeys(COUNTERS, 0)
    legacy_parts: list[pa.Table] = []
    for res in _cells(world, workers, frozenset(legacy_sites)):
        sinks["register"].add(res.register)
        sinks["records"].add(res.records)
        sinks["truth"].add(res.truth)
        np.add.at(given, res.given_keys, res.given_counts)
        for k, n in res.counts.items():
            counts[k] += n
        if res.legacy is not None:
            legacy_parts.append(res.legacy)
        if progress is not None:
            progress(res.cell + 1, world.cells)
    files = {name: sink.close().name for name, sink in sinks.items()}
    files.update(_reference_tables(world, out, fmt, given, span, start))
    if legacy:
        files["legacy"] = _write_legacy(world, out, legacy_sites, legacy_parts)
    summary = {
        "people": people,
        "seed": seed,
        "format": fmt,
        "files": files,
        "wards": len(world.wards),
        "sites": len(world.sites),
        "counts": counts,
        "tallied": int(given.sum()),
        "rates": {
            "wrong": round(counts["records_wrong"] / max(1, counts["records_in_register"]), 4),
            "incomplete": round(
                counts["records_incomplete"] / max(1, counts["records_in_register"]), 4
            ),
            "never_entered": round(1 - counts["doses_entered"] / max(1, counts["doses_given"]), 4),
            "duplicates": round(counts["duplicates"] / max(1, counts["records"]), 4),
            "records_per_resident": round(counts["records"] / max(1, counts["residents"]), 3),
        },
    }
    (out / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return summary


def _reference_tables(
    world: World, out: Path, fmt: str, given: np.ndarray, span: int, start: int
) -> dict[str, str]:
    files = {}
    sites = world.sites
    files["sites"] = write_table(
        out / "sites",
        pa.table(
            {
                "site_id": [s.site_id for s in sites],
                "name": [s.name for s in sites],
                "kind": [s.kind for s in sites],
                "ward_code": [s.ward_code for s in sites],
                "district_code": [s.district_code for s in sites],
                "province_code": [s.province_code for s in sites],
            }
        ),
        fmt,
    ).name
    files["products"] = write_table(
        out / "products",
        pa.table(
            {
                "code": [v.code for v in VACCINES],
                "name": [v.name for v in VACCINES],
                "mp": [v.mp for v in VACCINES],
                "ma": [v.ma for v in VACCINES],
                "vp": [v.vp for v in VACCINES],
                "primary_doses": pa.array([v.primary_doses for v in VACCINES], pa.int32()),
                "min_interval_days": pa.array([v.min_interval_days for v in VACCINES], pa.int32()),
            }
        ),
        fmt,
    ).name
    keys = np.flatnonzero(given)
    count = given[keys]
    product = keys % len(PRODUCTS)
    day = (keys // len(PRODUCTS)) % span + start
    site = keys // len(PRODUCTS) // span
    dates = pa.array(day.astype("datetime64[D]"), pa.date32())
    site_id = pa.array([s.site_id for s in sites]).take(pa.array(site))
    vaccine = pa.array(PRODUCTS).take(pa.array(product))
    # A session was planned for the people invited: some did not come; rounded up to tens.
    rng = rng_for(world.seed, 1 << 30, 2)
    planned = np.ceil(count * (1 + rng.uniform(0.02, 0.15, len(count))) / 10) * 10
    files["sessions"] = write_table(
        out / "sessions",
        pa.table(
            {
                "session_id": pa.array([f"SS{k + 1:08d}" for k in range(len(keys))], pa.string()),
                "site_id": site_id,
                "session_date": dates,
                "vaccine": vaccine,
                "planned_count": pa.array(planned.astype(np.int32)),
            }
        ),
        fmt,
    ).name
    files["tallies"] = write_table(
        out / "tallies",
        pa.table(
            {
                "site_id": site_id,
                "report_date": dates,
                "vaccine": vaccine,
                "reported": pa.array(count.astype(np.int32)),
            }
        ),
        fmt,
    ).name
    return files


def _legacy_sites(world: World) -> list[int]:
    """District centres first, then commune stations, up to ``legacy.max_sites``."""
    limit = int(world.profile["legacy"]["max_sites"])
    ranked = sorted(
        range(len(world.sites)), key=lambda i: (world.sites[i].kind != "district_centre", i)
    )
    return sorted(ranked[:limit])


def legacy_encodings(world: World, sites: list[int]) -> dict[int, str]:
    """The font encoding of each legacy file: the profile's shares as exact quotas (largest
    remainder), dealt to the files in a seeded random order."""
    lg = world.profile["legacy"]
    n = len(sites)
    shares = {"tcvn3": lg["tcvn3"], "vni": lg["vni"]}
    shares["unicode"] = max(0.0, 1.0 - shares["tcvn3"] - shares["vni"])
    exact = {k: v * n for k, v in shares.items()}
    quota = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: quota[k] - exact[k])[: n - sum(quota.values())]:
        quota[k] += 1
    dealt = [k for k in ("tcvn3", "vni", "unicode") for _ in range(quota[k])]
    order = rng_for(world.seed, 1 << 30, 3).permutation(n)
    return {sites[int(i)]: enc for i, enc in zip(order, dealt, strict=True)}


def _write_legacy(world: World, out: Path, sites: list[int], parts: list[pa.Table]) -> str:
    import unicodedata

    folder = out / "legacy"
    folder.mkdir(exist_ok=True)
    encodings = legacy_encodings(world, sites)
    table = pa.concat_tables(parts) if parts else SCHEMAS["records"].empty_table()
    by_site: dict[str, list[dict[str, Any]]] = {}
    for row in table.to_pylist():
        by_site.setdefault(row["site_id"], []).append(row)
    manifest = [("file", "site_id", "encoding", "row", "record_id")]
    ward_names: dict[str, str] = {}
    for s in sites:
        site = world.sites[s]
        enc = encodings[s]

        def text(value: str | None, enc: str = enc) -> str | None:
            if value is None:
                return None
            value = unicodedata.normalize("NFC", value)
            return to_tcvn3(value) if enc == "tcvn3" else to_vni(value) if enc == "vni" else value

        rows: list[list[Any]] = [
            [text("DANH SÁCH ĐỐI TƯỢNG TIÊM VẮC XIN PHÒNG COVID-19")],
            [text(f"Đơn vị: {site.name}")],
            [],
            [text(h) for h in tb.LEGACY_HEADERS],
        ]
        name = f"{site.site_id}.xlsx"
        for k, r in enumerate(by_site.get(site.site_id, []), start=1):
            code = r["ward_code"].zfill(5)
            if code not in ward_names:
                unit = ward_by_code(code, scheme="2021")
                ward_names[code] = unit.name if unit else code
            rows.append(
                [
                    k,
                    text(r["full_name"]),
                    r["dob"],
                    text(r["sex"]),
                    r["national_id"],
                    r["phone"],
                    text(r["address"]),
                    text(ward_names[code]),
                    tb.LEGACY_VACCINE_NAMES[r["vaccine"]],
                    int(r["dose_number"]),
                    r["dose_date"],
                ]
            )
            manifest.append((name, site.site_id, enc, str(4 + k), r["record_id"]))
        write_xlsx(folder / name, [("Danh sách", rows)])
    import csv

    with (folder / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(manifest)
    return "legacy/"
